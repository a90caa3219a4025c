package edge_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kadm"

	"intake.dev/intake/edge"
	"intake.dev/intake/internal/edgetest"
)

// pad is an http.request_headers member (the click schema takes any string there) of about n
// bytes that do not compress (Kafka checks a batch's size as sent), letters and 2- and 3-byte
// characters.
func pad(n int) string {
	r := rand.New(rand.NewPCG(uint64(n), 2))
	chars := []string{"a", "b", "c", "d", "e", "f", "g", "h", "é", "ß", "€", "中"}
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(chars[r.IntN(len(chars))])
	}
	return `"http":{"request_headers":{"x-pad":"` + b.String() + `"}}`
}

// TestRecordTimestampIsMetaDT: a record's Kafka timestamp is its event's meta.dt, as
// eventgate-wikimedia has it, for the ingestion time intake writes and for an error event; an
// event's own meta.dt is its timestamp too when it lies within half a second of the time the
// record is queued, and the record gets that time when it does not (franz-go would time the
// record's batch out by it: kafkaout's timestampWindow).
func TestRecordTimestampIsMetaDT(t *testing.T) {
	h := edgetest.Start(t, edgetest.Options{})
	own := time.Now().Add(-100 * time.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z")
	before := time.Now().Truncate(time.Millisecond)
	r := h.Post("/v1/events", []byte("["+click("example.click")+","+ownDT("example.click", own)+","+
		ownDT("example.click", "2020-07-01T12:00:00.000Z")+","+click("example.click", `"button":"explode"`)+"]"))
	after := time.Now()
	if r.Code != 207 {
		t.Fatalf("got %d %s, want 207", r.Code, r.Body)
	}
	recs := h.Consume("dev.example.click", 3)
	for i, rec := range recs {
		dt, _ := edgetest.Field(edgetest.MustJSON(t, rec.Value), "meta.dt").(string)
		metaDT, err := time.Parse(time.RFC3339Nano, dt)
		if err != nil {
			t.Fatalf("record %d: meta.dt %q: %s", i, dt, err)
		}
		switch {
		case dt == "2020-07-01T12:00:00.000Z":
			if rec.Timestamp.Before(before) || rec.Timestamp.After(after) {
				t.Fatalf("an event's own meta.dt of 2020: timestamp %s, want the time it was queued", rec.Timestamp.UTC())
			}
		case !rec.Timestamp.Equal(metaDT):
			t.Fatalf("record %d: timestamp %s, want its meta.dt %s", i, rec.Timestamp.UTC(), dt)
		}
	}
	errs := h.Consume("dev.intake.error", 1)
	dt, _ := edgetest.Field(edgetest.MustJSON(t, errs[0].Value), "meta.dt").(string)
	if metaDT, err := time.Parse(time.RFC3339Nano, dt); err != nil || !errs[0].Timestamp.Equal(metaDT) {
		t.Fatalf("error event: timestamp %s, want its meta.dt %s (%v)", errs[0].Timestamp.UTC(), dt, err)
	}
}

// entries is an answer's list (invalid, error, events) as objects.
func entries(t *testing.T, r edgetest.Response, list string) []map[string]any {
	t.Helper()
	var out []map[string]any
	l, _ := r.JSON(t)[list].([]any)
	for _, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			t.Fatalf("%s entry %v is not an object", list, e)
		}
		out = append(out, m)
	}
	return out
}

// firstError is the first of an entry's errors (an invalid entry's context, or a verdict).
func firstError(entry map[string]any) map[string]any {
	errs, _ := entry["errors"].([]any)
	if len(errs) == 0 {
		return nil
	}
	m, _ := errs[0].(map[string]any)
	return m
}

// ownDT is a click event of stream with its own meta.dt.
func ownDT(stream, dt string) string {
	return strings.Replace(click(stream), `"meta":{"stream":"`+stream+`"}`, `"meta":{"stream":"`+stream+`","dt":"`+dt+`"}`, 1)
}

// TestEventOverMaxEventBytes: an event larger than --max-event-bytes as produced is invalid with a
// reason naming the flag, its error event carries its first KiB, and its siblings are produced.
func TestEventOverMaxEventBytes(t *testing.T) {
	h := edgetest.Start(t, edgetest.Options{Edge: func(c *edge.Config) { c.MaxEventBytes = 2000 }})
	big := click("example.click", pad(3000))
	r := h.Post("/v1/events", []byte("["+click("example.click")+","+big+","+click("example.click")+"]"))
	if r.Code != 207 {
		t.Fatalf("got %d %s, want 207", r.Code, r.Body)
	}
	invalid := entries(t, r, "invalid")
	if len(invalid) != 1 {
		t.Fatalf("invalid entries: %v, want the big event's", invalid)
	}
	context, _ := invalid[0]["context"].(map[string]any)
	text, _ := context["errorsText"].(string)
	if !strings.Contains(text, "should be at most 2000 bytes as produced (--max-event-bytes), but is ") {
		t.Fatalf("errorsText %q does not name --max-event-bytes", text)
	}
	if kw := firstError(context)["keyword"]; kw != "maxEventBytes" {
		t.Fatalf("keyword %v, want maxEventBytes", kw)
	}
	h.Consume("dev.example.click", 2)
	errs := h.Consume("dev.intake.error", 1)
	raw, _ := edgetest.Field(edgetest.MustJSON(t, errs[0].Value), "raw_event").(string)
	if len(raw) != edge.MaxRawErrorEvent+len("...(truncated)") || !strings.HasSuffix(raw, "...(truncated)") {
		t.Fatalf("error event raw_event of %d bytes, want the event's first KiB: %.80s...", len(raw), raw)
	}
}

