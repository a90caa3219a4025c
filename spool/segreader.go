package spool

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

const (
	readChunk   = 1 << 20 // bytes read at once
	maxKeepRead = 4 << 20 // a read buffer grown for a larger record is dropped back to readChunk
)

// segReader reads frames of one segment at a time through a buffer. Open's scan, the Reader and
// Stats each have their own. The bytes it returns are valid until its next call.
type segReader struct {
	dir   string
	seq   uint64
	f     *os.File
	buf   []byte // bytes of the segment from bufAt
	bufAt int64
}

func (r *segReader) path() string { return segPath(r.dir, r.seq) }

func segPath(dir string, seq uint64) string { return dir + string(os.PathSeparator) + segName(seq) }

// use makes r read segment seq.
func (r *segReader) use(seq uint64) error {
	if r.f != nil && r.seq == seq {
		return nil
	}
	r.close()
	f, err := os.Open(segPath(r.dir, seq))
	if err != nil {
		return fmt.Errorf("spool: cannot open the segment %s: %w", segPath(r.dir, seq), err)
	}
	r.f, r.seq, r.bufAt = f, seq, 0
	r.buf = r.buf[:0]
	return nil
}

func (r *segReader) close() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
	r.buf = r.buf[:0]
}

// span returns the bytes of the segment in [off, off+n), reading ahead up to limit. It returns fewer
// than n bytes when the file ends sooner.
func (r *segReader) span(off int64, n int, limit int64) ([]byte, error) {
	if off >= r.bufAt && off+int64(n) <= r.bufAt+int64(len(r.buf)) {
		return r.buf[off-r.bufAt : off-r.bufAt+int64(n)], nil
	}
	want := int64(max(n, readChunk))
	want = min(want, limit-off)
	if want <= 0 {
		return nil, nil
	}
	if int64(cap(r.buf)) < want || cap(r.buf) > maxKeepRead && want <= readChunk {
		r.buf = make([]byte, max(want, readChunk))
	}
	r.buf = r.buf[:want]
	got, err := r.f.ReadAt(r.buf, off)
	r.buf, r.bufAt = r.buf[:got], off
	if err != nil && !errors.Is(err, io.EOF) {
		r.buf = r.buf[:0]
		return nil, fmt.Errorf("spool: cannot read the segment %s: %w", r.path(), err)
	}
	return r.buf[:min(got, n)], nil
}

// frame reads the frame at off, which must end by limit.
func (r *segReader) frame(off, limit int64) (payload []byte, n int, st frameStatus, err error) {
	h, err := r.span(off, frameHeaderLen, limit)
	if err != nil {
		return nil, 0, frameBad, err
	}
	if _, n, st := parseFrame(h); st == frameBad || len(h) < frameHeaderLen {
		return nil, n, st, nil
	}
	length := int(uint32(h[2]) | uint32(h[3])<<8 | uint32(h[4])<<16 | uint32(h[5])<<24)
	b, err := r.span(off, frameHeaderLen+length, limit)
	if err != nil {
		return nil, 0, frameBad, err
	}
	payload, n, st = parseFrame(b)
	return payload, n, st, nil
}

// resync returns the offset of the first whole frame in [from, limit), or limit when there is
// none: where a reader that met damage at from-1 picks up again.
func (r *segReader) resync(from, limit int64) (int64, error) {
	off := from
	for off < limit {
		b, err := r.span(off, int(min(readChunk, limit-off)), limit)
		if err != nil {
			return 0, err
		}
		if len(b) == 0 {
			return limit, nil // the file is shorter than limit
		}
		i := bytes.IndexByte(b, frameMagic0)
		if i < 0 {
			off += int64(len(b))
			continue
		}
		cand := off + int64(i)
		_, _, st, err := r.frame(cand, limit)
		if err != nil {
			return 0, err
		}
		if st == frameOK {
			return cand, nil
		}
		off = cand + 1
	}
	return limit, nil
}

// allZero reports whether the segment's bytes in [off, limit) are all zero, as a file extended by
// a machine crash before its data blocks were written reads.
func (r *segReader) allZero(off, limit int64) (bool, error) {
	for off < limit {
		b, err := r.span(off, int(min(readChunk, limit-off)), limit)
		if err != nil {
			return false, err
		}
		if len(b) == 0 {
			return true, nil
		}
		for _, c := range b {
			if c != 0 {
				return false, nil
			}
		}
		off += int64(len(b))
	}
	return true, nil
}

// why says what is wrong with the frame at off, for a DamageError.
func (r *segReader) why(off, limit int64) string {
	b, err := r.span(off, frameHeaderLen, limit)
	if err != nil {
		return err.Error()
	}
	return diagnose(b, func(n int) []byte {
		b, _ := r.span(off, n, limit)
		return b
	})
}
