package auth

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// jwksServer serves a JWK Set that tests swap, or fails while down.
type jwksServer struct {
	*httptest.Server
	body atomic.Pointer[[]byte]
	down atomic.Bool
	hits atomic.Int64
}

func newJWKSServer(t *testing.T, body []byte) *jwksServer {
	s := &jwksServer{}
	s.set(body)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if s.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(*s.body.Load())
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(body []byte) { s.body.Store(&body) }

func TestJWKSRotation(t *testing.T) {
	k := testKeys(t)
	srv := newJWKSServer(t, jwksJSON(jwkJSON("a", &k.rsa.PublicKey)))
	a := mustNew(t, Config{JWT: JWTConfig{
		JWKSURL:        srv.URL,
		JWKSRefresh:    time.Hour, // the test refreshes by hand
		JWKSMinRefresh: time.Nanosecond,
	}})
	v := a.jwt
	c := claims("svc", "x")
	tokA := sign(t, jwt.SigningMethodRS256, k.rsa, "a", c)
	tokB := sign(t, jwt.SigningMethodES256, k.ec, "b", c)
	f := func(tok string, wantErr *Error, wantHits int64) {
		t.Helper()
		_, err := a.Authenticate([]byte("Bearer "+tok), nil, nil)
		if wantErr == nil && err != nil || wantErr != nil && err != wantErr {
			t.Fatalf("got %v, want %v", err, wantErr)
		}
		if h := srv.hits.Load(); h != wantHits {
			t.Fatalf("JWKS fetched %d times, want %d", h, wantHits)
		}
	}
	f(tokA, nil, 1)
	// Not rotated in yet: the unknown kid triggers a fetch, which does not find it.
	f(tokB, errUnknownSigningKey, 2)
	// The provider adds b: the unknown kid's fetch picks it up.
	srv.set(jwksJSON(jwkJSON("a", &k.rsa.PublicKey), jwkJSON("b", &k.ec.PublicKey)))
	f(tokB, nil, 3)
	f(tokA, nil, 3)
	// The provider drops a: the next refresh removes it, and the cached verdict on tokA with it.
	srv.set(jwksJSON(jwkJSON("b", &k.ec.PublicKey)))
	if _, err := v.jwks.refresh(false); err != nil {
		t.Fatal(err)
	}
	f(tokA, errUnknownSigningKey, 5) // the unknown kid fetched once more
	f(tokB, nil, 5)
	// The provider is down: refreshes fail, the last good set stays.
	srv.down.Store(true)
	if _, err := v.jwks.refresh(false); err == nil {
		t.Fatal("refresh of a down JWKS succeeded")
	}
	f(tokB, nil, 6)
	f(sign(t, jwt.SigningMethodES256, k.ec, "b", with(c, "sub", "svc2")), nil, 6)
	f(sign(t, jwt.SigningMethodRS256, k.rsa, "c", c), errUnknownSigningKey, 7)
	// Back up with the same document: nothing changes, the cache is kept.
	srv.down.Store(false)
	before := v.verifications.Load()
	if _, err := v.jwks.refresh(false); err != nil {
		t.Fatal(err)
	}
	f(tokB, nil, 8)
	if n := v.verifications.Load(); n != before {
		t.Fatalf("an unchanged JWKS emptied the token cache (%d verifications)", n-before)
	}
}

// Tokens with made-up kids must not make intake hammer the identity provider.
func TestJWKSUnknownKidRateLimit(t *testing.T) {
	k := testKeys(t)
	srv := newJWKSServer(t, jwksJSON(jwkJSON("a", &k.rsa.PublicKey)))
	a := mustNew(t, Config{JWT: JWTConfig{JWKSURL: srv.URL, JWKSRefresh: time.Hour, JWKSMinRefresh: time.Hour}})
	for i := range 20 {
		tok := sign(t, jwt.SigningMethodRS256, k.rsa, "made-up-"+string(rune('a'+i)), claims("svc", "x"))
		if _, err := a.Authenticate([]byte("Bearer "+tok), nil, nil); err != errUnknownSigningKey {
			t.Fatalf("got %v", err)
		}
	}
	// The start-up fetch; the first made-up kid comes less than an hour later.
	if h := srv.hits.Load(); h != 1 {
		t.Fatalf("JWKS fetched %d times, want 1", h)
	}
}

func TestJWKSBackgroundRefresh(t *testing.T) {
	k := testKeys(t)
	srv := newJWKSServer(t, jwksJSON(jwkJSON("a", &k.rsa.PublicKey)))
	a := mustNew(t, Config{JWT: JWTConfig{JWKSURL: srv.URL, JWKSRefresh: 5 * time.Millisecond, JWKSMinRefresh: time.Hour}})
	srv.set(jwksJSON(jwkJSON("b", &k.ec.PublicKey)))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, known := a.jwt.keys.Load().candidates(nil, "b", "ES256"); known {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the background refresh did not pick up the new key")
		}
		time.Sleep(time.Millisecond)
	}
	a.Close()
	hits := srv.hits.Load()
	// After Close nothing is fetched: the refresher has stopped (Close waits for it).
	if _, err := a.jwt.jwks.refresh(true); err != nil || srv.hits.Load() != hits {
		t.Fatalf("a rate-limited refresh after Close fetched: %v", err)
	}
	a.Close() // idempotent
}

func TestJWKSStartErrors(t *testing.T) {
	srv := newJWKSServer(t, []byte(`{"keys": []}`))
	f := func(body []byte, down bool) {
		t.Helper()
		srv.set(body)
		srv.down.Store(down)
		if a, err := New(Config{JWT: JWTConfig{JWKSURL: srv.URL}}); err == nil {
			a.Close()
			t.Fatalf("New succeeded on JWKS %q (down %v)", body, down)
		}
	}
	f([]byte(`{"keys": []}`), false)
	f([]byte(`not json`), false)
	f(make([]byte, maxJWKSBytes+1), false)
	f(jwksJSON(jwkJSON("a", &testKeys(t).rsa.PublicKey)), true)
}
