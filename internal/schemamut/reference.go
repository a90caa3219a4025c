package schemamut

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// Verdict is the reference's verdict on one test case, as scripts/schema/verdicts-reporter.js
// writes it.
type Verdict struct {
	// Status is "passed", "failed" or "pending" (skipped by the repository's skipSchemaTestCases).
	Status string `json:"status"`
	// Suite is "structure", "robustness" or "compatibility".
	Suite string `json:"suite"`
	// Case is jsonschema-tools' test-case name (schema-is-valid, schema-version-compatibility, ...,
	// the names its skipSchemaTestCases use); its structure tests have none, and are named
	// structure-... by scripts/schema/verdicts-reporter.js (structureCases); "load" when
	// jsonschema-tools could not declare the tests at all.
	Case string `json:"case"`
	// Schema is "<title>/<file>" for robustness ("error/2.1.0.yaml", "error/current.yaml"),
	// "<title>/<new version>" for compatibility, "<title>" or "<title>/<version>" for structure.
	Schema string `json:"schema"`
	// Title is mocha's full title of the test case; Path its parts.
	Title string   `json:"title"`
	Path  []string `json:"path"`
	// Error is the first line of the assertion's message, for a failed case.
	Error string `json:"error,omitempty"`
}

// Key names a test case as a Checker's failed map does: Case, a space, Schema ("load" alone when
// jsonschema-tools could not declare the tests).
func (v Verdict) Key() string {
	if v.Schema == "" {
		return v.Case
	}
	return v.Case + " " + v.Schema
}

// Checker is the other side of the differential test: it checks the schema repository in dir and
// returns the Keys of the test cases that fail (pending ones are not failures).
type Checker func(dir string) (failed map[string]bool, err error)

// ErrNoReference is returned by Reference when node or npm is not installed.
var ErrNoReference = errors.New("the reference (jsonschema-tools) needs node and npm, and one is not installed")

// Root is the project's root directory (this file's ../..).
func Root() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("BUG: runtime.Caller failed")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// ReferenceScript is the path of scripts/schema/reference.sh.
func ReferenceScript() string { return filepath.Join(Root(), "scripts", "schema", "reference.sh") }

// Reference runs jsonschema-tools' repository tests (the repository's own test/ with mocha) on the
// schema repository in dir, through scripts/schema/reference.sh, which installs them on first
// use. maps are the script's --map URI=DIR arguments. It returns one Verdict per test case, in
// mocha's order.
func Reference(dir string, maps ...string) ([]Verdict, error) {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, ErrNoReference
		}
	}
	args := []string{ReferenceScript(), "run"}
	for _, m := range maps {
		args = append(args, "--map", m)
	}
	args = append(args, dir)
	cmd := exec.Command("bash", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("cannot run the reference on %s: %w\n%s", dir, err, tail(stderr.String(), 2000))
	}
	var vs []Verdict
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var v Verdict
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			return nil, fmt.Errorf("cannot read the reference's verdict %q: %w", sc.Text(), err)
		}
		vs = append(vs, v)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("the reference gave no verdict on %s\n%s", dir, tail(stderr.String(), 2000))
	}
	return vs, nil
}

// Counts returns how many verdicts passed, failed and are pending.
func Counts(vs []Verdict) (passed, failed, pending int) {
	for _, v := range vs {
		switch v.Status {
		case "passed":
			passed++
		case "failed":
			failed++
		case "pending":
			pending++
		}
	}
	return
}

// Failed returns the Keys of the failed verdicts.
func Failed(vs []Verdict) map[string]bool {
	m := make(map[string]bool)
	for _, v := range vs {
		if v.Status == "failed" {
			m[v.Key()] = true
		}
	}
	return m
}

// SortedKeys returns m's keys in order.
func SortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// PrimaryURI is the base URI that secondary's .jsonschema-tools.yaml names for the primary
// repository; map it with Reference(dir, PrimaryURI+"="+primaryJSONSchemaDir).
const PrimaryURI = "https://schema.wikimedia.org/repositories/primary/jsonschema/"

// RealRepository is the path of a real schema repository laid beside the project
// (../shared/data/schema-repositories/<name>), or "" when it is not there.
func RealRepository(name string) string {
	p := filepath.Join(Root(), "..", "shared", "data", "schema-repositories", name)
	if _, err := os.Stat(filepath.Join(p, ".jsonschema-tools.yaml")); err != nil {
		return ""
	}
	return p
}
