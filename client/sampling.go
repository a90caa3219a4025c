package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// InSample reports whether the unit with this id is in a sample of the given rate, by Wikimedia
// Metrics Platform's rule (shared with the browser client, client/testdata/sampling-vectors.json):
// a rate of 1 or more is in, 0 or less (or NaN) out; otherwise the first 8 characters of id must be
// hex digits, and their value divided by 0xFFFFFFFF must be below the rate. Anything else is out.
func InSample(id string, rate float64) bool {
	if rate >= 1 {
		return true
	}
	if !(rate > 0) || len(id) < 8 {
		return false
	}
	var v uint32
	for i := 0; i < 8; i++ {
		c := id[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return false
		}
		v = v<<4 | uint32(d)
	}
	return float64(v)/0xFFFFFFFF < rate
}

// streamSample is one configured stream's sampling setting.
type streamSample struct {
	name string // as configured: a literal name or a /regex/
	has  bool   // the stream has a sample setting
	rate float64
	unit string
	err  *SampleConfigError // the setting is there and cannot be read: events are not sent
}

type regexSample struct {
	re *regexp.Regexp
	s  *streamSample // nil: the settings are not an object, so the stream is not configured
}

// streamConfig is one fetched GET /v1/streams, immutable once built but for its lookup cache.
type streamConfig struct {
	etag    string
	exact   map[string]*streamSample // a nil value: settings that are not an object (null, ...)
	regexes []regexSample            // config order: the first match wins, as on the edge

	resolved  sync.Map // event stream name -> *streamSample (nil: not configured), for regexes
	nResolved atomic.Int32
}

// maxResolved bounds the names a config remembers it matched against its regexes.
const maxResolved = 10000

// lookup returns the stream's setting, nil when the stream is not configured (or its settings are
// not an object). Exact names first, then /regex/ names in config order.
func (sc *streamConfig) lookup(name string) *streamSample {
	if s, ok := sc.exact[name]; ok {
		return s
	}
	if len(sc.regexes) == 0 {
		return nil
	}
	if v, ok := sc.resolved.Load(name); ok {
		return v.(*streamSample)
	}
	var found *streamSample
	for _, r := range sc.regexes {
		if r.re.MatchString(name) {
			found = r.s
			break
		}
	}
	if sc.nResolved.Add(1) <= maxResolved {
		sc.resolved.Store(name, found)
	}
	return found
}

