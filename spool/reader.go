package spool

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Entry is a record handed out by the Reader.
type Entry struct {
	Pos   Pos    // what to pass to Ack
	Topic string // an ordinary string, valid for good (the Reader keeps one copy of each topic)
	// Key (nil: the record had none) and Value point into the Reader's buffer: valid until the
	// next Next, TryNext or Rewind. Copy them to keep them (kafkaout's TryProduce does).
	Key, Value []byte
	Timestamp  time.Time // the Kafka record timestamp given to Append, to the millisecond
	Appended   time.Time // when Append ran, to the millisecond
}

// pending is an entry of the acknowledgement window: a record handed out, or a span with no
// record (damage, the end of a segment) that the cursor may pass once the records before are
// acknowledged.
type pending struct {
	start, end Pos
	appended   int64
	record     bool
	acked      bool
}

// Reader hands out the spool's records in the order they were appended, from the first one not
// acknowledged, while Appends go on. Next, TryNext and Rewind are for one goroutine at a time (the
// replayer); Ack is safe from any goroutine (Kafka's promises).
//
// Acknowledgements may come in any order. The window holds every record handed out and not yet
// acknowledged, in order; the cursor moves over its acknowledged prefix only, so an acknowledged
// record behind one that is not stays in the spool (and is replayed after a crash: at-least-once)
// until the one before it is acknowledged too. Records leave the spool only once acknowledged.
type Reader struct {
	s      *Spool
	mu     sync.Mutex // against Close
	closed bool
	sr     segReader
	pos    Pos // the next record to read for the first time
	reread bool
	rseq   uint64 // after Rewind: the number of the next window entry to hand out again
	lost   bool   // damage was skipped since Open: the record count is set right when caught up
	topics map[string]string
}

// Reader returns the spool's reader (there is one).
func (s *Spool) Reader() *Reader { return &s.rd }

// Next returns the next record, waiting for one (or for acknowledgements, when Options.MaxUnacked
// records are out) until ctx is done. It returns ErrClosed once the spool is closing, or an error
// reading the disk (the same record is tried again at the next call).
func (r *Reader) Next(ctx context.Context) (Entry, error) {
	for {
		e, ok, err := r.TryNext()
		if ok || err != nil {
			return e, err
		}
		select {
		case <-r.s.dataCh:
		case <-r.s.ackCh:
		case <-r.s.closing:
		case <-ctx.Done():
			return Entry{}, ctx.Err()
		}
	}
}

// TryNext is Next without waiting: ok is false when no record is ready.
func (r *Reader) TryNext() (e Entry, ok bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.s.closing:
		return Entry{}, false, ErrClosed
	default:
	}
	if r.closed {
		return Entry{}, false, ErrClosed
	}
	if r.reread {
		if e, ok, err = r.nextAgain(); ok || err != nil {
			return e, ok, err
		}
	}
	return r.nextNew()
}

// Rewind makes Next hand out again, in order, the records it handed out that are not acknowledged
// yet (those acknowledged meanwhile are skipped), then go on with new ones: for a replayer that
// gave up on records in flight (Kafka down again). Acknowledgements of the old hand-outs still
// count.
func (r *Reader) Rewind() {
	r.mu.Lock()
	s := r.s
	s.rmu.Lock()
	if s.head < len(s.win) {
		r.reread, r.rseq = true, s.winBase
	}
	s.rmu.Unlock()
	r.mu.Unlock()
}

// Ack tells the spool that Kafka acknowledged the record at p (or refused it for good: the
// replayer's to count): it may leave the spool once every record before it has been acknowledged.
// It reports whether this call acknowledged it: a position not handed out, or acknowledged
// already (a record handed out twice across a Rewind, both copies settled), is ignored.
func (r *Reader) Ack(p Pos) bool {
	s := r.s
	s.rmu.Lock()
	defer s.rmu.Unlock()
	w := s.win[s.head:]
	i := sort.Search(len(w), func(i int) bool { return !w[i].start.Less(p) })
	if i < len(w) && w[i].start == p && w[i].record && !w[i].acked {
		w[i].acked = true
		if i == 0 {
			s.advanceLocked()
		}
		return true
	}
	return false
}

// Unacked is the number of records handed out and not acknowledged.
func (r *Reader) Unacked() int {
	s := r.s
	s.rmu.Lock()
	defer s.rmu.Unlock()
	n := 0
	for _, e := range s.win[s.head:] {
		if e.record && !e.acked {
			n++
		}
	}
	return n
}

// advanceLocked moves the cursor over the acknowledged entries at the window's front. rmu is held.
func (s *Spool) advanceLocked() {
	seg := s.cursor.Seg
	for s.head < len(s.win) && s.win[s.head].acked {
		e := &s.win[s.head]
		s.cursor = e.end
		if e.record {
			s.records.Add(-1)
			s.acked.Add(1)
		}
		s.head++
		s.winBase++
	}
	switch {
	case s.head == len(s.win):
		s.win, s.head = s.win[:0], 0
	case s.head >= 1024 && s.head*2 >= len(s.win):
		n := copy(s.win, s.win[s.head:])
		s.win, s.head = s.win[:n], 0
	}
	if s.cursor.Seg != seg {
		notify(s.kick)
	}
	notify(s.ackCh)
}

