package fastpath

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

// fastjsonValue and fastjsonObject mirror fastjson's layout; a fastjson upgrade that changes it
// must fail here, not corrupt memory.
func TestFastjsonMirror(t *testing.T) {
	v := fastjson.MustParse(`{"a\u0062":12.50,"c":"x"}`)
	kvs := objectMembers(v.GetObject())
	if len(kvs) != 2 || kvs[0].k != "ab" || kvs[1].k != "c" || rawNumber(kvs[0].v) != "12.50" {
		t.Fatalf("mirror reads %+v", kvs)
	}
	var s fastjson.Value
	setStringValue(&s, "key")
	if s.Type() != fastjson.TypeString || string(s.GetStringBytes()) != "key" {
		t.Fatalf("mirror writes a %s %q", s.Type(), s.GetStringBytes())
	}
}

func TestCompiledKeywords(t *testing.T) {
	f := func(schema, event string, valid bool) {
		t.Helper()
		p := compileForTest(t, schema, CompileOptions{})
		if ok, text, _ := validateText(t, p, event); ok != valid {
			t.Errorf("%s on %s: valid=%v %s", schema, event, ok, text)
		}
	}
	// multipleOf is exact for decimals (Ajv 6's float division says 0.0075/0.0001 is not whole).
	f(`{"multipleOf":0.0001}`, `0.0075`, true)
	f(`{"multipleOf":0.0001}`, `0.00751`, false)
	f(`{"multipleOf":0.5}`, `1e308`, true)
	f(`{"multipleOf":3}`, `9007199254740993`, true)
	// Integers beyond 2^53 compare exactly.
	f(`{"maximum":9007199254740992}`, `9007199254740993`, false)
	f(`{"maximum":18446744073709552000}`, `18446744073709551615`, true)
	// Numbers are the nearest double, as JavaScript reads them: fastjson's Float64 made 68.659e12
	// 68659000000000.01, refused by all three.
	f(`{"maximum":68659000000000}`, `68.659e12`, true)
	f(`{"type":"integer"}`, `68.659e12`, true)
	f(`{"const":68659000000000}`, `68.659e12`, true)
	f(`{"type":"integer"}`, `1.0`, true)
	f(`{"uniqueItems":true}`, `[{"a":1,"b":2},{"b":2,"a":1.0}]`, false)
	f(`{"enum":[{"a":[1]}]}`, `{"a":[1.0]}`, true)
	f(`{"maxLength":2}`, `"é😀"`, true)
	// Draft-04's boolean exclusiveMaximum.
	f(`{"$schema":"http://json-schema.org/draft-04/schema#","maximum":3,"exclusiveMaximum":true}`, `3`, false)
	// Recursive schemas through local refs.
	tree := `{"definitions":{"node":{"type":"object","properties":{"v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#/definitions/node"}}}}},"$ref":"#/definitions/node"}`
	f(tree, `{"v":1,"kids":[{"v":2,"kids":[{"v":3}]}]}`, true)
	f(tree, `{"v":1,"kids":[{"v":2,"kids":[{"v":"x"}]}]}`, false)
	f(`{"$ref":"#"}`, `1`, false) // a ref cycle that never descends ends at the depth limit
	// Misspelled keywords are ignored.
	f(`{"mexLength":1,"maxiumum":1}`, `"long string"`, true)
}

