package clientip

import (
	"net/netip"
	"strings"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted, err := ParseProxies([]string{"10.0.0.0/8", "192.168.1.1", "2001:db8:ffff::/48", "::ffff:172.16.0.0/108"})
	if err != nil {
		t.Fatal(err)
	}
	f := func(remote, xff, xci, want string) {
		t.Helper()
		got := From(addr(remote), []byte(xff), []byte(xci), trusted)
		if got != addr(want) {
			t.Fatalf("remote %s, X-Forwarded-For %q, X-Client-IP %q: got %s, want %s", remote, xff, xci, got, want)
		}
	}
	// An untrusted peer's headers are ignored: that is the whole spoofing defence.
	f("203.0.113.5", "1.2.3.4", "5.6.7.8", "203.0.113.5")
	f("::ffff:203.0.113.5", "1.2.3.4", "", "203.0.113.5")
	f("2001:db8:1::5", "1.2.3.4", "", "2001:db8:1::5")
	// A trusted proxy: the rightmost untrusted hop.
	f("10.0.0.1", "198.51.100.7", "", "198.51.100.7")
	f("10.0.0.1", "6.6.6.6, 198.51.100.7", "", "198.51.100.7")           // the client's own claim is to the left
	f("10.0.0.1", "6.6.6.6, 198.51.100.7, 10.1.2.3", "", "198.51.100.7") // past a trusted hop
	f("10.0.0.1", "10.9.9.9, 198.51.100.7, 10.1.2.3, 192.168.1.1", "", "198.51.100.7")
	f("10.0.0.1", "198.51.100.7,10.1.2.3", "", "198.51.100.7")            // no spaces
	f("10.0.0.1", " \t198.51.100.7 ,\t10.1.2.3 ", "", "198.51.100.7")     // tabs and spaces
	f("10.0.0.1", "198.51.100.7,,10.1.2.3,", "", "198.51.100.7")          // empty elements
	f("10.0.0.1", "10.5.5.5, 10.1.2.3", "", "10.5.5.5")                   // all trusted: the leftmost
	f("10.0.0.1", "198.51.100.7:51234", "", "198.51.100.7")               // with a port
	f("10.0.0.1", "[2001:db8:1::7]:443", "", "2001:db8:1::7")             // IPv6 with a port
	f("10.0.0.1", "[2001:db8:1::7]", "", "2001:db8:1::7")                 // bracketed
	f("10.0.0.1", "2001:db8:1::7, 2001:db8:ffff::1", "", "2001:db8:1::7") // a trusted IPv6 hop
	f("10.0.0.1", "::ffff:198.51.100.7", "", "198.51.100.7")              // mapped comes back IPv4
	f("10.0.0.1", "1.1.1.1, ::ffff:10.2.2.2", "", "1.1.1.1")              // mapped trusted hop
	f("::ffff:10.0.0.1", "198.51.100.7", "", "198.51.100.7")              // mapped remote is trusted
	f("172.16.3.4", "198.51.100.7", "", "198.51.100.7")                   // mapped CIDR in the list
	f("192.168.1.1", "198.51.100.7", "", "198.51.100.7")                  // a single address
	f("192.168.1.2", "198.51.100.7", "", "192.168.1.2")                   // its neighbour is not trusted
	// Malformed: the remote address, never a guess.
	f("10.0.0.1", "unknown", "", "10.0.0.1")
	f("10.0.0.1", "198.51.100.7, garbage", "", "10.0.0.1")
	f("10.0.0.1", "999.1.1.1", "", "10.0.0.1")
	f("10.0.0.1", "01.2.3.4", "", "10.0.0.1")
	f("10.0.0.1", "fe80::1%eth0", "", "10.0.0.1")
	f("10.0.0.1", "198.51.100.7:port", "", "10.0.0.1")
	f("10.0.0.1", "[2001:db8::1", "", "10.0.0.1")
	f("10.0.0.1", "\"198.51.100.7\"", "", "10.0.0.1")
	f("10.0.0.1", strings.Repeat("1", 100), "", "10.0.0.1")
	// Beyond the first untrusted hop nothing is read, malformed or not.
	f("10.0.0.1", "garbage, 198.51.100.7", "", "198.51.100.7")
	// X-Client-IP: only from a trusted peer, only without X-Forwarded-For.
	f("10.0.0.1", "", "198.51.100.8", "198.51.100.8")
	f("10.0.0.1", "", " 2001:db8:1::8 ", "2001:db8:1::8")
	f("10.0.0.1", "198.51.100.7", "198.51.100.8", "198.51.100.7")
	f("10.0.0.1", "", "nonsense", "10.0.0.1")
	f("10.0.0.1", " , ", "198.51.100.8", "198.51.100.8")
	f("203.0.113.5", "", "198.51.100.8", "203.0.113.5")
	// No forwarding headers at all.
	f("10.0.0.1", "", "", "10.0.0.1")

	if got := From(addr("10.0.0.1"), []byte("1.2.3.4"), nil, nil); got != addr("10.0.0.1") {
		t.Fatalf("nil Proxies trusted someone: %s", got)
	}
}

