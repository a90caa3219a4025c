package kafkaout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ErrTooLarge is what a record Kafka will never take fails with: as a record batch of its own it
// is larger than its topic takes (the topic's max.message.bytes, or Config.BatchMaxBytes when
// lower). Retrying it cannot help. The error is a *TooLargeError.
var ErrTooLarge = errors.New("kafkaout: the record is larger than its topic takes")

// TooLargeError says how large a record was and what its topic takes.
type TooLargeError struct {
	Topic string
	Bytes int   // the record as a record batch of its own, on the wire
	Limit int32 // what the topic takes: its max.message.bytes, or Config.BatchMaxBytes when lower
	Err   error // Kafka's or franz-go's own refusal (kerr.MessageTooLarge), nil when kafkaout refused it first
}

func (e *TooLargeError) Error() string {
	s := fmt.Sprintf("the record is %d bytes as a Kafka record batch, more than the %d bytes topic %q takes (its max.message.bytes, or the producer's batch size when lower)",
		e.Bytes, e.Limit, e.Topic)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *TooLargeError) Unwrap() []error { return []error{ErrTooLarge, e.Err} }

// ErrBatchTooLarge is what a record fails with when Kafka refused its batch as too large though
// the record fits its topic alone (another record of the batch did not, or the topic takes less
// than franz-go read when it first produced to it): a retry, in another batch, may succeed.
// IsUnavailable reports true for it.
var ErrBatchTooLarge = errors.New("kafkaout: Kafka refused the record batch this record was in as too large, though the record fits its topic alone (another record in the batch was too large, or the topic's max.message.bytes is lower than the producer read); retry")

// recordBatchOverhead is a record batch without records as franz-go counts it against its batch
// limit: the batch header (61 bytes) and the batch's length in its produce request (4 bytes in
// the older requests, 1 to 3 in the flexible ones for the sizes allowed here).
const recordBatchOverhead = 65

// batchBytes is the size of a record batch holding only a record with key and value and no
// headers (a first record: timestamp and offset deltas 0), as franz-go counts it against a
// topic's limit at its largest: franz-go takes every record no larger than the limit, and refuses
// every record 4 bytes larger. Kafka itself checks the batch without its length: 4 bytes less. So
// check may refuse a record franz-go would have taken by up to 3 bytes, never the other way.
func batchBytes(key, value []byte) int {
	l := 1 + // attributes
		1 + 1 + // timestamp and offset deltas, 0
		kbin.VarintLen(int32(len(key))) + len(key) +
		kbin.VarintLen(int32(len(value))) + len(value) +
		1 // no headers
	return recordBatchOverhead + kbin.VarintLen(int32(l)) + l
}

// topicLimits knows how large a record batch each topic takes: its max.message.bytes, read from
// the brokers the first time the producer's clients produce to it (franz-go asks through
// kgo.ProducerBatchMaxBytesFn when it first learns of a partition), never more than
// Config.BatchMaxBytes. franz-go then keeps every batch within it and fails a record too large
// for a batch of its own by itself, leaving its siblings alone: a batch the broker refuses as too
// large fails every record franz-go holds for that partition.
//
// franz-go keeps the limit per partition from then on, so a topic's max.message.bytes lowered while
// intake runs is not seen by its batches until a restart. A refusal by the broker makes topicLimits
// read the topic again: from then on kafkaout refuses the records too large for it itself before
// franz-go batches them (check), and classifies the refusals (classify).
type topicLimits struct {
	configured int32 // Config.BatchMaxBytes, the most any topic gets
	cl         *kgo.Client
	log        *slog.Logger

	mu     sync.Mutex // serializes writers of topics
	topics atomic.Pointer[map[string]*topicLimit]
	// smallest is the lowest limit of any topic read, or configured: a record whose batch is no
	// larger fits every topic, so check does not look its topic up.
	smallest atomic.Int32
}

type topicLimit struct {
	bytes    atomic.Int32
	read     atomic.Bool  // bytes came from the brokers; false: configured, after a failed read
	retryAt  atomic.Int64 // unix nanoseconds: no update starts before (a failed read, an update)
	updating atomic.Bool  // an update runs in the background
}

// describeTimeout bounds reading a topic's config. The first read runs on a franz-go client's
// metadata goroutine, holding back that client's first records for the topic.
const describeTimeout = 2 * time.Second

// rereadEvery is the least time between two reads of one topic after its first: a failed read is
// tried again after it, and broker refusals trigger a read at most that often.
const rereadEvery = 10 * time.Second

func newTopicLimits(configured int32, cl *kgo.Client, log *slog.Logger) *topicLimits {
	l := &topicLimits{configured: configured, cl: cl, log: log}
	l.topics.Store(&map[string]*topicLimit{})
	l.smallest.Store(configured)
	return l
}

