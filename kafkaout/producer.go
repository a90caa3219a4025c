package kafkaout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"intake.dev/intake/spool"
)

var (
	// ErrFull is returned by TryProduce when the chosen ring shard is full: Kafka does not keep
	// up. The edge answers 503 with Retry-After. Config.RingSize and Config.Shards give more room.
	ErrFull = errors.New("kafkaout: the produce queue is full, Kafka is not keeping up (room: Config.RingSize, Config.Shards)")

	// ErrClosed is returned by TryProduce once Close began.
	ErrClosed = errors.New("kafkaout: the producer is closed")

	// ErrDown is returned by TryProduce for a fire-and-forget record (no Batch) while Kafka is
	// known to be failing: a record failed as unavailable and none was acknowledged since, and no
	// broker has answered a probe since. Accepting it would only queue it to fail after the
	// delivery timeout, unseen by the client that was told it was queued. Records with a Batch
	// are still taken: their callers wait for the result, and their successes end the outage.
	ErrDown = errors.New("kafkaout: Kafka is failing (records time out or are refused as unavailable); fire-and-forget records are refused until it recovers")
)

// errAborted fails the records still in the rings when Close's context expires.
var errAborted = fmt.Errorf("%w before the record reached Kafka (shutdown deadline)", ErrClosed)

// Producer produces records to Kafka through sharded rings drained into franz-go clients.
type Producer struct {
	cfg     Config
	shards  []shard
	clients []*kgo.Client
	log     *slog.Logger
	limits  *topicLimits // what each topic takes; nil with Config.Discard

	closed  atomic.Bool // TryProduce answers ErrClosed
	aborted atomic.Bool // Close gave up: drainers fail records instead of producing them
	stop    chan struct{}
	wg      sync.WaitGroup

	failures    atomic.Int64 // produce failures since the last log line
	lastFailLog atomic.Int64 // unix nanoseconds

	down    atomic.Bool  // see ErrDown; set by a failed record, cleared by an ack or a probe
	probing atomic.Bool  // a probe goroutine runs while down
	conns   atomic.Int64 // open broker connections of the clients

	spool         *spool.Spool                       // nil without Config.SpoolDir
	replayRewind  atomic.Bool                        // a replayed record failed as unavailable: Rewind once Kafka is up
	replayWait    atomic.Pointer[context.CancelFunc] // ends the replayer's wait for records, to rewind
	lastSpoolLog  atomic.Int64                       // unix nanoseconds
	spoolRefused  atomic.Int64                       // unix nanoseconds of the last record the spool refused
	spoolTaken    atomic.Int64                       // unix nanoseconds of the last record the spool took
	spoolRefusedN atomic.Uint64                      // records the spool could not take
	spoolDroppedN atomic.Uint64                      // spooled records Kafka refused for good
	unknownSince  atomic.Int64                       // first UNKNOWN_TOPIC_OR_PARTITION of a replay since its last ack (unix ns)
	stopReplay    context.CancelFunc
	replayDone    chan struct{}

	busyLinger  bool            // Config.Linger with LingerPolicy "busy"
	unlingerCtx context.Context // done: a Flush with it sends what lingers and returns at once
	_           cacheLinePad
	coming      atomic.Int64 // requests on their way to TryProduce (Coming); request goroutines write it

	// Written on the hot path, each on its own cache line, away from closed, which every
	// TryProduce reads.
	_               cacheLinePad
	next            atomic.Uint32 // round-robin shard choice; request goroutines write it
	_               cacheLinePad
	durationSamples atomic.Uint32 // counts finished records to sample produceDuration; promises write it
	_               cacheLinePad
}

type shard struct {
	_ cacheLinePad

	// pushers counts TryProduce calls between their closed check and the end of their push, so
	// Close knows when no push can land in the ring any more. It sits next to ring.head: the same
	// cores write both.
	pushers atomic.Int32
	ring    ring

	bell  chan struct{} // cap 1; pushers ring it after a push, the parked drainer wakes
	cl    *kgo.Client
	clock *sendClock // cl's

	handedSync bool // the drainer handed a sync request's record to cl since its last unlingerIfQuiet
}

// sendClock is when a client last sent a produce request, for the busy linger (Config.LingerPolicy
// "busy"): a client that sent one within the last Linger is busy, and a record it gets lingers for
// others to join it; one after a quieter spell is sent at once.
type sendClock struct {
	_    cacheLinePad
	last atomic.Int64 // unix nanoseconds: the last produce request written, or the last unlinger
	_    cacheLinePad
}

