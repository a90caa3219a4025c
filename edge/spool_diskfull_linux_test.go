package edge_test

import (
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"intake.dev/intake/internal/edgetest"
	"intake.dev/intake/kafkaout"
)

// The spool's disk fills at run time (a real one: a small tmpfs, below --spool-max-bytes) while
// Kafka is down: hasty requests answer 503 with Retry-After and the log names the spool and the
// cause; nothing answered 202 before is lost: once Kafka is back, every one of them arrives.
func TestSpoolDiskFullAtRunTime(t *testing.T) {
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=256k"); err != nil {
		t.Skipf("cannot mount a tmpfs for a real full disk: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, syscall.MNT_DETACH); err != nil {
			t.Errorf("cannot unmount %s: %v", mnt, err)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logs := &edgetest.SyncBuffer{}
	h := edgetest.Start(t, edgetest.Options{Brokers: []string{addr}, SpoolDir: filepath.Join(mnt, "spool"),
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Kafka: func(c *kafkaout.Config) {
			c.DeliveryTimeout = time.Second
			c.SpoolMaxBytes = 64 << 20 // far more than the disk has
		}})
	defer h.StopNow(2 * time.Second)
	for deadline := time.Now().Add(20 * time.Second); !h.Producer.Down(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the producer is not down 20s after Kafka failed")
		}
	}

	batch := "[" + strings.TrimSuffix(strings.Repeat(click("example.click")+",", 20), ",") + "]"
	accepted, full := 0, false
	for i := 0; i < 400 && !full; i++ {
		r := h.Post("/v1/events?hasty=true", []byte(batch))
		switch r.Code {
		case 202:
			accepted += 20
		case 503:
			if r.Header.Get("Retry-After") == "" {
				t.Fatalf("503 of a full disk without Retry-After: %s", r.Body)
			}
			full = true
		default:
			t.Fatalf("hasty onto a filling disk: got %d %s", r.Code, r.Body)
		}
	}
	if !full || accepted == 0 {
		t.Fatalf("a 256 KiB disk: %d events answered 202, full %v", accepted, full)
	}
	if l := logs.String(); !strings.Contains(l, "cannot spool") || !strings.Contains(l, "no space left on device") {
		t.Fatalf("the log does not name the spool's failure and its cause:\n%s", l)
	}
	if st, _ := h.Producer.SpoolStats(); st.Full != 0 {
		t.Errorf("a full disk counted as a full spool (ErrFull %d times): the spool's bound is 64 MiB", st.Full)
	}
	if r := h.Get("/readyz"); r.Code != 503 {
		t.Errorf("/readyz with Kafka down and the spool's disk full: %d %s", r.Code, r.Body)
	}

	// Kafka back: every event answered 202 arrives (replayed from the full disk).
	e, err := kafkaout.StartEmbedded(kafkaout.EmbeddedConfig{Addr: addr, Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	recs := edgetest.Consume(t, []string{addr}, "dev.example.click", accepted, 60*time.Second)
	ids := map[string]bool{}
	for _, r := range recs {
		id, _ := edgetest.Field(edgetest.MustJSON(t, r.Value), "meta.id").(string)
		ids[id] = true
	}
	if len(ids) < accepted {
		t.Fatalf("%d distinct events in Kafka, want the %d answered 202 before the disk filled", len(ids), accepted)
	}
}
