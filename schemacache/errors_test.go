package schemacache

import (
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fastjson"

	"intake.dev/intake/fastpath"
)

// validate runs an event through the schema at uri and returns its errors as EventGate's
// errorsText and as Ajv's JSON.
func validate(t *testing.T, c *Cache, uri, event string) (bool, string, string) {
	t.Helper()
	s, err := c.LoadSchema(uri)
	if err != nil {
		t.Fatalf("LoadSchema(%q): %v", uri, err)
	}
	ok, text, js := validateWith(t, s.Validator(), event)
	if _, compiled := s.Validator().(*fastpath.Program); compiled {
		// The reference validator (the fallback) must word every error the same way.
		ref, err := c.res.parse(uri)
		if err != nil {
			t.Fatal(err)
		}
		kv, err := c.fallbackValidator(ref, s.Doc)
		if err != nil {
			t.Fatal(err)
		}
		if kok, ktext, kjs := validateWith(t, kv, event); kok != ok || ktext != text || kjs != js {
			t.Errorf("%s: the compiled and the reference validator differ:\n compiled  %v %s\n reference %v %s", event, ok, js, kok, kjs)
		}
	}
	return ok, text, js
}

func validateWith(t *testing.T, vd fastpath.Validator, event string) (bool, string, string) {
	t.Helper()
	var p fastjson.Parser
	v, err := p.Parse(event)
	if err != nil {
		t.Fatalf("bad test event %s: %v", event, err)
	}
	var errs fastpath.Errors
	ok := vd.Validate(v, &errs)
	if ok != (errs.Len() == 0) {
		t.Fatalf("Validate returned %v with %d errors", ok, errs.Len())
	}
	return ok, errs.Text(), string(errs.AppendJSON(nil))
}

// EventGate's own spec: an invalid event's errorsText.
func TestEventGateErrorsText(t *testing.T) {
	c := egCache(t)
	ok, text, js := validate(t, c, "/test/0.0.1", `{"$schema":"/test/0.0.1","meta":{"stream":"test.event","id":"5e1dd101-641c-11e8-ab6c-b083fecf1287"},"test":0.01}`)
	if ok || text != "'.test' should be string" {
		t.Fatalf("got %v %q", ok, text)
	}
	want := `[{"keyword":"type","instancePath":"/test","dataPath":".test","schemaPath":"#/properties/test/type","params":{"type":"string"},"message":"should be string"}]`
	if js != want {
		t.Fatalf("JSON:\n got %s\nwant %s", js, want)
	}
}

