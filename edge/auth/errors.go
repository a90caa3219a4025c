package auth

import (
	"errors"

	"github.com/VictoriaMetrics/metrics"
)

// ErrBadCredentials is what every authentication failure is (errors.Is): the request presented a
// credential that is malformed, unknown, expired or forged. Answer 401, with the *Error's
// Reason as the message; never fall back to anonymous.
var ErrBadCredentials = errors.New("bad credentials")

// Error is an authentication failure. Every Error is one of the package's fixed values, so
// returning one does not allocate, and none holds anything the client sent.
type Error struct {
	// Reason says what was wrong in words safe to send to the client; it never echoes the
	// credential.
	Reason string
	// Result is the failure's intake_auth_total result label.
	Result string

	counter *metrics.Counter
}

func (e *Error) Error() string { return e.Reason }

// Unwrap makes every Error an ErrBadCredentials.
func (e *Error) Unwrap() error { return ErrBadCredentials }

func newError(result, reason string) *Error {
	return &Error{Reason: reason, Result: result, counter: authCounter(result)}
}

// authCounter returns intake_auth_total{result}; each result is registered once, here at package
// init, through the error values below.
func authCounter(result string) *metrics.Counter {
	return metrics.GetOrCreateCounter(`intake_auth_total{result="` + result + `"}`)
}

var (
	authOK        = authCounter("ok")
	authAnonymous = authCounter("anonymous")

	jwtCacheHits   = metrics.NewCounter(`intake_auth_jwt_cache_total{result="hit"}`)
	jwtCacheMisses = metrics.NewCounter(`intake_auth_jwt_cache_total{result="miss"}`)

	jwksRefreshOK        = metrics.NewCounter(`intake_jwks_refresh_total{result="ok"}`)
	jwksRefreshUnchanged = metrics.NewCounter(`intake_jwks_refresh_total{result="unchanged"}`)
	jwksRefreshError     = metrics.NewCounter(`intake_jwks_refresh_total{result="error"}`)
)

// The failures. Results: malformed (the request's credential cannot be read), unknown_key (an API
// key not in the config), bad_algorithm, unknown_signing_key, bad_signature, expired,
// not_yet_valid, bad_claims (issuer, audience, subject, streams or debug claim).
var (
	errMultipleCredentials = newError("malformed", "more than one credential presented (Authorization, X-API-Key, api_key): send one")
	errAuthScheme          = newError("malformed", "the Authorization header must be \"Bearer <token>\"")
	errMalformedKey        = newError("malformed", "the API key is malformed")
	errUnknownKey          = newError("unknown_key", "unknown API key")

	errMalformedToken    = newError("malformed", "the token is not a well-formed JWT")
	errBadAlgorithm      = newError("bad_algorithm", "the token's signing algorithm is not accepted")
	errUnknownSigningKey = newError("unknown_signing_key", "the token is signed with an unknown key")
	errBadSignature      = newError("bad_signature", "the token's signature is invalid")
	errExpired           = newError("expired", "the token has expired")
	errNotYetValid       = newError("not_yet_valid", "the token is not valid yet")
	errIssuedInFuture    = newError("not_yet_valid", "the token is issued in the future")
	errNoExpiry          = newError("bad_claims", "the token has no exp claim")
	errBadIssuer         = newError("bad_claims", "the token's issuer is not accepted")
	errBadAudience       = newError("bad_claims", "the token's audience is not accepted")
	errBadClaimType      = newError("bad_claims", "a registered claim of the token has the wrong type")
	errNoSubject         = newError("bad_claims", "the token has no subject (sub)")
	errReservedSubject   = newError("bad_claims", "the token's subject is reserved")
	errNoStreams         = newError("bad_claims", "the token lacks the claim listing its streams")
	errBadStreams        = newError("bad_claims", "the token's streams claim is not a list of stream names")
	errBadDebugClaim     = newError("bad_claims", "the token's debug claim is not a boolean")
)
