package kafkaout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"intake.dev/intake/spool"
)

// ErrSpool is returned by TryProduce for a fire-and-forget record that Kafka could not take now
// and the spool could not take either: the spool is full (Config.SpoolMaxBytes) or its disk failed.
// IsUnavailable is true for it: the edge answers 503 with Retry-After, never a 202 then dropped.
var ErrSpool = errors.New("kafkaout: Kafka cannot take the event now and the spool cannot hold it (room: Config.SpoolMaxBytes)")

// openSpool opens Config.SpoolDir, or returns nil when it is empty.
func (cfg Config) openSpool() (*spool.Spool, error) {
	if cfg.SpoolDir == "" {
		return nil, nil
	}
	syncPolicy := spool.Sync(spool.DefaultSyncInterval)
	if cfg.SpoolSync != "" {
		s, err := spool.ParseSync(cfg.SpoolSync)
		if err != nil {
			return nil, &ConfigError{Pkg: "kafkaout", Field: "SpoolSync", Value: cfg.SpoolSync, Reason: "want always or an interval such as 1s"}
		}
		syncPolicy = s
	}
	if cfg.SpoolMaxBytes < 0 || cfg.SpoolMaxBytes > 0 && cfg.SpoolMaxBytes < spool.MinMaxBytes {
		return nil, &ConfigError{Pkg: "kafkaout", Field: "SpoolMaxBytes", Value: cfg.SpoolMaxBytes,
			Reason: fmt.Sprintf("want 0 (%d) or at least %d", int64(spool.DefaultMaxBytes), int64(spool.MinMaxBytes))}
	}
	log := cfg.Logger
	sp, err := spool.Open(cfg.SpoolDir, spool.Options{
		MaxBytes: cfg.SpoolMaxBytes,
		Sync:     syncPolicy,
		OnError: func(err error) {
			if de := (*spool.DamageError)(nil); errors.As(err, &de) {
				log.Error("the spool is damaged; the damaged span is skipped", "err", err)
				return
			}
			log.Error("spool failure", "err", err)
		},
	})
	if err != nil {
		return nil, &ConfigError{Pkg: "kafkaout", Field: "SpoolDir", Value: cfg.SpoolDir, Reason: err.Error()}
	}
	return sp, nil
}

// spoolRecord appends a fire-and-forget record Kafka cannot take now to the spool.
// Slow path: Kafka is down, a ring is full, or the spool already holds records (which keep their
// order: see replay).
func (p *Producer) spoolRecord(topic string, key, value []byte, ts time.Time) error {
	now := time.Now()
	if err := p.spool.Append(topic, key, value, recordTimestamp(ts, now)); err != nil {
		p.noteSpoolRefused(1)
		p.spoolRefused.Store(now.UnixNano())
		p.noteSpoolFailure(err)
		return fmt.Errorf("%w: %w", ErrSpool, err)
	}
	spoolWritten.Inc()
	p.spoolTaken.Store(now.UnixNano())
	return nil
}

// SpoolAdmits reports whether a fire-and-forget request whose records take about bytes (their
// frames: events, enrichment, topic) may go ahead: true without a spool, or while records go to
// Kafka directly (it is up and nothing is spooled), or when the spool has room for them. The edge
// asks before producing any of a request's events, so that a full spool refuses a request whole
// rather than after spooling its first events (a client retrying the 503 would send those
// twice). Concurrent requests may still take the room first: then the request is refused
// partway, its first events spooled.
func (p *Producer) SpoolAdmits(bytes int64, events int) bool {
	if p.spool == nil || !p.down.Load() && p.spool.Len() == 0 {
		return true
	}
	if p.spool.Room() >= bytes {
		return true
	}
	p.noteSpoolRefused(events)
	p.spoolRefused.Store(time.Now().UnixNano())
	return false
}

// noteSpoolRefused counts n fire-and-forget records the spool could not take.
func (p *Producer) noteSpoolRefused(n int) {
	spoolRefused.Add(n)
	p.spoolRefusedN.Add(uint64(n))
}

// SpoolRefused is how many fire-and-forget records the spool could not take (full, or its disk
// failing) since the producer started: intake_spool_refused_total of this producer.
func (p *Producer) SpoolRefused() uint64 { return p.spoolRefusedN.Load() }

// SpoolRefusing reports whether the spool refuses fire-and-forget records: the last one it was
// given it refused (full, or its disk failed), and none since was taken. With Kafka down too, the
// edge can take no event at all (/readyz answers 503 so that a load balancer sends elsewhere).
func (p *Producer) SpoolRefusing() bool {
	return p.spool != nil && p.spoolRefused.Load() > p.spoolTaken.Load()
}

// noteSpoolFailure logs a refused Append, at most once per failureLogInterval.
func (p *Producer) noteSpoolFailure(err error) {
	now := time.Now().UnixNano()
	last := p.lastSpoolLog.Load()
	if now-last < int64(failureLogInterval) || !p.lastSpoolLog.CompareAndSwap(last, now) {
		return
	}
	p.log.Error("cannot spool fire-and-forget records; they are answered 503", "spool_dir", p.spool.Dir(), "err", err)
}