// parseStreamConfig reads a GET /v1/streams body ({"streams": {name: {..., "sample": {"rate":
// r, "unit": u}}}), keeping the config's order for /regex/ names.
func parseStreamConfig(body []byte, etag string) (*streamConfig, error) {
	var doc struct {
		Streams json.RawMessage `json:"streams"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("cannot parse the stream config: %w", err)
	}
	sc := &streamConfig{etag: etag, exact: map[string]*streamSample{}}
	if len(doc.Streams) == 0 || string(doc.Streams) == "null" {
		return sc, nil
	}
	dec := json.NewDecoder(bytes.NewReader(doc.Streams))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("cannot parse the stream config: \"streams\" is not an object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("cannot parse the stream config: %w", err)
		}
		name := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("cannot parse the stream config of %q: %w", name, err)
		}
		// Settings that are not an object (null, as Metrics Platform's clients read it) leave
		// the stream unconfigured. Keys are matched exactly, as in JavaScript: a map, not a
		// struct (encoding/json matches struct fields without regard to case).
		var s *streamSample
		var settings map[string]json.RawMessage
		if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) > 0 && t[0] == '{' && json.Unmarshal(raw, &settings) == nil {
			s = &streamSample{name: name}
			s.readSample(settings["sample"])
		}
		if len(name) >= 2 && name[0] == '/' && name[len(name)-1] == '/' {
			re, err := regexp.Compile(name[1 : len(name)-1])
			if err != nil {
				continue // the edge skips a pattern Go cannot compile too
			}
			sc.regexes = append(sc.regexes, regexSample{re: re, s: s})
			continue
		}
		sc.exact[name] = s
	}
	return sc, nil
}

// readSample reads a stream's "sample" member (nil: absent).
func (s *streamSample) readSample(raw json.RawMessage) {
	if len(raw) == 0 || string(raw) == "null" {
		return
	}
	s.has = true
	bad := func(format string, args ...any) {
		s.err = &SampleConfigError{Stream: s.name, Reason: fmt.Sprintf(format, args...)}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		bad("sample is not an object: %s", truncate(string(raw), 64))
		return
	}
	rateRaw := m["rate"]
	rate, err := strconv.ParseFloat(string(rateRaw), 64)
	if len(rateRaw) == 0 || err != nil || rateRaw[0] == '"' || !(rate >= 0 && rate <= 1) {
		bad("sample.rate %s is not a number in [0, 1]", orMissing(rateRaw))
		return
	}
	var unit string
	if json.Unmarshal(m["unit"], &unit) != nil || (unit != "session" && unit != "pageview" && unit != "device") {
		bad("sample.unit %s is not \"session\", \"pageview\" or \"device\"", orMissing(m["unit"]))
		return
	}
	s.rate, s.unit = rate, unit
}

func orMissing(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "(missing)"
	}
	return truncate(string(raw), 64)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// sampleVerdict is the sampling rule's decision on one event (the "decisions" of
// testdata/sampling-vectors.json, which the browser client shares).
type sampleVerdict uint8

const (
	sampleSend         sampleVerdict = iota // send it
	sampleOut                               // out of its stream's sample: not sent
	sampleInvalid                           // its stream's sample setting is invalid: not sent
	sampleUnconfigured                      // its stream is not in the stream configuration: not sent
	sampleNoConfig                          // no stream configuration yet: the event waits for it
)

// decide is the sampling rule on one event of stream with unit ids u, by the stream configuration
// sc (nil: not loaded yet), as Wikimedia's Metrics Platform clients decide: a stream the
// configuration does not list is not sent; one without a sample setting is; an invalid setting
// sends nothing; else InSample on the unit's id. Developer mode sends what is out of sample, and
// nothing else that would not be sent.
func (sc *streamConfig) decide(stream string, u *Units, dev bool) (sampleVerdict, error) {
	if sc == nil {
		return sampleNoConfig, nil
	}
	s := sc.lookup(stream)
	switch {
	case s == nil:
		return sampleUnconfigured, &StreamNotConfiguredError{Stream: stream}
	case !s.has:
		return sampleSend, nil
	case s.err != nil:
		return sampleInvalid, s.err
	case dev || InSample(u.id(s.unit), s.rate):
		return sampleSend, nil
	}
	return sampleOut, nil
}

// sample decides on an event of stream now, by the configuration loaded; sampleNoConfig when there
// is none yet. Without one and with WithStreamConfigRefresh(-1) (the client fetches none by
// itself), every event is sent. units are the event's own ids (a UnitEvent's), nil for others.
func (c *Client) sample(stream string, units *Units) (sampleVerdict, error) {
	sc := c.streams.Load()
	if sc == nil && c.cfg.streamsRefresh < 0 {
		return sampleSend, nil
	}
	return sc.decide(stream, c.unitsOf(units), c.cfg.devMode)
}

// unitsOf returns the unit ids of an event: its own (a UnitEvent's, when not empty), else the
// client's at this moment.
func (c *Client) unitsOf(ev *Units) *Units {
	u := c.units.Load() // never modified: SetUnits swaps it
	if ev == nil || *ev == (Units{}) {
		return u
	}
	m := u.with(*ev)
	return &m
}

// with is u with the ids that o sets (non-empty) in their place.
func (u Units) with(o Units) Units {
	if o.Session != "" {
		u.Session = o.Session
	}
	if o.Pageview != "" {
		u.Pageview = o.Pageview
	}
	if o.Device != "" {
		u.Device = o.Device
	}
	return u
}

// awaitStreams returns the stream configuration, fetching it when none is loaded yet: attempts
// with backoff within WithRetry's bounds and ctx, as a batch's delivery; an answer no attempt
// would change (a 4xx but 408 and 429: an edge without GET /v1/streams) ends them at once. The
// error wraps ErrNoStreamConfig and the last fetch's error.
func (c *Client) awaitStreams(ctx context.Context) (*streamConfig, error) {
	start := time.Now()
	for attempt := 1; ; attempt++ {
		if sc := c.streams.Load(); sc != nil {
			return sc, nil
		}
		err := c.fetchStreams(ctx, true)
		if err == nil {
			continue
		}
		wait := c.backoff(attempt)
		var he *HTTPError
		final := errors.As(err, &he) && he.Code < 500 && he.Code != http.StatusRequestTimeout && he.Code != http.StatusTooManyRequests
		if final || ctx.Err() != nil || attempt >= c.cfg.maxAttempts ||
			c.cfg.maxElapsed > 0 && time.Since(start)+wait > c.cfg.maxElapsed {
			return nil, fmt.Errorf("%w: %w", ErrNoStreamConfig, err)
		}
		if serr := c.sleep(ctx, wait); serr != nil {
			return nil, fmt.Errorf("%w: %w (last error: %w)", ErrNoStreamConfig, serr, err)
		}
	}
}

// batchStreams is awaitStreams for the sender, on a batch holding events enqueued before the
// configuration was loaded. With a spool those events wait on disk for it: rounds of attempts
// (WithBackoff's max between them) until it comes or Close gives up.
func (c *Client) batchStreams() (*streamConfig, error) {
	for {
		sc, err := c.awaitStreams(c.runCtx)
		if err == nil || c.sp == nil || c.runCtx.Err() != nil {
			return sc, err
		}
		c.logThrottled("spool-streams", "intake client: no stream configuration yet; the spooled events wait for it", "err", err)
		c.sleep(c.runCtx, c.cfg.backoffMax)
	}
}

// SetUnits replaces the client's sampling unit ids (a new pageview, a new session); empty fields
// keep their current id.
func (c *Client) SetUnits(u Units) {
	for {
		old := c.units.Load()
		n := old.with(u)
		if c.units.CompareAndSwap(old, &n) {
			return
		}
	}
}

// Units returns the client's sampling unit ids.
func (c *Client) Units() Units { return *c.units.Load() }

// RefreshStreamConfig fetches the stream configuration now (with the ETag of the last one) and
// uses it for sampling. The client does this by itself in the background (at New, then every
// WithStreamConfigRefresh), and events handed to it before the first one arrives wait for it;
// call it to know at start-up that the configuration can be fetched.
func (c *Client) RefreshStreamConfig(ctx context.Context) error { return c.fetchStreams(ctx, false) }

// fetchStreams is RefreshStreamConfig; with ifMissing, it fetches only when no configuration is
// loaded once it holds fetchMu (another goroutine may have loaded one meanwhile).
func (c *Client) fetchStreams(ctx context.Context, ifMissing bool) error {
	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()
	if ifMissing && c.streams.Load() != nil {
		return nil
	}
	u := c.base + "/v1/streams"
	if len(c.cfg.sampleStreams) > 0 {
		u += "?streams=" + url.QueryEscape(strings.Join(c.cfg.sampleStreams, ","))
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("intake client: cannot fetch the stream config: %w", err)
	}
	if err := c.setHeaders(ctx, req); err != nil {
		return fmt.Errorf("intake client: cannot fetch the stream config: %w", err)
	}
	old := c.streams.Load()
	if old != nil && old.etag != "" {
		req.Header.Set("If-None-Match", old.etag)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("intake client: cannot fetch the stream config: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("intake client: cannot read the stream config from %s: %w", u, err)
	}
	switch resp.StatusCode {
	case http.StatusNotModified:
		if old == nil {
			return fmt.Errorf("intake client: %s answered 304 to a request without If-None-Match", u)
		}
		return nil
	case http.StatusOK:
	default:
		return fmt.Errorf("intake client: cannot fetch the stream config: %w", httpError(resp.StatusCode, body))
	}
	sc, err := parseStreamConfig(body, resp.Header.Get("ETag"))
	if err != nil {
		return fmt.Errorf("intake client: %s: %w", u, err)
	}
	c.streams.Store(sc)
	for _, s := range sc.exact {
		c.logSampleError(s)
	}
	for _, r := range sc.regexes {
		c.logSampleError(r.s)
	}
	return nil
}

func (c *Client) logSampleError(s *streamSample) {
	if s.err != nil {
		c.log.Warn("intake client: a stream's sample setting is invalid; its events are not sent", "stream", s.name, "reason", s.err.Reason)
	}
}

// pollStreams refreshes the stream configuration until Close.
func (c *Client) pollStreams() {
	defer c.wg.Done()
	failing := false
	for {
		err := c.RefreshStreamConfig(c.runCtx)
		switch {
		case err != nil && c.runCtx.Err() != nil:
			return
		case err != nil && !failing:
			failing = true
			c.log.Warn("intake client: cannot refresh the stream config; sampling keeps the last one (or, with none yet, events wait for it)", "err", err)
		case err == nil && failing:
			failing = false
			c.log.Info("intake client: stream config refreshed again")
		}
		wait := c.cfg.streamsRefresh
		var he *HTTPError
		if err != nil && c.streams.Load() == nil && !(errors.As(err, &he) && he.Code < 500) {
			// Not fetched yet, for a reason that may pass soon: try sooner. An edge without
			// the endpoint (404) is asked at the normal pace.
			wait = min(wait, 5*time.Second)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-c.runCtx.Done():
			t.Stop()
			return
		}
	}
}
