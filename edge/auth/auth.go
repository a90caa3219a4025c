package auth

import (
	"crypto/sha256"
	"fmt"
	"log/slog"

	"intake.dev/intake/edge/internal/httpval"
)

// Authenticator turns a request's credential into a Principal. Build one with New at start-up,
// share it between all requests (it is safe for concurrent use) and Close it at shutdown.
type Authenticator struct {
	// keys maps the SHA-256 of each API key to its principal.
	keys        map[[32]byte]*Principal
	jwt         *jwtVerifier // nil when no JWT key source is configured
	defaultAuth AuthSetting
	// enabled is false when neither API keys nor JWTs are configured: then every request is
	// anonymous, whatever headers it carries, as with EventGate.
	enabled bool
}

// New checks cfg, loads the JWT keys (a JWKS URL is fetched once now; New fails if it cannot be)
// and starts the JWKS refresher if one is configured.
func New(cfg Config) (*Authenticator, error) {
	a := &Authenticator{keys: make(map[[32]byte]*Principal, len(cfg.APIKeys))}
	for i, k := range cfg.APIKeys {
		if err := checkKeyName(k.Name); err != nil {
			return nil, fmt.Errorf("api_keys[%d]: %w", i, err)
		}
		h, err := parseKeyHash(k.SHA256)
		if err != nil {
			return nil, fmt.Errorf("api_keys[%d] (%s): %w", i, k.Name, err)
		}
		if prev, dup := a.keys[h]; dup {
			return nil, fmt.Errorf("api_keys[%d] (%s): the same sha256 as key %q", i, k.Name, prev.Name)
		}
		g, err := compileGrants(append([]string(nil), k.Streams...))
		if err != nil {
			return nil, fmt.Errorf("api_keys[%d] (%s): streams: %w", i, k.Name, err)
		}
		a.keys[h] = &Principal{Name: k.Name, Kind: KindAPIKey, debug: k.Debug, grants: g}
	}

	a.defaultAuth = cfg.DefaultAuth
	if len(a.defaultAuth) == 0 {
		a.defaultAuth = AuthSetting{"none"}
	}
	if _, err := compilePolicy(a.defaultAuth, false); err != nil {
		return nil, fmt.Errorf("default_auth: %w", err)
	}

	if cfg.JWT.enabled() {
		log := cfg.Logger
		if log == nil {
			log = slog.Default()
		}
		v, err := newJWTVerifier(cfg.JWT.withDefaults(), log)
		if err != nil {
			return nil, err
		}
		a.jwt = v
	}
	a.enabled = len(a.keys) > 0 || a.jwt != nil
	return a, nil
}

// Enabled reports whether any credential is configured. When none is, Authenticate ignores what
// requests present and every caller is Anonymous (EventGate's behaviour, so that clients that
// send an Authorization header for some proxy do not start failing).
func (a *Authenticator) Enabled() bool { return a.enabled }

// Close stops the JWKS refresher. Authenticate still works afterwards, with the last key set.
func (a *Authenticator) Close() {
	if a.jwt != nil {
		a.jwt.close()
	}
}

// Policy compiles a stream's auth policy; an empty spec.Auth takes default_auth.
func (a *Authenticator) Policy(spec PolicySpec) (*Policy, error) {
	auth := spec.Auth
	if len(auth) == 0 {
		auth = a.defaultAuth
	}
	return compilePolicy(auth, spec.Debug)
}

// Authenticate returns the principal of a request from its credential: authorization is the
// Authorization header ("Bearer <API key or JWT>"), xAPIKey the X-API-Key header, apiKeyQuery the
// URL-decoded api_key query argument (browser beacons cannot set headers); pass nil or empty for
// those absent. No credential at all is Anonymous; more than one is refused, as is a malformed,
// unknown, expired or forged one: the error is then an *Error (errors.Is ErrBadCredentials).
// With no API key and no JWT key source configured, every request is Anonymous (see Enabled).
//
// The arguments are only read during the call (fasthttp's header and argument memory may be
// passed as is); the Principal is immutable and may be kept for as long as the request needs it.
// Authenticate does not allocate for an API key, for no credential, for a failure that is not a
// JWT's, and for a JWT found in the token cache.
func (a *Authenticator) Authenticate(authorization, xAPIKey, apiKeyQuery []byte) (*Principal, error) {
	authorization, xAPIKey, apiKeyQuery = httpval.TrimOWS(authorization), httpval.TrimOWS(xAPIKey), httpval.TrimOWS(apiKeyQuery)
	n := 0
	for _, c := range [...][]byte{authorization, xAPIKey, apiKeyQuery} {
		if len(c) > 0 {
			n++
		}
	}
	switch {
	case n == 0 || !a.enabled:
		authAnonymous.Inc()
		return Anonymous, nil
	case n > 1:
		return fail(errMultipleCredentials)
	case len(authorization) > 0:
		tok, ok := bearerToken(authorization)
		if !ok {
			return fail(errAuthScheme)
		}
		if a.jwt != nil && looksLikeJWT(tok) {
			return a.jwt.authenticate(tok)
		}
		return a.apiKey(tok)
	case len(xAPIKey) > 0:
		return a.apiKey(xAPIKey)
	default:
		return a.apiKey(apiKeyQuery)
	}
}

// maxAPIKeyLen bounds what is hashed: real keys are tens of bytes.
const maxAPIKeyLen = 512

func (a *Authenticator) apiKey(key []byte) (*Principal, error) {
	if len(key) > maxAPIKeyLen {
		return fail(errMalformedKey)
	}
	for _, c := range key {
		if c <= ' ' || c >= 0x7f {
			return fail(errMalformedKey)
		}
	}
	// A map lookup by the key's SHA-256 needs no constant-time comparison: its timing can tell an
	// attacker at most how much of the digest of their guess matches a configured digest, and
	// because SHA-256 is preimage-resistant that is no help in finding a key with a wanted digest
	// (a guessed key's digest is random, so they cannot extend a matching prefix byte by byte as
	// they could against a plain comparison of keys). The keys are long random strings, so there
	// is no dictionary to try either.
	p := a.keys[sha256.Sum256(key)]
	if p == nil {
		return fail(errUnknownKey)
	}
	authOK.Inc()
	return p, nil
}

func fail(e *Error) (*Principal, error) {
	e.counter.Inc()
	return nil, e
}

// bearerToken returns the token of "Bearer <token>" (the scheme is case-insensitive, RFC 9110).
func bearerToken(h []byte) ([]byte, bool) {
	const scheme = "bearer"
	if len(h) <= len(scheme) || (h[len(scheme)] != ' ' && h[len(scheme)] != '\t') {
		return nil, false
	}
	for i := 0; i < len(scheme); i++ {
		if h[i]|0x20 != scheme[i] {
			return nil, false
		}
	}
	tok := httpval.TrimOWS(h[len(scheme):])
	return tok, len(tok) > 0
}

// looksLikeJWT reports whether tok is three base64url segments separated by dots, the first two
// not empty (the third is empty for alg "none", which is then refused as a JWT, with a clearer
// reason than an unknown API key).
func looksLikeJWT(tok []byte) bool {
	dots, seg := 0, 0
	for _, c := range tok {
		switch {
		case base64URL[c]:
			seg++
		case c == '.' && seg > 0 && dots < 2:
			dots++
			seg = 0
		default:
			return false
		}
	}
	return dots == 2
}

// base64URL is the base64url alphabet, as a table: looksLikeJWT runs on every request with a JWT.
var base64URL = func() (t [256]bool) {
	for _, r := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
		t[r] = true
	}
	return t
}()
