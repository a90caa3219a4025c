package ratelimit

import (
	"math/bits"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// ways is the associativity of a table: a key lives in one of the ways slots of its set.
const ways = 8

// key is a table key: an IP's 16 bytes, or two independently seeded 64-bit hashes of a string
// (128 bits: two distinct strings share a bucket with probability ~n²/2¹²⁹).
type key struct{ hi, lo uint64 }

// set is ways buckets under one mutex. Ways [0, n) are in use.
type set struct {
	mu   sync.Mutex
	n    uint8
	keys [ways]key
	tat  [ways]int64 // theoretical arrival time, ns since epoch
}

// table is a fixed-capacity, set-associative map from key to bucket. It never allocates after
// newTable.
type table struct {
	sets  []set
	mask  uint64
	seed  [2]uint64 // picks the set: random, so a client cannot aim its keys at one set
	scope int
	count atomic.Int64 // ways in use
}

func newTable(scope, capacity int) *table {
	n := capacity / ways
	if n < 1 || n&(n-1) != 0 {
		panic("BUG: table capacity is not a power-of-two multiple of ways")
	}
	return &table{sets: make([]set, n), mask: uint64(n - 1), seed: [2]uint64{rand.Uint64(), rand.Uint64()}, scope: scope}
}

func (t *table) capacity() int { return len(t.sets) * ways }

// setOf mixes k under the table's secret seed with two rounds of wyhash's multiply-fold: enough
// to spread keys and keep a client from predicting its set (a string key is a seeded hash
// already; an IP key is the address itself), at a fraction of maphash.Bytes' cost.
func (t *table) setOf(k key) *set {
	hi, lo := bits.Mul64(k.hi^t.seed[0], k.lo^t.seed[1])
	hi, lo = bits.Mul64(hi^t.seed[1], lo^0x9e3779b97f4a7c15)
	return &t.sets[(hi^lo)&t.mask]
}

// allow takes n tokens from k's bucket at now (GCRA), inserting the bucket (full) on a miss. On
// refusal it returns the wait until n tokens are there; a refusal changes nothing.
func (t *table) allow(k key, l limit, n, now int64) (bool, int64) {
	need := n * l.interval
	if n <= 0 {
		return true, 0
	}
	if n > l.tol/l.interval {
		// Slow path: more than a full bucket holds; never allowed, no wait helps.
		return false, 0
	}
	s := t.setOf(k)
	s.mu.Lock()
	for i := 0; i < int(s.n); i++ {
		if s.keys[i] != k {
			continue
		}
		// Fast path: a known key.
		tat := s.tat[i]
		if tat < now {
			tat = now
		}
		next := tat + need
		if wait := next - l.tol - now; wait > 0 {
			s.mu.Unlock()
			return false, wait
		}
		s.tat[i] = next
		s.mu.Unlock()
		return true, 0
	}
	// Slow path: a new key starts with a full bucket, which holds need.
	t.insertLocked(s, k, now+need, now)
	s.mu.Unlock()
	return true, 0
}

// insertLocked puts k with tat into s (locked), evicting if s is full.
func (t *table) insertLocked(s *set, k key, tat, now int64) {
	if s.n < ways {
		i := s.n
		s.n++
		s.keys[i], s.tat[i] = k, tat
		t.count.Add(1)
		keysGauge[t.scope].Inc()
		return
	}
	// The smallest TAT: a full bucket if any (the one full the longest), else the one closest to
	// full, i.e. the eviction that forgets the least debt.
	v := 0
	for i := 1; i < ways; i++ {
		if s.tat[i] < s.tat[v] {
			v = i
		}
	}
	if s.tat[v] <= now {
		evictionsIdle[t.scope].Inc()
	} else {
		evictionsActive[t.scope].Inc()
	}
	s.keys[v], s.tat[v] = k, tat
}

// refund gives n tokens back to k's bucket, if it is still there: a request admitted by an earlier
// scope and refused by a later one costs the earlier ones nothing.
func (t *table) refund(k key, l limit, n int64) {
	s := t.setOf(k)
	s.mu.Lock()
	for i := 0; i < int(s.n); i++ {
		if s.keys[i] == k {
			s.tat[i] -= n * l.interval
			break
		}
	}
	s.mu.Unlock()
}

// migrateFrom copies old's buckets into t (on a capacity change); buckets that no longer fit go
// by the usual eviction rule.
func (t *table) migrateFrom(old *table, now int64) {
	for i := range old.sets {
		s := &old.sets[i]
		s.mu.Lock()
		for j := 0; j < int(s.n); j++ {
			// Full buckets too: now is the real clock, which need not be the callers'.
			d := t.setOf(s.keys[j])
			d.mu.Lock()
			t.insertLocked(d, s.keys[j], s.tat[j], now)
			d.mu.Unlock()
		}
		s.mu.Unlock()
	}
}

// release drops t from the keys gauge once the limiter no longer uses it.
func (t *table) release() {
	keysGauge[t.scope].Add(-float64(t.count.Load()))
}
