package spool

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

// A frame decodes to what was encoded, nil and empty keys and values kept apart; every prefix of
// it is a torn write and every single-bit flip is refused.
func TestFrameRoundTrip(t *testing.T) {
	f := func(topic string, key, value []byte, ts int64) {
		t.Helper()
		b := appendFrame([]byte("before"), topic, key, value, ts, 1234)[len("before"):]
		if len(b) != frameLen(topic, key, value) {
			t.Fatalf("frame of %d bytes, frameLen says %d", len(b), frameLen(topic, key, value))
		}
		payload, n, st := parseFrame(append(b, "after"...))
		if st != frameOK || n != len(b) {
			t.Fatalf("parseFrame: status %d, %d bytes of %d", st, n, len(b))
		}
		d, ok := decodePayload(payload)
		if !ok {
			t.Fatal("decodePayload refused its payload")
		}
		if string(d.topic) != topic || d.ts != ts || d.appended != 1234 {
			t.Fatalf("topic %q ts %d appended %d", d.topic, d.ts, d.appended)
		}
		if (d.key == nil) != (key == nil) || !bytes.Equal(d.key, key) {
			t.Fatalf("key %q (nil %v), want %q (nil %v)", d.key, d.key == nil, key, key == nil)
		}
		if (d.value == nil) != (value == nil) || !bytes.Equal(d.value, value) {
			t.Fatalf("value %q (nil %v), want %q (nil %v)", d.value, d.value == nil, value, value == nil)
		}
		if len(b) > 4096 {
			return
		}
		for k := range len(b) {
			if _, _, st := parseFrame(b[:k]); st != frameShort {
				t.Fatalf("the frame's first %d bytes: status %d, want short", k, st)
			}
		}
		for i := range len(b) * 8 {
			c := bytes.Clone(b)
			c[i/8] ^= 1 << (i % 8)
			if _, _, st := parseFrame(c); st == frameOK {
				t.Fatalf("bit %d flipped: the frame still parses", i)
			}
		}
	}
	f("t", nil, []byte(`{}`), 0)
	f("t", []byte{}, []byte(`{}`), 1)
	f("t", []byte(`{"page_id":1}`), []byte{}, -1)
	f("t", nil, nil, 5)
	f("", nil, nil, 0)
	f("eqiad.mediawiki.revision-create", []byte(`{"page_id":123}`), []byte(`{"$schema":"/x/1.0.0","meta":{"stream":"s"}}`), 1700000000123)
	f(strings.Repeat("t", maxTopicBytes), nil, []byte("v"), math.MaxInt64)
	f("t", bytes.Repeat([]byte("k"), 300), bytes.Repeat([]byte("v"), 70000), math.MinInt64)
}

// Bytes that are no frame are told apart from a frame cut short.
func TestParseFrameRefuses(t *testing.T) {
	good := appendFrame(nil, "t", nil, []byte("v"), 1, 2)
	f := func(name string, b []byte, want frameStatus) {
		t.Helper()
		if _, _, st := parseFrame(b); st != want {
			t.Fatalf("%s: status %d, want %d", name, st, want)
		}
	}
	f("empty", nil, frameShort)
	f("magic byte", []byte{frameMagic0}, frameShort)
	f("wrong magic", []byte{frameMagic0, 'x'}, frameBad)
	f("garbage", []byte("hello, world"), frameBad)
	f("zeros", make([]byte, 40), frameBad)
	f("length 0", append([]byte{frameMagic0, frameMagic1}, make([]byte, 30)...), frameBad)
	f("length too large", append([]byte{frameMagic0, frameMagic1, 0xff, 0xff, 0xff, 0xff}, make([]byte, 30)...), frameBad)
	f("header only", good[:frameHeaderLen], frameShort)
	f("good", good, frameOK)
	bad := bytes.Clone(good)
	bad[frameHeaderLen] = 0x80 // unknown flags, checksum fixed up
	copy(bad[6:10], []byte{0, 0, 0, 0})
	c := frameCRC(bad[2:6], bad[frameHeaderLen:])
	bad[6], bad[7], bad[8], bad[9] = byte(c), byte(c>>8), byte(c>>16), byte(c>>24)
	f("unknown flags", bad, frameBad)
}

