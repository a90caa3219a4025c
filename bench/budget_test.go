package bench

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The budget file and the suite name the same benchmarks: every case of every group has a line
// (baselines marked "baseline"), every line names a case, and every group has its Benchmark
// function. benchcheck maps go test's names onto budget lines by these names.
func TestBudgetNamesTheSuite(t *testing.T) {
	f, err := os.Open("budget")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	budget, err := ParseBudget(f)
	if err != nil {
		t.Fatal(err)
	}

	benchFuncs := benchmarkFuncs(t)
	suite := map[string]bool{} // name -> baseline
	procsLike := regexp.MustCompile(`-\d+$`)
	for group, cases := range groups {
		if !benchFuncs["Benchmark"+group] {
			t.Errorf("group %s has no func Benchmark%s in a *_timing_test.go file", group, group)
		}
		for _, c := range cases() {
			name := group + "/" + c.name
			if procsLike.MatchString(name) {
				t.Errorf("%s ends like go test's -GOMAXPROCS suffix; benchcheck would cut it", name)
			}
			if BenchName("Benchmark"+name+"-2") != name {
				t.Errorf("%s does not survive BenchName", name)
			}
			if _, dup := suite[name]; dup {
				t.Errorf("%s is in the suite twice", name)
			}
			suite[name] = c.baseline
		}
	}
	for _, l := range budget.Lines {
		baseline, ok := suite[l.Name]
		switch {
		case !ok:
			t.Errorf("budget line %d: %s is not a benchmark of the suite", l.LineNo, l.Name)
		case baseline != l.Baseline:
			t.Errorf("budget line %d: %s: baseline in the suite %v, in the budget %v", l.LineNo, l.Name, baseline, l.Baseline)
		}
	}
	for name := range suite {
		if budget.Line(name) == nil {
			t.Errorf("%s has no budget line in bench/budget", name)
		}
	}
}

// benchmarkFuncs lists the Benchmark functions of this package's timing files.
func benchmarkFuncs(t *testing.T) map[string]bool {
	files, err := filepath.Glob("*_timing_test.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no timing files: %v", err)
	}
	out := map[string]bool{}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Benchmark") {
				out[fn.Name.Name] = true
			}
		}
	}
	return out
}

func TestParseBudget(t *testing.T) {
	f := func(in, wantErr string) {
		t.Helper()
		_, err := ParseBudget(strings.NewReader(in))
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("%q: %s", in, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("%q: error %v, want one containing %q", in, err, wantErr)
		}
	}
	f("tolerance 50%\nA/b allocs 0 ns 10 # comment\nA/c baseline\n", "")
	f("tolerance 50%\nA/b allocs 0 ns 10 tolerance 80% vs A/c\nA/c baseline\n", "")
	f("A/b allocs 0 ns 10\n", "no \"tolerance")
	f("tolerance 50\n", "percentage")
	f("tolerance 50%\nA/b allocs 0\n", "wants both")
	f("tolerance 50%\nA/b ns 10\n", "wants both")
	f("tolerance 50%\nA/b allocs -1 ns 10\n", "non-negative")
	f("tolerance 50%\nA/b allocs 0 ns 10 speed 3\n", "unknown key")
	f("tolerance 50%\nA/b allocs 0 ns\n", "wants a value")
	f("tolerance 50%\nA/b baseline allocs 0 ns 1\n", "cannot have ceilings")
	f("tolerance 50%\nA/b allocs 0 ns 1\nA/b allocs 0 ns 1\n", "has a budget already")
	f("tolerance 50%\nA/b allocs 0 ns 1 vs A/c\n", "not a baseline")
	f("tolerance 50%\nA/b allocs 0 ns 1 vs A/c\nA/c allocs 0 ns 1\n", "not a baseline")
}

