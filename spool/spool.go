package spool

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// DefaultMaxBytes is Options.MaxBytes when it is 0.
	DefaultMaxBytes = 4 << 30
	// DefaultSegmentBytes is Options.SegmentBytes when it is 0.
	DefaultSegmentBytes = 64 << 20
	// DefaultSyncInterval is the Sync policy when Options.Sync is 0.
	DefaultSyncInterval = time.Second
	// DefaultMaxUnacked is Options.MaxUnacked when it is 0.
	DefaultMaxUnacked = 1 << 16
	// MinMaxBytes is the smallest Options.MaxBytes.
	MinMaxBytes = 64 << 10

	maxKeepPending = 1 << 20 // a group buffer grown past this is not kept for the next group
)

var (
	// ErrFull is Append's answer when the record would take the spool past Options.MaxBytes.
	// Nothing was written; the spool takes records again once acknowledged segments are deleted.
	ErrFull = errors.New("spool: full (its max bytes reached)")
	// ErrClosed is the answer of Append and Next after Close.
	ErrClosed = errors.New("spool: closed")
	// ErrTooLarge is Append's answer for a record that could never fit: its payload over
	// MaxRecordBytes, its topic over 255 bytes, or its frame over the spool's max bytes.
	ErrTooLarge = errors.New("spool: record too large for the spool")
	// ErrLocked is wrapped by Open's error when another process (or another Open in this one)
	// holds the directory.
	ErrLocked = errors.New("spool: the directory is in use")
)

// Options configure a Spool. The zero value is usable: 4 GiB, 64 MiB segments, fsync every second.
type Options struct {
	// MaxBytes bounds the bytes of the segment files, acknowledged records not yet deleted
	// included. An Append that would pass it returns ErrFull. At least MinMaxBytes.
	MaxBytes int64
	// SegmentBytes is the size at which a new segment file starts (at most MaxBytes/4). Space is
	// given back a whole segment at a time, once every record in it is acknowledged.
	SegmentBytes int64
	// Sync is when appended records are fsynced (SyncAlways or an interval).
	Sync Sync
	// MaxUnacked bounds the records the Reader hands out before they are acknowledged: Next waits
	// for acknowledgements past it. It bounds the Reader's memory (about 48 bytes a record).
	MaxUnacked int
	// OnError, when set, hears what the spool cannot return to a caller: damage found by Open or
	// by the Reader (a *DamageError; errors.As), a damaged cursor, and failures of the background
	// fsync, cursor writes and segment deletion. It is called on the goroutine that found the
	// problem (Open's, Next's, the background one) and must not call Close.
	OnError func(error)
}

// Sync is a durability policy: SyncAlways, or the interval at which written records are fsynced.
type Sync time.Duration

// SyncAlways makes Append return only after its record is fsynced. Concurrent Appends share one
// write and one fsync (group commit).
const SyncAlways Sync = -1

// ParseSync reads "always" or a duration ("1s", "200ms") as a Sync.
func ParseSync(s string) (Sync, error) {
	if s == "always" {
		return SyncAlways, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("spool: want always or a positive duration such as 1s, not %q", s)
	}
	return Sync(d), nil
}

func (s Sync) String() string {
	if s == SyncAlways {
		return "always"
	}
	if s == 0 {
		return DefaultSyncInterval.String()
	}
	return time.Duration(s).String()
}

// DamageError describes bytes of a segment that hold no record the spool can read: a torn tail
// (Torn: the start of a record a crash cut short, cut off at Open) or damage (a bad checksum,
// garbage, a truncated record or segment header), skipped.
type DamageError struct {
	Segment string // the file
	Offset  int64
	Bytes   int64 // -1: the rest of the segment
	Torn    bool
	Reason  string
}

