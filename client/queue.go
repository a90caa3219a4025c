package client

import (
	"context"
	"math"
	"sync"
	"time"
)

// queue holds enqueued events until a sender takes them in batches: in memory, or in a spool on
// disk. It is bounded (events and bytes, the batches in flight included) and never blocks a put.
type queue struct {
	mu      sync.Mutex
	wake    chan struct{} // cap 1: a put made a batch ready, or started the interval clock
	done    chan struct{} // closed by close: senders drain the queue and stop
	closing bool
	flushes int // Flush calls waiting: senders post partial batches at once

	batchEvents, batchBytes int64
	interval                time.Duration
	maxEvents, maxBytes     int64

	mem  []record // memory mode: waiting records, from head
	head int
	sp   *spool // spool mode: records are on disk, the counters below count them

	waiting, waitingBytes   int64
	inflight, inflightBytes int64
	oldest                  time.Time     // put time of the oldest waiting record
	empty                   chan struct{} // closed when nothing is waiting or in flight; nil when nobody waits
}

// batch is what a sender posts at once.
type batch struct {
	recs  []record
	bytes int64
	end   spoolPos // spool mode: just past the last record
}

func newQueue(cfg *config, sp *spool) *queue {
	q := &queue{
		wake:        make(chan struct{}, 1),
		done:        make(chan struct{}),
		batchEvents: int64(cfg.batchEvents),
		batchBytes:  int64(cfg.batchBytes),
		interval:    cfg.flushInterval,
		maxEvents:   int64(cfg.queueEvents),
		maxBytes:    int64(cfg.queueBytes),
		sp:          sp,
	}
	if sp != nil {
		// The spool is bounded by its bytes on disk; records there cost no memory.
		q.maxEvents, q.maxBytes = math.MaxInt64, sp.maxBytes
		q.waiting, q.waitingBytes = sp.recovered, sp.recoveredBytes
		if q.waiting > 0 {
			q.oldest = time.Now().Add(-q.interval) // a backlog goes out at once
		}
	}
	return q
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// put queues rec, or returns ErrQueueFull, ErrClosed, or the spool's write error.
func (q *queue) put(rec record) error {
	size := int64(len(rec.raw))
	if q.sp != nil {
		size = frameSize(rec)
	}
	q.mu.Lock()
	if q.closing {
		q.mu.Unlock()
		return ErrClosed
	}
	if q.waiting+q.inflight+1 > q.maxEvents || q.waitingBytes+q.inflightBytes+size > q.maxBytes {
		q.mu.Unlock()
		return ErrQueueFull
	}
	if q.sp != nil {
		if err := q.sp.append(rec); err != nil {
			q.mu.Unlock()
			return err
		}
	} else {
		q.mem = append(q.mem, rec)
	}
	q.waiting++
	q.waitingBytes += size
	if q.waiting == 1 {
		q.oldest = time.Now()
	}
	wake := q.waiting == 1 || q.waiting == q.batchEvents ||
		q.waitingBytes >= q.batchBytes && q.waitingBytes-size < q.batchBytes
	q.mu.Unlock()
	if wake {
		q.signal()
	}
	return nil
}

// readyLocked reports whether a batch should go now, else how long until the oldest record's
// interval is up.
func (q *queue) readyLocked() (bool, time.Duration) {
	if q.waiting == 0 {
		return false, -1
	}
	if q.closing || q.flushes > 0 || q.waiting >= q.batchEvents || q.waitingBytes >= q.batchBytes {
		return true, 0
	}
	age := time.Since(q.oldest)
	if age >= q.interval {
		return true, 0
	}
	return false, q.interval - age
}

// take waits for a batch and returns it; false once the queue is closed and empty, or stop ends.
// A spool read error is returned with no batch.
func (q *queue) take(stop <-chan struct{}) (*batch, bool, error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case <-stop:
			return nil, false, nil // Close gave up: what is left stays (spool) or fails (memory)
		default:
		}
		q.mu.Lock()
		ready, wait := q.readyLocked()
		if ready {
			if q.sp == nil {
				b := q.popLocked()
				more, _ := q.readyLocked()
				q.mu.Unlock()
				if more {
					q.signal() // another sender may take the next batch
				}
				return b, true, nil
			}
			avail := q.waiting
			q.mu.Unlock()
			// Only this goroutine reads the spool; the records counted as waiting are whole on disk.
			b, err := q.sp.read(q.batchEvents, q.batchBytes, avail)
			if err != nil {
				return nil, true, err
			}
			q.mu.Lock()
			q.waiting -= int64(len(b.recs))
			q.waitingBytes -= b.bytes
			q.inflight += int64(len(b.recs))
			q.inflightBytes += b.bytes
			q.mu.Unlock()
			return b, true, nil
		}
		if q.waiting == 0 && q.closing {
			q.mu.Unlock()
			return nil, false, nil
		}
		q.mu.Unlock()
		var tc <-chan time.Time
		if wait >= 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			tc = timer.C
		}
		select {
		case <-q.wake:
		case <-tc:
		case <-q.done:
		case <-stop:
			return nil, false, nil
		}
	}
}

