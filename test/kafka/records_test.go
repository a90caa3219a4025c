package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"intake.dev/intake/internal/edgetest"
)

// Every record's Kafka timestamp is its event's meta.dt, to the millisecond: the ingestion time
// intake wrote, an error event's own, and an event's own when it is that recent; an event's own
// meta.dt of another day is left in the event, and the record gets the time it was queued.
func TestKafkaRecordTimestampsAreMetaDT(t *testing.T) {
	needKafka(t)
	p := prefix(t)
	// A fresh topic may take Kafka more than the default 5 s to create.
	e := startEdge(t, p, "--kafka-delivery-timeout", "30s")
	recent := time.Now().Add(-100 * time.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z")
	withDT := func(page int, dt string) string {
		return strings.Replace(click("example.click", page, ""), `"meta":{"stream":"example.click"}`,
			`"meta":{"stream":"example.click","dt":"`+dt+`"}`, 1)
	}
	before := time.Now().Truncate(time.Millisecond)
	e.post("", batchOf([]string{
		click("example.click", 1, ""),
		withDT(2, recent),
		withDT(3, "2020-07-01T12:00:00.000Z"),
		strings.Replace(click("example.click", 4, ""), `"button":"save"`, `"button":"explode"`, 1),
	}), 207)
	after := time.Now()
	recs := consume(t, 4, 30*time.Second, p+"example.click", p+"intake.error")
	if len(recs) != 4 {
		t.Fatalf("got %d records, want 3 events and an error event", len(recs))
	}
	for _, r := range recs {
		dt, _ := edgetest.Field(edgetest.MustJSON(t, r.Value), "meta.dt").(string)
		metaDT, err := time.Parse(time.RFC3339Nano, dt)
		if err != nil {
			t.Fatalf("%s: meta.dt %q: %s", r.Topic, dt, err)
		}
		if dt == "2020-07-01T12:00:00.000Z" {
			if r.Timestamp.Before(before) || r.Timestamp.After(after) {
				t.Fatalf("meta.dt of 2020: timestamp %s, want the time the record was queued", r.Timestamp.UTC())
			}
			continue
		}
		if !r.Timestamp.Equal(metaDT) {
			t.Fatalf("%s: timestamp %s, want its meta.dt %s", r.Topic, r.Timestamp.UTC().Format(time.RFC3339Nano), dt)
		}
	}
}

// padded is a click event with about n more bytes that do not compress (Kafka checks a record
// batch's size as sent): letters and 2- and 3-byte characters.
func padded(page, n int) string {
	r := rand.New(rand.NewPCG(uint64(n), 3))
	chars := []string{"a", "b", "c", "d", "e", "f", "g", "h", "é", "ß", "€", "中"}
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(chars[r.IntN(len(chars))])
	}
	return strings.Replace(click("example.click", page, ""), `"button":"save"`,
		`"button":"save","http":{"request_headers":{"x-pad":"`+b.String()+`"}}`, 1)
}

