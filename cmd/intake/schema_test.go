package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var (
	primaryRepo   = filepath.Join("..", "..", "..", "shared", "data", "schema-repositories", "primary")
	secondaryRepo = filepath.Join("..", "..", "..", "shared", "data", "schema-repositories", "secondary")
	primaryMap    = "https://schema.wikimedia.org/repositories/primary/jsonschema/=" + filepath.Join(primaryRepo, "jsonschema")
)

func needRepos(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(primaryRepo); err != nil {
		t.Skipf("the real repositories are not here: %v", err)
	}
}

// intake schema test: exit 0 on both real repositories (secondary with its primary base mapped),
// 1 when a check fails (secondary without the map: its $refs to primary cannot be read), 2 on a
// usage or configuration error.
func TestSchemaTestCommand(t *testing.T) {
	needRepos(t)
	f := func(wantCode int, wantOut string, args ...string) {
		t.Helper()
		var out bytes.Buffer
		code, err := schemaCommand(args, &out)
		if err != nil && code != 2 {
			t.Errorf("%v: error %v with exit %d", args, err, code)
		}
		if code != wantCode || !strings.Contains(out.String()+errText(err), wantOut) {
			t.Errorf("%v: exit %d, output %q (error %v); want exit %d and %q", args, code, lastBytes(out.String()), err, wantCode, wantOut)
		}
	}
	f(0, "1614 passing, 0 failing, 12 skipped", "test", primaryRepo)
	f(0, "7254 passing, 0 failing, 294 skipped", "test", "--base-uri-map", primaryMap, secondaryRepo)
	f(1, "not mapped to a directory (--base-uri-map URI=DIR)", "test", secondaryRepo)
	f(2, "needs one repository DIR", "test")
	f(2, "--format", "test", "--format", "xml", primaryRepo)
	f(2, "--base-uri-map", "test", "--base-uri-map", "nodir", primaryRepo)
	f(2, "--config", "test", "--config", "/nonexistent.yaml", primaryRepo)
	f(2, "unknown schema command", "frobnicate")

	var out bytes.Buffer
	if code, err := schemaCommand([]string{"test", "--format", "json", primaryRepo}, &out); code != 0 || err != nil {
		t.Fatalf("--format json: exit %d, %v", code, err)
	}
	var rep struct {
		Passed, Failed, Skipped int
		Results                 []struct{ Case, Status string }
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Passed != 1614 || rep.Skipped != 12 || len(rep.Results) != 1626 {
		t.Errorf("--format json: %d passed, %d skipped, %d results", rep.Passed, rep.Skipped, len(rep.Results))
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func lastBytes(s string) string {
	if len(s) > 400 {
		return "..." + s[len(s)-400:]
	}
	return s
}

// intake schema check on two versions of a real schema and on a constructed pair, in each mode.
func TestSchemaCheckCommand(t *testing.T) {
	needRepos(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// jsonschema-tools compares the keys of the old version only: a required list where there was
	// none passes, so the old version here has an empty one.
	old := write("old.yaml", "type: object\nrequired: []\nproperties:\n  a: {type: string}\n")
	added := write("added.yaml", "type: object\nrequired: []\nproperties:\n  a: {type: string}\n  b: {type: integer}\n")
	narrowed := write("narrowed.yaml", "type: object\nrequired: [a]\nproperties:\n  a: {type: string}\n")
	f := func(wantCode int, wantOut string, args ...string) {
		t.Helper()
		var out bytes.Buffer
		code, err := schemaCommand(append([]string{"check"}, args...), &out)
		if code != wantCode || !strings.Contains(out.String()+errText(err), wantOut) {
			t.Errorf("%v: exit %d, %q (error %v); want exit %d and %q", args, code, out.String(), err, wantCode, wantOut)
		}
	}
	base := filepath.Join(primaryRepo, "jsonschema")
	f(0, "compatible (jsonschema-tools)", "--schema-base-uri", base, "/mediawiki/revision/create/1.0.0", "/mediawiki/revision/create/1.1.0")
	f(1, "NOT compatible (jsonschema-tools)", "--schema-base-uri", base, "/mediawiki/revision/create/1.2.0", "/mediawiki/revision/create/2.0.0")
	f(0, "compatible (jsonschema-tools)", old, added)
	f(1, "property \"b\" was added to an open content model", "--mode", "backward", old, added)
	f(0, "compatible (forward)", "--mode", "forward", old, added)
	f(1, "NOT compatible (full)", "--mode", "full", old, added)
	f(0, "compatible (none)", "--mode", "none", old, narrowed)
	f(1, "#/required", old, narrowed)
	f(1, `"a" is now required`, "--mode", "backward", old, narrowed)
	f(0, "compatible (forward)", "--mode", "forward", old, narrowed)
	f(2, "cannot use --mode", "--mode", "sideways", old, added)
	f(2, "needs OLD and NEW", old)
	f(2, "no such file", old, filepath.Join(dir, "missing.yaml"))

	var out bytes.Buffer
	if code, _ := schemaCommand([]string{"check", "--format", "json", old, narrowed}, &out); code != 1 {
		t.Fatalf("--format json: exit %d", code)
	}
	var res struct {
		Compatible bool
		Problems   []struct{ Path, Message string }
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || res.Compatible || len(res.Problems) == 0 || res.Problems[0].Path != "#/required" {
		t.Errorf("--format json: %s (%v)", out.String(), err)
	}
}

// intake schema materialize on a scratch copy of the primary repository: --all changes no
// committed version; a current.yaml edited without a new version is refused (exit 1); one given
// a new version is written with its alias entries.
func TestSchemaMaterializeCommand(t *testing.T) {
	needRepos(t)
	dst := filepath.Join(t.TempDir(), "primary")
	if err := os.CopyFS(dst, os.DirFS(primaryRepo)); err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	run := func(args ...string) (int, string) {
		t.Helper()
		var out bytes.Buffer
		code, err := schemaCommand(append([]string{"materialize"}, args...), &out)
		if err != nil {
			t.Logf("%v: %v", args, err)
		}
		return code, out.String()
	}
	if code, out := run("--all", dst); code != 0 || strings.Contains(out, "wrote") {
		t.Fatalf("--all on the committed repository: exit %d, wrote files:\n%s", code, out)
	}
	cur := filepath.Join(dst, "jsonschema", "test", "event", "current.yaml")
	data, err := os.ReadFile(cur)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), "  - properties:\n", "  - properties:\n      added_field:\n        type: string\n", 1)
	if err := os.WriteFile(cur, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _ := run(cur); code != 1 {
		t.Errorf("an edited current.yaml with its old version: exit %d, want 1", code)
	}
	edited = strings.Replace(edited, "$id: /test/event/1.0.0", "$id: /test/event/1.1.0", 1)
	edited = strings.ReplaceAll(edited, "$schema: /test/event/1.0.0", "$schema: /test/event/1.1.0")
	if err := os.WriteFile(cur, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := run(cur)
	if code != 0 || !strings.Contains(out, "wrote test/event/1.1.0.yaml") || !strings.Contains(out, "wrote test/event/latest") {
		t.Fatalf("a new version: exit %d:\n%s", code, out)
	}
	// The repository, with its new version (a property added: compatible), passes its tests.
	var b bytes.Buffer
	if code, err := schemaCommand([]string{"test", dst}, &b); code != 0 {
		t.Errorf("the repository with 1.1.0: exit %d (%v):\n%s", code, err, b.String())
	}
}
