package client

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// item is one event on its way: its record and its result so far.
type item struct {
	rec     record
	res     *Result
	retry   bool  // the last attempt failed for a reason worth another attempt
	lastErr error // why the last attempt did not get it accepted
}

// accept, invalid, again and fail set what an answer decided for the item: accepted, invalid
// (final), worth another attempt, failed (final).
func (it *item) accept(code int) {
	it.res.Status, it.res.Code, it.res.Err, it.retry = StatusAccepted, code, nil, false
}

func (it *item) invalid(code int, text string, errs []ValidationError, event json.RawMessage) {
	it.res.Status, it.res.Code, it.retry = StatusInvalid, code, false
	it.res.Errors = errs
	if len(event) > 0 && string(event) != "null" {
		it.res.Event = event
	}
	if text == "" {
		text = "rejected by the edge"
	}
	it.res.Err = &InvalidError{ID: it.rec.id, Stream: it.rec.stream, Code: code, Text: text, Errors: errs}
}

func (it *item) again(code int, err error) {
	it.res.Code, it.retry, it.lastErr = code, true, err
}

func (it *item) fail(code int, err error) {
	it.res.Status, it.res.Code, it.res.Err, it.retry = StatusFailed, code, err, false
}

// maxAnswerBytes bounds what is read of an answer (developer mode answers carry every event).
const maxAnswerBytes = 64 << 20

// deliver posts items (one request, split further only on 413 or a request-level 400) until each
// is accepted, invalid, or failed: retryable failures are retried with backoff within the
// attempts and time of WithRetry and ctx. Only the events the edge did not take are sent again.
// It counts requests, sent and retried events; outcomes are counted by the caller.
func (c *Client) deliver(ctx context.Context, items []*item, debug bool) {
	start := time.Now()
	pending := items
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			c.stats.retried.Add(int64(len(pending)))
		}
		retryAfter := c.post(ctx, pending, debug)
		var next []*item
		for _, it := range pending {
			if it.retry {
				next = append(next, it)
			}
		}
		if len(next) == 0 {
			return
		}
		wait := max(c.backoff(attempt), retryAfter)
		var why error
		switch {
		case ctx.Err() != nil:
			why = ctx.Err()
		case attempt >= c.cfg.maxAttempts:
			why = fmt.Errorf("%d attempts (WithRetry)", attempt)
		case c.cfg.maxElapsed > 0 && time.Since(start)+wait > c.cfg.maxElapsed:
			why = fmt.Errorf("no attempt left within %s (WithRetry)", c.cfg.maxElapsed)
		}
		if why == nil {
			if err := c.sleep(ctx, wait); err != nil {
				why = err
			}
		}
		if why != nil {
			for _, it := range next {
				it.fail(it.res.Code, fmt.Errorf("intake client: event %s not acknowledged after %d attempts in %s: %w (last error: %w)",
					it.rec.id, it.res.Attempts, time.Since(start).Round(time.Millisecond), why, it.lastErr))
			}
			return
		}
		pending = next
	}
}

