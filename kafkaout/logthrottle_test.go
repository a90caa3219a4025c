package kafkaout

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestLogThrottle(t *testing.T) {
	th := &logThrottle{every: 10 * time.Second, seen: map[string]*throttled{}}
	t0 := time.Unix(1_000_000, 0)
	if _, ok := th.allow("a", t0); !ok {
		t.Fatal("the first line of a key was held back")
	}
	for i := 1; i <= 5; i++ {
		if _, ok := th.allow("a", t0.Add(time.Duration(i)*time.Second)); ok {
			t.Fatalf("line %d within 10 s let through", i)
		}
	}
	if _, ok := th.allow("b", t0.Add(time.Second)); !ok {
		t.Fatal("another key was held back by the first")
	}
	skipped, ok := th.allow("a", t0.Add(10*time.Second))
	if !ok || skipped != 5 {
		t.Fatalf("after 10 s: ok %v, skipped %d; want true, 5", ok, skipped)
	}
	if skipped, ok := th.allow("a", t0.Add(21*time.Second)); !ok || skipped != 0 {
		t.Fatalf("after a quiet 11 s: ok %v, skipped %d; want true, 0", ok, skipped)
	}
}

// franz-go's per-broker warnings during an outage: one line per broker per 10 s, the count of the
// rest on the next.
func TestKgoLoggerThrottlesPerBroker(t *testing.T) {
	var buf bytes.Buffer
	k := newKgoLogger(slog.New(slog.NewTextHandler(&buf, nil)))
	for i := 0; i < 50; i++ {
		k.Log(kgo.LogLevelWarn, "unable to open connection to broker", "addr", "127.0.0.1:9092", "broker", "1", "err", "refused")
		k.Log(kgo.LogLevelWarn, "unable to open connection to broker", "addr", "127.0.0.1:9093", "broker", "2", "err", "refused")
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "broker=1") || !strings.Contains(lines[1], "broker=2") {
		t.Fatalf("want one line per broker, got %d:\n%s", len(lines), buf.String())
	}
	k.t.seen[throttleKey("unable to open connection to broker", []any{"addr", "127.0.0.1:9092"})].last = time.Now().Add(-11 * time.Second)
	buf.Reset()
	k.Log(kgo.LogLevelWarn, "unable to open connection to broker", "addr", "127.0.0.1:9092", "broker", "1", "err", "refused")
	if !strings.Contains(buf.String(), "suppressed_since_last=49") {
		t.Fatalf("the line after the pause does not count the 49 held back:\n%s", buf.String())
	}
}
