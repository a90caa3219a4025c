package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Reopening replays exactly the records not acknowledged, in the order they were appended, across
// segments; the acknowledged segments are deleted.
func TestReopenReplaysUnacknowledged(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, smallSegments(), nil)
	appendN(t, s, 0, 1000)
	if n := len(segFiles(t, dir)); n < 10 {
		t.Fatalf("%d segments, want many", n)
	}
	r := s.Reader()
	for i := range 300 {
		e := nextCtx(t, r)
		if got := indexOf(t, e.Value); got != i {
			t.Fatalf("record %d read as %d", i, got)
		}
		r.Ack(e.Pos)
	}
	if n := s.Len(); n != 700 {
		t.Fatalf("Len %d after 300 acknowledged, want 700", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir, smallSegments(), nil)
	st := s.Stats()
	if st.Records != 700 || st.Damaged != 0 || st.Torn != 0 || st.Oldest.IsZero() || st.Oldest.After(time.Now()) {
		t.Fatalf("stats after reopening %+v", st)
	}
	got := readAll(t, s)
	if !slices.Equal(indexes(got), seq(300, 1000)) {
		t.Fatalf("replayed %d records %v..., want 300..999", len(got), indexes(got)[:min(len(got), 5)])
	}
	for _, p := range segFiles(t, dir) {
		if seq, _ := parseSegName(filepath.Base(p)); seq < got[0].pos.Seg {
			t.Fatalf("segment %d, wholly acknowledged, still there", seq)
		}
	}
}

// The oldest record's age is its append time, whether the Reader has handed it out or not.
func TestStatsOldest(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, smallSegments(), nil)
	if st := s.Stats(); !st.Oldest.IsZero() || st.Records != 0 {
		t.Fatalf("empty spool: %+v", st)
	}
	t0 := time.Now()
	appendN(t, s, 0, 100)
	st := s.Stats()
	if st.Oldest.IsZero() || st.Oldest.UnixMilli() < t0.UnixMilli() || st.Oldest.After(time.Now()) {
		t.Fatalf("Oldest %v, appended from %v", st.Oldest, t0)
	}
	r := s.Reader()
	var first []Entry
	for range 40 {
		first = append(first, nextCtx(t, r))
	}
	for _, e := range first[:30] {
		r.Ack(e.Pos)
	}
	if got := s.Stats().Oldest; !got.Equal(first[30].Appended) {
		t.Fatalf("Oldest %v, want the append time of record 30 %v", got, first[30].Appended)
	}
	for _, e := range first[30:] {
		r.Ack(e.Pos)
	}
	// Nothing out: read from the disk at the cursor.
	got := s.Stats().Oldest
	if e := nextCtx(t, r); !got.Equal(e.Appended) {
		t.Fatalf("Oldest %v, want record 40's %v", got, e.Appended)
	}
	if st := s.Stats(); st.Written != 100 || st.Acked != 40 || st.Records != 60 || st.Replayed != 41 {
		t.Fatalf("stats %+v", st)
	}
}

// Acknowledgements come in any order (Kafka's partitions answer independently): the cursor moves
// over the acknowledged prefix only, so a crash replays every record from the first one not
// acknowledged, the acknowledged ones after it included (duplicates, never loss).
func TestOutOfOrderAcks(t *testing.T) {
	f := func(acks []int, wantLen int64, wantReplay []int) {
		t.Helper()
		dir := t.TempDir()
		s := open(t, dir, smallSegments(), nil)
		appendN(t, s, 0, 50)
		all := readAll(t, s)
		for _, i := range acks {
			s.Reader().Ack(all[i].pos)
		}
		if n := s.Len(); n != wantLen {
			t.Fatalf("acks %v: Len %d, want %d", acks, n, wantLen)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = open(t, dir, smallSegments(), nil)
		if got := indexes(readAll(t, s)); !slices.Equal(got, wantReplay) {
			t.Fatalf("acks %v: replayed %v, want %v", acks, got, wantReplay)
		}
	}
	f(nil, 50, seq(0, 50))
	f([]int{3, 1, 2}, 50, seq(0, 50))
	f([]int{3, 1, 2, 0}, 46, seq(4, 50))
	f([]int{3, 1, 2, 0, 49, 5}, 46, seq(4, 50))
	f([]int{1, 1, 0, 0, 0}, 48, seq(2, 50)) // repeated acks count once
	backwards := seq(0, 50)
	slices.Reverse(backwards)
	f(append(backwards, 7), 0, nil)
}

// After Rewind, the records handed out and not acknowledged come again, in order; those
// acknowledged meanwhile do not; then new records follow.
func TestRewind(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, smallSegments(), nil)
	r := s.Reader()
	appendN(t, s, 0, 200) // several segments
	all := readAll(t, s)
	for _, i := range []int{0, 1, 5, 150} {
		r.Ack(all[i].pos)
	}
	r.Rewind()
	appendN(t, s, 200, 205)
	r.Ack(all[7].pos) // an acknowledgement of an earlier hand-out, after the rewind
	got := readAll(t, s)
	want := append(without(seq(2, 200), 5, 7, 150), seq(200, 205)...)
	if !slices.Equal(indexes(got), want) {
		t.Fatalf("after Rewind: %v\nwant %v", indexes(got), want)
	}
	for _, g := range got {
		r.Ack(g.pos)
	}
	if n := s.Len(); n != 0 {
		t.Fatalf("Len %d after acknowledging everything", n)
	}
	r.Rewind() // nothing out: nothing again
	if got := readAll(t, s); len(got) != 0 {
		t.Fatalf("%d records after a rewind with none out", len(got))
	}
}

