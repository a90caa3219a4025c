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
}
