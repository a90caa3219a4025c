package ratelimit

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The clock advances 1µs per call and the rate is 1e6/s, so the hot key stays allowed and the
// benchmarks measure the allowed path. The baseline is the obvious design, one mutex over a map of
// float token buckets, which neither bounds memory nor shards.

const benchKeys = 100_000

func benchSet(b *testing.B) *Set {
	return mustSet(b, Config{IP: Scope{Rate: 1e6, Burst: 1000, Capacity: 1 << 17}})
}

func BenchmarkAllow(b *testing.B) {
	keys := make([]netip.Addr, benchKeys)
	for i := range keys {
		keys[i] = nthAddr(i)
	}
	b.Run("hot-key", func(b *testing.B) {
		s := benchSet(b)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			s.IP().Allow(keys[0], at(time.Duration(i)*time.Microsecond))
		}
	})
	b.Run("many-keys", func(b *testing.B) {
		s := benchSet(b)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			s.IP().Allow(keys[i%benchKeys], at(time.Duration(i)*time.Microsecond))
		}
	})
	b.Run("new-keys-evicting", func(b *testing.B) {
		s := mustSet(b, Config{IP: Scope{Rate: 1e6, Burst: 1000, Capacity: 1 << 12}})
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			s.IP().Allow(nthAddr(i), at(time.Duration(i)*time.Microsecond))
		}
	})
	b.Run("principal", func(b *testing.B) {
		s := mustSet(b, Config{Principal: Scope{Rate: 1e6, Burst: 1000}})
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			s.Principal().Allow("service:mediawiki-jobrunner", at(time.Duration(i)*time.Microsecond))
		}
	})
	b.Run("request-ip+principal", func(b *testing.B) {
		s := mustSet(b, Config{IP: Scope{Rate: 1e6, Burst: 1000}, Principal: Scope{Rate: 1e6, Burst: 1000}})
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			s.AllowRequest(keys[i%benchKeys], "service:mediawiki-jobrunner", at(time.Duration(i)*time.Microsecond))
		}
	})
	b.Run("baseline-mutex-map/hot-key", func(b *testing.B) {
		m := newMapLimiter(1e6, 1000)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			m.allow(keys[0], at(time.Duration(i)*time.Microsecond))
		}
	})
	b.Run("baseline-mutex-map/many-keys", func(b *testing.B) {
		m := newMapLimiter(1e6, 1000)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			m.allow(keys[i%benchKeys], at(time.Duration(i)*time.Microsecond))
		}
	})
}

func BenchmarkAllowParallel(b *testing.B) {
	keys := make([]netip.Addr, benchKeys)
	for i := range keys {
		keys[i] = nthAddr(i)
	}
	var seq atomic.Int64
	run := func(b *testing.B, allow func(netip.Addr, time.Time) bool, hot bool) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			g := int(seq.Add(1)) * 7919
			for i := 0; pb.Next(); i++ {
				k := keys[0]
				if !hot {
					k = keys[(g+i)%benchKeys]
				}
				allow(k, at(time.Duration(i)*time.Microsecond))
			}
		})
	}
	b.Run("hot-key", func(b *testing.B) {
		s := benchSet(b)
		run(b, func(a netip.Addr, now time.Time) bool { ok, _ := s.IP().Allow(a, now); return ok }, true)
	})
	b.Run("many-keys", func(b *testing.B) {
		s := benchSet(b)
		run(b, func(a netip.Addr, now time.Time) bool { ok, _ := s.IP().Allow(a, now); return ok }, false)
	})
	b.Run("baseline-mutex-map/hot-key", func(b *testing.B) {
		m := newMapLimiter(1e6, 1000)
		run(b, m.allow, true)
	})
	b.Run("baseline-mutex-map/many-keys", func(b *testing.B) {
		m := newMapLimiter(1e6, 1000)
		run(b, m.allow, false)
	})
}

// mapLimiter is the baseline: a float token bucket per key in one map under one mutex.
type mapLimiter struct {
	mu      sync.Mutex
	rate    float64
	burst   float64
	buckets map[netip.Addr]*mapBucket
}

type mapBucket struct {
	tokens float64
	last   time.Time
}

func newMapLimiter(rate, burst float64) *mapLimiter {
	return &mapLimiter{rate: rate, burst: burst, buckets: map[netip.Addr]*mapBucket{}}
}

func (m *mapLimiter) allow(a netip.Addr, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	bk := m.buckets[a]
	if bk == nil {
		bk = &mapBucket{tokens: m.burst, last: now}
		m.buckets[a] = bk
	}
	bk.tokens = min(m.burst, bk.tokens+now.Sub(bk.last).Seconds()*m.rate)
	bk.last = now
	if bk.tokens < 1 {
		return false
	}
	bk.tokens--
	return true
}
