package schemamut_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"intake.dev/intake/internal/schemamut"
)

var update = flag.Bool("update", false, "rewrite testdata/reference-verdicts.txt from the reference's verdicts")

// intakeChecker is the other side of the differential test: `intake schema test` as a
// schemamut.Checker (failed case Keys of a repository directory), set in intake_checker_test.go.
var intakeChecker schemamut.Checker

func primaryOrSkip(t *testing.T) string {
	t.Helper()
	p := schemamut.RealRepository("primary")
	if p == "" {
		t.Skip("../shared/data/schema-repositories/primary is not there")
	}
	return p
}

func referenceOrSkip(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, schemamut.ErrNoReference) {
		t.Skip("node and npm are needed to run jsonschema-tools (apt-get install nodejs npm); skipped")
	}
	if err != nil {
		t.Fatal(err)
	}
}

// Every mutation applies to the subset and changes something; the alias layouts convert both ways
// (no node needed).
func TestMutationsApply(t *testing.T) {
	src := primaryOrSkip(t)
	work := t.TempDir()
	base := filepath.Join(work, "base")
	if err := schemamut.Subset(src, base, schemamut.BaseTitles...); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(filepath.Join(base, "jsonschema", "error", "latest")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("error/latest in the subset is not a symlink (%v)", err)
	}
	baseTree := tree(t, base)
	seen := map[string]bool{}
	for _, m := range schemamut.Mutations() {
		if seen[m.Name] {
			t.Fatalf("two mutations named %s", m.Name)
		}
		seen[m.Name] = true
		dir := filepath.Join(work, m.Name)
		if err := schemamut.Subset(src, dir, schemamut.BaseTitles...); err != nil {
			t.Fatal(err)
		}
		if err := m.Apply(schemamut.Repo{Dir: dir}); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if changed := tree(t, dir) != baseTree; changed != (m.Name != "unchanged") {
			t.Fatalf("%s: changed %v", m.Name, changed)
		}
	}
	if err := schemamut.AliasesToFiles(base); err != nil {
		t.Fatal(err)
	}
	files := tree(t, base)
	if files == baseTree || !strings.Contains(files, "error/latest file 2.1.0.yaml\n") {
		t.Fatal("AliasesToFiles left the symlinks")
	}
	if err := schemamut.FixAliases(base); err != nil {
		t.Fatal(err)
	}
	if tree(t, base) != baseTree {
		t.Fatal("FixAliases did not make the symlinks AliasesToFiles replaced")
	}
}

// tree describes every entry under dir: its path, kind and content or target.
func tree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join(dir, "jsonschema"), p)
		if d.Type()&os.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			fmt.Fprintf(&b, "%s link %s\n", rel, target)
			return err
		}
		c, err := os.ReadFile(p)
		fmt.Fprintf(&b, "%s file %s\n", rel, c)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The harness gives the counts the data README states for the two real repositories.
func TestReferenceOnRealRepositories(t *testing.T) {
	if testing.Short() {
		t.Skip("about 25 s of jsonschema-tools; skipped in -short")
	}
	primary := primaryOrSkip(t)
	secondary := schemamut.RealRepository("secondary")
	f := func(dir string, passed, pending int, maps ...string) {
		t.Helper()
		vs, err := schemamut.Reference(dir, maps...)
		referenceOrSkip(t, err)
		p, fl, s := schemamut.Counts(vs)
		if p != passed || fl != 0 || s != pending {
			t.Fatalf("%s: %d passing, %d failing, %d pending; want %d, 0, %d", dir, p, fl, s, passed, pending)
		}
	}
	f(primary, 1614, 12)
	if secondary != "" {
		f(secondary, 7254, 294, schemamut.PrimaryURI+"="+filepath.Join(primary, "jsonschema"))
	}
}

// TestDifferential runs every mutation of the corpus through jsonschema-tools 1.3.0, checks its
// verdicts against testdata/reference-verdicts.txt (so that each mutation keeps breaking what it
// says it breaks), then compares intake's checks with them, case by case.
func TestDifferential(t *testing.T) {
	src := primaryOrSkip(t)
	results, err := schemamut.RunCorpus(src, t.TempDir(), schemamut.Mutations(), 2)
	referenceOrSkip(t, err)
	got := schemamut.FormatVerdicts(results)
	golden := filepath.Join("testdata", "reference-verdicts.txt")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("the reference's verdicts changed (go test -run TestDifferential -update rewrites %s); got:\n%s", golden, got)
	}
	for _, r := range results {
		if len(r.Failed()) == 0 {
			t.Logf("%-26s pass  (%s)", r.Mutation.Name, r.Mutation.What)
		} else {
			t.Logf("%-26s FAIL  (%s): %v", r.Mutation.Name, r.Mutation.What, schemamut.SortedKeys(r.Failed()))
		}
	}

	if intakeChecker == nil {
		t.Skip("the intake side is not wired yet: set intakeChecker (intake schema test) to compare; only the reference's verdicts were checked")
	}
	ds, err := schemamut.Compare(results, intakeChecker)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		t.Error(d)
	}
}

// Compare reports a checker that disagrees with the reference, on either layout of the alias
// entries, and none for one that agrees (a fake reference result; no node needed).
func TestCompare(t *testing.T) {
	src := primaryOrSkip(t)
	dir := filepath.Join(t.TempDir(), "copy")
	if err := schemamut.Subset(src, dir, "error"); err != nil {
		t.Fatal(err)
	}
	results := []schemamut.Result{{
		Mutation: schemamut.Mutation{Name: "m"},
		Dir:      dir,
		Verdicts: []schemamut.Verdict{
			{Status: "failed", Case: "schema-is-valid", Schema: "error/2.1.0.yaml"},
			{Status: "pending", Case: "schema-is-secure", Schema: "error/2.1.0.yaml"},
		},
	}}
	// A checker that sees symlinks only: it fails what the reference fails on the symlink layout,
	// and also structure-latest-symlink on the alias-file layout.
	check := func(d string) (map[string]bool, error) {
		failed := map[string]bool{"schema-is-valid error/2.1.0.yaml": true}
		if fi, err := os.Lstat(filepath.Join(d, "jsonschema", "error", "latest.yaml")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			failed["structure-latest-symlink error"] = true
		}
		return failed, nil
	}
	ds, err := schemamut.Compare(results, check)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Mutation != "m (alias files)" || ds[0].Verdict ||
		len(ds[0].OnlyReference) != 0 || len(ds[0].OnlyChecker) != 1 || ds[0].OnlyChecker[0] != "structure-latest-symlink error" {
		t.Fatalf("disagreements: %v", ds)
	}
	pass := func(string) (map[string]bool, error) { return map[string]bool{}, nil }
	ds, err = schemamut.Compare(results, pass)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || !ds[0].Verdict || ds[0].OnlyReference[0] != "schema-is-valid error/2.1.0.yaml" {
		t.Fatalf("a checker passing everything: %v", ds)
	}
}