// TestEventTooLargeForItsTopic: a topic that takes smaller records than --max-event-bytes lets
// through refused the record batch of a large event as too large, and with it every record
// franz-go held for its partition: the whole request answered 500. The large event alone is
// invalid now, with the topic's limit as the reason, and the others arrive.
func TestEventTooLargeForItsTopic(t *testing.T) {
	h := edgetest.Start(t, edgetest.Options{Partitions: 1})
	adm := kadm.NewClient(mustClient(t, h.Brokers))
	v := "4096"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if resp, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"max.message.bytes": &v}, "dev.example.click"); err != nil || resp.Err != nil {
		t.Fatalf("cannot create the topic: %v %v", err, resp.Err)
	}
	small := func(n int) string { return click("example.click", `"count":`+strconv.Itoa(n)) }
	big := click("example.click", pad(6000))
	f := func(path string, wantCode int, wantStatus string) {
		t.Helper()
		r := h.Post(path, []byte("["+small(1)+","+big+","+small(2)+","+small(3)+"]"))
		if r.Code != wantCode {
			t.Fatalf("%s: got %d %s, want %d", path, r.Code, r.Body, wantCode)
		}
		var entry map[string]any
		if wantStatus == "" {
			invalid := entries(t, r, "invalid")
			if len(invalid) != 1 || len(entries(t, r, "error")) != 0 {
				t.Fatalf("%s: %s, want the big event alone under invalid", path, r.Body)
			}
			entry, _ = invalid[0]["context"].(map[string]any)
		} else {
			events := entries(t, r, "events")
			for i, e := range events {
				if want := map[bool]string{true: wantStatus, false: "accepted"}[i == 1]; e["status"] != want {
					t.Fatalf("%s: event %d is %v, want %s: %s", path, i, e["status"], want, r.Body)
				}
			}
			entry = events[1]
		}
		text, _ := entry["errorsText"].(string)
		if !strings.Contains(text, "should be at most 4096 bytes as a Kafka record batch of topic 'dev.example.click'") {
			t.Fatalf("%s: errorsText %q does not give the topic's limit", path, text)
		}
		if kw := firstError(entry)["keyword"]; kw != "maxMessageBytes" {
			t.Fatalf("%s: keyword %v, want maxMessageBytes", path, kw)
		}
	}
	f("/v1/events", 207, "")
	f("/v1/events?debug=true", 207, "invalid")
	recs := h.Consume("dev.example.click", 6)
	if len(recs) != 6 {
		t.Fatalf("%d records in the topic, want the 6 small events", len(recs))
	}
	for _, rec := range h.Consume("dev.intake.error", 2) {
		raw, _ := edgetest.Field(edgetest.MustJSON(t, rec.Value), "raw_event").(string)
		if len(raw) > edge.MaxRawErrorEvent+len("...(truncated)") || !strings.HasSuffix(raw, "...(truncated)") {
			t.Fatalf("error event raw_event of %d bytes, want the event's first KiB", len(raw))
		}
	}
}

// TestTruncateRawKeepsCharactersWhole: an error event that quotes only the first KiB of an event
// cut it at byte 1024 even inside a character, writing invalid UTF-8 into Kafka.
func TestTruncateRawKeepsCharactersWhole(t *testing.T) {
	f := func(raw string, wantLen int) {
		t.Helper()
		got := string(edge.TruncateRaw([]byte(raw)))
		if !utf8.ValidString(got) {
			t.Fatalf("truncated to invalid UTF-8: ...%q", got[max(0, len(got)-20):])
		}
		if wantLen != len(got) {
			t.Fatalf("truncated to %d bytes, want %d", len(got), wantLen)
		}
	}
	marked := func(n int) int { return n + len("...(truncated)") }
	f(strings.Repeat("a", 1024), 1024) // whole
	f(strings.Repeat("a", 1025), marked(1024))
	f(strings.Repeat("€", 400), marked(1023))             // 3-byte characters: 341 whole ones
	f("a"+strings.Repeat("€", 400), marked(1024))         // byte 1024 starts a character
	f("ab"+strings.Repeat("€", 400), marked(1022))        // two bytes of a character would be left
	f(strings.Repeat("a", 1023)+"😀"+"tail", marked(1023)) // a 4-byte character across the cut
}
