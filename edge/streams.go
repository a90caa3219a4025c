package edge

import (
	"bytes"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"

	"intake.dev/intake/edge/internal/httpval"
	"intake.dev/intake/fastpath"
	"intake.dev/intake/schemacache"
)

// clientFields are the stream settings a producer client needs (sampling, schema, keys): what
// GET /v1/streams returns unless ?all=true asks for the whole configuration.
var clientFields = []string{"schema_title", "destination_event_service", "sample", "message_key_fields"}

// streamsView is GET /v1/streams and GET /v1/stream-configs of one snapshot, computed once: each
// stream's JSON in each form and its hash, so that a request only concatenates and combines.
type streamsView struct {
	names   []string
	index   map[string]int
	client  [][]byte // "name":{client fields}
	full    [][]byte // "name":{whole config, "topic"}
	raw     [][]byte // "name":{whole config as loaded}
	hClient []uint64
	hFull   []uint64
	hRaw    []uint64
}

// buildStreamsView builds snap's view (Server.views).
func buildStreamsView(snap *schemacache.Snapshot) *streamsView {
	v := &streamsView{index: map[string]int{}}
	var p fastjson.Parser
	for _, st := range snap.Streams() {
		cfg := st.Config
		if len(cfg) == 0 {
			cfg = []byte("{}")
		}
		full := appendFullConfig(nil, st.Name, cfg, st)
		client := appendClientConfig(nil, st.Name, cfg, &p)
		raw := appendRawConfig(nil, st.Name, cfg)
		v.index[st.Name] = len(v.names)
		v.names = append(v.names, st.Name)
		v.client = append(v.client, client)
		v.full = append(v.full, full)
		v.raw = append(v.raw, raw)
		v.hClient = append(v.hClient, hashOf(client))
		v.hFull = append(v.hFull, hashOf(full))
		v.hRaw = append(v.hRaw, hashOf(raw))
	}
	return v
}

