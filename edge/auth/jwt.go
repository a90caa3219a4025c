package auth

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// jwtVerifier verifies JWTs against the configured keys and turns their claims into principals.
type jwtVerifier struct {
	cfg    JWTConfig
	parser *jwt.Parser
	algs   map[string]bool
	static []*verifyKey           // from the secret, PEM and JWKS files
	keys   atomic.Pointer[keySet] // static plus the JWKS URL's keys
	jwks   *jwksFetcher           // nil without a JWKS URL
	cache  *tokenCache            // nil when disabled
	now    func() time.Time

	// verifications counts full verifications (cache misses), for tests.
	verifications atomic.Uint64
}

var errNoFittingKey = errors.New("no key fits")

func newJWTVerifier(cfg JWTConfig, log *slog.Logger) (*jwtVerifier, error) {
	v := &jwtVerifier{cfg: cfg, algs: make(map[string]bool), now: time.Now}
	for _, alg := range cfg.Algorithms {
		if _, ok := supportedAlgs[alg]; !ok {
			return nil, fmt.Errorf("jwt.algorithms: %q is not one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512", alg)
		}
		v.algs[alg] = true
	}
	if cfg.HMACSecretFile != "" {
		k, err := loadHMACSecret(cfg.HMACSecretFile)
		if err != nil {
			return nil, err
		}
		v.static = append(v.static, k)
	}
	if cfg.PublicKeyFile != "" {
		keys, err := loadPEMKeys(cfg.PublicKeyFile)
		if err != nil {
			return nil, err
		}
		v.static = append(v.static, keys...)
	}
	if cfg.JWKSFile != "" {
		keys, err := loadJWKSFile(cfg.JWKSFile)
		if err != nil {
			return nil, err
		}
		v.static = append(v.static, keys...)
	}
	v.keys.Store(newKeySet(v.static))
	if cfg.CacheTTL > 0 {
		v.cache = newTokenCache(cfg.CacheSize)
	}

	opts := []jwt.ParserOption{
		jwt.WithValidMethods(cfg.Algorithms),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(func() time.Time { return v.now() }),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v.parser = jwt.NewParser(opts...)

	if cfg.JWKSURL != "" {
		v.jwks = newJWKSFetcher(v, log)
		if err := v.jwks.start(); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func (v *jwtVerifier) close() {
	if v.jwks != nil {
		v.jwks.stop()
	}
}

// setFetched installs the JWKS URL's keys beside the static ones and empties the token cache:
// the tokens it holds were judged with the old set.
func (v *jwtVerifier) setFetched(keys []*verifyKey) {
	v.keys.Store(newKeySet(v.static, keys))
	if v.cache != nil {
		v.cache.purge()
	}
}

// authenticate verifies tok, or finds it in the cache. tok is borrowed: it is hashed, and copied
// only on a miss.
func (v *jwtVerifier) authenticate(tok []byte) (*Principal, error) {
	if v.cache == nil {
		p, e, _ := v.verify(tok)
		return outcome(p, e)
	}
	h := sha256.Sum256(tok)
	now := v.now().UnixNano()
	// Fast path: a token seen within its cache TTL.
	if e, ok := v.cache.get(&h, now); ok {
		jwtCacheHits.Inc()
		return outcome(e.p, e.err)
	}
	e, hit, f, owner := v.cache.begin(&h, now)
	if hit {
		jwtCacheHits.Inc()
		return outcome(e.p, e.err)
	}
	if !owner {
		// Another request is verifying this very token: share its answer.
		<-f.done
		jwtCacheHits.Inc()
		return outcome(f.p, f.err)
	}
	// Slow path: verify the signature and the claims.
	jwtCacheMisses.Inc()
	p, verr, until := v.verify(tok)
	v.cache.finish(&h, f, p, verr, now, until)
	return outcome(p, verr)
}

func outcome(p *Principal, e *Error) (*Principal, error) {
	if e != nil {
		return fail(e)
	}
	authOK.Inc()
	return p, nil
}

// verify checks tok's signature and claims and builds its principal. until is how long the
// outcome may be cached: the cache TTL, capped by the token's exp for a valid one; 0 for outcomes
// that a later try could change (an unknown signing key, a token not valid yet).
func (v *jwtVerifier) verify(tok []byte) (p *Principal, e *Error, until int64) {
	v.verifications.Add(1)
	now := v.now()
	ttl := now.Add(v.cfg.CacheTTL).UnixNano()
	claims := jwt.MapClaims{}
	token, err := v.parser.ParseWithClaims(string(tok), claims, v.keyFor)
	if err != nil {
		e = classify(token, err, v.algs)
		if e == errUnknownSigningKey || e == errNotYetValid || e == errIssuedInFuture {
			return nil, e, 0
		}
		return nil, e, ttl
	}
	p, e = v.principal(claims)
	if e != nil {
		return nil, e, ttl
	}
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		until = min(ttl, exp.Add(v.cfg.Leeway).UnixNano())
	}
	return p, nil, until
}

// keyFor is the jwt.Keyfunc: the keys that may verify t, by its kid and alg. A key is offered
// only for the algorithms of its type (an HMAC secret for HS*, an RSA key for RS* and PS*, an EC
// key for the ES* of its curve), so an RSA public key can never serve as an HMAC secret.
func (v *jwtVerifier) keyFor(t *jwt.Token) (any, error) {
	alg, _ := t.Header["alg"].(string)
	if !v.algs[alg] {
		return nil, errBadAlgorithm // WithValidMethods already refused it; belt and braces
	}
	kid, _ := t.Header["kid"].(string)
	keys, known := v.keys.Load().candidates(nil, kid, alg)
	if !known && v.jwks != nil && v.jwks.refreshForUnknownKid() {
		keys, known = v.keys.Load().candidates(keys[:0], kid, alg)
	}
	switch {
	case len(keys) == 1:
		return keys[0], nil
	case len(keys) > 1:
		return jwt.VerificationKeySet{Keys: keys}, nil
	case !known:
		return nil, errUnknownSigningKey
	}
	return nil, errNoFittingKey
}

// classify maps golang-jwt's error to one of ours.
func classify(token *jwt.Token, err error, algs map[string]bool) *Error {
	switch {
	case errors.Is(err, errUnknownSigningKey):
		return errUnknownSigningKey
	case errors.Is(err, errNoFittingKey), errors.Is(err, errBadAlgorithm):
		return errBadAlgorithm
	case errors.Is(err, jwt.ErrTokenMalformed):
		return errMalformedToken
	}
	if token != nil {
		if alg, _ := token.Header["alg"].(string); !algs[alg] {
			return errBadAlgorithm // "none", an unknown alg, or one not configured
		}
	}
	switch {
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return errBadSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		return errExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return errNotYetValid
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return errIssuedInFuture
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		switch msg := err.Error(); {
		case strings.Contains(msg, "exp claim"):
			return errNoExpiry
		case strings.Contains(msg, "iss claim"):
			return errBadIssuer
		}
		return errBadAudience
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return errBadIssuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return errBadAudience
	case errors.Is(err, jwt.ErrInvalidType):
		return errBadClaimType
	}
	return errMalformedToken
}

// principal builds the principal of a verified token from its claims.
func (v *jwtVerifier) principal(claims jwt.MapClaims) (*Principal, *Error) {
	sub, _ := claims["sub"].(string)
	switch sub {
	case "":
		return nil, errNoSubject
	case AnonymousName:
		return nil, errReservedSubject
	}
	var streams []string
	switch s := claims[v.cfg.StreamsClaim].(type) {
	case nil:
		return nil, errNoStreams
	case string:
		streams = strings.Fields(s)
	case []any:
		streams = make([]string, 0, len(s))
		for _, x := range s {
			name, ok := x.(string)
			if !ok {
				return nil, errBadStreams
			}
			streams = append(streams, name)
		}
	default:
		return nil, errBadStreams
	}
	g, err := compileGrants(streams)
	if err != nil {
		return nil, errBadStreams
	}
	p := &Principal{Name: sub, Kind: KindJWT, grants: g}
	if v.cfg.DebugClaim != "" {
		switch d := claims[v.cfg.DebugClaim].(type) {
		case nil:
		case bool:
			p.debug = d
		default:
			return nil, errBadDebugClaim
		}
	}
	return p, nil
}
