package auth

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/golang-jwt/jwt/v5"
)

func TestAuthorize(t *testing.T) {
	k := testKeys(t)
	cfg := jwtTestConfig(t)
	cfg.APIKeys = []APIKey{
		{Name: "svc-mw", SHA256: keyHash("k-mw"), Streams: []string{"mediawiki.*", "test.event"}},
		{Name: "svc-legacy", SHA256: keyHash("k-legacy"), Streams: []string{"analytics.legacy.*", "x.*.y"}},
		{Name: "svc-all", SHA256: keyHash("k-all"), Streams: []string{"*"}},
	}
	a := mustNew(t, cfg)
	principal := func(key string) *Principal {
		p, err := a.Authenticate(nil, []byte(key), nil)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	mw, legacy, all := principal("k-mw"), principal("k-legacy"), principal("k-all")
	jwtP, err := a.Authenticate([]byte("Bearer "+sign(t, jwt.SigningMethodRS256, k.rsa, "", claims("svc-mw", "jwt.only"))), nil, nil)
	if err != nil {
		t.Fatal(err)
	}

	none := mustPolicy(t, a, false, "none")
	def := mustPolicy(t, a, false) // default_auth: none
	required := mustPolicy(t, a, false, "required")
	list := mustPolicy(t, a, false, "svc-mw", "svc-all")

	f := func(p *Principal, pol *Policy, stream string, wantOK bool, wantReason string) {
		t.Helper()
		for range 2 { // the second time the reason comes from the cache
			ok, reason := Authorize(p, pol, stream)
			if ok != wantOK || reason != wantReason {
				t.Fatalf("Authorize(%v, %v, %q) = %v, %q; want %v, %q", p, pol, stream, ok, reason, wantOK, wantReason)
			}
			if ok2, reason2 := p.MayWrite(pol, stream); ok2 != ok || reason2 != reason {
				t.Fatalf("MayWrite differs from Authorize")
			}
		}
	}
	// none: anyone, anonymous included, whatever their grants.
	f(Anonymous, none, "mediawiki.page_change", true, "")
	f(nil, none, "anything", true, "")
	f(mw, none, "not.granted", true, "")
	f(Anonymous, def, "mediawiki.page_change", true, "")

	// required: authenticated, and the principal's grants cover the stream.
	f(Anonymous, required, "mediawiki.page_change", false, `stream "mediawiki.page_change" requires authentication`)
	f(nil, required, "x", false, `stream "x" requires authentication`)
	f(mw, required, "mediawiki.page_change", true, "")
	f(mw, required, "mediawiki.page_change.v1", true, "")
	f(mw, required, "test.event", true, "")
	f(mw, required, "test.event2", false, `principal "svc-mw" may not write stream "test.event2"`)
	f(mw, required, "mediawiki", false, `principal "svc-mw" may not write stream "mediawiki"`)
	f(mw, required, "analytics.legacy.foo", false, `principal "svc-mw" may not write stream "analytics.legacy.foo"`)
	f(legacy, required, "analytics.legacy.foo", true, "")
	f(legacy, required, "x.a.b.y", true, "")
	f(legacy, required, "x.y", false, `principal "svc-legacy" may not write stream "x.y"`)
	f(all, required, "anything.at.all", true, "")
	f(jwtP, required, "jwt.only", true, "")
	f(jwtP, required, "mediawiki.page_change", false, `principal "svc-mw" may not write stream "mediawiki.page_change"`)

	// A list: the principal must be listed AND its grants must cover the stream.
	f(Anonymous, list, "mediawiki.page_change", false, `stream "mediawiki.page_change" requires authentication`)
	f(mw, list, "mediawiki.page_change", true, "")
	f(mw, list, "other", false, `principal "svc-mw" may not write stream "other"`)
	f(all, list, "other", true, "")
	f(legacy, list, "analytics.legacy.foo", false, `principal "svc-legacy" is not a producer of stream "analytics.legacy.foo"`)
	// JWT subjects and API key names share one name space.
	f(jwtP, list, "jwt.only", true, "")

	// No policy: fail closed.
	f(all, nil, "x", false, reasonNoPolicy)

	// The reason cache holds a copy of a borrowed stream name, not the name itself.
	buf := []byte("mediawiki.borrowed")
	_, r1 := Authorize(Anonymous, required, b2s(buf))
	copy(buf, "XXXXXXXXX")
	if _, r2 := Authorize(Anonymous, required, "mediawiki.borrowed"); r2 != r1 || !strings.Contains(r2, "mediawiki.borrowed") {
		t.Fatalf("reason cache kept borrowed memory: %q", r2)
	}
}

func TestPolicyDefault(t *testing.T) {
	a := mustNew(t, Config{DefaultAuth: AuthSetting{"required"}})
	if m := mustPolicy(t, a, false).Mode(); m != ModeRequired {
		t.Fatalf("default policy mode %v", m)
	}
	if m := mustPolicy(t, a, false, "none").Mode(); m != ModeNone {
		t.Fatalf("explicit none: %v", m)
	}
	pol := mustPolicy(t, a, true, "a", "b")
	if pol.Mode() != ModeList || pol.String() != "a,b" || !pol.Debug() {
		t.Fatalf("policy %v", pol)
	}
	f := func(auth AuthSetting, want string) {
		t.Helper()
		_, err := a.Policy(PolicySpec{Auth: auth})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Policy(%q) error %v, want %q", auth, err, want)
		}
	}
	f(AuthSetting{"a", "none"}, "must stand alone")
	f(AuthSetting{"required", "a"}, "must stand alone")
	f(AuthSetting{"a", ""}, "empty principal")
	f(AuthSetting{"anonymous"}, `use "none"`)
}

