package edge_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"intake.dev/intake/internal/edgetest"
)

// intake refused a real event EventGate accepts: analytics/legacy/codemirrorusage bounds
// edit_start_ts_ms with "maximum": 100000000000000000, and EventGate's Ajv 6 reads
// 100000000000000001 as 1e17, within it (fastpath.Program reads numbers both ways now). On the
// production schemas and stream config: such an event is accepted and reaches Kafka with its
// number as sent; one beyond the limit as Ajv reads it too is refused in EventGate's words.
func TestNumbersBeyondDoublesOnRealSchemas(t *testing.T) {
	b, err := os.ReadFile(edgetest.SharedData("examples", "analytics.legacy.codemirrorusage", "1.0.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	var examples []json.RawMessage
	if err := json.Unmarshal(b, &examples); err != nil {
		t.Fatal(err)
	}
	event := func(n string) []byte {
		e := bytes.Replace(examples[0], []byte("20210223205005000"), []byte(n), 1)
		if bytes.Equal(e, examples[0]) {
			t.Fatal("the example event has no edit_start_ts_ms to replace")
		}
		return e
	}
	h := edgetest.Start(t, edgetest.RealData())

	r := h.Post("/v1/events", event("100000000000000001"))
	if r.Code != 201 {
		t.Fatalf("100000000000000001: got %d %s, want 201", r.Code, r.Body)
	}
	recs := h.Consume("eventlogging_CodeMirrorUsage", 1)
	if !bytes.Contains(recs[0].Value, []byte(`"edit_start_ts_ms":100000000000000001`)) {
		t.Fatalf("the number did not reach Kafka as sent: %s", recs[0].Value)
	}

	r = h.Post("/v1/events", event("100000000000000009"))
	if r.Code != 400 || !bytes.Contains(r.Body, []byte(`'.event.edit_start_ts_ms' should be <= 100000000000000000`)) {
		t.Fatalf("100000000000000009: got %d %s, want 400 with Ajv's error", r.Code, r.Body)
	}
}
