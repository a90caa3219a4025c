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
	f := func(dir string, passing, skipped int) {
		t.Helper()
		rep, err := Test(dir, realRepoOptions(t))
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
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
	f(primaryRepo, 1614, 12)
	f(secondaryRepo, 7254, 294)
}
