package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"intake.dev/intake/canary"
)

// canaryConfig is what intake canary runs with.
type canaryConfig struct {
	Canary    canary.Config
	Interval  time.Duration
	Listen    string
	LogLevel  string
	LogFormat string
}

func canaryOptions() (*options, *canaryConfig) {
	c := &canaryConfig{Canary: canary.DefaultConfig(), Listen: "127.0.0.1:8193", LogLevel: "info", LogFormat: "text"}
	c.Canary.URL = "http://127.0.0.1:8192"
	c.Canary.UserAgent = "intake-canary/" + version
	o := newOptions("canary", "Usage: intake canary [flags]\n\n"+
		"Posts one canary event (meta.domain \"canary\") to each stream with canary_events_enabled, or to\n"+
		"the streams named, built from the first example of the stream's schema, and prints one JSON line\n"+
		"per stream: {\"stream\", \"outcome\", \"status\", \"reason\", \"schema\", \"id\"}. Exit status 0 when\n"+
		"every canary was accepted (201), 1 otherwise, 2 on a usage error. With --interval it runs as a\n"+
		"service: a round every interval, metrics on --listen, until SIGTERM.", "")
	o.add(
		str("url", &c.Canary.URL, "the edge's base URL: canaries are POSTed to URL/v1/events"),
		list("streams", &c.Canary.Streams, "streams to send canaries to (none: every stream with canary_events_enabled)"),
		str("service-name", &c.Canary.ServiceName, "without --streams: only the canary-enabled streams whose destination_event_service is this, as the edge's --service-name (\"\": every one)"),
		dur("interval", &c.Interval, "run as a service, a round of canaries every interval (0: one round, then exit)"),
		str("stream-config", &c.Canary.Cache.StreamConfig, "stream configuration file or URL (\"\": the edge's, URL/v1/streams?all=true)"),
		list("schema-base-uri", &c.Canary.Cache.SchemaBaseURIs, "schema repository base: a directory, file:///dir or http(s)://host/path; tried in order (none: the edge's, URL/v1/schemas)"),
		str("listen", &c.Listen, "with --interval: address of /metrics and /healthz"),
		dur("timeout", &c.Canary.Timeout, "how long one canary's POST may take, answer included"),
		num("concurrency", &c.Canary.Concurrency, "canaries posted at once"),
		dur("config-refresh", &c.Canary.Cache.RefreshInterval, "with --interval: how often the stream config and schemas are reloaded (0 disables)"),
		str("log-level", &c.LogLevel, "debug, info, warn or error"),
		str("log-format", &c.LogFormat, "text or json"),
	)
	return o, c
}

// canaryCmd runs intake canary. A usage or configuration error is returned (exit 2); otherwise the
// exit status of one round is 0 when every canary was accepted (skipped /regex/ streams aside), 1
// otherwise; the service (--interval) exits 0 when a signal stops it.
func canaryCmd(args []string, stdout io.Writer) (int, error) {
	o, c := canaryOptions()
	if err := o.parse(args); err != nil {
		return 2, err
	}
	if o.fs.NArg() > 0 {
		return 2, fmt.Errorf("canary takes no arguments, got %q (streams go in --streams)", o.fs.Args())
	}
	if c.Interval < 0 {
		return 2, fmt.Errorf("cannot use --interval %s: want 0 (one round) or more", c.Interval)
	}
	if c.Canary.Concurrency < 1 {
		return 2, fmt.Errorf("cannot use --concurrency %d: want 1 or more", c.Canary.Concurrency)
	}
	if c.Canary.Timeout <= 0 {
		return 2, fmt.Errorf("cannot use --timeout %s: want more than 0", c.Canary.Timeout)
	}
	if !strings.HasPrefix(c.Canary.URL, "http://") && !strings.HasPrefix(c.Canary.URL, "https://") {
		return 2, fmt.Errorf("cannot use --url %q: want http(s)://host:port", c.Canary.URL)
	}
	log, err := newLogger(c.LogLevel, c.LogFormat)
	if err != nil {
		return 2, err
	}
	c.Canary.Logger = log
	// Without sources of its own, the canary reads what the edge serves: its stream config and the
	// schemas it validates with.
	base := strings.TrimSuffix(c.Canary.URL, "/")
	if c.Canary.Cache.StreamConfig == "" {
		c.Canary.Cache.StreamConfig = base + "/v1/streams?all=true"
	}
	if len(c.Canary.Cache.SchemaBaseURIs) == 0 {
		c.Canary.Cache.SchemaBaseURIs = []string{base + "/v1/schemas"}
	}
	if c.Interval == 0 {
		c.Canary.Cache.RefreshInterval = 0
	}
	p, err := canary.New(c.Canary)
	if err != nil {
		return 2, o.flagError(err, &c.Canary.Cache)
	}
	defer p.Close()

	if len(c.Canary.Streams) == 0 && len(p.Streams()) == 0 {
		log.Warn("no stream of the stream config has canary_events_enabled: name streams with --streams", "stream_config", c.Canary.Cache.StreamConfig)
	}
	if c.Interval == 0 {
		results := p.Round(context.Background())
		printResults(stdout, results)
		return summarize(log, results), nil
	}

	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return 2, fmt.Errorf("cannot listen (--listen): %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		canary.WritePrometheus(w)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener failed", "listen", c.Listen, "err", err)
		}
	}()
	log.Info("canary service started", "url", c.Canary.URL, "interval", c.Interval, "listen", ln.Addr().String())

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	last := map[string]canary.Result{}
	p.Run(ctx, c.Interval, func(results []canary.Result) {
		if results == nil {
			return // a round cut short by the signal
		}
		summarize(log, results)
		logChanges(log, last, results)
	})
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	log.Info("canary service stopped")
	return 0, nil // a service stopped by a signal; its failures are in its metrics and log
}

// printResults writes one JSON line per stream.
func printResults(w io.Writer, results []canary.Result) {
	enc := json.NewEncoder(w)
	for i := range results {
		enc.Encode(&results[i])
	}
}

// summarize logs a round's counts by outcome and returns its exit status.
func summarize(log *slog.Logger, results []canary.Result) int {
	byOutcome := map[canary.Outcome]int{}
	failed := 0
	for i := range results {
		byOutcome[results[i].Outcome]++
		if results[i].Failed() {
			failed++
		}
	}
	var parts []string
	for o, n := range byOutcome {
		parts = append(parts, fmt.Sprintf("%s=%d", o, n))
	}
	sort.Strings(parts)
	level := slog.LevelInfo
	if failed > 0 {
		level = slog.LevelWarn
	}
	log.Log(context.Background(), level, "canary round", "streams", len(results), "failed", failed, "outcomes", strings.Join(parts, " "))
	if failed > 0 {
		return 1
	}
	return 0
}

// logChanges logs each stream whose canary fails, once when it starts failing (or fails for
// another reason), and once when it recovers: a failing stream does not log every round; the
// round's summary and intake_canary_failures_total keep counting it.
func logChanges(log *slog.Logger, last map[string]canary.Result, results []canary.Result) {
	for _, r := range results {
		prev, seen := last[r.Stream]
		switch {
		case r.Failed() && (!seen || prev.Outcome != r.Outcome || prev.Reason != r.Reason):
			log.Warn("canary failed", "stream", r.Stream, "outcome", string(r.Outcome), "status", r.Status, "reason", r.Reason)
		case !r.Failed() && seen && prev.Failed():
			log.Info("canary recovered", "stream", r.Stream, "outcome", string(r.Outcome))
		}
		last[r.Stream] = r
	}
}