func TestCompileRefsAcrossDocuments(t *testing.T) {
	docs := map[string]string{
		"/fragment/common/1.0.0": `{"$id":"/fragment/common/1.0.0","definitions":{"dt":{"type":"string","format":"date-time"}}}`,
	}
	resolve := func(uri string) ([]byte, error) {
		if d, ok := docs[uri]; ok {
			return []byte(d), nil
		}
		return nil, fmt.Errorf("no %s", uri)
	}
	p, err := Compile([]byte(`{"properties":{"dt":{"$ref":"/fragment/common/1.0.0#/definitions/dt"}}}`),
		CompileOptions{BaseURI: "/test/event/1.0.0", Resolve: resolve})
	if err != nil {
		t.Fatal(err)
	}
	ok, text, js := validateText(t, p, `{"dt":"x"}`)
	if ok || text != `'.dt' should match format "date-time"` || !strings.Contains(js, `"schemaPath":"/fragment/common/1.0.0#/definitions/dt/format"`) {
		t.Fatalf("got %v %s %s", ok, text, js)
	}
	if _, err := Compile([]byte(`{"$ref":"/nowhere/1.0.0"}`), CompileOptions{Resolve: resolve}); err == nil {
		t.Fatal("a $ref to a missing document compiled")
	}
	if _, err := Compile([]byte(`{"pattern":"^(?!x)"}`), CompileOptions{}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("lookahead: %v, want ErrUnsupported", err)
	}
}

// The report stops at MaxErrors; the verdict does not depend on it.
func TestCompiledMaxErrors(t *testing.T) {
	p := compileForTest(t, `{"additionalProperties":false}`, CompileOptions{MaxErrors: 2})
	ok, text, _ := validateText(t, p, `{"a":1,"b":2,"c":3}`)
	if ok || strings.Count(text, "additional") != 2 {
		t.Fatalf("got %v %q", ok, text)
	}
}

// Errors added before Validate (the contract's own) keep their place; the program's follow.
func TestCompiledErrorsAppend(t *testing.T) {
	p := compileForTest(t, kitchenSink, CompileOptions{})
	var errs Errors
	errs.Add("stream", "", "#/stream", "", "earlier")
	v := fastjson.MustParse(`{"id":1,"x":2}`)
	p.Validate(v, &errs)
	if errs.Len() != 3 || errs.List[0].Message != "earlier" || errs.List[2].Params != `{"additionalProperty":"x"}` {
		t.Fatalf("got %s", errs.AppendJSON(nil))
	}
}

// One Program validates from many goroutines; run with -race.
func TestCompiledValidateConcurrently(t *testing.T) {
	p := compileForTest(t, kitchenSink, CompileOptions{})
	events := []string{
		`{"dt":"2020-01-01T00:00:00Z","id":1,"names":{"a":1}}`,
		`{"dt":"x","id":"y","arr":["a","a"],"names":{"A":1},"extra":true}`,
	}
	done := make(chan struct{})
	for g := 0; g < 8; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			var fp fastjson.Parser
			var errs Errors
			for i := 0; i < 200; i++ {
				v, _ := fp.Parse(events[i%2])
				errs.reset()
				if ok := p.Validate(v, &errs); ok != (i%2 == 0) || (i%2 == 1 && errs.Len() != 6) {
					t.Errorf("event %d: valid=%v %s", i%2, ok, errs.Text())
					return
				}
			}
		}()
	}
	for g := 0; g < 8; g++ {
		<-done
	}
}

// kitchenSink uses most keywords the real schemas use; schemacache's error tests word every error
// of it through both the compiled program and the reference validator.
var kitchenSink = readTestdata("testdata/kitchensink.json")

func compileForTest(t testing.TB, doc string, opts CompileOptions) *Program {
	t.Helper()
	p, err := Compile([]byte(doc), opts)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return p
}

// validateText validates event and returns the verdict, errorsText and the errors' JSON.
func validateText(t testing.TB, p *Program, event string) (bool, string, string) {
	t.Helper()
	var fp fastjson.Parser
	v, err := fp.Parse(event)
	if err != nil {
		t.Fatalf("bad test event %s: %v", event, err)
	}
	var errs Errors
	ok := p.Validate(v, &errs)
	if ok != (errs.Len() == 0) {
		t.Fatalf("Validate returned %v with %d errors", ok, errs.Len())
	}
	return ok, errs.Text(), string(errs.AppendJSON(nil))
}

// readTestdata returns a file of testdata/ (or a path relative to the package), or panics.
func readTestdata(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return string(b)
}