// Some proxies add a second X-Forwarded-For line instead of extending the client's: the last line
// is the proxy's, and reading only the first would believe the client.
func TestClientIPLines(t *testing.T) {
	trusted, _ := ParseProxies([]string{"10.0.0.0/8"})
	f := func(want string, lines ...string) {
		t.Helper()
		bs := make([][]byte, len(lines))
		for i, l := range lines {
			bs[i] = []byte(l)
		}
		if got := FromLines(addr("10.0.0.1"), bs, nil, trusted); got != addr(want) {
			t.Fatalf("%q: got %s, want %s", lines, got, want)
		}
	}
	f("198.51.100.7", "6.6.6.6", "198.51.100.7")
	f("198.51.100.7", "6.6.6.6", "198.51.100.7, 10.3.3.3")
	f("6.6.6.6", "6.6.6.6", "10.3.3.3")
	f("10.0.0.1", "6.6.6.6", "bad")
	f("10.0.0.1")
}

// ForEvents reads the sources in eventgate-wikimedia's order, X-Client-IP first, and takes the
// leftmost untrusted X-Forwarded-For hop; only from a trusted peer.
func TestForEvents(t *testing.T) {
	trusted, err := ParseProxies([]string{"10.0.0.0/8", "2001:db8:ffff::/48"})
	if err != nil {
		t.Fatal(err)
	}
	f := func(remote, xci, want string, xff ...string) {
		t.Helper()
		lines := make([][]byte, len(xff))
		for i, l := range xff {
			lines[i] = []byte(l)
		}
		if got := ForEvents(addr(remote), lines, []byte(xci), trusted); got != addr(want) {
			t.Fatalf("remote %s, X-Client-IP %q, X-Forwarded-For %q: got %s, want %s", remote, xci, xff, got, want)
		}
	}
	// An untrusted peer's headers are ignored; its address is the client's.
	f("203.0.113.5", "198.51.100.8", "203.0.113.5", "198.51.100.7")
	f("::ffff:203.0.113.5", "", "203.0.113.5")
	// X-Client-IP first, even beside X-Forwarded-For.
	f("10.0.0.1", "198.51.100.8", "198.51.100.8", "198.51.100.7")
	f("10.0.0.1", " 2001:db8:1::8 ", "2001:db8:1::8")
	f("10.0.0.1", "::ffff:198.51.100.8", "198.51.100.8")
	// A malformed X-Client-IP names no one: X-Forwarded-For, then the remote address.
	f("10.0.0.1", "unknown", "198.51.100.7", "198.51.100.7")
	f("10.0.0.1", "unknown", "10.0.0.1")
	// X-Forwarded-For: the leftmost hop that is not a trusted proxy.
	f("10.0.0.1", "", "6.6.6.6", "6.6.6.6, 198.51.100.7")
	f("10.0.0.1", "", "198.51.100.7", "10.9.9.9, 198.51.100.7, 10.1.2.3")
	f("10.0.0.1", "", "198.51.100.7", "10.9.9.9,198.51.100.7")   // no space after the comma
	f("10.0.0.1", "", "198.51.100.7", "unknown, , 198.51.100.7") // names and empty elements skipped
	f("10.0.0.1", "", "198.51.100.7", "[2001:db8:ffff::1]:443, 198.51.100.7:51234")
	f("10.0.0.1", "", "2001:db8:1::7", "2001:db8:1::7")
	f("10.0.0.1", "", "10.5.5.5", "10.5.5.5, 10.1.2.3") // every hop trusted: the leftmost
	f("10.0.0.1", "", "10.0.0.1", "garbage, unknown")   // no address at all: the remote one
	// Several lines read as one list, in the order received.
	f("10.0.0.1", "", "6.6.6.6", "6.6.6.6", "198.51.100.7, 10.3.3.3")
	f("10.0.0.1", "", "198.51.100.7", "10.2.2.2", "198.51.100.7")
	// No forwarding headers at all.
	f("10.0.0.1", "", "10.0.0.1")
	if got := ForEvents(addr("10.0.0.1"), nil, []byte("1.2.3.4"), nil); got != addr("10.0.0.1") {
		t.Fatalf("nil Proxies trusted someone: %s", got)
	}
	if got := ForEvents(netip.Addr{}, nil, []byte("1.2.3.4"), trusted); got.IsValid() {
		t.Fatalf("no remote address (not a TCP connection): got %s, want none", got)
	}
}

