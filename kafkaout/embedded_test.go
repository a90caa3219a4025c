package kafkaout

import (
	"context"
	"crypto/rand"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestEmbeddedListensOnConfiguredHost(t *testing.T) {
	e := startBroker(t, 1)
	addrs := e.Addrs()
	if len(addrs) != 1 {
		t.Fatalf("Addrs() = %v, want one broker", addrs)
	}
	host, port, err := net.SplitHostPort(addrs[0])
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("the embedded broker listens on %q, want 127.0.0.1 and a chosen port", addrs[0])
	}
	e.Close()
	e.Close() // idempotent
}

func TestEmbeddedBadAddr(t *testing.T) {
	f := func(addr string) {
		t.Helper()
		e, err := StartEmbedded(EmbeddedConfig{Addr: addr, Logger: discardLogger})
		if err == nil {
			e.Close()
			t.Fatalf("StartEmbedded(%q) succeeded", addr)
		}
	}
	f("no-port")
	f("127.0.0.1:port")
	f("127.0.0.1:70000")
}

// TestEmbeddedRetention checks that the embedded broker drops old batches beyond
// RetentionBytes. kfake's own cleaner never runs for auto-created topics, so this is the
// Embedded's cleaner at work.
func TestEmbeddedRetention(t *testing.T) {
	e, err := StartEmbedded(EmbeddedConfig{
		Addr:            "127.0.0.1:0",
		RetentionBytes:  16 << 10,
		CleanerInterval: 10 * time.Millisecond,
		Logger:          discardLogger,
	})
	if err != nil {
		t.Fatalf("StartEmbedded: %s", err)
	}
	defer e.Close()
	p := newProducer(t, Config{Brokers: e.Addrs(), Compression: "none"})
	const topic = "eqiad.test.retention"
	// Ten separate batches of 8 KiB each: retention drops whole batches.
	for range 10 {
		keys := make([][]byte, 8)
		values := make([][]byte, 8)
		for i := range values {
			values[i] = make([]byte, 1<<10)
			rand.Read(values[i])
		}
		produceBatch(t, p, topic, keys, values)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(e.Addrs()...))
	if err != nil {
		t.Fatalf("cannot create the admin client: %s", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		offs, err := adm.ListStartOffsets(ctx, topic)
		if err == nil {
			if o, ok := offs.Lookup(topic, 0); ok && o.Err == nil && o.Offset > 0 {
				return // old batches are gone
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("the log start offset did not move past 0: retention does not run (last error %v)", err)
		}
	}
}
