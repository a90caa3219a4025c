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
	// Integers beyond 2^53 are within a limit when they are exactly or as the doubles Ajv 6 reads
	// (this case said false before: see TestNumbersInBothReadings).
	f(`{"maximum":9007199254740992}`, `9007199254740993`, true)
	f(`{"maximum":9007199254740992}`, `9007199254740994`, false)
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

// intake refused events EventGate accepted: Ajv 6 reads every number as the double JSON.parse
// makes of it, so 100000000000000001 passed "maximum": 100000000000000000 there (it is 1e17),
// while intake compared exactly and refused it. An event is now valid when its numbers meet the
// schema either as Ajv reads them or exactly (see Program), and a refused one is reported in
// Ajv's words. Each line: the schema, the event, Ajv 6's verdict (recorded with ajv 6.15.0 as
// EventGate configures it: useDefaults, allErrors, schemaId auto), intake's verdict, and Ajv's
// message when both refuse. intake may accept what Ajv refuses (the number's exact value meets
// the schema: what the Kafka bytes say), never the reverse.
func TestNumbersInBothReadings(t *testing.T) {
	f := func(schema, event string, ajv, want bool, msg string) {
		t.Helper()
		if ajv && !want {
			t.Fatalf("%s on %s: intake may not refuse what Ajv accepts", schema, event)
		}
		p := compileForTest(t, schema, CompileOptions{})
		var errs Errors
		ok := p.Validate(fastjson.MustParse(event), &errs)
		if ok != want {
			t.Errorf("%s on %s: valid=%v, want %v: %s", schema, event, ok, want, errs.Text())
			return
		}
		if !ok && (errs.Len() != 1 || errs.List[0].Message != msg) {
			t.Errorf("%s on %s: %s, want Ajv's one error %q", schema, event, errs.Text(), msg)
		}
	}
	// maximum, minimum: the doubles Ajv compares keep the numbers' order, so the exact reading
	// adds nothing; 1e17 + 8 is 1e17 as a double, 1e17 + 9 is 1e17 + 16.
	f(`{"maximum":100000000000000000}`, `100000000000000001`, true, true, "")
	f(`{"maximum":100000000000000000}`, `100000000000000008`, true, true, "")
	f(`{"maximum":100000000000000000}`, `100000000000000009`, false, false, "should be <= 100000000000000000")
	f(`{"maximum":9007199254740992}`, `9007199254740993`, true, true, "")
	f(`{"maximum":9007199254740991}`, `9007199254740992`, false, false, "should be <= 9007199254740991")
	f(`{"maximum":9007199254740991}`, `9007199254740991.4`, true, true, "")
	f(`{"maximum":18446744073709552000}`, `18446744073709551615`, true, true, "")
	f(`{"maximum":18446744073709552000}`, `18446744073709552001`, true, true, "")
	f(`{"maximum":18446744073709552000}`, `18446744073709555000`, false, false, "should be <= 18446744073709552000")
	f(`{"maximum":99999999999999999}`, `100000000000000000`, true, true, "") // the limit is read too
	f(`{"minimum":-9007199254740991}`, `-9007199254740992`, false, false, "should be >= -9007199254740991")
	f(`{"minimum":100000000000000000}`, `99999999999999999`, true, true, "")
	f(`{"minimum":0}`, `-1e-400`, true, true, "") // JavaScript reads 0
	// exclusiveMaximum, exclusiveMinimum: a number that rounds onto the limit is outside it for
	// Ajv, inside it exactly.
	f(`{"exclusiveMaximum":100000000000000000}`, `99999999999999999`, false, true, "")
	f(`{"exclusiveMaximum":9007199254740992}`, `9007199254740993`, false, false, "should be < 9007199254740992")
	f(`{"exclusiveMinimum":9007199254740992}`, `9007199254740993`, false, true, "")
	f(`{"exclusiveMinimum":0}`, `1e-400`, false, true, "")
	f(`{"$schema":"http://json-schema.org/draft-04/schema#","maximum":100000000000000000,"exclusiveMaximum":true}`, `99999999999999999`, false, true, "")
	// A limit written with more digits than a double keeps tells apart even a short number.
	f(`{"exclusiveMaximum":0.1000000000000000055511151231257827}`, `0.1`, false, true, "")
	// multipleOf: Ajv divides the doubles and calls the quotient whole by parseInt, so a quotient
	// rounded to a whole number is one (1e17/3), and one of 1e21 or more never is.
	f(`{"multipleOf":2}`, `100000000000000001`, true, true, "")
	f(`{"multipleOf":3}`, `100000000000000000`, true, true, "")
	f(`{"multipleOf":3}`, `9007199254740993`, false, true, "")
	f(`{"multipleOf":1}`, `1.0000000000000001`, true, true, "")
	f(`{"multipleOf":1}`, `1e21`, false, true, "")
	f(`{"multipleOf":0.5}`, `1e308`, false, true, "")
	f(`{"multipleOf":0.123456789}`, `1e308`, false, false, "should be multiple of 0.123456789")
	f(`{"multipleOf":0.1}`, `0.3`, false, true, "") // 0.3/0.1 is 2.9999999999999996
	f(`{"multipleOf":0.01}`, `4.35`, false, true, "")
	// type integer: Ajv's !(x % 1) on the double.
	f(`{"type":"integer"}`, `1.0`, true, true, "")
	f(`{"type":"integer"}`, `9007199254740993`, true, true, "")
	f(`{"type":"integer"}`, `9007199254740992.5`, true, true, "")
	f(`{"type":"integer"}`, `1e-400`, true, true, "")
	f(`{"type":"integer"}`, `1.5`, false, false, "should be integer")
	// Each reading is one whole reading of the event: under not, the exact one may pass.
	f(`{"not":{"type":"integer"}}`, `9007199254740992.5`, false, true, "")
	f(`{"not":{"maximum":100000000000000000}}`, `100000000000000001`, false, true, "")
	f(`{"properties":{"a":{"exclusiveMinimum":9007199254740992},"b":{"maximum":100000000000000000}}}`, `{"a":9007199254740993,"b":100000000000000001}`, false, false, "should be > 9007199254740992")
	// const, enum: equal as doubles, at any depth.
	f(`{"const":9007199254740993}`, `9007199254740992`, true, true, "")
	f(`{"const":9007199254740993}`, `9007199254740994`, false, false, "should be equal to constant")
	f(`{"not":{"const":0.1000000000000000055511151231257827}}`, `0.1`, false, true, "")
	f(`{"enum":[100000000000000000,"x"]}`, `100000000000000001`, true, true, "")
	f(`{"enum":[{"id":[18446744073709552000]}]}`, `{"id":[18446744073709551615]}`, true, true, "")
	// uniqueItems: items that are one double are duplicates for Ajv, not exactly; Ajv names its
	// pair.
	f(`{"uniqueItems":true}`, `[9007199254740993,9007199254740992]`, false, true, "")
	f(`{"uniqueItems":true}`, `[{"a":9007199254740993},{"a":9007199254740992}]`, false, true, "")
	f(`{"uniqueItems":true}`, `[9007199254740993,9007199254740992,9007199254740993]`, false, false, "should NOT have duplicate items (items ## 1 and 2 are identical)")
	f(`{"uniqueItems":true,"items":{"type":"integer"}}`, `[9007199254740993,9007199254740992,9007199254740993]`, false, false, "should NOT have duplicate items (items ## 2 and 1 are identical)")
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
