package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"intake.dev/intake/kafkaout"
)

// tailConfig is what intake tail runs with. Of Kafka only the brokers and the security settings
// are used: tail reads.
type tailConfig struct {
	Kafka         kafkaout.Config
	FromBeginning bool
	Max           int
	Keys          bool
	Idle          time.Duration
}

func tailOptions() (*options, *tailConfig) {
	c := &tailConfig{Kafka: kafkaout.Config{Brokers: []string{kafkaout.DefaultEmbeddedConfig().Addr}}}
	o := newOptions("tail", "Usage: intake tail [flags] TOPIC\n\n"+
		"Prints a topic's events, one JSON line each, as they arrive. Against the embedded broker of\n"+
		"\"intake serve\" by default, so you can watch events arrive; the --kafka-tls* and --kafka-sasl-*\n"+
		"flags are serve's.", "")
	o.add(
		list("kafka-brokers", &c.Kafka.Brokers, "Kafka seed brokers host:port"),
		boolean("from-beginning", &c.FromBeginning, "start at the oldest event kept, not at the newest"),
		num("max", &c.Max, "stop after this many events (0: run until interrupted)"),
		boolean("keys", &c.Keys, `print {"partition":P,"offset":O,"key":K,"value":EVENT} instead of the event alone`),
		dur("idle-timeout", &c.Idle, "stop when no event arrived for this long (0: wait forever)"),
	)
	o.add(securitySettings(&c.Kafka)...)
	return o, c
}

func tail(args []string) error {
	o, c := tailOptions()
	if err := o.parse(args); err != nil {
		return err
	}
	if o.fs.NArg() != 1 {
		o.fs.Usage()
		return fmt.Errorf("tail needs exactly one TOPIC")
	}
	topic := o.fs.Arg(0)
	reset := kgo.NewOffset().AtEnd()
	if c.FromBeginning {
		reset = kgo.NewOffset().AtStart()
	}
	opts, err := c.Kafka.SecurityOpts()
	if err != nil {
		return o.flagError(err, &c.Kafka)
	}
	opts = append(opts, kgo.SeedBrokers(c.Kafka.Brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(reset), kgo.AllowAutoTopicCreation())
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("cannot create a Kafka client for %v (--kafka-brokers): %w", c.Kafka.Brokers, err)
	}
	defer cl.Close()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	printed := 0
	for {
		fctx, cancel := ctx, context.CancelFunc(func() {})
		if c.Idle > 0 {
			fctx, cancel = context.WithTimeout(ctx, c.Idle)
		}
		fetches := cl.PollFetches(fctx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if fctx.Err() != nil && fetches.NumRecords() == 0 {
			return nil // idle
		}
		for _, fe := range fetches.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) && !errors.Is(fe.Err, context.Canceled) {
				return fmt.Errorf("cannot read %s: %w", topic, fe.Err)
			}
		}
		var stopNow bool
		fetches.EachRecord(func(r *kgo.Record) {
			if stopNow {
				return
			}
			if c.Keys {
				out.Write(appendKeyed(nil, r))
			} else {
				out.Write(r.Value)
			}
			out.WriteByte('\n')
			printed++
			stopNow = c.Max > 0 && printed >= c.Max
		})
		out.Flush()
		if stopNow {
			return nil
		}
	}
}

// appendKeyed renders a record with its partition, offset and key; JSON keys and values are
// embedded as they are, anything else as a JSON string.
func appendKeyed(dst []byte, r *kgo.Record) []byte {
	dst = append(dst, `{"partition":`...)
	dst = strconv.AppendInt(dst, int64(r.Partition), 10)
	dst = append(dst, `,"offset":`...)
	dst = strconv.AppendInt(dst, r.Offset, 10)
	dst = append(dst, `,"timestamp":`...)
	dst = strconv.AppendQuote(dst, r.Timestamp.UTC().Format(time.RFC3339Nano))
	dst = append(dst, `,"key":`...)
	dst = appendJSONOrString(dst, r.Key)
	dst = append(dst, `,"value":`...)
	dst = appendJSONOrString(dst, r.Value)
	return append(dst, '}')
}

func appendJSONOrString(dst, b []byte) []byte {
	switch {
	case b == nil:
		return append(dst, "null"...)
	case json.Valid(b):
		return append(dst, b...)
	}
	s, _ := json.Marshal(string(b))
	return append(dst, s...)
}
