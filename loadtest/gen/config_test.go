package gen

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func parse(t *testing.T, args ...string) Config {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, _, err := ParseArgs(fs, args)
	if err != nil {
		t.Fatalf("ParseArgs(%q): %v", args, err)
	}
	return cfg
}

// Each preset is exactly the flags --list-scenarios prints for it.
func TestScenarioPresetsMatchTheirFlags(t *testing.T) {
	for _, s := range Scenarios {
		preset := parse(t, "--scenario", s.Name)
		preset.Scenario = ""
		flags := parse(t, strings.Fields(strings.Join(s.Flags, " "))...)
		if !reflect.DeepEqual(preset, flags) {
			t.Fatalf("%s: preset %+v\nits flags %+v", s.Name, preset, flags)
		}
		if reflect.DeepEqual(preset, Defaults()) {
			t.Fatalf("%s changes nothing", s.Name)
		}
	}
}

func TestScenarioPresets(t *testing.T) {
	c := parse(t, "--scenario", "browser-beacons")
	if c.Batch != 1 || !c.Hasty || c.ContentType != "text/plain" || c.Connections < 100 || c.InvalidRatio <= 0 || c.InvalidRatio > 0.1 {
		t.Fatalf("browser-beacons: %+v", c)
	}
	c = parse(t, "--scenario", "backend-sync")
	if c.Batch != 10 || c.Hasty || c.ContentType != "application/json" || c.Rate != 0 {
		t.Fatalf("backend-sync: %+v", c)
	}
	c = parse(t, "--scenario", "mobile-batches")
	if c.Batch != 100 || !c.Gzip || c.Hasty || c.Rate <= 0 || c.Burst <= 1 {
		t.Fatalf("mobile-batches: %+v", c)
	}
	c = parse(t, "--scenario", "big-batches")
	if c.Batch != 1000 || c.Hasty {
		t.Fatalf("big-batches: %+v", c)
	}
	c = parse(t, "--scenario", "invalid-flood")
	if c.InvalidRatio != 1 {
		t.Fatalf("invalid-flood: %+v", c)
	}

	// Explicit flags win, whichever side of --scenario they are on.
	c = parse(t, "--batch", "3", "--scenario", "backend-sync", "--rate", "50")
	if c.Batch != 3 || c.Connections != 32 || c.Rate != 50 || c.Scenario != "backend-sync" {
		t.Fatalf("overrides: %+v", c)
	}
	c = parse(t, "--scenario", "mobile-batches", "--rate", "0", "--gzip=false")
	if c.Rate != 0 || c.Gzip || c.Batch != 100 {
		t.Fatalf("overrides to the closed loop: %+v", c)
	}

	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, _, err := ParseArgs(fs, []string{"--scenario", "nope"}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("unknown scenario: %v", err)
	}
	var b bytes.Buffer
	ListScenarios(&b)
	for _, s := range Scenarios {
		if !strings.Contains(b.String(), s.Name) || !strings.Contains(b.String(), strings.Join(s.Flags, " ")) {
			t.Fatalf("--list-scenarios lacks %s:\n%s", s.Name, b.String())
		}
	}
}

// Each scenario runs, and the edge sees its shape.
func TestScenariosRun(t *testing.T) {
	for _, s := range Scenarios {
		e := newFakeEdge()
		e.start(t)
		cfg := e.config()
		s.Apply(&cfg)
		cfg.Scenario, cfg.Requests, cfg.Connections = s.Name, 20, 4
		rep := runOK(t, cfg)
		if rep.Requests != 20 || e.batches[cfg.Batch] != 20 || e.contentTypes[cfg.ContentType] != 20 {
			t.Fatalf("%s: %d requests, batches %v, content types %v", s.Name, rep.Requests, e.batches, e.contentTypes)
		}
		if cfg.Gzip != (e.encodings["gzip"] == 20) || cfg.Hasty != (e.hasty == 20) {
			t.Fatalf("%s: encodings %v, hasty %d", s.Name, e.encodings, e.hasty)
		}
		if rep.Scenario != s.Name || rep.Status["errors"]+rep.Status["timeouts"] != 0 {
			t.Fatalf("%s: %+v", s.Name, rep)
		}
	}
}

func TestLoopbackGuard(t *testing.T) {
	f := func(url string, allowRemote bool, wantRemoteErr bool) {
		t.Helper()
		cfg := Defaults()
		cfg.URL, cfg.AllowRemote = url, allowRemote
		err := cfg.Check()
		if got := errors.Is(err, ErrRemote); got != wantRemoteErr {
			t.Fatalf("%s (allow remote %t): err %v, want a refusal: %t", url, allowRemote, err, wantRemoteErr)
		}
		if !wantRemoteErr && err != nil {
			t.Fatalf("%s: %v", url, err)
		}
	}
	f("http://127.0.0.1:8192/v1/events", false, false)
	f("http://127.9.8.7:80/v1/events", false, false)
	f("http://localhost:8192/v1/events", false, false)
	f("http://LOCALHOST/v1/events", false, false)
	f("http://[::1]:8192/v1/events", false, false)
	f("https://127.0.0.1/v1/events", false, false)
	f("http://10.0.0.1:8192/v1/events", false, true)
	f("http://192.168.1.1/v1/events", false, true)
	f("http://0.0.0.0:8192/v1/events", false, true)
	f("http://example.com/v1/events", false, true)
	f("http://localhost.example.com/v1/events", false, true)
	f("http://127.0.0.1.nip.io/v1/events", false, true)
	f("http://[::2]:8192/v1/events", false, true)
	f("http://example.com/v1/events", true, false)
	f("http://10.0.0.1:8192/v1/events", true, false)

	// New refuses before anything is built or sent.
	cfg := Defaults()
	cfg.URL = "http://203.0.113.9/v1/events"
	if _, err := New(cfg); !errors.Is(err, ErrRemote) {
		t.Fatalf("New with a remote URL: %v", err)
	}
}

