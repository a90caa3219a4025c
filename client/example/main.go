package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"intake.dev/intake/client"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8192", "the intake edge")
	stream := flag.String("stream", "example.click", "meta.stream of the events")
	schema := flag.String("schema", "/example/click/1.0.0", "$schema of the events")
	n := flag.Int("n", 100, "events to Enqueue")
	dev := flag.Bool("dev", false, "developer mode: every event sent at once with ?debug=true, sampling bypassed")
	spool := flag.String("spool", "", "spool directory: enqueued events survive a crash or an unreachable edge")
	flag.Parse()
	if err := run(*url, *stream, *schema, *n, *dev, *spool); err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
}

func run(url, stream, schema string, n int, dev bool, spool string) error {
	var accepted, notAccepted atomic.Int64
	opts := []client.Option{
		client.WithDeveloperMode(dev),
		client.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))),
		client.WithOnResult(func(r client.Result) {
			if r.OK() {
				accepted.Add(1)
			}
		}),
		client.WithOnError(func(r client.Result) {
			if notAccepted.Add(1) <= 5 {
				fmt.Printf("enqueued event %s: %s: %v\n", r.ID, r.Status, r.Err)
			}
		}),
	}
	if spool != "" {
		opts = append(opts, client.WithSpool(spool))
	}
	c, err := client.New(url, opts...)
	if err != nil {
		return err
	}
	// Sampling needs the stream config: events wait for it, and are not sent without it. Fetching
	// it here says at once when it cannot be had.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := c.RefreshStreamConfig(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "no stream config yet (events wait for it):", err)
	}
	cancel()

	start := time.Now()
	for i := range n {
		ev := client.NewEvent(stream, schema, map[string]any{
			"page":   map[string]any{"id": i + 1, "title": "Main Page"},
			"button": "save",
		})
		if err := c.Enqueue(ev); err != nil {
			fmt.Printf("Enqueue %d: %v\n", i, err)
			if errors.Is(err, client.ErrClosed) {
				break
			}
		}
	}

	// One acknowledged batch: a valid event and an invalid one ("delete" is not a button).
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	results, err := c.Send(ctx,
		client.NewEvent(stream, schema, map[string]any{"page": map[string]any{"id": 1}, "button": "preview"}),
		client.NewEvent(stream, schema, map[string]any{"page": map[string]any{"id": 2}, "button": "delete"}),
	)
	for _, r := range results {
		fmt.Printf("Send event %d (%s): %s, HTTP %d", r.Index, r.ID, r.Status, r.Code)
		if r.Err != nil {
			fmt.Printf(": %v", r.Err)
		}
		fmt.Println()
	}
	if err != nil {
		fmt.Println("Send:", err)
	}

	if err := c.Close(ctx); err != nil {
		fmt.Println("Close:", err)
	}
	s := c.Stats()
	fmt.Printf("enqueued %d events in %s: %d accepted, %d not\n", n, time.Since(start).Round(time.Millisecond), accepted.Load(), notAccepted.Load())
	fmt.Printf("stats: %+v\n", s)
	return nil
}
