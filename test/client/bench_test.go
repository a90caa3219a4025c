package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"intake.dev/intake/client"
	"intake.dev/intake/internal/edgetest"
)

// The Go client's throughput against a real edge in this process (internal/edgetest: embedded
// broker, examples' config), with a baseline that posts the same 100-event body with bare
// net/http, so the client's overhead reads as a ratio in one run. The events are the README's
// example/click event (examples/events/click.json), about 150 bytes of JSON. The client's own
// per-event cost (BenchmarkPrepare) is measured in the client module.
//
//	make bench-client (go test -run '^$' -bench . -benchtime 3s ./test/client/, and the client's own)

var benchEvent = []byte(`{"$schema":"/example/click/1.0.0","dt":"2026-11-23T12:00:00.000Z","meta":{"stream":"example.click"},"page":{"id":42,"title":"Main Page"},"button":"save"}`)

// BenchmarkEnqueue enqueues b.N small events as fast as the queue takes them (waiting a little on
// ErrQueueFull) and closes the client: events/s is b.N over the whole time, Close included, so
// every event counted was acknowledged by Kafka.
func BenchmarkEnqueue(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts func(b *testing.B) []client.Option
	}{
		{"concurrency-1", func(*testing.B) []client.Option { return nil }},
		{"concurrency-4", func(*testing.B) []client.Option { return []client.Option{client.WithConcurrency(4)} }},
		{"gzip", func(*testing.B) []client.Option { return []client.Option{client.WithGzip(0)} }},
		{"spool", func(b *testing.B) []client.Option { return []client.Option{client.WithSpool(b.TempDir())} }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := startEdge(b, edgetest.Options{Partitions: 3})
			c := newTestClient(b, e.URL, bc.opts(b)...)
			b.ReportAllocs()
			b.SetBytes(int64(len(benchEvent)))
			ev := json.RawMessage(benchEvent)
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				for {
					err := c.Enqueue(ev)
					if err == nil {
						break
					}
					if !errors.Is(err, client.ErrQueueFull) {
						b.Fatal(err)
					}
					time.Sleep(100 * time.Microsecond)
				}
			}
			mustClose(b, c)
			elapsed := time.Since(start)
			b.StopTimer()
			if s := c.Stats(); s.Accepted != int64(b.N) {
				b.Fatalf("stats %+v", s)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
		})
	}
}

// BenchmarkSend100 sends 100-event batches with Send, one after the other, each waiting for
// Kafka's acknowledgements; the baseline posts the same body (ids already in) with bare net/http.
func BenchmarkSend100(b *testing.B) {
	e := startEdge(b, edgetest.Options{Partitions: 3})
	events := make([]any, 100)
	for i := range events {
		events[i] = json.RawMessage(benchEvent)
	}
	b.Run("client", func(b *testing.B) {
		c := newTestClient(b, e.URL)
		b.ReportAllocs()
		b.SetBytes(int64(100 * len(benchEvent)))
		start := time.Now()
		for b.Loop() {
			if _, err := c.Send(context.Background(), events...); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(100*b.N)/time.Since(start).Seconds(), "events/s")
	})
	b.Run("baseline-net-http", func(b *testing.B) {
		// The body the client posts: each event with the meta.id the client gives it, first in meta.
		body := []byte{'['}
		for i := range events {
			if i > 0 {
				body = append(body, ',')
			}
			body = append(body, bytes.Replace(benchEvent, []byte(`"meta":{`), []byte(`"meta":{"id":"`+client.NewID()+`",`), 1)...)
		}
		body = append(body, ']')
		hc := &http.Client{}
		b.ReportAllocs()
		b.SetBytes(int64(100 * len(benchEvent)))
		start := time.Now()
		for b.Loop() {
			resp, err := hc.Post(e.URL+"/v1/events", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 201 {
				b.Fatalf("HTTP %d", resp.StatusCode)
			}
		}
		b.ReportMetric(float64(100*b.N)/time.Since(start).Seconds(), "events/s")
	})
}
