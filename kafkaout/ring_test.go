package kafkaout

import (
	"runtime"
	"sync"
	"testing"
)

func TestRingSizeFor(t *testing.T) {
	f := func(n, want int) {
		t.Helper()
		if got := ringSizeFor(n); got != want {
			t.Fatalf("ringSizeFor(%d) = %d, want %d", n, got, want)
		}
	}
	f(0, 2)
	f(1, 2)
	f(2, 2)
	f(3, 4)
	f(4, 4)
	f(5, 8)
	f(8192, 8192)
	f(8193, 16384)
}

func TestRingFIFOAndFull(t *testing.T) {
	f := func(size, laps int) {
		t.Helper()
		var r ring
		r.init(size)
		recs := make([]record, r.cap())
		for lap := range laps {
			for i := range recs {
				if r.full() {
					t.Fatalf("size %d lap %d: full after %d pushes", size, lap, i)
				}
				if !r.push(&recs[i]) {
					t.Fatalf("size %d lap %d: push %d failed", size, lap, i)
				}
			}
			if !r.full() || r.push(&record{}) {
				t.Fatalf("size %d lap %d: ring of %d accepted one more record", size, lap, r.cap())
			}
			if r.len() != r.cap() {
				t.Fatalf("size %d lap %d: len %d, want %d", size, lap, r.len(), r.cap())
			}
			for i := range recs {
				if got := r.pop(); got != &recs[i] {
					t.Fatalf("size %d lap %d: pop %d returned the wrong record", size, lap, i)
				}
			}
			if got := r.pop(); got != nil {
				t.Fatalf("size %d lap %d: pop on an empty ring returned a record", size, lap)
			}
			if r.len() != 0 {
				t.Fatalf("size %d lap %d: len %d after emptying", size, lap, r.len())
			}
		}
	}
	f(1, 3)
	f(2, 3)
	f(3, 3)
	f(16, 5)
}

// TestRingConcurrent pushes from many goroutines and pops from several; every record must come
// out exactly once and, per pusher, in order for a single popper. Run it with -race.
func TestRingConcurrent(t *testing.T) {
	f := func(pushers, poppers, perPusher, size int) {
		t.Helper()
		var r ring
		r.init(size)
		recs := make([]record, pushers*perPusher)
		for i := range recs {
			recs[i].idx = i
		}
		seen := make([]int32, len(recs))
		var (
			mu      sync.Mutex
			popped  int
			wg      sync.WaitGroup
			ordered = poppers == 1
		)
		last := make([]int, pushers)
		for i := range last {
			last[i] = -1
		}
		for w := range pushers {
			wg.Go(func() {
				for i := range perPusher {
					rec := &recs[w*perPusher+i]
					for !r.push(rec) {
						runtime.Gosched() // full: let the poppers make room
					}
				}
			})
		}
		done := make(chan struct{})
		var pwg sync.WaitGroup
		for range poppers {
			pwg.Go(func() {
				for {
					rec := r.pop()
					if rec == nil {
						select {
						case <-done:
							if rec = r.pop(); rec == nil {
								return
							}
						default:
							runtime.Gosched() // empty: let the pushers run
							continue
						}
					}
					mu.Lock()
					seen[rec.idx]++
					popped++
					if ordered {
						w, i := rec.idx/perPusher, rec.idx%perPusher
						if i <= last[w] {
							mu.Unlock()
							t.Errorf("pusher %d: record %d after %d", w, i, last[w])
							return
						}
						last[w] = i
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		close(done)
		pwg.Wait()
		if popped != len(recs) {
			t.Fatalf("popped %d records, pushed %d", popped, len(recs))
		}
		for i, n := range seen {
			if n != 1 {
				t.Fatalf("record %d popped %d times", i, n)
			}
		}
	}
	f(1, 1, 10000, 4)
	f(8, 1, 5000, 64)
	f(8, 4, 5000, 8)
	f(4, 4, 2000, 2)
}
