package schemacache

import "testing"

// The reference validator named the duplicate pair of uniqueItems with numbers compared as
// doubles, while the verdict (kaptinlin's, and the compiled program's) compares them exactly: for
// integers beyond 2^53 it named two items that differ. Both now name the pair as the compiled
// program does (validate fails on any difference between the two).
//
// Since both validators read numbers two ways (fastpath.Program), these items are refused only
// because they are duplicates both exactly and as Ajv 6 reads them (all three are
// 9007199254740992), and the error names Ajv's pair, items 1 and 2 (2 and 1 for integer items),
// as EventGate does: this test named the exact pair, 0 and 2, before.
func TestUniqueItemsPairWithExactNumbers(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/u/1.0.0.json", `{"title":"u","type":"object","properties":{
		"any":{"type":"array","uniqueItems":true},
		"ints":{"type":"array","items":{"type":"integer"},"uniqueItems":true}}}`)
	c := newCache(t, Config{SchemaBaseURIs: []string{dir}, StreamConfig: egStreamConfig})
	f := func(event, wantText string) {
		t.Helper()
		if ok, text, _ := validate(t, c, "/u/1.0.0", event); ok != (wantText == "") || text != wantText {
			t.Errorf("%s:\n got %v %q\nwant %q", event, ok, text, wantText)
		}
	}
	const items = `[9007199254740993,9007199254740992,9007199254740993]`
	f(`{"any":`+items+`}`, "'.any' should NOT have duplicate items (items ## 1 and 2 are identical)")
	f(`{"ints":`+items+`}`, "'.ints' should NOT have duplicate items (items ## 2 and 1 are identical)")
	f(`{"any":[9007199254740993,9007199254740992]}`, "") // two items exactly
}

// The kaptinlin fallback reads numbers as the compiled program does: exactly or as Ajv 6 does,
// with the same verdicts and words (validate fails on any difference between the two), on every
// keyword that reads a number.
func TestNumbersBothValidators(t *testing.T) {
	c := newCache(t, Config{SchemaBaseURIs: []string{numbersBase}, StreamConfig: egStreamConfig})
	f := func(event, wantText string) {
		t.Helper()
		if ok, text, _ := validate(t, c, "/test/numbers/1.0.0", event); ok != (wantText == "") || text != wantText {
			t.Errorf("%s:\n got %v %q\nwant %q", event, ok, text, wantText)
		}
	}
	f(`{"max":100000000000000001}`, "")
	f(`{"max":100000000000000009}`, "'.max' should be <= 100000000000000000")
	f(`{"big":18446744073709552001}`, "")
	f(`{"min":-9007199254740992}`, "'.min' should be >= -9007199254740991")
	f(`{"xmax":99999999999999999}`, "")
	f(`{"xmin":9007199254740993}`, "")
	f(`{"xmin":9007199254740992.4}`, "") // exactly; Ajv refuses
	f(`{"xmin":9007199254740992}`, "'.xmin' should be > 9007199254740992")
	f(`{"mult":100000000000000002}`, "")
	f(`{"mult":9007199254740993}`, "") // exactly; Ajv refuses
	f(`{"mult":10}`, "'.mult' should be multiple of 3")
	f(`{"dec":0.0075}`, "")
	f(`{"int":9007199254740992.5}`, "")
	f(`{"int":1.5}`, "'.int' should be integer")
	f(`{"notint":9007199254740992.5}`, "") // not an integer exactly
	f(`{"notint":1}`, "'.notint' should NOT be valid")
	f(`{"notmax":100000000000000001}`, "")
	f(`{"c":9007199254740992}`, "")
	f(`{"c":9007199254740994}`, "'.c' should be equal to constant")
	f(`{"e":100000000000000001}`, "")
	f(`{"e":{"id":[18446744073709551615]}}`, "")
	f(`{"e":1}`, "'.e' should be equal to one of the allowed values")
	f(`{"u":[9007199254740993,9007199254740992]}`, "")
	f(`{"ui":[1,9007199254740993,9007199254740992,9007199254740993]}`, "'.ui' should NOT have duplicate items (items ## 3 and 2 are identical)")
	f(`{"max":100000000000000001,"xmin":9007199254740993}`, "'.xmin' should be > 9007199254740992")

	// The one difference: kaptinlin divides exactly, so the fallback refuses a multiple that
	// Ajv's floating-point division finds (1e17/3 rounds to 33333333333333332), which the program
	// accepts as Ajv does.
	s, err := c.LoadSchema("/test/numbers/1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := c.res.parse("/test/numbers/1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	kv, err := c.fallbackValidator(ref, s.Doc)
	if err != nil {
		t.Fatal(err)
	}
	const event = `{"mult":100000000000000000}`
	pok, _, _ := validateWith(t, s.Validator(), event)
	kok, ktext, _ := validateWith(t, kv, event)
	if !pok || kok || ktext != "'.mult' should be multiple of 3" {
		t.Errorf("%s: program %v, fallback %v %q: the documented difference changed", event, pok, kok, ktext)
	}
}

// numbersBase holds test/numbers/1.0.0, a schema with every keyword that reads a number, with
// limits near 2^53 and beyond; the differential fuzz runs on it too (differentialSet).
const numbersBase = "testdata/schemas"

// A schema the program cannot compile falls back to kaptinlin, which reads numbers as the
// program would (here "maximum": 1e17 beside unevaluatedProperties).
func TestFallbackReadsNumbersAsAjv(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/f/1.0.0.json", `{"$schema":"https://json-schema.org/draft/2020-12/schema","title":"f",
		"type":"object","properties":{"ts":{"type":"integer","maximum":100000000000000000}},"unevaluatedProperties":false}`)
	c := newCache(t, Config{SchemaBaseURIs: []string{dir}})
	sc, err := c.LoadSchema("/f/1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sc.Validator().(*validator); !ok {
		t.Fatalf("validated by %T, not the fallback", sc.Validator())
	}
	f := func(event, wantText string) {
		t.Helper()
		if ok, text, _ := validateWith(t, sc.Validator(), event); ok != (wantText == "") || text != wantText {
			t.Errorf("%s:\n got %v %q\nwant %q", event, ok, text, wantText)
		}
	}
	f(`{"ts":100000000000000001}`, "")
	f(`{"ts":100000000000000009}`, "'.ts' should be <= 100000000000000000")
}