func (e *DamageError) Error() string {
	if e.Torn {
		return fmt.Sprintf("spool: cut the torn tail of %s at offset %d (%d bytes: %s)", e.Segment, e.Offset, e.Bytes, e.Reason)
	}
	return fmt.Sprintf("spool: skipped %d damaged bytes of %s at offset %d (%s); the records there are lost", e.Bytes, e.Segment, e.Offset, e.Reason)
}

// Stats are a spool's counts, for its metrics.
type Stats struct {
	Bytes    int64     // bytes of the segment files (intake_spool_bytes)
	MaxBytes int64     // their bound, Options.MaxBytes (intake_spool_max_bytes)
	Records  int64     // records not yet acknowledged (intake_spool_records)
	Oldest   time.Time // when the oldest of them was appended; zero when there is none (intake_spool_oldest_seconds: its age)
	Written  uint64    // records appended by this process (intake_spool_written_total)
	Replayed uint64    // records the Reader handed out, again after Rewind included (intake_spool_replayed_total)
	Acked    uint64    // records acknowledged and so released
	Damaged  uint64    // damaged spans skipped, at Open and since (intake_spool_damaged_total)
	Torn     uint64    // torn tails cut at Open
	Full     uint64    // Appends refused with ErrFull
}

// segInfo is a segment on disk.
type segInfo struct {
	seq   uint64
	size  int64 // bytes holding whole records (the file may be longer after a failed write)
	first int64 // append time (ms) of its first record not acknowledged at Open, or of its first; 0: none
	dead  bool  // no usable header: skipped whole
	skips []span
}

// span is a damaged range of a segment found at Open, [from, to).
type span struct{ from, to int64 }

// groupFail is the error of a group of Appends whose write failed, until each has read it.
type groupFail struct {
	gen  uint64
	err  error
	left int
}

// Spool is an on-disk queue of Kafka records: Append from any goroutine, one Reader.
type Spool struct {
	dir        string
	maxBytes   int64
	segBytes   int64
	always     bool
	interval   time.Duration
	maxUnacked int
	onError    func(error)
	lock       *os.File

	// The writer. Appends encode their records into pend, one group; one of them at a time (the
	// leader, flushing) writes a group while the next one fills.
	mu       sync.Mutex
	cond     sync.Cond // a group is done
	closed   bool
	wfile    *os.File
	wseq     uint64
	woff     int64 // where the next group is written: the end of the whole records
	broken   bool  // the segment's tail is uncertain after a failed write or fsync: start a new one
	dirty    bool  // written since the last fsync (interval policy)
	flushing bool
	inflight int    // bytes of the group being written
	pend     []byte // the group filling
	spare    []byte
	pendRecs int
	pendTime int64 // append time of pend's first record
	pendGen  uint64
	doneGen  uint64
	fails    []groupFail
	bytes    int64
	nextSeq  uint64
	segs     []segInfo // every segment on disk, in order; the last is the one written

	records  atomic.Int64
	written  atomic.Uint64
	replayed atomic.Uint64
	acked    atomic.Uint64
	damaged  atomic.Uint64
	torn     atomic.Uint64
	full     atomic.Uint64

	// The acknowledgement window (reader.go), under rmu. Lock order: mu, then rmu.
	rmu     sync.Mutex
	win     []pending
	head    int
	winBase uint64 // the number of win[head] among every entry pushed
	cursor  Pos

	bgMu  sync.Mutex // housekeep
	saved Pos        // the cursor in the cursor file, under bgMu

	rd Reader

	dataCh  chan struct{} // new records are visible, or a segment was sealed
	ackCh   chan struct{} // acknowledgements made room in the window
	kick    chan struct{} // the cursor entered a new segment: save it and delete the ones before
	closing chan struct{}
	bgDone  chan struct{}
}

