package schemacache

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"intake.dev/intake/fastpath"
)

// Bounds on what client input can make the store hold: events name arbitrary URIs.
const (
	maxSchemas  = 10000             // compiled schemas
	maxAliases  = maxSchemas + 4096 // URI spellings remembered for the allocation-free hit
	maxNegative = 4096              // failed URIs remembered for NegativeTTL
)

// schemaStore holds the compiled schemas, shared by every snapshot. Readers load one immutable
// schemaState through an atomic pointer; writers copy it, change the copy and publish it.
type schemaStore struct {
	c     *Cache
	state atomic.Pointer[schemaState]

	pubMu   sync.Mutex // serializes publishers; guards counted
	counted int64      // schemas added to the schemasLoaded gauge by this store

	negMu  sync.Mutex
	neg    map[string]negEntry
	negLen atomic.Int32 // len(neg), read without negMu on the hit path

	flightMu sync.Mutex
	flights  map[string]*flight

	refreshMu sync.Mutex

	// loadHook, when set before first use (tests), runs before each fetch of a schema.
	loadHook func(canonical string)
	// joinHook, when set before first use (tests), runs when a lookup joins a load under way.
	joinHook func()
	// now is time.Now; tests move it.
	now func() time.Time
}

type schemaState struct {
	entries map[string]*schemaEntry     // canonical URI -> entry
	aliases map[string]*fastpath.Schema // URI as events spell it -> schema
}

type schemaEntry struct {
	ref    schemaRef
	schema *fastpath.Schema
	sum    [sha256.Size]byte // of the document as read, to skip recompiling an unchanged one
}

type negEntry struct {
	err   error
	until time.Time
}

type flight struct {
	done   chan struct{}
	schema *fastpath.Schema
	err    error
}

func newSchemaStore(c *Cache) *schemaStore {
	s := &schemaStore{
		c:       c,
		neg:     make(map[string]negEntry),
		flights: make(map[string]*flight),
		now:     time.Now,
	}
	s.state.Store(&schemaState{
		entries: map[string]*schemaEntry{},
		aliases: map[string]*fastpath.Schema{},
	})
	return s
}

// lookup is Snapshot.Schema. uri is not kept.
func (s *schemaStore) lookup(uri []byte) (*fastpath.Schema, error) {
	// Fast path: a URI seen before; the map lookup does not allocate.
	if sch := s.state.Load().aliases[string(uri)]; sch != nil {
		return sch, nil
	}
	// A URI that failed recently fails the same way until NegativeTTL passes.
	if s.negLen.Load() > 0 {
		s.negMu.Lock()
		e, ok := s.neg[string(uri)]
		s.negMu.Unlock()
		if ok && s.now().Before(e.until) {
			return nil, e.err
		}
	}
	return s.slow(string(uri))
}

// get is lookup for a string.
func (s *schemaStore) get(uri string) (*fastpath.Schema, error) {
	if sch := s.state.Load().aliases[uri]; sch != nil {
		return sch, nil
	}
	s.negMu.Lock()
	e, ok := s.neg[uri]
	s.negMu.Unlock()
	if ok && s.now().Before(e.until) {
		return nil, e.err
	}
	return s.slow(uri)
}

// slow resolves a URI not seen (or failed) before: check it, find its canonical schema, load it
// once however many requests ask at the same time.
func (s *schemaStore) slow(raw string) (*fastpath.Schema, error) {
	ref, err := s.c.res.parse(raw)
	if err != nil {
		countLoad(err)
		return nil, s.remember(raw, err)
	}
	if e := s.state.Load().entries[ref.canonical]; e != nil {
		s.addAlias(raw, e.schema)
		return e.schema, nil
	}
	sch, err := s.load(ref)
	if err != nil {
		return nil, s.remember(raw, err)
	}
	s.forget(raw)
	s.addAlias(raw, sch)
	return sch, nil
}

// load fetches and compiles the schema of ref; concurrent calls for one canonical URI share one
// load.
func (s *schemaStore) load(ref schemaRef) (*fastpath.Schema, error) {
	s.flightMu.Lock()
	if f := s.flights[ref.canonical]; f != nil {
		s.flightMu.Unlock()
		if s.joinHook != nil {
			s.joinHook()
		}
		<-f.done
		return f.schema, f.err
	}
	// It may have been published between the caller's check and here.
	if e := s.state.Load().entries[ref.canonical]; e != nil {
		s.flightMu.Unlock()
		return e.schema, nil
	}
	f := &flight{done: make(chan struct{})}
	s.flights[ref.canonical] = f
	s.flightMu.Unlock()

	e, err := s.fetchCompile(ref)
	countLoad(err)
	if err == nil {
		err = s.publish(e)
	}
	if err == nil {
		f.schema = e.schema
	} else {
		f.err = err
	}
	// Published before the flight ends: a later caller finds either the flight or the entry.
	s.flightMu.Lock()
	delete(s.flights, ref.canonical)
	s.flightMu.Unlock()
	close(f.done)
	return f.schema, f.err
}

func (s *schemaStore) fetchCompile(ref schemaRef) (e *schemaEntry, err error) {
	defer func() {
		// A compiler bug on some document must not leave the flight's waiters hanging.
		if p := recover(); p != nil {
			e, err = nil, fmt.Errorf("%w: compiling %s panicked: %v", ErrSchemaInvalid, ref.canonical, p)
		}
	}()
	if s.loadHook != nil {
		s.loadHook(ref.canonical)
	}
	f, err := s.c.res.fetch(s.c.ctx, ref)
	if err != nil {
		return nil, err
	}
	doc, err := toJSON(f.data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSchemaInvalid, f.location, err)
	}
	sch, err := s.c.compileSchema(ref, doc)
	if err != nil {
		return nil, err
	}
	if sch.ID != "" {
		s.c.res.ids.learn(s.c.res, sch.ID, idTarget{base: f.base, rel: f.rel})
	}
	return &schemaEntry{ref: ref, schema: sch, sum: sha256.Sum256(f.data)}, nil
}

