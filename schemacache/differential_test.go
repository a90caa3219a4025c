package schemacache

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"encoding/json/jsontext"

	"github.com/valyala/fastjson"

	"intake.dev/intake/fastpath"
)

// differentialSet is every real schema that has example events, compiled twice: the program of
// fastpath and kaptinlin, the reference.
type differentialSet struct {
	uris     []string
	compiled []fastpath.Validator
	kaptin   []fastpath.Validator
	seeds    []differentialSeed
}

type differentialSeed struct {
	schema int
	event  []byte
}

var (
	diffOnce sync.Once
	diffSet  *differentialSet
	diffErr  error
)

func loadDifferentialSet(t testing.TB) *differentialSet {
	diffOnce.Do(func() {
		c, err := New(Config{SchemaBaseURIs: []string{primaryRepo, secondaryRepo}, Logger: quietLogger})
		if err != nil {
			diffErr = err
			return
		}
		s := &differentialSet{}
		files, _ := filepath.Glob(filepath.Join(dataDir, "examples", "*", "*.json"))
		sort.Strings(files)
		for _, f := range files {
			title := strings.ReplaceAll(filepath.Base(filepath.Dir(f)), ".", "/")
			uri := "/" + title + "/" + strings.TrimSuffix(filepath.Base(f), ".json")
			sc, err := c.LoadSchema(uri)
			if err != nil {
				diffErr = err
				return
			}
			kv, err := c.ReferenceValidator(uri)
			if err != nil {
				diffErr = err
				return
			}
			b, err := os.ReadFile(f)
			if err != nil {
				diffErr = err
				return
			}
			var events []json.RawMessage
			if err := json.Unmarshal(b, &events); err != nil {
				diffErr = err
				return
			}
			idx := len(s.uris)
			s.uris = append(s.uris, uri)
			s.compiled = append(s.compiled, sc.Validator())
			s.kaptin = append(s.kaptin, kv)
			for _, e := range events {
				s.seeds = append(s.seeds, differentialSeed{schema: idx, event: e})
			}
		}
		diffSet = s
	})
	if diffErr != nil {
		t.Fatal(diffErr)
	}
	return diffSet
}

// compare validates event with both validators of schema i and fails on a different verdict.
func (s *differentialSet) compare(t *testing.T, i int, event []byte) {
	// Only what reaches validation at the edge: I-JSON (valid UTF-8, no duplicate names; the edge's
	// pre-scan and duplicate-key check refuse the rest with their own errors).
	if !jsontext.Value(event).IsValid() {
		return
	}
	var p fastjson.Parser
	v, err := p.ParseBytes(event)
	if err != nil {
		return
	}
	var ce, ke fastpath.Errors
	got := s.compiled[i].Validate(v, &ce)
	want := s.kaptin[i].Validate(v, &ke)
	if got != want {
		t.Fatalf("%s: compiled says %v (%s), kaptinlin says %v (%s)\nevent: %s",
			s.uris[i], got, ce.Text(), want, ke.Text(), event)
	}
}

// The compiled validator and kaptinlin agree on every real example event.
func TestCompiledAgreesWithKaptinlinOnExamples(t *testing.T) {
	s := loadDifferentialSet(t)
	for _, seed := range s.seeds {
		s.compare(t, seed.schema, seed.event)
	}
}

// FuzzCompiledAgreesWithKaptinlin mutates the real example events and fails on any event the two
// validators judge differently. `make fuzz-validator` runs it; its corpus is kept in testdata/fuzz.
func FuzzCompiledAgreesWithKaptinlin(f *testing.F) {
	s := loadDifferentialSet(f)
	for _, seed := range s.seeds {
		f.Add(uint16(seed.schema), seed.event)
	}
	f.Fuzz(func(t *testing.T, schema uint16, event []byte) {
		s.compare(t, int(schema)%len(s.uris), event)
	})
}

// Every real schema is validated by the compiled program; a schema with a keyword the program does
// not implement falls back to kaptinlin and still gets the right verdicts.
func TestRealSchemasUseTheCompiledValidator(t *testing.T) {
	s := loadDifferentialSet(t)
	for i, v := range s.compiled {
		if _, ok := v.(*fastpath.Program); !ok {
			t.Fatalf("%s is validated by %T, not the compiled program", s.uris[i], v)
		}
	}
	dir := t.TempDir()
	writeFile(t, dir+"/u/1.0.0.json", `{"$schema":"https://json-schema.org/draft/2020-12/schema","title":"u",
		"type":"object","properties":{"a":{"type":"string"}},"unevaluatedProperties":false}`)
	c := newCache(t, Config{SchemaBaseURIs: []string{dir}})
	before := validatorsFallback.Get()
	sc, err := c.LoadSchema("/u/1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sc.Validator().(*validator); !ok || validatorsFallback.Get() != before+1 {
		t.Fatalf("unevaluatedProperties: validated by %T, fallbacks %d -> %d", sc.Validator(), before, validatorsFallback.Get())
	}
	f := func(event string, want bool) {
		t.Helper()
		var errs fastpath.Errors
		if got := sc.Validator().Validate(fastjson.MustParse(event), &errs); got != want {
			t.Fatalf("%s: got %v (%s), want %v", event, got, errs.Text(), want)
		}
	}
	f(`{"a":"x"}`, true)
	f(`{"a":"x","b":1}`, false)
}