// The Reader follows the tail while Appends go on, waits for new records when it has caught up,
// and acknowledged segments are deleted behind it.
func TestReaderFollowsAppends(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, smallSegments(), nil)
	const n = 5000
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range n {
			if err := s.Append("test.topic", nil, value(i), time.Now()); err != nil {
				t.Errorf("Append: %v", err)
				return
			}
			if i%500 == 0 {
				time.Sleep(time.Millisecond) // let the reader catch up and wait
			}
		}
	})
	r := s.Reader()
	for i := range n {
		e := nextCtx(t, r)
		if got := indexOf(t, e.Value); got != i {
			t.Fatalf("record %d read as %d", i, got)
		}
		r.Ack(e.Pos)
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := r.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next with nothing left: %v", err)
	}
	s.housekeep()
	if segs := segFiles(t, dir); len(segs) != 1 {
		t.Fatalf("%d segments left once everything is acknowledged, want the one written", len(segs))
	}
	if st := s.Stats(); st.Records != 0 || st.Bytes != diskBytes(t, dir) || st.Written != n || st.Acked != n {
		t.Fatalf("stats %+v, %d bytes on disk", st, diskBytes(t, dir))
	}
}

// Next returns ErrClosed once the spool closes, also to a Next waiting.
func TestNextAfterClose(t *testing.T) {
	s := open(t, t.TempDir(), Options{}, nil)
	done := make(chan error)
	go func() {
		_, err := s.Reader().Next(context.Background())
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("waiting Next: %v", err)
	}
	if _, _, err := s.Reader().TryNext(); !errors.Is(err, ErrClosed) {
		t.Fatalf("TryNext after Close: %v", err)
	}
	if err := s.Append("t", nil, nil, time.Now()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("a second Close: %v", err)
	}
}

// Options.MaxUnacked bounds the records out: Next waits for acknowledgements past it.
func TestMaxUnacked(t *testing.T) {
	o := smallSegments()
	o.MaxUnacked = 10
	s := open(t, t.TempDir(), o, nil)
	appendN(t, s, 0, 30)
	out := readAll(t, s)
	if len(out) != 10 {
		t.Fatalf("%d records out, want 10", len(out))
	}
	if n := s.Reader().Unacked(); n != 10 {
		t.Fatalf("Unacked %d", n)
	}
	next := make(chan int)
	go func() {
		e, err := s.Reader().Next(context.Background())
		if err != nil {
			t.Error(err)
		}
		next <- indexOf(t, e.Value)
	}()
	select {
	case i := <-next:
		t.Fatalf("Next handed out record %d past the bound", i)
	case <-time.After(20 * time.Millisecond):
	}
	s.Reader().Ack(out[0].pos)
	if i := <-next; i != 10 {
		t.Fatalf("Next after an ack: record %d, want 10", i)
	}
}

