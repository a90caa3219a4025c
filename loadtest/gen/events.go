package gen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// clickEvent is examples/events/click.json, the example event of the config `make run` serves.
const clickEvent = `{
  "$schema": "/example/click/1.0.0",
  "dt": "2026-11-23T12:00:00.000Z",
  "meta": {"stream": "example.click"},
  "page": {"id": 42, "title": "Main Page"},
  "button": "save"
}`

// event is one source event, decoded with json.Number so numbers survive re-encoding unchanged.
type event map[string]any

// loadEvents returns the events a run sends, from the source cfg names.
func loadEvents(cfg *Config) ([]event, string, error) {
	switch {
	case cfg.ExamplesDir != "":
		evs, _, skipped, err := loadExamples(cfg.ExamplesDir, cfg.StreamConfig)
		if err != nil {
			return nil, "", err
		}
		desc := fmt.Sprintf("%d example events from %s", len(evs), cfg.ExamplesDir)
		if skipped > 0 {
			desc += fmt.Sprintf(" (%d without a stream in %s skipped)", skipped, cfg.StreamConfig)
		}
		return evs, desc, nil
	case cfg.EventsFile != "":
		data, err := os.ReadFile(cfg.EventsFile)
		if err != nil {
			return nil, "", fmt.Errorf("cannot read --events: %w", err)
		}
		evs, err := decodeEvents(data)
		if err != nil {
			return nil, "", fmt.Errorf("cannot read --events %q: %w", cfg.EventsFile, err)
		}
		return evs, fmt.Sprintf("%d events from %s", len(evs), cfg.EventsFile), nil
	}
	evs, err := decodeEvents([]byte(clickEvent))
	if err != nil {
		panic("BUG: the built-in click event does not decode: " + err.Error())
	}
	ev := evs[0]
	ev["$schema"] = cfg.Schema
	metaOf(ev)["stream"] = cfg.Stream
	return evs, fmt.Sprintf("the example click event (stream %s, schema %s)", cfg.Stream, cfg.Schema), nil
}

// decodeEvents reads a JSON object, an array of objects, or one object per line.
func decodeEvents(data []byte) ([]event, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var out []event
	for {
		var v any
		if err := d.Decode(&v); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		switch v := v.(type) {
		case map[string]any:
			out = append(out, v)
		case []any:
			for i, e := range v {
				m, ok := e.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("element %d is not a JSON object", i)
				}
				out = append(out, m)
			}
		default:
			return nil, fmt.Errorf("not a JSON object or array of objects")
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no events")
	}
	return out, nil
}

// loadExamples reads dir/<title>/<version>.json (arrays of events). With a stream config, each
// event goes to a stream whose schema_title is its title: its own meta.stream when that one fits
// (a literal name or a /regex/ one), else the first literal name in order; events whose title has
// no stream are skipped. $schema is kept. titles[i] is the title evs[i] was sent by.
func loadExamples(dir, streamConfig string) (evs []event, titles []string, skipped int, err error) {
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.json"))
	if err != nil {
		return nil, nil, 0, err
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, nil, 0, fmt.Errorf("--examples %q has no <title>/<version>.json files", dir)
	}
	var byTitle map[string]*titleStreams
	if streamConfig != "" {
		if byTitle, err = streamsByTitle(streamConfig); err != nil {
			return nil, nil, 0, err
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, 0, err
		}
		fevs, err := decodeEvents(data)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("cannot read example %q: %w", f, err)
		}
		for _, ev := range fevs {
			if byTitle != nil {
				meta := metaOf(ev)
				cur, _ := meta["stream"].(string)
				stream, title, ok := pickStream(byTitle, exampleTitles(ev, f), cur)
				if !ok {
					skipped++
					continue
				}
				meta["stream"] = stream
				titles = append(titles, title)
			}
			evs = append(evs, ev)
		}
	}
	if len(evs) == 0 {
		return nil, nil, skipped, fmt.Errorf("no example event in %q has a stream in --stream-config %q", dir, streamConfig)
	}
	return evs, titles, skipped, nil
}

// exampleTitles are the schema titles an example may have: the title its file lives under (the
// directory name with dots as slashes; the repositories' layout, which the schema's $id does not
// always follow), then its $schema without the version.
func exampleTitles(ev event, file string) []string {
	var titles []string
	if file != "" {
		titles = append(titles, strings.ReplaceAll(filepath.Base(filepath.Dir(file)), ".", "/"))
	}
	if s, ok := ev["$schema"].(string); ok && s != "" {
		s = strings.TrimPrefix(s, "/")
		if i := strings.LastIndexByte(s, '/'); i > 0 {
			s = s[:i]
		}
		titles = append(titles, s)
	}
	return titles
}