// New creates the franz-go clients and starts one drainer goroutine per shard. Clients connect
// lazily: use Ping to learn whether Kafka answers.
func New(cfg Config) (*Producer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	opts, err := cfg.kgoOpts()
	if err != nil {
		return nil, err
	}
	sp, err := cfg.openSpool()
	if err != nil {
		return nil, err
	}
	started := false
	defer func() {
		if sp != nil && !started {
			sp.Close()
		}
	}()
	cfg.warnInsecure()
	unlingerCtx, cancel := context.WithCancel(context.Background())
	cancel()
	p := &Producer{
		cfg:    cfg,
		shards: make([]shard, cfg.Shards),
		log:    cfg.Logger,
		stop:   make(chan struct{}),

		busyLinger:  cfg.Linger > 0 && cfg.LingerPolicy == "busy",
		unlingerCtx: unlingerCtx,
	}
	clocks := make([]sendClock, cfg.Clients)
	if !cfg.Discard {
		// Topic configs are read by a client of their own: the producers' clients ask for them
		// from their metadata goroutines.
		lopts, err := cfg.limitsOpts()
		if err != nil {
			return nil, err
		}
		lcl, err := kgo.NewClient(lopts...)
		if err != nil {
			return nil, fmt.Errorf("cannot create a Kafka client for brokers %v: %w", cfg.Brokers, err)
		}
		p.limits = newTopicLimits(cfg.BatchMaxBytes, lcl, cfg.Logger)
		opts = append(opts, kgo.ProducerBatchMaxBytesFn(p.limits.forTopic))
	}
	for i := 0; i < cfg.Clients && !cfg.Discard; i++ {
		cl, err := kgo.NewClient(append(opts, kgo.WithHooks(hooks{p, &clocks[i]}))...)
		if err != nil {
			for _, cl := range p.clients {
				cl.Close()
			}
			p.limits.cl.Close()
			return nil, fmt.Errorf("cannot create a Kafka client for brokers %v: %w", cfg.Brokers, err)
		}
		p.clients = append(p.clients, cl)
	}
	for i := range p.shards {
		s := &p.shards[i]
		s.ring.init(cfg.RingSize)
		s.bell = make(chan struct{}, 1)
		if !cfg.Discard {
			s.cl, s.clock = p.clients[i%len(p.clients)], &clocks[i%len(p.clients)]
		}
		p.wg.Add(1)
		go p.drain(s)
	}
	if sp != nil {
		p.spool = sp
		ctx, cancel := context.WithCancel(context.Background())
		p.stopReplay, p.replayDone = cancel, make(chan struct{})
		go func() {
			defer close(p.replayDone)
			p.replay(ctx)
		}()
	}
	started = true
	registerProducer(p)
	return p, nil
}

// TryProduce copies key and value into a pooled record (the caller's slices may be reused as soon
// as it returns) and pushes it onto a ring shard. It never blocks. It returns ErrFull when that
// shard's ring is full and ErrClosed after Close began.
//
// ts is the record's Kafka timestamp (milliseconds are kept); the zero time stands for now. A ts
// more than timestampWindow away from now is replaced by now (counted in
// intake_kafka_timestamps_replaced_total): see timestampWindow.
//
// b may be nil (fire-and-forget); otherwise the record's result is reported to b at idx, which
// must be a slot reserved by b.Add. All records of one Batch go to the same shard, so they reach
// Kafka in the order they were pushed. A nil key means no key (the record is spread over
// partitions); a keyed record goes to the partition Kafka's murmur2 partitioner picks.
//
// topic is kept until the promise runs: it must be an ordinary string, not a view of a buffer
// the caller reuses.
func (p *Producer) TryProduce(topic string, key, value []byte, ts time.Time, b *Batch, idx int) error {
	var s *shard
	if b != nil {
		if uint(idx) >= uint(len(b.res)) {
			panic(fmt.Sprintf("BUG: TryProduce idx %d outside the %d result slots reserved by Batch.Add", idx, len(b.res)))
		}
		if !b.hasShard {
			b.shard, b.hasShard = p.next.Add(1), true
		}
		s = &p.shards[b.shard%uint32(len(p.shards))]
	} else {
		s = &p.shards[p.next.Add(1)%uint32(len(p.shards))]
	}

	s.pushers.Add(1)
	if p.closed.Load() {
		s.pushers.Add(-1)
		return p.rejected(b, idx, ErrClosed)
	}
	if b == nil && p.spool != nil && (p.down.Load() || p.spool.Len() > 0 || s.ring.full()) {
		// Slow path: Kafka cannot take the record now, or spooled records wait for it; spooled
		// records go to Kafka in the order they were appended, so this one goes behind them.
		err := p.spoolRecord(topic, key, value, ts)
		s.pushers.Add(-1)
		return err
	}
	if b == nil && p.down.Load() {
		s.pushers.Add(-1)
		return p.rejected(b, idx, ErrDown)
	}
	// Fast path out under overload: do not copy a record that cannot be pushed.
	if s.ring.full() {
		s.pushers.Add(-1)
		return p.rejected(b, idx, ErrFull)
	}

	rec := getRecord()
	rec.set(topic, key, value)
	if b != nil {
		rec.start = b.clock()
	} else {
		rec.start = time.Now()
	}
	// franz-go keeps a set timestamp (truncated to milliseconds) instead of reading the clock.
	rec.Timestamp = recordTimestamp(ts, rec.start)
	rec.p, rec.batch, rec.idx = p, b, idx
	if b != nil {
		// Count the record before pushing it: its promise may run before push returns.
		b.refs.Add(1)
	}
	if !s.ring.push(rec) {
		if b != nil {
			b.refs.Add(-1)
		}
		putRecord(rec)
		if b == nil && p.spool != nil {
			// Slow path: the ring filled since the check above.
			err := p.spoolRecord(topic, key, value, ts)
			s.pushers.Add(-1)
			return err
		}
		s.pushers.Add(-1)
		return p.rejected(b, idx, ErrFull)
	}
	s.pushers.Add(-1)

	// Wake the drainer if it is parked. A token already waiting is as good as ours.
	select {
	case s.bell <- struct{}{}:
	default:
	}
	return nil
}