const sampleOutput = `goos: linux
goarch: amd64
pkg: intake.dev/intake/bench
cpu: AMD EPYC
BenchmarkParse/revision-create/fastjson-2 	  854806	      1309 ns/op	 731.90 MB/s	         0 allocs/event	    763914 events/s	      1000 ns/event	       0 B/op	       0 allocs/op
BenchmarkParse/revision-create/fastjson-2 	  854806	      1309 ns/op	 731.90 MB/s	         0.02 allocs/event	    763914 events/s	      1200 ns/event	       0 B/op	       0 allocs/op
BenchmarkParse/revision-create/fastjson-2 	  854806	      1309 ns/op	 731.90 MB/s	         0 allocs/event	    763914 events/s	      1100 ns/event	       0 B/op	       0 allocs/op
BenchmarkParse/revision-create/encoding-json-2     	   67556	     19096 ns/op	  50.17 MB/s	       117.0 allocs/event	     52362 events/s	     22000 ns/event	    4936 B/op	     117 allocs/op
BenchmarkOther-2 	 1000	 1000 ns/op
--- SKIP: BenchmarkEdge/x/baseline
PASS
`

func TestParseResults(t *testing.T) {
	rs, env, err := ParseResults(strings.NewReader(sampleOutput))
	if err != nil {
		t.Fatal(err)
	}
	if env.CPU != "AMD EPYC" || env.GOOS != "linux" || env.GOARCH != "amd64" {
		t.Errorf("env %+v", env)
	}
	want := []Result{
		{Name: "Parse/revision-create/fastjson", NsPerEvent: 1100, AllocsPerEvent: 0.02, EventsPerSec: 763914, Runs: 3},
		{Name: "Parse/revision-create/encoding-json", NsPerEvent: 22000, AllocsPerEvent: 117, EventsPerSec: 52362, Runs: 1},
	}
	if !slices.Equal(rs, want) {
		t.Errorf("got %+v\nwant %+v", rs, want)
	}
}

func TestCheck(t *testing.T) {
	budget, err := ParseBudget(strings.NewReader(`tolerance 50%
A/fast  allocs 0  ns 100  vs A/base
A/base  baseline
A/keyed allocs 2  ns 100  tolerance 10%
A/gone  allocs 0  ns 100
`))
	if err != nil {
		t.Fatal(err)
	}
	f := func(fast, keyed Result, allocsOnly bool, want map[string]string) {
		t.Helper()
		fast.Name, keyed.Name = "A/fast", "A/keyed"
		rs := []Result{fast, {Name: "A/base", NsPerEvent: 1000}, keyed, {Name: "A/stray", NsPerEvent: 1}}
		got := map[string]string{}
		for _, r := range Check(budget, rs, allocsOnly) {
			got[r.Name] = r.Verdict
		}
		for name, v := range want {
			if got[name] != v {
				t.Errorf("%s: verdict %q, want %q", name, got[name], v)
			}
		}
	}
	ok := map[string]string{"A/fast": VerdictOK, "A/base": VerdictBaseline, "A/keyed": VerdictOK,
		"A/gone": VerdictMissing, "A/stray": VerdictUnknown}
	f(Result{NsPerEvent: 150, AllocsPerEvent: 0.049}, Result{NsPerEvent: 110, AllocsPerEvent: 2.049}, false, ok)
	f(Result{NsPerEvent: 151}, Result{NsPerEvent: 100, AllocsPerEvent: 2}, false, map[string]string{"A/fast": VerdictSlow})
	f(Result{NsPerEvent: 151}, Result{NsPerEvent: 100, AllocsPerEvent: 2}, true, map[string]string{"A/fast": VerdictOK})
	f(Result{NsPerEvent: 50, AllocsPerEvent: 0.05}, Result{NsPerEvent: 111, AllocsPerEvent: 2}, false,
		map[string]string{"A/fast": VerdictAllocs, "A/keyed": VerdictSlow})
	f(Result{NsPerEvent: 50, AllocsPerEvent: 1}, Result{NsPerEvent: 100, AllocsPerEvent: 2.05}, true,
		map[string]string{"A/fast": VerdictAllocs, "A/keyed": VerdictAllocs})

	rows := Check(budget, []Result{{Name: "A/fast", NsPerEvent: 100}, {Name: "A/base", NsPerEvent: 1000}}, false)
	if rows[0].Ratio != 10 {
		t.Errorf("ratio %v, want 10", rows[0].Ratio)
	}
	if !Failed(rows) {
		t.Error("missing lines do not fail")
	}
}
