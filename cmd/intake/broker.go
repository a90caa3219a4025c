package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"intake.dev/intake/kafkaout"
)

// broker runs the embedded development broker on its own, for a Kafka outside the edge's process
// (benchmarks: its CPU time is then not the edge's).
func broker(args []string) error {
	o := newOptions("broker", "Usage: intake broker [flags]\n\n"+
		"Runs the in-memory development broker (the one serve starts when --kafka-brokers is empty)\n"+
		"until interrupted. Not for production: it keeps events in memory only.")
	addr := o.String("addr", "127.0.0.1:9092", "address to listen on")
	parts := o.Int("partitions", 1, "partitions of the topics it creates")
	retain := o.Int64("retention-bytes", 64<<20, "bytes kept per partition")
	if err := o.parse(args, ""); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	b, err := kafkaout.StartEmbedded(kafkaout.EmbeddedConfig{Addr: *addr, Partitions: *parts, RetentionBytes: *retain, Logger: log})
	if err != nil {
		return fmt.Errorf("cannot start the broker on %s (--addr): %w", *addr, err)
	}
	log.Info("broker is serving", "addrs", strings.Join(b.Addrs(), ","))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	b.Close()
	return nil
}
