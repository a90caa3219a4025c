//go:build !race

package auth

import (
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// Once warm, authenticating an API key (each presentation), no credential, a refused API key and
// a cached JWT, and authorizing (allowed or denied), must not allocate: they run per request and
// per event.
func TestAuthDoesNotAllocate(t *testing.T) {
	k := testKeys(t)
	cfg := jwtTestConfig(t)
	cfg.APIKeys = apiKeyConfig().APIKeys
	a := mustNew(t, cfg)
	bearerKey := []byte("Bearer " + keyAlpha)
	key := []byte(keyBeta)
	unknown := []byte("Bearer unknown-key")
	bearerJWT := []byte("Bearer " + sign(t, jwt.SigningMethodRS256, k.rsa, "", claims("svc", "mediawiki.*")))
	forged := []byte("Bearer " + sign(t, jwt.SigningMethodRS256, k.rsa2, "", claims("svc", "mediawiki.*")))
	jwtP, err := a.Authenticate(bearerJWT, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Authenticate(forged, nil, nil)
	alpha, _ := a.Authenticate(bearerKey, nil, nil)
	required := mustPolicy(t, a, true, "required")
	list := mustPolicy(t, a, true, "alpha", "svc")
	none := mustPolicy(t, a, false, "none")
	// The events' stream names, as the edge passes them: borrowed from a parsed body.
	body := []byte("mediawiki.page_change analytics.legacy.x")
	stream, other := b2s(body[:21]), b2s(body[22:])

	f := func(name string, fn func()) {
		t.Helper()
		fn() // warm-up: a denial's reason is formatted once
		if n := testing.AllocsPerRun(1000, fn); n != 0 {
			t.Fatalf("%s allocates %.2f times per call, want 0", name, n)
		}
	}
	f("API key, Authorization", func() {
		if p, err := a.Authenticate(bearerKey, nil, nil); err != nil || p.Name != "alpha" {
			t.Fatal(p, err)
		}
	})
	f("API key, X-API-Key", func() {
		if p, err := a.Authenticate(nil, key, nil); err != nil || p.Name != "beta" {
			t.Fatal(p, err)
		}
	})
	f("API key, api_key", func() {
		if p, err := a.Authenticate(nil, nil, key); err != nil || p.Name != "beta" {
			t.Fatal(p, err)
		}
	})
	f("anonymous", func() {
		if p, err := a.Authenticate(nil, nil, nil); err != nil || p != Anonymous {
			t.Fatal(p, err)
		}
	})
	f("unknown API key", func() {
		if _, err := a.Authenticate(unknown, nil, nil); err != errUnknownKey {
			t.Fatal(err)
		}
	})
	f("cached JWT", func() {
		if p, err := a.Authenticate(bearerJWT, nil, nil); err != nil || p != jwtP {
			t.Fatal(p, err)
		}
	})
	f("cached forged JWT", func() {
		if _, err := a.Authenticate(forged, nil, nil); err != errBadSignature {
			t.Fatal(err)
		}
	})
	f("Authorize allowed", func() {
		if ok, _ := Authorize(alpha, required, stream); !ok {
			t.Fatal("denied")
		}
		if ok, _ := Authorize(jwtP, list, stream); !ok {
			t.Fatal("denied")
		}
		if ok, _ := Authorize(Anonymous, none, stream); !ok {
			t.Fatal("denied")
		}
		if !alpha.MayDebug(required) {
			t.Fatal("no debug")
		}
	})
	f("Authorize denied", func() {
		if ok, _ := Authorize(alpha, required, other); ok {
			t.Fatal("allowed")
		}
		if ok, _ := Authorize(Anonymous, list, stream); ok {
			t.Fatal("allowed")
		}
	})
}
