package spool

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// benchEvent is the real revision-create event (../shared/data, from the project root), compact,
// as the edge hands it to Kafka: 958 bytes.
func benchEvent(b *testing.B) []byte {
	b.Helper()
	data, err := os.ReadFile("../../shared/data/examples/mediawiki.revision.create/2.0.0.json")
	if err != nil {
		b.Skipf("no shared example events: %s", err)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		b.Fatalf("cannot parse the example events: %s", err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw[0]); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

const benchTopic = "eqiad.mediawiki.revision-create"

var benchKey = []byte(`{"page_id":123}`)

func benchOptions(sync Sync) Options {
	return Options{MaxBytes: 1 << 40, Sync: sync, OnError: func(err error) { panic(err) }}
}

func eventsPerSecond(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppend is Append of the revision-create event: with the default policy (fsync every
// second) from one goroutine, beside a bare os.File write of the event's frame (what Append
// adds: the lock, the encoding, the bookkeeping); and under SyncAlways from many goroutines (group
// commit), beside a bare write and fsync of each event, which is what SyncAlways would cost
// without grouping.
func BenchmarkAppend(b *testing.B) {
	ev := benchEvent(b)
	frame := appendFrame(nil, benchTopic, benchKey, ev, 1, 2)
	ts := time.Now()

	b.Run("interval", func(b *testing.B) {
		s := open(b, b.TempDir(), benchOptions(0), nil)
		b.ReportAllocs()
		b.SetBytes(int64(len(ev)))
		for b.Loop() {
			if err := s.Append(benchTopic, benchKey, ev, ts); err != nil {
				b.Fatal(err)
			}
		}
		eventsPerSecond(b)
	})
	b.Run("baseline-write", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "bare"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		b.ReportAllocs()
		b.SetBytes(int64(len(ev)))
		for b.Loop() {
			if _, err := f.Write(frame); err != nil {
				b.Fatal(err)
			}
		}
		eventsPerSecond(b)
	})
	b.Run("always-parallel", func(b *testing.B) {
		s := open(b, b.TempDir(), benchOptions(SyncAlways), nil)
		b.ReportAllocs()
		b.SetBytes(int64(len(ev)))
		b.SetParallelism(32) // requests in flight per GOMAXPROCS
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := s.Append(benchTopic, benchKey, ev, ts); err != nil {
					b.Error(err)
					return
				}
			}
		})
		eventsPerSecond(b)
	})
	b.Run("baseline-write-fsync-parallel", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "bare"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		var mu sync.Mutex
		b.ReportAllocs()
		b.SetBytes(int64(len(ev)))
		b.SetParallelism(32)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				mu.Lock()
				_, err := f.Write(frame)
				if err == nil {
					err = f.Sync()
				}
				mu.Unlock()
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
		eventsPerSecond(b)
	})
}

// BenchmarkReplay is the Reader handing out the revision-create event and taking its
// acknowledgement (what a replayer does per record, Kafka aside), from a spool written just
// before (so from the page cache, as after an outage of minutes), beside a bare bufio read of
// length-prefixed copies of the event from a file. Target: at least 100k events/s.
func BenchmarkReplay(b *testing.B) {
	ev := benchEvent(b)
	const chunk = 100000 // events written at a time, the timer stopped

	b.Run("spool", func(b *testing.B) {
		s := open(b, b.TempDir(), benchOptions(0), nil)
		r := s.Reader()
		b.ReportAllocs()
		b.SetBytes(int64(len(ev)))
		ts := time.Now()
		for i := 0; i < b.N; i++ {
			e, ok, err := r.TryNext()
			if err != nil {
				b.Fatal(err)
			}
			if !ok {
				b.StopTimer()
				for range chunk {
					if err := s.Append(benchTopic, benchKey, ev, ts); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				i--
				continue
			}
			if len(e.Value) != len(ev) {
				b.Fatalf("a value of %d bytes", len(e.Value))
			}
			r.Ack(e.Pos)
		}
		eventsPerSecond(b)
	})
	b.Run("baseline-bufio-read", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "bare")
		var f *os.File
		var br *bufio.Reader
		var hdr [4]byte
		buf := make([]byte, 0, 4096)
		left := 0 // events in the file not read yet
		b.ReportAllocs()
		b.SetBytes(int64(len(ev)))
		for i := 0; i < b.N; i++ {
			if left == 0 {
				b.StopTimer()
				if f != nil {
					f.Close()
				}
				w, err := os.Create(path)
				if err != nil {
					b.Fatal(err)
				}
				bw := bufio.NewWriterSize(w, 1<<20)
				for range chunk {
					binary.LittleEndian.PutUint32(hdr[:], uint32(len(ev)))
					bw.Write(hdr[:])
					bw.Write(ev)
				}
				if err := bw.Flush(); err != nil {
					b.Fatal(err)
				}
				w.Close()
				if f, err = os.Open(path); err != nil {
					b.Fatal(err)
				}
				br = bufio.NewReaderSize(f, readChunk)
				left = chunk
				b.StartTimer()
			}
			if _, err := io.ReadFull(br, hdr[:]); err != nil {
				b.Fatal(err)
			}
			buf = buf[:binary.LittleEndian.Uint32(hdr[:])]
			if _, err := io.ReadFull(br, buf); err != nil {
				b.Fatal(err)
			}
			left--
		}
		if f != nil {
			f.Close()
		}
		eventsPerSecond(b)
	})
}
