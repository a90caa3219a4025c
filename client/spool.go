package client

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The spool keeps enqueued events on disk until the edge has answered for them.
//
// Layout of the spool directory:
//
//	00000000000000000001.seg   segment files, appended in order, numbered from 1
//	00000000000000000002.seg
//	cursor                     where the unacknowledged records start (segment, offset)
//	lock                       held (flock) by the client using the spool
//
// A segment is a sequence of records, each
//
//	length  uint32 little-endian: bytes of payload
//	crc     uint32 little-endian: CRC-32C (Castagnoli) of payload
//	payload uvarint len(id), id, uvarint len(stream), stream, [units], the event's JSON
//
// units, only in the record of an event enqueued before the stream configuration was loaded (the
// sender samples it by them), is a 0x00 byte, then the session, pageview and device ids, each as
// uvarint len(id), id. An event's JSON never begins with 0x00.
//
// A record is written with one write(2) before Enqueue returns. A writer killed mid-write leaves
// a torn record at the tail; at open, every segment from the cursor on is checked and cut at its
// first record that is short or fails its CRC (logged, with the bytes dropped). The cursor file
// (segment uint64, offset uint64, CRC-32C of those 16 bytes) is replaced (write to cursor.tmp,
// rename) after every acknowledged batch; segments wholly before it are deleted. A cursor that is
// missing or fails its CRC makes the spool start at its oldest segment: duplicates (which meta.id
// identifies), never loss.

const (
	frameHeader     = 8
	maxRecordBytes  = 64 << 20 // a length above this is a torn or corrupt header
	segmentSuffix   = ".seg"
	cursorFile      = "cursor"
	cursorTmpFile   = "cursor.tmp"
	lockFile        = "lock"
	spoolReadChunk  = 256 << 10
	cursorFileBytes = 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// spoolPos is a position in the spool: a segment number and a byte offset in it.
type spoolPos struct {
	seg uint64
	off int64
}

type spool struct {
	dir      string
	log      *slog.Logger
	fsync    time.Duration // WithSpoolFsync
	segBytes int64
	maxBytes int64
	lock     *os.File

	// Written at open, then read by newQueue.
	recovered, recoveredBytes int64

	// The writer. Appends are serialized by the queue's mutex; wmu guards the fields against the
	// reader's look at the write position and the background fsync.
	wmu   sync.Mutex
	wseg  uint64
	woff  int64
	wfile *os.File
	dirty bool // written since the last fsync
	wbuf  []byte

	// The reader, used by the one sender goroutine only.
	rpos   spoolPos
	rfile  *os.File
	rseg   uint64 // segment rfile is open on
	rsize  int64  // its size once it is no longer written, else -1
	rbuf   []byte // bytes of rseg from rbufAt
	rbufAt int64

	// The committed cursor and the oldest segment still on disk, sender goroutine only.
	cursor spoolPos
	oldest uint64

	stopSync chan struct{}
	syncDone chan struct{}
}

func segmentName(seg uint64) string { return fmt.Sprintf("%020d%s", seg, segmentSuffix) }

func (s *spool) segPath(seg uint64) string { return filepath.Join(s.dir, segmentName(seg)) }

// unitsMark opens the units of a record (see the layout above).
const unitsMark = 0x00

// frameSize is the bytes rec takes in the spool.
func frameSize(rec record) int64 {
	n := frameHeader + uvarintLen(uint64(len(rec.id))) + len(rec.id) +
		uvarintLen(uint64(len(rec.stream))) + len(rec.stream) + len(rec.raw)
	if u := rec.units; u != nil {
		n++
		for _, id := range [3]string{u.Session, u.Pageview, u.Device} {
			n += uvarintLen(uint64(len(id))) + len(id)
		}
	}
	return int64(n)
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// openSpool opens (creating it if needed) the spool in dir, takes its lock, cuts torn tails and
// counts the records left by an earlier client.
func openSpool(dir string, cfg *config, log *slog.Logger) (*spool, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("intake client: cannot create the spool directory (WithSpool): %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("intake client: cannot open the spool's lock file: %w", err)
	}
	if err := lockFileExclusive(lock); err != nil {
		lock.Close()
		return nil, fmt.Errorf("intake client: the spool %s is in use by another client (WithSpool): %w", dir, err)
	}
	s := &spool{
		dir:      dir,
		log:      log,
		fsync:    cfg.spoolFsync,
		segBytes: cfg.spoolSegmentBytes,
		maxBytes: cfg.spoolMaxBytes,
		lock:     lock,
	}
	if err := s.recover(); err != nil {
		s.closeFiles()
		return nil, err
	}
	if s.fsync > 0 {
		s.stopSync = make(chan struct{})
		s.syncDone = make(chan struct{})
		go s.syncLoop()
	}
	return s, nil
}

// segments lists the segment numbers in the directory, in order.
func (s *spool) segments() ([]uint64, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("intake client: cannot list the spool %s: %w", s.dir, err)
	}
	var segs []uint64
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, segmentSuffix) {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(name, segmentSuffix), 10, 64)
		if err != nil || n == 0 {
			continue
		}
		segs = append(segs, n)
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i] < segs[j] })
	return segs, nil
}

