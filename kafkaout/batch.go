package kafkaout

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Batch collects the produce results of one request's records. A request goroutine owns it: it
// calls Add, TryProduce with the batch, Wait, reads Err and finally ReleaseBatch. Promises write
// the results from franz-go's goroutines.
//
// A Batch is reference counted: the owner holds one reference and every pushed record holds one
// until its promise ran, so ReleaseBatch after a timed-out Wait leaves the batch to its last
// in-flight record, which returns it to the pool.
type Batch struct {
	refs  atomic.Int32  // 1 for the owner + records pushed and not yet reported
	done  chan struct{} // cap 1; a promise rings it when refs drops to 1
	timer *time.Timer   // reused by Wait; lives as long as the pooled Batch
	res   []result

	shard    uint32 // the ring shard all records of the batch go to, keeping their order
	hasShard bool

	// now is the time of the batch's records (TryProduce), read once per batchClockEvery of
	// them (clockUses counts them) and again after each Add: a clock read costs 20-100 ns, about
	// as much as queueing a record.
	now       time.Time
	clockUses int
}

// batchClockEvery is how many records of a Batch share a clock read. The time is then late by
// what queueing that many records takes (at most 32 events processed, well under a millisecond);
// it is the record's Kafka timestamp when the event has none near it, and the start of its
// (sampled) produce duration.
const batchClockEvery = 32

// clock is the time for the batch's next record.
func (b *Batch) clock() time.Time {
	if b.clockUses == 0 {
		b.now = time.Now()
	}
	if b.clockUses++; b.clockUses == batchClockEvery {
		b.clockUses = 0
	}
	return b.now
}

// result is one record's slot. state is written last and read first, so err is only read once
// its write is visible; a promise and the owner never write the same slot concurrently.
type result struct {
	err   error
	state atomic.Uint32
}

const (
	resultPending uint32 = iota
	resultAcked
	resultFailed
)

// errNoResult is what Err reports for a record that has no result yet: Wait timed out before
// Kafka answered. IsUnavailable reports true for it.
var errNoResult = errors.New("kafkaout: Kafka did not acknowledge the record in time")

// AcquireBatch returns an empty Batch from the pool. Release it with ReleaseBatch.
func AcquireBatch() *Batch {
	return getBatch()
}

// ReleaseBatch gives b back. It is safe after a Wait that timed out: b returns to the pool only
// when its last in-flight record has reported. b must not be used after ReleaseBatch.
func ReleaseBatch(b *Batch) {
	switch n := b.refs.Add(-1); {
	case n == 0:
		putBatch(b)
	case n < 0:
		panic("BUG: ReleaseBatch called twice for the same Batch")
	}
}

// Add reserves result slots for n more records: after Add(n) on an empty batch, TryProduce
// accepts idx 0..n-1. Call it before the TryProduce calls, not while records of the batch are in
// flight. A record whose TryProduce fails does not count as pending: Wait does not wait for it
// and Err(idx) reports the TryProduce error.
func (b *Batch) Add(n int) {
	if b.refs.Load() != 1 {
		panic("BUG: Batch.Add called while records of the batch are in flight; call Add before the TryProduce calls")
	}
	b.clockUses = 0 // the clock is read again for a round of records added later
	if n <= 0 {
		return
	}
	if len(b.res)+n > cap(b.res) {
		res := make([]result, len(b.res)+n)
		for i := range b.res {
			res[i].err = b.res[i].err
			res[i].state.Store(b.res[i].state.Load())
		}
		b.res = res
		return
	}
	b.res = b.res[:len(b.res)+n]
}

// Len is the number of result slots reserved by Add.
func (b *Batch) Len() int {
	return len(b.res)
}

// Wait blocks until every record pushed with b has its result, or until timeout. It reports
// whether all of them finished. Wait does not allocate: the timer comes with the pooled Batch.
func (b *Batch) Wait(timeout time.Duration) bool {
	// Fast path: nothing in flight (nothing pushed, or everything already reported).
	if b.refs.Load() == 1 {
		return true
	}
	if timeout <= 0 {
		return false
	}
	if b.timer == nil {
		b.timer = time.NewTimer(timeout)
	} else {
		b.timer.Reset(timeout)
	}
	defer b.timer.Stop()
	for {
		select {
		case <-b.done:
			// A token may be stale (rung for an earlier round), so count again.
			if b.refs.Load() == 1 {
				return true
			}
		case <-b.timer.C:
			return b.refs.Load() == 1
		}
	}
}

// Err is the result of the record pushed at idx: nil when Kafka acknowledged it. Read it after
// Wait. For a record without result yet (Wait timed out), it is an error for which IsUnavailable
// is true; for a record whose TryProduce failed, it is that error.
func (b *Batch) Err(idx int) error {
	r := &b.res[idx]
	switch r.state.Load() {
	case resultAcked:
		return nil
	case resultFailed:
		return r.err
	}
	return errNoResult
}

// set stores the result of the record at idx. The caller is the slot's only writer: either the
// record's promise or the owner after a failed TryProduce.
func (b *Batch) set(idx int, err error) {
	r := &b.res[idx]
	if err == nil {
		r.state.Store(resultAcked)
		return
	}
	r.err = err
	r.state.Store(resultFailed)
}

// report is called by the promise of a record pushed with b.
func (b *Batch) report(idx int, err error) {
	b.set(idx, err)
	switch b.refs.Add(-1) {
	case 0:
		// The owner already released b after a timed-out Wait; we were the last reference.
		putBatch(b)
	case 1:
		// Everything reported: wake the owner if it waits. Never block a franz-go promise.
		select {
		case b.done <- struct{}{}:
		default:
		}
	}
}

// maxPooledBatchResults caps the result slots a pooled Batch keeps.
const maxPooledBatchResults = 16 << 10

func (b *Batch) reset() {
	if cap(b.res) > maxPooledBatchResults {
		b.res = nil
	}
	for i := range b.res {
		b.res[i].err = nil
		b.res[i].state.Store(resultPending)
	}
	b.res = b.res[:0]
	b.hasShard = false
	b.shard = 0
	// Drop a token rung after the last Wait; one rung later only costs a spurious wakeup,
	// because Wait counts again.
	select {
	case <-b.done:
	default:
	}
	b.refs.Store(1)
}

var batchPool sync.Pool

func getBatch() *Batch {
	if v := batchPool.Get(); v != nil {
		return v.(*Batch)
	}
	b := &Batch{done: make(chan struct{}, 1)}
	b.refs.Store(1)
	return b
}

func putBatch(b *Batch) {
	b.reset()
	batchPool.Put(b)
}
