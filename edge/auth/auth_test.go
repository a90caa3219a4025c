package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	keyAlpha = "alpha-3f6c1a9e0b7d4e2f8a5c6b1d9e0f7a3c"
	keyBeta  = "beta-0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f"
	keyGamma = "gamma-rotated-1b2c3d4e5f60718293a4b5c6"
)

func apiKeyConfig() Config {
	return Config{APIKeys: []APIKey{
		{Name: "alpha", SHA256: keyHash(keyAlpha), Streams: []string{"mediawiki.*", "test.event"}, Debug: true},
		{Name: "beta", SHA256: strings.ToUpper(keyHash(keyBeta)), Streams: []string{"analytics.legacy.*"}},
		// A rotation: a second key for alpha.
		{Name: "alpha", SHA256: keyHash(keyGamma), Streams: []string{"test.event"}},
	}}
}

func TestAuthenticateAPIKey(t *testing.T) {
	a := mustNew(t, apiKeyConfig())
	f := func(authorization, xAPIKey, query, wantName string, wantErr *Error) {
		t.Helper()
		p, err := a.Authenticate([]byte(authorization), []byte(xAPIKey), []byte(query))
		if wantErr != nil {
			if err != wantErr || p != nil {
				t.Fatalf("Authenticate(%q, %q, %q) = %v, %v; want error %q", authorization, xAPIKey, query, p, err, wantErr.Reason)
			}
			if !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("error %v is not ErrBadCredentials", err)
			}
			for _, secret := range []string{keyAlpha, keyBeta, "nope"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q echoes the credential", err)
				}
			}
			return
		}
		if err != nil {
			t.Fatalf("Authenticate(%q, %q, %q): %v", authorization, xAPIKey, query, err)
		}
		if p.Name != wantName {
			t.Fatalf("Authenticate(%q, %q, %q) = %q, want %q", authorization, xAPIKey, query, p.Name, wantName)
		}
	}
	// Nothing presented: anonymous.
	f("", "", "", AnonymousName, nil)
	f("  ", "\t", "", AnonymousName, nil)
	// Each presentation.
	f("Bearer "+keyAlpha, "", "", "alpha", nil)
	f("bearer "+keyAlpha, "", "", "alpha", nil)
	f("BEARER   "+keyBeta+" ", "", "", "beta", nil)
	f("", keyBeta, "", "beta", nil)
	f("", " "+keyAlpha+" ", "", "alpha", nil)
	f("", "", keyAlpha, "alpha", nil)
	f("", "", keyGamma, "alpha", nil)
	// Unknown keys: a failure, never anonymous.
	f("Bearer nope", "", "", "", errUnknownKey)
	f("", "nope", "", "", errUnknownKey)
	f("", "", "nope", "", errUnknownKey)
	f("Bearer "+keyAlpha+"x", "", "", "", errUnknownKey)
	// A JWT-shaped bearer with no JWT configured is looked up as an API key.
	f("Bearer aaa.bbb.ccc", "", "", "", errUnknownKey)
	// Malformed.
	f("Basic YWxhZGRpbjpvcGVuc2VzYW1l", "", "", "", errAuthScheme)
	f("Bearer", "", "", "", errAuthScheme)
	f("Bearer ", "", "", "", errAuthScheme)
	f("Bearer"+keyAlpha, "", "", "", errAuthScheme)
	f(keyAlpha, "", "", "", errAuthScheme)
	f("Bearer "+keyAlpha+" extra", "", "", "", errMalformedKey)
	f("", "key\x00", "", "", errMalformedKey)
	f("", "kéy", "", "", errMalformedKey)
	f("", strings.Repeat("k", maxAPIKeyLen+1), "", "", errMalformedKey)
	// More than one credential, even the same one twice.
	f("Bearer "+keyAlpha, keyAlpha, "", "", errMultipleCredentials)
	f("", keyAlpha, keyBeta, "", errMultipleCredentials)
	f("Bearer "+keyAlpha, "", keyAlpha, "", errMultipleCredentials)
}

