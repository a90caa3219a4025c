//go:build !race

package ratelimit

import (
	"net/netip"
	"testing"
	"time"
)

// Every call on the hot path, known key or new (with eviction), allowed or refused, must not
// allocate: the tables are allocated whole by NewSet.
func TestAllowDoesNotAllocate(t *testing.T) {
	s := mustSet(t, Config{
		IP:        Scope{Rate: 10, Burst: 2, Capacity: 64},
		Principal: Scope{Rate: 10, Burst: 2, Capacity: 64},
		Stream:    Scope{Rate: 10, Burst: 2, Capacity: 64},
		Streams:   map[string]Limit{"big": {Rate: 1000}},
	})
	trusted, _ := ParseTrustedProxies([]string{"10.0.0.0/8", "2001:db8:ffff::/48"})
	xff := []byte("6.6.6.6, 2001:db8:1::7, 10.1.2.3")
	lines := [][]byte{[]byte("1.1.1.1"), []byte("198.51.100.7:443, 10.1.2.3")}
	principals := []string{"alice", "bob", "carol"}
	i := 0
	f := func(name string, fn func()) {
		t.Helper()
		fn() // warm
		if n := testing.AllocsPerRun(1000, fn); n != 0 {
			t.Fatalf("%s: %.2f allocations per call, want 0", name, n)
		}
	}
	f("hot key", func() { s.IP().Allow(netip.AddrFrom4([4]byte{192, 0, 2, 1}), t0) })
	f("new keys, evicting", func() {
		i++
		s.IP().Allow(nthAddr(i), at(time.Duration(i)))
	})
	f("request", func() {
		i++
		s.AllowRequest(nthAddr(i%100), principals[i%3], at(time.Duration(i)*time.Millisecond))
	})
	f("events", func() {
		s.AllowEvent("test.event", t0)
		s.AllowEventN("big", 5, t0)
	})
	f("ClientIP", func() {
		if ClientIP(netip.AddrFrom4([4]byte{10, 0, 0, 1}), xff, nil, trusted) != netip.MustParseAddr("2001:db8:1::7") {
			t.Fatal("wrong client")
		}
	})
	f("ClientIP malformed", func() { ClientIP(netip.AddrFrom4([4]byte{10, 0, 0, 1}), []byte("bogus"), []byte("bogus"), trusted) })
	f("ClientIPLines", func() { ClientIPLines(netip.AddrFrom4([4]byte{10, 0, 0, 1}), lines, nil, trusted) })
}
