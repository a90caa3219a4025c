package fastpath

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheckJSON(t *testing.T) {
	f := func(in, wantProblem string) {
		t.Helper()
		got := CheckJSON([]byte(in), JSONLimits{MaxDepth: 5})
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
	f(`["\ud83d\ude00", "\uD83D\uDE00x", "\u00e9\ud7ff\ue000"]`, "")
	f(`["\ud800"]`, `lone UTF-16 surrogate escape \ud800 at offset 2`)
	f(`["\ud800x"]`, "lone UTF-16 surrogate")
	f(`["\ud800\n"]`, "lone UTF-16 surrogate")
	f(`["\ud800\u0041"]`, "lone UTF-16 surrogate")
	f(`["\ud800\ud800"]`, "lone UTF-16 surrogate")
	f(`["\ude00"]`, `lone UTF-16 surrogate escape \ude00`)
	f(`["\ud83d\ude00\ude00"]`, "lone UTF-16 surrogate escape \\ude00 at offset 14")
	f(`["\udbff`, "lone UTF-16 surrogate")
	// Unbalanced closers buy no depth.
	f(`]]]]]][[[[[[1]]]]]]`, "deeper than 5 levels")
}

func TestCheckJSONLimits(t *testing.T) {
	lim := JSONLimits{MaxDepth: 300, MaxStringBytes: 8, MaxKeyBytes: 4, MaxMembers: 3}
	f := func(in, wantProblem string) {
		t.Helper()
		got := CheckJSON([]byte(in), lim)
		if wantProblem == "" && got != "" || wantProblem != "" && !strings.Contains(got, wantProblem) {
			t.Fatalf("CheckJSON(%q) = %q, want %q", in, got, wantProblem)
		}
	}
	f(`{"abcd":"12345678","k":[1,2,3],"o":{"a":1}}`, "")
	f(`{"abcd":"123456789"}`, "a string of 9 bytes at offset 8 is longer than 8 bytes (--max-string-bytes)")
	f(`{"a":"\u00e9\u00e9"}`, "a string of 12 bytes") // escapes count as written
	f(`{"abcde":1}`, "an object key of 5 bytes at offset 1 is longer than 4 bytes (--max-key-bytes)")
	f(`{"abcde" :1}`, "--max-key-bytes")
	f(`{"a":"abcde"}`, "") // a value may be longer than a key
	f(`["abcde"]`, "")
	f(`{"a":1,"b":2,"c":3,"d":4}`, "an object or array has more than 3 members (--max-members) at offset 18")
	f(`{"k":[1,2,3,4]}`, "more than 3 members")
	f(`{"k":[1,2,[3,4,5],3]}`, "more than 3 members (--max-members) at offset 17")
	f(`{"k":[1,2,[3,4,5]],"z":[1,2,3]}`, "")
	f(`{"k":"a,b,c,d"}`, "") // commas in strings are not members
	// The outermost array is a request's events, --max-events' to bound; the events themselves are not.
	f(`[{},{},{},{},{}]`, "")
	f(`[{"a":1,"b":2,"c":3,"d":4}]`, "--max-members")
	f(strings.Repeat("[", 257)+strings.Repeat("]", 257), "nests deeper than 256 levels at offset 256, the most --max-members can count in")
	lim.MaxMembers = 0
	f(strings.Repeat("[", 257)+strings.Repeat("]", 257), "")
	f(`{"k":[1,2,3,4,5,6]}`, "")
	lim = JSONLimits{}
	f(strings.Repeat("[", 1000)+strings.Repeat("]", 1000), "")
	f(`{"`+strings.Repeat("k", 1000)+`":"`+strings.Repeat("v", 100000)+`"}`, "")
}

// CheckJSON checks UTF-8 as utf8.Valid does: inside strings sequence by sequence, outside them
// as part of the grammar (only ASCII can be a token). A body it passes is valid UTF-8.
func TestCheckJSONUTF8(t *testing.T) {
	valid := []string{
		`{"a":"é ü 日本語 😀 \u00e9"}`,
		`["` + strings.Repeat("aé", 40) + `"]`,
		`["` + strings.Repeat("x", 7) + `😀"]`, // a 4-byte sequence across the 8-byte words
		`["` + strings.Repeat("x", 6) + `日"]`,
	}
	for _, in := range valid {
		if got := CheckJSON([]byte(in), JSONLimits{}); got != "" {
			t.Errorf("CheckJSON(%q) = %q, want it to pass", in, got)
		}
	}
	invalid := []string{
		"[\"\xff\"]",
		"[\"abc\xc3\"]", // a sequence cut by the quote
		"[\"" + strings.Repeat("x", 9) + "\xc3\"]", // the same past the first word
		"[\"\xc0\xaf\"]",         // overlong
		"[\"\xed\xa0\x80\"]",     // a surrogate encoded in UTF-8
		"[\"\xf4\x90\x80\x80\"]", // beyond U+10FFFF
		"[\"" + strings.Repeat("é", 5) + "\x80\"]",
		"{\"k\xff\":1}",   // in a key
		"[1,\xff]",        // outside strings
		"[\"a\"]\xe2\x82", // after the value
	}
	for _, in := range invalid {
		if utf8.ValidString(in) {
			t.Fatalf("test case %q is valid UTF-8", in)
		}
		if got := CheckJSON([]byte(in), JSONLimits{}); got == "" {
			t.Errorf("CheckJSON(%q) passed bytes that are not UTF-8", in)
		}
	}
}

// The word-at-a-time string scan finds each stop byte at every offset within a word, and
// never one that is not there.
func TestCheckJSONStringStopsAtEveryOffset(t *testing.T) {
	for n := 0; n < 20; n++ {
		pad := strings.Repeat("a", n)
		cases := map[string]string{
			`["` + pad + `"]`:             "",
			`["` + pad + `\n"]`:           "",
			`["` + pad + `\u00e9"]`:       "",
			`["` + pad + `\ud83d\ude00"]`: "",
			`["` + pad + `é"]`:            "",
			`["` + pad + "\t\"]":          "raw control character (byte 9) at offset " + strconv.Itoa(2+n),
			`["` + pad + `\x"]`:           "malformed escape at offset " + strconv.Itoa(2+n),
			`["` + pad + `\ud800"]`:       "lone UTF-16 surrogate escape \\ud800 at offset " + strconv.Itoa(2+n),
			`["` + pad + "\x7f\xff\"]":    "not UTF-8 at offset " + strconv.Itoa(3+n),
			`["` + pad + `"]x` + pad:      "malformed value",
		}
		for in, want := range cases {
			got := CheckJSON([]byte(in), JSONLimits{})
			if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
				t.Errorf("CheckJSON(%q) = %q, want %q", in, got, want)
			}
		}
	}
}