func TestAPIKeyPrincipal(t *testing.T) {
	a := mustNew(t, apiKeyConfig())
	p, err := a.Authenticate(nil, []byte(keyAlpha), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != KindAPIKey || !p.Debug() || strings.Join(p.Grants(), ",") != "mediawiki.*,test.event" {
		t.Fatalf("principal %+v", p)
	}
	p2, _ := a.Authenticate([]byte("Bearer "+keyAlpha), nil, nil)
	if p2 != p {
		t.Fatalf("one key must give one shared principal")
	}
	if p3, _ := a.Authenticate(nil, nil, []byte(keyGamma)); p3 == p || p3.Debug() {
		t.Fatalf("a rotated key has its own grants and flags: %+v", p3)
	}
}

// jwtTestConfig accepts HS256 (secret file), RS256 and ES256 (PEM file) from the test issuer for
// the "intake" audience; debug is the debug claim.
func jwtTestConfig(t testing.TB) Config {
	k := testKeys(t)
	return Config{JWT: JWTConfig{
		HMACSecretFile: writeTemp(t, "secret", append(append([]byte(nil), k.hmac...), '\n')),
		PublicKeyFile:  writeTemp(t, "keys.pem", pemPublic(t, &k.rsa.PublicKey, &k.ec.PublicKey)),
		Issuer:         "https://idp.example.org",
		Audience:       "intake",
		Algorithms:     []string{"HS256", "RS256", "ES256"},
		DebugClaim:     "intake_debug",
		Leeway:         5 * time.Second,
	}}
}

func TestAuthenticateJWT(t *testing.T) {
	k := testKeys(t)
	a := mustNew(t, jwtTestConfig(t))
	f := func(token, wantName string, wantErr *Error) {
		t.Helper()
		p, err := a.Authenticate([]byte("Bearer "+token), nil, nil)
		if wantErr != nil {
			if err != wantErr || p != nil {
				t.Fatalf("got %v, %v; want error %q", p, err, wantErr.Reason)
			}
			if !errors.Is(err, ErrBadCredentials) || strings.Contains(err.Error(), token) {
				t.Fatalf("error %v", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("unexpected error %v", err)
		}
		if p.Name != wantName || p.Kind != KindJWT {
			t.Fatalf("principal %+v, want %q", p, wantName)
		}
	}
	c := claims("svc-a", "mediawiki.*")
	hour := time.Hour
	now := time.Now()

	// Valid, each algorithm.
	f(sign(t, jwt.SigningMethodHS256, k.hmac, "", c), "svc-a", nil)
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "", c), "svc-a", nil)
	f(sign(t, jwt.SigningMethodES256, k.ec, "", c), "svc-a", nil)
	// A kid the PEM keys do not have: PEM keys have no kid and are tried for any.
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "whatever", c), "svc-a", nil)
	// Streams as one space-separated string, an audience list, leeway on exp.
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "", with(c, "streams", "a b.*")), "svc-a", nil)
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "", with(c, "aud", []any{"other", "intake"})), "svc-a", nil)
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "", with(c, "exp", now.Add(-2*time.Second).Unix())), "svc-a", nil)

	// Time.
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "", with(c, "exp", now.Add(-hour).Unix())), "", errExpired)
	f(sign(t, jwt.SigningMethodES256, k.ec, "", with(c, "exp", now.Add(-10*time.Second).Unix())), "", errExpired)
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "", with(c, "nbf", now.Add(hour).Unix())), "", errNotYetValid)
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "", with(c, "iat", now.Add(hour).Unix())), "", errIssuedInFuture)
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "", with(c, "exp", nil)), "", errNoExpiry)
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "", with(c, "exp", "tomorrow")), "", errBadClaimType)

	// Forged: signed by keys intake does not know.
	f(sign(t, jwt.SigningMethodRS256, k.rsa2, "", c), "", errBadSignature)
	f(sign(t, jwt.SigningMethodES256, k.ec2, "", c), "", errBadSignature)
	f(sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("x", 32)), "", c), "", errBadSignature)
	good := sign(t, jwt.SigningMethodRS256, k.rsa, "", c)
	forged := sign(t, jwt.SigningMethodRS256, k.rsa, "", with(c, "streams", []any{"*"}))
	f(good[:strings.LastIndexByte(good, '.')]+forged[strings.LastIndexByte(forged, '.'):], "", errBadSignature)
	f(forged[:strings.LastIndexByte(forged, '.')]+good[strings.LastIndexByte(good, '.'):], "", errBadSignature)

	// Algorithm confusion: an HS256 token whose "secret" is the RSA public key as the server
	// holds it (its PEM and DER) must not verify, nor one signed with the ES256 key as RS256.
	f(sign(t, jwt.SigningMethodHS256, pemPublic(t, &k.rsa.PublicKey), "", c), "", errBadSignature)
	der, _ := jwt.ParseRSAPublicKeyFromPEM(pemPublic(t, &k.rsa.PublicKey))
	f(sign(t, jwt.SigningMethodHS256, der.N.Bytes(), "", c), "", errBadSignature)
	f(sign(t, jwt.SigningMethodES384, k.ec384, "", c), "", errBadAlgorithm)
	// Algorithms not configured: none, RS384 (a fine algorithm, just not accepted here), PS256.
	f(sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", c), "", errBadAlgorithm)
	f(sign(t, jwt.SigningMethodRS384, k.rsa, "", c), "", errBadAlgorithm)
	f(sign(t, jwt.SigningMethodPS256, k.rsa, "", c), "", errBadAlgorithm)
	// A header that claims RS256 over an ES256 signature.
	es := sign(t, jwt.SigningMethodES256, k.ec, "", c)
	rsHeader := strings.SplitN(sign(t, jwt.SigningMethodRS256, k.rsa, "", c), ".", 2)[0]
	f(rsHeader+es[strings.IndexByte(es, '.'):], "", errBadSignature)

	// Claims.
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "", with(c, "iss", "https://evil.example.org")), "", errBadIssuer)
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "", with(c, "iss", nil)), "", errBadIssuer)
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "", with(c, "aud", "other")), "", errBadAudience)
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "", with(c, "aud", nil)), "", errBadAudience)
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "", with(c, "streams", nil)), "", errNoStreams)
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "", with(c, "streams", []any{"a", 1})), "", errBadStreams)
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "", with(c, "streams", []any{""})), "", errBadStreams)
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "", with(c, "streams", map[string]any{"a": true})), "", errBadStreams)
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "", with(c, "sub", nil)), "", errNoSubject)
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "", with(c, "sub", AnonymousName)), "", errReservedSubject)
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "", with(c, "intake_debug", "yes")), "", errBadDebugClaim)

	// Not JWTs at all.
	f("aaa.bbb.ccc", "", errMalformedToken)
	f("e30.e30.", "", errBadAlgorithm) // no alg at all
	// An empty streams list is a principal that may write nothing.
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "", with(c, "streams", []any{})), "svc-a", nil)
}

