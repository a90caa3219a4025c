package kafkaout

import (
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"intake.dev/intake/spool"
)

// record is a franz-go record with its own key and value storage and the way back to the request
// waiting for it. It is the producer's from TryProduce until its promise runs.
type record struct {
	kgo.Record

	// ctx is what Record.Context points to, so the promise finds its record again by a type
	// assertion instead of a closure allocated per record.
	ctx recordCtx

	buf   []byte    // backs Record.Key and Record.Value
	start time.Time // when TryProduce accepted the record, for the produce duration histogram
	p     *Producer
	batch *Batch // nil for fire-and-forget
	idx   int    // the record's result slot in batch

	spooled bool      // replayed from the spool: its promise settles pos (finishSpooled)
	pos     spool.Pos // its position in the spool
}

// recordCtx is a context.Context that never ends: franz-go treats a record whose context has a
// nil Done channel as not cancelable, which is what we want (delivery is bounded by
// RecordDeliveryTimeout and by Close).
type recordCtx struct {
	rec *record
}

func (recordCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (recordCtx) Done() <-chan struct{}       { return nil }
func (recordCtx) Err() error                  { return nil }
func (recordCtx) Value(any) any               { return nil }

// emptyBytes keeps an empty key or value non-nil: Kafka tells a null key (spread over partitions)
// from an empty one (hashed like any other key), and a null value is a tombstone.
var emptyBytes = []byte{}

// set copies key and value into the record's own buffer, keeping nil apart from empty.
func (r *record) set(topic string, key, value []byte) {
	buf := slices.Grow(r.buf[:0], len(key)+len(value))
	buf = append(buf, key...)
	buf = append(buf, value...)
	r.buf = buf
	r.Topic = topic
	r.Key = sub(buf, 0, len(key), key == nil)
	r.Value = sub(buf, len(key), len(buf), value == nil)
}

func sub(buf []byte, from, to int, isNil bool) []byte {
	switch {
	case isNil:
		return nil
	case from == to:
		return emptyBytes
	}
	return buf[from:to:to]
}

func (r *record) reset() {
	r.Record = kgo.Record{Context: &r.ctx}
	r.buf = r.buf[:0]
	r.start = time.Time{}
	r.p = nil
	r.batch = nil
	r.idx = 0
	r.spooled = false
	r.pos = spool.Pos{}
}

// maxPooledRecordBytes caps the buffer a pooled record keeps: one huge event must not pin its
// buffer in the free list for good.
const maxPooledRecordBytes = 64 << 10

var recordPool sync.Pool

func getRecord() *record {
	if v := recordPool.Get(); v != nil {
		return v.(*record)
	}
	r := &record{}
	r.ctx.rec = r
	r.Record.Context = &r.ctx
	return r
}

func putRecord(r *record) {
	if cap(r.buf) > maxPooledRecordBytes {
		r.buf = nil
	}
	r.reset()
	recordPool.Put(r)
}

// promise is the one franz-go promise of the package: a package-level func, so handing it to
// Produce allocates nothing. franz-go calls promises serially per client, after which it no
// longer touches the record.
func promise(kr *kgo.Record, err error) {
	rc, ok := kr.Context.(*recordCtx)
	if !ok {
		panic("BUG: a record produced by kafkaout lost its recordCtx")
	}
	rc.rec.finish(err)
}

// finish reports the record's result and returns it to the free list.
func (r *record) finish(err error) {
	if err == nil {
		recordsAcked.Inc()
		r.p.noteAck()
	} else {
		if r.p.limits != nil && errors.Is(err, kerr.MessageTooLarge) {
			// Slow path: this record too large for its topic, or one of its batch.
			err = r.p.limits.classify(r, err)
		}
		recordsFailed.Inc()
		countFailure(err)
		r.p.noteFailure(err)
	}
	// Sampled: a clock read and a locked histogram update for every record would cost about as
	// much as the rest of the promise.
	if r.p.durationSamples.Add(1)%produceDurationSampleEvery == 0 {
		produceDuration.UpdateDuration(r.start)
	}
	if r.spooled {
		r.p.finishSpooled(r, err)
	} else if err != nil && r.batch == nil && r.p.spool != nil && (IsUnavailable(err) || errors.Is(err, kerr.UnknownTopicOrPartition)) {
		// Slow path: a fire-and-forget record taken before Kafka was known down failed; it
		// goes to the spool, behind records appended meanwhile (the one exception to append
		// order being Kafka order). UNKNOWN_TOPIC_OR_PARTITION too: brokers starting after an
		// outage answer it for a while (finishSpooled gives it a grace, then drops).
		r.p.respool(r)
	}
	if r.batch != nil {
		r.batch.report(r.idx, err)
	}
	putRecord(r)
}
