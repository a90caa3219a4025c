// Package auth authenticates intake's callers and authorizes them per stream. A request's
// credential (an API key, whose SHA-256 the config holds, or a JWT verified against HMAC, PEM or
// JWKS keys) becomes a Principal that carries the streams it may write and whether it may use
// developer mode; a Policy compiled once per stream says who may write it.
//
// It imports edge/internal/httpval (header values) and no other package of the project. Its own
// goroutine is the JWKS refresher (only with jwt.jwks_url), stopped by Close; everything else is
// pure and safe for concurrent use.
//
// # How the edge uses it
//
// At start-up (edge/access.go, NewAccess): a, err := auth.New(cfg) fails on any config error, and
// on a jwt.jwks_url that cannot be fetched; Access.Close closes it. With nothing configured,
// a.Enabled() is false and every request is Anonymous whatever it presents (EventGate's behaviour).
//
// With each stream config snapshot: pol, err := a.Policy(auth.PolicySpec{Auth: <the stream's
// producers.<service>.auth: "none", "required" or principal names>, Debug: <the stream allows
// developer mode>}); an empty Auth takes default_auth. The edge keeps pol in the stream's
// fastpath.Stream.Ext (its streamExt) and reuses it: it caches the reasons of its denials. A policy
// error refuses the stream's events (fail closed) rather than fall back to "none".
//
// Per request, before reading the body (Server.admit):
//
//	p, err := a.Authenticate(ctx.Request.Header.Peek("Authorization"),
//		ctx.Request.Header.Peek("X-API-Key"), ctx.QueryArgs().Peek("api_key"))
//
// An error is an *auth.Error, errors.Is(err, auth.ErrBadCredentials): the edge answers 401 with
// err.Error() as the message (safe: it never echoes the credential) and, per RFC 6750,
// `WWW-Authenticate: Bearer error="invalid_token"`. A failure is never treated as anonymous. The
// arguments are read only during the call. p is immutable and shared (one pointer per API key,
// per cached JWT): the request state holds the pointer, not a copy. A request that is the first
// with a JWT of an unknown kid may wait for one JWKS fetch (at most jwt.jwks_timeout, at most once
// per jwt.jwks_min_refresh).
//
// Per event, at the producer contract's step 3, once the stream is known and configured:
// fastpath cannot import this package, so it asks the request's fastpath.Caller
// (MayWrite(st *fastpath.Stream) string), which the edge implements with its caller type: that
// calls auth.Authorize(p, pol, stream) with the policy from the stream's Ext, then checks the
// browser origin. Authorize does not allocate when it allows, nor, after the first time, when it
// denies; stream may be borrowed (fastjson) memory. A nil p is Anonymous; a nil pol denies. The
// Caller is an interface holding a pointer into the pooled request state: no allocation.
//
// Developer mode: honour X-Intake-Debug / ?debug=true only if p.MayDebug(pol) (a principal
// flagged for debug, on a stream whose policy allows it; anonymous callers never are).
//
// Metrics: intake_auth_total{result} (ok, anonymous, malformed, unknown_key, bad_algorithm,
// unknown_signing_key, bad_signature, expired, not_yet_valid, bad_claims),
// intake_auth_jwt_cache_total{result="hit|miss"}, intake_jwks_refresh_total{result="ok|unchanged|error"}.
// Per-principal labels are the edge's: API key names are bounded by the config, JWT subjects are
// not (use p.Kind to label JWTs as one value, or only subjects a policy lists).
//
// Security notes: the api_key query argument ends up in access logs and proxies' logs; redact it
// wherever the edge logs URLs. Browsers send X-API-Key and Authorization only after a CORS
// preflight, so CORS must allow those headers on /v1/events.
package auth