// timestampWindow is how far from the time a record is queued its timestamp may be; one further
// is replaced by that time. franz-go counts a record's delivery timeout from the timestamp of the
// first record of its batch: an older timestamp would fail the batch early, and with it every
// record franz-go holds for the partition; a later one would keep them past the delivery timeout
// (and Kafka 4 refuses a timestamp more than an hour ahead, by default). Within the window the
// timeout moves by at most half a second, inside the second a sync request waits beyond it. A
// request's ingestion time (meta.dt as intake sets it) is taken when the request begins, well
// within the window of its records.
const timestampWindow = 500 * time.Millisecond

// recordTimestamp is the Kafka timestamp of a record queued at now with timestamp ts.
func recordTimestamp(ts, now time.Time) time.Time {
	if ts.IsZero() {
		return now
	}
	if d := ts.Sub(now); d < -timestampWindow || d > timestampWindow {
		timestampsReplaced.Inc()
		return now
	}
	return ts
}

// rejected records a TryProduce failure in b, so Err(idx) reports it and Wait does not wait for it.
func (p *Producer) rejected(b *Batch, idx int, err error) error {
	if err == ErrFull {
		ringFullTotal.Inc()
	}
	if b != nil {
		b.set(idx, err)
	}
	return err
}

// drain feeds the shard's ring to its client until Close stops it.
func (p *Producer) drain(s *shard) {
	defer p.wg.Done()
	for {
		if rec := s.ring.pop(); rec != nil {
			p.produce(s, rec)
			continue
		}
		// Slow path: the ring is empty; park until a pusher rings the bell or Close stops us.
		p.unlingerIfQuiet(s)
		select {
		case <-s.bell:
		case <-p.stop:
			// Close waited for the pushes in progress before closing stop: what is in the
			// ring now is all there will ever be.
			for rec := s.ring.pop(); rec != nil; rec = s.ring.pop() {
				p.produce(s, rec)
			}
			return
		}
	}
}

func (p *Producer) produce(s *shard, rec *record) {
	if p.aborted.Load() {
		// Slow path: Close gave up waiting for Kafka; fail the record rather than hand it to
		// a client that is about to close.
		rec.finish(errAborted)
		return
	}
	// Produce blocks while the client holds MaxBufferedRecords. That is the back-pressure we
	// want: the ring fills behind us and TryProduce answers ErrFull. Close unblocks it by
	// closing the client.
	//
	if s.cl == nil {
		rec.finish(nil) // Config.Discard
		return
	}
	if rec.batch == nil && !rec.spooled && p.spool != nil && p.down.Load() {
		// Slow path: Kafka is known down. A fire-and-forget record still in the ring goes to the
		// spool now (finish respools it), not into franz-go's buffers, where it would wait in
		// memory for the delivery timeout before failing over to the spool.
		rec.finish(ErrDown)
		return
	}
	// A record its topic is known to refuse is failed here rather than batched with others
	// (franz-go itself refuses one too large for the limit it read for the partition).
	if err := p.limits.check(rec); err != nil {
		rec.finish(err)
		return
	}
	if rec.batch != nil {
		s.handedSync = true // read before Produce: the promise may recycle rec
	}
	// The context must not be cancelable: franz-go watches a cancelable one with a
	// context.AfterFunc for every request it writes and reads, about ten allocations per request.
	s.cl.Produce(context.Background(), &rec.Record, promise)
}