// kitchenSink, the schema of the hand-made cases (one property per keyword), is fastpath's test
// schema: one file for both packages.
var kitchenSink = func() string {
	b, err := os.ReadFile("../fastpath/testdata/kitchensink.json")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

func TestAjvErrors(t *testing.T) {
	c := sinkCache(t)
	f := func(event, wantText string) {
		t.Helper()
		ok, text, js := validate(t, c, "/sink/1.0.0", event)
		if wantText == "" {
			if !ok {
				t.Errorf("%s: want valid, got %s", event, text)
			}
			return
		}
		if ok || text != wantText {
			t.Errorf("%s:\n got %q\nwant %q\n%s", event, text, wantText, js)
		}
	}
	const base = `"dt":"2020-01-01T00:00:00Z","id":1`
	f(`{`+base+`}`, "")
	f(`{`+base+`,"odd key":"x","uri":"/a/b#c","day":"2020-01-01","e":1}`, "")
	f(`{"id":1}`, "'' should have required property 'dt'")
	f(`{}`, "'' should have required property 'dt', '' should have required property 'id'")
	f(`{`+base+`,"x":1,"y":2}`, "'' should NOT have additional properties, '' should NOT have additional properties")
	f(`{"dt":"2020-01-01T00:00:00Z","id":"1"}`, "'.id' should be integer,null")
	f(`{"dt":"2020-01-01T00:00:00Z","id":-1}`, "'.id' should be >= 0")
	f(`{"dt":"2020-01-01T00:00:00Z","id":11}`, "'.id' should be <= 10")
	f(`{"dt":"yesterday","id":1}`, `'.dt' should match format "date-time"`)
	f(`{`+base+`,"s":""}`, "'.s' should NOT be shorter than 1 characters, '.s' should match pattern \"^[a-z]+$\"")
	f(`{`+base+`,"s":"abcd"}`, "'.s' should NOT be longer than 3 characters")
	f(`{`+base+`,"s":"AB"}`, `'.s' should match pattern "^[a-z]+$"`)
	f(`{`+base+`,"e":"c"}`, "'.e' should be equal to one of the allowed values")
	f(`{`+base+`,"c":"y"}`, "'.c' should be equal to constant")
	f(`{`+base+`,"m":3}`, "'.m' should be multiple of 2")
	f(`{`+base+`,"m":100}`, "'.m' should be < 100")
	f(`{`+base+`,"arr":[]}`, "'.arr' should NOT have fewer than 1 items")
	f(`{`+base+`,"arr":["a","b","c","d"]}`, "'.arr' should NOT have more than 3 items")
	f(`{`+base+`,"arr":["a","a"]}`, "'.arr' should NOT have duplicate items (items ## 1 and 0 are identical)")
	f(`{`+base+`,"objs":[{"a":1},{"a":1.0}]}`, "'.objs' should NOT have duplicate items (items ## 0 and 1 are identical)")
	f(`{`+base+`,"arr":["a",1]}`, "'.arr[1]' should be string")
	f(`{`+base+`,"nested":{}}`, "'.nested' should have required property 'x'")
	f(`{`+base+`,"nested":{"x":"no"}}`, "'.nested.x' should be boolean")
	f(`{`+base+`,"map":{"k":1}}`, "'.map.k' should be string")
	f(`{`+base+`,"names":{"A":1}}`, `'.names' should match pattern "^[a-z]+$", '.names' property name 'A' is invalid`)
	f(`{`+base+`,"names":{"a":1,"b":2,"c":3}}`, "'.names' should NOT have more than 2 properties")
	f(`{`+base+`,"uri":"a b"}`, `'.uri' should match format "uri-reference"`)
	f(`{`+base+`,"day":"2020-1-1"}`, `'.day' should match format "date"`)
	f(`{`+base+`,"odd key":1}`, `'['odd key']' should be string`)
	// Ajv 6's fast date-time checks the shape only, as EventGate does.
	f(`{"dt":"2019-02-30T29:59:59Z","id":1}`, "")
	f(`{"dt":"2019-02-30 23:59:59+0100","id":1}`, "")
	f(`{"dt":"2019-01-01T00:61:00Z","id":1}`, `'.dt' should match format "date-time"`)
	f(`{"dt":"2019-01-01T00:00:00","id":1}`, `'.dt' should match format "date-time"`)
}

// FormatMode "full" keeps kaptinlin's strict formats.
func TestFormatModes(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/sink/1.0.0.json", kitchenSink)
	f := func(mode, event string, valid bool) {
		t.Helper()
		c := newCache(t, Config{SchemaBaseURIs: []string{dir}, StreamConfig: egStreamConfig, FormatMode: mode})
		if ok, text, _ := validate(t, c, "/sink/1.0.0", event); ok != valid {
			t.Errorf("%s %s: valid=%v %s", mode, event, ok, text)
		}
	}
	f("fast", `{"dt":"2019-02-30T29:59:59Z","id":1}`, true)
	f("full", `{"dt":"2019-02-30T29:59:59Z","id":1}`, false)
	f("fast", `{"dt":"2019-01-01T00:00:00Z","id":1,"day":"2019-19-39"}`, true)
	f("full", `{"dt":"2019-01-01T00:00:00Z","id":1,"day":"2019-19-39"}`, false)
	f("full", `{"dt":"2019-01-01T00:00:00Z","id":1,"day":"2019-12-31"}`, true)
}

// One compiled schema validates from many goroutines; run with -race.
func TestValidateConcurrently(t *testing.T) {
	c := sinkCache(t)
	s, err := c.LoadSchema("/sink/1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	events := []string{
		`{"dt":"2020-01-01T00:00:00Z","id":1}`,
		`{"dt":"x","id":"y","arr":["a","a"],"names":{"A":1},"extra":true}`,
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var p fastjson.Parser
			var errs fastpath.Errors
			for i := 0; i < 200; i++ {
				v, _ := p.Parse(events[i%2])
				errs.List = errs.List[:0]
				ok := s.Validator().Validate(v, &errs)
				if ok != (i%2 == 0) || (i%2 == 1 && errs.Len() != 6) {
					t.Errorf("event %d: valid=%v %s", i%2, ok, errs.Text())
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestAjvErrorJSON(t *testing.T) {
	c := sinkCache(t)
	f := func(event, want string) {
		t.Helper()
		_, _, js := validate(t, c, "/sink/1.0.0", event)
		if js != want {
			t.Errorf("%s:\n got %s\nwant %s", event, js, want)
		}
	}
	f(`{"id":1}`, `[{"keyword":"required","instancePath":"","dataPath":"","schemaPath":"#/required","params":{"missingProperty":"dt"},"message":"should have required property 'dt'"}]`)
	f(`{"dt":"x","id":1,"$schema":1}`, `[{"keyword":"type","instancePath":"/$schema","dataPath":".$schema","schemaPath":"#/properties/%24schema/type","params":{"type":"string"},"message":"should be string"},{"keyword":"format","instancePath":"/dt","dataPath":".dt","schemaPath":"#/properties/dt/format","params":{"format":"date-time"},"message":"should match format \"date-time\""}]`)
	f(`{"dt":"2020-01-01T00:00:00Z","id":1,"x":1}`, `[{"keyword":"additionalProperties","instancePath":"","dataPath":"","schemaPath":"#/additionalProperties","params":{"additionalProperty":"x"},"message":"should NOT have additional properties"}]`)
	f(`{"dt":"2020-01-01T00:00:00Z","id":11}`, `[{"keyword":"maximum","instancePath":"/id","dataPath":".id","schemaPath":"#/properties/id/maximum","params":{"comparison":"<=","limit":10,"exclusive":false},"message":"should be <= 10"}]`)
	f(`{"dt":"2020-01-01T00:00:00Z","id":1,"e":"z"}`, `[{"keyword":"enum","instancePath":"/e","dataPath":".e","schemaPath":"#/properties/e/enum","params":{"allowedValues":["a","b",1]},"message":"should be equal to one of the allowed values"}]`)
	f(`{"dt":"2020-01-01T00:00:00Z","id":1,"arr":["a","a"]}`, `[{"keyword":"uniqueItems","instancePath":"/arr","dataPath":".arr","schemaPath":"#/properties/arr/uniqueItems","params":{"i":0,"j":1},"message":"should NOT have duplicate items (items ## 1 and 0 are identical)"}]`)
	f(`{"dt":"2020-01-01T00:00:00Z","id":1,"s":""}`, `[{"keyword":"minLength","instancePath":"/s","dataPath":".s","schemaPath":"#/properties/s/minLength","params":{"limit":1},"message":"should NOT be shorter than 1 characters"},{"keyword":"pattern","instancePath":"/s","dataPath":".s","schemaPath":"#/properties/s/pattern","params":{"pattern":"^[a-z]+$"},"message":"should match pattern \"^[a-z]+$\""}]`)
}

func sinkCache(t *testing.T) *Cache {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir+"/sink/1.0.0.json", kitchenSink)
	return newCache(t, Config{SchemaBaseURIs: []string{dir}, StreamConfig: egStreamConfig})
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := mkdirWrite(path, content); err != nil {
		t.Fatal(err)
	}
}

// Keywords the real schemas do not use, worded as Ajv 6 words them.
func TestAjvErrorsApplicators(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/app/1.0.0.json", `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "app",
  "definitions": {"pos": {"type": "integer", "minimum": 1}},
  "type": "object",
  "dependencies": {"a": ["b"]},
  "properties": {
    "n": {"$ref": "#/definitions/pos"},
    "any": {"anyOf": [{"type": "string"}, {"type": "boolean"}]},
    "one": {"oneOf": [{"type": "integer"}, {"minimum": 0}]},
    "not": {"not": {"type": "string"}},
    "cond": {"if": {"type": "string"}, "then": {"minLength": 2}, "else": {"type": "integer"}},
    "t": {"type": "array", "items": [{"type": "string"}], "additionalItems": false},
    "all": {"allOf": [{"type": "string"}, {"maxLength": 1}]}
  }
}`)
	c := newCache(t, Config{SchemaBaseURIs: []string{dir}, StreamConfig: egStreamConfig})
	f := func(event, wantText string) {
		t.Helper()
		ok, text, js := validate(t, c, "/app/1.0.0", event)
		if ok != (wantText == "") || text != wantText {
			t.Errorf("%s:\n got %q\nwant %q\n%s", event, text, wantText, js)
		}
	}
	f(`{"n":1,"any":true,"one":-1,"not":1,"cond":"ab","t":["a"],"all":"x","a":1,"b":2}`, "")
	f(`{"n":0}`, "'.n' should be >= 1")
	f(`{"any":1}`, "'.any' should be string, '.any' should be boolean, '.any' should match some schema in anyOf")
	f(`{"one":1}`, "'.one' should match exactly one schema in oneOf")
	f(`{"one":-1.5}`, "'.one' should be integer, '.one' should be >= 0, '.one' should match exactly one schema in oneOf")
	f(`{"not":"x"}`, "'.not' should NOT be valid")
	f(`{"cond":"a"}`, `'.cond' should NOT be shorter than 2 characters, '.cond' should match "then" schema`)
	f(`{"cond":1.5}`, `'.cond' should be integer, '.cond' should match "else" schema`)
	f(`{"t":["a",1]}`, "'.t' should NOT have more than 1 items")
	f(`{"t":[1]}`, "'.t[0]' should be string")
	f(`{"all":1}`, "'.all' should be string")
	f(`{"all":"xy"}`, "'.all' should NOT be longer than 1 characters")
	f(`{"a":1}`, "'' should have property b when property a is present")
	// Several errors come in Ajv's evaluation order: rules by type, properties in schema order.
	f(`{"all":1,"n":"x","any":1,"a":1}`, "'' should have property b when property a is present, '.n' should be integer, '.any' should be string, '.any' should be boolean, '.any' should match some schema in anyOf, '.all' should be string")
	_, _, js := validate(t, c, "/app/1.0.0", `{"n":0}`)
	if !strings.Contains(js, `"schemaPath":"#/definitions/pos/minimum"`) {
		t.Errorf("a local $ref's schema path: %s", js)
	}
}

// EventGate's test events give the outcomes its own tests expect.
func TestEventGateEvents(t *testing.T) {
	data, err := os.ReadFile(dataDir + "/eventgate-test/extracted/events.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name   string
		Event  json.RawMessage
		Expect string
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	c := egCache(t)
	for _, tc := range cases {
		var ev struct {
			Schema string `json:"$schema"`
		}
		json.Unmarshal(tc.Event, &ev)
		switch {
		case strings.HasPrefix(tc.Expect, "valid"):
			if ok, text, _ := validate(t, c, ev.Schema, string(tc.Event)); !ok {
				t.Errorf("%s: %s", tc.Name, text)
			}
		case strings.HasPrefix(tc.Expect, "invalid"):
			if ok, text, _ := validate(t, c, ev.Schema, string(tc.Event)); ok || text != "'.test' should be string" {
				t.Errorf("%s: valid=%v %q", tc.Name, ok, text)
			}
		default:
			// "rejected unless allowInsecureSchema": EventGate's refusal of schemas without
			// maxLength on pattern/format strings is a policy intake does not apply; the schema
			// compiles (TestCanonicalURIs).
		}
	}
	ok, text, _ := validate(t, c, "/test/0.0.1", `{"$schema":"/test/0.0.1","meta":{"stream":"test.event","id":"5e1dd101-641c-11e8-ab6c-b083fecf1281"},"test":"test_value1","test_default":67890}`)
	if ok || text != "'.test_default' should be string" {
		t.Errorf("test_default: %q", text)
	}
}
