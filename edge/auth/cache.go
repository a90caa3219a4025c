package auth

import (
	"sync"
	"sync/atomic"
)

// tokenCache remembers verified (and refused) JWTs by the SHA-256 of the token, so that a burst
// of requests with one token pays for one signature check. It is sharded to keep lock contention
// low, bounded, and dedups concurrent misses of one token: the first request verifies, the others
// wait for its answer.
type tokenCache struct {
	maxPerShard int
	// gen counts purges: a verification that began before a purge must not cache its outcome.
	gen    atomic.Uint64
	shards [cacheShards]cacheShard
}

const cacheShards = 16

type cacheShard struct {
	mu       sync.RWMutex
	m        map[[32]byte]cacheEntry
	inflight map[[32]byte]*flight
	_        [64]byte // keep shards' locks on separate cache lines
}

type cacheEntry struct {
	p     *Principal
	err   *Error
	until int64 // unix nanoseconds
}

// flight is one verification in progress; done is closed once p and err are set.
type flight struct {
	done chan struct{}
	gen  uint64
	p    *Principal
	err  *Error
}

func newTokenCache(size int) *tokenCache {
	c := &tokenCache{maxPerShard: max(1, (size+cacheShards-1)/cacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[[32]byte]cacheEntry)
		c.shards[i].inflight = make(map[[32]byte]*flight)
	}
	return c
}

func (c *tokenCache) shard(h *[32]byte) *cacheShard { return &c.shards[h[0]%cacheShards] }

// get returns a live entry for h. It does not allocate.
func (c *tokenCache) get(h *[32]byte, now int64) (cacheEntry, bool) {
	s := c.shard(h)
	s.mu.RLock()
	e, ok := s.m[*h]
	s.mu.RUnlock()
	if !ok || now >= e.until {
		return cacheEntry{}, false
	}
	return e, true
}

// begin either returns a live entry (hit), or joins a verification of h in progress (f, owner ==
// false: wait on f.done), or starts one (owner == true: verify, then call finish).
func (c *tokenCache) begin(h *[32]byte, now int64) (e cacheEntry, hit bool, f *flight, owner bool) {
	s := c.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[*h]; ok && now < e.until {
		return e, true, nil, false
	}
	if f := s.inflight[*h]; f != nil {
		return cacheEntry{}, false, f, false
	}
	f = &flight{done: make(chan struct{}), gen: c.gen.Load()}
	s.inflight[*h] = f
	return cacheEntry{}, false, f, true
}

// finish publishes the outcome of the verification begun for h, caching it until until (no
// caching when until <= now).
func (c *tokenCache) finish(h *[32]byte, f *flight, p *Principal, err *Error, now, until int64) {
	s := c.shard(h)
	s.mu.Lock()
	delete(s.inflight, *h)
	if until > now && f.gen == c.gen.Load() {
		if len(s.m) >= c.maxPerShard {
			s.evict(now, c.maxPerShard)
		}
		s.m[*h] = cacheEntry{p: p, err: err, until: until}
	}
	s.mu.Unlock()
	f.p, f.err = p, err
	close(f.done)
}

// evict drops the expired entries, and if that is not enough, arbitrary ones (Go's map order is
// randomized) down to 7/8 of the bound, so that a full shard does not scan on every insert.
func (s *cacheShard) evict(now int64, maxEntries int) {
	for h, e := range s.m {
		if now >= e.until {
			delete(s.m, h)
		}
	}
	for h := range s.m {
		if len(s.m) < maxEntries-maxEntries/8 {
			break
		}
		delete(s.m, h)
	}
}

// purge empties the cache: the key set lost a key, so what it verified may no longer hold.
func (c *tokenCache) purge() {
	c.gen.Add(1)
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		clear(s.m)
		s.mu.Unlock()
	}
}

func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