// backoff is the wait before attempt n+1: full jitter over the exponential bound.
func (c *Client) backoff(attempt int) time.Duration {
	bound := c.cfg.backoffMax
	if shift := attempt - 1; shift < 62 && c.cfg.backoffBase <= bound>>shift {
		bound = c.cfg.backoffBase << shift // no overflow: it is at most backoffMax
	}
	if bound <= 0 {
		return 0
	}
	return rand.N(bound)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// answer is the body of a POST /v1/events answer: EventGate's lists or developer mode's verdicts
// (a request-level error, {"status": N, "message": "..."}, has neither; httpError reads it).
type answer struct {
	Invalid []answerEntry `json:"invalid"`
	Error   []answerEntry `json:"error"`
	Events  []debugEntry  `json:"events"`
}

type answerEntry struct {
	Event   json.RawMessage `json:"event"`
	Index   *int            `json:"index"` // present instead of the event for browsers
	Context struct {
		Errors     []ValidationError `json:"errors"`
		ErrorsText string            `json:"errorsText"`
		Message    string            `json:"message"`
	} `json:"context"`
}

type debugEntry struct {
	Index      int               `json:"index"`
	Status     string            `json:"status"`
	Event      json.RawMessage   `json:"event"`
	Topic      string            `json:"topic"`
	Errors     []ValidationError `json:"errors"`
	ErrorsText string            `json:"errorsText"`
	Message    string            `json:"message"`
}

// post sends items once and settles each: accepted, invalid, failed, or marked for retry. It
// returns the answer's Retry-After (0 when none).
func (c *Client) post(ctx context.Context, items []*item, debug bool) time.Duration {
	body := make([]byte, 0, 2+len(items)*256)
	body = append(body, '[')
	for i, it := range items {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, it.rec.raw...)
		it.res.Attempts++
		it.retry = false
	}
	body = append(body, ']')
	c.stats.requests.Add(1)
	c.stats.sent.Add(int64(len(items)))

	code, header, rb, err := c.do(ctx, body, debug)
	if err != nil {
		for _, it := range items {
			it.again(0, err)
		}
		return 0
	}
	retryAfter := parseRetryAfter(header.Get("Retry-After"), time.Now())
	var a answer
	parsed := json.Unmarshal(rb, &a) == nil
	switch {
	case debug && parsed && a.Events != nil:
		c.settleDebug(items, code, &a)
	case parsed && (a.Invalid != nil || a.Error != nil):
		c.settleLists(items, code, &a)
	case code >= 200 && code < 300:
		for _, it := range items {
			it.accept(code)
		}
	case code == http.StatusRequestEntityTooLarge || code == http.StatusBadRequest:
		// The request as a whole: too large, or something in it over a JSON limit. Halves
		// find the event to blame, and let its siblings through.
		if len(items) > 1 {
			h := len(items) / 2
			return max(c.post(ctx, items[:h], debug), c.post(ctx, items[h:], debug))
		}
		e := httpError(code, rb)
		items[0].invalid(code, e.Message, nil, nil)
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		e := httpError(code, rb)
		for _, it := range items {
			it.again(code, e)
		}
	default:
		// 401, 403 without lists, 404, 415, ...: another attempt would get the same answer.
		e := httpError(code, rb)
		for _, it := range items {
			it.fail(code, e)
		}
	}
	return retryAfter
}

// settleLists settles items by EventGate's lists: listed under "invalid": invalid; under
// "error": retried; not listed: accepted. Entries name their event by its meta.id (or index).
func (c *Client) settleLists(items []*item, code int, a *answer) {
	matched := make([]bool, len(items))
	var byID map[string][]int
	find := func(e *answerEntry) *item {
		idx := -1
		if e.Index != nil && *e.Index >= 0 && *e.Index < len(items) && !matched[*e.Index] {
			idx = *e.Index
		} else {
			if byID == nil {
				byID = make(map[string][]int, len(items))
				for i, it := range items {
					byID[it.rec.id] = append(byID[it.rec.id], i)
				}
			}
			id := eventID(e.Event)
			for len(byID[id]) > 0 && idx < 0 {
				if i := byID[id][0]; !matched[i] {
					idx = i
				}
				byID[id] = byID[id][1:]
			}
		}
		if idx < 0 {
			return nil
		}
		matched[idx] = true
		return items[idx]
	}
	unmatched := 0
	for i := range a.Invalid {
		e := &a.Invalid[i]
		if it := find(e); it != nil {
			text := e.Context.ErrorsText
			if text == "" {
				text = e.Context.Message
			}
			it.invalid(code, text, e.Context.Errors, e.Event)
		} else {
			unmatched++
		}
	}
	for i := range a.Error {
		e := &a.Error[i]
		if it := find(e); it != nil {
			msg := e.Context.Message
			if msg == "" {
				msg = "the edge could not produce the event"
			}
			it.again(code, &HTTPError{Code: code, Message: msg})
		} else {
			unmatched++
		}
	}
	for i, it := range items {
		if matched[i] {
			continue
		}
		if unmatched > 0 {
			// An entry names no event of ours: we cannot tell which were accepted. Sending
			// again risks a duplicate (meta.id tells), not sending risks a loss.
			it.again(code, &HTTPError{Code: code, Message: "the answer lists events the client cannot match to its own"})
			continue
		}
		it.accept(code)
	}
	if unmatched > 0 {
		c.logThrottled("unmatched", "intake client: the edge's answer lists events without a known meta.id; sending the unlisted events again", "code", code, "unmatched", unmatched)
	}
}