func (s *spool) recover() error {
	segs, err := s.segments()
	if err != nil {
		return err
	}
	cur, ok := s.readCursor()
	if !ok {
		cur = spoolPos{seg: 1}
		if len(segs) > 0 {
			cur = spoolPos{seg: segs[0]}
		}
	}
	var keep []uint64
	for _, seg := range segs {
		if seg < cur.seg {
			// Acknowledged before the last client stopped, not deleted yet.
			if err := os.Remove(s.segPath(seg)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("intake client: cannot delete an acknowledged spool segment: %w", err)
			}
			continue
		}
		keep = append(keep, seg)
	}
	if len(keep) > 0 && keep[0] > cur.seg {
		cur = spoolPos{seg: keep[0]}
	}
	s.cursor, s.rpos, s.oldest = cur, cur, cur.seg
	for _, seg := range keep {
		from := int64(0)
		if seg == cur.seg {
			from = cur.off
		}
		n, bytes, err := s.check(seg, from)
		if err != nil {
			return err
		}
		s.recovered += n
		s.recoveredBytes += bytes
	}
	s.wseg = cur.seg
	if len(keep) > 0 {
		last := keep[len(keep)-1]
		f, err := os.OpenFile(s.segPath(last), os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("intake client: cannot open the spool segment %s: %w", s.segPath(last), err)
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return fmt.Errorf("intake client: cannot stat the spool segment %s: %w", s.segPath(last), err)
		}
		s.wseg, s.wfile, s.woff = last, f, st.Size()
	}
	if s.recovered > 0 {
		s.log.Info("intake client: the spool holds events from an earlier run; sending them first",
			"dir", s.dir, "events", s.recovered, "bytes", s.recoveredBytes)
	}
	return nil
}

// check reads segment seg from offset from, cuts it after its last whole record, and returns the
// records and bytes from there.
func (s *spool) check(seg uint64, from int64) (n, bytes int64, err error) {
	path := s.segPath(seg)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("intake client: cannot open the spool segment %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("intake client: cannot stat the spool segment %s: %w", path, err)
	}
	size := st.Size()
	if from > size {
		s.log.Error("intake client: the spool cursor is past the end of its segment; sending the segment again from its start",
			"segment", path, "cursor", from, "size", size)
		from = 0
		s.cursor.off, s.rpos.off = 0, 0
	}
	r := bufio.NewReaderSize(io.NewSectionReader(f, from, size-from), 1<<20)
	var hdr [frameHeader]byte
	var payload []byte
	off := from
	reason := ""
	for off < size {
		if size-off < frameHeader {
			reason = "short record header"
			break
		}
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return 0, 0, fmt.Errorf("intake client: cannot read the spool segment %s: %w", path, err)
		}
		length := int64(binary.LittleEndian.Uint32(hdr[0:4]))
		if length == 0 || length > maxRecordBytes || off+frameHeader+length > size {
			reason = "record length beyond the end of the segment, or zero"
			break
		}
		if int64(cap(payload)) < length {
			payload = make([]byte, length)
		}
		payload = payload[:length]
		if _, err := io.ReadFull(r, payload); err != nil {
			return 0, 0, fmt.Errorf("intake client: cannot read the spool segment %s: %w", path, err)
		}
		if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(hdr[4:8]) {
			reason = "record CRC mismatch"
			break
		}
		if !payloadOK(payload) {
			reason = "record payload cannot be decoded"
			break
		}
		n++
		bytes += frameHeader + length
		off += frameHeader + length
	}
	if off < size {
		// A torn tail (the writer died mid-record) or a damaged record: what follows cannot be
		// framed, so it goes.
		s.log.Warn("intake client: dropping the torn tail of a spool segment", "segment", path,
			"offset", off, "bytes", size-off, "reason", reason)
		if err := f.Truncate(off); err != nil {
			return 0, 0, fmt.Errorf("intake client: cannot cut the torn tail of %s: %w", path, err)
		}
		if s.fsync >= 0 {
			f.Sync()
		}
	}
	return n, bytes, nil
}

