package gen

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// DefaultURL is the edge of `make run`.
const DefaultURL = "http://127.0.0.1:8192/v1/events"

// Bounds that hold even when the command line sets none.
const (
	defaultDuration = 10 * time.Second // neither --duration nor --requests given
	maxDuration     = time.Hour        // --requests given without --duration
	maxConnections  = 10000
	maxBatch        = 100000
)

// Config is one run's settings; every field is a flag (see AddFlags).
type Config struct {
	Scenario string

	URL         string
	AllowRemote bool

	Connections int           // closed loop: concurrent connections; open loop: most requests in flight
	Rate        float64       // requests/s; > 0 selects the open loop
	Burst       int           // open loop: requests sharing one intended send time
	Duration    time.Duration // 0: defaultDuration, or maxDuration when Requests > 0
	Requests    int64         // 0: no count bound (the duration still bounds the run)
	Timeout     time.Duration // per request

	Batch        int
	Hasty        bool
	Gzip         bool
	ContentType  string
	InvalidRatio float64
	UniqueIDs    bool
	Record       string

	Stream       string // meta.stream of the default event
	Schema       string // $schema of the default event
	EventsFile   string
	ExamplesDir  string
	StreamConfig string
	Seed         int64

	JSON  bool
	Quiet bool

	// For tests: dial instead of connecting to the URL's host; observe every finished request.
	dial    func(addr string) (net.Conn, error)
	observe func(o observation)
}

// observation is one finished request, for tests.
type observation struct {
	seq      int64
	intended time.Time // open loop: the scheduled send time; closed loop: the actual one
	sent     time.Time
	done     time.Time
	status   int // 0: transport error or timeout
}

// Defaults returns the settings of a run with no flags.
func Defaults() Config {
	return Config{
		URL:         DefaultURL,
		Connections: 16,
		Burst:       1,
		Timeout:     10 * time.Second,
		Batch:       1,
		ContentType: "application/json",
		Stream:      "example.click",
		Schema:      "/example/click/1.0.0",
		Seed:        1,
	}
}

// AddFlags registers every setting on fs with cfg's current values as defaults, so a scenario's
// preset applied to cfg first is what an absent flag means.
func AddFlags(fs *flag.FlagSet, cfg *Config) {
	fs.StringVar(&cfg.Scenario, "scenario", cfg.Scenario, "named preset of the flags below (--list-scenarios); explicit flags override it")
	fs.StringVar(&cfg.URL, "url", cfg.URL, "the edge's POST /v1/events URL")
	fs.BoolVar(&cfg.AllowRemote, "allow-remote", cfg.AllowRemote, "allow a --url whose host is not a loopback address")
	fs.IntVar(&cfg.Connections, "connections", cfg.Connections, "closed loop: connections, each sending its next request when the last one answered; open loop: most requests in flight")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "open loop: requests/s at fixed intended send times (0: closed loop)")
	fs.IntVar(&cfg.Burst, "burst", cfg.Burst, "open loop: requests sharing one intended send time (bursty arrivals at the same mean --rate)")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long to send (0: 10s, or at most 1h with --requests)")
	fs.Int64Var(&cfg.Requests, "requests", cfg.Requests, "stop after this many requests (0: no count bound)")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "timeout of one request")
	fs.IntVar(&cfg.Batch, "batch", cfg.Batch, "events per request (1 sends a single JSON object, more a JSON array)")
	fs.BoolVar(&cfg.Hasty, "hasty", cfg.Hasty, "send with ?hasty=true (202 at once)")
	fs.BoolVar(&cfg.Gzip, "gzip", cfg.Gzip, "gzip the bodies (Content-Encoding: gzip)")
	fs.StringVar(&cfg.ContentType, "content-type", cfg.ContentType, "Content-Type of the requests (browsers' beacons send text/plain)")
	fs.Float64Var(&cfg.InvalidRatio, "invalid-ratio", cfg.InvalidRatio, "share of events made invalid (a wrong type, an enum value not allowed, a missing required field), 0 to 1")
	fs.BoolVar(&cfg.UniqueIDs, "unique-ids", cfg.UniqueIDs, "give every event sent a fresh meta.id (a UUID v4)")
	fs.StringVar(&cfg.Record, "record", cfg.Record, "write the meta.id of every event the edge acknowledged to this file, one per line (implies --unique-ids)")
	fs.StringVar(&cfg.Stream, "stream", cfg.Stream, "meta.stream of the default event (not of --events or --examples)")
	fs.StringVar(&cfg.Schema, "schema", cfg.Schema, "$schema of the default event (not of --events or --examples)")
	fs.StringVar(&cfg.EventsFile, "events", cfg.EventsFile, "file of events to send instead of the default click event (a JSON object, an array, or one object per line)")
	fs.StringVar(&cfg.ExamplesDir, "examples", cfg.ExamplesDir, "directory of real example events, <title>/<version>.json arrays (e.g. ../shared/data/examples)")
	fs.StringVar(&cfg.StreamConfig, "stream-config", cfg.StreamConfig, "with --examples: stream config whose streams the examples are sent to (meta.stream rewritten by schema_title)")
	fs.Int64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the body mix (which events, which are invalid)")
	fs.BoolVar(&cfg.JSON, "json", cfg.JSON, "print the report as one JSON object on stdout (the text report goes to stderr)")
	fs.BoolVar(&cfg.Quiet, "quiet", cfg.Quiet, "no progress line")
}