// Open opens the spool in dir, creating the directory if needed, and takes its lock. It cuts a
// torn tail, reports damaged spans (Options.OnError, Stats.Damaged) and skips them, and starts a
// new segment to append to. It reads every record not yet acknowledged once, to check it.
func Open(dir string, o Options) (*Spool, error) {
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxBytes < MinMaxBytes {
		return nil, fmt.Errorf("spool: max bytes %d is under the minimum %d", o.MaxBytes, MinMaxBytes)
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = DefaultSegmentBytes
	}
	o.SegmentBytes = max(min(o.SegmentBytes, o.MaxBytes/4), 4096)
	if o.MaxUnacked <= 0 {
		o.MaxUnacked = DefaultMaxUnacked
	}
	if o.Sync < 0 && o.Sync != SyncAlways {
		return nil, fmt.Errorf("spool: sync policy %d is neither SyncAlways nor an interval", o.Sync)
	}
	s := &Spool{
		dir:        dir,
		maxBytes:   o.MaxBytes,
		segBytes:   o.SegmentBytes,
		always:     o.Sync == SyncAlways,
		interval:   time.Duration(o.Sync),
		maxUnacked: o.MaxUnacked,
		onError:    o.OnError,
		dataCh:     make(chan struct{}, 1),
		ackCh:      make(chan struct{}, 1),
		kick:       make(chan struct{}, 1),
		closing:    make(chan struct{}),
		bgDone:     make(chan struct{}),
		pendGen:    1,
	}
	if s.interval <= 0 {
		s.interval = DefaultSyncInterval // also the cursor's interval under SyncAlways
	}
	if s.onError == nil {
		s.onError = func(error) {}
	}
	s.cond.L = &s.mu
	s.rd = Reader{s: s, sr: segReader{dir: dir}}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("spool: cannot create the directory %s: %w", dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s.lock = lock
	if err := s.recover(); err != nil {
		s.rd.sr.close()
		unlockDir(lock)
		return nil, err
	}
	s.mu.Lock()
	err = s.rotateLocked()
	s.mu.Unlock()
	if err != nil {
		s.rd.sr.close()
		unlockDir(lock)
		return nil, err
	}
	go s.background()
	return s, nil
}

// Append writes a record to the spool: the Kafka topic, key (nil: none; empty: an empty key),
// value and the record's timestamp (kept to the millisecond). It copies the slices. It returns
// once the record is written to the file (handed to the OS: a crash of the process loses it no
// more), and under SyncAlways once it is fsynced. It returns ErrFull, ErrTooLarge, ErrClosed, or
// an error wrapping the cause when the write failed (disk full, the directory gone): the record
// is then not spooled, and nothing spooled before is lost. Safe for concurrent use.
func (s *Spool) Append(topic string, key, value []byte, ts time.Time) error {
	n := frameLen(topic, key, value)
	if n-frameHeaderLen > MaxRecordBytes || len(topic) > maxTopicBytes || int64(n)+3*segHeaderLen > s.maxBytes {
		return ErrTooLarge
	}
	now := time.Now().UnixMilli()
	s.mu.Lock()
	for {
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		end := s.woff + int64(s.inflight+len(s.pend))
		rotate := s.wfile == nil || end > segHeaderLen && end+int64(n) > s.segBytes
		// One segment header more is always kept free, for the new segment a failed write forces
		// (flushLocked), so that the files never pass maxBytes.
		need := int64(n) + segHeaderLen
		if rotate {
			need += segHeaderLen
		}
		if s.bytes+need > s.maxBytes {
			s.mu.Unlock()
			s.full.Add(1)
			return ErrFull
		}
		if !rotate {
			break
		}
		// Slow path: a new segment, once the records before are written to the old one.
		switch {
		case s.flushing:
			s.cond.Wait()
		case len(s.pend) > 0:
			s.flushLocked()
		default:
			if err := s.rotateLocked(); err != nil {
				s.mu.Unlock()
				return err
			}
		}
	}
	if s.pendRecs == 0 {
		s.pendTime = now
	}
	s.pend = appendFrame(s.pend, topic, key, value, ts.UnixMilli(), now)
	s.pendRecs++
	s.bytes += int64(n)
	gen := s.pendGen
	for s.doneGen < gen {
		if s.flushing {
			s.cond.Wait()
		} else {
			s.flushLocked()
		}
	}
	var err error
	if len(s.fails) > 0 {
		err = s.takeFailLocked(gen)
	}
	s.mu.Unlock()
	return err
}

// flushLocked makes the caller the leader: it writes the group filling (and fsyncs it under
// SyncAlways) with mu released meanwhile, then wakes the group's Appends.
func (s *Spool) flushLocked() {
	if s.flushing || len(s.pend) == 0 {
		panic("BUG: spool flush with a flush running or nothing to write")
	}
	buf, recs, first, gen := s.pend, s.pendRecs, s.pendTime, s.pendGen
	s.pend, s.spare = s.spare[:0], nil
	s.pendRecs = 0
	s.pendGen++
	s.flushing, s.inflight = true, len(buf)
	var err error
	if s.broken || s.wfile == nil {
		err = s.rotateLocked()
	}
	f, seq, off := s.wfile, s.wseq, s.woff
	s.mu.Unlock()

	broken := false
	if err == nil {
		broken, err = s.writeGroup(f, seq, buf, off)
	}

	s.mu.Lock()
	s.flushing, s.inflight = false, 0
	if err != nil {
		s.bytes -= int64(len(buf))
		s.broken = s.broken || broken
		s.fails = append(s.fails, groupFail{gen: gen, err: err, left: recs})
	} else {
		s.woff = off + int64(len(buf))
		last := &s.segs[len(s.segs)-1]
		last.size = s.woff
		if last.first == 0 {
			last.first = first
		}
		s.dirty = !s.always
		s.records.Add(int64(recs))
		s.written.Add(uint64(recs))
		notify(s.dataCh)
	}
	if cap(buf) <= maxKeepPending {
		s.spare = buf[:0]
	}
	s.doneGen = gen
	s.cond.Broadcast()
}

// writeGroup writes buf at off in the segment (and fsyncs it under SyncAlways). On failure it
// cuts the file back to off, so that no part of the group stays where the next one would follow;
// broken is true when it could not (or fsync failed: what is on disk is then unknown).
func (s *Spool) writeGroup(f *os.File, seq uint64, buf []byte, off int64) (broken bool, err error) {
	what := "write to"
	if testHookWrite != nil {
		_, err = testHookWrite(f, buf, off)
	} else {
		_, err = f.WriteAt(buf, off)
	}
	if err == nil && s.always {
		what = "fsync"
		if testHookSync != nil {
			err = testHookSync(f)
		} else {
			err = f.Sync()
		}
		broken = err != nil
	}
	if err == nil {
		return false, nil
	}
	if terr := f.Truncate(off); terr != nil {
		broken = true
	}
	return broken, fmt.Errorf("spool: cannot %s the segment %s: %w", what, segPath(s.dir, seq), err)
}

// Test hooks for failing writes (nil outside tests).
var (
	testHookWrite func(f *os.File, b []byte, off int64) (int, error)
	testHookSync  func(f *os.File) error
)

func (s *Spool) takeFailLocked(gen uint64) error {
	for i := range s.fails {
		if g := &s.fails[i]; g.gen == gen {
			err := g.err
			if g.left--; g.left == 0 {
				s.fails = append(s.fails[:i], s.fails[i+1:]...)
			}
			return err
		}
	}
	return nil
}

// rotateLocked seals the segment being written (fsynced) and starts the next one. mu is held and
// no group is being written into the old segment.
func (s *Spool) rotateLocked() error {
	if s.wfile != nil {
		if err := s.wfile.Sync(); err != nil && !s.broken {
			s.onError(fmt.Errorf("spool: cannot fsync the segment %s as it is sealed: %w", segPath(s.dir, s.wseq), err))
		}
		s.wfile.Close()
		s.wfile = nil
		notify(s.dataCh) // a Reader waiting at its end goes on to the next
	}
	seq := s.nextSeq
	s.nextSeq++ // a number that failed is not tried again
	path := segPath(s.dir, seq)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("spool: cannot create the segment %s: %w", path, err)
	}
	var hdr [segHeaderLen]byte
	if testHookWrite != nil {
		_, err = testHookWrite(f, appendSegHeader(hdr[:0], seq), 0)
	} else {
		_, err = f.WriteAt(appendSegHeader(hdr[:0], seq), 0)
	}
	if err == nil {
		// The new file's name must outlive a machine crash before its records can.
		err = syncDir(s.dir)
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("spool: cannot start the segment %s: %w", path, err)
	}
	s.segs = append(s.segs, segInfo{seq: seq, size: segHeaderLen})
	s.wfile, s.wseq, s.woff, s.broken, s.dirty = f, seq, segHeaderLen, false, false
	s.bytes += segHeaderLen
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Len is the number of records not yet acknowledged (one atomic load).
func (s *Spool) Len() int64 { return s.records.Load() }

// Room is about how many bytes of records Append can still take before ErrFull: MaxBytes less
// the files' bytes and the segment headers that rotations may need. Records take their frame's
// bytes (FrameBytes). Concurrent Appends may take the room first.
func (s *Spool) Room() int64 {
	s.mu.Lock()
	room := s.maxBytes - s.bytes - int64(s.inflight+len(s.pend)) - 2*segHeaderLen
	s.mu.Unlock()
	return max(room, 0)
}

// FrameBytes is how many bytes of the spool a record takes.
func FrameBytes(topic string, key, value []byte) int64 { return int64(frameLen(topic, key, value)) }

// Dir is the spool's directory.
func (s *Spool) Dir() string { return s.dir }

// Stats returns the spool's counts.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	st := Stats{Bytes: s.bytes, MaxBytes: s.maxBytes}
	s.mu.Unlock()
	st.Records = s.records.Load()
	st.Written = s.written.Load()
	st.Replayed = s.replayed.Load()
	st.Acked = s.acked.Load()
	st.Damaged = s.damaged.Load()
	st.Torn = s.torn.Load()
	st.Full = s.full.Load()
	if st.Records > 0 {
		if ms := s.oldest(); ms != 0 {
			st.Oldest = time.UnixMilli(ms)
		}
	}
	return st
}

