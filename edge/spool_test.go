package edge_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"intake.dev/intake/internal/edgetest"
	"intake.dev/intake/kafkaout"
)

// With --spool-dir, hasty events answer 202 while Kafka is down and reach Kafka, in order and
// with their meta.id, once it is back; /readyz stays ready meanwhile; a full spool answers 503
// with Retry-After.
func TestSpoolKeepsHastyEventsThroughAnOutage(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	h := edgetest.Start(t, edgetest.Options{Brokers: []string{addr}, SpoolDir: t.TempDir(), Kafka: func(c *kafkaout.Config) {
		c.DeliveryTimeout = time.Second
		c.SpoolMaxBytes = 64 << 10
	}})
	defer h.StopNow(2 * time.Second)

	if r := h.Post("/v1/events", []byte(click("example.click"))); r.Code != 503 {
		t.Fatalf("sync to a dead broker: got %d %s, want 503", r.Code, r.Body)
	}
	for deadline := time.Now().Add(20 * time.Second); !h.Producer.Down(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the producer is not down 20s after Kafka failed")
		}
	}
	const n = 20
	for i := range n {
		r := h.Post("/v1/events?hasty=true", []byte(click("example.click")), "X-Request-Id", fmt.Sprintf("rid-%02d", i))
		if r.Code != 202 {
			t.Fatalf("hasty event %d while Kafka is down, with a spool: got %d %s, want 202", i, r.Code, r.Body)
		}
	}
	if r := h.Get("/readyz"); r.Code != 200 {
		t.Fatalf("/readyz while the spool takes traffic: %d %s", r.Code, r.Body)
	}
	info := h.Get("/v1/info").JSON(t)
	if got := edgetest.Field(info, "spool.records"); got != float64(n) {
		t.Fatalf("/v1/info spool.records = %v, want %d: %v", got, n, info)
	}

	// Fill the spool: 503 with Retry-After, never a 202 then dropped.
	big := "[" + strings.TrimSuffix(strings.Repeat(click("example.click")+",", 50), ",") + "]"
	got503, accepted := false, n
	for i := 0; i < 200 && !got503; i++ {
		before, _ := h.Producer.SpoolStats()
		r := h.Post("/v1/events?hasty=true", []byte(big))
		switch r.Code {
		case 202:
			accepted += 50
		case 503:
			got503 = r.Header.Get("Retry-After") != ""
			// Refused whole, before any of its events was spooled: a retry sends none twice.
			if after, _ := h.Producer.SpoolStats(); after.Records != before.Records {
				t.Fatalf("the request answered 503 spooled %d of its events", after.Records-before.Records)
			}
		default:
			t.Fatalf("hasty into a filling spool: got %d %s", r.Code, r.Body)
		}
	}
	if !got503 {
		t.Fatal("a 64 KiB spool never answered 503 with Retry-After")
	}
	// Kafka down and the spool full: the edge takes nothing, and says so to load balancers.
	if r := h.Get("/readyz"); r.Code != 503 || !strings.Contains(string(r.Body), "spool") {
		t.Fatalf("/readyz with Kafka down and the spool full: %d %s, want 503 naming the spool", r.Code, r.Body)
	}

	// Kafka comes back on the address: the spool drains into it, in the order it was written.
	e, err := kafkaout.StartEmbedded(kafkaout.EmbeddedConfig{Addr: addr, Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	// Every event answered 202 arrives (at least once: the records in flight when a replay
	// failed are replayed again, duplicates shown by their meta.id).
	recs := edgetest.Consume(t, []string{addr}, "dev.example.click", accepted, 60*time.Second)
	ids := map[string]bool{}
	dups := 0
	for i, r := range recs {
		ev := edgetest.MustJSON(t, r.Value)
		id, _ := edgetest.Field(ev, "meta.id").(string)
		if id == "" {
			t.Fatalf("record %d has no meta.id", i)
		}
		if ids[id] {
			dups++
		}
		ids[id] = true
		if i >= n {
			continue
		}
		if got, want := edgetest.Field(ev, "meta.request_id"), fmt.Sprintf("rid-%02d", i); got != want {
			t.Fatalf("record %d has meta.request_id %v, want %s (append order)", i, got, want)
		}
	}
	if len(ids) < accepted {
		t.Fatalf("%d distinct events in Kafka, want the %d answered 202", len(ids), accepted)
	}
	t.Logf("%d events answered 202 while Kafka was down, %d records in Kafka, %d duplicates", accepted, len(recs), dups)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if st, _ := h.Producer.SpoolStats(); st.Records == 0 && h.Get("/readyz").Code == 200 {
			break
		}
		if time.Now().After(deadline) {
			st, _ := h.Producer.SpoolStats()
			t.Fatalf("the spool still holds %d records 30s after Kafka came back (/readyz %d)", st.Records, h.Get("/readyz").Code)
		}
	}
}