func TestJWTPrincipal(t *testing.T) {
	k := testKeys(t)
	a := mustNew(t, jwtTestConfig(t))
	f := func(c jwt.MapClaims, wantDebug bool, wantGrants string) {
		t.Helper()
		p, err := a.Authenticate([]byte("Bearer "+sign(t, jwt.SigningMethodES256, k.ec, "", c)), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.Debug() != wantDebug || strings.Join(p.Grants(), ",") != wantGrants {
			t.Fatalf("principal %+v: debug %v grants %q; want %v %q", p, p.Debug(), p.Grants(), wantDebug, wantGrants)
		}
	}
	c := claims("svc-b", "a", "b.*")
	f(c, false, "a,b.*")
	f(with(c, "intake_debug", true), true, "a,b.*")
	f(with(c, "intake_debug", false), false, "a,b.*")
	f(with(c, "streams", " x  y.* "), false, "x,y.*")
}

// A configured HS256 with only an RSA key: no key fits an HS256 token, whatever it was signed
// with, so the RSA key is never tried as a secret.
func TestAlgConfusionWithoutSecret(t *testing.T) {
	k := testKeys(t)
	a := mustNew(t, Config{JWT: JWTConfig{
		PublicKeyFile: writeTemp(t, "rsa.pem", pemPublic(t, &k.rsa.PublicKey)),
		Algorithms:    []string{"HS256", "RS256"},
	}})
	c := claims("svc", "x")
	for _, key := range [][]byte{pemPublic(t, &k.rsa.PublicKey), k.rsa.PublicKey.N.Bytes()} {
		_, err := a.Authenticate([]byte("Bearer "+sign(t, jwt.SigningMethodHS256, key, "", c)), nil, nil)
		if err != errBadAlgorithm {
			t.Fatalf("got %v, want %v", err, errBadAlgorithm)
		}
	}
	if _, err := a.Authenticate([]byte("Bearer "+sign(t, jwt.SigningMethodRS256, k.rsa, "", c)), nil, nil); err != nil {
		t.Fatal(err)
	}
}

func TestJWKSFile(t *testing.T) {
	k := testKeys(t)
	a := mustNew(t, Config{JWT: JWTConfig{
		JWKSFile: writeTemp(t, "jwks.json", jwksJSON(
			jwkJSON("r1", &k.rsa.PublicKey),
			jwkJSON("e1", &k.ec.PublicKey),
			map[string]any{"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
			map[string]any{"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
		)),
	}})
	f := func(token string, wantErr *Error) {
		t.Helper()
		_, err := a.Authenticate([]byte("Bearer "+token), nil, nil)
		if wantErr == nil && err != nil || wantErr != nil && err != wantErr {
			t.Fatalf("got %v, want %v", err, wantErr)
		}
	}
	c := claims("svc", "x")
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "r1", c), nil)
	f(sign(t, jwt.SigningMethodES256, k.ec, "e1", c), nil)
	// No kid: every key that fits the algorithm is tried.
	f(sign(t, jwt.SigningMethodES256, k.ec, "", c), nil)
	// A known kid, the wrong key behind it.
	f(sign(t, jwt.SigningMethodRS256, k.rsa2, "r1", c), errBadSignature)
	// The kid of an EC key on an RS256 token: no key fits.
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "e1", c), errBadAlgorithm)
	// An unknown kid, with no JWKS URL to refresh.
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "r9", c), errUnknownSigningKey)
	// The JWK says RS256 only.
	f(sign(t, jwt.SigningMethodPS256, k.rsa, "r1", c), errBadAlgorithm)
}

