package schemarepo

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Status is a test case's outcome.
type Status string

const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip" // skipped by the configuration's skipSchemaTestCases
)

// Suites, as jsonschema-tools groups its repository tests.
const (
	SuiteStructure     = "structure"
	SuiteRobustness    = "robustness"
	SuiteCompatibility = "compatibility"
)

// Problem is one reason a test case failed.
type Problem struct {
	File    string `json:"file,omitempty"` // relative to the schema base path
	Path    string `json:"path,omitempty"` // JSON pointer into the schema ("#/properties/x"), when there is one
	Message string `json:"message"`        // what is wrong or what changed
	Old     any    `json:"old,omitempty"`  // the value before (compatibility)
	New     any    `json:"new,omitempty"`  // the value after
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	if p.Old != nil || p.New != nil {
		fmt.Fprintf(&b, " (was %s, now %s)", briefOrAbsent(p.Old), briefOrAbsent(p.New))
	}
	return b.String()
}

func briefOrAbsent(v any) string {
	if v == nil {
		return "absent"
	}
	return brief(v)
}

// Result is one test case run on one schema file (or title, or pair of versions): what mocha
// counts as one test in jsonschema-tools' repository tests.
type Result struct {
	Suite string `json:"suite"`
	// Case is jsonschema-tools' test-case name, the one skipSchemaTestCases lists
	// ("schema-is-valid", "schema-version-compatibility"...). Structure tests cannot be skipped
	// there; they are named "structure-..." here.
	Case string `json:"case"`
	// Test is the test's description as jsonschema-tools words it.
	Test string `json:"test"`
	// FullTitle is the test's full title in jsonschema-tools' mocha run (its describe blocks and
	// its own title, space-separated), for comparing the two tools test by test.
	FullTitle string    `json:"full_title,omitempty"`
	Title     string    `json:"title"`            // the schema title
	Schema    string    `json:"schema,omitempty"` // the file's $id
	File      string    `json:"file,omitempty"`   // relative to the schema base path
	Status    Status    `json:"status"`
	Problems  []Problem `json:"problems,omitempty"`

	only bool // mocha's it.only: when any test is "only", only those run
}

// Report is the outcome of Test on a repository.
type Report struct {
	Dir     string   `json:"dir"`
	Results []Result `json:"results"`
	Passed  int      `json:"passed"`
	Failed  int      `json:"failed"`
	Skipped int      `json:"skipped"`
}

// OK reports whether no test failed.
func (r *Report) OK() bool { return r.Failed == 0 }

func (r *Report) count() {
	r.Passed, r.Failed, r.Skipped = 0, 0, 0
	for _, x := range r.Results {
		switch x.Status {
		case Pass:
			r.Passed++
		case Fail:
			r.Failed++
		case Skip:
			r.Skipped++
		}
	}
}

// Counts returns passed, failed and skipped per suite.
func (r *Report) Counts() map[string][3]int {
	out := map[string][3]int{}
	for _, x := range r.Results {
		c := out[x.Suite]
		switch x.Status {
		case Pass:
			c[0]++
		case Fail:
			c[1]++
		case Skip:
			c[2]++
		}
		out[x.Suite] = c
	}
	return out
}

// WriteText writes the failures, one block each, then a summary line as mocha's.
func (r *Report) WriteText(w io.Writer, verbose bool) error {
	var b strings.Builder
	for _, x := range r.Results {
		if x.Status == Pass && !verbose || x.Status == Skip && !verbose {
			continue
		}
		where := x.File
		if where == "" {
			where = x.Title
		}
		fmt.Fprintf(&b, "%s %s %s: %s [%s]\n", strings.ToUpper(string(x.Status)), x.Suite, where, x.Test, x.Case)
		for _, p := range x.Problems {
			fmt.Fprintf(&b, "    %s\n", p)
		}
	}
	fmt.Fprintf(&b, "%d passing, %d failing, %d skipped (%s)\n", r.Passed, r.Failed, r.Skipped, r.Dir)
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as one JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
