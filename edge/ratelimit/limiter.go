package ratelimit

import (
	"encoding/binary"
	"hash/maphash"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// epoch is the zero of the tables' clock. It carries a monotonic reading, so a now from
// time.Now() is read on the monotonic clock and a wall-clock step does not move any bucket.
var epoch = time.Now()

func nanos(now time.Time) int64 { return int64(now.Sub(epoch)) }

// String keys are two hashes under these seeds. They are per process, not per table, so a bucket
// keeps its key when Reload moves it to a table of another capacity.
var strSeedHi, strSeedLo = maphash.MakeSeed(), maphash.MakeSeed()

func stringKey(s string) key {
	return key{hi: maphash.String(strSeedHi, s), lo: maphash.String(strSeedLo, s)}
}

// ipKey is a's 16-byte form (IPv4 as IPv4-mapped), IPv6 cut to v6bits. The zero Addr is one key.
func ipKey(a netip.Addr, v6bits int) key {
	a = a.Unmap()
	b := a.As16()
	k := key{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:])}
	if a.Is6() && v6bits < 128 {
		if v6bits <= 64 {
			k.hi &= ^uint64(0) << (64 - v6bits)
			k.lo = 0
		} else {
			k.lo &= ^uint64(0) << (128 - v6bits)
		}
	}
	return k
}

// limiterState is what Reload swaps: the limits and the table holding the buckets.
type limiterState struct {
	scopeLimits
	tab *table // nil when nothing is limited
}

func (st *limiterState) limitFor(name string) limit {
	if st.overrides != nil {
		if l, ok := st.overrides[name]; ok {
			return l
		}
	}
	return st.def
}

type limiter struct {
	scope int
	state atomic.Pointer[limiterState]
}

func (l *limiter) allow(st *limiterState, lim limit, k key, n int, now time.Time) (bool, time.Duration) {
	if lim.unlimited() {
		return true, 0
	}
	ok, wait := st.tab.allow(k, lim, int64(n), nanos(now))
	if !ok {
		rejected[l.scope].Inc()
	}
	return ok, time.Duration(wait)
}

// reload installs sl, keeping the table (and so every bucket) when the capacity is unchanged and
// moving the buckets to a new table when it changed. A bucket's state is its TAT, which stays
// meaningful under new limits: its debt is kept, in time, and read against the new burst.
func (l *limiter) reload(sl scopeLimits) {
	old := l.state.Load()
	st := &limiterState{scopeLimits: sl}
	if sl.capacity > 0 {
		if old != nil && old.tab != nil && old.tab.capacity() == sl.capacity {
			st.tab = old.tab
		} else {
			st.tab = newTable(l.scope, sl.capacity)
			if old != nil && old.tab != nil {
				// Calls on the old table between this copy and the Store below are forgotten.
				st.tab.migrateFrom(old.tab, nanos(time.Now()))
			}
		}
	}
	l.state.Store(st)
	if old != nil && old.tab != nil && old.tab != st.tab {
		old.tab.release()
	}
}

func (l *limiter) keys() int {
	if st := l.state.Load(); st.tab != nil {
		return int(st.tab.count.Load())
	}
	return 0
}

// IPLimiter limits client addresses.
type IPLimiter struct{ l limiter }

// Allow takes one token from addr's bucket. On refusal, retryAfter is the wait for one token.
func (l *IPLimiter) Allow(addr netip.Addr, now time.Time) (ok bool, retryAfter time.Duration) {
	st := l.l.state.Load()
	return l.l.allow(st, st.def, ipKey(addr, st.v6bits), 1, now)
}

func (l *IPLimiter) refund(addr netip.Addr) {
	if st := l.l.state.Load(); !st.def.unlimited() {
		st.tab.refund(ipKey(addr, st.v6bits), st.def, 1)
	}
}

// Keys is how many addresses (or IPv6 prefixes) have a bucket.
func (l *IPLimiter) Keys() int { return l.l.keys() }