// popLocked takes a memory batch: up to batchEvents records and batchBytes bytes, at least one.
func (q *queue) popLocked() *batch {
	b := &batch{}
	for q.head < len(q.mem) && int64(len(b.recs)) < q.batchEvents {
		rec := q.mem[q.head]
		size := int64(len(rec.raw))
		if len(b.recs) > 0 && b.bytes+size > q.batchBytes {
			break
		}
		b.recs = append(b.recs, rec)
		b.bytes += size
		q.mem[q.head] = record{}
		q.head++
	}
	if q.head == len(q.mem) {
		q.mem, q.head = q.mem[:0], 0
	} else if q.head > 4096 && q.head*2 > len(q.mem) {
		q.mem = append(q.mem[:0], q.mem[q.head:]...)
		q.head = 0
	}
	n := int64(len(b.recs))
	q.waiting -= n
	q.waitingBytes -= b.bytes
	q.inflight += n
	q.inflightBytes += b.bytes
	return b
}

// release is called once a batch is resolved: its records leave the queue's bounds.
func (q *queue) release(b *batch) {
	q.mu.Lock()
	q.inflight -= int64(len(b.recs))
	q.inflightBytes -= b.bytes
	if q.waiting+q.inflight == 0 && q.empty != nil {
		close(q.empty)
		q.empty = nil
	}
	q.mu.Unlock()
}

// close makes put fail with ErrClosed and senders post everything left, then stop.
func (q *queue) close() {
	q.mu.Lock()
	if !q.closing {
		q.closing = true
		close(q.done)
	}
	q.mu.Unlock()
}

// flush makes senders post what is waiting at once and waits until nothing is waiting or in
// flight, or ctx ends.
func (q *queue) flush(ctx context.Context) error {
	q.mu.Lock()
	if q.waiting+q.inflight == 0 {
		q.mu.Unlock()
		return nil
	}
	if q.empty == nil {
		q.empty = make(chan struct{})
	}
	empty := q.empty
	q.flushes++
	q.mu.Unlock()
	q.signal()
	defer func() {
		q.mu.Lock()
		q.flushes--
		q.mu.Unlock()
	}()
	select {
	case <-empty:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// drainMem removes and returns the records still waiting in memory (Close, after the senders
// stopped).
func (q *queue) drainMem() []record {
	q.mu.Lock()
	defer q.mu.Unlock()
	left := q.mem[q.head:]
	q.mem, q.head = nil, 0
	q.waiting, q.waitingBytes = 0, 0
	return left
}

// queued returns the events waiting or in flight.
func (q *queue) queued() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.waiting + q.inflight
}