func appendPayload(dst []byte, rec record) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(rec.id)))
	dst = append(dst, rec.id...)
	dst = binary.AppendUvarint(dst, uint64(len(rec.stream)))
	dst = append(dst, rec.stream...)
	if u := rec.units; u != nil {
		dst = append(dst, unitsMark)
		for _, id := range [3]string{u.Session, u.Pageview, u.Device} {
			dst = binary.AppendUvarint(dst, uint64(len(id)))
			dst = append(dst, id...)
		}
	}
	return append(dst, rec.raw...)
}

// splitPayload splits a record's payload into its fields: id, stream, and (units true) the
// session, pageview and device ids; and the event's JSON. ok is false when p cannot be decoded.
// The slices point into p.
func splitPayload(p []byte) (f [5][]byte, units bool, raw []byte, ok bool) {
	next := func(i int) bool {
		n, k := binary.Uvarint(p)
		if k <= 0 || uint64(len(p)-k) < n {
			return false
		}
		f[i], p = p[k:k+int(n)], p[k+int(n):]
		return true
	}
	if !next(0) || !next(1) {
		return f, false, nil, false
	}
	if len(p) > 0 && p[0] == unitsMark {
		p, units = p[1:], true
		if !next(2) || !next(3) || !next(4) {
			return f, false, nil, false
		}
	}
	return f, units, p, len(p) > 0
}

// payloadOK reports whether decodePayload can decode p.
func payloadOK(p []byte) bool {
	_, _, _, ok := splitPayload(p)
	return ok
}

func decodePayload(p []byte) (record, error) {
	f, units, raw, ok := splitPayload(p)
	if !ok {
		return record{}, errors.New("record payload cannot be decoded")
	}
	rec := record{id: string(f[0]), stream: string(f[1]), raw: append([]byte(nil), raw...)}
	if units {
		rec.units = &Units{Session: string(f[2]), Pageview: string(f[3]), Device: string(f[4])}
	}
	return rec, nil
}

// append writes rec at the end of the spool (a new segment when the current one is full).
// Callers serialize appends (the queue's mutex).
func (s *spool) append(rec record) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	size := frameSize(rec)
	if size-frameHeader > maxRecordBytes {
		return fmt.Errorf("%w: %d bytes, more than a spool record holds (%d)", ErrEventTooLarge, size-frameHeader, maxRecordBytes)
	}
	if s.wfile == nil || s.woff > 0 && s.woff+size > s.segBytes {
		if err := s.rotateLocked(); err != nil {
			return err
		}
	}
	b := append(s.wbuf[:0], 0, 0, 0, 0, 0, 0, 0, 0) // the header, filled in below
	b = appendPayload(b, rec)
	binary.LittleEndian.PutUint32(b[0:4], uint32(len(b)-frameHeader))
	binary.LittleEndian.PutUint32(b[4:8], crc32.Checksum(b[frameHeader:], crcTable))
	if cap(b) <= 1<<20 {
		s.wbuf = b
	}
	if _, err := s.wfile.Write(b); err != nil {
		// Never leave half a record where the next one would follow it.
		s.wfile.Truncate(s.woff)
		return fmt.Errorf("intake client: cannot write to the spool segment %s: %w", s.segPath(s.wseg), err)
	}
	s.woff += int64(len(b))
	if s.fsync == 0 {
		if err := s.wfile.Sync(); err != nil {
			return fmt.Errorf("intake client: cannot fsync the spool segment %s: %w", s.segPath(s.wseg), err)
		}
	} else {
		s.dirty = true
	}
	return nil
}