// KeyLimiter limits string keys: principals, or streams (with per-stream limits).
type KeyLimiter struct{ l limiter }

// Allow takes one token from k's bucket. On refusal, retryAfter is the wait for one token.
func (l *KeyLimiter) Allow(k string, now time.Time) (ok bool, retryAfter time.Duration) {
	return l.AllowN(k, 1, now)
}

// AllowN takes n tokens at once (a batch of n events of one stream), or none. n above the burst
// is never allowed, and retryAfter is then 0: split the batch or cap it at the burst.
func (l *KeyLimiter) AllowN(k string, n int, now time.Time) (ok bool, retryAfter time.Duration) {
	st := l.l.state.Load()
	lim := st.limitFor(k)
	if lim.unlimited() {
		return true, 0
	}
	return l.l.allow(st, lim, stringKey(k), n, now)
}

// Keys is how many keys have a bucket.
func (l *KeyLimiter) Keys() int { return l.l.keys() }

// Set is the three limiters of one configuration.
type Set struct {
	mu        sync.Mutex // serializes Reload
	ip        IPLimiter
	principal KeyLimiter
	stream    KeyLimiter
}

// NewSet builds the limiters of cfg. Tables are allocated here, at their full capacity, for the
// scopes cfg limits.
func NewSet(cfg Config) (*Set, error) {
	s := &Set{}
	s.ip.l.scope = ScopeIP
	s.principal.l.scope = ScopePrincipal
	s.stream.l.scope = ScopeStream
	if err := s.Reload(cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload swaps in cfg's limits, each limiter atomically. Buckets survive unless their scope's
// capacity changed (then they are moved to the new table; a call racing the move may be
// forgotten) or the scope became unlimited. An invalid cfg changes nothing.
func (s *Set) Reload(cfg Config) error {
	sl, err := cfg.compile()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ip.l.reload(sl[ScopeIP])
	s.principal.l.reload(sl[ScopePrincipal])
	s.stream.l.reload(sl[ScopeStream])
	return nil
}

// IP, Principal and Stream are the Set's limiters, for callers that evaluate one scope alone.
func (s *Set) IP() *IPLimiter         { return &s.ip }
func (s *Set) Principal() *KeyLimiter { return &s.principal }
func (s *Set) Stream() *KeyLimiter    { return &s.stream }

// AllowRequest evaluates the request scopes in order, client IP then principal (skipped when
// empty), and stops at the first refusal: ok is false, retryAfter is that limiter's wait and
// scope says which one (ScopeIP or ScopePrincipal; -1 when ok). A refused request costs no token
// anywhere: the IP token is given back when the principal refuses.
func (s *Set) AllowRequest(ip netip.Addr, principal string, now time.Time) (ok bool, retryAfter time.Duration, scope int) {
	if ok, d := s.ip.Allow(ip, now); !ok {
		return false, d, ScopeIP
	}
	if principal != "" {
		if ok, d := s.principal.Allow(principal, now); !ok {
			s.ip.refund(ip)
			return false, d, ScopePrincipal
		}
	}
	return true, 0, -1
}

// AllowEvent takes one token of the stream's limit; stream should be the configured stream name
// (the key of its configuration), so that keys stay bounded by the configuration.
func (s *Set) AllowEvent(stream string, now time.Time) (ok bool, retryAfter time.Duration) {
	return s.stream.AllowN(stream, 1, now)
}

// AllowEventN takes n tokens of the stream's limit at once, or none.
func (s *Set) AllowEventN(stream string, n int, now time.Time) (ok bool, retryAfter time.Duration) {
	return s.stream.AllowN(stream, n, now)
}

// RetryAfterSeconds is the Retry-After header value for a wait: whole seconds rounded up, at
// least 1.
func RetryAfterSeconds(d time.Duration) int {
	if d <= time.Second {
		return 1
	}
	s := d / time.Second
	if d%time.Second != 0 {
		s++
	}
	return int(s)
}
