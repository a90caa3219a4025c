package edge

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"intake.dev/intake/fastpath"
)

// handle routes a request. POST /v1/events is the hot path; everything else is rare. Every
// answer is counted under its route and status.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	if string(path) == "/v1/events" {
		eventsResponses.inc(s.handleEventsPath(ctx))
		return
	}
	otherResponses.inc(s.handleOther(ctx, path))
}

// handleEventsPath is /v1/events: POST sends events; OPTIONS is a CORS preflight when an access
// layer is configured.
func (s *Server) handleEventsPath(ctx *fasthttp.RequestCtx) int {
	if code := s.checkHeaderLimits(ctx); code != 0 {
		return code
	}
	switch {
	case ctx.IsPost():
		return s.handleEvents(ctx)
	case ctx.IsOptions() && s.access != nil:
		return s.handlePreflight(ctx)
	}
	ctx.Response.Header.Set("Allow", "POST")
	return s.respondError(ctx, fasthttp.StatusMethodNotAllowed, "use POST to send events to /v1/events")
}

// checkHeaderLimits answers a request whose URI or header count is over its limit, and returns
// the status, or 0. fasthttp has bounded both by --max-header-bytes already; these bounds are
// tighter, and worded for the client.
func (s *Server) checkHeaderLimits(ctx *fasthttp.RequestCtx) int {
	h := &ctx.Request.Header
	if n := len(h.RequestURI()); s.cfg.MaxURLBytes > 0 && n > s.cfg.MaxURLBytes {
		return s.respondError(ctx, fasthttp.StatusRequestURITooLong,
			"the request URI has "+itoa(n)+" bytes, more than "+itoa(s.cfg.MaxURLBytes)+" (--max-url-bytes)")
	}
	if s.cfg.MaxHeaders > 0 {
		// The header block as received ends with an empty line; a request built in process has none.
		if n := bytes.Count(h.RawHeaders(), []byte{'\n'}) - 1; n > s.cfg.MaxHeaders {
			return s.respondError(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge,
				"the request has "+itoa(n)+" header lines, more than "+itoa(s.cfg.MaxHeaders)+" (--max-headers)")
		}
	}
	return 0
}

// handleOther answers every path but /v1/events: 404 for a path that is no route, whatever the
// method; 405 for a route asked with a method other than GET or HEAD (and other than OPTIONS for
// the public documents).
func (s *Server) handleOther(ctx *fasthttp.RequestCtx, path []byte) int {
	if code := s.checkHeaderLimits(ctx); code != 0 {
		return code
	}
	if !isRoute(ctx, path) {
		return s.respondError(ctx, fasthttp.StatusNotFound, "no such endpoint: "+string(path)+" (see /?doc)")
	}
	if publicRead(path) {
		// The stream configuration and the schemas are public documents that browser clients on
		// any page read (sampling, tools): any origin may, without credentials, and may see the
		// ETag to revalidate with If-None-Match.
		h := &ctx.Response.Header
		h.Set("Access-Control-Allow-Origin", "*")
		if ctx.IsOptions() {
			h.Set("Access-Control-Allow-Methods", "GET, HEAD")
			h.Set("Access-Control-Allow-Headers", "If-None-Match, Cache-Control")
			h.Set("Access-Control-Max-Age", "600")
			ctx.SetStatusCode(fasthttp.StatusNoContent)
			return fasthttp.StatusNoContent
		}
		h.Set("Access-Control-Expose-Headers", "ETag")
	}
	if !ctx.IsGet() && !ctx.IsHead() {
		ctx.Response.Header.Set("Allow", "GET, HEAD")
		return s.respondError(ctx, fasthttp.StatusMethodNotAllowed, "only GET and HEAD are served at "+string(path))
	}
	switch p := string(path); {
	case p == "/healthz":
		return respondText(ctx, fasthttp.StatusOK, "ok\n")
	case p == "/readyz":
		return s.handleReady(ctx)
	case p == "/metrics":
		ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
		metrics.WritePrometheus(ctx, true)
		return fasthttp.StatusOK
	case p == "/v1/info":
		return s.handleInfo(ctx)
	case p == "/v1/streams":
		return s.handleStreams(ctx)
	case p == streamConfigsPath:
		return s.handleStreamConfigs(ctx, "")
	case strings.HasPrefix(p, streamConfigsPath+"/"):
		return s.handleStreamConfigs(ctx, p[len(streamConfigsPath)+1:])
	case p == schemasPath:
		return s.handleSchemaList(ctx)
	case strings.HasPrefix(p, schemasPath+"/"):
		return s.handleSchema(ctx, p[len(schemasPath):])
	case p == "/robots.txt":
		return respondText(ctx, fasthttp.StatusOK, "User-agent: *\nDisallow: /\n")
	}
	// "/", which isRoute admits only with ?spec or ?doc.
	if ctx.QueryArgs().Has("spec") {
		ctx.SetContentType("application/json")
		ctx.SetBodyString(openAPISpec)
		return fasthttp.StatusOK
	}
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.SetBodyString(docPage)
	return fasthttp.StatusOK
}