func TestNewConfigErrors(t *testing.T) {
	k := testKeys(t)
	f := func(cfg Config, want string) {
		t.Helper()
		a, err := New(cfg)
		if err == nil {
			a.Close()
			t.Fatalf("New succeeded, want an error with %q", want)
		}
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not contain %q", err, want)
		}
	}
	key := func(name, hash string, streams ...string) Config {
		return Config{APIKeys: []APIKey{{Name: name, SHA256: hash, Streams: streams}}}
	}
	f(key("a", "abc"), "64 hex digits")
	f(key("a", strings.Repeat("zz", 32)), "not hex")
	f(key("", keyHash("x")), "empty name")
	f(key("anonymous", keyHash("x")), "reserved")
	f(key("none", keyHash("x")), "reserved")
	f(key("a b", keyHash("x")), "printable ASCII")
	f(key("a", keyHash("x"), "ok", ""), "empty stream")
	f(key("a", keyHash("x"), "bad stream"), "white space")
	f(Config{APIKeys: []APIKey{{Name: "a", SHA256: keyHash("x")}, {Name: "b", SHA256: keyHash("x")}}}, `same sha256 as key "a"`)
	f(Config{DefaultAuth: AuthSetting{"none", "a"}}, "default_auth")
	f(Config{DefaultAuth: AuthSetting{"anonymous"}}, "default_auth")

	f(Config{JWT: JWTConfig{HMACSecretFile: writeTemp(t, "s", []byte("short\n"))}}, "at least 32")
	f(Config{JWT: JWTConfig{HMACSecretFile: "/nonexistent/secret"}}, "jwt.hmac_secret_file")
	f(Config{JWT: JWTConfig{PublicKeyFile: writeTemp(t, "k", []byte("not pem"))}}, "no PEM public key")
	priv := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.rsa)})
	f(Config{JWT: JWTConfig{PublicKeyFile: writeTemp(t, "k", priv)}}, "not a public key")
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	f(Config{JWT: JWTConfig{PublicKeyFile: writeTemp(t, "k", pemPublic(t, &small.PublicKey))}}, "at least 2048")
	f(Config{JWT: JWTConfig{PublicKeyFile: writeTemp(t, "k", pemPublic(t, &k.rsa.PublicKey)), Algorithms: []string{"none"}}}, "jwt.algorithms")
	f(Config{JWT: JWTConfig{JWKSFile: writeTemp(t, "j", []byte(`{"keys":[]}`))}}, "no RSA or EC signature key")
	f(Config{JWT: JWTConfig{JWKSFile: writeTemp(t, "j", []byte(`[1]`))}}, "not a JWK Set")
	f(Config{JWT: JWTConfig{JWKSFile: writeTemp(t, "j", jwksJSON(map[string]any{"kty": "RSA", "n": "AQAB", "e": "AQAB"}))}}, "at least 2048")
	f(Config{JWT: JWTConfig{JWKSFile: writeTemp(t, "j", jwksJSON(map[string]any{"kty": "EC", "crv": "P-256", "x": "AQAB", "y": "AQAB"}))}}, "must be 32 bytes")
	bad := jwkJSON("e", &k.ec.PublicKey)
	bad["y"] = bad["x"]
	f(Config{JWT: JWTConfig{JWKSFile: writeTemp(t, "j", jwksJSON(bad))}}, "invalid EC point")
	mismatched := jwkJSON("e", &k.ec.PublicKey)
	mismatched["alg"] = "RS256"
	f(Config{JWT: JWTConfig{JWKSFile: writeTemp(t, "j", jwksJSON(mismatched))}}, "does not fit")
	f(Config{JWT: JWTConfig{JWKSURL: "http://127.0.0.1:1/jwks.json", JWKSTimeout: time.Second}}, "cannot load jwt.jwks_url")
}