// The spool never grows past MaxBytes: Append returns ErrFull, and takes records again once
// acknowledged segments are deleted.
func TestErrFullAtTheBound(t *testing.T) {
	dir := t.TempDir()
	o := Options{MaxBytes: 256 << 10, SegmentBytes: 32 << 10}
	s := open(t, dir, o, nil)
	n := 0
	for ; ; n++ {
		room, need := s.Room(), FrameBytes("test.topic", nil, value(n))
		err := s.Append("test.topic", nil, value(n), time.Now())
		if room >= need+segHeaderLen && err != nil {
			t.Fatalf("Room %d said record %d (%d bytes) fits, but Append: %v", room, n, need, err)
		}
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n > 10000 {
			t.Fatal("no ErrFull")
		}
	}
	if room, need := s.Room(), FrameBytes("test.topic", nil, value(n)); room >= need {
		t.Fatalf("Room %d on a full spool, and the record refused takes %d", room, need)
	}
	for range 100 {
		if err := s.Append("test.topic", nil, value(n), time.Now()); !errors.Is(err, ErrFull) {
			t.Fatalf("Append on a full spool: %v", err)
		}
	}
	st := s.Stats()
	if disk := diskBytes(t, dir); disk > o.MaxBytes || st.Bytes != disk || disk < o.MaxBytes-2*int64(len(value(199)))-2*segHeaderLen-100 {
		t.Fatalf("%d bytes on disk, Stats.Bytes %d, max %d", disk, st.Bytes, o.MaxBytes)
	}
	if st.Full != 101 || st.Records != int64(n) {
		t.Fatalf("stats %+v after %d records", st, n)
	}
	// Too large ever to fit: ErrTooLarge, not ErrFull.
	if err := s.Append("t", nil, make([]byte, o.MaxBytes), time.Now()); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a record larger than the spool: %v", err)
	}
	if err := s.Append(strings.Repeat("t", 256), nil, nil, time.Now()); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a topic of 256 bytes: %v", err)
	}

	// Acknowledge half: the segments before the cursor go, and Appends succeed again.
	r := s.Reader()
	for range n / 2 {
		r.Ack(nextCtx(t, r).Pos)
	}
	s.housekeep()
	if disk := diskBytes(t, dir); disk >= st.Bytes || s.Stats().Bytes != disk {
		t.Fatalf("%d bytes on disk after acknowledging half (%d before), Stats.Bytes %d", disk, st.Bytes, s.Stats().Bytes)
	}
	if err := s.Append("test.topic", nil, value(n), time.Now()); err != nil {
		t.Fatalf("Append once room was made: %v", err)
	}
	r.Rewind()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, o, nil)
	if got := indexes(readAll(t, s)); !slices.Equal(got, seq(n/2, n+1)) {
		t.Fatalf("replayed %v, want %d..%d", got, n/2, n)
	}
}

// Concurrent Appends under SyncAlways (go test -race): every record is there once, each
// goroutine's in its order, across segment changes, with a Reader reading and acknowledging
// meanwhile.
func TestConcurrentAppendsAlways(t *testing.T) {
	dir := t.TempDir()
	o := smallSegments()
	o.Sync = SyncAlways
	s := open(t, dir, o, nil)
	const writers, each = 8, 300
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := s.Append(fmt.Sprintf("topic.%d", w), nil, value(w*each+i), time.Now()); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
			}
		})
	}
	r := s.Reader()
	last := make([]int, writers)
	for w := range last {
		last[w] = -1
	}
	for range writers * each / 2 {
		e := nextCtx(t, r)
		i := indexOf(t, e.Value)
		w := i / each
		if e.Topic != fmt.Sprintf("topic.%d", w) || i <= last[w] {
			t.Fatalf("record %d on %s after %d", i, e.Topic, last[w])
		}
		last[w] = i
		r.Ack(e.Pos)
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, o, nil)
	for _, g := range readAll(t, s) {
		w := g.i / each
		if g.i <= last[w] {
			t.Fatalf("record %d after %d", g.i, last[w])
		}
		last[w] = g.i
	}
	for w, l := range last {
		if l != w*each+each-1 {
			t.Fatalf("writer %d: last record %d, want %d", w, l, w*each+each-1)
		}
	}
	if n := s.Len(); n != writers*each/2 {
		t.Fatalf("Len %d after reopening, want %d", n, writers*each/2)
	}
}

