package edge

import (
	"sync"
	"sync/atomic"

	"intake.dev/intake/schemacache"
)

// perSnapshot keeps what the edge derives from a configuration snapshot (CORS tables, the
// /v1/streams view): built once, by build, the first time a snapshot is asked for, then read with
// one atomic load per request. Only the latest snapshot's is kept.
type perSnapshot[T any] struct {
	build func(*schemacache.Snapshot) *T
	mu    sync.Mutex // one build at a time
	cur   atomic.Pointer[snapMemo[T]]
}

type snapMemo[T any] struct {
	snap *schemacache.Snapshot
	v    *T
}

func (p *perSnapshot[T]) get(snap *schemacache.Snapshot) *T {
	if m := p.cur.Load(); m != nil && m.snap == snap {
		return m.v
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if m := p.cur.Load(); m != nil && m.snap == snap {
		return m.v
	}
	v := p.build(snap)
	p.cur.Store(&snapMemo[T]{snap: snap, v: v})
	return v
}