// appendFullConfig appends "name":{config,"topic":topic}, and the stream's quality rules that
// did not compile ("quality_rules_errors": [{"index","name","reason"}]); cfg is a JSON object
// ({} when empty).
func appendFullConfig(dst []byte, name string, cfg []byte, st *fastpath.Stream) []byte {
	dst = append(append(fastpath.AppendJSONString(dst, name), ':'), cfg[:len(cfg)-1]...)
	if len(cfg) > 2 {
		dst = append(dst, ',')
	}
	dst = fastpath.AppendJSONString(append(dst, `"topic":`...), st.Topic)
	if len(st.RuleErrors) > 0 {
		dst = append(dst, `,"quality_rules_errors":[`...)
		for i, e := range st.RuleErrors {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendInt(append(dst, `{"index":`...), int64(e.Index), 10)
			dst = fastpath.AppendJSONString(append(dst, `,"name":`...), e.Name)
			dst = fastpath.AppendJSONString(append(dst, `,"reason":`...), e.Reason)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// appendClientConfig appends "name":{the client fields of cfg}.
func appendClientConfig(dst []byte, name string, cfg []byte, p *fastjson.Parser) []byte {
	dst = append(append(fastpath.AppendJSONString(dst, name), ':'), '{')
	if doc, err := p.ParseBytes(cfg); err == nil {
		n := 0
		for _, f := range clientFields {
			fv := doc.Get(f)
			if fv == nil {
				continue
			}
			if n > 0 {
				dst = append(dst, ',')
			}
			n++
			dst = fastpath.AppendJSON(append(fastpath.AppendJSONString(dst, f), ':'), fv)
		}
	}
	return append(dst, '}')
}

// appendRawConfig appends "name":{config}, an empty config as {}.
func appendRawConfig(dst []byte, name string, cfg []byte) []byte {
	if len(cfg) == 0 {
		cfg = []byte("{}")
	}
	dst = append(fastpath.AppendJSONString(dst, name), ':')
	return append(dst, cfg...)
}

func hashOf(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// handleStreams is GET /v1/streams: the stream configuration in the action=streamconfigs shape,
// limited to what a producer client needs (?all=true: everything, and each stream's topic),
// filtered by ?streams=a,b (configured names, a /regex/ stream by its /regex/ or by a name it
// matches, answered under that name), with an ETag
// (If-None-Match answers 304) and Cache-Control: clients poll it for sampling settings.
func (s *Server) handleStreams(ctx *fasthttp.RequestCtx) int {
	snap := s.cache.Current()
	v := s.views.get(snap)
	args := ctx.QueryArgs()
	all := queryFlag(args, "all")
	parts, hashes := v.client, v.hClient
	if all {
		parts, hashes = v.full, v.hFull
	}
	var pick []int
	if want := args.Peek("streams"); len(want) > 0 {
		for _, n := range strings.Split(string(want), ",") {
			n = strings.TrimSpace(n)
			if i, ok := v.index[n]; ok {
				pick = append(pick, i)
			} else if st := snap.Stream([]byte(n)); st != nil {
				// Slow path: a name a /regex/ stream matches, under the name asked for (with its
				// own topic), so that a client asking for its stream finds it by that name.
				cfg := st.Config
				if len(cfg) == 0 {
					cfg = []byte("{}")
				}
				var part []byte
				if all {
					part = appendFullConfig(nil, n, cfg, st)
				} else {
					var p fastjson.Parser
					part = appendClientConfig(nil, n, cfg, &p)
				}
				pick = append(pick, len(parts))
				parts = append(parts[:len(parts):len(parts)], part)
				hashes = append(hashes[:len(hashes):len(hashes)], hashOf(part))
			}
		}
	} else {
		pick = make([]int, len(parts))
		for i := range pick {
			pick[i] = i
		}
	}
	// The ETag combines the hashes of what is returned, in order.
	etag := uint64(14695981039346656037)
	for _, i := range pick {
		etag = (etag ^ hashes[i]) * 1099511628211
	}
	if notModified(ctx, etag, "public, max-age=60") {
		return fasthttp.StatusNotModified
	}
	var b bytes.Buffer
	b.WriteString(`{"streams":{`)
	for k, i := range pick {
		if k > 0 {
			b.WriteByte(',')
		}
		b.Write(parts[i])
	}
	b.WriteString("}}")
	ctx.SetContentType("application/json")
	ctx.SetBody(b.Bytes())
	return fasthttp.StatusOK
}

// handleStreamConfigs is eventgate-wikimedia's GET /v1/stream-configs/{streams}: the configuration
// of each stream named (separated by "," or "|", as MediaWiki's action=streamconfigs takes them),
// every configured stream's without names, as one JSON object keyed by stream name, each config
// as loaded: {"name":{...},...}. A name that a /regex/ stream matches gets that stream's config
// under the name asked for; a name nothing matches is left out. The same per-snapshot view as
// GET /v1/streams answers it, with an ETag (If-None-Match answers 304) and Cache-Control.
func (s *Server) handleStreamConfigs(ctx *fasthttp.RequestCtx, names string) int {
	snap := s.cache.Current()
	v := s.views.get(snap)
	etag := uint64(14695981039346656037)
	b := []byte{'{'}
	add := func(part []byte, hash uint64) {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, part...)
		etag = (etag ^ hash) * 1099511628211
	}
	if names == "" {
		for i := range v.raw {
			add(v.raw[i], v.hRaw[i])
		}
	} else {
		seen := map[string]bool{}
		for _, n := range strings.FieldsFunc(names, func(r rune) bool { return r == ',' || r == '|' }) {
			if seen[n] {
				continue
			}
			seen[n] = true
			if i, ok := v.index[n]; ok {
				add(v.raw[i], v.hRaw[i])
			} else if st := snap.Stream([]byte(n)); st != nil {
				// Slow path: a name a /regex/ stream matches, under the name asked for.
				part := appendRawConfig(nil, n, st.Config)
				add(part, hashOf(part))
			}
		}
	}
	b = append(b, '}')
	if notModified(ctx, etag, "public, max-age=60") {
		return fasthttp.StatusNotModified
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
	return fasthttp.StatusOK
}

// notModified sets the ETag of the document hashed to etag and its Cache-Control, and answers 304
// when the request's If-None-Match names that ETag (or "*").
func notModified(ctx *fasthttp.RequestCtx, etag uint64, cacheControl string) bool {
	tag := `"` + strconv.FormatUint(etag, 36) + `"`
	ctx.Response.Header.Set("ETag", tag)
	ctx.Response.Header.Set("Cache-Control", cacheControl)
	inm := ctx.Request.Header.Peek("If-None-Match")
	if len(inm) == 0 || !etagMatches(inm, tag) {
		return false
	}
	ctx.SetStatusCode(fasthttp.StatusNotModified)
	return true
}

// etagMatches reports whether an If-None-Match list names tag (or is *).
func etagMatches(inm []byte, tag string) bool {
	for list := inm; list != nil; {
		var t []byte
		t, list = httpval.Next(list)
		t = bytes.TrimPrefix(t, []byte("W/"))
		if string(t) == "*" || string(t) == tag {
			return true
		}
	}
	return false
}
