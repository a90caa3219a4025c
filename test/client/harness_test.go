package client

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"intake.dev/intake/client"
	"intake.dev/intake/internal/edgetest"
)

// startEdge starts an edge (internal/edgetest) for the client to talk to, with quiet logs: they
// are the edge's, not the client's.
func startEdge(t testing.TB, o edgetest.Options) *edgetest.Edge {
	t.Helper()
	o.Logger = discardLogger()
	return edgetest.Start(t, o)
}

// clientStreams is the Go client's test stream config (client/testdata): example.click, and
// streams sampled at rate 0, by device at 0.5 (a /regex/ name), and with an invalid sample setting.
func clientStreams() string {
	return filepath.Join(edgetest.Root(), "client", "testdata", "stream-config.json")
}

// newTestClient is a client of url with sampling off and quiet logs, closed at the end of the test.
// Its waits between attempts are real ones, as a producer's.
func newTestClient(t testing.TB, url string, opts ...client.Option) *client.Client {
	t.Helper()
	opts = append([]client.Option{client.WithStreamConfigRefresh(-1), client.WithLogger(discardLogger())}, opts...)
	c, err := client.New(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.Close(ctx)
	})
	return c
}

func mustClose(t testing.TB, c *client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close: %s", err)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// click is a valid example/click event of stream with page.id page, made as a producer makes one.
func click(stream string, page int) map[string]any { return clickEvent(stream, page, nil) }

// clickWithID is click with its meta.id set, so that the test knows what to look for in Kafka.
func clickWithID(stream string, page int) (map[string]any, string) {
	id := client.NewID()
	return clickEvent(stream, page, map[string]any{"id": id}), id
}

func clickEvent(stream string, page int, meta map[string]any) map[string]any {
	return client.NewEvent(stream, "/example/click/1.0.0", map[string]any{
		"dt":     "2026-11-23T12:00:00.000Z",
		"meta":   meta,
		"page":   map[string]any{"id": page, "title": "Main Page"},
		"button": "save",
	})
}

// kafkaEvent is what the tests check of an event read back from Kafka.
type kafkaEvent struct {
	ID     string
	Page   int
	Stream string
	DT     string
	MetaDT string
}

// consume reads topic from the start until every id of want has arrived (failing the test if
// they do not within the timeout), then a little longer to catch duplicates and strays. It
// returns the events in topic order (one partition) or per-partition order.
func consume(t testing.TB, brokers []string, topic string, want map[string]bool, timeout time.Duration) []kafkaEvent {
	t.Helper()
	var out []kafkaEvent
	seen := map[string]bool{}
	missing := len(want)
	edgetest.ConsumeUntil(t, brokers, topic, timeout, func(r *kgo.Record) bool {
		var ev struct {
			DT   string `json:"dt"`
			Meta struct {
				ID     string `json:"id"`
				Stream string `json:"stream"`
				DT     string `json:"dt"`
			} `json:"meta"`
			Page struct {
				ID int `json:"id"`
			} `json:"page"`
		}
		if err := json.Unmarshal(r.Value, &ev); err != nil {
			t.Fatalf("a record of %s is not JSON: %s", topic, err)
		}
		out = append(out, kafkaEvent{ID: ev.Meta.ID, Page: ev.Page.ID, Stream: ev.Meta.Stream, DT: ev.DT, MetaDT: ev.Meta.DT})
		if want[ev.Meta.ID] && !seen[ev.Meta.ID] {
			missing--
		}
		seen[ev.Meta.ID] = true
		return missing == 0
	})
	if missing > 0 {
		t.Fatalf("topic %s: %d of %d events never arrived (%d records read)", topic, missing, len(want), len(out))
	}
	return out
}