func TestMayDebug(t *testing.T) {
	a := mustNew(t, apiKeyConfig())
	alpha, _ := a.Authenticate(nil, []byte(keyAlpha), nil)
	beta, _ := a.Authenticate(nil, []byte(keyBeta), nil)
	debug := mustPolicy(t, a, true, "required")
	noDebug := mustPolicy(t, a, false, "required")
	f := func(p *Principal, pol *Policy, want bool) {
		t.Helper()
		if got := p.MayDebug(pol); got != want {
			t.Fatalf("%v.MayDebug(%v) = %v", p, pol, got)
		}
	}
	f(alpha, debug, true)
	f(alpha, noDebug, false)
	f(beta, debug, false)
	f(Anonymous, debug, false)
	f(nil, debug, false)
	f(alpha, nil, false)
}

func TestGlobMatch(t *testing.T) {
	f := func(pattern, s string, want bool) {
		t.Helper()
		if got := globMatch(pattern, s); got != want {
			t.Fatalf("globMatch(%q, %q) = %v", pattern, s, got)
		}
		g, err := compileGrants([]string{pattern})
		if err != nil {
			t.Fatal(err)
		}
		if got := g.covers(s); got != want {
			t.Fatalf("grants %q cover %q = %v", pattern, s, got)
		}
	}
	f("mediawiki.*", "mediawiki.page_change", true)
	f("mediawiki.*", "mediawiki.page_change.v1", true)
	f("mediawiki.*", "mediawiki", false)
	f("mediawiki.*", "mediawikix.page", false)
	f("mediawiki.*", "xmediawiki.page", false)
	f("analytics.legacy.*", "analytics.legacy.navtiming", true)
	f("analytics.legacy.*", "analytics.mediawiki", false)
	f("*", "", true)
	f("*", "anything", true)
	f("**", "anything", true)
	f("*.error", "mediawiki.error", true)
	f("*.error", "mediawiki.errors", false)
	f("a.*.c", "a.b.c", true)
	f("a.*.c", "a.b.b.c", true)
	f("a.*.c", "a.c", false)
	f("a*b*c", "aXbYbZc", true)
	f("a*b*c", "aXcYb", false)
	f("exact", "exact", true)
	f("exact", "exact2", false)
	f("*a*a*a*a*b", strings.Repeat("a", 50), false)
}

func TestAuthSettingUnmarshal(t *testing.T) {
	f := func(doc string, want string) {
		t.Helper()
		var y struct {
			Auth AuthSetting `yaml:"auth" json:"auth"`
		}
		if err := yaml.Unmarshal([]byte(doc), &y); err != nil {
			t.Fatalf("yaml %q: %v", doc, err)
		}
		if got := strings.Join(y.Auth, ","); got != want {
			t.Fatalf("yaml %q: %q, want %q", doc, got, want)
		}
		j, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		y.Auth = nil
		if err := json.Unmarshal(j, &y); err != nil {
			t.Fatalf("json %s: %v", j, err)
		}
		if got := strings.Join(y.Auth, ","); got != want {
			t.Fatalf("json %s: %q, want %q", j, got, want)
		}
	}
	f("auth: none", "none")
	f("auth: required", "required")
	f("auth: [svc-a, svc-b]", "svc-a,svc-b")
	f("auth:\n  - svc-a\n", "svc-a")
	f("other: 1", "")
}

func TestConfigYAML(t *testing.T) {
	doc := `
api_keys:
  - name: svc-a
    sha256: ` + keyHash("k") + `
    streams: [mediawiki.*, test.event]
    debug: true
jwt:
  jwks_url: https://idp.example.org/jwks.json
  jwks_refresh: 10m
  issuer: https://idp.example.org
  audience: intake
  algorithms: [RS256]
  streams_claim: https://example.org/streams
  debug_claim: intake_debug
  leeway: 30s
  cache_ttl: 2m
  cache_size: 5000
default_auth: required
`
	var cfg Config
	if err := yaml.Unmarshal([]byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.APIKeys) != 1 || !cfg.APIKeys[0].Debug || cfg.APIKeys[0].Streams[0] != "mediawiki.*" ||
		cfg.JWT.JWKSRefresh.String() != "10m0s" || cfg.JWT.CacheSize != 5000 || cfg.JWT.Leeway.String() != "30s" ||
		cfg.JWT.StreamsClaim != "https://example.org/streams" || cfg.DefaultAuth[0] != "required" {
		t.Fatalf("config %+v", cfg)
	}
}
