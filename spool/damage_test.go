package spool

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
)

// fill appends records 0..n-1 in small segments, closes the spool and returns where each is.
func fill(t *testing.T, dir string, n int) []got {
	t.Helper()
	s := open(t, dir, smallSegments(), nil)
	appendN(t, s, 0, n)
	all := readAll(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if len(all) != n {
		t.Fatalf("%d records read back, want %d", len(all), n)
	}
	return all
}

// recordsIn returns the indexes of the records in segment seg.
func recordsIn(all []got, seg uint64) []int {
	var out []int
	for _, g := range all {
		if g.pos.Seg == seg {
			out = append(out, g.i)
		}
	}
	return out
}

// A torn tail (what a crash in the middle of a write leaves at the end of the last segment) is
// cut at Open and counted as torn; other bytes there that are no record are cut and counted as
// damage. The records before are all there, new ones follow them, and the next Open finds nothing.
func TestTornTailCut(t *testing.T) {
	frame := appendFrame(nil, "test.topic", nil, value(999), 1, 2)
	bad := bytes.Clone(frame)
	bad[len(bad)-3] ^= 1
	f := func(name string, tail []byte, torn bool, reason string) {
		t.Helper()
		dir := t.TempDir()
		all := fill(t, dir, 100)
		path := segPath(dir, all[99].pos.Seg)
		size := fileSize(t, path)
		appendFile(t, path, tail)

		log := &errLog{}
		s := open(t, dir, smallSegments(), log)
		st := s.Stats()
		ds := log.damages()
		if len(log.all()) != 1 || len(ds) != 1 || ds[0].Torn != torn || ds[0].Offset != size || ds[0].Bytes != int64(len(tail)) ||
			!strings.Contains(ds[0].Reason, reason) {
			t.Fatalf("%s: reported %v, want one torn=%v at %d of %d bytes saying %q", name, log.all(), torn, size, len(tail), reason)
		}
		if torn && (st.Torn != 1 || st.Damaged != 0) || !torn && (st.Torn != 0 || st.Damaged != 1) {
			t.Fatalf("%s: stats %+v", name, st)
		}
		if got := fileSize(t, path); got != size {
			t.Fatalf("%s: the segment is %d bytes after Open, want %d", name, got, size)
		}
		if st.Records != 100 {
			t.Fatalf("%s: %d records, want 100", name, st.Records)
		}
		appendN(t, s, 100, 110)
		if got := indexes(readAll(t, s)); !slices.Equal(got, seq(0, 110)) {
			t.Fatalf("%s: read %v", name, got)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = open(t, dir, smallSegments(), nil) // nothing reported
		if got := indexes(readAll(t, s)); !slices.Equal(got, seq(0, 110)) {
			t.Fatalf("%s: read %v after the second reopening", name, got)
		}
	}
	f("the magic byte", frame[:1], true, "cut short")
	f("half a header", frame[:5], true, "cut short")
	f("a header", frame[:frameHeaderLen], true, "cut short")
	f("half a record", frame[:len(frame)/2], true, "cut short")
	f("all but a byte", frame[:len(frame)-1], true, "cut short")
	f("zeros", make([]byte, 4096), true, "zeros")
	f("garbage", []byte("garbage appended to the segment"), false, "garbage")
	f("a record with a bad checksum", bad, false, "checksum")
	f("a record, then garbage", append(bytes.Clone(bad), "xyz"...), false, "checksum")
}

// Damage in a segment before the last (a bad checksum, garbage, a truncated segment, a bad
// header) is reported, counted and skipped at Open: the records around it are replayed, in order,
// and the cursor passes it once they are acknowledged.
func TestDamagedMiddleSegment(t *testing.T) {
	f := func(name string, damage func(path string, all []got, seg uint64) (lost []int), reason string) {
		t.Helper()
		dir := t.TempDir()
		all := fill(t, dir, 600)
		seg := all[300].pos.Seg
		in := recordsIn(all, seg)
		if len(in) < 5 || seg == all[0].pos.Seg || seg == all[599].pos.Seg {
			t.Fatalf("segment %d holds %d records: want a middle segment with several", seg, len(in))
		}
		lost := damage(segPath(dir, seg), all, seg)
		want := without(seq(0, 600), lost...)

		log := &errLog{}
		s := open(t, dir, smallSegments(), log)
		st := s.Stats()
		ds := log.damages()
		if len(log.all()) != 1 || len(ds) != 1 || ds[0].Torn || !strings.Contains(ds[0].Reason, reason) ||
			!strings.HasSuffix(ds[0].Segment, segName(seg)) {
			t.Fatalf("%s: reported %v, want one damage in segment %d saying %q", name, log.all(), seg, reason)
		}
		if st.Damaged != 1 || st.Torn != 0 || st.Records != int64(len(want)) {
			t.Fatalf("%s: stats %+v, want %d records", name, st, len(want))
		}
		r := s.Reader()
		got := readAll(t, s)
		if !slices.Equal(indexes(got), want) {
			t.Fatalf("%s: replayed %v\nwant %v", name, indexes(got), want)
		}
		for _, g := range got {
			r.Ack(g.pos)
		}
		s.housekeep()
		if n := s.Len(); n != 0 || len(segFiles(t, dir)) != 1 {
			t.Fatalf("%s: Len %d and %d segments once all is acknowledged", name, n, len(segFiles(t, dir)))
		}
	}
	f("garbage appended", func(path string, all []got, seg uint64) []int {
		appendFile(t, path, []byte("some garbage, then \xfbS and more"))
		return nil
	}, "garbage")
	f("truncated in its last record", func(path string, all []got, seg uint64) []int {
		in := recordsIn(all, seg)
		last := all[in[len(in)-1]].pos.Off
		if err := os.Truncate(path, last+20); err != nil {
			t.Fatal(err)
		}
		return in[len(in)-1:]
	}, "cut short")
	f("truncated after its header", func(path string, all []got, seg uint64) []int {
		if err := os.Truncate(path, segHeaderLen+3); err != nil {
			t.Fatal(err)
		}
		return recordsIn(all, seg)
	}, "cut short")
	f("a bad checksum", func(path string, all []got, seg uint64) []int {
		k := recordsIn(all, seg)[2]
		patch(t, path, all[k].pos.Off+frameHeaderLen+40, []byte{'!'})
		return []int{k}
	}, "checksum")
	f("a damaged length", func(path string, all []got, seg uint64) []int {
		k := recordsIn(all, seg)[1]
		patch(t, path, all[k].pos.Off+2, []byte{0xff, 0xff, 0x0f, 0})
		return []int{k}
	}, "cut short")
	f("garbage over records", func(path string, all []got, seg uint64) []int {
		in := recordsIn(all, seg)
		from, to := all[in[1]].pos.Off, all[in[4]].pos.Off
		patch(t, path, from, bytes.Repeat([]byte("garbage "), int(to-from)/8+1)[:to-from])
		return in[1:4]
	}, "garbage")
	f("a bad header", func(path string, all []got, seg uint64) []int {
		patch(t, path, 0, []byte("XXXX"))
		return recordsIn(all, seg)
	}, "no usable segment header: no segment header")
	f("the header of another segment", func(path string, all []got, seg uint64) []int {
		patch(t, path, 0, appendSegHeader(nil, seg+1000))
		return recordsIn(all, seg)
	}, "its header says it is segment")
	f("emptied", func(path string, all []got, seg uint64) []int {
		if err := os.Truncate(path, 0); err != nil {
			t.Fatal(err)
		}
		return recordsIn(all, seg)
	}, "no usable segment header")
}

// Damage the Reader meets in records this process wrote (the file changed under it) is reported
// and skipped too, and the record count is set right once the Reader catches up.
func TestDamageFoundWhileReading(t *testing.T) {
	dir := t.TempDir()
	log := &errLog{}
	s := open(t, dir, Options{}, log)
	appendN(t, s, 0, 10)
	s.mu.Lock()
	path := segPath(dir, s.wseq)
	s.mu.Unlock()
	// Record 5's position, from the sizes of the frames before it.
	off := int64(segHeaderLen)
	for i := range 5 {
		off += int64(frameLen("test.topic", nil, value(i)))
	}
	patch(t, path, off+frameHeaderLen+30, []byte{'!'})
	r := s.Reader()
	got := readAll(t, s)
	if !slices.Equal(indexes(got), without(seq(0, 10), 5)) {
		t.Fatalf("read %v", indexes(got))
	}
	ds := log.damages()
	if len(ds) != 1 || ds[0].Offset != off || !strings.Contains(ds[0].Reason, "checksum") || s.Stats().Damaged != 1 {
		t.Fatalf("reported %v", log.all())
	}
	for _, g := range got {
		r.Ack(g.pos)
	}
	readAll(t, s) // caught up
	if n := s.Len(); n != 0 {
		t.Fatalf("Len %d once everything readable is acknowledged", n)
	}
	appendN(t, s, 10, 12)
	if got := indexes(readAll(t, s)); !slices.Equal(got, seq(10, 12)) || s.Len() != 2 {
		t.Fatalf("after the damage: %v, Len %d", got, s.Len())
	}
}

// A segment cut by a crash as it was created (no whole header) is deleted at Open.
func TestTornSegmentHeader(t *testing.T) {
	dir := t.TempDir()
	all := fill(t, dir, 20)
	next := all[19].pos.Seg + 1
	if err := os.WriteFile(segPath(dir, next), appendSegHeader(nil, next)[:7], 0o644); err != nil {
		t.Fatal(err)
	}
	log := &errLog{}
	s := open(t, dir, smallSegments(), log)
	if ds := log.damages(); len(ds) != 1 || !ds[0].Torn || s.Stats().Torn != 1 {
		t.Fatalf("reported %v", log.all())
	}
	if _, err := os.Stat(segPath(dir, next)); !os.IsNotExist(err) {
		t.Fatalf("the torn segment is still there: %v", err)
	}
	appendN(t, s, 20, 25)
	if got := indexes(readAll(t, s)); !slices.Equal(got, seq(0, 25)) {
		t.Fatalf("read %v", got)
	}
}