// FuzzCheckJSONUTF8: whatever CheckJSON passes is valid UTF-8, and on valid UTF-8 the string
// scan agrees with a byte-at-a-time one.
func FuzzCheckJSONUTF8(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `["é\u00e9\n"]`, "[\"\xff\"]", `{"a":[1,2,{"b":"` + strings.Repeat("x", 30) + `"}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := CheckJSON(b, JSONLimits{})
		if got == "" && !utf8.Valid(b) {
			t.Fatalf("CheckJSON passed %q, which is not UTF-8", b)
		}
		for i := range b {
			if b[i] != '"' {
				continue
			}
			end, problem := scanString(b, i)
			wantEnd, wantProblem := scanStringBytewise(b, i)
			if end != wantEnd || problem != wantProblem {
				t.Fatalf("scanString(%q, %d) = %d, %q; byte at a time: %d, %q", b, i, end, problem, wantEnd, wantProblem)
			}
		}
	})
}

// scanStringBytewise is scanString one byte at a time, written apart: the reference of its
// word-at-a-time path.
func scanStringBytewise(b []byte, i int) (int, string) {
	for i++; i < len(b); {
		switch c := b[i]; {
		case c == '"':
			return i, ""
		case c < 0x20:
			return i, "a string has a raw control character (byte " + strconv.Itoa(int(c)) + ") at offset " + strconv.Itoa(i) + "; write it as \\u00XX"
		case c >= 0x80:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return i, "a string has bytes that are not UTF-8 at offset " + strconv.Itoa(i)
			}
			i += size
		case c == '\\':
			if !validEscape(b, i) {
				return i, "a string has a malformed escape at offset " + strconv.Itoa(i)
			}
			if b[i+1] == 'u' {
				r := hex4(b[i+2 : i+6])
				if r >= 0xD800 && r <= 0xDBFF {
					if i+7 >= len(b) || b[i+6] != '\\' || !validEscape(b, i+6) || b[i+7] != 'u' || !isLowSurrogate(hex4(b[i+8:i+12])) {
						return i, "a string has a lone UTF-16 surrogate escape " + string(b[i:i+6]) + " at offset " + strconv.Itoa(i)
					}
					i += 6
				} else if isLowSurrogate(r) {
					return i, "a string has a lone UTF-16 surrogate escape " + string(b[i:i+6]) + " at offset " + strconv.Itoa(i)
				}
			}
			i += 2
		default:
			i++
		}
	}
	return i, ""
}
