package fastpath

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"math/bits"
	"strconv"

	"github.com/valyala/fastjson"
)

// AppendJSNumber appends f as JavaScript's Number.prototype.toString writes it (and so as
// JSON.stringify and Ajv's messages do): shortest round-trip digits, exponent form only below 1e-6
// or from 1e21.
func AppendJSNumber(dst []byte, f float64) []byte {
	if f == 0 {
		return append(dst, '0')
	}
	abs := math.Abs(f)
	if abs >= 1e-6 && abs < 1e21 {
		return strconv.AppendFloat(dst, f, 'f', -1, 64)
	}
	b := strconv.AppendFloat(nil, f, 'e', -1, 64)
	// Go writes e-07 / e+21; JavaScript writes e-7 / e+21.
	i := bytes.IndexByte(b, 'e')
	mant, exp := b[:i], b[i+1:]
	sign := exp[0]
	digits := bytes.TrimLeft(exp[1:], "0")
	dst = append(dst, mant...)
	dst = append(dst, 'e', sign)
	return append(dst, digits...)
}

// jsFloat returns the double JavaScript's JSON.parse makes of number v: the nearest one, as
// strconv.ParseFloat finds it (fastjson's Float64 may be a unit off: it reads 68.659e12 as
// 68659000000000.01, which JavaScript reads as 68659000000000). Beyond a double it is ±Inf, as in
// JavaScript.
func jsFloat(v *fastjson.Value) float64 {
	s := rawNumber(v)
	// Fast path: up to 18 characters and no exponent, read in one pass. An integer is one
	// correctly rounded conversion; a fraction of at most 15 digits one correctly rounded
	// division of two exact doubles (Clinger's fast path, as strconv's).
	neg := len(s) > 0 && s[0] == '-'
	i := 0
	if neg {
		i = 1
	}
	if n := len(s) - i; n > 0 && n <= 18 {
		var d uint64
		point := -1
		for ; i < len(s); i++ {
			c := s[i] - '0'
			if c > 9 {
				if s[i] != '.' || point >= 0 {
					break
				}
				point = i
				continue
			}
			d = d*10 + uint64(c)
		}
		if i == len(s) && (point < 0 || len(s) <= 16) {
			f := float64(d)
			if point >= 0 {
				f /= exactPow10[len(s)-point-1]
			}
			if neg {
				return -f
			}
			return f
		}
	}
	// Slow path: exponents (fastjson multiplies after dividing: two roundings), longer digits.
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		f, _ = v.Float64() // not JSON's grammar ("+1"): fastjson's reading
	}
	return f
}

// exactPow10 are the powers of ten a double holds exactly.
var exactPow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// decimal is a JSON number's magnitude as mant * 10^exp, when its significant digits fit 64 bits.
type decimal struct {
	mant uint64
	exp  int
}

// parseDecimal reads the magnitude of a JSON number's text exactly; ok is false when it has more
// significant digits than a uint64 holds (the caller then takes math/big).
func parseDecimal(s string) (d decimal, ok bool) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits := 0
	sawDigit := false
	for ; i < len(s) && (isDigit(s[i]) || s[i] == '.'); i++ {
		c := s[i]
		if c == '.' {
			for i++; i < len(s) && isDigit(s[i]); i++ {
				sawDigit = true
				if d.mant == 0 && s[i] == '0' {
					d.exp--
					continue
				}
				if digits == 19 {
					return d, false
				}
				d.mant = d.mant*10 + uint64(s[i]-'0')
				d.exp--
				digits++
			}
			break
		}
		sawDigit = true
		if d.mant == 0 && c == '0' {
			continue
		}
		if digits == 19 {
			return d, false
		}
		d.mant = d.mant*10 + uint64(c-'0')
		digits++
	}
	if !sawDigit {
		return d, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > 1<<20 || e < -(1<<20) {
			return d, false
		}
		d.exp += e
	} else if i != len(s) {
		return d, false
	}
	if d.mant == 0 {
		d.exp = 0
	}
	return d, true
}

// pow10Mod returns 10^e mod m.
func pow10Mod(e int, m uint64) uint64 {
	result, base := uint64(1)%m, uint64(10)%m
	for e > 0 {
		if e&1 == 1 {
			hi, lo := bits.Mul64(result, base)
			_, result = bits.Div64(hi%m, lo, m)
		}
		hi, lo := bits.Mul64(base, base)
		_, base = bits.Div64(hi%m, lo, m)
		e >>= 1
	}
	return result
}

// isMultiple reports whether x is an integer multiple of m (m > 0), exactly as decimals: 0.0075
// is a multiple of 0.0001 although float64 division says otherwise.
func isMultiple(xf float64, xText string, m *multipleOf) bool {
	// Fast path: both integers that float64 holds exactly.
	if m.isInt && xf == math.Trunc(xf) && math.Abs(xf) < 1<<53 {
		return math.Mod(xf, m.f) == 0
	}
	// Slow path: decimal arithmetic on the texts.
	x, ok := parseDecimal(xText)
	if !ok || !m.decOK {
		return isMultipleBig(xText, m.text)
	}
	if x.mant == 0 {
		return true
	}
	e := x.exp - m.dec.exp
	if e >= 0 {
		// x.mant * 10^e divisible by m.mant.
		hi, lo := bits.Mul64(x.mant%m.dec.mant, pow10Mod(e, m.dec.mant))
		_, r := bits.Div64(hi%m.dec.mant, lo, m.dec.mant)
		return r == 0
	}
	// x.mant divisible by m.mant * 10^-e.
	if -e > 19 {
		return false // the divisor exceeds any 19-digit mantissa
	}
	hi, d := bits.Mul64(m.dec.mant, uint64(math.Pow10(-e)))
	if hi != 0 {
		return false
	}
	return x.mant%d == 0
}

func isMultipleBig(x, m string) bool {
	var rx, rm big.Rat
	if _, ok := rx.SetString(x); !ok {
		return false
	}
	if _, ok := rm.SetString(m); !ok || rm.Sign() == 0 {
		return false
	}
	rx.Quo(&rx, &rm)
	return rx.IsInt()
}

// compareExact compares two numbers' texts exactly (-1, 0, 1); ok is false when one is not a
// number. It is the slow branch of the limit checks, for values float64 cannot tell apart.
func compareExact(a, b string) (int, bool) {
	var ra, rb big.Rat
	if _, ok := ra.SetString(a); !ok {
		return 0, false
	}
	if _, ok := rb.SetString(b); !ok {
		return 0, false
	}
	return ra.Cmp(&rb), true
}

// needsExact reports whether a number's text may hold more precision than float64: more than 15
// significant digits.
func needsExact(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 'e' || c == 'E' {
			break
		}
		if isDigit(c) {
			n++
		}
	}
	return n > 15
}
