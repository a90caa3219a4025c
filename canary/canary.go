package canary

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fastjson"

	"intake.dev/intake/fastpath"
	"intake.dev/intake/schemacache"
)

// Outcome is what became of one stream's canary.
type Outcome string

const (
	// OK: the edge answered 201, Kafka has the canary.
	OK Outcome = "ok"
	// Refused: the edge answered 4xx (403 a stream this edge may not produce to, 400 an event it
	// found invalid); Result.Reason is the edge's reason.
	Refused Outcome = "refused"
	// Unavailable: the edge answered 429 or 5xx (a full queue, Kafka down): trying later may work.
	Unavailable Outcome = "unavailable"
	// PostFailed: no answer (connection refused, timeout) or one the canary does not expect.
	PostFailed Outcome = "post_failed"
	// NoSchema: the stream's schema_title has no latest version in the schema repositories.
	NoSchema Outcome = "no_schema"
	// NoExample: the schema has no examples, or its first is not an object.
	NoExample Outcome = "no_example"
	// ExampleInvalid: the canary made from the example fails the edge's checks (run here, before
	// posting); nothing is posted.
	ExampleInvalid Outcome = "example_invalid"
	// UnknownStream: a name given in Config.Streams that the stream config does not configure.
	UnknownStream Outcome = "unknown_stream"
	// Skipped: a /regex/ stream: it names no one stream, so there is no meta.stream to give a
	// canary. Not a failure.
	Skipped Outcome = "skipped"
)

// Result is one stream's canary in one round.
type Result struct {
	Stream  string  `json:"stream"`
	Outcome Outcome `json:"outcome"`
	Status  int     `json:"status,omitempty"` // the edge's HTTP status; 0 when nothing was posted
	Reason  string  `json:"reason,omitempty"` // why it is not OK
	Schema  string  `json:"schema,omitempty"` // the canary's $schema
	ID      string  `json:"id,omitempty"`     // the canary's meta.id
	// Time is when the result came (the edge's answer, or the check that stopped it).
	Time time.Time `json:"-"`
}

// Failed reports whether r counts as a failure: not OK and not Skipped.
func (r *Result) Failed() bool { return r.Outcome != OK && r.Outcome != Skipped }

// Config is what a Prober runs with.
type Config struct {
	// URL is the edge's base URL (http://host:port); canaries go to URL + "/v1/events".
	URL string
	// Streams are the streams to send canaries to; none: every stream with canary_events_enabled
	// (and, with ServiceName, destination_event_service ServiceName).
	Streams []string
	// ServiceName keeps, of the canary-enabled streams, those whose destination_event_service
	// it is: the streams the edge at URL serves when it runs with this --service-name. "": all.
	ServiceName string
	// Cache loads the stream config and the schemas, as the edge's does.
	Cache schemacache.Config
	// Timeout bounds one POST, answer included.
	Timeout time.Duration
	// Concurrency is how many canaries are posted at once.
	Concurrency int
	// Client posts the canaries; nil: a plain http.Client.
	Client *http.Client
	// UserAgent is sent with each POST.
	UserAgent string
	Logger    *slog.Logger
}

// DefaultConfig returns the defaults spelled out; URL and the sources are the caller's.
func DefaultConfig() Config {
	cc := schemacache.DefaultConfig()
	return Config{Cache: cc, Timeout: 10 * time.Second, Concurrency: 4, UserAgent: "intake-canary"}
}

// schemaVersion is the version a canary's schema is loaded at: the newest, as producers are
// expected to use.
const schemaVersion = "latest"

// Domain is the meta.domain of every canary event.
const Domain = "canary"

// Prober builds and posts canaries.
type Prober struct {
	cfg       Config
	cache     *schemacache.Cache
	client    *http.Client
	eventsURL string
	opts      fastpath.Options
	log       *slog.Logger
}