// oldest is the append time of the first record not acknowledged: the window's first entry, or
// read from the disk at the cursor when the Reader has handed out none.
func (s *Spool) oldest() int64 {
	s.rmu.Lock()
	if s.head < len(s.win) {
		ms := s.win[s.head].appended
		s.rmu.Unlock()
		return ms
	}
	c := s.cursor
	s.rmu.Unlock()
	s.mu.Lock()
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].seq >= c.Seg })
	if i == len(s.segs) {
		s.mu.Unlock()
		return 0
	}
	info := s.segs[i]
	if info.seq != c.Seg || c.Off < segHeaderLen {
		c = Pos{Seg: info.seq, Off: segHeaderLen}
	}
	limit := info.size
	var next int64
	for _, g := range s.segs[i+1:] {
		if g.first != 0 {
			next = g.first
			break
		}
	}
	s.mu.Unlock()
	if c.Off >= limit || info.dead {
		return next
	}
	if c.Off == segHeaderLen && info.first != 0 {
		return info.first
	}
	sr := segReader{dir: s.dir}
	defer sr.close()
	if sr.use(c.Seg) == nil {
		if p, _, st, err := sr.frame(c.Off, limit); err == nil && st == frameOK {
			if f, ok := decodePayload(p); ok {
				return f.appended
			}
		}
	}
	if info.first != 0 {
		return info.first
	}
	return next
}

