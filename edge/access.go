package edge

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"intake.dev/intake/edge/auth"
	"intake.dev/intake/edge/cors"
	"intake.dev/intake/edge/ratelimit"
	"intake.dev/intake/fastpath"
	"intake.dev/intake/schemacache"
)

// Access is who may produce where: authentication (auth), the per-stream policies compiled into
// each snapshot's streams (StreamHook), CORS and rate limits. A nil *Access lets everyone write
// everything, as EventGate does; so does an Access built from a zero AccessConfig.
type Access struct {
	auth    *auth.Authenticator
	limits  *ratelimit.Set // nil: no rate limit
	origins []string
	corsOpt cors.Options

	tables perSnapshot[snapTables]
}

// AccessConfig is the access part of the service configuration (intake serve --access-config).
type AccessConfig struct {
	Auth auth.Config `yaml:"auth" json:"auth"`
	// AllowedOrigins are the browser origins allowed for every stream (exact, or
	// https://*.example.org); streams add their own (producers.<service>.allowed_origins). None:
	// requests carrying an Origin header are refused.
	AllowedOrigins []string         `yaml:"allowed_origins" json:"allowed_origins"`
	CORS           cors.Options     `yaml:"cors" json:"cors"`
	RateLimits     ratelimit.Config `yaml:"rate_limits" json:"rate_limits"`
	// TrustedProxies is refused: the trusted proxies are the edge's Config.TrustedProxies
	// (--trusted-proxies), one list for the rate limits and the events' http.client_ip. The key
	// stays so that a file still carrying it gets that answer, not "unknown field".
	TrustedProxies []string `yaml:"trusted_proxies" json:"trusted_proxies"`
}

// errTrustedProxiesMoved answers an access config that still lists trusted_proxies.
var errTrustedProxiesMoved = errors.New("access config trusted_proxies is no longer read: the trusted proxies are set " +
	"once, by --trusted-proxies (INTAKE_TRUSTED_PROXIES, or trusted_proxies in the --config file), for rate limits " +
	"and the events' http.client_ip alike; move the list there")

// NewAccess builds the access layer; Close it to stop the JWKS refresher.
func NewAccess(cfg AccessConfig) (*Access, error) {
	if len(cfg.TrustedProxies) > 0 {
		return nil, errTrustedProxiesMoved
	}
	a, err := auth.New(cfg.Auth)
	if err != nil {
		return nil, fmt.Errorf("cannot set up authentication (access config auth): %w", err)
	}
	acc := &Access{auth: a, origins: cfg.AllowedOrigins, corsOpt: cfg.CORS}
	acc.tables.build = acc.buildTables
	if limited(cfg.RateLimits) {
		if acc.limits, err = ratelimit.NewSet(cfg.RateLimits); err != nil {
			a.Close()
			return nil, fmt.Errorf("access config rate_limits: %w", err)
		}
	}
	// The global origins alone must compile: a stream's own are checked with each snapshot.
	if _, err := cors.NewTable(cfg.AllowedOrigins, nil, cfg.CORS); err != nil {
		a.Close()
		return nil, fmt.Errorf("access config allowed_origins: %w", err)
	}
	return acc, nil
}

func limited(c ratelimit.Config) bool {
	return c.IP.Rate > 0 || c.Principal.Rate > 0 || c.Stream.Rate > 0 || len(c.Streams) > 0
}

// Reload swaps the rate limits (buckets of unchanged limits keep their state).
func (acc *Access) Reload(cfg AccessConfig) error {
	if acc == nil || acc.limits == nil {
		return errors.New("rate limits can be reloaded only when the service started with some")
	}
	return acc.limits.Reload(cfg.RateLimits)
}

// Close stops the JWKS refresher.
func (acc *Access) Close() {
	if acc != nil {
		acc.auth.Close()
	}
}

// streamExt is what the edge keeps in fastpath.Stream.Ext: the stream's compiled policy (nil when
// its auth setting did not compile: every event is refused, fail closed) and its index in the
// snapshot's stream list (the CORS table's stream index).
type streamExt struct {
	name      string // the configured name (a /regex/ stream's), the stream rate limit's key
	policy    *auth.Policy
	policyErr string
	index     atomic.Int32
	// unauthorized counts refused events by principal kind, labelled with the configured name (a
	// /regex/ stream's, not the names it matched: client input never makes series).
	unauthorized [3]*metrics.Counter
}