func (s *spool) rotateLocked() error {
	next := s.wseg
	if s.wfile != nil {
		if s.fsync >= 0 && s.dirty {
			s.wfile.Sync()
		}
		s.wfile.Close()
		s.wfile = nil
		next++
	}
	f, err := os.OpenFile(s.segPath(next), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("intake client: cannot create a spool segment: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("intake client: cannot stat the spool segment %s: %w", s.segPath(next), err)
	}
	if s.fsync >= 0 {
		syncDir(s.dir)
	}
	s.wseg, s.wfile, s.woff, s.dirty = next, f, st.Size(), false
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// syncLoop fsyncs the segment being written every s.fsync while it has new data.
func (s *spool) syncLoop() {
	defer close(s.syncDone)
	t := time.NewTicker(s.fsync)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-s.stopSync:
			return
		}
		s.wmu.Lock()
		f := s.wfile
		dirty := s.dirty
		s.dirty = false
		s.wmu.Unlock()
		if dirty && f != nil {
			// A rotation may close f meanwhile; it synced it first.
			if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
				s.log.Warn("intake client: cannot fsync the spool", "dir", s.dir, "err", err)
			}
		}
	}
}

// writeEnd returns the write position.
func (s *spool) writeEnd() spoolPos {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return spoolPos{seg: s.wseg, off: s.woff}
}

// read returns the next records after the last read ones: up to maxEvents and maxBytes (at least
// one), at most avail (records known to be whole on disk). Sender goroutine only.
func (s *spool) read(maxEvents, maxBytes, avail int64) (*batch, error) {
	b := &batch{}
	// The avail records were whole on disk before this call, so they end before this position.
	end := s.writeEnd()
	for int64(len(b.recs)) < min(maxEvents, avail) {
		if s.rfile == nil || s.rseg != s.rpos.seg {
			if err := s.openRead(s.rpos.seg); err != nil {
				if errors.Is(err, os.ErrNotExist) && s.rpos.seg < end.seg {
					s.rpos = spoolPos{seg: s.rpos.seg + 1}
					continue
				}
				return nil, err
			}
		}
		limit := end.off
		if s.rpos.seg < end.seg {
			// A segment before the one being written never grows: its size once.
			if s.rsize < 0 {
				st, err := s.rfile.Stat()
				if err != nil {
					return nil, fmt.Errorf("intake client: cannot stat the spool segment %s: %w", s.segPath(s.rseg), err)
				}
				s.rsize = st.Size()
			}
			limit = s.rsize
		}
		if s.rpos.off >= limit {
			if s.rpos.seg < end.seg {
				s.rpos = spoolPos{seg: s.rpos.seg + 1}
				continue
			}
			break
		}
		hdr, err := s.readSpan(s.rpos.off, frameHeader, limit)
		if err != nil {
			return nil, err
		}
		length := int64(binary.LittleEndian.Uint32(hdr[0:4]))
		crc := binary.LittleEndian.Uint32(hdr[4:8])
		payload, err := s.readSpan(s.rpos.off+frameHeader, length, limit)
		if err != nil {
			return nil, err
		}
		if crc32.Checksum(payload, crcTable) != crc {
			// Checked at open and written whole since: the file changed under us.
			return nil, fmt.Errorf("intake client: spool segment %s: record at offset %d fails its CRC", s.segPath(s.rseg), s.rpos.off)
		}
		rec, err := decodePayload(payload)
		if err != nil {
			return nil, fmt.Errorf("intake client: spool segment %s: record at offset %d: %w", s.segPath(s.rseg), s.rpos.off, err)
		}
		size := frameHeader + length
		if len(b.recs) > 0 && b.bytes+size > maxBytes {
			break
		}
		b.recs = append(b.recs, rec)
		b.bytes += size
		s.rpos.off += size
	}
	if len(b.recs) == 0 {
		return nil, fmt.Errorf("intake client: the spool %s has fewer records than counted", s.dir)
	}
	b.end = s.rpos
	return b, nil
}

