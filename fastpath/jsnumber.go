package fastpath

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"strings"

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

// parseDecimal reads the magnitude of a JSON number's text exactly; ok is false when its
// significant digits, trailing zeros aside, are more than a uint64 holds (the caller then takes
// math/big): 18446744073709552000 is 18446744073709552 * 10^3.
func parseDecimal(s string) (d decimal, ok bool) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	// zeros counts the zeros read since the last other digit, not yet in mant; frac the digits
	// after the point.
	digits, zeros, frac := 0, 0, 0
	sawDigit, sawPoint := false, false
	for ; i < len(s); i++ {
		c := s[i]
		if c == '.' && !sawPoint {
			sawPoint = true
			continue
		}
		if !isDigit(c) {
			break
		}
		sawDigit = true
		if sawPoint {
			frac++
		}
		if c == '0' {
			if d.mant != 0 {
				zeros++
			}
			continue
		}
		if digits+zeros >= 19 {
			return d, false
		}
		for ; zeros > 0; zeros-- {
			d.mant *= 10
			digits++
		}
		d.mant = d.mant*10 + uint64(c-'0')
		digits++
	}
	if !sawDigit {
		return d, false
	}
	d.exp = zeros - frac
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

// ajvMultiple is multipleOf in Ajv's reading. Ajv 6 divides the doubles JavaScript reads and
// calls the quotient whole by parseInt, which reads its text: so a quotient floating point rounded
// to a whole number is one (1e17 is a multiple of 3: 1e17/3 rounds to 33333333333333332), and one
// of 1e21 or more, written "1e+21", never is. Where that says no, the numbers as JavaScript writes
// them are divided exactly (0.3 is a multiple of 0.1, which floating point makes
// 2.9999999999999996): what schemacache's fallback can check, and more lenient than Ajv.
func ajvMultiple(xf float64, m *multipleOf) bool {
	q := xf / m.f
	if q == math.Trunc(q) && math.Abs(q) < 1e21 {
		return true
	}
	if math.IsInf(xf, 0) {
		return false
	}
	// Slow path: the shortest decimal of a double has at most 17 digits, so no math/big.
	var buf [32]byte
	x, ok := parseDecimal(b2s(AppendJSNumber(buf[:0], xf)))
	return ok && m.js.decOK && multipleDecimal(x, m.js.dec)
}

// isMultiple reports whether x is an integer multiple of m (m > 0), exactly as decimals: 0.0075
// is a multiple of 0.0001 although float64 division says otherwise.
func isMultiple(xf float64, xText string, m *multipleOf) bool {
	// Fast path: both integers that float64 holds exactly.
	if m.isInt && xf == math.Trunc(xf) && math.Abs(xf) < 1<<53 && !needsExact(xText) {
		return math.Mod(xf, m.f) == 0
	}
	// Slow path: decimal arithmetic on the texts.
	x, ok := parseDecimal(xText)
	if !ok || !m.decOK {
		return isMultipleBig(xText, m.text)
	}
	return multipleDecimal(x, m.dec)
}

// multipleDecimal reports whether x is an integer multiple of m (m > 0).
func multipleDecimal(x, m decimal) bool {
	if x.mant == 0 {
		return true
	}
	e := x.exp - m.exp
	if e >= 0 {
		// x.mant * 10^e divisible by m.mant.
		hi, lo := bits.Mul64(x.mant%m.mant, pow10Mod(e, m.mant))
		_, r := bits.Div64(hi%m.mant, lo, m.mant)
		return r == 0
	}
	// x.mant divisible by m.mant * 10^-e.
	if -e > 19 {
		return false // the divisor exceeds any 19-digit mantissa
	}
	hi, d := bits.Mul64(m.mant, uint64(math.Pow10(-e)))
	if hi != 0 {
		return false
	}
	return x.mant%d == 0
}

// isMultipleBig is isMultiple for texts of more than 19 significant digits or huge exponents:
// x = D*10^a, m = M*10^b, and x/m is whole when M divides D*10^(a-b). The exponent is bounded
// first, so a text like 1e-999999 costs no power of ten with a million digits.
func isMultipleBig(xs, ms string) bool {
	x, m := readNumText(xs), readNumText(ms)
	if x.zero {
		return true
	}
	if m.zero {
		return false
	}
	var d, mm big.Int
	d.SetString(x.digitString(), 10)
	mm.SetString(m.digitString(), 10)
	k := x.scale() - m.scale()
	var p big.Int
	if k >= 0 {
		// Past M's powers of 2 and 5 (fewer than 4 per digit), more tens change nothing.
		k = min(k, 4*len(m.digitString())+4)
		d.Mul(&d, p.Exp(big.NewInt(10), big.NewInt(int64(k)), nil))
	} else {
		if -k > len(x.digitString()) {
			return false // M*10^-k exceeds D
		}
		mm.Mul(&mm, p.Exp(big.NewInt(10), big.NewInt(int64(-k)), nil))
	}
	return d.Mod(&d, &mm).Sign() == 0
}

// numText is a number's text read for exact work: its sign, its significant digits (a view of
// the text, the point kept in place) and the power of ten of the first of them. Reading it does
// not allocate, whatever the digits or the exponent.
type numText struct {
	digits string // from the first significant digit to the end of the mantissa; may hold a '.'
	lead   int    // the first digit's power of ten: 1.5 is 0, 0.015 is -2, 1.5e300 is 300
	neg    bool
	zero   bool
}