// New loads the stream config and returns a Prober; the error names the Config field (a
// *schemacache.ConfigError for the cache's).
func New(cfg Config) (*Prober, error) {
	if cfg.URL == "" {
		return nil, errors.New("no edge URL")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultConfig().Timeout
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Cache.Logger == nil {
		cfg.Cache.Logger = cfg.Logger
	}
	cache, err := schemacache.New(cfg.Cache)
	if err != nil {
		return nil, err
	}
	p := &Prober{
		cfg:       cfg,
		cache:     cache,
		client:    cfg.Client,
		eventsURL: strings.TrimSuffix(cfg.URL, "/") + "/v1/events",
		opts:      fastpath.DefaultOptions(),
		log:       cfg.Logger,
	}
	if p.client == nil {
		p.client = &http.Client{}
	}
	return p, nil
}

// Close stops the cache's refresher.
func (p *Prober) Close() { p.cache.Close() }

// Run posts a round of canaries at once and then every interval, handing each round's results
// to report, until ctx is done. The stream config and schemas are reloaded in the background
// every Cache.RefreshInterval.
func (p *Prober) Run(ctx context.Context, interval time.Duration, report func([]Result)) {
	p.cache.Start()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		report(p.Round(ctx))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// target is one stream of a round: its stream, or the result that stops it before any work.
type target struct {
	name   string
	stream *fastpath.Stream
	stop   *Result
}

// Round sends one canary to every stream of the round and returns their results, sorted by
// stream name; each is counted in the metrics. A round whose ctx is done before it ends returns
// nil and counts nothing.
func (p *Prober) Round(ctx context.Context) []Result {
	snap := p.cache.Current()
	targets := p.targets(snap)
	results := make([]Result, len(targets))
	sem := make(chan struct{}, p.cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range targets {
		if targets[i].stop != nil {
			results[i] = *targets[i].stop
			results[i].Time = time.Now()
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			results[i] = p.probe(ctx, snap, targets[i].stream)
		}(i)
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil // cut short (a signal): the posts it cancelled say nothing about the streams
	}
	sort.SliceStable(results, func(i, j int) bool { return results[i].Stream < results[j].Stream })
	for i := range results {
		count(&results[i])
	}
	return results
}

// targets are the streams of a round: the ones named, else every canary-enabled one.
func (p *Prober) targets(snap *schemacache.Snapshot) []target {
	var ts []target
	if len(p.cfg.Streams) == 0 {
		for _, st := range snap.Streams() {
			if !canaryEnabled(st.Config) || (p.cfg.ServiceName != "" && st.DestinationService != p.cfg.ServiceName) {
				continue
			}
			if isRegex(st.Name) {
				ts = append(ts, target{name: st.Name, stop: skipped(st.Name)})
				continue
			}
			ts = append(ts, target{name: st.Name, stream: st})
		}
		return ts
	}
	for _, name := range p.cfg.Streams {
		switch st := snap.Stream([]byte(name)); {
		case isRegex(name):
			ts = append(ts, target{name: name, stop: skipped(name)})
		case st == nil:
			ts = append(ts, target{name: name, stop: &Result{Stream: name, Outcome: UnknownStream,
				Reason: "the stream config configures no stream of this name"}})
		default:
			ts = append(ts, target{name: name, stream: st})
		}
	}
	return ts
}

func skipped(name string) *Result {
	return &Result{Stream: name, Outcome: Skipped,
		Reason: "a /regex/ stream names no one stream: name a stream it matches (--streams) to send it a canary"}
}

func isRegex(name string) bool { return len(name) >= 2 && name[0] == '/' && name[len(name)-1] == '/' }

func canaryEnabled(config []byte) bool {
	v, err := fastjson.ParseBytes(config)
	return err == nil && v.GetBool("canary_events_enabled")
}

// probe builds, checks and posts one stream's canary.
func (p *Prober) probe(ctx context.Context, snap *schemacache.Snapshot, st *fastpath.Stream) Result {
	now := time.Now()
	res := Result{Stream: st.Name}
	body, err := p.Build(st, now, &res)
	if err != nil {
		res.Reason = err.Error()
		res.Time = time.Now()
		return res
	}
	if r := p.check(snap, body, now); r != "" {
		res.Outcome, res.Reason, res.Time = ExampleInvalid, r, time.Now()
		return res
	}
	p.post(ctx, body, &res)
	res.Time = time.Now()
	return res
}

// Build makes st's canary event: the first example of its schema_title's latest schema, with
// $schema the schema's $id, meta.stream the stream, meta.domain "canary", a fresh meta.id (UUID
// v4), meta.dt now, and dt now where the schema declares dt. On an error res.Outcome says which
// kind (NoSchema, NoExample); res.Schema and res.ID are set once known.
func (p *Prober) Build(st *fastpath.Stream, now time.Time, res *Result) ([]byte, error) {
	uri := "/" + strings.Trim(st.SchemaTitle, "/") + "/" + schemaVersion
	if st.SchemaTitle == "" {
		res.Outcome = NoSchema
		return nil, errors.New("the stream has no schema_title")
	}
	sch, err := p.cache.LoadSchema(uri)
	if err != nil {
		res.Outcome = NoSchema
		return nil, err // it names the URI and where it was looked for
	}
	id := sch.ID
	if id == "" {
		id = sch.URI
	}
	res.Schema = id
	var parser fastjson.Parser
	root, err := parser.ParseBytes(sch.Doc)
	if err != nil {
		res.Outcome = NoSchema
		return nil, fmt.Errorf("cannot parse schema %q: %w", uri, err)
	}
	examples := root.GetArray("examples")
	if len(examples) == 0 {
		res.Outcome = NoExample
		return nil, fmt.Errorf("schema %s has no examples", id)
	}
	ev, err := examples[0].Object()
	if err != nil {
		res.Outcome = NoExample
		return nil, fmt.Errorf("the first example of schema %s is a JSON %s, not an object", id, examples[0].Type())
	}
	var a fastjson.Arena
	ts := now.UTC().Format("2006-01-02T15:04:05.000Z")
	res.ID = newUUID()
	ev.Set("$schema", a.NewString(id))
	if root.Get("properties", "dt") != nil {
		ev.Set("dt", a.NewString(ts))
	}
	meta := ev.Get("meta")
	if meta == nil || meta.Type() != fastjson.TypeObject {
		meta = a.NewObject()
		ev.Set("meta", meta)
	}
	mo, _ := meta.Object()
	mo.Set("stream", a.NewString(st.Name))
	mo.Set("domain", a.NewString(Domain))
	mo.Set("id", a.NewString(res.ID))
	mo.Set("dt", a.NewString(ts))
	return fastpath.AppendJSON(nil, examples[0]), nil
}

// check runs the edge's contract on body (a copy: Process fills defaults in), as intake validate
// does, and returns why it fails, or "".
func (p *Prober) check(snap *schemacache.Snapshot, body []byte, now time.Time) string {
	var parser fastjson.Parser
	ev, err := parser.ParseBytes(body)
	if err != nil {
		return "BUG: the canary is not JSON: " + err.Error()
	}
	req := fastpath.AcquireRequest()
	defer fastpath.ReleaseRequest(req)
	req.Start(now, nil, nil)
	var r fastpath.Result
	fastpath.Process(snap, &p.opts, ev, req, &r)
	if r.Outcome == fastpath.Accepted {
		return ""
	}
	return r.ErrorType + ": " + r.Errors.Text()
}

// maxAnswer is how much of an answer is read for its reason.
const maxAnswer = 64 << 10

// post sends the canary and sets res from the answer.
func (p *Prober) post(ctx context.Context, body []byte, res *Result) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.eventsURL, bytes.NewReader(body))
	if err != nil {
		res.Outcome, res.Reason = PostFailed, err.Error()
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", p.cfg.UserAgent)
	resp, err := p.client.Do(req)
	if err != nil {
		res.Outcome, res.Reason = PostFailed, err.Error()
		return
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	res.Status = resp.StatusCode
	switch c := resp.StatusCode; {
	case c == http.StatusCreated:
		res.Outcome = OK
	case c == http.StatusTooManyRequests || c >= 500:
		res.Outcome, res.Reason = Unavailable, reasonOf(answer)
	case c >= 400:
		res.Outcome, res.Reason = Refused, reasonOf(answer)
	default:
		res.Outcome, res.Reason = PostFailed, fmt.Sprintf("unexpected answer %d to a sync POST: %s", c, reasonOf(answer))
	}
}

// reasonOf is an edge answer's reason: the first failed event's errorsText or message (EventGate's
// {"invalid": [...], "error": [...]}), a request-level message, else the body itself, cut short.
func reasonOf(answer []byte) string {
	var a struct {
		Message string `json:"message"`
		Invalid []entry
		Error   []entry
	}
	if json.Unmarshal(answer, &a) == nil {
		for _, list := range [][]entry{a.Invalid, a.Error} {
			for _, e := range list {
				if s := e.text(); s != "" {
					return s
				}
			}
		}
		if a.Message != "" {
			return a.Message
		}
	}
	s := strings.TrimSpace(string(answer))
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

type entry struct {
	Status  string `json:"status"`
	Context struct {
		ErrorsText string `json:"errorsText"`
		Message    string `json:"message"`
	} `json:"context"`
}

func (e entry) text() string {
	switch {
	case e.Context.ErrorsText != "":
		return e.Status + ": " + e.Context.ErrorsText
	case e.Context.Message != "":
		return e.Status + ": " + e.Context.Message
	}
	return e.Status
}

// newUUID is a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("BUG: crypto/rand: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// Streams are the names of the streams a round sends canaries to now (skipped ones included).
func (p *Prober) Streams() []string {
	ts := p.targets(p.cache.Current())
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.name
	}
	return names
}

// Stream is the stream of this name in the current stream config (a /regex/ stream's match
// included), nil when none.
func (p *Prober) Stream(name string) *fastpath.Stream {
	return p.cache.Current().Stream([]byte(name))
}