func (s *spool) openRead(seg uint64) error {
	if s.rfile != nil {
		s.rfile.Close()
		s.rfile = nil
	}
	f, err := os.Open(s.segPath(seg))
	if err != nil {
		return fmt.Errorf("intake client: cannot open the spool segment: %w", err)
	}
	s.rfile, s.rseg, s.rsize, s.rbuf, s.rbufAt = f, seg, -1, s.rbuf[:0], 0
	return nil
}

// readSpan returns n bytes of the read segment at off, through a read-ahead buffer of up to
// limit (the end of what is written). The bytes are valid until the next readSpan.
func (s *spool) readSpan(off, n, limit int64) ([]byte, error) {
	if off+n > limit {
		return nil, fmt.Errorf("intake client: spool segment %s: record at offset %d runs past the written end %d", s.segPath(s.rseg), off, limit)
	}
	if off >= s.rbufAt && off+n <= s.rbufAt+int64(len(s.rbuf)) {
		return s.rbuf[off-s.rbufAt : off-s.rbufAt+n], nil
	}
	want := min(max(n, spoolReadChunk), limit-off)
	if int64(cap(s.rbuf)) < want {
		s.rbuf = make([]byte, want)
	}
	s.rbuf = s.rbuf[:want]
	if _, err := s.rfile.ReadAt(s.rbuf, off); err != nil {
		s.rbuf = s.rbuf[:0]
		return nil, fmt.Errorf("intake client: cannot read the spool segment %s: %w", s.segPath(s.rseg), err)
	}
	s.rbufAt = off
	return s.rbuf[:n], nil
}

// commit records that everything before end was acknowledged (or rejected as invalid): it
// replaces the cursor file and deletes the segments wholly before it. Sender goroutine only.
func (s *spool) commit(end spoolPos) error {
	var b [cursorFileBytes]byte
	binary.LittleEndian.PutUint64(b[0:8], end.seg)
	binary.LittleEndian.PutUint64(b[8:16], uint64(end.off))
	binary.LittleEndian.PutUint32(b[16:20], crc32.Checksum(b[:16], crcTable))
	tmp := filepath.Join(s.dir, cursorTmpFile)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("intake client: cannot write the spool cursor: %w", err)
	}
	_, err = f.Write(b[:])
	if err == nil && s.fsync == 0 {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.dir, cursorFile))
	}
	if err != nil {
		return fmt.Errorf("intake client: cannot write the spool cursor: %w", err)
	}
	s.cursor = end
	for ; s.oldest < end.seg; s.oldest++ {
		if err := os.Remove(s.segPath(s.oldest)); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("intake client: cannot delete an acknowledged spool segment", "err", err)
		}
	}
	return nil
}

// readCursor reads the cursor file; false when it is missing or damaged.
func (s *spool) readCursor() (spoolPos, bool) {
	b, err := os.ReadFile(filepath.Join(s.dir, cursorFile))
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("intake client: cannot read the spool cursor; starting at the oldest segment", "dir", s.dir, "err", err)
		}
		return spoolPos{}, false
	}
	if len(b) != cursorFileBytes || crc32.Checksum(b[:16], crcTable) != binary.LittleEndian.Uint32(b[16:20]) {
		s.log.Warn("intake client: the spool cursor is damaged; starting at the oldest segment (events may be sent twice)", "dir", s.dir)
		return spoolPos{}, false
	}
	pos := spoolPos{seg: binary.LittleEndian.Uint64(b[0:8]), off: int64(binary.LittleEndian.Uint64(b[8:16]))}
	if pos.seg == 0 || pos.off < 0 {
		return spoolPos{}, false
	}
	return pos, true
}

func (s *spool) closeFiles() {
	if s.rfile != nil {
		s.rfile.Close()
		s.rfile = nil
	}
	s.wmu.Lock()
	if s.wfile != nil {
		if s.fsync >= 0 && s.dirty {
			s.wfile.Sync()
		}
		s.wfile.Close()
		s.wfile = nil
	}
	s.wmu.Unlock()
	if s.lock != nil {
		unlockFile(s.lock)
		s.lock.Close()
		s.lock = nil
	}
}

// close stops the background fsync, syncs and closes the files and releases the lock.
func (s *spool) close() {
	if s.stopSync != nil {
		close(s.stopSync)
		<-s.syncDone
	}
	s.closeFiles()
}
