package schemarepo

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"intake.dev/intake/fastpath"
	"intake.dev/intake/schemacache"
)

// Options configure Test and MaterializeRepo.
type Options struct {
	// Config is the repository's configuration; nil reads ConfigPath, or the repository's own
	// .jsonschema-tools.yaml when ConfigPath is "" (defaults when it has none).
	Config *Config
	// ConfigPath is a configuration file to read instead of the repository's.
	ConfigPath string
	// BaseURIMap maps a schema base URI that is a URL (schemaBaseUris) to a local directory,
	// where "$ref"s under it are read. Nothing is fetched from the network.
	BaseURIMap map[string]string
}

// LoadConfig returns the configuration Options select for the repository at dir.
func (o Options) LoadConfig(dir string) (Config, error) {
	if o.Config != nil {
		c := *o.Config
		return c, c.compile()
	}
	if o.ConfigPath != "" {
		return ReadConfig(o.ConfigPath, false)
	}
	return ReadConfig(filepath.Join(dir, ConfigFile), true)
}

// Open loads the repository at dir (its root, where .jsonschema-tools.yaml is) as Options say.
func Open(dir string, o Options) (*Repository, *Resolver, error) {
	cfg, err := o.LoadConfig(dir)
	if err != nil {
		return nil, nil, err
	}
	repo, err := Load(dir, cfg)
	if err != nil {
		return nil, nil, err
	}
	return repo, NewResolver(dir, cfg.SchemaBaseURIs, o.BaseURIMap), nil
}

type tester struct {
	repo    *Repository
	cfg     *Config
	res     *Resolver
	cache   *schemacache.Cache
	results []Result
}

// Test runs jsonschema-tools 1.3.0's repository tests (structure, robustness, compatibility) on
// the repository at dir, with its configuration's skip lists. Each Result is one test as mocha
// counts it in the repository's CI; examples are validated by the edge's validator. The error is
// for what stops the run (configuration, an unreadable directory); failed tests are in the Report.
func Test(dir string, o Options) (*Report, error) {
	repo, res, err := Open(dir, o)
	if err != nil {
		return nil, err
	}
	cache, err := schemacache.New(schemacache.Config{
		SchemaBaseURIs: []string{repo.Base},
		FormatMode:     schemacache.FormatModeFast,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return nil, fmt.Errorf("cannot set up the validator: %w", err)
	}
	defer cache.Close()
	t := &tester{repo: repo, cfg: &repo.Config, res: res, cache: cache}
	for _, b := range repo.Broken {
		// jsonschema-tools cannot even declare its tests then (it stops on the first such file);
		// these failures are the run, as mocha's it.only tests are.
		t.results = append(t.results, Result{Suite: SuiteStructure, Case: "schema-file-readable", Test: "schema file must be readable", File: b.File, Status: Fail, Problems: []Problem{b}, only: true})
	}
	for _, title := range repo.Titles {
		t.structure(title, repo.ByTitle[title])
	}
	// Robustness tests are independent per file (the validator's compilation is the cost): run
	// them on every core, report them in order.
	var files []*File
	for _, title := range repo.Titles {
		files = append(files, repo.ByTitle[title]...)
	}
	perFile := make([][]Result, len(files))
	parallel(len(files), func(i int) { perFile[i] = t.robustness(files[i]) })
	for _, rs := range perFile {
		t.results = append(t.results, rs...)
	}
	for _, title := range repo.Titles {
		t.compatibility(title, repo.ByTitle[title])
	}
	rep := &Report{Dir: dir, Results: t.results}
	only := false
	for _, r := range rep.Results {
		only = only || r.only
	}
	if only {
		// mocha's it.only: the run is those tests alone.
		var kept []Result
		for _, r := range rep.Results {
			if r.only {
				kept = append(kept, r)
			}
		}
		rep.Results = kept
	}
	rep.count()
	return rep, nil
}

// parallel runs fn(0..n-1) on GOMAXPROCS goroutines.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

func (t *tester) robustness(f *File) []Result {
	var out []Result
	test := f.Version + "." + f.ContentType
	if f.Current {
		test = "current." + f.ContentType
	}
	for _, c := range robustnessCases {
		if c.declared != nil && !c.declared(f, t.cfg) {
			continue
		}
		r := Result{Suite: SuiteRobustness, Case: c.name, Test: test + " " + c.description, Title: f.Title, Schema: f.ID, File: f.Rel, Status: Pass}
		r.FullTitle = fmt.Sprintf("Schema Robustness in Repository %s %s %s", t.cfg.SchemaBasePath, f.Title, r.Test)
		if t.cfg.skipped(f.ID, c.name) {
			r.Status = Skip
		} else if p := c.check(t, f); len(p) > 0 {
			for i := range p {
				p[i].File = f.Rel
			}
			r.Status, r.Problems = Fail, p
		}
		out = append(out, r)
	}
	return out
}

func (t *tester) compatibility(title string, files []*File) {
	byMajor := map[uint64][]*File{}
	var majors []uint64
	for _, f := range files {
		if f.Current || f.ContentType != t.cfg.mainType() {
			continue
		}
		m := major(f.Version)
		if _, ok := byMajor[m]; !ok {
			majors = append(majors, m)
		}
		byMajor[m] = append(byMajor[m], f)
	}
	sortUint64(majors)
	for _, m := range majors {
		list := byMajor[m]
		for i := 0; i+1 < len(list); i++ {
			oldF, newF := list[i], list[i+1]
			r := Result{Suite: SuiteCompatibility, Case: CaseCompatibility,
				Test:  fmt.Sprintf("%s must be compatible with %s", newF.Version, oldF.Version),
				Title: title, Schema: newF.ID, File: newF.Rel, Status: Pass}
			r.FullTitle = fmt.Sprintf("Schema Compatibility in Repository %s %s Major Version %d %s", t.cfg.SchemaBasePath, title, m, r.Test)
			if t.cfg.skipped(newF.ID, CaseCompatibility) {
				r.Status = Skip
			} else if p := jsonschemaToolsCompatible(newF.Doc, oldF.Doc, ""); len(p) > 0 {
				for i := range p {
					p[i].File = newF.Rel
					p[i].Message += " since " + oldF.Version
				}
				r.Status, r.Problems = Fail, p
			}
			t.results = append(t.results, r)
		}
	}
}

func sortUint64(a []uint64) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// compile compiles a file's schema with the edge's validator.
func (t *tester) compile(f *File) (fastpath.Validator, error) {
	return t.cache.CompileDocument(schemaURIOf(f), jsonBytes(f.Doc))
}

// schemaURIOf names a file for the validator: its path under the base, without extension.
func schemaURIOf(f *File) string {
	return "/" + strings.TrimSuffix(f.Rel, "."+f.ContentType)
}

var _ = strconv.Itoa
