package schemacache

import "testing"

// The reference validator named the duplicate pair of uniqueItems with numbers compared as
// doubles, while the verdict (kaptinlin's, and the compiled program's) compares them exactly: for
// integers beyond 2^53 it named two items that differ. Both now name the pair as the compiled
// program does (validate fails on any difference between the two).
func TestUniqueItemsPairWithExactNumbers(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/u/1.0.0.json", `{"title":"u","type":"object","properties":{
		"any":{"type":"array","uniqueItems":true},
		"ints":{"type":"array","items":{"type":"integer"},"uniqueItems":true}}}`)
	c := newCache(t, Config{SchemaBaseURIs: []string{dir}, StreamConfig: egStreamConfig})
	f := func(event, wantText string) {
		t.Helper()
		if ok, text, _ := validate(t, c, "/u/1.0.0", event); ok || text != wantText {
			t.Errorf("%s:\n got %v %q\nwant %q", event, ok, text, wantText)
		}
	}
	const items = `[9007199254740993,9007199254740992,9007199254740993]`
	f(`{"any":`+items+`}`, "'.any' should NOT have duplicate items (items ## 0 and 2 are identical)")
	f(`{"ints":`+items+`}`, "'.ints' should NOT have duplicate items (items ## 2 and 0 are identical)")
}
