//go:build !race

package spool

import (
	"errors"
	"testing"
	"time"
)

// Append copies the record into the spool's reused group buffer: no allocation per record, under
// either policy, and none for ErrFull. AllocsPerRun counts the whole process: the background
// goroutine's interval is an hour here, so that it does not run.
func TestAppendDoesNotAllocate(t *testing.T) {
	key, v := []byte(`{"page_id":123}`), value(150)
	f := func(name string, o Options, want error) {
		t.Helper()
		s := open(t, t.TempDir(), o, nil)
		ts := time.Now()
		for i := 0; i < 200 || want != nil; i++ { // up to ErrFull for "full"
			if err := s.Append("test.topic", key, v, ts); err != nil {
				if errors.Is(err, want) {
					break
				}
				t.Fatal(err)
			}
		}
		n := testing.AllocsPerRun(500, func() {
			if err := s.Append("test.topic", key, v, ts); !errors.Is(err, want) {
				t.Fatalf("%s: Append: %v", name, err)
			}
		})
		if n != 0 {
			t.Fatalf("%s: %v allocations per Append", name, n)
		}
	}
	f("interval", Options{Sync: Sync(time.Hour)}, nil)
	f("always", Options{Sync: SyncAlways}, nil)
	f("full", Options{Sync: Sync(time.Hour), MaxBytes: MinMaxBytes}, ErrFull)
}

// Replay hands out records from the Reader's reused buffer (topics kept once) and takes their
// acknowledgements without allocating.
func TestReplayDoesNotAllocate(t *testing.T) {
	s := open(t, t.TempDir(), Options{Sync: Sync(time.Hour)}, nil)
	appendN(t, s, 0, 3000)
	r := s.Reader()
	for range 100 {
		e, ok, err := r.TryNext()
		if !ok || err != nil {
			t.Fatal(ok, err)
		}
		r.Ack(e.Pos)
	}
	n := testing.AllocsPerRun(2000, func() {
		e, ok, err := r.TryNext()
		if !ok || err != nil {
			t.Fatal(ok, err)
		}
		r.Ack(e.Pos)
	})
	if n != 0 {
		t.Fatalf("%v allocations per record read and acknowledged", n)
	}
}
