package bench

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"intake.dev/intake/kafkaout"
	"intake.dev/intake/spool"
)

// BenchmarkSpool is fire-and-forget with --spool-dir (issue 14), on the processed event (the
// record the edge hands to kafkaout, as in Ring and Produce):
//
//   - hasty/up/discard and hasty/up/kfake: TryProduce with a spool configured and Kafka up (the
//     null producer; franz-go to the broker in its child process), measured until the producer is
//     empty: the baseline of the spooling lines, in the same run.
//   - hasty/down/interval and hasty/down/always: TryProduce while Kafka is down (the broker's
//     address refuses connections and the producer reports Kafka down), so every record is
//     appended to the spool; --spool-fsync 1s and always.
//   - replay/kfake: a spool of replayBatch records (written ahead with package spool, outside the
//     measurement) drained into the broker in its child process, from kafkaout.New until the spool
//     holds no unacknowledged record.
//
// Hasty lines run a crew of hastyWorkers goroutines, hastyPerRound TryProduce each per round: many
// requests in flight, as on a busy edge, so that `always` can group its fsyncs as it does there.
func BenchmarkSpool(b *testing.B) { runCases(b, spoolCases()) }

const (
	hastyWorkers  = 8
	hastyPerRound = 16
	replayBatch   = 20000
)

func spoolCases() []benchCase {
	e := revisionCreate
	hasty := func(b *testing.B, p *kafkaout.Producer, rec produced) {
		var errs firstError
		c := newCrew(b, hastyWorkers, func(int) {
			for range hastyPerRound {
				if err := p.TryProduce(rec.topic, rec.key, rec.value, time.Time{}, nil, 0); err != nil {
					errs.set(err)
					return
				}
			}
		})
		warm(b, 50, 100*time.Millisecond, c.round)
		errs.check(b)
		waitDrained(b, p)
		b.ReportAllocs()
		b.SetBytes(int64(len(rec.value) * hastyWorkers * hastyPerRound))
		m := startMeter(0)
		n := 0
		for b.Loop() {
			c.round()
			n++
		}
		waitDrained(b, p)
		m.report(b, n*hastyWorkers*hastyPerRound)
		errs.check(b)
	}
	return []benchCase{
		{name: e.name + "/hasty/up/discard", fn: func(b *testing.B) {
			rec := e.record(b)
			hasty(b, spoolProducer(b, "", b.TempDir(), ""), rec)
		}},
		{name: e.name + "/hasty/up/kfake", fn: func(b *testing.B) {
			rec := e.record(b)
			br := kfakeBroker(b)
			hasty(b, spoolProducer(b, br.addr, b.TempDir(), ""), rec)
		}},
		{name: e.name + "/hasty/down/interval", fn: func(b *testing.B) {
			rec := e.record(b)
			hasty(b, downProducer(b, rec, "1s"), rec)
		}},
		{name: e.name + "/hasty/down/always", fn: func(b *testing.B) {
			rec := e.record(b)
			hasty(b, downProducer(b, rec, "always"), rec)
		}},
		{name: e.name + "/replay/kfake", fn: func(b *testing.B) {
			rec := e.record(b)
			br := kfakeBroker(b)
			b.ReportAllocs()
			b.SetBytes(int64(len(rec.value) * replayBatch))
			var m *meter
			n := 0
			for b.Loop() {
				b.StopTimer()
				dir := b.TempDir()
				fillSpool(b, dir, rec, replayBatch)
				b.StartTimer()
				if m == nil {
					m = startMeter(br.pid)
				} else {
					m.start()
				}
				p := spoolProducer(b, br.addr, dir, "")
				waitReplayed(b, p)
				m.stop()
				b.StopTimer()
				closeProducer(b, p)
				b.StartTimer()
				n++
			}
			m.report(b, n*replayBatch)
		}},
	}
}

// spoolProducer is a producer with the service's defaults and a spool in dir (fsync: "" = 1s):
// Discard when broker is "". The benchmark closes it (closeProducer) or its cleanup does.
func spoolProducer(b *testing.B, broker, dir, fsync string) *kafkaout.Producer {
	cfg := kafkaout.DefaultConfig()
	cfg.Logger = quietLogger
	if broker == "" {
		cfg.Discard = true
	} else {
		cfg.Brokers = []string{broker}
	}
	cfg.SpoolDir = dir
	if fsync != "" {
		cfg.SpoolSync = fsync
	}
	cfg.DeliveryTimeout = time.Second
	p, err := kafkaout.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { closeProducer(b, p) })
	return p
}

func closeProducer(b *testing.B, p *kafkaout.Producer) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil && !errors.Is(err, kafkaout.ErrClosed) {
		b.Errorf("producer close: %s", err)
	}
}

// downProducer is a spooling producer whose broker refuses connections, once it reports Kafka
// down (a sync record failed): from then on every fire-and-forget record goes to the spool.
func downProducer(b *testing.B, rec produced, fsync string) *kafkaout.Producer {
	p := spoolProducer(b, refusedAddr(b), b.TempDir(), fsync)
	waitDown(b, p, rec)
	return p
}

// refusedAddr is a loopback address nothing listens on: connections are refused at once.
func refusedAddr(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// waitDown produces a sync record, which fails, and waits until p reports Kafka down.
func waitDown(b *testing.B, p *kafkaout.Producer, rec produced) {
	bt := kafkaout.AcquireBatch()
	defer kafkaout.ReleaseBatch(bt)
	bt.Add(1)
	if err := p.TryProduce(rec.topic, rec.key, rec.value, time.Time{}, bt, 0); err != nil {
		b.Fatal(err)
	}
	if !bt.Wait(time.Minute) || bt.Err(0) == nil {
		b.Fatalf("a sync record to a dead broker did not fail: %v", bt.Err(0))
	}
	deadline := time.Now().Add(30 * time.Second)
	for !p.Down() {
		if time.Now().After(deadline) {
			b.Fatal("the producer did not report Kafka down within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fillSpool appends n copies of the record to a spool in dir, as a producer whose Kafka is down
// would, and closes it.
func fillSpool(b *testing.B, dir string, rec produced, n int) {
	sp, err := spool.Open(dir, spool.Options{MaxBytes: spool.DefaultMaxBytes, Sync: spool.Sync(spool.DefaultSyncInterval)})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for range n {
		if err := sp.Append(rec.topic, rec.key, rec.value, now); err != nil {
			b.Fatal(err)
		}
	}
	if err := sp.Close(); err != nil {
		b.Fatal(err)
	}
}

// waitReplayed waits until Kafka acknowledged every spooled record.
func waitReplayed(b *testing.B, p *kafkaout.Producer) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, _ := p.SpoolStats()
		if st.Records == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d spooled records not replayed after 60s", st.Records)
		}
		time.Sleep(200 * time.Microsecond)
	}
}
