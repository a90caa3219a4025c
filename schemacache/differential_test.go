package schemacache

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
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

// differentialSet is every real schema that has example events, and test/numbers (numbersBase),
// compiled twice: the program of fastpath and kaptinlin, the reference.
type differentialSet struct {
	uris     []string
	compiled []fastpath.Validator
	kaptin   []fastpath.Validator
	docs     []*fastjson.Value // the schemas, for the documented difference (ajvOnlyMultiple)
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
		c, err := New(Config{SchemaBaseURIs: []string{primaryRepo, secondaryRepo, numbersBase}, Logger: quietLogger})
		if err != nil {
			diffErr = err
			return
		}
		s := &differentialSet{}
		add := func(uri string, events []json.RawMessage) error {
			sc, err := c.LoadSchema(uri)
			if err != nil {
				return err
			}
			kv, err := c.ReferenceValidator(uri)
			if err != nil {
				return err
			}
			doc, err := fastjson.ParseBytes(sc.Doc)
			if err != nil {
				return err
			}
			idx := len(s.uris)
			s.uris = append(s.uris, uri)
			s.compiled = append(s.compiled, sc.Validator())
			s.kaptin = append(s.kaptin, kv)
			s.docs = append(s.docs, doc)
			for _, e := range events {
				s.seeds = append(s.seeds, differentialSeed{schema: idx, event: e})
			}
			return nil
		}
		files, _ := filepath.Glob(filepath.Join(dataDir, "examples", "*", "*.json"))
		sort.Strings(files)
		for _, f := range files {
			title := strings.ReplaceAll(filepath.Base(filepath.Dir(f)), ".", "/")
			uri := "/" + title + "/" + strings.TrimSuffix(filepath.Base(f), ".json")
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
			// Real events with numbers beyond 2^53 where the real schemas bound them.
			for _, n := range bigNumberSeeds[uri] {
				e := bytes.Replace(events[0], []byte(n.old), []byte(n.new), 1)
				if bytes.Equal(e, events[0]) {
					diffErr = fmt.Errorf("%s: no %s in the first example event", uri, n.old)
					return
				}
				events = append(events, e)
			}
			if diffErr = add(uri, events); diffErr != nil {
				return
			}
		}
		// Appended after the real schemas: the corpus names schemas by index.
		var events []json.RawMessage
		for _, e := range numberSeeds {
			events = append(events, json.RawMessage(e))
		}
		if diffErr = add("/test/numbers/1.0.0", events); diffErr != nil {
			return
		}
		diffSet = s
	})
	if diffErr != nil {
		t.Fatal(diffErr)
	}
	return diffSet
}

// bigNumberSeeds are real example events (the first of their schema) with one number replaced.
var bigNumberSeeds = map[string][]struct{ old, new string }{
	"/analytics/legacy/codemirrorusage/1.0.0": {
		{"20210223205005000", "100000000000000001"}, // "maximum": 1e17: refused before
		{"20210223205005000", "100000000000000009"},
		{"20210223205005000", "9007199254740993.5"},
	},
	"/analytics/legacy/twocolconflictexit/1.1.0": {{"20210101003013000", "100000000000000008"}},
	"/development/webrequest/1.0.0": {
		{`"sequence": 123`, `"sequence": 18446744073709552001`}, // "maximum": 2^64: refused before
		{`"sequence": 123`, `"sequence": 18446744073709555000`},
		{`"response_size": 12345`, `"response_size": 9007199254740993`},
		{`"response_size": 12345`, `"response_size": 9007199254740991.4`},
	},
}

// numberSeeds are events of test/numbers: each keyword on numbers the two readings tell apart.
var numberSeeds = []string{
	`{"max":100000000000000001}`,
	`{"max":100000000000000009}`,
	`{"big":18446744073709552001}`,
	`{"min":-9007199254740992}`,
	`{"xmax":99999999999999999}`,
	`{"xmin":9007199254740993}`,
	`{"xmin":9007199254740992}`,
	`{"mult":100000000000000002}`,
	`{"mult":9007199254740993}`,
	`{"mult":100000000000000000}`, // the documented difference (ajvOnlyMultiple)
	`{"dec":0.0075}`,
	`{"int":9007199254740992.5}`,
	`{"int":1e-400}`,
	`{"notint":9007199254740992.5}`,
	`{"notmax":100000000000000001}`,
	`{"c":9007199254740992}`,
	`{"e":100000000000000001}`,
	`{"e":{"id":[18446744073709551615]}}`,
	`{"u":[9007199254740993,9007199254740992]}`,
	`{"u":[{"a":9007199254740993},{"a":9007199254740992}]}`,
	`{"ui":[1,9007199254740993,9007199254740992,9007199254740993]}`,
	`{"max":100000000000000001,"xmin":9007199254740993,"u":[1,1.0]}`,
}

// compare validates event with both validators of schema i and fails on a different verdict.
func (s *differentialSet) compare(t *testing.T, i int, event []byte) {
	// Only what reaches validation at the edge: I-JSON (valid UTF-8, no duplicate names; the edge's
	// pre-scan and duplicate-key check refuse the rest with their own errors), with every number
	// within a double (the pre-scan refuses 1e400).
	if !jsontext.Value(event).IsValid() || fastpath.CheckJSON(event, fastpath.JSONLimits{}) != "" {
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
	if got != want && !(got && s.ajvOnlyMultiple(i, v, &ke)) {
		t.Fatalf("%s: compiled says %v (%s), kaptinlin says %v (%s)\nevent: %s",
			s.uris[i], got, ce.Text(), want, ke.Text(), event)
	}
}

// ajvOnlyMultiple reports whether the fallback refused v only for multipleOf errors that Ajv 6's
// floating-point division accepts, the one documented difference between the two (see
// validator): kaptinlin divides exactly, and 1e17 is a multiple of 3 for Ajv and the program.
func (s *differentialSet) ajvOnlyMultiple(i int, v *fastjson.Value, errs *fastpath.Errors) bool {
	for _, e := range errs.List {
		if e.Keyword != "multipleOf" || !strings.HasPrefix(e.SchemaPath, "#/") {
			return false
		}
		m := pointerGet(s.docs[i], strings.TrimPrefix(e.SchemaPath, "#"))
		x := pointerGet(v, e.InstancePath)
		if m == nil || x == nil || x.Type() != fastjson.TypeNumber {
			return false
		}
		q := x.GetFloat64() / m.GetFloat64()
		if q != math.Trunc(q) || math.Abs(q) >= 1e21 {
			return false
		}
	}
	return len(errs.List) > 0
}

// pointerGet follows a JSON pointer ("/properties/a").
func pointerGet(v *fastjson.Value, ptr string) *fastjson.Value {
	if ptr == "" {
		return v
	}
	var keys []string
	for _, tok := range strings.Split(ptr[1:], "/") {
		keys = append(keys, strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~"))
	}
	return v.Get(keys...)
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
