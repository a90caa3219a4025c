package edge_test

import (
	"strings"
	"testing"
	"time"

	"intake.dev/intake/internal/edgetest"
)

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

// ownDT is a click event of stream with its own meta.dt.
func ownDT(stream, dt string) string {
	return strings.Replace(click(stream), `"meta":{"stream":"`+stream+`"}`, `"meta":{"stream":"`+stream+`","dt":"`+dt+`"}`, 1)
}
