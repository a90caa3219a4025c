package auth

import (
	"fmt"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestJWTCache(t *testing.T) {
	k := testKeys(t)
	cfg := jwtTestConfig(t)
	cfg.JWT.CacheTTL = time.Minute
	a := mustNew(t, cfg)
	clock := &fakeClock{t: time.Now()}
	a.jwt.now = clock.Now
	verifications := a.jwt.verifications.Load
	f := func(tok string, wantErr *Error, wantVerifications uint64) {
		t.Helper()
		p, err := a.Authenticate([]byte("Bearer "+tok), nil, nil)
		if wantErr == nil && (err != nil || p == nil) || wantErr != nil && err != wantErr {
			t.Fatalf("got %v, %v; want %v", p, err, wantErr)
		}
		if n := verifications(); n != wantVerifications {
			t.Fatalf("%d verifications, want %d", n, wantVerifications)
		}
	}
	c := claims("svc", "x")
	c["iat"] = clock.Now().Unix()
	c["exp"] = clock.Now().Add(time.Hour).Unix()
	tok := sign(t, jwt.SigningMethodRS256, k.rsa, "", c)
	// A burst with one token: one verification.
	for range 100 {
		f(tok, nil, 1)
	}
	p1, _ := a.Authenticate([]byte("Bearer "+tok), nil, nil)
	p2, _ := a.Authenticate([]byte("Bearer "+tok), nil, nil)
	if p1 != p2 {
		t.Fatal("a cached token must give the same principal")
	}
	// Another token is verified on its own.
	tok2 := sign(t, jwt.SigningMethodES256, k.ec, "", c)
	f(tok2, nil, 2)
	f(tok2, nil, 2)
	// Refused tokens are cached too: a flood of one forged token costs one verification.
	forged := sign(t, jwt.SigningMethodRS256, k.rsa2, "", c)
	f(forged, errBadSignature, 3)
	f(forged, errBadSignature, 3)
	// A token not valid yet is not cached: it will be.
	early := sign(t, jwt.SigningMethodRS256, k.rsa, "", with(c, "nbf", clock.Now().Add(30*time.Second).Unix()))
	f(early, errNotYetValid, 4)
	f(early, errNotYetValid, 5)
	// Past the cache TTL: verified again.
	clock.Add(time.Minute + time.Second)
	f(tok, nil, 6)
	f(tok, nil, 6)
	f(early, nil, 7)
	f(early, nil, 7)

	// The TTL is capped by exp: a token expiring in 10s is not served from the cache after
	// exp + leeway.
	short := sign(t, jwt.SigningMethodRS256, k.rsa, "", with(c, "exp", clock.Now().Add(10*time.Second).Unix()))
	f(short, nil, 8)
	clock.Add(10*time.Second + cfg.JWT.Leeway - time.Second)
	f(short, nil, 8)
	clock.Add(2 * time.Second)
	f(short, errExpired, 9)
}

func TestJWTCacheDisabled(t *testing.T) {
	k := testKeys(t)
	cfg := jwtTestConfig(t)
	cfg.JWT.CacheTTL = -1
	a := mustNew(t, cfg)
	tok := sign(t, jwt.SigningMethodHS256, k.hmac, "", claims("svc", "x"))
	for i := range 3 {
		if _, err := a.Authenticate([]byte("Bearer "+tok), nil, nil); err != nil {
			t.Fatal(err)
		}
		if n := a.jwt.verifications.Load(); n != uint64(i+1) {
			t.Fatalf("%d verifications after %d requests", n, i+1)
		}
	}
}

func TestJWTCacheBounded(t *testing.T) {
	k := testKeys(t)
	cfg := jwtTestConfig(t)
	cfg.JWT.CacheSize = 32
	a := mustNew(t, cfg)
	for i := range 500 {
		tok := sign(t, jwt.SigningMethodHS256, k.hmac, "", claims(fmt.Sprintf("svc-%d", i), "x"))
		if _, err := a.Authenticate([]byte("Bearer "+tok), nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := a.jwt.cache.len(); n > 32+cacheShards {
		t.Fatalf("cache holds %d tokens, bound 32", n)
	}
}

// Concurrent misses of one token share one verification: the second waits for the first.
func TestTokenCacheFlight(t *testing.T) {
	c := newTokenCache(100)
	h := [32]byte{1}
	_, hit, f1, owner := c.begin(&h, 0)
	if hit || !owner {
		t.Fatal("first miss must own the verification")
	}
	_, hit, f2, owner := c.begin(&h, 0)
	if hit || owner || f2 != f1 {
		t.Fatal("second miss must join the first")
	}
	done := make(chan *Principal)
	go func() {
		<-f2.done
		done <- f2.p
	}()
	p := &Principal{Name: "x"}
	c.finish(&h, f1, p, nil, 0, 10)
	if got := <-done; got != p {
		t.Fatal("the waiter did not get the owner's principal")
	}
	if e, ok := c.get(&h, 5); !ok || e.p != p {
		t.Fatal("not cached")
	}
	if _, ok := c.get(&h, 10); ok {
		t.Fatal("served past its TTL")
	}
	// A purge during a verification keeps its outcome out of the cache.
	h2 := [32]byte{2}
	_, _, f3, _ := c.begin(&h2, 0)
	c.purge()
	c.finish(&h2, f3, p, nil, 0, 10)
	if _, ok := c.get(&h2, 1); ok {
		t.Fatal("a verification begun before a purge was cached")
	}
}