// replay feeds the spool's records to Kafka, in the order they were appended, while Kafka is up.
// It is the spool Reader's only user (Next, Rewind). Each record is produced through the first
// client with a timestamp of now (see below); its promise acknowledges its spool position when
// Kafka acknowledged it or refused it for good, and asks for a Rewind when it failed as
// unavailable: the replayer waits for Kafka, then hands the unacknowledged records out again.
//
// The Kafka timestamp of a replayed record is the time it is replayed, not the one it was spooled
// with: franz-go times a batch out from its first record's timestamp (invariant 46), so a record
// spooled a minute ago would fail its batch, and every record held for its partition, at once. The
// event's own time stays in its value (meta.dt), and so does its meta.id: a record replayed twice
// (a crash or a failure after Kafka wrote it) is a visible duplicate.
func (p *Producer) replay(ctx context.Context) {
	rd := p.spool.Reader()
	var cl = p.shards[0].cl
	for {
		// Wait while Kafka is down: records produced now would fail after the delivery timeout.
		for p.down.Load() || p.replayRewind.Load() {
			if !p.down.Load() && p.replayRewind.Swap(false) {
				rd.Rewind()
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
		e, ok, err := rd.TryNext()
		if !ok && err == nil {
			// Slow path: nothing to replay now. Wait for records, or for a failed replay
			// (finishSpooled cancels the wait) to rewind.
			wctx, cancel := context.WithCancel(ctx)
			p.replayWait.Store(&cancel)
			if !p.replayRewind.Load() {
				e, err = rd.Next(wctx)
			} else {
				err = context.Canceled
			}
			p.replayWait.Store(nil)
			cancel()
			if err != nil && ctx.Err() == nil && errors.Is(err, context.Canceled) {
				continue // to rewind
			}
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, spool.ErrClosed) {
				return
			}
			// A read error: the same record is tried again at the next call.
			p.noteSpoolFailure(err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		rec := getRecord()
		rec.set(e.Topic, e.Key, e.Value)
		rec.start = time.Now()
		rec.Timestamp = rec.start
		rec.p = p
		rec.spooled, rec.pos = true, e.Pos
		spoolReplayed.Inc()
		if cl == nil {
			rec.finish(nil) // Config.Discard
			continue
		}
		if err := p.limits.check(rec); err != nil {
			rec.finish(err)
			continue
		}
		cl.Produce(context.Background(), &rec.Record, promise)
	}
}

// finishSpooled settles a replayed record's spool position: acknowledged, or refused for good
// (counted and dropped: replaying it would fail again), or left for a Rewind.
func (p *Producer) finishSpooled(rec *record, err error) {
	switch {
	case err == nil:
		p.unknownSince.Store(0)
		p.spool.Reader().Ack(rec.pos)
	case IsUnavailable(err) || p.unknownTopicWait(err):
		p.replayRewind.Store(true)
		if c := p.replayWait.Load(); c != nil {
			(*c)()
		}
	default:
		// Counted once: after a Rewind the same record may be in flight twice.
		if p.spool.Reader().Ack(rec.pos) {
			spoolDropped.Inc()
			p.spoolDroppedN.Add(1)
			p.noteSpoolDrop(rec, err)
		}
	}
}

// unknownTopicGrace is how long a replay keeps rewinding on UNKNOWN_TOPIC_OR_PARTITION before it
// drops the records that failed so.
var unknownTopicGrace = time.Minute // a var for tests

// unknownTopicWait reports whether a replayed record that failed with UNKNOWN_TOPIC_OR_PARTITION
// is to be replayed again rather than dropped. Brokers starting after an outage answer it for
// topics they have not caught up on yet (a metadata response from a broker behind the
// controller), and franz-go fails a batch that times out meanwhile with that error, not a
// timeout: dropping those would lose records of a topic that exists. A topic that stays unknown
// for unknownTopicGrace with no replayed record acknowledged in between is taken as gone.
func (p *Producer) unknownTopicWait(err error) bool {
	if !errors.Is(err, kerr.UnknownTopicOrPartition) {
		return false
	}
	now := time.Now().UnixNano()
	p.unknownSince.CompareAndSwap(0, now)
	return now-p.unknownSince.Load() < int64(unknownTopicGrace)
}

// noteSpoolDrop logs a spooled record Kafka refused for good, at most once per
// failureLogInterval (they come in batches).
func (p *Producer) noteSpoolDrop(rec *record, err error) {
	now := time.Now().UnixNano()
	last := p.lastSpoolLog.Load()
	if now-last < int64(failureLogInterval) || !p.lastSpoolLog.CompareAndSwap(last, now) {
		return
	}
	p.log.Error("kafka refused a spooled record for good; it is dropped from the spool", "topic", rec.Topic,
		"dropped", p.spoolDroppedN.Load(), "err", err)
}

// SpoolDropped is how many spooled records Kafka refused for good (too large, topic gone...)
// since the producer started: intake_spool_dropped_total of this producer.
func (p *Producer) SpoolDropped() uint64 { return p.spoolDroppedN.Load() }

// SpoolStats reports the spool's state; ok is false without a spool.
func (p *Producer) SpoolStats() (st spool.Stats, ok bool) {
	if p.spool == nil {
		return st, false
	}
	return p.spool.Stats(), true
}

// SpoolDir is the spool's directory; empty without a spool.
func (p *Producer) SpoolDir() string {
	if p.spool == nil {
		return ""
	}
	return p.spool.Dir()
}

// respool appends a fire-and-forget record that failed as unavailable to the spool, from its
// promise. Under SyncAlways that waits for an fsync, on franz-go's promise goroutine: rare (the
// records in flight when Kafka fell), and bounded by the disk.
func (p *Producer) respool(r *record) {
	if err := p.spool.Append(r.Topic, r.Key, r.Value, r.Timestamp); err != nil {
		p.noteSpoolRefused(1)
		p.noteSpoolFailure(err)
		return
	}
	spoolRespooled.Inc()
	spoolWritten.Inc()
}
