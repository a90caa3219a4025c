package kafkaout

import (
	"math/bits"
	"sync/atomic"
)

// cacheLinePad keeps fields written by different cores on different cache lines.
type cacheLinePad [64]byte

// ring is a bounded lock-free multi-producer multi-consumer queue of records (Dmitry Vyukov's
// bounded MPMC queue). Every slot carries a sequence number that says whose turn it is: a pusher
// may fill slot pos&mask when seq == pos, a popper may empty it when seq == pos+1. Neither side
// ever waits for the other, so a full ring fails the push instead of blocking.
type ring struct {
	head atomic.Uint64 // next position to push; pushers claim it by CAS
	_    cacheLinePad
	tail atomic.Uint64 // next position to pop
	_    cacheLinePad

	mask  uint64
	slots []ringSlot
}

type ringSlot struct {
	seq atomic.Uint64
	rec *record // written before seq is published, read after seq is observed
}

// minRingSize is the smallest ring the sequence numbers work for: with one slot, "filled for
// position pos" and "free for position pos+1" are the same sequence number.
const minRingSize = 2

// ringSizeFor rounds n up to a power of two, so positions map to slots with a mask.
func ringSizeFor(n int) int {
	if n <= minRingSize {
		return minRingSize
	}
	return 1 << bits.Len(uint(n-1))
}

func (r *ring) init(size int) {
	size = ringSizeFor(size)
	r.mask = uint64(size - 1)
	r.slots = make([]ringSlot, size)
	for i := range r.slots {
		r.slots[i].seq.Store(uint64(i))
	}
}

// push appends rec and reports whether there was room. It never blocks.
func (r *ring) push(rec *record) bool {
	pos := r.head.Load()
	for {
		s := &r.slots[pos&r.mask]
		seq := s.seq.Load()
		switch dif := int64(seq - pos); {
		case dif == 0:
			if r.head.CompareAndSwap(pos, pos+1) {
				s.rec = rec
				s.seq.Store(pos + 1)
				return true
			}
			pos = r.head.Load()
		case dif < 0:
			// The slot still holds the record pushed one lap ago: the ring is full.
			return false
		default:
			// Another pusher claimed pos first.
			pos = r.head.Load()
		}
	}
}

// pop removes the oldest record, or returns nil when the ring is empty. A push that claimed its
// slot but has not published it yet also reads as empty; that pusher rings the doorbell after
// publishing, so the drainer comes back for it.
func (r *ring) pop() *record {
	pos := r.tail.Load()
	for {
		s := &r.slots[pos&r.mask]
		seq := s.seq.Load()
		switch dif := int64(seq - (pos + 1)); {
		case dif == 0:
			if r.tail.CompareAndSwap(pos, pos+1) {
				rec := s.rec
				s.rec = nil
				s.seq.Store(pos + r.mask + 1)
				return rec
			}
			pos = r.tail.Load()
		case dif < 0:
			return nil
		default:
			pos = r.tail.Load()
		}
	}
}

// full reports whether a push would fail right now. It is a cheap hint that lets TryProduce skip
// copying a record it could not push; push itself stays the authority.
func (r *ring) full() bool {
	// Load tail first: head only grows, so head-tail cannot underflow into a false "full".
	tail := r.tail.Load()
	return r.head.Load()-tail > r.mask
}

// len is the number of records in the ring; it may be off by the pushes and pops in progress.
func (r *ring) len() int {
	tail := r.tail.Load()
	return int(r.head.Load() - tail)
}

func (r *ring) cap() int {
	return len(r.slots)
}