// StreamHook is schemacache's Config.OnStream: it compiles each stream's access policy once per
// snapshot.
func (acc *Access) StreamHook() func(*fastpath.Stream) {
	return func(st *fastpath.Stream) {
		x := &streamExt{name: st.Name}
		x.index.Store(-1)
		for k := auth.KindAnonymous; k <= auth.KindJWT; k++ {
			x.unauthorized[k] = metrics.GetOrCreateCounter(`intake_events_unauthorized_total{stream="` +
				labelEscape(st.Name) + `",principal_kind="` + k.String() + `"}`)
		}
		spec := auth.PolicySpec{Debug: st.Access.AllowDebug}
		switch st.Access.Auth {
		case "none", "required":
			spec.Auth = auth.AuthSetting{st.Access.Auth}
		case "list":
			spec.Auth = auth.AuthSetting(st.Access.Principals)
			if len(spec.Auth) == 0 {
				// An empty list must not fall back to the default: nobody is listed.
				x.policyErr = fmt.Sprintf("stream %q lists no principal in its auth setting", st.Name)
			}
		}
		if x.policyErr == "" {
			pol, err := acc.auth.Policy(spec)
			if err != nil {
				x.policyErr = fmt.Sprintf("stream %q has an auth setting intake cannot use: %s", st.Name, err)
			}
			x.policy = pol
		}
		st.Ext = x
	}
}

// snapTables are the per-snapshot tables: CORS by stream index.
type snapTables struct {
	cors *cors.Table
}

var corsConfigErrors = metrics.NewCounter(`intake_cors_config_errors_total`)

// buildTables builds the tables of snap (Access.tables).
func (acc *Access) buildTables(snap *schemacache.Snapshot) *snapTables {
	streams := snap.Streams()
	per := make([]cors.StreamOrigins, len(streams))
	for i, st := range streams {
		per[i] = cors.StreamOrigins{Stream: st.Name, Origins: st.Access.AllowedOrigins}
		if x := extOf(st); x != nil {
			x.index.Store(int32(i))
		}
	}
	table, err := cors.NewTable(acc.origins, per, acc.corsOpt)
	if err != nil {
		// A stream's bad origin list must not open or close the others: drop the stream lists.
		corsConfigErrors.Inc()
		table, _ = cors.NewTable(acc.origins, nil, acc.corsOpt)
	}
	return &snapTables{cors: table}
}

// Per-request outcomes of the access layer.
var (
	authRefused     = metrics.NewCounter(`intake_http_auth_refused_total`)
	corsRefused     = metrics.NewCounter(`intake_cors_refused_total{kind="preflight"}`)
	corsEventRefuse = metrics.NewCounter(`intake_cors_refused_total{kind="event"}`)
)

// labelEscape escapes a configured stream name for a metric label value.
func labelEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// retryAfterHeader sets Retry-After for a rate-limit refusal.
func retryAfterHeader(ctx *fasthttp.RequestCtx, d time.Duration) {
	ctx.Response.Header.Set("Retry-After", itoa(ratelimit.RetryAfterSeconds(d)))
}

// extOf is the access layer's part of st; nil when no access layer compiled the stream.
func extOf(st *fastpath.Stream) *streamExt {
	x, _ := st.Ext.(*streamExt)
	return x
}

// authorize decides whether p may write st's events (x is extOf(st)): "" when it may, else the
// reason.
func authorize(p *auth.Principal, st *fastpath.Stream, x *streamExt) string {
	if x == nil {
		return "" // no access layer compiled this stream: everyone may write
	}
	if x.policy == nil {
		return x.policyErr
	}
	if ok, reason := auth.Authorize(p, x.policy, st.Name); !ok {
		if p == nil {
			p = auth.Anonymous
		}
		if int(p.Kind) < len(x.unauthorized) {
			x.unauthorized[p.Kind].Inc()
		}
		return reason
	}
	return ""
}

