package ratelimit

import (
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// t0 is the injected clock's start; tests move it by hand.
var t0 = time.Unix(1_700_000_000, 0)

func at(d time.Duration) time.Time { return t0.Add(d) }

func mustSet(t testing.TB, cfg Config) *Set {
	t.Helper()
	s, err := NewSet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// nthAddr is a distinct IPv4 address per n (a spoofing flood).
func nthAddr(n int) netip.Addr {
	return netip.AddrFrom4([4]byte{100, byte(n >> 16), byte(n >> 8), byte(n)})
}

// A call is "+" (allowed) or "-<retryAfter>" at an offset from t0.
func TestBucket(t *testing.T) {
	f := func(rate float64, burst int, calls string) {
		t.Helper()
		s := mustSet(t, Config{Principal: Scope{Rate: rate, Burst: burst}})
		for _, c := range strings.Fields(calls) {
			off, want, _ := strings.Cut(c, "=")
			d, err := time.ParseDuration(off)
			if err != nil {
				t.Fatal(err)
			}
			ok, retry := s.Principal().Allow("k", at(d))
			got := "+"
			if !ok {
				got = "-" + retry.String()
			}
			if got != want {
				t.Fatalf("rate %v burst %d, %s: got %s, want %s", rate, burst, c, got, want)
			}
		}
	}
	// A new bucket is full: burst calls at once, then one per interval.
	f(1, 3, "0s=+ 0s=+ 0s=+ 0s=-1s 500ms=-500ms 1s=+ 1s=-1s 3s=+ 3s=+ 3s=-1s")
	// Idle time refills up to the burst, not beyond.
	f(1, 2, "0s=+ 0s=+ 10s=+ 10s=+ 10s=-1s")
	// Burst 0 is one second's worth.
	f(2, 0, "0s=+ 0s=+ 0s=-500ms 250ms=-250ms 500ms=+")
	f(0.5, 0, "0s=+ 0s=-2s 1s=-1s 2s=+")
	// A refusal costs nothing: hammering does not push the next token away.
	f(10, 1, "0s=+ 1ms=-99ms 2ms=-98ms 50ms=-50ms 100ms=+")
	// Rate 0 is unlimited.
	f(0, 0, "0s=+ 0s=+ 0s=+ 0s=+")
}

func TestAllowN(t *testing.T) {
	s := mustSet(t, Config{Stream: Scope{Rate: 10, Burst: 5}})
	f := func(d time.Duration, n int, wantOK bool, wantRetry time.Duration) {
		t.Helper()
		ok, retry := s.AllowEventN("s", n, at(d))
		if ok != wantOK || retry != wantRetry {
			t.Fatalf("%v n=%d: got %v %v, want %v %v", d, n, ok, retry, wantOK, wantRetry)
		}
	}
	f(0, 3, true, 0)
	f(0, 3, false, 100*time.Millisecond) // all or nothing
	f(0, 2, true, 0)
	f(0, 6, false, 0) // above the burst: never
	f(500*time.Millisecond, 5, true, 0)
	f(500*time.Millisecond, 0, true, 0)
}

func TestRetryAfterSeconds(t *testing.T) {
	f := func(d time.Duration, want int) {
		t.Helper()
		if got := RetryAfterSeconds(d); got != want {
			t.Fatalf("RetryAfterSeconds(%v) = %d, want %d", d, got, want)
		}
	}
	f(0, 1)
	f(time.Nanosecond, 1)
	f(time.Second, 1)
	f(time.Second+time.Nanosecond, 2)
	f(1500*time.Millisecond, 2)
	f(2*time.Second, 2)
	f(time.Hour, 3600)
}

func TestConfigErrors(t *testing.T) {
	f := func(cfg Config, want string) {
		t.Helper()
		_, err := NewSet(cfg)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v, want an error with %q", err, want)
		}
	}
	f(Config{IP: Scope{Rate: -1}}, "ratelimit.ip.rate")
	f(Config{IP: Scope{Rate: 1e-9}}, "ratelimit.ip.rate")
	f(Config{IP: Scope{Rate: 2e9}}, "ratelimit.ip.rate")
	f(Config{Principal: Scope{Rate: 1, Burst: -1}}, "ratelimit.principal.burst")
	f(Config{Stream: Scope{Rate: 1, Capacity: -5}}, "ratelimit.stream.capacity")
	f(Config{Stream: Scope{Rate: 1, Capacity: 1 << 30}}, "ratelimit.stream.capacity")
	f(Config{IPv6Prefix: 129}, "ratelimit.ipv6_prefix")
	f(Config{Streams: map[string]Limit{"b": {Rate: -1}, "a": {Rate: -2}}}, `ratelimit.streams["a"].rate`)
	f(Config{Principal: Scope{Rate: 1e-6, Burst: 1e9}}, "spans too long")
}

func TestCapacityRoundsUpAndTablesOnlyWhenLimited(t *testing.T) {
	s := mustSet(t, Config{
		IP:        Scope{Rate: 1, Capacity: 100},
		Principal: Scope{Rate: 0, Capacity: 100},
		Stream:    Scope{Rate: 0},
		Streams:   map[string]Limit{"limited": {Rate: 1}},
	})
	f := func(l *limiter, want int) {
		t.Helper()
		got := 0
		if st := l.state.Load(); st.tab != nil {
			got = st.tab.capacity()
		}
		if got != want {
			t.Fatalf("%s: capacity %d, want %d", ScopeName[l.scope], got, want)
		}
	}
	f(&s.ip.l, 128)
	f(&s.principal.l, 0)
	f(&s.stream.l, DefaultCapacity[ScopeStream]) // an override needs the table
}

func TestStreamOverrides(t *testing.T) {
	s := mustSet(t, Config{
		Stream:  Scope{Rate: 1, Burst: 1},
		Streams: map[string]Limit{"big": {Rate: 100, Burst: 3}, "free": {Rate: 0}},
	})
	f := func(stream string, wantAllowed int) {
		t.Helper()
		n := 0
		for range 10 {
			if ok, _ := s.AllowEvent(stream, t0); ok {
				n++
			}
		}
		if n != wantAllowed {
			t.Fatalf("%s: %d of 10 allowed, want %d", stream, n, wantAllowed)
		}
	}
	f("default.one", 1)
	f("default.two", 1) // each stream has its own bucket
	f("big", 3)
	f("free", 10)
}

func TestIPKeys(t *testing.T) {
	s := mustSet(t, Config{IP: Scope{Rate: 1, Burst: 1}, IPv6Prefix: 64})
	cases := 0
	f := func(first, second string, shared bool) {
		t.Helper()
		cases++
		now := at(time.Duration(cases) * time.Hour) // every bucket full again
		if ok, _ := s.IP().Allow(addr(first), now); !ok {
			t.Fatalf("%s: first call refused", first)
		}
		ok, _ := s.IP().Allow(addr(second), now)
		if ok == shared {
			t.Fatalf("%s then %s: second allowed=%v, want shared bucket=%v", first, second, ok, shared)
		}
	}
	f("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true) // one /64
	f("2001:db8:1:3::1", "2001:db8:1:4::1", false)
	f("192.0.2.1", "::ffff:192.0.2.1", true) // IPv4-mapped is IPv4
	f("192.0.2.10", "192.0.2.11", false)
	f("::ffff:0:0", "0.0.0.0", true)
	f("::", "0.0.0.0", false) // IPv6 zero and IPv4 zero differ

	full := mustSet(t, Config{IP: Scope{Rate: 1, Burst: 1}, IPv6Prefix: 128})
	full.IP().Allow(addr("2001:db8::1"), t0)
	if ok, _ := full.IP().Allow(addr("2001:db8::2"), t0); !ok {
		t.Fatal("ipv6_prefix 128: two addresses share a bucket")
	}
}

func TestAllowRequest(t *testing.T) {
	s := mustSet(t, Config{IP: Scope{Rate: 1, Burst: 2}, Principal: Scope{Rate: 1, Burst: 1}})
	ip := addr("192.0.2.7")
	f := func(d time.Duration, principal string, wantOK bool, wantScope int, wantRetry time.Duration) {
		t.Helper()
		ok, retry, scope := s.AllowRequest(ip, principal, at(d))
		if ok != wantOK || scope != wantScope || retry != wantRetry {
			t.Fatalf("%v %q: got %v %s %v, want %v %d %v", d, principal, ok, retry, scope, wantOK, wantScope, wantRetry)
		}
	}
	f(0, "alice", true, -1, 0)
	// The principal refuses; the IP token is given back, so the anonymous call still passes.
	f(0, "alice", false, ScopePrincipal, time.Second)
	f(0, "", true, -1, 0)
	f(0, "", false, ScopeIP, time.Second)
	f(0, "bob", false, ScopeIP, time.Second) // the IP is checked first
	f(time.Second, "alice", true, -1, 0)
}

// The core property of eviction: a throttled key cannot be flushed out of its set by a flood of
// fresh keys (an IP-spoofing flood), while memory stays at capacity.
func TestFloodOfNewKeysDoesNotResetThrottledKey(t *testing.T) {
	f := func(capacity, flood int) {
		t.Helper()
		s := mustSet(t, Config{IP: Scope{Rate: 1, Burst: 3, Capacity: capacity}})
		victim := addr("198.51.100.1")
		for range 3 {
			s.IP().Allow(victim, t0)
		}
		activeBefore := evictionsActive[ScopeIP].Get()
		for i := range flood {
			if ok, _ := s.IP().Allow(nthAddr(i), at(time.Duration(i)*time.Microsecond)); !ok {
				t.Fatalf("flood key %d refused: a new key starts full", i)
			}
		}
		now := at(time.Duration(flood) * time.Microsecond)
		if ok, retry := s.IP().Allow(victim, now); ok || retry < 900*time.Millisecond {
			t.Fatalf("capacity %d, flood %d: throttled key reset (allowed=%v, retry %v)", capacity, flood, ok, retry)
		}
		if got := s.IP().Keys(); got != roundCapacity(capacity) {
			t.Fatalf("capacity %d: %d keys tracked", capacity, got)
		}
		if evictionsActive[ScopeIP].Get() == activeBefore {
			t.Fatal("a flood over a full table evicted nothing")
		}
		if ok, _ := s.IP().Allow(victim, now.Add(time.Second)); !ok {
			t.Fatal("throttled key not allowed after its interval")
		}
	}
	f(8, 10_000) // one set: the victim shares its set with every flood key
	f(64, 10_000)
	f(1024, 100_000)
}

// A full bucket is evicted before any bucket in debt, and the key comes back full, which is what
// it had: nothing is lost.
func TestEvictionPrefersFullBuckets(t *testing.T) {
	s := mustSet(t, Config{IP: Scope{Rate: 1, Burst: 2, Capacity: 8}}) // one set
	idle := addr("203.0.113.1")
	s.IP().Allow(idle, t0)
	busy := make([]netip.Addr, 7)
	for i := range busy {
		busy[i] = nthAddr(i)
	}
	now := at(10 * time.Second) // idle has refilled long ago
	for _, b := range busy {
		s.IP().Allow(b, now)
	}
	idleBefore := evictionsIdle[ScopeIP].Get()
	s.IP().Allow(addr("203.0.113.2"), now) // the set is full: someone goes
	if evictionsIdle[ScopeIP].Get() != idleBefore+1 {
		t.Fatal("the full bucket was not the one evicted")
	}
	for _, b := range busy {
		if ok, _ := s.IP().Allow(b, now); !ok {
			t.Fatalf("%s: its last token was refused", b)
		}
		if ok, _ := s.IP().Allow(b, now); ok {
			t.Fatalf("%s: bucket in debt was evicted and reset", b)
		}
	}
	for range 2 {
		if ok, _ := s.IP().Allow(idle, now); !ok {
			t.Fatal("evicted full bucket did not come back full")
		}
	}
}

// The documented limit of the rule: when every other key of a set is deeper in debt, the
// throttled key is the one forgotten. Getting there takes throttling 7 other keys of the same
// (secretly seeded) set, which is more than using a fresh key would give.
func TestEvictionForgetsTheSmallestDebt(t *testing.T) {
	f := func(othersLater bool, wantVictimReset bool) {
		t.Helper()
		s := mustSet(t, Config{IP: Scope{Rate: 1, Burst: 2, Capacity: 8}}) // one set
		victim := addr("198.51.100.1")
		others := func(now time.Time) {
			for i := range 7 {
				s.IP().Allow(nthAddr(i), now)
				s.IP().Allow(nthAddr(i), now)
			}
		}
		if !othersLater {
			others(t0)
		}
		s.IP().Allow(victim, at(time.Millisecond))
		s.IP().Allow(victim, at(time.Millisecond))
		if othersLater {
			others(at(2 * time.Millisecond))
		}
		s.IP().Allow(addr("203.0.113.9"), at(3*time.Millisecond))
		ok, _ := s.IP().Allow(victim, at(3*time.Millisecond))
		if ok != wantVictimReset {
			t.Fatalf("others later=%v: victim allowed=%v", othersLater, ok)
		}
	}
	f(false, false)
	f(true, true)
}

func TestReload(t *testing.T) {
	cfg := Config{
		IP:      Scope{Rate: 1, Burst: 2, Capacity: 64},
		Stream:  Scope{Rate: 1, Burst: 1},
		Streams: map[string]Limit{"a": {Rate: 1, Burst: 1}},
	}
	s := mustSet(t, cfg)
	ip := addr("192.0.2.1")
	throttle := func() {
		s.IP().Allow(ip, t0)
		s.IP().Allow(ip, t0)
		s.AllowEvent("a", t0)
	}
	f := func(name string, cfg Config, wantIP, wantStream bool) {
		t.Helper()
		throttle()
		if err := s.Reload(cfg); err != nil {
			t.Fatal(err)
		}
		okIP, _ := s.IP().Allow(ip, t0)
		okStream, _ := s.AllowEvent("a", t0)
		if okIP != wantIP || okStream != wantStream {
			t.Fatalf("%s: ip allowed=%v stream allowed=%v, want %v %v", name, okIP, okStream, wantIP, wantStream)
		}
	}
	// Same limits: state kept.
	f("same", cfg, false, false)
	// Other limits, same capacity: the debt is kept and read against the new burst.
	c := cfg
	c.IP.Burst = 3
	f("bigger burst", c, true, false)
	c.IP.Burst = 2
	// Another capacity: buckets move to the new table.
	c.IP.Capacity = 1024
	f("capacity", c, false, false)
	// Unlimited: the table goes.
	c.IP = Scope{}
	c.Streams = map[string]Limit{"a": {Rate: 0}}
	f("unlimited", c, true, true)
	if s.IP().Keys() != 0 {
		t.Fatal("unlimited scope still holds keys")
	}
	// An invalid config changes nothing.
	f("limited again", cfg, true, false)
	if err := s.Reload(Config{IP: Scope{Rate: -1}}); err == nil {
		t.Fatal("invalid config accepted")
	}
	s.IP().Allow(ip, t0) // the last of the burst of 2
	if ok, _ := s.IP().Allow(ip, t0); ok {
		t.Fatal("invalid config was applied")
	}
}

// A flood from one client must not slow or block another: key a is hammered from several
// goroutines while key b, in the same set (capacity 8: one set, one mutex), calls at exactly its
// own rate on the injected clock and must be allowed every time. Each step waits until a has made
// calls at the new time, so the two interleave, and a gets exactly its own allowance.
func TestFloodFromOneClientDoesNotBlockAnother(t *testing.T) {
	const interval = 100 * time.Millisecond
	const burst = 5
	const hammers = 4
	s := mustSet(t, Config{IP: Scope{Rate: 10, Burst: burst, Capacity: 8}})
	a, b := addr("192.0.2.66"), addr("192.0.2.77")
	var clock atomic.Int64
	var aAllowed, aCalls atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range hammers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				aCalls.Add(1) // before reading the clock: see the wait below
				if ok, _ := s.IP().Allow(a, t0.Add(time.Duration(clock.Load()))); ok {
					aAllowed.Add(1)
				}
			}
		}()
	}
	const steps = 2000
	for i := range steps {
		now := time.Duration(i) * interval
		clock.Store(int64(now))
		// More calls than hammers since the Store: at least one of them read the new time.
		for c := aCalls.Load(); aCalls.Load() <= c+hammers; {
			runtime.Gosched()
		}
		if ok, retry := s.IP().Allow(b, t0.Add(now)); !ok {
			close(stop)
			wg.Wait()
			t.Fatalf("step %d: b refused (retry %v) while a floods", i, retry)
		}
	}
	close(stop)
	wg.Wait()
	if want := int64(burst + steps - 1); aAllowed.Load() != want {
		t.Fatalf("a allowed %d times, want its allowance %d", aAllowed.Load(), want)
	}
	t.Logf("a: %d calls, %d allowed; b: %d of %d allowed", aCalls.Load(), aAllowed.Load(), steps, steps)
}

