package schemarepo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Each check fails on a scratch copy of the primary repository with one mutation of test/event,
// under its jsonschema-tools name, naming the file and (where there is one) the JSON path.
func TestChecksFailOnMutations(t *testing.T) {
	opts := realRepoOptions(t)
	f := func(file, from, to, wantCase, wantWord string) {
		t.Helper()
		dst := filepath.Join(t.TempDir(), "primary")
		copyTree(t, primaryRepo, dst, false)
		p := filepath.Join(dst, "jsonschema", "test", "event", file)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), from) {
			t.Fatalf("%s holds no %q", file, from)
		}
		if err := os.WriteFile(p, []byte(strings.Replace(string(data), from, to, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		rep, err := Test(dst, opts)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		rep.WriteText(&b, false)
		for _, r := range rep.Results {
			if r.Status == Fail && r.Case == wantCase && strings.HasPrefix(r.Title, "test/event") && strings.Contains(b.String(), wantWord) {
				return
			}
		}
		t.Errorf("%s: %q -> %q: no failure of %s mentioning %q; got:\n%s", file, from, to, wantCase, wantWord, b.String())
	}
	f("1.0.0.yaml", "  test_map:\n", "  testMap:\n", CaseSnakeCase, "#/properties/testMap")
	f("1.0.0.yaml", "  test:\n    type: string", "  test:\n    type: [string, 'null']", CaseDeterministic, "Polymorphic")
	f("1.0.0.yaml", "  test:\n    type: string", "  count:\n    type: integer\n  test:\n    type: string", CaseNumericBounds, "count")
	f("1.0.0.yaml", "test: specific test value", "test: 12", CaseExamplesValid, "#/examples/0")
	f("1.0.0.yaml", "  - $schema: /test/event/1.0.0", "  - $schema: /test/event/0.0.3", CaseExamplesSchemaID, "#/examples/0/$schema")
	f("1.0.0.yaml", "  - meta\n", "  - meta\n  - nothere\n", CaseRequiredExist, "nothere")
	f("1.0.0.yaml", "        format: date-time\n        maxLength: 128\n", "        format: date-time\n", CaseSecure, "#/properties/meta/properties/dt")
	f("1.0.0.yaml", "type: object\nrequired", "type: objekt\nrequired", CaseValid, "Schema is invalid")
	f("0.0.2.yaml", "properties:\n", "properties:\n  zzz:\n    type: string\n", CaseCompatibility, "#/properties/zzz")
	f("current.yaml", "default: default value", "default: another value", "structure-current-equals-latest", "#/properties/test/default")
	f("latest.yaml", "1.0.0.yaml", "0.0.3.yaml", "structure-latest-symlink", "latest.yaml")
	f("1.0.0", "1.0.0.yaml", "0.0.3.yaml", "structure-version-symlink", "points to 0.0.3.yaml")
	f("1.0.0.yaml", "title: test/event", "title: test/evento", "structure-title-matches-directory", "test/evento")
}

// A skip list entry turns a failing case into a skipped one, for the schemas its pattern matches.
func TestSkipList(t *testing.T) {
	opts := realRepoOptions(t)
	dst := filepath.Join(t.TempDir(), "primary")
	copyTree(t, primaryRepo, dst, false)
	p := filepath.Join(dst, "jsonschema", "test", "event", "1.0.0.yaml")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(data), "  test_map:\n", "  testMap:\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := ReadConfig(filepath.Join(dst, ConfigFile), false)
	if err != nil {
		t.Fatal(err)
	}
	cfg.SkipSchemaTestCases["/test/event/1\\..*"] = []string{CaseSnakeCase}
	opts.Config = &cfg
	rep, err := Test(dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if r.Case == CaseSnakeCase && r.File == "test/event/1.0.0.yaml" && r.Status != Skip {
			t.Errorf("%s: %s, want skipped", r.File, r.Status)
		}
	}
	// The skip applies by $id: to 1.0.0.yaml and to current.yaml, which has the same.
	if rep.Skipped != 14 {
		t.Errorf("%d skipped, want the repository's 12 and these two", rep.Skipped)
	}
}

// Configuration variants of the primary repository give jsonschema-tools 1.3.0's counts (its mocha
// run on a copy with the same .jsonschema-tools.yaml change: passing, failing, skipped).
func TestConfigVariants(t *testing.T) {
	opts := realRepoOptions(t)
	f := func(edit func(c *Config), passing, failing, skipped int) {
		t.Helper()
		cfg, err := ReadConfig(filepath.Join(primaryRepo, ConfigFile), false)
		if err != nil {
			t.Fatal(err)
		}
		edit(&cfg)
		o := opts
		o.Config = &cfg
		rep, err := Test(primaryRepo, o)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Passed != passing || rep.Failed != failing || rep.Skipped != skipped {
			t.Errorf("%d passing, %d failing, %d skipped; jsonschema-tools: %d, %d, %d", rep.Passed, rep.Failed, rep.Skipped, passing, failing, skipped)
		}
	}
	f(func(c *Config) { c.ShouldSymlinkExtensionless = false }, 1478, 0, 12)
	f(func(c *Config) { c.EnforcedNumericBounds = []float64{-100, maxSafeInteger} }, 1542, 72, 12)
	// Without bounds, materialize adds none: every current.yaml with a number differs from its
	// committed version.
	f(func(c *Config) { c.EnforcedNumericBounds = nil }, 1501, 31, 11)
	f(func(c *Config) { c.IgnoreSchemas = []string{"^/test/.*"} }, 1562, 0, 12)
	f(func(c *Config) { c.ShouldSymlinkLatest = false }, 1508, 0, 12)
	// Without generated examples, the 17 fragments whose committed versions have one differ.
	f(func(c *Config) { c.ShouldGenerateExample = false }, 1597, 17, 12)
}