// Under SyncAlways, Appends that arrive while an fsync runs share the next one (group commit):
// eight Appends, the first fsync held until the seven others wait, make two fsyncs.
func TestGroupCommit(t *testing.T) {
	o := Options{Sync: SyncAlways}
	s := open(t, t.TempDir(), o, nil)
	var mu sync.Mutex
	syncs, recsAtSync := 0, []int{}
	testHookSync = func(f *os.File) error {
		mu.Lock()
		syncs++
		first := syncs == 1
		mu.Unlock()
		if first {
			for {
				s.mu.Lock()
				n := s.pendRecs
				s.mu.Unlock()
				if n == 7 {
					break
				}
				time.Sleep(time.Millisecond)
			}
		}
		st, _ := f.Stat()
		recsAtSync = append(recsAtSync, int(st.Size()))
		return f.Sync()
	}
	defer func() { testHookSync = nil }()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.Append("t", nil, value(0), time.Now()); err != nil {
			t.Error(err)
		}
	})
	for s.Stats().Written == 0 {
		s.mu.Lock()
		leading := s.flushing
		s.mu.Unlock()
		if leading {
			break
		}
		time.Sleep(time.Millisecond)
	}
	for i := 1; i < 8; i++ {
		wg.Go(func() {
			if err := s.Append("t", nil, value(i), time.Now()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if syncs != 2 || s.Stats().Written != 8 {
		t.Fatalf("%d fsyncs for 8 Appends (file sizes at each: %v), want 2", syncs, recsAtSync)
	}
}

// A second Open of a directory fails while the first holds it, naming the holder; once closed,
// it opens.
func TestLockHeld(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{}, nil)
	_, err := Open(dir, Options{})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("process %d", os.Getpid())) {
		t.Fatalf("a second Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
}

// Open fails with a clear error on a directory it cannot use.
func TestOpenUnusableDirectory(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := func(dir string, o Options, want string) {
		t.Helper()
		s, err := Open(dir, o)
		if err == nil {
			s.Close()
			t.Fatalf("Open(%s) succeeded", dir)
		}
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("Open(%s): %v, want it to say %q", dir, err, want)
		}
	}
	f(file, Options{}, "cannot create the directory "+file)
	f(filepath.Join(file, "spool"), Options{}, "not a directory")
	f(t.TempDir(), Options{MaxBytes: 1000}, "under the minimum")
	f(t.TempDir(), Options{Sync: -5}, "sync policy")
	// A newer format is not skipped as damage: Open refuses it.
	dir := t.TempDir()
	h := appendSegHeader(nil, 1)
	h[4] = 2
	if err := os.WriteFile(filepath.Join(dir, segName(1)), h, 0o644); err != nil {
		t.Fatal(err)
	}
	f(dir, Options{}, "unknown segment format version 2")
}

// The cursor is replaced atomically: a crash between writing cursor.tmp and the rename leaves the
// old cursor in force (and the stale cursor.tmp is removed); a damaged cursor is reported and the
// spool replays from its oldest segment (duplicates, never loss).
func TestCursorReplacedAtomically(t *testing.T) {
	// fromSegment: the replay starts at the first record of the cursor's segment (the ones before
	// were deleted once acknowledged).
	const fromSegment = -1
	f := func(name string, tamper func(dir string), wantFrom int, wantReport string) {
		t.Helper()
		dir := t.TempDir()
		s := open(t, dir, smallSegments(), nil)
		appendN(t, s, 0, 100)
		all := readAll(t, s)
		for _, g := range all[:40] {
			s.Reader().Ack(g.pos)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, cursorName))
		if err != nil {
			t.Fatal(err)
		}
		if c, ok := parseCursor(b); !ok || c != all[40].pos {
			t.Fatalf("%s: the cursor file says %v (%v), want %v", name, c, ok, all[40].pos)
		}
		if _, err := os.Stat(filepath.Join(dir, cursorTmpName)); !os.IsNotExist(err) {
			t.Fatalf("%s: cursor.tmp left behind: %v", name, err)
		}
		tamper(dir)
		if wantFrom == fromSegment {
			wantFrom = slices.IndexFunc(all, func(g got) bool { return g.pos.Seg == all[40].pos.Seg })
			if wantFrom == 40 {
				t.Fatalf("%s: record 40 opens its segment: the test shows nothing", name)
			}
		}
		log := &errLog{}
		s = open(t, dir, smallSegments(), log)
		if got := indexes(readAll(t, s)); !slices.Equal(got, seq(wantFrom, 100)) {
			t.Fatalf("%s: replayed %v, want %d..99", name, got, wantFrom)
		}
		errs := fmt.Sprint(log.all())
		if wantReport == "" && len(log.all()) > 0 || !strings.Contains(errs, wantReport) {
			t.Fatalf("%s: reported %s, want %q", name, errs, wantReport)
		}
		if _, err := os.Stat(filepath.Join(dir, cursorTmpName)); !os.IsNotExist(err) {
			t.Fatalf("%s: cursor.tmp not removed at Open: %v", name, err)
		}
		s.Close()
	}
	f("as closed", func(string) {}, 40, "")
	f("new cursor written, not renamed", func(dir string) {
		os.WriteFile(filepath.Join(dir, cursorTmpName), appendCursor(nil, Pos{Seg: 99, Off: 16}), 0o644)
	}, 40, "")
	f("half a new cursor written", func(dir string) {
		os.WriteFile(filepath.Join(dir, cursorTmpName), appendCursor(nil, Pos{Seg: 99, Off: 16})[:10], 0o644)
	}, 40, "")
	f("cursor damaged", func(dir string) {
		patch(t, filepath.Join(dir, cursorName), 9, []byte{0xff})
	}, fromSegment, "is damaged; replaying from the oldest segment")
	f("cursor gone", func(dir string) {
		os.Remove(filepath.Join(dir, cursorName))
	}, fromSegment, "")
}

// A crash after the cursor was saved and before the segments behind it were deleted: Open
// deletes them and replays from the cursor.
func TestCursorSavedSegmentsNotDeleted(t *testing.T) {
	dir, crashed := t.TempDir(), t.TempDir()
	s := open(t, dir, smallSegments(), nil)
	appendN(t, s, 0, 300)
	copyFiles := func(names ...string) {
		for _, name := range names {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(crashed, filepath.Base(name)), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	copyFiles(segFiles(t, dir)...)
	all := readAll(t, s)
	for _, g := range all[:250] {
		s.Reader().Ack(g.pos)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	copyFiles(filepath.Join(dir, cursorName))
	before := segFiles(t, crashed)

	s = open(t, crashed, smallSegments(), nil)
	if got := indexes(readAll(t, s)); !slices.Equal(got, seq(250, 300)) {
		t.Fatalf("replayed %v", got)
	}
	cur := all[250].pos.Seg
	for _, p := range before {
		seq, _ := parseSegName(filepath.Base(p))
		_, err := os.Stat(p)
		if seq < cur && !os.IsNotExist(err) {
			t.Fatalf("segment %d, wholly acknowledged, still there", seq)
		}
		if seq >= cur && err != nil {
			t.Fatalf("segment %d: %v", seq, err)
		}
	}
	if cur == 1 {
		t.Fatal("the cursor is in the first segment: the test shows nothing")
	}
}

// A failed write (disk full) fails the Appends it held with the cause, cuts the file back, and
// loses nothing spooled before; Appends succeed again once the disk has room.
func TestWriteFailure(t *testing.T) {
	f := func(name string, o Options, fail func()) {
		t.Helper()
		dir := t.TempDir()
		s := open(t, dir, o, nil)
		appendN(t, s, 0, 10)
		fail()
		err := s.Append("test.topic", nil, value(10), time.Now())
		testHookWrite, testHookSync = nil, nil
		if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "spool: cannot") {
			t.Fatalf("%s: Append: %v", name, err)
		}
		appendN(t, s, 11, 20)
		if st := s.Stats(); st.Records != 19 || st.Written != 19 {
			t.Fatalf("%s: stats %+v", name, st)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = open(t, dir, o, nil) // no damage reported
		if got := indexes(readAll(t, s)); !slices.Equal(got, without(seq(0, 20), 10)) {
			t.Fatalf("%s: replayed %v", name, got)
		}
		if st := s.Stats(); st.Bytes != diskBytes(t, dir) {
			t.Fatalf("%s: Stats.Bytes %d, %d on disk", name, st.Bytes, diskBytes(t, dir))
		}
	}
	f("half written", Options{}, func() {
		testHookWrite = func(f *os.File, b []byte, off int64) (int, error) {
			n, _ := f.WriteAt(b[:len(b)/2], off)
			return n, syscall.ENOSPC
		}
	})
	f("fsync failed", Options{Sync: SyncAlways}, func() {
		testHookSync = func(*os.File) error { return syscall.ENOSPC }
	})
}

// A segment that cannot be created (the directory unwritable, or the name taken) fails the Append
// that needed it with the cause; the next one tries a new segment.
func TestRotationFailure(t *testing.T) {
	dir := t.TempDir()
	o := smallSegments()
	s := open(t, dir, o, nil)
	appendN(t, s, 0, 5)
	s.mu.Lock()
	next := s.nextSeq
	s.mu.Unlock()
	if err := os.Mkdir(filepath.Join(dir, segName(next)), 0o755); err != nil {
		t.Fatal(err)
	}
	var err error
	i := 5
	for ; i < 1000; i++ {
		if err = s.Append("test.topic", nil, value(i), time.Now()); err != nil {
			break
		}
	}
	if !errors.Is(err, os.ErrExist) || !strings.Contains(err.Error(), "cannot create the segment") {
		t.Fatalf("Append needing a segment: %v", err)
	}
	appendN(t, s, i+1, i+10)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, o, nil)
	if got := indexes(readAll(t, s)); !slices.Equal(got, without(seq(0, i+10), i)) {
		t.Fatalf("replayed %v", got)
	}
}
