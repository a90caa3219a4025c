package fastpath

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// The hand-written fast formats accept exactly what Ajv 6's regular expressions accept: seeds
// and random mutations of them are checked against the patterns.
func TestFastFormatsMatchAjv(t *testing.T) {
	seeds := []string{
		"2020-01-01T00:00:00Z", "2019-02-30 23:59:59+0100", "2019-12-31t23:59:60.123z", "2020-01-01T00:00:00+01:00",
		"2020-01-01\u00a000:00:00-0530", "2020-01-01T00:00:00", "2020-01-01", "20:20:39", "20:20:39.5+00", "23:59:60Z",
		"http://example.com/a?b#c", "/wiki/Main_Page", "//host/x", "a:b", "#frag", "\\x", "a b", "urn:isbn:123",
		"mailto:x@y", "./a\\b#c\\d", "5e1dd101-641c-11e8-ab6c-b083fecf1287", "urn:uuid:5E1DD101-641C-11E8-AB6C-B083FECF1287",
		"", "T", "0000-00-00T00:00:00z",
	}
	alphabet := []string{"0", "1", "2", "3", "5", "9", ":", "-", "+", ".", "T", "t", "z", "Z", " ", "\u00a0", "\u2028", "#", "\\", "/", "a", "e", "f", "u", "\t", "é"}
	names := []string{"date", "date-time", "time", "uri", "uri-reference", "uuid"}
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(s string) {
		for _, name := range names {
			if got, want := FastFormat(name)(s), fastFormatRegexps[name].MatchString(s); got != want {
				t.Fatalf("format %s of %q: got %v, Ajv's regexp says %v", name, s, got, want)
			}
		}
	}
	for _, s := range seeds {
		check(s)
		for i := 0; i < 3000; i++ {
			b := []byte(s)
			for m := rng.IntN(3) + 1; m > 0; m-- {
				pos := 0
				if len(b) > 0 {
					pos = rng.IntN(len(b) + 1)
				}
				tok := alphabet[rng.IntN(len(alphabet))]
				switch rng.IntN(3) {
				case 0: // insert
					b = append(b[:pos], append([]byte(tok), b[pos:]...)...)
				case 1: // replace
					if pos < len(b) {
						b = append(b[:pos], append([]byte(tok), b[pos+1:]...)...)
					}
				default: // delete
					if pos < len(b) {
						b = append(b[:pos], b[pos+1:]...)
					}
				}
			}
			check(string(b))
		}
	}
}

func TestFullFormats(t *testing.T) {
	f := func(format, s string, want bool) {
		t.Helper()
		if got := FullFormat(format)(s); got != want {
			t.Errorf("%s %q: got %v, want %v", format, s, got, want)
		}
	}
	f("date-time", "2019-02-28T23:59:59Z", true)
	f("date-time", "2019-02-30T23:59:59Z", false)
	f("date-time", "2019-02-28 23:59:59Z", false)
	f("date-time", "1998-12-31T23:59:60Z", true)
	f("date-time", "1998-12-31T15:59:60-08:00", true)
	f("date-time", "1998-12-31T23:58:60Z", false)
	f("date", "2020-02-29", true)
	f("date", "2019-02-29", false)
	f("uri", "http://example.com/a%20b", true)
	f("uri", "/relative", false)
	f("uri-reference", "/relative#x", true)
	f("uri-reference", "a b", false)
	f("ipv4", "192.168.0.1", true)
	f("ipv4", "192.168.0.01", false)
	f("ipv6", "::1", true)
	f("ipv6", "::1%eth0", false)
	f("email", "joe@example.com", true)
	f("email", "joe..x@example.com", false)
	f("hostname", "en.wikipedia.org", true)
	f("hostname", "-x.org", false)
	f("uuid", "5e1dd101-641c-11e8-ab6c-b083fecf1287", true)
	f("uuid", "urn:uuid:5e1dd101-641c-11e8-ab6c-b083fecf1287", false)
}

func TestECMAPatterns(t *testing.T) {
	f := func(pattern, s string, want bool) {
		t.Helper()
		re, err := compileECMA(pattern)
		if err != nil {
			t.Fatalf("%q: %v", pattern, err)
		}
		if got := re.MatchString(s); got != want {
			t.Errorf("%q on %q: got %v, want %v", pattern, s, got, want)
		}
	}
	f(`^\d+$`, "123", true)
	f(`^\d+$`, "١٢٣", false) // Arabic-Indic digits are not ECMA's \d
	f(`^\w+$`, "été", false)
	f(`^\s$`, "\u00a0", true)
	f(`^\S$`, "\u00a0", false)
	f(`^.$`, "\n", false)
	f(`^.$`, "\u2028", false)
	f(`^[\d\w-]+$`, "a-1", true)
	f(`^\d{1,2}\/\d{1,7}$`, "12/345", true)
	f(`^[^]$`, "\n", true)
	f(`^[]$`, "", false)
	f(`^\u00e9$`, "é", true)
	f(`^\uD83D\uDE00$`, "😀", true)
	f(`^\cJ$`, "\n", true)
	f(`^[\b]$`, "\b", true)
	f(`^a{2}$`, "aa", true)
	f(`^(?<x>a)$`, "a", true)
	beyond := func(pattern string) {
		t.Helper()
		if _, err := compileECMA(pattern); err == nil || !isUnsupported(err) {
			t.Errorf("%q: got %v, want ErrUnsupported", pattern, err)
		}
	}
	beyond(`^(?=a)a$`)
	beyond(`^(?!a)b$`)
	beyond(`(?<=a)b`)
	beyond(`(a)\1`)
	beyond(`(?<n>a)\k<n>`)
}

func isUnsupported(err error) bool { return errors.Is(err, ErrUnsupported) }