// streamConfigsPath is eventgate-wikimedia's GET /v1/stream-configs[/{streams}].
const streamConfigsPath = "/v1/stream-configs"

// schemasPath is GET /v1/schemas (the listing), /v1/schemas/{title} (a title's versions) and
// /v1/schemas/{title}/{version} (a schema).
const schemasPath = "/v1/schemas"

// isRoute reports whether path (fasthttp's, decoded and normalized) is one of handleOther's
// routes; "/" is one only with ?spec or ?doc, as EventGate's.
func isRoute(ctx *fasthttp.RequestCtx, path []byte) bool {
	switch p := string(path); {
	case p == "/healthz", p == "/readyz", p == "/metrics", p == "/robots.txt", p == "/v1/info", p == "/v1/streams",
		p == streamConfigsPath, p == schemasPath, strings.HasPrefix(p, schemasPath+"/"):
		return true
	case strings.HasPrefix(p, streamConfigsPath+"/"):
		// One path segment of stream names, as eventgate-wikimedia's /stream-configs/:streams?.
		return !strings.Contains(p[len(streamConfigsPath)+1:], "/")
	case p == "/":
		args := ctx.QueryArgs()
		return args.Has("spec") || args.Has("doc")
	}
	return false
}

// publicRead reports whether path is one of the documents any web page may read: the stream
// configuration, the schemas and their listing.
func publicRead(path []byte) bool {
	return string(path) == "/v1/streams" || string(path) == streamConfigsPath ||
		bytes.HasPrefix(path, []byte(streamConfigsPath+"/")) ||
		string(path) == schemasPath || bytes.HasPrefix(path, []byte(schemasPath+"/"))
}

// handleReady is /readyz: schemas and stream config loaded, a broker answering or a spool taking
// fire-and-forget events meanwhile (--spool-dir: hasty traffic is served; not once it refused
// them, full or failing, until it takes one again or a broker answers), not shutting down.
func (s *Server) handleReady(ctx *fasthttp.RequestCtx) int {
	if reason := s.notReady(); reason != "" {
		return s.respondUnavailable(ctx, reason)
	}
	return respondText(ctx, fasthttp.StatusOK, "ready\n")
}

// notReady says why the edge is not ready, "" when it is (/readyz, intake_ready).
func (s *Server) notReady() string {
	switch {
	case s.draining.Load():
		return "shutting down"
	case !s.cache.Ready():
		return "stream configuration not loaded yet"
	case !s.brokerOK.Load() && s.prod.SpoolDir() == "":
		return "no Kafka broker answers"
	case !s.brokerOK.Load() && s.prod.SpoolRefusing():
		return "no Kafka broker answers and the spool refuses events (full, or its disk failed)"
	}
	return ""
}

func (s *Server) handleInfo(ctx *fasthttp.RequestCtx) int {
	snap := s.cache.Current()
	info := map[string]any{
		"name":    "intake",
		"version": s.cfg.Version,
		"streams": len(snap.Streams()),
		"loaded":  snap.Loaded(),
	}
	for k, v := range s.cfg.Info {
		info[k] = v
	}
	if st, ok := s.prod.SpoolStats(); ok {
		sp := map[string]any{
			"dir":      s.prod.SpoolDir(),
			"bytes":    st.Bytes,
			"records":  st.Records,
			"written":  st.Written,
			"replayed": st.Replayed,
			"damaged":  st.Damaged,
			"full":     st.Full,
			"refused":  s.prod.SpoolRefused(),
			"dropped":  s.prod.SpoolDropped(),
			// Records held in memory for Kafka (rings and the client's buffers): fire-and-forget
			// ones among them are answered but not on disk yet.
			"in_memory": s.prod.InMemory(),
		}
		if !st.Oldest.IsZero() {
			sp["oldest"] = st.Oldest.UTC().Format(time.RFC3339Nano)
		}
		info["spool"] = sp
	}
	return respondJSON(ctx, fasthttp.StatusOK, info)
}

