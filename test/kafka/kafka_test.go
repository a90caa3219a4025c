package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"intake.dev/intake/internal/edgetest"
)

// The bytes Kafka keeps are the event as sent plus intake's enrichment and the schema's defaults,
// keyed by message_key_fields.
func TestKafkaEventBytesAfterEnrichment(t *testing.T) {
	needKafka(t)
	p := prefix(t)
	e := startEdge(t, p)
	e.post("", []byte(click("example.click", 42, "")), 201, "X-Request-Id", "req-1", "User-Agent", "kafkatest/1")
	recs := consume(t, 1, 30*time.Second, p+"example.click")
	if len(recs) != 1 {
		t.Fatalf("got %d records, want 1", len(recs))
	}
	r := recs[0]
	if got, want := string(r.Key), `{"page_id":42}`; got != want {
		t.Fatalf("key %s, want %s", got, want)
	}
	ev := edgetest.MustJSON(t, r.Value)
	if dt, _ := edgetest.Field(ev, "meta.dt").(string); !edgetest.RFC3339Millis.MatchString(dt) {
		t.Fatalf("meta.dt %q is not RFC 3339 UTC with milliseconds", dt)
	}
	id, _ := edgetest.Field(ev, "meta.id").(string)
	if !edgetest.UUIDv4.MatchString(id) {
		t.Fatalf("meta.id %q is not a UUID", id)
	}
	dt := edgetest.Field(ev, "meta.dt").(string)
	// Everything else is exactly as sent, in the order sent, enrichment appended where it belongs.
	want := `{"$schema":"/example/click/1.0.0","dt":"2026-11-23T12:00:00.000Z","meta":{"stream":"example.click","dt":"` + dt +
		`","id":"` + id + `","request_id":"req-1"},"page":{"id":42,"title":"Main Page"},"button":"save","http":{"request_headers":{"user-agent":"kafkatest/1"}},"count":1}`
	if string(r.Value) != want {
		t.Fatalf("record value\n got %s\nwant %s", r.Value, want)
	}
}

// Keyed records land where Kafka's Java client puts the same keys (murmur2), whatever partition
// count the broker gave the topic: the console producer of the cluster's own jars produces the same
// keys to a topic with as many partitions, and each key must sit on the same partition in both.
func TestKafkaPartitionsMatchJavaClient(t *testing.T) {
	needKafka(t)
	p := prefix(t)
	e := startEdge(t, p)
	const n = 60
	var events []string
	for page := 1; page <= n; page++ {
		events = append(events, click("example.click", page*7919, ""))
	}
	e.post("", batchOf(events), 201)
	ours := consume(t, n, 30*time.Second, p+"example.click")
	if len(ours) != n {
		t.Fatalf("got %d records, want %d", len(ours), n)
	}
	// The Java console producer, with the same keys, to a topic of the same partition count.
	parts := partitionCount(t, p+"example.click")
	javaTopic := p + "java"
	createTopic(t, javaTopic, parts)
	var in strings.Builder
	for _, r := range ours {
		fmt.Fprintf(&in, "%s|x\n", r.Key)
	}
	kafkaScript(t, []byte(in.String()), "run-class", "org.apache.kafka.tools.ConsoleProducer",
		"--bootstrap-server", strings.Join(brokers, ","), "--topic", javaTopic,
		"--property", "parse.key=true", "--property", "key.separator=|")
	theirs := consume(t, n, 30*time.Second, javaTopic)
	if len(theirs) != n {
		t.Fatalf("the Java producer's topic has %d records, want %d", len(theirs), n)
	}
	javaPartition := map[string]int32{}
	for _, r := range theirs {
		javaPartition[string(r.Key)] = r.Partition
	}
	used := map[int32]bool{}
	for _, r := range ours {
		jp, ok := javaPartition[string(r.Key)]
		if !ok {
			t.Fatalf("key %s is missing from the Java producer's topic", r.Key)
		}
		if r.Partition != jp {
			t.Fatalf("key %s: intake chose partition %d, Kafka's Java client %d (of %d)", r.Key, r.Partition, jp, parts)
		}
		used[r.Partition] = true
	}
	if parts > 1 && len(used) < 2 {
		t.Fatalf("%d keys all on one partition of %d: the comparison proves nothing", n, parts)
	}
}