func TestParseTrustedProxies(t *testing.T) {
	f := func(in string, ok bool) {
		t.Helper()
		_, err := ParseProxies([]string{in})
		if (err == nil) != ok {
			t.Fatalf("%q: err %v, want ok=%v", in, err, ok)
		}
	}
	f("10.0.0.0/8", true)
	f("10.1.2.3/8", true) // masked
	f("2001:db8::/32", true)
	f("::1", true)
	f("10.0.0.0/33", false)
	f("fe80::1%eth0", false)
	f("proxy.example.org", false)
	f("", false)
}

// parseHop's address parsers must agree with net/netip on every input.
func TestParseIPMatchesNetip(t *testing.T) {
	f := func(s string) {
		t.Helper()
		checkParseIP(t, s)
	}
	for _, s := range []string{
		"0.0.0.0", "1.2.3.4", "255.255.255.255", "256.1.1.1", "1.2.3", "1.2.3.4.5", "1..2.3", ".1.2.3",
		"1.2.3.", "01.2.3.4", "1.02.3.4", "0.0.0.00", "1.2.3.-4", "1.2.3.4 ", "", "a.b.c.d", "1234.1.1.1",
		"::", "::1", "1::", "1::2", "2001:db8::1", "2001:DB8::ABCD", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9",
		"1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1:2:3:4:5:6:7::8", "1::2::3", ":::", ":1", "1:", "1:::2",
		"12345::", "0001:0002::", "::ffff:1.2.3.4", "::1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4",
		"1:2:3:4:5:1.2.3.4", "::ffff:1.2.3", "::ffff:01.2.3.4", "1.2.3.4::", "::1.2.3.4:5", "g::",
		"fe80::1%eth0", "::ffff:256.1.1.1", "1::1.2.3.4", "1:2:3:4:5:6:7:8::", ":", "1",
	} {
		f(s)
	}
}

func FuzzParseIP(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "::ffff:1.2.3.4", "2001:db8::1", "1:2:3:4:5:6:7:8", "::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkParseIP(t, s) })
}

func checkParseIP(t *testing.T, s string) {
	t.Helper()
	want, err := netip.ParseAddr(s)
	wantOK := err == nil && want.Zone() == ""
	var got netip.Addr
	var ok bool
	if strings.Contains(s, ":") {
		var b [16]byte
		b, ok = parseIPv6([]byte(s))
		got = netip.AddrFrom16(b)
	} else {
		var b [4]byte
		b, ok = parseIPv4([]byte(s))
		got = netip.AddrFrom4(b)
	}
	if ok != wantOK || (ok && got != want) {
		t.Fatalf("%q: got %v %v, netip says %v %v", s, got, ok, want, err)
	}
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }
