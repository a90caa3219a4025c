package edgetest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Response is an HTTP answer, read in full.
type Response struct {
	Code   int
	Header http.Header
	Body   []byte
}

// JSON is the body as a JSON object; the test fails when it is not one.
func (r Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response body is not a JSON object: %s\n%s", err, r.Body)
	}
	return m
}

// Post sends body to path with the given headers (name, value pairs; Content-Type defaults to
// application/json).
func (e *Edge) Post(path string, body []byte, hdr ...string) Response {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return e.Do(req)
}

// Get sends a GET of path.
func (e *Edge) Get(path string) Response {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.Do(req)
}

// Do sends req (whose URL starts with e.URL) and reads the answer; a transport error fails the
// test.
func (e *Edge) Do(req *http.Request) Response {
	e.t.Helper()
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return Response{Code: resp.StatusCode, Header: resp.Header, Body: b}
}

// MustJSON decodes a JSON object, numbers as json.Number; the test fails when b is not one.
func MustJSON(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("not a JSON object: %s\n%s", err, b)
	}
	return m
}

// Field returns the value at the dotted path of m ("meta.dt"), or nil.
func Field(m map[string]any, path string) any {
	var v any = m
	for _, p := range strings.Split(path, ".") {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

var (
	// UUIDv4 matches a version 4 UUID in lower case: the form of meta.id.
	UUIDv4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	// RFC3339Millis matches an RFC 3339 UTC time with milliseconds: the form of meta.dt.
	RFC3339Millis = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
)

// Metric is the value of the series name (with its labels, as /metrics writes them:
// `intake_events_total{stream="s",outcome="accepted"}`) on the edge's /metrics; 0 when absent.
func (e *Edge) Metric(name string) float64 {
	e.t.Helper()
	for _, line := range strings.Split(string(e.Get("/metrics").Body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				e.t.Fatalf("/metrics: %s: %v", line, err)
			}
			return f
		}
	}
	return 0
}