// skipTo records that nothing the replayer must see lies between the read position and to.
func (r *Reader) skipTo(to Pos) {
	s := r.s
	s.rmu.Lock()
	if s.head == len(s.win) {
		seg := s.cursor.Seg
		s.cursor = to
		if to.Seg != seg {
			notify(s.kick)
		}
	} else {
		s.win = append(s.win, pending{start: r.pos, end: to, acked: true})
	}
	s.rmu.Unlock()
	r.pos = to
}

func (r *Reader) nextNew() (Entry, bool, error) {
	s := r.s
	for {
		s.rmu.Lock()
		full := len(s.win)-s.head >= s.maxUnacked
		s.rmu.Unlock()
		if full {
			return Entry{}, false, nil
		}

		s.mu.Lock()
		i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].seq >= r.pos.Seg })
		if i == len(s.segs) {
			s.mu.Unlock()
			return Entry{}, false, nil
		}
		info := s.segs[i]
		last := i == len(s.segs)-1
		var next uint64
		if !last {
			next = s.segs[i+1].seq
		}
		if last && r.lost && r.pos.Seg == info.seq && r.pos.Off >= info.size {
			// Caught up after skipping damage found while reading: the records counted in it are
			// gone, and every record written is handed out.
			s.rmu.Lock()
			if s.head == len(s.win) {
				s.records.Store(0)
				r.lost = false
			}
			s.rmu.Unlock()
		}
		s.mu.Unlock()

		if info.seq != r.pos.Seg {
			r.skipTo(Pos{Seg: info.seq, Off: segHeaderLen}) // the segment is gone
			continue
		}
		if r.pos.Off < segHeaderLen {
			r.pos.Off = segHeaderLen
		}
		if info.dead || r.pos.Off >= info.size {
			if last {
				return Entry{}, false, nil // caught up with the tail
			}
			r.skipTo(Pos{Seg: next, Off: segHeaderLen})
			continue
		}
		if to, ok := skipAt(info.skips, r.pos.Off); ok {
			r.skipTo(Pos{Seg: info.seq, Off: to}) // damage reported by Open
			continue
		}
		if err := r.sr.use(info.seq); err != nil {
			return Entry{}, false, err
		}
		payload, n, st, err := r.sr.frame(r.pos.Off, info.size)
		if err != nil {
			return Entry{}, false, err
		}
		if st != frameOK {
			// Written whole by this process or checked by Open: the file changed under us.
			reason := r.sr.why(r.pos.Off, info.size)
			to, err := r.sr.resync(r.pos.Off+1, info.size)
			if err != nil {
				return Entry{}, false, err
			}
			s.damaged.Add(1)
			s.onError(&DamageError{Segment: r.sr.path(), Offset: r.pos.Off, Bytes: to - r.pos.Off, Reason: reason})
			r.lost = true
			r.skipTo(Pos{Seg: info.seq, Off: to})
			continue
		}
		start := r.pos
		r.pos.Off += int64(n)
		e := r.entry(start, payload)
		s.rmu.Lock()
		s.win = append(s.win, pending{start: start, end: r.pos, appended: e.Appended.UnixMilli(), record: true})
		s.rmu.Unlock()
		s.replayed.Add(1)
		return e, true, nil
	}
}

// nextAgain hands out again the next record of the window not acknowledged (after Rewind).
func (r *Reader) nextAgain() (Entry, bool, error) {
	s := r.s
	for {
		s.rmu.Lock()
		r.rseq = max(r.rseq, s.winBase)
		i := s.head + int(r.rseq-s.winBase)
		if i >= len(s.win) {
			s.rmu.Unlock()
			r.reread = false
			return Entry{}, false, nil
		}
		p := s.win[i]
		s.rmu.Unlock()
		if !p.record || p.acked {
			r.rseq++
			continue
		}
		if err := r.sr.use(p.start.Seg); err != nil {
			return Entry{}, false, err
		}
		payload, _, st, err := r.sr.frame(p.start.Off, p.end.Off)
		if err != nil {
			return Entry{}, false, err
		}
		r.rseq++
		if st != frameOK {
			s.damaged.Add(1)
			s.onError(&DamageError{Segment: r.sr.path(), Offset: p.start.Off, Bytes: p.end.Off - p.start.Off,
				Reason: "a record read before fails its check when read again: " + r.sr.why(p.start.Off, p.end.Off)})
			r.Ack(p.start)
			continue
		}
		s.replayed.Add(1)
		return r.entry(p.start, payload), true, nil
	}
}

func (r *Reader) entry(p Pos, payload []byte) Entry {
	f, _ := decodePayload(payload) // checked by parseFrame
	return Entry{
		Pos:       p,
		Topic:     r.topic(f.topic),
		Key:       f.key,
		Value:     f.value,
		Timestamp: time.UnixMilli(f.ts),
		Appended:  time.UnixMilli(f.appended),
	}
}

// maxTopics bounds the Reader's copies of topic names (beyond, each record's is a new string).
const maxTopics = 4096

func (r *Reader) topic(b []byte) string {
	if t, ok := r.topics[string(b)]; ok {
		return t
	}
	t := string(b)
	if r.topics == nil {
		r.topics = make(map[string]string)
	}
	if len(r.topics) < maxTopics {
		r.topics[t] = t
	}
	return t
}

// skipAt returns the end of the damaged span off is in.
func skipAt(skips []span, off int64) (int64, bool) {
	for _, sp := range skips {
		if off >= sp.from && off < sp.to {
			return sp.to, true
		}
	}
	return 0, false
}