// caller is the request's fastpath.Caller: its principal and browser origin against the
// snapshot's per-stream policies, and the stream rate limits. It lives in the pooled request state.
type caller struct {
	p          *auth.Principal
	origin     []byte // the Origin header; nil when none (not a browser, or a same-origin page)
	cors       *cors.Table
	limits     *ratelimit.Set
	retryAfter time.Duration // the longest Retry-After of the events a stream limit refused
	debug      bool          // the request asks for developer mode (?debug=true, X-Intake-Debug: 1)
}

// MayWrite implements fastpath.Caller: the stream's policy, then the browser origin.
func (c *caller) MayWrite(st *fastpath.Stream) string {
	x := extOf(st)
	if reason := authorize(c.p, st, x); reason != "" {
		return reason
	}
	if c.debug {
		// Slow path: developer mode only for callers flagged for it, on streams that allow it.
		if x == nil || x.policy == nil || !c.p.MayDebug(x.policy) {
			return "developer mode is not allowed for " + principalText(c.p) + " on stream " + strconv.Quote(st.Name)
		}
	}
	if len(c.origin) > 0 {
		idx := -1
		if x != nil {
			idx = int(x.index.Load())
		}
		if !c.cors.AllowedFor(c.origin, idx) {
			corsEventRefuse.Inc()
			// Slow path: the origin is quoted (escaped), never echoed raw.
			return "origin " + strconv.Quote(string(c.origin)) + " may not send events to stream " + strconv.Quote(st.Name)
		}
	}
	return ""
}

// allowEvent takes a token of the event's stream limit (keyed by the configured name).
func (c *caller) allowEvent(st *fastpath.Stream, now time.Time) (bool, time.Duration) {
	name := st.Name
	if x := extOf(st); x != nil {
		name = x.name
	}
	return c.limits.AllowEvent(name, now)
}

// admit authenticates the request and applies the per-request limits; it sets CORS headers for an
// allowed origin on whatever the answer is. It returns the status it answered, or 0 to go on.
// A request in developer mode (st.devMode) has it checked per stream by MayWrite. snap must be
// the snapshot the request's events are processed with.
func (s *Server) admit(ctx *fasthttp.RequestCtx, acc *Access, st *requestState, snap *schemacache.Snapshot, now time.Time) int {
	h := &ctx.Request.Header
	tables := acc.tables.get(snap)
	origin := h.Peek("Origin")
	if len(origin) > 0 {
		tables.cors.Apply(origin, &ctx.Response.Header, tables.cors.Credentials())
	}
	p, err := acc.auth.Authenticate(h.Peek("Authorization"), h.Peek("X-API-Key"), ctx.QueryArgs().Peek("api_key"))
	if err != nil {
		authRefused.Inc()
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		return s.respondError(ctx, fasthttp.StatusUnauthorized, err.Error())
	}
	if acc.limits != nil {
		key := ""
		if p.Kind != auth.KindAnonymous {
			key = p.Name
		}
		if ok, d, scope := acc.limits.AllowRequest(s.rateLimitAddr(ctx), key, now); !ok {
			retryAfterHeader(ctx, d)
			return s.respondError(ctx, fasthttp.StatusTooManyRequests,
				"too many requests from this "+limiterSubject[scope]+"; retry after "+itoa(ratelimit.RetryAfterSeconds(d))+"s")
		}
	}
	st.caller = caller{p: p, origin: origin, cors: tables.cors, limits: acc.limits, debug: st.devMode}
	return 0
}

var limiterSubject = [...]string{ratelimit.ScopeIP: "client address", ratelimit.ScopePrincipal: "caller", ratelimit.ScopeStream: "stream"}

// handlePreflight answers OPTIONS /v1/events: 204, with CORS headers only for an allowed origin
// (their absence is the refusal).
func (s *Server) handlePreflight(ctx *fasthttp.RequestCtx) int {
	h := &ctx.Request.Header
	tables := s.access.tables.get(s.cache.Current())
	if !tables.cors.Preflight(h.Peek("Origin"), h.Peek("Access-Control-Request-Method"), h.Peek("Access-Control-Request-Headers"), &ctx.Response.Header) {
		corsRefused.Inc()
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return fasthttp.StatusNoContent
}

func principalText(p *auth.Principal) string {
	if p == nil || p.Kind == auth.KindAnonymous {
		return "anonymous callers"
	}
	return "principal " + strconv.Quote(p.Name)
}