// Close writes what Appends left in memory, fsyncs the segment, saves the cursor, deletes
// acknowledged segments and releases the directory's lock. Next returns ErrClosed; acknowledgements
// after Close are not saved (those records are replayed again by the next Open).
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var err error
	for s.flushing || len(s.pend) > 0 {
		if s.flushing {
			s.cond.Wait()
			continue
		}
		gen := s.pendGen
		s.flushLocked()
		for _, g := range s.fails {
			if g.gen == gen && err == nil {
				err = g.err
			}
		}
	}
	if s.wfile != nil {
		if serr := s.wfile.Sync(); serr != nil && err == nil {
			err = fmt.Errorf("spool: cannot fsync the segment %s: %w", segPath(s.dir, s.wseq), serr)
		}
		s.wfile.Close()
		s.wfile = nil
	}
	s.mu.Unlock()

	close(s.closing)
	<-s.bgDone
	s.rd.mu.Lock()
	s.rd.closed = true
	s.rd.sr.close()
	s.rd.mu.Unlock()
	unlockDir(s.lock)
	return err
}

// background runs housekeep every interval, and when the cursor enters a new segment.
func (s *Spool) background() {
	defer close(s.bgDone)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-s.kick:
		case <-s.closing:
			s.housekeep()
			return
		}
		s.housekeep()
	}
}

