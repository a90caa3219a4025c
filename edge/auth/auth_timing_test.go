package auth

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// BenchmarkAuthenticate: per request. The baselines beside them are the irreducible costs: the
// SHA-256 of the credential (what an API key and a cached JWT pay), and golang-jwt's own parse
// and verify of the same token (what an uncached JWT pays on top of its claims).
func BenchmarkAuthenticate(b *testing.B) {
	k := testKeys(b)
	c := claims("svc", "mediawiki.*", "analytics.legacy.*", "test.event")
	hs := sign(b, jwt.SigningMethodHS256, k.hmac, "", c)
	rs := sign(b, jwt.SigningMethodRS256, k.rsa, "", c)
	es := sign(b, jwt.SigningMethodES256, k.ec, "", c)

	newAuth := func(cacheTTL time.Duration) *Authenticator {
		cfg := jwtTestConfig(b)
		cfg.JWT.CacheTTL = cacheTTL
		cfg.APIKeys = apiKeyConfig().APIKeys
		return mustNew(b, cfg)
	}
	cached, uncached := newAuth(0), newAuth(-1)

	run := func(name string, a *Authenticator, authorization, xAPIKey []byte) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(authorization) + len(xAPIKey)))
			for b.Loop() {
				if _, err := a.Authenticate(authorization, xAPIKey, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	run("api_key", cached, []byte("Bearer "+keyAlpha), nil)
	run("api_key_header", cached, nil, []byte(keyAlpha))
	run("anonymous", cached, nil, nil)
	run("jwt_cached_rs256", cached, []byte("Bearer "+rs), nil)
	run("jwt_uncached_hs256", uncached, []byte("Bearer "+hs), nil)
	run("jwt_uncached_rs256", uncached, []byte("Bearer "+rs), nil)
	run("jwt_uncached_es256", uncached, []byte("Bearer "+es), nil)

	b.Run("baseline_sha256_api_key", func(b *testing.B) {
		b.ReportAllocs()
		key := []byte(keyAlpha)
		b.SetBytes(int64(len(key)))
		for b.Loop() {
			_ = sha256.Sum256(key)
		}
	})
	b.Run("baseline_sha256_jwt", func(b *testing.B) {
		b.ReportAllocs()
		tok := []byte(rs)
		b.SetBytes(int64(len(tok)))
		for b.Loop() {
			_ = sha256.Sum256(tok)
		}
	})
	b.Run("baseline_golangjwt_rs256", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(rs)))
		p := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}))
		for b.Loop() {
			if _, err := p.Parse(rs, func(*jwt.Token) (any, error) { return &k.rsa.PublicKey, nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAuthorize: per event.
func BenchmarkAuthorize(b *testing.B) {
	a := mustNew(b, Config{APIKeys: []APIKey{
		{Name: "svc", SHA256: keyHash("k"), Streams: []string{
			"test.event", "other.event", "mediawiki.*", "analytics.legacy.*", "eventlogging_*", "x.*.y",
		}},
	}})
	p, err := a.Authenticate(nil, []byte("k"), nil)
	if err != nil {
		b.Fatal(err)
	}
	run := func(name string, p *Principal, pol *Policy, stream string, want bool) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if ok, _ := Authorize(p, pol, stream); ok != want {
					b.Fatal(ok)
				}
			}
		})
	}
	none := mustPolicy(b, a, false, "none")
	required := mustPolicy(b, a, false, "required")
	list := mustPolicy(b, a, false, "a", "b", "svc")
	run("none", Anonymous, none, "mediawiki.page_change", true)
	run("required_exact", p, required, "test.event", true)
	run("required_prefix_glob", p, required, "analytics.legacy.navigationtiming", true)
	run("required_inner_glob", p, required, "x.a.b.y", true)
	run("list", p, list, "mediawiki.page_change", true)
	run("denied_not_granted", p, required, "secret.stream", false)
	run("denied_anonymous", Anonymous, required, "mediawiki.page_change", false)
}