// ParseArgs parses a command line: the --scenario preset first, then every flag given explicitly
// on top of it. listScenarios reports --list-scenarios.
func ParseArgs(fs *flag.FlagSet, args []string) (cfg Config, listScenarios bool, err error) {
	// First pass: only to learn the scenario; all flags are known so none is an error.
	probe := Defaults()
	pfs := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	pfs.SetOutput(discard{})
	AddFlags(pfs, &probe)
	pfs.Bool("list-scenarios", false, "")
	if err := pfs.Parse(args); err != nil && !errors.Is(err, flag.ErrHelp) {
		// Let the real pass report it with usage.
		probe.Scenario = ""
	}

	cfg = Defaults()
	if probe.Scenario != "" {
		sc, ok := ScenarioByName(probe.Scenario)
		if !ok {
			return cfg, false, fmt.Errorf("unknown --scenario %q; --list-scenarios lists them", probe.Scenario)
		}
		sc.Apply(&cfg)
	}
	AddFlags(fs, &cfg)
	list := fs.Bool("list-scenarios", false, "print the scenarios with their settings and exit")
	if err := fs.Parse(args); err != nil {
		return cfg, false, err
	}
	if fs.NArg() > 0 {
		return cfg, false, fmt.Errorf("unexpected argument %q: every setting is a flag", fs.Arg(0))
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	if explicit["requests"] && !explicit["duration"] {
		cfg.Duration = 0 // the count bounds the run; Check caps it at maxDuration
	}
	return cfg, *list, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// ErrRemote is returned by Check for a --url whose host is not loopback without --allow-remote.
var ErrRemote = errors.New("refusing a non-loopback --url")

// Check validates cfg and fills in derived settings (the duration bound, --record's unique ids).
func (cfg *Config) Check() error {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return fmt.Errorf("cannot parse --url %q: %w", cfg.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("--url %q: the scheme must be http or https", cfg.URL)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("--url %q has no host", cfg.URL)
	}
	if !cfg.AllowRemote && !IsLoopback(u.Hostname()) {
		return fmt.Errorf("%w %q: only 127.0.0.0/8, ::1 and localhost are targeted unless --allow-remote is given", ErrRemote, cfg.URL)
	}
	switch {
	case cfg.Connections < 1 || cfg.Connections > maxConnections:
		return fmt.Errorf("--connections must be in 1..%d, not %d", maxConnections, cfg.Connections)
	case cfg.Rate < 0:
		return fmt.Errorf("--rate must not be negative")
	case cfg.Burst < 1:
		return fmt.Errorf("--burst must be at least 1")
	case cfg.Duration < 0:
		return fmt.Errorf("--duration must not be negative")
	case cfg.Requests < 0:
		return fmt.Errorf("--requests must not be negative")
	case cfg.Timeout <= 0:
		return fmt.Errorf("--timeout must be positive")
	case cfg.Batch < 1 || cfg.Batch > maxBatch:
		return fmt.Errorf("--batch must be in 1..%d, not %d", maxBatch, cfg.Batch)
	case cfg.InvalidRatio < 0 || cfg.InvalidRatio > 1:
		return fmt.Errorf("--invalid-ratio must be in 0..1, not %g", cfg.InvalidRatio)
	case cfg.StreamConfig != "" && cfg.ExamplesDir == "":
		return fmt.Errorf("--stream-config needs --examples")
	case cfg.EventsFile != "" && cfg.ExamplesDir != "":
		return fmt.Errorf("--events and --examples are two sources of events: give one")
	}
	if cfg.Duration == 0 {
		cfg.Duration = defaultDuration
		if cfg.Requests > 0 {
			cfg.Duration = maxDuration
		}
	}
	if cfg.Record != "" {
		cfg.UniqueIDs = true
	}
	return nil
}

// IsLoopback reports whether host (a name or an IP, without port or brackets) is loopback:
// 127.0.0.0/8, ::1 or localhost.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Mode is "open" with a rate, "closed" without.
func (cfg *Config) Mode() string {
	if cfg.Rate > 0 {
		return "open"
	}
	return "closed"
}