// publish adds a new entry (and its canonical URI as an alias).
func (s *schemaStore) publish(e *schemaEntry) error {
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	old := s.state.Load()
	if len(old.entries) >= maxSchemas {
		return fmt.Errorf("cannot load schema %s: %d schemas are loaded already, the most one process holds", e.ref.canonical, maxSchemas)
	}
	// The canonical URI is always an alias: there are at most maxSchemas of them.
	n := &schemaState{
		entries: maps.Clone(old.entries),
		aliases: maps.Clone(old.aliases),
	}
	n.entries[e.ref.canonical] = e
	n.aliases[e.ref.canonical] = e.schema
	s.state.Store(n)
	s.counted++
	schemasLoaded.Add(1)
	return nil
}

// addAlias remembers how an event spelled a schema URI, so the next event with that spelling
// hits without allocating. Past maxAliases a spelling still resolves, through the slow path.
func (s *schemaStore) addAlias(raw string, sch *fastpath.Schema) {
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	old := s.state.Load()
	if old.aliases[raw] == sch || len(old.aliases) >= maxAliases {
		return
	}
	n := &schemaState{entries: old.entries, aliases: maps.Clone(old.aliases)}
	n.aliases[raw] = sch
	s.state.Store(n)
}

// remember caches a failed lookup for NegativeTTL and returns the error the caller reports.
func (s *schemaStore) remember(raw string, err error) error {
	err = fmt.Errorf("cannot load schema %q: %w", truncate(raw, 200), err)
	now := s.now()
	s.negMu.Lock()
	defer s.negMu.Unlock()
	if len(s.neg) >= maxNegative {
		for k, e := range s.neg {
			if !now.Before(e.until) {
				delete(s.neg, k)
			}
		}
		if len(s.neg) >= maxNegative {
			clear(s.neg)
		}
	}
	s.neg[raw] = negEntry{err: err, until: now.Add(s.c.cfg.NegativeTTL)}
	s.negLen.Store(int32(len(s.neg)))
	return err
}

func (s *schemaStore) forget(raw string) {
	if s.negLen.Load() == 0 {
		return
	}
	s.negMu.Lock()
	delete(s.neg, raw)
	s.negLen.Store(int32(len(s.neg)))
	s.negMu.Unlock()
}

// refreshWorkers is how many schemas a refresh re-reads at once.
const refreshWorkers = 8

// refresh re-reads every loaded schema and recompiles those whose document changed. A schema
// that cannot be read or compiled, or is not reached within budget, keeps its last good version;
// the error lists them.
func (s *schemaStore) refresh(ctx context.Context, budget time.Duration) error {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	s.c.res.ids.reset()
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()

	st := s.state.Load()
	canonicals := slices.Sorted(maps.Keys(st.entries))
	fresh := make([]*schemaEntry, len(canonicals)) // nil: unchanged or failed
	errs := make([]error, len(canonicals))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(refreshWorkers, len(canonicals)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				fresh[i], errs[i] = s.refreshOne(ctx, st.entries[canonicals[i]])
			}
		}()
	}
	for i := range canonicals {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	var changed []*schemaEntry
	var olds []*schemaEntry
	for i, ne := range fresh {
		if ne != nil {
			changed = append(changed, ne)
			olds = append(olds, st.entries[canonicals[i]])
		}
	}
	if len(changed) > 0 {
		s.pubMu.Lock()
		cur := s.state.Load()
		n := &schemaState{entries: maps.Clone(cur.entries), aliases: maps.Clone(cur.aliases)}
		for i, ne := range changed {
			old := olds[i]
			if n.entries[old.ref.canonical] != old {
				continue
			}
			n.entries[old.ref.canonical] = ne
			for k, v := range n.aliases {
				if v == old.schema {
					n.aliases[k] = ne.schema
				}
			}
		}
		s.state.Store(n)
		s.pubMu.Unlock()
	}
	return errors.Join(errs...)
}

// refreshOne re-reads one schema: a new entry when its document changed, nil when it did not.
func (s *schemaStore) refreshOne(ctx context.Context, e *schemaEntry) (ne *schemaEntry, err error) {
	canonical := e.ref.canonical
	defer func() {
		if p := recover(); p != nil {
			ne, err = nil, fmt.Errorf("%w: compiling %s panicked: %v", ErrSchemaInvalid, canonical, p)
		}
		if err != nil {
			err = fmt.Errorf("cannot refresh schema %s: %w", canonical, err)
		}
	}()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("not reached within the refresh interval: %w", err)
	}
	f, err := s.c.res.fetch(ctx, e.ref)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(f.data)
	if sum == e.sum {
		return nil, nil
	}
	doc, err := toJSON(f.data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSchemaInvalid, f.location, err)
	}
	sch, err := s.c.compileSchema(e.ref, doc)
	if err != nil {
		return nil, err
	}
	return &schemaEntry{ref: e.ref, schema: sch, sum: sum}, nil
}

// release takes this store's schemas out of the schemasLoaded gauge.
func (s *schemaStore) release() {
	s.pubMu.Lock()
	schemasLoaded.Add(-s.counted)
	s.counted = 0
	s.pubMu.Unlock()
}

// loaded returns the canonical URIs of the loaded schemas, sorted.
func (s *schemaStore) loaded() []string {
	return slices.Sorted(maps.Keys(s.state.Load().entries))
}
