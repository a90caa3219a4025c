package spool

import (
	"errors"
	"fmt"
	"os"
	"slices"
)

// recover reads the directory at Open: the cursor, the segments from it on (checked record by
// record: torn tails cut, damage noted and reported), and sets the writer's next segment number.
func (s *Spool) recover() error {
	if err := os.Remove(s.dir + string(os.PathSeparator) + cursorTmpName); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("spool: cannot remove %s: %w", cursorTmpName, err)
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("spool: cannot list the directory %s: %w", s.dir, err)
	}
	var seqs []uint64
	for _, e := range entries {
		if seq, ok := parseSegName(e.Name()); ok && e.Type().IsRegular() {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)

	cursor, saved := s.readCursor()
	if saved {
		s.saved = cursor // what the file says; the background goroutine saves the cursor when it differs
	} else if len(seqs) > 0 {
		cursor = Pos{Seg: seqs[0], Off: segHeaderLen}
	}
	// Segments before the cursor's were wholly acknowledged; a crash came before their deletion.
	for len(seqs) > 0 && seqs[0] < cursor.Seg {
		if err := os.Remove(segPath(s.dir, seqs[0])); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("spool: cannot delete the acknowledged segment %s: %w", segPath(s.dir, seqs[0]), err)
		}
		seqs = seqs[1:]
	}
	cursor.Off = max(cursor.Off, segHeaderLen)
	if len(seqs) > 0 {
		s.nextSeq = seqs[len(seqs)-1] + 1
		if seqs[0] != cursor.Seg {
			// The cursor's segment is gone (deleted once acknowledged, the cursor not saved since).
			cursor = Pos{Seg: seqs[0], Off: segHeaderLen}
		}
	} else {
		// Nothing left: the cursor goes to the start of the segment Open creates, which must not
		// be one the cursor file points into.
		s.nextSeq = cursor.Seg
		if cursor.Off > segHeaderLen {
			s.nextSeq++
		}
		cursor = Pos{Seg: s.nextSeq, Off: segHeaderLen}
	}

	sr := segReader{dir: s.dir}
	defer sr.close()
	for i, seq := range seqs {
		from := int64(segHeaderLen)
		if seq == cursor.Seg {
			from = cursor.Off
		}
		info, keep, err := s.check(&sr, seq, from, i == len(seqs)-1)
		if err != nil {
			return err
		}
		if keep {
			s.segs = append(s.segs, info)
			s.bytes += info.size
		}
	}
	s.cursor, s.rd.pos = cursor, cursor
	if !saved {
		// Without a cursor file the spool starts at its oldest record, which is where cursor is:
		// nothing to save until it moves.
		s.saved = cursor
	}
	return nil
}

// readCursor reads the cursor file; saved is false when there is none or it is damaged (reported:
// the spool then starts at its oldest segment, and acknowledged records are replayed again).
func (s *Spool) readCursor() (c Pos, saved bool) {
	path := s.dir + string(os.PathSeparator) + cursorName
	b, err := os.ReadFile(path)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			s.onError(fmt.Errorf("spool: cannot read the cursor %s; replaying from the oldest segment (acknowledged records may be sent again): %w", path, err))
		}
		return Pos{Seg: 1, Off: segHeaderLen}, false
	}
	c, ok := parseCursor(b)
	if !ok {
		s.onError(fmt.Errorf("spool: the cursor %s is damaged; replaying from the oldest segment (acknowledged records may be sent again)", path))
		return Pos{Seg: 1, Off: segHeaderLen}, false
	}
	return c, true
}

// check reads segment seq from offset from and counts its records. In the last segment (the one
// written when the previous process stopped), a tail with no whole record after it is cut: a
// torn write, or damage when it does not look like one. Elsewhere, damaged spans are noted in
// the segInfo for the Reader to skip. keep is false for a last segment with no whole header,
// which is deleted (a crash as it was created).
func (s *Spool) check(sr *segReader, seq uint64, from int64, last bool) (info segInfo, keep bool, err error) {
	info.seq = seq
	path := segPath(s.dir, seq)
	if err := sr.use(seq); err != nil {
		return info, false, err
	}
	st, err := sr.f.Stat()
	if err != nil {
		return info, false, fmt.Errorf("spool: cannot stat the segment %s: %w", path, err)
	}
	size := st.Size()
	damage := func(off, n int64, torn bool, reason string) {
		if torn {
			s.torn.Add(1)
		} else {
			s.damaged.Add(1)
		}
		s.onError(&DamageError{Segment: path, Offset: off, Bytes: n, Torn: torn, Reason: reason})
	}

	h, err := sr.span(0, segHeaderLen, size)
	if err != nil {
		return info, false, err
	}
	if len(h) < segHeaderLen && last {
		sr.close()
		if size > 0 {
			damage(0, size, true, "a segment header cut short")
		}
		if err := os.Remove(path); err != nil {
			return info, false, fmt.Errorf("spool: cannot delete the empty segment %s: %w", path, err)
		}
		return info, false, nil
	}
	hseq, err := checkSegHeader(h)
	if errors.Is(err, errSegVersion) {
		return info, false, fmt.Errorf("spool: the segment %s: %w; it was written by another version of intake", path, err)
	}
	if err == nil && hseq != seq {
		err = fmt.Errorf("its header says it is segment %d", hseq)
	}
	if err != nil {
		damage(0, size, false, "no usable segment header: "+err.Error())
		info.size, info.dead = size, true
		return info, true, nil
	}

	off := min(max(from, segHeaderLen), size)
	records := int64(0)
	for off < size {
		payload, n, fst, err := sr.frame(off, size)
		if err != nil {
			return info, false, err
		}
		if fst == frameOK {
			if records == 0 {
				f, _ := decodePayload(payload)
				info.first = f.appended
			}
			records++
			off += int64(n)
			continue
		}
		reason := sr.why(off, size)
		to, err := sr.resync(off+1, size)
		if err != nil {
			return info, false, err
		}
		if to < size || !last {
			damage(off, to-off, false, reason)
			info.skips = append(info.skips, span{from: off, to: to})
			off = to
			continue
		}
		// The tail of the last segment: cut.
		torn := fst == frameShort
		if !torn {
			if torn, err = sr.allZero(off, size); err != nil {
				return info, false, err
			}
			if torn {
				reason = "zeros, as a machine crash leaves a file's unwritten end"
			}
		}
		damage(off, size-off, torn, reason)
		if err := cutTail(path, off); err != nil {
			return info, false, err
		}
		sr.close() // its buffer holds the bytes cut
		size = off
	}
	info.size = size
	s.records.Add(records)
	return info, true, nil
}

func cutTail(path string, off int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err == nil {
		err = f.Truncate(off)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("spool: cannot cut the torn tail of %s: %w", path, err)
	}
	return nil
}
