//go:build !race

package fastpath

import (
	"fmt"
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

// The compiled validator allocates nothing for a valid event, nor for an invalid one whose errors
// stay under the cap, once the Errors' buffers are warm.
func TestCompiledValidateDoesNotAllocate(t *testing.T) {
	sink := compileForTest(t, kitchenSink, CompileOptions{BaseURI: "/sink/1.0.0"})
	revision := realSchema(t, "mediawiki/revision/create", "2.0.0")
	navtiming := realSchema(t, "analytics/legacy/navigationtiming", "1.7.0")
	var rp fastjson.Parser
	revEvent := realExampleEvents(t, &rp, "mediawiki/revision/create", "2.0.0")[0]
	revision.defaults.apply(revEvent)
	var np fastjson.Parser
	navEvent := realExampleEvents(t, &np, "analytics/legacy/navigationtiming", "1.7.0")[0]
	navtiming.defaults.apply(navEvent)

	f := func(name string, v Validator, ev *fastjson.Value, wantValid bool, wantErrors int) {
		t.Helper()
		var errs Errors
		run := func() {
			errs.reset()
			if ok := v.Validate(ev, &errs); ok != wantValid || errs.Len() != wantErrors {
				t.Fatalf("%s: valid=%v with %d errors, want %v with %d: %s", name, ok, errs.Len(), wantValid, wantErrors, errs.Text())
			}
		}
		run()
		if n := testing.AllocsPerRun(200, run); n != 0 {
			t.Errorf("%s: %.1f allocations per event, want 0", name, n)
		}
	}
	parse := func(s string) *fastjson.Value {
		var p fastjson.Parser
		v, err := p.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	f("revision/create valid", revision.Validator(), revEvent, true, 0)
	f("navigationtiming valid", navtiming.Validator(), navEvent, true, 0)
	f("sink valid", sink, parse(`{"dt":"2020-01-01T00:00:00Z","id":1,"s":"ab","e":1,"arr":["a","b"],"objs":[{"a":1},{"a":2}],`+
		`"nested":{"x":true},"map":{"k":"v"},"names":{"a":1,"b":2},"uri":"/a#b","day":"2020-01-01","odd key":"x","m":4}`), true, 0)
	f("sink invalid", sink, parse(`{"id":"x","s":"ABCD","arr":["a","a"],"names":{"A":1,"B":2,"c":3},"extra":1,"map":{"k":1},"nested":{"x":1}}`), false, 13)

	// Numbers beyond 2^53: valid as Ajv reads them; invalid in both readings, so the exact one
	// compares texts (a 19-digit integer against a limit its double equals).
	nums := compileForTest(t, `{"properties":{"ts":{"type":"integer","maximum":100000000000000000},`+
		`"id":{"type":"integer","minimum":1234567890123456768},"ids":{"uniqueItems":true},"s":{"type":"string"},`+
		`"m":{"multipleOf":0.1}}}`, CompileOptions{})
	f("bignum valid", nums, parse(`{"ts":100000000000000001,"id":1234567890123456789,"ids":[9007199254740993,1],"m":0.3}`), true, 0)
	f("bignum invalid", nums, parse(`{"ts":100000000000000001,"id":1234567890123456700,"ids":[9007199254740993,9007199254740992],"s":1,"m":0.35}`), false, 3)

	// An invalid real event: wrong types, a missing required property, a bad format.
	var ip fastjson.Parser
	bad := realExampleEvents(t, &ip, "mediawiki/revision/create", "2.0.0")[0]
	bad.Set("rev_id", fastjson.MustParse(`"one"`))
	bad.Get("meta").Set("dt", fastjson.MustParse(`"yesterday"`))
	bad.Del("page_title")
	f("revision/create invalid", revision.Validator(), bad, false, 3)
}

// A uniqueItems array of up to 64 items on a valid event is decided without allocating (hashes on
// the stack): such arrays are on the hot path of their streams.
func TestUniqueItemsHashedDoesNotAllocate(t *testing.T) {
	var parts []string
	for i := range 40 {
		parts = append(parts, fmt.Sprintf(`{"id":%d,"tag":"t%d"}`, i, i))
	}
	a := fastjson.MustParse("[" + strings.Join(parts, ",") + "]").GetArray()
	if hashedDuplicate(a, true) || hashedDuplicate(a, false) {
		t.Fatal("distinct items reported as duplicates")
	}
	if n := testing.AllocsPerRun(100, func() { hashedDuplicate(a, true); hashedDuplicate(a, false) }); n != 0 {
		t.Fatalf("%.1f allocations per check, want 0", n)
	}
}