// Coming tells the producer that n requests (n > 0) are on their way to TryProduce, or (n < 0)
// that they have queued their records, or will queue none. The busy linger holds a sync record
// back only while such requests are coming: their records would join it. A caller that never
// calls Coming gets no lingering sync record.
func (p *Producer) Coming(n int) {
	if p.busyLinger { // no other policy reads it: spare every request the shared counter
		p.coming.Add(int64(n))
	}
}

// unlingerIfQuiet is the busy linger (Config.LingerPolicy "busy"), run by the drainer when its ring
// is empty: if it handed a record someone waits for (a sync request's) since the last time, and
// either the client sent no produce request for a linger or no request is coming (Coming) whose
// records could join it, what lingers goes at once. Otherwise records linger: the client is busy
// and more records are on their way, or nobody waits for them (fire-and-forget). Waiting for the
// empty ring hands a whole sync batch to franz-go before the request leaves; and as each request
// coming queues its records, the drainer empties its ring again and asks again, so a lingering
// record leaves as soon as the last request coming has joined it, not at the linger's end.
func (p *Producer) unlingerIfQuiet(s *shard) {
	if !s.handedSync || !p.busyLinger {
		return
	}
	s.handedSync = false
	now := time.Now().UnixNano()
	last := s.clock.last.Load()
	if (now-last >= int64(p.cfg.Linger) || p.coming.Load() <= 0) && s.clock.last.CompareAndSwap(last, now) {
		// A flush whose context is done stops the lingers, sends what they held and returns
		// without waiting.
		_ = s.cl.Flush(p.unlingerCtx)
	}
}

// Ping reports whether a broker answered a metadata request, for /readyz.
func (p *Producer) Ping(ctx context.Context) error {
	if p.cfg.Discard {
		return nil
	}
	if err := p.clients[0].Ping(ctx); err != nil {
		return fmt.Errorf("cannot reach any Kafka broker of %v: %w", p.cfg.Brokers, err)
	}
	return nil
}

// Close stops accepting records (TryProduce answers ErrClosed), drains every ring into the
// clients, flushes and closes them. Nothing that was accepted is dropped unless ctx expires;
// then the records not yet acknowledged fail (their batches get an error for which IsUnavailable
// is true) and Close returns ctx's error. Close may be called once; later calls return ErrClosed.
func (p *Producer) Close(ctx context.Context) error {
	if !p.closed.CompareAndSwap(false, true) {
		return ErrClosed
	}
	defer unregisterProducer(p)

	// A push that saw closed == false is at most a few instructions from done; it never blocks.
	for i := range p.shards {
		for p.shards[i].pushers.Load() != 0 {
			runtime.Gosched()
		}
	}
	if p.spool != nil {
		// Stop replaying: what the clients hold of the spool is acknowledged by Kafka or not,
		// and what is not stays in the spool for the next producer on the directory.
		p.stopReplay()
		<-p.replayDone
	}
	close(p.stop)

	drained := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(drained)
	}()
	var err error
	select {
	case <-drained:
		for _, cl := range p.clients {
			if err = cl.Flush(ctx); err != nil {
				break
			}
		}
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		// Slow path: the deadline passed. Drainers fail what is left in the rings instead of
		// producing it.
		p.aborted.Store(true)
	}
	// Closing a client fails whatever it still buffers with kgo.ErrClientClosed, wakes a
	// drainer blocked in Produce, and fails any record produced to it afterwards: every
	// record gets its promise.
	for _, cl := range p.clients {
		cl.Close()
	}
	<-drained
	if p.limits != nil {
		p.limits.cl.Close()
	}
	if p.spool != nil {
		if serr := p.spool.Close(); serr != nil {
			p.log.Error("cannot close the spool cleanly", "spool_dir", p.spool.Dir(), "err", serr)
		}
	}
	if err != nil {
		return fmt.Errorf("cannot deliver every accepted record to Kafka before the shutdown deadline: %w", err)
	}
	return nil
}