// answer is a failure answer's lists, by the events' page ids.
func answer(t *testing.T, body []byte) (invalid, errored map[int]string) {
	t.Helper()
	var r struct {
		Invalid []struct {
			Event   map[string]any `json:"event"`
			Context struct {
				ErrorsText string `json:"errorsText"`
			} `json:"context"`
		} `json:"invalid"`
		Error []struct {
			Event   map[string]any `json:"event"`
			Context struct {
				Message string `json:"message"`
			} `json:"context"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("answer %s: %s", body, err)
	}
	page := func(ev map[string]any) int {
		id, _ := edgetest.Field(ev, "page.id").(float64)
		return int(id)
	}
	invalid, errored = map[int]string{}, map[int]string{}
	for _, e := range r.Invalid {
		invalid[page(e.Event)] = e.Context.ErrorsText
	}
	for _, e := range r.Error {
		errored[page(e.Event)] = e.Context.Message
	}
	return invalid, errored
}

// pages are the page ids of records.
func pages(t *testing.T, recs []*kgo.Record) []int {
	var ids []int
	for _, r := range recs {
		id, err := strconv.Atoi(fmt.Sprint(edgetest.Field(edgetest.MustJSON(t, r.Value), "page.id")))
		if err != nil {
			t.Fatalf("a record without a page id: %s", r.Value)
		}
		ids = append(ids, id)
	}
	return ids
}

// A topic that takes smaller records than --max-event-bytes lets through: a batch's event too
// large for it is invalid, with the topic's limit as the reason and an error event quoting its
// first KiB, and its small siblings arrive. The same once the topic's max.message.bytes is lowered
// under a running edge: Kafka refuses the record batch built for the old limit, whose events then
// answer 503 with the broker's MESSAGE_TOO_LARGE (none lost, none invalid for another's size), and
// the next attempt has the large event invalid alone.
func TestKafkaEventTooLargeForItsTopic(t *testing.T) {
	needKafka(t)
	p := prefix(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	limit := "16384"
	if resp, err := adm.CreateTopic(ctx, 1, -1, map[string]*string{"max.message.bytes": &limit}, p+"example.click"); err != nil || resp.Err != nil {
		t.Fatalf("cannot create the topic: %v %v", err, resp.Err)
	}
	// A fresh error topic may take Kafka more than the default 5 s to create.
	e := startEdge(t, p, "--kafka-delivery-timeout", "30s")
	batch := func(first int) []byte {
		return batchOf([]string{click("example.click", first, ""), padded(first+1, 40000), click("example.click", first+2, ""), click("example.click", first+3, "")})
	}
	invalid, errored := answer(t, e.post("", batch(1), 207))
	if len(invalid) != 1 || len(errored) != 0 || !strings.Contains(invalid[2], "should be at most 16384 bytes as a Kafka record batch of topic '"+p+"example.click'") {
		t.Fatalf("invalid %v, error %v: want event 2 alone invalid, for the topic's limit", invalid, errored)
	}
	errs := consume(t, 1, 30*time.Second, p+"intake.error")
	if len(errs) != 1 {
		t.Fatalf("%d error events, want one", len(errs))
	}
	raw, _ := edgetest.Field(edgetest.MustJSON(t, errs[0].Value), "raw_event").(string)
	if !strings.HasSuffix(raw, "...(truncated)") || len(raw) > 1024+len("...(truncated)") {
		t.Fatalf("error events: %d, raw_event of %d bytes: want one, quoting the event's first KiB", len(errs), len(raw))
	}

	// The topic takes less from now on; the edge read it when it first produced to it.
	limit = "8192"
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "max.message.bytes", Value: &limit}}, p+"example.click"); err != nil {
		t.Fatal(err)
	}
	// A batch franz-go builds for the old limit: Kafka refuses it, its events answer 503. On a
	// cluster of several nodes the partition leader applies the new limit a moment after the
	// change is acknowledged (a run on three nodes had the first such batch accepted, 201), so
	// batches are posted until one is refused; those accepted before arrive whole.
	accepted := map[int]bool{} // page ids of the batches Kafka took under the old limit
	for first := 101; ; first += 10 {
		if first > 101+10*40 {
			t.Fatal("Kafka never refused a batch over the topic's lowered max.message.bytes")
		}
		code, body, err := httpDo("POST", e.url+"/v1/events", batchOf([]string{click("example.click", first, ""), padded(first+1, 12000), click("example.click", first+2, "")}), nil)
		if err != nil {
			t.Fatal(err)
		}
		if code == 201 {
			accepted[first], accepted[first+1], accepted[first+2] = true, true, true
			time.Sleep(250 * time.Millisecond)
			continue
		}
		if code != 503 {
			t.Fatalf("POST /v1/events: got %d %s, want 503 (or 201 before the leader applies the new limit)", code, body)
		}
		invalid, errored = answer(t, body)
		if len(invalid) != 0 || !strings.Contains(errored[first+1], "MESSAGE_TOO_LARGE") {
			t.Fatalf("invalid %v, error %v: want event %d under error with Kafka's MESSAGE_TOO_LARGE", invalid, errored, first+1)
		}
		// A small sibling sent in a record batch of its own (linger 0) is acknowledged.
		for _, id := range []int{first, first + 2} {
			if _, failed := errored[id]; !failed {
				accepted[id] = true
			}
		}
		break
	}
	// The edge reads the topic again after the refusal (and says so): the next attempt has the
	// large event invalid alone.
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(e.log.String(), "max.message.bytes changed"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the edge did not read the topic again after Kafka's refusal:\n%s", e.log)
		}
	}
	invalid, errored = answer(t, e.post("", batch(21), 207))
	if len(invalid) != 1 || len(errored) != 0 || !strings.Contains(invalid[22], "should be at most 8192 bytes") {
		t.Fatalf("invalid %v, error %v: want event 22 alone invalid, for the topic's new limit", invalid, errored)
	}
	got := map[int]int{}
	for _, id := range pages(t, consume(t, 6+len(accepted), 30*time.Second, p+"example.click")) {
		got[id]++
	}
	want := []int{1, 3, 4, 21, 23, 24}
	for id := range accepted {
		want = append(want, id)
	}
	for _, id := range want {
		if got[id] != 1 {
			t.Fatalf("records by page id %v: want each small event of the 207s, and each event of a batch Kafka took, once (%d)", got, id)
		}
	}
	for _, id := range []int{2, 22} {
		if got[id] != 0 {
			t.Fatalf("records by page id %v: a large event arrived (%d)", got, id)
		}
	}
	for id := range got {
		if id > 100 && !accepted[id] {
			t.Fatalf("records by page id %v: event %d of a refused batch arrived", got, id)
		}
	}
}