// housekeep fsyncs the segment being written (interval policy), saves the cursor when it moved,
// and deletes the segments wholly acknowledged.
func (s *Spool) housekeep() {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if !s.always {
		s.syncWritten()
	}
	s.saveCursor()
	s.deleteAcked()
}

func (s *Spool) syncWritten() {
	s.mu.Lock()
	f, seq, dirty := s.wfile, s.wseq, s.dirty
	s.dirty = false
	s.mu.Unlock()
	if !dirty || f == nil {
		return
	}
	var err error
	if testHookSync != nil {
		err = testHookSync(f)
	} else {
		err = f.Sync()
	}
	if err != nil && !errors.Is(err, os.ErrClosed) { // a rotation closed it, fsynced
		s.onError(fmt.Errorf("spool: cannot fsync the segment %s; starting a new one: %w", segPath(s.dir, seq), err))
		s.mu.Lock()
		if s.wseq == seq {
			s.broken = true
		}
		s.mu.Unlock()
	}
}

// saveCursor replaces the cursor file when the cursor moved: write cursor.tmp, fsync, rename,
// fsync the directory. A crash at any point leaves the old cursor or the new one, whole.
func (s *Spool) saveCursor() {
	s.rmu.Lock()
	c := s.cursor
	s.rmu.Unlock()
	if c == s.saved {
		return
	}
	if err := writeCursor(s.dir, c); err != nil {
		s.onError(err)
		return
	}
	s.saved = c
}

func writeCursor(dir string, c Pos) error {
	var b [cursorLen]byte
	tmp := dir + string(os.PathSeparator) + cursorTmpName
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err == nil {
		_, err = f.Write(appendCursor(b[:0], c))
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = os.Rename(tmp, dir+string(os.PathSeparator)+cursorName)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("spool: cannot save the cursor in %s (acknowledged records may be replayed again): %w", dir, err)
	}
	return nil
}

// deleteAcked deletes the segments before the cursor's: every record in them was acknowledged.
// It goes by the cursor in memory even when saving it failed: an Open that finds its cursor's
// segment gone starts at the next one, so deleted records were acknowledged ones.
func (s *Spool) deleteAcked() {
	s.rmu.Lock()
	c := s.cursor
	s.rmu.Unlock()
	for {
		s.mu.Lock()
		if len(s.segs) < 2 || s.segs[0].seq >= c.Seg {
			s.mu.Unlock()
			return
		}
		seq := s.segs[0].seq
		s.mu.Unlock()
		if err := os.Remove(segPath(s.dir, seq)); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.onError(fmt.Errorf("spool: cannot delete the acknowledged segment %s: %w", segPath(s.dir, seq), err))
			return
		}
		s.mu.Lock()
		s.bytes -= s.segs[0].size
		s.segs = s.segs[1:]
		s.mu.Unlock()
	}
}
