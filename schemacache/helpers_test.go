package schemacache

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The shared real data, relative to this package's directory.
const (
	dataDir        = "../../shared/data"
	primaryRepo    = dataDir + "/schemas/primary/jsonschema"
	secondaryRepo  = dataDir + "/schemas/secondary/jsonschema"
	examplesDir    = dataDir + "/examples"
	prodStreams    = dataDir + "/streamconfig.json"
	egSchemas      = dataDir + "/eventgate-test/test/schemas"
	egStreamConfig = egSchemas + "/stream-config.test.yaml"
)

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// newCache builds a Cache with the test defaults: the production stream config, a quiet logger
// (and, as for every Config whose RefreshInterval is 0, no refresher).
func newCache(t testing.TB, cfg Config) *Cache {
	t.Helper()
	if cfg.StreamConfig == "" {
		cfg.StreamConfig = prodStreams
	}
	if cfg.Logger == nil {
		cfg.Logger = quietLogger
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func realCache(t testing.TB) *Cache {
	return newCache(t, Config{SchemaBaseURIs: []string{primaryRepo, secondaryRepo}})
}

func egCache(t testing.TB) *Cache {
	return newCache(t, Config{SchemaBaseURIs: []string{egSchemas}, StreamConfig: egStreamConfig})
}

// repoVersions lists the canonical URIs of every materialized schema version in a repository:
// the <version>.yaml files that are documents, not alias entries (latest.yaml), whether those are
// symlinks or alias files.
func repoVersions(t testing.TB, root string) []string {
	t.Helper()
	var uris []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return nil
		}
		if _, alias, err := readAliasEntry(p); err != nil || alias {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		uris = append(uris, "/"+strings.TrimSuffix(filepath.ToSlash(rel), ".yaml"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return uris
}

func mkdirWrite(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), 0o644)
}
