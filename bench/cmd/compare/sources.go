package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"intake.dev/intake/loadtest/gen"
)

// source is the events a workload sends, and the edge configuration that takes them.
type source struct {
	Name string
	// Real: the edge runs on the real schema repositories and production stream config of
	// dataDir; otherwise on examples/config.yaml.
	Real bool
	// apply sets the load's events; dir is a temporary directory for event files.
	apply func(cfg *gen.Config, dir string) error
}

// dataDir is -data: the shared data directory.
var dataDir string

// sources are the event sources -events picks from.
var allSources = []source{
	{Name: "revision-create", Real: true, apply: func(cfg *gen.Config, dir string) error {
		// MediaWiki's revision-create 2.0.0 (958 bytes), as a backend service posts it.
		return exampleFile(cfg, dir, "mediawiki.revision.create/2.0.0.json", "application/json")
	}},
	{Name: "navigationtiming", Real: true, apply: func(cfg *gen.Config, dir string) error {
		// A legacy EventLogging event as a browser beacon posts it: text/plain, with no dt,
		// meta.dt or meta.id (the edge fills them in).
		return exampleFile(cfg, dir, "analytics.legacy.navigationtiming/1.7.0.json", "text/plain;charset=UTF-8",
			[]string{"dt"}, []string{"meta", "dt"}, []string{"meta", "id"})
	}},
	{Name: "mix", Real: true, apply: func(cfg *gen.Config, _ string) error {
		// Every real example event of a stream in the production config, in a shuffled order.
		cfg.ExamplesDir = filepath.Join(dataDir, "examples")
		cfg.StreamConfig = filepath.Join(dataDir, "streamconfig.json")
		return nil
	}},
	{Name: "click", apply: func(*gen.Config, string) error { return nil }}, // examples/' click event, 179 bytes
}

// sources are the ones -events chose, in its order.
var sources []source

func sourceNames() []string {
	var names []string
	for _, s := range allSources {
		names = append(names, s.Name)
	}
	return names
}

func sourceByName(name string) (source, bool) {
	for _, s := range allSources {
		if s.Name == name {
			return s, true
		}
	}
	return source{}, false
}

// exampleFile points cfg at a file holding the first event of examples/<file> in dataDir, without
// the fields at strip.
func exampleFile(cfg *gen.Config, dir, file, contentType string, strip ...[]string) error {
	data, err := os.ReadFile(filepath.Join(dataDir, "examples", file))
	if err != nil {
		return fmt.Errorf("cannot read the real example events (-data): %w", err)
	}
	var evs []map[string]any
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(&evs); err != nil || len(evs) == 0 {
		return fmt.Errorf("%s: no example event: %v", file, err)
	}
	ev := evs[0]
	for _, path := range strip {
		m := ev
		for _, k := range path[:len(path)-1] {
			m, _ = m[k].(map[string]any)
		}
		delete(m, path[len(path)-1])
	}
	out, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	f := filepath.Join(dir, filepath.Base(filepath.Dir(file))+".json")
	if err := os.WriteFile(f, out, 0o644); err != nil {
		return err
	}
	cfg.EventsFile = f
	cfg.ContentType = contentType
	return nil
}

// realEdgeArgs are the serve flags of an edge on the real data: Wikimedia's eqiad naming.
func realEdgeArgs() []string {
	return []string{
		"--schema-base-uri", filepath.Join(dataDir, "schemas/primary/jsonschema"),
		"--schema-base-uri", filepath.Join(dataDir, "schemas/secondary/jsonschema"),
		"--stream-config", filepath.Join(dataDir, "streamconfig.json"),
		"--topic-prefix", "eqiad.",
		"--error-stream", "eventgate-analytics-external.error.validation",
	}
}
