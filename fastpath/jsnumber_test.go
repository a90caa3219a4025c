package fastpath

import (
	"math"
	"strconv"
	"testing"

	"github.com/valyala/fastjson"
)

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