// DeliveryTimeout is the record delivery timeout in force: Config.DeliveryTimeout, or its default
// when that was 0. A request waiting for acknowledgements waits a little longer than this.
func (p *Producer) DeliveryTimeout() time.Duration { return p.cfg.DeliveryTimeout }

// Queued is the number of records in the rings plus those buffered in the clients.
func (p *Producer) Queued() int {
	n := 0
	for i := range p.shards {
		n += p.shards[i].ring.len()
	}
	for _, cl := range p.clients {
		n += int(cl.BufferedProduceRecords())
	}
	return n
}

// InMemory is how many records the producer holds in memory for Kafka now: in its rings and in
// franz-go's buffers (sent or not, not yet settled). A fire-and-forget record among them was
// answered 202 and is neither in Kafka nor in the spool yet: a process killed now loses it.
func (p *Producer) InMemory() int64 {
	var n int64
	for i := range p.shards {
		n += int64(p.shards[i].ring.len())
	}
	for _, cl := range p.clients {
		n += cl.BufferedProduceRecords()
	}
	return n
}

// failureLogInterval throttles the produce failure log: a dead broker fails every record.
const failureLogInterval = 10 * time.Second

// Down reports whether fire-and-forget records are refused with ErrDown.
func (p *Producer) Down() bool { return p.down.Load() }

// noteAck ends an outage: Kafka acknowledged a record.
func (p *Producer) noteAck() {
	if p.down.Load() {
		p.down.Store(false)
		p.log.Info("kafka acknowledges records again; fire-and-forget records are taken again")
	}
}

// noteDown starts an outage after a record failed as unavailable, or a broker connection failed
// while none is open (every broker gone: waiting for the first record to time out would take the
// delivery timeout, and fill the queues with records bound to fail), and a probe that ends it once a
// broker answers again (with only fire-and-forget traffic, no ack would ever end it).
func (p *Producer) noteDown(err error) {
	// A batch refused as too large says nothing of Kafka's health.
	if p.cfg.Discard || !IsUnavailable(err) || errors.Is(err, ErrClosed) || errors.Is(err, ErrBatchTooLarge) || p.closed.Load() || p.down.Swap(true) {
		return
	}
	if p.spool != nil {
		p.log.Warn("kafka is failing; fire-and-forget records are spooled until it recovers", "spool_dir", p.spool.Dir(), "err", err)
	} else {
		p.log.Warn("kafka is failing; fire-and-forget records are refused (503) until it recovers", "err", err)
	}
	if !p.probing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer p.probing.Store(false)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for p.down.Load() {
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err := p.Ping(ctx)
			cancel()
			if err == nil && p.down.Swap(false) {
				p.log.Info("a Kafka broker answers again; fire-and-forget records are taken again")
			}
		}
	}()
}

func (p *Producer) noteFailure(err error) {
	p.noteDown(err)
	p.failures.Add(1)
	now := time.Now().UnixNano()
	last := p.lastFailLog.Load()
	if now-last < int64(failureLogInterval) || !p.lastFailLog.CompareAndSwap(last, now) {
		return
	}
	p.log.Warn("cannot produce records to Kafka", "failed_records", p.failures.Swap(0),
		"brokers", p.cfg.Brokers, "last_error", err)
}

// IsUnavailable reports whether a produce error means Kafka could not be reached or did not keep
// up in time (record delivery timeout, no broker, full queue, shutdown...): the edge answers those
// with 503 and Retry-After rather than 500, because the same events may succeed a little later.
func IsUnavailable(err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, ErrFull), errors.Is(err, ErrClosed), errors.Is(err, ErrDown), errors.Is(err, ErrSpool), errors.Is(err, errNoResult),
		errors.Is(err, ErrBatchTooLarge),
		errors.Is(err, kgo.ErrRecordTimeout), errors.Is(err, kgo.ErrRecordRetries),
		errors.Is(err, kgo.ErrMaxBuffered), errors.Is(err, kgo.ErrClientClosed),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		// A broker closing the connection: one starting or stopping accepts a dial and closes it
		// (franz-go's ErrFirstReadEOF, which blames TLS or SASL: a misconfiguration looks the
		// same, and /readyz and the log tell it apart).
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return true
	case errors.Is(err, kerr.UnknownTopicOrPartition), errors.Is(err, kerr.CorruptMessage):
		// franz-go retries these, but they mean a missing topic or a bad record: retrying the
		// request will not help.
		return false
	case kerr.IsRetriable(err):
		// NOT_ENOUGH_REPLICAS, NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT...
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}
