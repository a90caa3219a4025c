package edge_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"intake.dev/intake/internal/edgetest"
)

// Developer mode: synchronous whatever hasty says (207 here: one event valid, one not), every event's verdict with the event as
// produced (enriched, defaults applied) or its errors. A dry run reports the same and produces
// nothing, not even error events.
func TestDeveloperModeAndDryRun(t *testing.T) {
	h := edgetest.Start(t, edgetest.Options{})
	body := []byte("[" + click("example.click") + "," + click("example.click", `"count":0`) + "]")
	type entry struct {
		Index      int             `json:"index"`
		Status     string          `json:"status"`
		Event      json.RawMessage `json:"event"`
		Topic      string          `json:"topic"`
		Key        json.RawMessage `json:"key"`
		ErrorsText string          `json:"errorsText"`
	}
	f := func(path string, dryRun bool, hdr ...string) []entry {
		t.Helper()
		r := h.Post(path, body, hdr...)
		var doc struct {
			DryRun bool    `json:"dry_run"`
			Events []entry `json:"events"`
		}
		if r.Code != 207 || json.Unmarshal(r.Body, &doc) != nil || doc.DryRun != dryRun || len(doc.Events) != 2 {
			t.Fatalf("%s: %d %s", path, r.Code, r.Body)
		}
		ok, bad := doc.Events[0], doc.Events[1]
		if ok.Status != "accepted" || ok.Topic != "dev.example.click" || string(ok.Key) != `{"page_id":42}` ||
			!strings.Contains(string(ok.Event), `"meta":{"stream":"example.click","dt":"`) || !strings.Contains(string(ok.Event), `"count":1`) {
			t.Fatalf("%s: the valid event's entry %+v", path, ok)
		}
		if bad.Status != "invalid" || !strings.Contains(bad.ErrorsText, "count") {
			t.Fatalf("%s: the invalid event's entry %+v", path, bad)
		}
		return doc.Events
	}
	f("/v1/events?hasty=true&debug=true", false)
	f("/v1/events", false, "X-Intake-Debug", "1")
	f("/v1/events?dry_run=true", true)
	// Developer mode produced its valid events (two requests), the dry run nothing; error events
	// for the two debug requests only.
	if n := len(h.Consume("dev.example.click", 2)); n != 2 {
		t.Fatalf("dev.example.click has %d records, want 2", n)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(h.Consume("dev.intake.error", 2)); n != 2 {
		t.Fatalf("dev.intake.error has %d records, want 2", n)
	}
}
