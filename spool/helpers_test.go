package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// errLog collects what a spool reports through Options.OnError.
type errLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errLog) add(err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
}

func (l *errLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.errs)
}

// damages returns the DamageErrors reported.
func (l *errLog) damages() []*DamageError {
	var out []*DamageError
	for _, err := range l.all() {
		var de *DamageError
		if errors.As(err, &de) {
			out = append(out, de)
		}
	}
	return out
}

// open opens a spool in dir for the test, reporting into log (when not nil), and closes it at the
// end of the test.
func open(t testing.TB, dir string, o Options, log *errLog) *Spool {
	t.Helper()
	if log != nil {
		o.OnError = log.add
	} else if o.OnError == nil {
		o.OnError = func(err error) { t.Errorf("unexpected error reported: %v", err) }
	}
	s, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// smallSegments is options for tests that want many segments.
func smallSegments() Options {
	return Options{MaxBytes: 64 << 20, SegmentBytes: 8 << 10}
}

// value is the value of test record i.
func value(i int) []byte {
	return fmt.Appendf(nil, `{"meta":{"id":"%08d","stream":"test.event"},"n":%d,"pad":"%s"}`, i, i, bytes.Repeat([]byte("x"), i%200))
}

// indexOf returns the i of a test record's value.
func indexOf(t testing.TB, v []byte) int {
	t.Helper()
	i, err := strconv.Atoi(string(v[len(`{"meta":{"id":"`) : len(`{"meta":{"id":"`)+8]))
	if err != nil {
		t.Fatalf("not a test record: %q", v)
	}
	return i
}

func appendN(t testing.TB, s *Spool, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := s.Append("test.topic", nil, value(i), time.UnixMilli(int64(1e12+i))); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
}

// got is a record read back, copied.
type got struct {
	pos Pos
	i   int
}

// readAll reads the records ready now, acknowledging none.
func readAll(t testing.TB, s *Spool) []got {
	t.Helper()
	var out []got
	for {
		e, ok, err := s.Reader().TryNext()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return out
		}
		out = append(out, got{e.Pos, indexOf(t, e.Value)})
	}
}

func indexes(gs []got) []int {
	out := make([]int, len(gs))
	for i, g := range gs {
		out[i] = g.i
	}
	return out
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func without(xs []int, drop ...int) []int {
	return slices.DeleteFunc(slices.Clone(xs), func(x int) bool { return slices.Contains(drop, x) })
}

func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func diskBytes(t testing.TB, dir string) int64 {
	t.Helper()
	var n int64
	for _, p := range segFiles(t, dir) {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		n += st.Size()
	}
	return n
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// patch writes b at off in the file.
func patch(t testing.TB, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t testing.TB, path string, b []byte) {
	t.Helper()
	patch(t, path, fileSize(t, path), b)
}

func nextCtx(t testing.TB, r *Reader) Entry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := r.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
