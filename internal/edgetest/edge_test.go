package edgetest_test

import (
	"encoding/json"
	"testing"

	"intake.dev/intake/internal/edgetest"
)

const click = `{"$schema":"/example/click/1.0.0","dt":"2026-11-23T12:00:00.000Z","meta":{"stream":"example.click"},"page":{"id":42,"title":"Main Page"},"button":"save"}`

// An edge on an in-memory listener answers the HTTP helpers as one on TCP does (a benchmark
// dials it), and what it accepts reaches the embedded broker, where Consume finds it.
func TestInMemoryEdge(t *testing.T) {
	e := edgetest.Start(t, edgetest.Options{Listener: edgetest.InMemory, Partitions: 1})
	if r := e.Post("/v1/events", []byte(click)); r.Code != 201 {
		t.Fatalf("POST: got %d %s, want 201", r.Code, r.Body)
	}
	if r := e.Get("/v1/streams?streams=example.click"); r.Code != 200 || r.JSON(t)["streams"] == nil {
		t.Fatalf("GET /v1/streams: got %d %s", r.Code, r.Body)
	}
	recs := e.Consume("dev.example.click", 1)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	ev := edgetest.MustJSON(t, recs[0].Value)
	if got := edgetest.Field(ev, "page.id"); got != json.Number("42") {
		t.Fatalf("page.id %v, want 42", got)
	}
	if id, _ := edgetest.Field(ev, "meta.id").(string); !edgetest.UUIDv4.MatchString(id) {
		t.Fatalf("meta.id %q: the edge's enrichment did not run", id)
	}
}
