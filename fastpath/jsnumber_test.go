package fastpath

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/valyala/fastjson"
)

// The exact reading's helpers work on the number's text, whatever its digits or exponent.
func TestExactNumberTexts(t *testing.T) {
	cmp := func(a, b string, want int) {
		t.Helper()
		if got := compareExact(a, b); got != want {
			t.Errorf("compareExact(%s, %s) = %d, want %d", a, b, got, want)
		}
		if got := compareExact(b, a); got != -want {
			t.Errorf("compareExact(%s, %s) = %d, want %d", b, a, got, -want)
		}
	}
	cmp("9007199254740993", "9007199254740992", 1)
	cmp("100000000000000001", "1e17", 1)
	cmp("100000000000000000", "1e17", 0)
	cmp("1.0", "1", 0)
	cmp("-0", "0", 0)
	cmp("0.000", "-0e5", 0)
	cmp("-9007199254740993", "-9007199254740992", -1)
	cmp("1e-400", "0", 1)
	cmp("-1e-400", "0", -1)
	cmp("1e-400", "2e-400", -1)
	cmp("12.5e-1", "1.25", 0)
	cmp("0.015", "1.5e-2", 0)
	cmp("99999999999999999999999", "1e23", -1)
	cmp("18446744073709551615", "18446744073709552000", -1)
	cmp("1e99999999999999999999", "1e400", 1) // the exponent saturates, past any double
	cmp("972783798187987123879878123.188781371", "972783798187987123879878123.18878137", 1)

	exact := func(s string, want bool) {
		t.Helper()
		if got := needsExact(s); got != want {
			t.Errorf("needsExact(%s) = %v, want %v", s, got, want)
		}
	}
	exact("9007199254740991", true) // 16 digits
	exact("123456789012345", false)
	exact("100000000000000000", false) // 1 significant digit
	exact("0.1", false)
	exact("1e-400", true) // reads as 0
	exact("1e400", true)  // reads as +Inf
	exact("1.5e-320", true)
	exact("0.0000000000000000000001", false)
	exact("0", false)

	twin := func(s string, want bool) {
		t.Helper()
		f, _ := fastjson.MustParse(s).Float64()
		if got := shortTwin(s, f); got != want {
			t.Errorf("shortTwin(%s) = %v, want %v", s, got, want)
		}
	}
	twin("0.1000000000000000055511151231257827", true) // 0.1
	twin("0.1", false)
	twin("9007199254740991", false)
	twin("9999999999999999", true) // 1e16
	twin("100000000000000000", false)
	twin("18446744073709552000", false)
	twin("1e-400", true) // 0
	twin("1e400", false)

	integral := func(s string, want bool) {
		t.Helper()
		if got := integralText(s); got != want {
			t.Errorf("integralText(%s) = %v, want %v", s, got, want)
		}
	}
	integral("1.0", true)
	integral("12e-1", false)
	integral("1200e-2", true)
	integral("9007199254740992.5", false)
	integral("1e400", true)
	integral("1e-400", false)
	integral("-0.0", true)
	integral("10.50", false)
	integral("1e-99999999999999999999", false)

	mult := func(x, m string, want bool) {
		t.Helper()
		mo := &multipleOf{text: m}
		mv := fastjson.MustParse(m)
		mo.f, _ = mv.Float64()
		mo.isInt = mo.f < 1<<53 && mo.f == float64(int64(mo.f))
		mo.dec, mo.decOK = parseDecimal(m)
		xf, _ := fastjson.MustParse(x).Float64()
		start := time.Now()
		if got := isMultiple(xf, x, mo); got != want {
			t.Errorf("isMultiple(%s, %s) = %v, want %v", x, m, got, want)
		}
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("isMultiple(%s, %s) took %v", x, m, d)
		}
	}
	mult("3.0000000000000001", "3", false) // its double is 3
	mult("9007199254740993", "3", true)
	mult("100000000000000001", "2", false)
	mult("0.0075", "0.0001", true)
	mult("123456789012345678901234567890", "10", true)
	mult("123456789012345678901234567891", "10", false)
	mult("123456789012345678901234567891e999999", "10", true)
	mult("123456789012345678901234567891e-999999", "3", false)
	mult("6e-999999", "3e-999999", true)
	mult("18446744073709552000", "0.0001", true)
	mult("1844674407370955200000000", "7", false)

	dec := func(s string, mant uint64, exp int, ok bool) {
		t.Helper()
		d, gok := parseDecimal(s)
		if gok != ok || ok && (d.mant != mant || d.exp != exp) {
			t.Errorf("parseDecimal(%s) = %+v %v, want {%d %d} %v", s, d, gok, mant, exp, ok)
		}
	}
	dec("18446744073709552000", 18446744073709552, 3, true)
	dec("-0.00750", 75, -4, true)
	dec("100.0e2", 1, 4, true)
	dec("0", 0, 0, true)
	dec("1234567890123456789", 1234567890123456789, 0, true)
	dec("12345678901234567891", 0, 0, false)
	dec("1.5e1048577", 0, 0, false)
}

// jsFloat is the nearest double, as JavaScript reads a number; fastjson's Float64 is not always.
func TestJSFloat(t *testing.T) {
	for _, s := range []string{"68.659e12", "0.1", "9007199254740993", "1e-400", "-1e-400", "1e400", "-1e400",
		"2.2250738585072011e-308", "123456789012345678901234567890e-10", "0.3e1", "0.000123", "-0", "-0.0",
		"123456789012345", "1234567890123456", "3.14", "-2.5", "0.1234567890123456789", "100.000000000000000001"} {
		want, _ := strconv.ParseFloat(s, 64)
		got := jsFloat(fastjson.MustParse(s))
		if got != want || math.Signbit(got) != math.Signbit(want) {
			t.Errorf("jsFloat(%s) = %v, want %v", s, got, want)
		}
	}
}

// AppendJSReading writes an event as JavaScript reads and writes it.
func TestAppendJSReading(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := string(AppendJSReading(nil, fastjson.MustParse(in))); got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
	f(`{"a":100000000000000001,"b":[9007199254740993,1.0,-0,1e-400,1E2],"c":"x\u0000"}`,
		`{"a":100000000000000000,"b":[9007199254740992,1,0,0,100],"c":"x\u0000"}`)
	f(`18446744073709551615`, `18446744073709552000`)
	f(`1e21`, `1e+21`)
	f(`0.0000001`, `1e-7`)
	f(`1e400`, `1e400`) // JavaScript reads Infinity, which JSON cannot write
	f(`68.659e12`, `68659000000000`)
}