// settleDebug settles items by developer mode's per-event verdicts.
func (c *Client) settleDebug(items []*item, code int, a *answer) {
	seen := make([]bool, len(items))
	for i := range a.Events {
		e := &a.Events[i]
		if e.Index < 0 || e.Index >= len(items) || seen[e.Index] {
			continue
		}
		seen[e.Index] = true
		it := items[e.Index]
		switch e.Status {
		case "accepted":
			it.accept(code)
			it.res.Event, it.res.Topic = e.Event, e.Topic
		case "invalid", "refused":
			text := e.ErrorsText
			if text == "" {
				text = e.Message
			}
			if e.Status == "refused" {
				text = "refused: " + text
			}
			it.invalid(code, text, e.Errors, e.Event)
		default: // rate_limited, unavailable, error
			msg := e.Message
			if msg == "" {
				msg = e.Status
			}
			it.again(code, &HTTPError{Code: code, Message: msg})
		}
	}
	for i, it := range items {
		if !seen[i] {
			it.again(code, &HTTPError{Code: code, Message: "the developer mode answer has no verdict for the event"})
		}
	}
}

// eventID returns meta.id of an event as the edge echoed it.
func eventID(raw json.RawMessage) string {
	var ev struct {
		Meta struct {
			ID string `json:"id"`
		} `json:"meta"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &ev) != nil {
		return ""
	}
	return ev.Meta.ID
}

// httpError makes an *HTTPError of a request-level answer.
func httpError(code int, body []byte) *HTTPError {
	var a struct {
		Message string `json:"message"`
	}
	msg := ""
	if json.Unmarshal(body, &a) == nil && a.Message != "" {
		msg = a.Message
	} else {
		msg = truncate(strings.TrimSpace(string(body)), 200)
	}
	return &HTTPError{Code: code, Message: msg}
}

// parseRetryAfter reads a Retry-After header: seconds, or an HTTP date. 0 when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, 24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, 24*time.Hour)
		}
	}
	return 0
}

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// do sends one POST /v1/events and reads the answer. An error means no answer came.
func (c *Client) do(ctx context.Context, body []byte, debug bool) (int, http.Header, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.requestTimeout)
	defer cancel()
	u := c.eventsURL
	if debug {
		u = c.debugURL
	}
	gz := c.cfg.gzipAbove >= 0 && len(body) >= c.cfg.gzipAbove
	if gz {
		// Not pooled: the transport may still read a body after Do returns.
		var buf bytes.Buffer
		buf.Grow(len(body)/4 + 64)
		w := gzipWriters.Get().(*gzip.Writer)
		w.Reset(&buf)
		w.Write(body)
		w.Close()
		gzipWriters.Put(w)
		body = buf.Bytes()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if err := c.setHeaders(ctx, req); err != nil {
		return 0, nil, nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("intake client: cannot read the answer (HTTP %d): %w", resp.StatusCode, err)
	}
	return resp.StatusCode, resp.Header, rb, nil
}

// setHeaders sets the User-Agent, the extra headers and the credential of a request.
func (c *Client) setHeaders(ctx context.Context, req *http.Request) error {
	for k, vs := range c.cfg.headers {
		req.Header[k] = vs
	}
	req.Header.Set("User-Agent", c.userAgent)
	switch {
	case c.cfg.tokenSource != nil:
		tok, err := c.cfg.tokenSource(ctx)
		if err != nil {
			return fmt.Errorf("intake client: the token source failed (WithTokenSource): %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	case c.cfg.apiKey != "":
		req.Header.Set("Authorization", "Bearer "+c.cfg.apiKey)
	}
	return nil
}