func readNumText(s string) numText {
	var t numText
	if len(s) > 0 && s[0] == '-' {
		t.neg, s = true, s[1:]
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant, exp = s[:i], parseExponent(s[i+1:])
	}
	intLen := strings.IndexByte(mant, '.')
	if intLen < 0 {
		intLen = len(mant)
	}
	first := strings.IndexAny(mant, "123456789")
	if first < 0 {
		t.zero = true
		return t
	}
	if first < intLen {
		t.lead = intLen - first - 1
	} else {
		t.lead = intLen - first
	}
	t.lead += exp
	t.digits = strings.TrimRight(mant[first:], "0.")
	return t
}

// parseExponent reads an exponent's digits, saturating far beyond any double's range.
func parseExponent(s string) int {
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg, s = s[0] == '-', s[1:]
	}
	e := 0
	for i := 0; i < len(s) && isDigit(s[i]); i++ {
		if e < 1<<40 {
			e = e*10 + int(s[i]-'0')
		}
	}
	if neg {
		return -e
	}
	return e
}

// significant counts t's significant digits (trailing zeros not counted).
func (t numText) significant() int {
	n := len(t.digits)
	if strings.IndexByte(t.digits, '.') >= 0 {
		n--
	}
	return n
}

// digitString returns t's significant digits without the point (allocating when it has one).
func (t numText) digitString() string {
	if i := strings.IndexByte(t.digits, '.'); i >= 0 {
		return t.digits[:i] + t.digits[i+1:]
	}
	return t.digits
}

// scale is the power of ten of t's last significant digit: t is digitString * 10^scale.
func (t numText) scale() int { return t.lead - t.significant() + 1 }

// compareExact compares two numbers' texts exactly (-1, 0, 1): the slow branch of the exact
// reading, for values float64 cannot tell apart. It compares digits, never allocates, and costs
// the same for 1e-999999 as for 1.
func compareExact(a, b string) int {
	x, y := readNumText(a), readNumText(b)
	sx, sy := x.sign(), y.sign()
	switch {
	case sx != sy:
		return cmpInt(sx, sy)
	case sx == 0:
		return 0
	}
	c := cmpInt(x.lead, y.lead)
	if c == 0 {
		c = compareDigits(x.digits, y.digits)
	}
	return c * sx
}

func (t numText) sign() int {
	switch {
	case t.zero:
		return 0
	case t.neg:
		return -1
	}
	return 1
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareDigits compares two digit runs of the same leading power, the shorter padded with zeros.
func compareDigits(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		if i < len(a) && a[i] == '.' {
			i++
			continue
		}
		if j < len(b) && b[j] == '.' {
			j++
			continue
		}
		da, db := byte('0'), byte('0')
		if i < len(a) {
			da = a[i]
			i++
		}
		if j < len(b) {
			db = b[j]
			j++
		}
		if da != db {
			return cmpInt(int(da), int(db))
		}
	}
	return 0
}

// needsExact reports whether a number's text may hold what float64 cannot: more than 15
// significant digits (9007199254740993 reads as 9007199254740992), or a magnitude beyond the
// doubles that keep 15 digits (1e-400 reads as 0, 1e400 as +Inf, 1e-320 loses digits). Two
// texts for which it is false are equal exactly when their doubles are.
func needsExact(s string) bool {
	// Fast path: at most 15 characters and no exponent.
	if len(s) <= 15 && strings.IndexByte(s, 'e') < 0 && strings.IndexByte(s, 'E') < 0 {
		return false
	}
	t := readNumText(s)
	// Doubles keep 15 significant digits from about 2.2e-308 to 1.8e308.
	return !t.zero && (t.significant() > 15 || t.lead < -290 || t.lead > 290)
}

// shortTwin reports whether a number of at most 15 significant digits, other than the number s
// (whose double is f), has the same double: then the two readings tell apart s and a number an
// event may hold without needsExact. 0.1000000000000000055511151231257827 has one (0.1);
// 9007199254740991 and 1e17 have none. Only the 15-digit number nearest f can be one: 15-digit
// numbers lie further apart than doubles do.
func shortTwin(s string, f float64) bool {
	if math.IsInf(f, 0) {
		return false // no 15-digit number reads as Infinity
	}
	t := strconv.FormatFloat(f, 'g', 15, 64)
	g, err := strconv.ParseFloat(t, 64)
	return err == nil && g == f && compareExact(t, s) != 0
}

// integralText reports whether a number's text is a whole number, exactly: 9007199254740992.5 is
// not, although its double is.
func integralText(s string) bool {
	t := readNumText(s)
	return t.zero || t.scale() >= 0
}

// AppendJSReading appends v as compact JSON with every number as JavaScript reads and writes it:
// the double JSON.parse makes of it, in JSON.stringify's shortest digits (100000000000000001 is
// written 100000000000000000). It is a document as Ajv 6 in EventGate reads it, and an event as
// EventGate would have produced it. A number beyond a double keeps its text: JavaScript reads
// Infinity, which JSON cannot hold (the edge refuses such a body).
//
// It walks as AppendJSON does, kept apart on purpose: one walk with a flag for the numbers made
// AppendJSON, on the hot path, 11-18% slower on the real events (Serialize/*/AppendJSON and
// Process/*/compiled, four alternating runs, 2026-12-06).
func AppendJSReading(dst []byte, v *fastjson.Value) []byte {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		dst = append(dst, '{')
		first := true
		o.Visit(func(k []byte, c *fastjson.Value) {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = AppendJSONString(dst, b2s(k))
			dst = append(dst, ':')
			dst = AppendJSReading(dst, c)
		})
		return append(dst, '}')
	case fastjson.TypeArray:
		a, _ := v.Array()
		dst = append(dst, '[')
		for i, c := range a {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendJSReading(dst, c)
		}
		return append(dst, ']')
	case fastjson.TypeNumber:
		if f := jsFloat(v); !math.IsInf(f, 0) {
			return AppendJSNumber(dst, f)
		}
	}
	return AppendJSON(dst, v)
}
