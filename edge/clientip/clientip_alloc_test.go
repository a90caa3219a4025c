//go:build !race

package clientip

import (
	"net/netip"
	"testing"
)

// Finding the client address runs once per request on the hot path: it must not allocate.
func TestFromDoesNotAllocate(t *testing.T) {
	trusted, _ := ParseProxies([]string{"10.0.0.0/8", "2001:db8:ffff::/48"})
	xff := []byte("6.6.6.6, 2001:db8:1::7, 10.1.2.3")
	lines := [][]byte{[]byte("1.1.1.1"), []byte("198.51.100.7:443, 10.1.2.3")}
	f := func(name string, fn func()) {
		t.Helper()
		fn() // warm
		if n := testing.AllocsPerRun(1000, fn); n != 0 {
			t.Fatalf("%s: %.2f allocations per call, want 0", name, n)
		}
	}
	f("From", func() {
		if From(netip.AddrFrom4([4]byte{10, 0, 0, 1}), xff, nil, trusted) != netip.MustParseAddr("2001:db8:1::7") {
			t.Fatal("wrong client")
		}
	})
	f("From malformed", func() { From(netip.AddrFrom4([4]byte{10, 0, 0, 1}), []byte("bogus"), []byte("bogus"), trusted) })
	f("FromLines", func() { FromLines(netip.AddrFrom4([4]byte{10, 0, 0, 1}), lines, nil, trusted) })
	f("ForEvents X-Client-IP", func() { ForEvents(netip.AddrFrom4([4]byte{10, 0, 0, 1}), lines, []byte("198.51.100.8"), trusted) })
	f("ForEvents X-Forwarded-For", func() {
		if ForEvents(netip.AddrFrom4([4]byte{10, 0, 0, 1}), lines, []byte("bogus"), trusted) != netip.MustParseAddr("1.1.1.1") {
			t.Fatal("wrong client")
		}
	})
}