func TestSegmentHeaderAndCursor(t *testing.T) {
	h := appendSegHeader(nil, 42)
	if len(h) != segHeaderLen {
		t.Fatalf("header of %d bytes", len(h))
	}
	if seq, err := checkSegHeader(h); err != nil || seq != 42 {
		t.Fatalf("checkSegHeader: %d, %v", seq, err)
	}
	c := appendCursor(nil, Pos{Seg: 7, Off: 12345})
	if len(c) != cursorLen {
		t.Fatalf("cursor of %d bytes", len(c))
	}
	if p, ok := parseCursor(c); !ok || p != (Pos{7, 12345}) {
		t.Fatalf("parseCursor: %v %v", p, ok)
	}
	for i := range c {
		d := bytes.Clone(c)
		d[i] ^= 0x10
		if _, ok := parseCursor(d); ok {
			t.Fatalf("byte %d changed: the cursor still parses", i)
		}
	}
	if _, ok := parseCursor(c[:cursorLen-1]); ok {
		t.Fatal("a short cursor parses")
	}
	f := func(name string, seq uint64, ok bool) {
		t.Helper()
		got, gotOK := parseSegName(name)
		if got != seq || gotOK != ok {
			t.Fatalf("parseSegName(%q) = %d, %v", name, got, gotOK)
		}
	}
	f(segName(1), 1, true)
	f(segName(math.MaxUint64), math.MaxUint64, true)
	f("00000000000000000000.seg", 0, false)
	f("1.seg", 0, false)
	f("cursor", 0, false)
	f("0000000000000000000a.seg", 0, false)
}

func TestParseSync(t *testing.T) {
	f := func(in string, want Sync, ok bool) {
		t.Helper()
		got, err := ParseSync(in)
		if (err == nil) != ok || got != want {
			t.Fatalf("ParseSync(%q) = %v, %v", in, got, err)
		}
		if ok && got.String() != in {
			t.Fatalf("%q String() = %q", in, got.String())
		}
	}
	f("always", SyncAlways, true)
	f("1s", Sync(time.Second), true)
	f("200ms", Sync(200*time.Millisecond), true)
	f("0s", 0, false)
	f("-1s", 0, false)
	f("sometimes", 0, false)
	f("", 0, false)
}

// Records go through the disk unchanged: topic, key (nil and empty apart), value (nil and empty
// apart), timestamp to the millisecond, and the append time.
func TestRecordsRoundTripOnDisk(t *testing.T) {
	type rec struct {
		topic      string
		key, value []byte
		ts         time.Time
	}
	recs := []rec{
		{"a", nil, []byte(`{"a":1}`), time.UnixMilli(1700000000123)},
		{"a", []byte{}, []byte(`{"a":2}`), time.UnixMilli(1)},
		{"b.topic", []byte(`{"k":1}`), []byte{}, time.Unix(1700000000, 999999999)}, // ns cut to ms
		{"b.topic", []byte(`{"k":2}`), nil, time.UnixMilli(-5)},
		{strings.Repeat("z", 249), bytes.Repeat([]byte("k"), 1000), bytes.Repeat([]byte("é"), 100000), time.UnixMilli(0)},
	}
	dir := t.TempDir()
	s := open(t, dir, Options{}, nil)
	before := time.Now().Add(-time.Millisecond)
	for _, r := range recs {
		if err := s.Append(r.topic, r.key, r.value, r.ts); err != nil {
			t.Fatal(err)
		}
	}
	after := time.Now().Add(time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, Options{}, nil)
	if n := s.Len(); n != int64(len(recs)) {
		t.Fatalf("Len %d after reopening, want %d", n, len(recs))
	}
	for i, r := range recs {
		e, ok, err := s.Reader().TryNext()
		if err != nil || !ok {
			t.Fatalf("record %d: %v %v", i, ok, err)
		}
		if e.Topic != r.topic || (e.Key == nil) != (r.key == nil) || !bytes.Equal(e.Key, r.key) ||
			(e.Value == nil) != (r.value == nil) || !bytes.Equal(e.Value, r.value) {
			t.Fatalf("record %d: topic %q key %q (nil %v) value of %d bytes (nil %v)", i, e.Topic, e.Key, e.Key == nil, len(e.Value), e.Value == nil)
		}
		if e.Timestamp.UnixMilli() != r.ts.UnixMilli() {
			t.Fatalf("record %d: timestamp %v, want %v", i, e.Timestamp, r.ts)
		}
		if e.Appended.Before(before) || e.Appended.After(after) {
			t.Fatalf("record %d: appended %v, not between %v and %v", i, e.Appended, before, after)
		}
	}
	if _, ok, _ := s.Reader().TryNext(); ok {
		t.Fatal("a record more than appended")
	}
}
