package schemarepo

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The real repositories, whole, as their authors work in them (../shared/data/README.md).
var (
	primaryRepo   = filepath.Join("..", "..", "shared", "data", "schema-repositories", "primary")
	secondaryRepo = filepath.Join("..", "..", "shared", "data", "schema-repositories", "secondary")
)

const primaryBaseURI = "https://schema.wikimedia.org/repositories/primary/jsonschema/"

func realRepoOptions(t testing.TB) Options {
	t.Helper()
	if _, err := os.Stat(primaryRepo); err != nil {
		t.Skipf("the real repositories are not here: %v", err)
	}
	return Options{BaseURIMap: map[string]string{primaryBaseURI: filepath.Join(primaryRepo, "jsonschema")}}
}

// TestRealRepositories runs the checks on both repositories: they pass with jsonschema-tools
// 1.3.0, with the same number of tests and skipped tests as its mocha run.
func TestRealRepositories(t *testing.T) {
	f := func(dir string, passing, skipped int, fullTitles ...string) {
		t.Helper()
		rep, err := Test(dir, realRepoOptions(t))
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		// Tests are named as in jsonschema-tools' mocha output (its JSON reporter's fullTitle).
		seen := map[string]bool{}
		for _, r := range rep.Results {
			seen[r.FullTitle] = true
		}
		for _, ft := range fullTitles {
			if !seen[ft] {
				t.Errorf("%s: no test %q", dir, ft)
			}
		}
		if !rep.OK() {
			var b bytes.Buffer
			rep.WriteText(&b, false)
			t.Errorf("%s: failures:\n%s", dir, b.String())
		}
		if rep.Passed != passing || rep.Skipped != skipped {
			t.Errorf("%s: %d passing, %d skipped; jsonschema-tools: %d passing, %d skipped; by suite %v", dir, rep.Passed, rep.Skipped, passing, skipped, rep.Counts())
		}
	}
	f(primaryRepo, 1614, 12,
		"Schema Repository Structure in ./jsonschema/ Schema with title test/event 1.0.0 $id must match directory",
		"Schema Repository Structure in ./jsonschema/ Schema with title test/event must contain materialized current schema file as\u00a0the greatest yaml version 1.0.0.yaml",
		"Schema Robustness in Repository ./jsonschema/ mediawiki/revision/create 1.0.0.yaml must be a secure JSONSchema",
		"Schema Compatibility in Repository ./jsonschema/ mediawiki/revision/create Major Version 1 1.1.0 must be compatible with 1.0.0")
	f(secondaryRepo, 7254, 294)
}
