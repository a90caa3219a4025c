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
	s  *streamSample
}

// streamConfig is one fetched GET /v1/streams, immutable once built but for its lookup cache.
type streamConfig struct {
	etag    string
	exact   map[string]*streamSample
	regexes []regexSample // config order: the first match wins, as on the edge

	resolved  sync.Map // event stream name -> *streamSample (nil: not configured), for regexes
	nResolved atomic.Int32
}

// maxResolved bounds the names a config remembers it matched against its regexes.
const maxResolved = 10000

// lookup returns the stream's setting, nil when the stream is not configured. Exact names first,
// then /regex/ names in config order.
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
		var settings struct {
			Sample json.RawMessage `json:"sample"`
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("cannot parse the stream config of %q: %w", name, err)
		}
		s := &streamSample{name: name}
		if json.Unmarshal(raw, &settings) == nil {
			s.readSample(settings.Sample)
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

// sampleVerdict is sampling's decision on one event.
type sampleVerdict uint8

const (
	sampleSend    sampleVerdict = iota // send it (in sample, or nothing says otherwise)
	sampleOut                          // out of the stream's sample
	sampleInvalid                      // the stream's sample setting is invalid: not sent
)

// sample decides whether an event of stream goes out: sent when the config is not fetched yet,
// the stream is not in it or has no sample setting (the edge answers for those); out when its
// setting is invalid; else by InSample on the unit's id (the event's, else the client's).
func (c *Client) sample(stream string, units *Units) (sampleVerdict, *SampleConfigError) {
	if c.cfg.devMode {
		return sampleSend, nil
	}
	sc := c.streams.Load()
	if sc == nil {
		return sampleSend, nil
	}
	s := sc.lookup(stream)
	if s == nil || !s.has {
		return sampleSend, nil
	}
	if s.err != nil {
		return sampleInvalid, s.err
	}
	if s.rate >= 1 {
		return sampleSend, nil
	}
	var id string
	if units != nil {
		id = units.id(s.unit)
	}
	if id == "" {
		id = c.units.Load().id(s.unit)
	}
	if InSample(id, s.rate) {
		return sampleSend, nil
	}
	return sampleOut, nil
}

// SetUnits replaces the client's sampling unit ids (a new pageview, a new session); empty fields
// keep their current id.
func (c *Client) SetUnits(u Units) {
	for {
		old := c.units.Load()
		n := *old
		if u.Session != "" {
			n.Session = u.Session
		}
		if u.Pageview != "" {
			n.Pageview = u.Pageview
		}
		if u.Device != "" {
			n.Device = u.Device
		}
		if c.units.CompareAndSwap(old, &n) {
			return
		}
	}
}

// Units returns the client's sampling unit ids.
func (c *Client) Units() Units { return *c.units.Load() }

// RefreshStreamConfig fetches the stream configuration now (with the ETag of the last one) and
// uses it for sampling. The client does this by itself in the background (at New, then every
// WithStreamConfigRefresh); call it to have the configuration before the first event is sent.
func (c *Client) RefreshStreamConfig(ctx context.Context) error {
	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()
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
			c.log.Warn("intake client: cannot refresh the stream config; sampling keeps the last one (or none: every event is sent)", "err", err)
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
