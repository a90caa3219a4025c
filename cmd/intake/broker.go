package main

import (
	"errors"
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
	o, cfg := brokerOptions()
	if err := o.parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg.Logger = log
	b, err := kafkaout.StartEmbedded(*cfg)
	if ce := (*kafkaout.ConfigError)(nil); errors.As(err, &ce) {
		return o.flagError(err, cfg)
	} else if err != nil {
		return fmt.Errorf("cannot start the broker on %s (--addr): %w", cfg.Addr, err)
	}
	log.Info("broker is serving", "addrs", strings.Join(b.Addrs(), ","))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	b.Close()
	return nil
}

func brokerOptions() (*options, *kafkaout.EmbeddedConfig) {
	cfg := kafkaout.DefaultEmbeddedConfig()
	o := newOptions("broker", "Usage: intake broker [flags]\n\n"+
		"Runs the in-memory development broker (the one serve starts when --kafka-brokers is empty)\n"+
		"until interrupted. Not for production: it keeps events in memory only.", "")
	o.add(
		str("addr", &cfg.Addr, "address to listen on"),
		num("partitions", &cfg.Partitions, "partitions of the topics it creates (0: the default)"),
		num64("retention-bytes", &cfg.RetentionBytes, "bytes kept per partition (0: the default)"),
	)
	return o, &cfg
}