func TestMetrics(t *testing.T) {
	s := mustSet(t, Config{Principal: Scope{Rate: 1, Burst: 1, Capacity: 8}})
	rej := rejected[ScopePrincipal].Get()
	keys := keysGauge[ScopePrincipal].Get()
	s.Principal().Allow("p", t0)
	s.Principal().Allow("p", t0)
	s.Principal().Allow("q", t0)
	if got := rejected[ScopePrincipal].Get() - rej; got != 1 {
		t.Fatalf("rejected: +%d, want +1", got)
	}
	if got := keysGauge[ScopePrincipal].Get() - keys; got != 2 {
		t.Fatalf("keys gauge: %+v, want +2", got)
	}
	if err := s.Reload(Config{}); err != nil {
		t.Fatal(err)
	}
	if got := keysGauge[ScopePrincipal].Get() - keys; got != 0 {
		t.Fatalf("keys gauge after the table went: %+v, want +0", got)
	}
}

func TestRaceManyKeysAndReloads(t *testing.T) {
	// For the race detector: Allow on many keys from several goroutines while Reload swaps limits
	// and capacity.
	s := mustSet(t, Config{IP: Scope{Rate: 100, Capacity: 64}, Stream: Scope{Rate: 10}})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20_000 {
				now := at(time.Duration(i) * time.Millisecond)
				s.AllowRequest(nthAddr(g*1000+i%300), fmt.Sprint(i%5), now)
				s.AllowEvent("s", now)
			}
		}()
	}
	for i := range 50 {
		if err := s.Reload(Config{IP: Scope{Rate: float64(100 + i), Capacity: 64 << (i % 2)}, Stream: Scope{Rate: 10}}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}
