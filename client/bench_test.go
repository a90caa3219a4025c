package client

import (
	"encoding/json"
	"testing"
	"time"
)

// The client's own per-event cost, before any I/O. Its throughput against a real edge is measured
// in the main module's test/client (BenchmarkEnqueue, BenchmarkSend100); make bench-client runs
// both. The event is the README's example/click event (examples/events/click.json), about 150
// bytes of JSON.

var benchEvent = []byte(`{"$schema":"/example/click/1.0.0","dt":"2026-11-23T12:00:00.000Z","meta":{"stream":"example.click"},"page":{"id":42,"title":"Main Page"},"button":"save"}`)

// BenchmarkPrepare is the client's work per event before any I/O: meta.id, dt check, copy.
func BenchmarkPrepare(b *testing.B) {
	c := &Client{cfg: defaultConfig()}
	var m map[string]any
	json.Unmarshal(benchEvent, &m)
	for _, bc := range []struct {
		name string
		ev   any
	}{{"raw", json.RawMessage(benchEvent)}, {"map", m}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(benchEvent)))
			now := time.Now()
			for b.Loop() {
				if _, _, err := c.prepare(bc.ev, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