// Every --kafka-compression value produces batches the broker accepts and consumers read back,
// each batch carrying the codec asked for ("auto": lz4 for small batches, zstd for large ones).
func TestKafkaCompressionCodecs(t *testing.T) {
	needKafka(t)
	f := func(codec string, events int, wantType uint8) {
		t.Helper()
		p := prefix(t) + codec + fmt.Sprintf(".x%d.", events)
		e := startEdge(t, p, "--kafka-compression", codec)
		var evs []string
		for i := range events {
			// A long title: a record compression cannot shorten is sent uncompressed.
			title := fmt.Sprintf("event %d of a batch of %d, ", i, events) + strings.Repeat("Main Page ", 50)
			evs = append(evs, click("example.click", i+1, title))
		}
		e.post("", batchOf(evs), 201)
		recs := consume(t, events, 30*time.Second, p+"example.click")
		if len(recs) != events {
			t.Fatalf("%s: got %d records, want %d", codec, len(recs), events)
		}
		seen := map[string]bool{}
		for _, r := range recs {
			if got := r.Attrs.CompressionType(); got != wantType {
				t.Fatalf("%s: a batch of %d records came with compression type %d, want %d", codec, events, got, wantType)
			}
			note, _ := edgetest.Field(edgetest.MustJSON(t, r.Value), "page.title").(string)
			seen[note] = true
		}
		if len(seen) != events {
			t.Fatalf("%s: %d distinct events read back, want %d", codec, len(seen), events)
		}
		_ = e.stop()
	}
	f("none", 1000, 0)
	f("gzip", 1000, 1)
	f("snappy", 1000, 2)
	f("lz4", 1000, 3)
	f("zstd", 1000, 4)
	f("zstd-fastest", 1000, 4)
	f("auto", 1000, 4)
	f("auto", 1, 3)
}

// Sync and hasty, one event and a thousand: every accepted event is in Kafka exactly once.
func TestKafkaSyncAndHastyBatches(t *testing.T) {
	needKafka(t)
	p := prefix(t)
	e := startEdge(t, p)
	total := 0
	for _, hasty := range []bool{false, true} {
		for _, n := range []int{1, 1000} {
			var evs []string
			for i := range n {
				evs = append(evs, click("example.click", i+1, fmt.Sprintf("hasty=%t n=%d i=%d", hasty, n, i)))
			}
			body := batchOf(evs)
			if n == 1 {
				body = []byte(evs[0])
			}
			if hasty {
				e.post("?hasty=true", body, 202)
			} else {
				e.post("", body, 201)
			}
			total += n
		}
	}
	recs := consume(t, total, 30*time.Second, p+"example.click")
	seen := map[string]int{}
	for _, r := range recs {
		note, _ := edgetest.Field(edgetest.MustJSON(t, r.Value), "page.title").(string)
		seen[note]++
	}
	if len(recs) != total || len(seen) != total {
		t.Fatalf("read %d records, %d distinct, want %d of each", len(recs), len(seen), total)
	}
}

// An invalid event beside valid ones: 207, the valid ones produced, an error event (error/2.1.0's
// shape) on the error stream naming the invalid one's problem.
func TestKafkaErrorEventsOnTheErrorStream(t *testing.T) {
	needKafka(t)
	p := prefix(t)
	e := startEdge(t, p)
	body := batchOf([]string{
		click("example.click", 1, ""),
		strings.Replace(click("example.click", 2, ""), `"button":"save"`, `"button":"explode"`, 1),
		click("example.click", 3, ""),
	})
	resp := e.post("", body, 207)
	var r struct {
		Invalid []json.RawMessage `json:"invalid"`
		Error   []json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(resp, &r); err != nil || len(r.Invalid) != 1 || len(r.Error) != 0 {
		t.Fatalf("207 body %s: want one invalid entry (%v)", resp, err)
	}
	if recs := consume(t, 2, 30*time.Second, p+"example.click"); len(recs) != 2 {
		t.Fatalf("got %d valid records, want 2", len(recs))
	}
	errs := consume(t, 1, 30*time.Second, p+"intake.error")
	if len(errs) != 1 {
		t.Fatalf("got %d error events, want 1", len(errs))
	}
	ev := edgetest.MustJSON(t, errs[0].Value)
	if got := edgetest.Field(ev, "meta.stream"); got != "intake.error" {
		t.Fatalf("error event meta.stream %v", got)
	}
	if msg, _ := edgetest.Field(ev, "message").(string); !strings.Contains(msg, "button") {
		t.Fatalf("error event message %q does not name the field", msg)
	}
	if raw, _ := edgetest.Field(ev, "raw_event").(string); !strings.Contains(raw, "explode") {
		t.Fatalf("error event raw_event %q is not the invalid event", raw)
	}
}

// partitionCount asks the cluster how many partitions topic has.
func partitionCount(t *testing.T, topic string) int {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("metadata of %s: %+v", topic, resp.Topics)
	}
	return len(resp.Topics[0].Partitions)
}

// createTopic creates topic with parts partitions and the cluster's default replication.
func createTopic(t *testing.T, topic string, parts int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic = topic
	rt.NumPartitions = int32(parts)
	rt.ReplicationFactor = -1
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 10000
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if c := resp.Topics[0].ErrorCode; c != 0 {
		t.Fatalf("cannot create %s: error code %d", topic, c)
	}
}