// titleStreams are the streams of one schema title.
type titleStreams struct {
	names   []string // literal, sorted
	regexps []*regexp.Regexp
}

func (ts *titleStreams) has(stream string) bool {
	if stream == "" {
		return false
	}
	if contains(ts.names, stream) {
		return true
	}
	for _, re := range ts.regexps {
		if re.MatchString(stream) {
			return true
		}
	}
	return false
}

// pickStream chooses the stream of an event with these candidate titles and current stream.
func pickStream(byTitle map[string]*titleStreams, titles []string, cur string) (stream, title string, ok bool) {
	for _, t := range titles {
		if ts := byTitle[t]; ts != nil && ts.has(cur) {
			return cur, t, true
		}
	}
	for _, t := range titles {
		if ts := byTitle[t]; ts != nil && len(ts.names) > 0 {
			return ts.names[0], t, true
		}
	}
	return "", "", false
}

// streamsByTitle maps schema_title to the streams of a stream config ({"streams": {...}} or the
// bare map). A /regex/ name is kept as a regexp: an event already naming a matching stream keeps it.
func streamsByTitle(path string) (map[string]*titleStreams, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read --stream-config: %w", err)
	}
	type stream struct {
		SchemaTitle string `json:"schema_title"`
	}
	var wrapped struct {
		Streams map[string]stream `json:"streams"`
	}
	if err := json.Unmarshal(data, &wrapped); err != nil {
		return nil, fmt.Errorf("cannot parse --stream-config %q: %w", path, err)
	}
	streams := wrapped.Streams
	if streams == nil {
		if err := json.Unmarshal(data, &streams); err != nil {
			return nil, fmt.Errorf("cannot parse --stream-config %q: %w", path, err)
		}
	}
	out := map[string]*titleStreams{}
	for name, s := range streams {
		if s.SchemaTitle == "" {
			continue
		}
		ts := out[s.SchemaTitle]
		if ts == nil {
			ts = &titleStreams{}
			out[s.SchemaTitle] = ts
		}
		if len(name) > 2 && strings.HasPrefix(name, "/") && strings.HasSuffix(name, "/") {
			if re, err := regexp.Compile(name[1 : len(name)-1]); err == nil {
				ts.regexps = append(ts.regexps, re)
			}
			continue
		}
		ts.names = append(ts.names, name)
	}
	for _, ts := range out {
		sort.Strings(ts.names)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// metaOf returns ev's meta object, creating it when absent or not an object.
func metaOf(ev event) map[string]any {
	m, ok := ev["meta"].(map[string]any)
	if !ok {
		m = map[string]any{}
		ev["meta"] = m
	}
	return m
}

// clone deep-copies an event.
func clone(ev event) event {
	return cloneValue(map[string]any(ev)).(map[string]any)
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = cloneValue(x)
		}
		return m
	case []any:
		a := make([]any, len(v))
		for i, x := range v {
			a[i] = cloneValue(x)
		}
		return a
	}
	return v
}

// breakEvent makes ev invalid against its schema by breaking a field the schema checks; kind
// picks the breakage. The example/click schema is known: a wrong type (page.id a string), an enum
// value it does not allow (button), a missing required field (button). For other schemas only
// fields every Event Platform schema types are touched: meta.dt (fragment/common: a string) and
// dt, made numbers. It returns what it broke.
func breakEvent(ev event, kind int) string {
	if strings.Contains(fmt.Sprint(ev["$schema"]), "/example/click/") {
		switch kind % 3 {
		case 0:
			page, ok := ev["page"].(map[string]any)
			if !ok {
				page = map[string]any{}
				ev["page"] = page
			}
			page["id"] = "42"
			return "type"
		case 1:
			ev["button"] = "explode"
			return "enum"
		default:
			delete(ev, "button")
			return "required"
		}
	}
	if _, ok := ev["dt"].(string); ok && kind%2 == 1 {
		ev["dt"] = json.Number("1700000000")
		return "type"
	}
	metaOf(ev)["dt"] = json.Number("1700000000")
	return "type"
}

// appendEvent appends ev's JSON (no HTML escaping, no newline).
func appendEvent(dst []byte, ev event) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil {
		return dst, err
	}
	return append(dst, bytes.TrimRight(b.Bytes(), "\n")...), nil
}