// handleSchema is GET /v1/schemas/<title>/<version>: the schema the edge validates with, as JSON;
// and GET /v1/schemas/<title>, when a directory base holds versions of that title: its versions
// (schemaTitle). A title is a directory and a version a file, so the two never name the same path.
func (s *Server) handleSchema(ctx *fasthttp.RequestCtx, uri string) int {
	if tv, ok := s.cache.Catalog().Find(strings.Trim(uri, "/")); ok {
		return respondCached(ctx, schemaTitle(tv), "public, max-age=60")
	}
	sc, err := s.cache.LoadSchema(uri)
	if err != nil {
		return s.respondError(ctx, fasthttp.StatusNotFound, err.Error())
	}
	if notModified(ctx, hashOf(sc.Doc), "public, max-age=300") {
		return fasthttp.StatusNotModified
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(sc.Doc)
	return fasthttp.StatusOK
}

// respondError answers with {"message": "..."}.
func (s *Server) respondError(ctx *fasthttp.RequestCtx, code int, message string) int {
	ctx.SetStatusCode(code)
	ctx.SetContentType("application/json")
	b := make([]byte, 0, 64+len(message))
	b = append(b, `{"status":`...)
	b = append(b, itoa(code)...)
	b = append(b, `,"message":`...)
	b = fastpath.AppendJSONString(b, message)
	b = append(b, '}')
	ctx.SetBody(b)
	return code
}

func (s *Server) respondUnavailable(ctx *fasthttp.RequestCtx, message string) int {
	ctx.Response.Header.Set("Retry-After", s.retryAfter)
	return s.respondError(ctx, fasthttp.StatusServiceUnavailable, message)
}

func respondText(ctx *fasthttp.RequestCtx, code int, text string) int {
	ctx.SetStatusCode(code)
	ctx.SetContentType("text/plain; charset=utf-8")
	ctx.SetBodyString(text)
	return code
}

func respondJSON(ctx *fasthttp.RequestCtx, code int, v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		panic("BUG: cannot marshal a response: " + err.Error())
	}
	ctx.SetStatusCode(code)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
	return code
}

const docPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>intake</title></head><body>
<h1>intake</h1>
<p>An EventGate-compatible event intake service.</p>
<ul>
<li><code>POST /v1/events</code>: one event object or an array of events (JSON; gzip accepted). <code>?hasty=true</code> answers 202 at once.</li>
<li><code>GET /v1/streams</code>: stream configuration (<code>?streams=a,b</code>).</li>
<li><code>GET /v1/stream-configs/&lt;streams&gt;</code>: the configuration of each stream named (separated by <code>,</code> or <code>|</code>), every stream's without names.</li>
<li><code>GET /v1/schemas</code>: the schema titles and their versions (<code>?limit=</code> titles, 100 by default, <code>?after=</code> a title; <code>next</code> names the next page).</li>
<li><code>GET /v1/schemas/&lt;title&gt;</code>: a title's versions; <code>GET /v1/schemas/&lt;title&gt;/&lt;version&gt;</code>: the schemas events are validated with.</li>
<li><code>GET /v1/info</code>, <code>/healthz</code>, <code>/readyz</code>, <code>/metrics</code>.</li>
<li><code>GET /?spec</code>: this API as OpenAPI.</li>
</ul></body></html>
`

const openAPISpec = `{"openapi":"3.0.3","info":{"title":"intake","description":"EventGate-compatible event intake","version":"1"},
"paths":{
"/v1/events":{"post":{"summary":"Produce events","parameters":[{"name":"hasty","in":"query","schema":{"type":"boolean"},"description":"answer 202 at once instead of waiting for Kafka"},{"name":"debug","in":"query","schema":{"type":"boolean"},"description":"developer mode (also the header X-Intake-Debug: 1): every event's verdict, answered 200; with an access config, for callers allowed it"},{"name":"dry_run","in":"query","schema":{"type":"boolean"},"description":"developer mode that produces nothing, error events included"},{"name":"X-Intake-Debug","in":"header","schema":{"type":"string","enum":["1"]},"description":"developer mode, as ?debug=true"},{"name":"(--stream-query-param)","in":"query","schema":{"type":"string"},"description":"when configured: the stream of events that name none"},{"name":"(--schema-uri-query-param)","in":"query","schema":{"type":"string"},"description":"when configured: the $schema of events that name none"}],
"security":[{},{"bearer":[]},{"apiKeyHeader":[]},{"apiKeyQuery":[]}],
"requestBody":{"required":true,"content":{"application/json":{"schema":{"oneOf":[{"type":"object"},{"type":"array","items":{"type":"object"}}]}},"text/plain":{"schema":{"type":"string"},"description":"JSON, as browsers' sendBeacon sends it"},"application/reports+json":{"schema":{"type":"array"},"description":"browser reports"}}},
"responses":{"200":{"description":"developer mode, every event accepted: each event's verdict, as produced (other statuses as without it, each event's verdict in the body)"},"201":{"description":"all events accepted"},"202":{"description":"hasty: queued"},"207":{"description":"some events accepted"},"400":{"description":"all events invalid, or the body is not JSON or over a JSON limit"},"401":{"description":"with an access config: credentials missing or not valid"},"403":{"description":"no event may be produced by this caller"},"408":{"description":"the request was not received within the read timeout"},"413":{"description":"body, decompressed body or event count too large"},"414":{"description":"request URI too long"},"415":{"description":"unsupported Content-Type or Content-Encoding"},"429":{"description":"too many connections from this client IP, or a rate limit (per caller, per client address, per stream); see Retry-After"},"431":{"description":"request headers too large or too many"},"500":{"description":"producing failed"},"503":{"description":"queue full, Kafka unavailable, too many open connections, or the edge shutting down; see Retry-After"}}},
"options":{"summary":"CORS preflight (with allowed_origins in the access config)","responses":{"204":{"description":"the preflight's answer"}}}},
"/v1/streams":{"get":{"summary":"Stream configuration","responses":{"200":{"description":"streams"}}}},
"/v1/stream-configs":{"get":{"summary":"Every stream's configuration, as EventGate's route: {name: config}","responses":{"200":{"description":"the streams' configurations"},"304":{"description":"not modified"}}}},
"/v1/stream-configs/{streams}":{"get":{"summary":"Stream configuration, as EventGate's route: {name: config}","parameters":[{"name":"streams","in":"path","required":true,"schema":{"type":"string"},"description":"stream names separated by , or |"}],"responses":{"200":{"description":"the streams' configurations"},"304":{"description":"not modified"}}}},
"/v1/schemas":{"get":{"summary":"The schema titles and versions of the edge's schema repositories (directory bases), by title, a page at a time: {schemas: [{title, versions, latest}], next}","parameters":[{"name":"limit","in":"query","schema":{"type":"integer","minimum":1,"maximum":1000,"default":100},"description":"titles per page"},{"name":"after","in":"query","schema":{"type":"string"},"description":"the page starts after this title (next gives it)"}],"responses":{"200":{"description":"a page of titles"},"304":{"description":"not modified"},"400":{"description":"limit out of range"}}}},
"/v1/schemas/{uri}":{"get":{"summary":"A schema (uri: title/version, or title/latest); or, when uri is a title, its versions: {title, versions, latest}","parameters":[{"name":"uri","in":"path","required":true,"schema":{"type":"string"}}],"responses":{"200":{"description":"the schema, or the title's versions"},"304":{"description":"not modified"},"404":{"description":"unknown"}}}},
"/v1/info":{"get":{"summary":"Version and configuration summary","responses":{"200":{"description":"info"}}}},
"/healthz":{"get":{"summary":"Process up","responses":{"200":{"description":"ok"}}}},
"/readyz":{"get":{"summary":"Ready to accept events","responses":{"200":{"description":"ready"},"503":{"description":"not ready"}}}},
"/metrics":{"get":{"summary":"Prometheus metrics","responses":{"200":{"description":"metrics"}}}}},
"components":{"securitySchemes":{"bearer":{"type":"http","scheme":"bearer","description":"an API key or a JWT, when the access config asks for credentials"},"apiKeyHeader":{"type":"apiKey","in":"header","name":"X-API-Key"},"apiKeyQuery":{"type":"apiKey","in":"query","name":"api_key"}}}}`