// forTopic is the kgo.ProducerBatchMaxBytesFn. franz-go calls it on its metadata goroutine for
// every partition of every metadata answer; only the first call for a topic reads its config,
// within describeTimeout.
func (l *topicLimits) forTopic(topic string) int32 {
	if topic == "" {
		return l.configured
	}
	if tl := l.lookup(topic); tl != nil {
		if !tl.read.Load() {
			l.update(topic, tl) // a failed read: try again, in the background
		}
		return tl.bytes.Load()
	}
	// Slow path: the first partition of a new topic.
	ctx, cancel := context.WithTimeout(context.Background(), describeTimeout)
	defer cancel()
	tl := &topicLimit{}
	n, err := l.describe(ctx, topic)
	if err != nil {
		tl.retryAt.Store(time.Now().Add(rereadEvery).UnixNano())
		l.log.Warn("cannot read a topic's max.message.bytes; its records are batched up to the producer's batch size, and a batch Kafka refuses as too large fails every record franz-go holds for its partition",
			"topic", topic, "batch_max_bytes", l.configured, "err", err)
		n = l.configured
	} else {
		tl.read.Store(true)
	}
	tl.bytes.Store(n)
	l.store(topic, tl)
	return n
}

// lookup returns what is known of topic, without blocking; nil when nothing is.
func (l *topicLimits) lookup(topic string) *topicLimit {
	return (*l.topics.Load())[topic]
}

// limit is what topic takes, as far as known now: configured when it was never read.
func (l *topicLimits) limit(topic string) int32 {
	if tl := l.lookup(topic); tl != nil {
		return tl.bytes.Load()
	}
	return l.configured
}

// store publishes tl for topic (copy on write: topics are few and read on every batch franz-go
// builds for a new partition, written once each).
func (l *topicLimits) store(topic string, tl *topicLimit) {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := *l.topics.Load()
	if cur, ok := old[topic]; ok {
		// Two clients of one producer read the topic at once: keep the published entry, with
		// this read's value if it came from the brokers.
		if tl.read.Load() {
			cur.bytes.Store(tl.bytes.Load())
			cur.read.Store(true)
			l.lowerSmallest(tl.bytes.Load())
		}
		return
	}
	m := make(map[string]*topicLimit, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[topic] = tl
	l.topics.Store(&m)
	l.lowerSmallest(tl.bytes.Load())
}

func (l *topicLimits) lowerSmallest(n int32) {
	for {
		cur := l.smallest.Load()
		if n >= cur || l.smallest.CompareAndSwap(cur, n) {
			return
		}
	}
}

// update reads topic's config again in the background, at most once per rereadEvery.
func (l *topicLimits) update(topic string, tl *topicLimit) {
	now := time.Now()
	if now.UnixNano() < tl.retryAt.Load() || !tl.updating.CompareAndSwap(false, true) {
		return
	}
	tl.retryAt.Store(now.Add(rereadEvery).UnixNano())
	go func() {
		defer tl.updating.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), describeTimeout)
		defer cancel()
		n, err := l.describe(ctx, topic)
		if err != nil {
			return
		}
		if old := tl.bytes.Swap(n); old != n {
			l.log.Warn("a topic's max.message.bytes changed since the producer first read it; records too large for it are refused, but franz-go batches records for its partitions up to the old limit until intake restarts",
				"topic", topic, "was", old, "now", n)
		}
		tl.read.Store(true)
		l.lowerSmallest(n)
	}()
}

// describe reads topic's max.message.bytes from the brokers, capped at configured.
func (l *topicLimits) describe(ctx context.Context, topic string) (int32, error) {
	req := kmsg.NewPtrDescribeConfigsRequest()
	res := kmsg.NewDescribeConfigsRequestResource()
	res.ResourceType = kmsg.ConfigResourceTypeTopic
	res.ResourceName = topic
	res.ConfigNames = []string{"max.message.bytes"}
	req.Resources = append(req.Resources, res)
	resp, err := req.RequestWith(ctx, l.cl)
	if err != nil {
		return 0, err
	}
	for _, r := range resp.Resources {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			return 0, err
		}
		for _, c := range r.Configs {
			if c.Name != "max.message.bytes" || c.Value == nil {
				continue
			}
			n, err := strconv.ParseInt(*c.Value, 10, 32)
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("max.message.bytes of topic %q is %q, not a size", topic, *c.Value)
			}
			// franz-go refuses a batch limit under minBatchMaxBytes; a topic that small is not
			// one events can go to anyway.
			return max(minBatchMaxBytes, min(int32(n), l.configured)), nil
		}
	}
	return 0, fmt.Errorf("the brokers did not report max.message.bytes of topic %q", topic)
}

// check returns a *TooLargeError when rec, as a batch of its own, is larger than its topic is
// known to take; nil otherwise, and without looking the topic up for records smaller than every
// limit known (nearly all of them).
func (l *topicLimits) check(rec *record) error {
	n := batchBytes(rec.Key, rec.Value)
	if n <= int(l.smallest.Load()) {
		return nil
	}
	if limit := l.limit(rec.Topic); n > int(limit) {
		return &TooLargeError{Topic: rec.Topic, Bytes: n, Limit: limit}
	}
	return nil
}

// classify turns a kerr.MessageTooLarge failure of rec into what it means for rec: a
// *TooLargeError when rec alone is larger than its topic takes, else ErrBatchTooLarge (another
// record of its batch was too large, or the topic's limit is lower than known: it is read again).
func (l *topicLimits) classify(rec *record, err error) error {
	n := batchBytes(rec.Key, rec.Value)
	limit := l.limit(rec.Topic)
	if n > int(limit) {
		return &TooLargeError{Topic: rec.Topic, Bytes: n, Limit: limit, Err: err}
	}
	if tl := l.lookup(rec.Topic); tl != nil {
		l.update(rec.Topic, tl)
	}
	return fmt.Errorf("%w: %w", ErrBatchTooLarge, err)
}