func TestCheck(t *testing.T) {
	f := func(mod func(c *Config), wantErr string) {
		t.Helper()
		cfg := Defaults()
		mod(&cfg)
		err := cfg.Check()
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("want an error naming %q, got %v", wantErr, err)
		}
	}
	f(func(c *Config) { c.URL = "ftp://127.0.0.1/" }, "scheme")
	f(func(c *Config) { c.Connections = 0 }, "--connections")
	f(func(c *Config) { c.Batch = 0 }, "--batch")
	f(func(c *Config) { c.InvalidRatio = 1.5 }, "--invalid-ratio")
	f(func(c *Config) { c.Rate = -1 }, "--rate")
	f(func(c *Config) { c.StreamConfig = "x.json" }, "--examples")

	// Both bounds always hold.
	cfg := Defaults()
	cfg.Check()
	if cfg.Duration != defaultDuration || cfg.Requests != 0 {
		t.Fatalf("no bounds given: %v %d", cfg.Duration, cfg.Requests)
	}
	cfg = Defaults()
	cfg.Requests = 5
	cfg.Check()
	if cfg.Duration != maxDuration {
		t.Fatalf("--requests alone: duration %v", cfg.Duration)
	}
	cfg = Defaults()
	cfg.Record = "x"
	cfg.Check()
	if !cfg.UniqueIDs {
		t.Fatalf("--record without unique ids")
	}
}

// The JSON report's field names are documented in the README: changing one breaks machines.
func TestReportJSONFields(t *testing.T) {
	b, err := json.Marshal(&Report{Status: map[string]int64{}})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := []string{"batch", "burst", "connections", "content_type", "duration_seconds", "events", "events_per_second",
		"gzip", "hasty", "invalid_ratio", "late_sends", "latency_ms", "max_send_lag_ms", "mode", "rate", "recorded_ids",
		"requests", "requests_per_second", "scenario", "source", "status", "unsent", "url"}
	if !reflect.DeepEqual(keys, want) {
		t.Fatalf("report fields %q, want %q", keys, want)
	}
	lat := m["latency_ms"].(map[string]any)
	for _, k := range []string{"count", "mean", "p50", "p90", "p99", "p99_9", "max"} {
		if _, ok := lat[k]; !ok {
			t.Fatalf("latency_ms lacks %q: %v", k, lat)
		}
	}
	if len(lat) != 7 {
		t.Fatalf("latency_ms fields: %v", lat)
	}
}

// The real examples of ../shared/data replay against the real stream config: each event goes to a
// stream whose schema_title is its title, with its $schema kept.
func TestExamplesWithStreamConfig(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "data")
	if _, err := os.Stat(filepath.Join(dir, "streamconfig.json")); err != nil {
		t.Skipf("no shared data: %v", err)
	}
	sc := filepath.Join(dir, "streamconfig.json")
	evs, titles, skipped, err := loadExamples(filepath.Join(dir, "examples"), sc)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 395 || skipped != 546-395 {
		t.Fatalf("%d events loaded, %d skipped; the data's README says 395 of 546 have a stream", len(evs), skipped)
	}
	byTitle, _ := streamsByTitle(sc)
	for i, ev := range evs {
		stream, _ := metaOf(ev)["stream"].(string)
		if ts := byTitle[titles[i]]; ts == nil || !ts.has(stream) {
			t.Fatalf("event of %s sent to stream %q, which has another title", titles[i], stream)
		}
		if s, _ := ev["$schema"].(string); !strings.HasSuffix(titles[i]+"/", strings.TrimPrefix(s[:strings.LastIndexByte(s, '/')+1], "/")) {
			t.Fatalf("$schema %q is not of %s", s, titles[i])
		}
	}
	// Every one of them can be broken, and the bodies carry them all.
	cfg := Config{Batch: 10, InvalidRatio: 0.5, UniqueIDs: true, Seed: 3}
	p, err := buildPool(evs, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p.events < len(evs) || p.invalid != p.events/2 {
		t.Fatalf("pool of %d events, %d invalid", p.events, p.invalid)
	}
	for _, b := range p.bodies {
		var arr []map[string]any
		if err := json.Unmarshal(b.raw, &arr); err != nil || len(arr) != 10 || len(b.idOffs) != 10 {
			t.Fatalf("body does not decode into 10 events with ids: %v", err)
		}
	}
}
