package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/valyala/fastjson"

	"intake.dev/intake/edge"
	"intake.dev/intake/fastpath"
	"intake.dev/intake/schemacache"
)

// validate checks events as the edge would, without producing. Exit status: 0 all valid, 1 some
// invalid, 2 usage or configuration error (returned as err).
func validate(args []string, stdin io.Reader, stdout io.Writer) (int, error) {
	o, c := validateOptions()
	if err := o.parse(args); err != nil {
		return 2, err
	}
	if len(c.Cache.SchemaBaseURIs) == 0 {
		return 2, fmt.Errorf("no schema repository: set --schema-base-uri")
	}
	if o.fs.NArg() > 1 {
		return 2, fmt.Errorf("validate reads one FILE (or - for standard input)")
	}
	in := stdin
	if name := o.fs.Arg(0); name != "" && name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return 2, fmt.Errorf("cannot read events: %w", err)
		}
		defer f.Close()
		in = f
	}
	data, err := io.ReadAll(in)
	if err != nil {
		return 2, fmt.Errorf("cannot read events: %w", err)
	}

	cache, err := schemacache.New(c.Cache)
	if err != nil {
		return 2, o.flagError(err, &c.Cache)
	}
	defer cache.Close()
	var lookup fastpath.Lookup = cache.Current()
	anyStream := &schemaOnly{cache: cache, schemaField: c.Fields.SchemaField}
	if c.Cache.StreamConfig == "" {
		lookup = anyStream
	}

	events, err := splitEvents(data)
	if err != nil {
		return 2, err
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	req := fastpath.AcquireRequest()
	defer fastpath.ReleaseRequest(req)
	req.Start(time.Now(), nil, nil)
	var p fastjson.Parser
	var r fastpath.Result
	code := 0
	var line []byte
	for i, raw := range events {
		line = append(line[:0], `{"index":`...)
		line = strconv.AppendInt(line, int64(i), 10)
		// The edge's checks of the JSON itself, then its parser.
		problem := fastpath.CheckJSON(raw, c.Limits)
		ev, err := p.ParseBytes(raw)
		if problem == "" && err != nil {
			problem = err.Error()
		}
		if problem != "" {
			r.Reset()
			r.Errors.Add("json", "", "#", "", "should be JSON: "+problem)
			r.Outcome = fastpath.Invalid
		} else {
			anyStream.prepare(ev)
			fastpath.Process(lookup, &c.Fields, ev, req, &r)
		}
		if r.Outcome == fastpath.Accepted {
			line = append(line, `,"valid":true,"errors":[]}`...)
		} else {
			code = 1
			line = append(line, `,"valid":false,"errors":`...)
			line = r.Errors.AppendJSON(line)
			line = append(line, '}')
		}
		line = append(line, '\n')
		w.Write(line)
	}
	return code, nil
}

// validateConfig is what intake validate runs with: the edge's schema cache, event fields and
// JSON limits, from their defaults.
type validateConfig struct {
	Cache  schemacache.Config
	Fields fastpath.Options
	Limits fastpath.JSONLimits
}

func validateOptions() (*options, *validateConfig) {
	ed := edge.DefaultConfig()
	c := &validateConfig{
		Cache:  schemacache.DefaultConfig(),
		Fields: fastpath.DefaultOptions(),
		Limits: fastpath.JSONLimits{MaxDepth: ed.MaxDepth, MaxStringBytes: ed.MaxStringBytes, MaxKeyBytes: ed.MaxKeyBytes, MaxMembers: ed.MaxMembers},
	}
	// The stream config and schemas are read once: no refresher.
	c.Cache.RefreshInterval = 0
	c.Fields.MaxEventBytes = ed.MaxEventBytes
	o := newOptions("validate", "Usage: intake validate [flags] [FILE|-]\n\n"+
		"Reads events (a JSON array, one object, or one object per line) from FILE or standard input,\n"+
		"runs the edge's checks without producing, and prints one line per event:\n"+
		`  {"index": i, "valid": true|false, "errors": [...]}`+"\n"+
		"Without --stream-config only the schema is checked (any stream name goes).", "")
	o.add(
		list("schema-base-uri", &c.Cache.SchemaBaseURIs, "schema repository base: a directory, file:///dir or http(s)://host/path; tried in order"),
		str("stream-config", &c.Cache.StreamConfig, "stream configuration file or URL (optional)"),
		str("service-name", &c.Cache.ServiceName, "check streams as the service of this name would"),
		str("format-mode", &c.Cache.FormatMode, "fast (Ajv 6's formats, as EventGate) or full"),
		path("stream-field", &c.Fields.StreamField, "event field that names its stream"),
		path("schema-field", &c.Fields.SchemaField, "event field that names its schema"),
		num("max-depth", &c.Limits.MaxDepth, "deepest JSON nesting accepted, as the edge's --max-depth"),
		num("max-string-bytes", &c.Limits.MaxStringBytes, "longest JSON string, as the edge's --max-string-bytes"),
		num("max-key-bytes", &c.Limits.MaxKeyBytes, "longest JSON object key, as the edge's --max-key-bytes"),
		num("max-members", &c.Limits.MaxMembers, "most keys of one object or items of one array, as the edge's --max-members"),
		num("max-event-bytes", &c.Fields.MaxEventBytes, "largest event as produced, as the edge's --max-event-bytes"),
	)
	return o, c
}

// splitEvents accepts a JSON array of events, one JSON value, or one JSON value per line.
func splitEvents(data []byte) ([][]byte, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, fmt.Errorf("no events in the input")
	}
	var p fastjson.Parser
	if v, err := p.ParseBytes(data); err == nil {
		if v.Type() != fastjson.TypeArray {
			return [][]byte{data}, nil
		}
		var out [][]byte
		for _, e := range v.GetArray() {
			out = append(out, fastpath.AppendJSON(nil, e))
		}
		return out, nil
	}
	var out [][]byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		if l = bytes.TrimSpace(l); len(l) > 0 {
			out = append(out, l)
		}
	}
	return out, nil
}

// schemaOnly is the Lookup of validate without a stream config: any stream name stands for a stream
// whose schema_title is that of the event's own schema, so only the schema is checked.
type schemaOnly struct {
	cache       *schemacache.Cache
	schemaField []string
	stream      fastpath.Stream
}

func (s *schemaOnly) prepare(ev *fastjson.Value) {
	s.stream = fastpath.Stream{}
	if uri := ev.GetStringBytes(s.schemaField...); uri != nil {
		if sc, err := s.cache.LoadSchema(string(uri)); err == nil {
			s.stream.SchemaTitle = sc.Title
		}
	}
}

func (s *schemaOnly) Stream(name []byte) *fastpath.Stream {
	s.stream.Name = string(name)
	return &s.stream
}

func (s *schemaOnly) Schema(uri []byte) (*fastpath.Schema, error) {
	return s.cache.LoadSchema(string(uri))
}