func TestLooksLikeJWT(t *testing.T) {
	f := func(tok string, want bool) {
		t.Helper()
		if got := looksLikeJWT([]byte(tok)); got != want {
			t.Fatalf("looksLikeJWT(%q) = %v", tok, got)
		}
	}
	f("aaa.bbb.ccc", true)
	f("a-_.b9Z.", true)
	f("aaa.bbb", false)
	f("aaa.bbb.ccc.ddd", false)
	f(".bbb.ccc", false)
	f("aaa..ccc", false)
	f("aaa.bbb.cc=", false)
	f("aaa.bb+b.ccc", false)
	f("plain-api-key", false)
	f("", false)
}

// Many requests at once, with one token, fresh tokens, API keys and JWKS refreshes in between:
// for the race detector, and every answer must still be right.
func TestConcurrentAuthenticate(t *testing.T) {
	k := testKeys(t)
	srv := newJWKSServer(t, jwksJSON(jwkJSON("a", &k.rsa.PublicKey)))
	cfg := Config{APIKeys: apiKeyConfig().APIKeys, JWT: JWTConfig{JWKSURL: srv.URL, JWKSRefresh: time.Millisecond, CacheSize: 64}}
	a := mustNew(t, cfg)
	shared := []byte("Bearer " + sign(t, jwt.SigningMethodRS256, k.rsa, "a", claims("shared", "x")))
	var tokens [][]byte
	for i := range 50 {
		tokens = append(tokens, []byte("Bearer "+sign(t, jwt.SigningMethodRS256, k.rsa, "a", claims(fmt.Sprint("svc-", i), "x"))))
	}
	pol := mustPolicy(t, a, false, "required")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				var auth, key []byte
				switch i % 3 {
				case 0:
					auth = shared
				case 1:
					auth = tokens[(g*7+i)%len(tokens)]
				default:
					key = []byte(keyAlpha)
				}
				p, err := a.Authenticate(auth, key, nil)
				if err != nil {
					errs <- err
					return
				}
				if ok, reason := Authorize(p, pol, "x"); ok != (i%3 != 2) {
					errs <- fmt.Errorf("%s: %v %s", p.Name, ok, reason)
					return
				}
				if i%50 == 0 {
					srv.set(jwksJSON(jwkJSON("a", &k.rsa.PublicKey), jwkJSON(fmt.Sprint("e", i), &k.ec.PublicKey)))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// With nothing configured, credentials are not looked at: every caller is anonymous, as with
// EventGate, and the default policy lets them write.
func TestAuthDisabled(t *testing.T) {
	a := mustNew(t, Config{})
	if a.Enabled() {
		t.Fatal("enabled with nothing configured")
	}
	pol := mustPolicy(t, a, true)
	f := func(authorization, xAPIKey, query string) {
		t.Helper()
		p, err := a.Authenticate([]byte(authorization), []byte(xAPIKey), []byte(query))
		if err != nil || p != Anonymous {
			t.Fatalf("got %v, %v", p, err)
		}
		if ok, _ := Authorize(p, pol, "any.stream"); !ok || p.MayDebug(pol) {
			t.Fatal("anonymous under the default policy")
		}
	}
	f("", "", "")
	f("Basic YWxhZGRpbjpvcGVuc2VzYW1l", "", "")
	f("Bearer whatever", "k", "k")
	if !mustNew(t, apiKeyConfig()).Enabled() {
		t.Fatal("API keys configured, not enabled")
	}
}
