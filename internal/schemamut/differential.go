package schemamut

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Result is the reference's verdict on one mutated copy.
type Result struct {
	Mutation Mutation
	// Dir is the mutated copy (kept until the caller removes its parent).
	Dir      string
	Verdicts []Verdict
	Err      error
}

// Failed returns the Keys of the reference's failing cases.
func (r Result) Failed() map[string]bool { return Failed(r.Verdicts) }

// RunCorpus makes the BaseTitles subset of the repository src in work/base, a copy of it for each
// mutation in work/<name>, and runs the reference on each, workers at a time.
func RunCorpus(src, work string, muts []Mutation, workers int) ([]Result, error) {
	base := filepath.Join(work, "base")
	if err := Subset(src, base, BaseTitles...); err != nil {
		return nil, err
	}
	results := make([]Result, len(muts))
	for i, m := range muts {
		dir := filepath.Join(work, m.Name)
		results[i] = Result{Mutation: m, Dir: dir}
		if err := copyPath(base, dir); err != nil {
			return nil, err
		}
		if err := m.Apply(Repo{Dir: dir}); err != nil {
			return nil, fmt.Errorf("cannot apply mutation %s: %w", m.Name, err)
		}
	}
	if workers < 1 {
		workers = 1
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i].Verdicts, results[i].Err = Reference(results[i].Dir)
				if results[i].Err == ErrNoReference {
					return
				}
			}
		}()
	}
	for i := range results {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, r := range results {
		if r.Err != nil {
			return results, r.Err
		}
	}
	return results, nil
}

// FormatVerdicts renders results as the golden file testdata/reference-verdicts.txt holds them:
// one line per mutation that passes ("<name>\tpass"), one per failing case of one that fails
// ("<name>\tfail\t<Key>"), in corpus order and Key order.
func FormatVerdicts(results []Result) string {
	var b strings.Builder
	b.WriteString("# jsonschema-tools 1.3.0's verdict on each mutated copy (internal/schemamut, make test;\n")
	b.WriteString("# refresh with go test ./internal/schemamut -run TestDifferential -update)\n")
	for _, r := range results {
		failed := SortedKeys(r.Failed())
		if len(failed) == 0 {
			fmt.Fprintf(&b, "%s\tpass\n", r.Mutation.Name)
			continue
		}
		for _, k := range failed {
			fmt.Fprintf(&b, "%s\tfail\t%s\n", r.Mutation.Name, k)
		}
	}
	return b.String()
}

// Disagreement is where a Checker and the reference differ on one mutated copy.
type Disagreement struct {
	Mutation string
	// OnlyReference fails in the reference only; OnlyChecker in the checker only.
	OnlyReference, OnlyChecker []string
	// Verdict differs: one side passes the copy as a whole, the other fails it.
	Verdict bool
}

func (d Disagreement) String() string {
	s := d.Mutation + ":"
	if d.Verdict {
		s += " the verdicts differ (one passes, one fails);"
	}
	if len(d.OnlyReference) > 0 {
		s += " only jsonschema-tools fails " + strings.Join(d.OnlyReference, ", ") + ";"
	}
	if len(d.OnlyChecker) > 0 {
		s += " only intake fails " + strings.Join(d.OnlyChecker, ", ") + ";"
	}
	return strings.TrimSuffix(s, ";")
}

// Compare runs check on each result's copy, then on the same copy with its alias entries laid out
// as files (AliasesToFiles; the Mutation is then named "<name> (alias files)"), and returns where
// it disagrees with the reference: the failed cases must be the same, except where
// jsonschema-tools crashed before declaring any (its one verdict "load"): then both must fail.
func Compare(results []Result, check Checker) ([]Disagreement, error) {
	var out []Disagreement
	for _, r := range results {
		d, err := compareOne(r.Mutation.Name, r.Dir, r.Failed(), check)
		if err != nil {
			return out, err
		}
		out = append(out, d...)
		files := r.Dir + ".alias-files"
		if err := os.RemoveAll(files); err != nil {
			return out, err
		}
		if err := copyPath(r.Dir, files); err != nil {
			return out, err
		}
		if err := AliasesToFiles(files); err != nil {
			return out, err
		}
		d, err = compareOne(r.Mutation.Name+" (alias files)", files, r.Failed(), check)
		if err != nil {
			return out, err
		}
		out = append(out, d...)
	}
	return out, nil
}

func compareOne(name, dir string, want map[string]bool, check Checker) ([]Disagreement, error) {
	got, err := check(dir)
	if err != nil {
		return nil, fmt.Errorf("the checker failed on mutation %s: %w", name, err)
	}
	d := Disagreement{Mutation: name, Verdict: (len(got) == 0) != (len(want) == 0)}
	if len(want) == 1 && want["load"] {
		// jsonschema-tools crashed before declaring its tests (it names no case): only the
		// verdict compares, the checker naming what it finds wrong.
		if d.Verdict {
			return []Disagreement{d}, nil
		}
		return nil, nil
	}
	for k := range want {
		if !got[k] {
			d.OnlyReference = append(d.OnlyReference, k)
		}
	}
	for k := range got {
		if !want[k] {
			d.OnlyChecker = append(d.OnlyChecker, k)
		}
	}
	if !d.Verdict && len(d.OnlyReference) == 0 && len(d.OnlyChecker) == 0 {
		return nil, nil
	}
	sort.Strings(d.OnlyReference)
	sort.Strings(d.OnlyChecker)
	return []Disagreement{d}, nil
}
