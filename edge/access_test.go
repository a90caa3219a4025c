package edge_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"intake.dev/intake/edge"
	"intake.dev/intake/edge/auth"
	"intake.dev/intake/edge/ratelimit"
	"intake.dev/intake/internal/edgetest"
)

// accessStreams is a stream config with one stream per auth setting, all of the example click
// schema; silent.click says nothing and gets the access config's default_auth.
const accessStreams = `{"streams": {
  "open.click": {"schema_title": "example/click", "destination_event_service": "intake",
    "producers": {"intake": {"auth": "none", "allowed_origins": ["https://app.example.org"]}}},
  "required.click": {"schema_title": "example/click", "destination_event_service": "intake",
    "producers": {"intake": {"auth": "required", "allow_debug": true}}},
  "listed.click": {"schema_title": "example/click", "destination_event_service": "intake",
    "producers": {"intake": {"auth": ["backend-a", "svc-jwt"]}}},
  "silent.click": {"schema_title": "example/click", "destination_event_service": "intake"},
  "intake.error": {"schema_title": "error", "destination_event_service": "intake"}
}}`

const (
	keyA = "key-a-0123456789abcdef0123456789abcdef"
	keyB = "key-b-0123456789abcdef0123456789abcdef"
)

// accessFixture writes the keys and stream config of the access tests and returns the access
// config and the JWT signers.
type accessFixture struct {
	streamConfig string
	cfg          edge.AccessConfig
	hmac         []byte
	rsa          *rsa.PrivateKey
	ec           *ecdsa.PrivateKey
}

func newAccessFixture(t *testing.T) *accessFixture {
	t.Helper()
	dir := t.TempDir()
	fx := &accessFixture{streamConfig: filepath.Join(dir, "streams.json")}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("streams.json", []byte(accessStreams))
	fx.hmac = []byte("a-32-byte-or-longer-hmac-secret-for-tests")
	var err error
	if fx.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if fx.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	var pems []byte
	for _, pub := range []any{&fx.rsa.PublicKey, &fx.ec.PublicKey} {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		pems = append(pems, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})...)
	}
	hash := func(k string) string { h := sha256.Sum256([]byte(k)); return hex.EncodeToString(h[:]) }
	fx.cfg = edge.AccessConfig{
		Auth: auth.Config{
			APIKeys: []auth.APIKey{
				{Name: "backend-a", SHA256: hash(keyA), Streams: []string{"*.click"}, Debug: true},
				{Name: "backend-b", SHA256: hash(keyB), Streams: []string{"required.click", "listed.click", "open.click"}},
			},
			JWT: auth.JWTConfig{
				HMACSecretFile: write("hmac", fx.hmac),
				PublicKeyFile:  write("keys.pem", pems),
				Issuer:         "https://idp.example.org/",
				Audience:       "intake",
				Algorithms:     []string{"HS256", "RS256", "ES256"},
			},
			DefaultAuth: auth.AuthSetting{"required"},
		},
		AllowedOrigins: []string{"https://www.example.org"},
	}
	return fx
}

// token signs a JWT for subject sub writing streams, with claims changed by mod.
func (fx *accessFixture) token(t *testing.T, alg, sub string, streams []string, mod func(jwt.MapClaims)) string {
	t.Helper()
	now := time.Now()
	claims := jwt.MapClaims{"sub": sub, "iss": "https://idp.example.org/", "aud": "intake",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "streams": streams}
	if mod != nil {
		mod(claims)
	}
	var key any
	var method jwt.SigningMethod
	switch alg {
	case "HS256":
		key, method = fx.hmac, jwt.SigningMethodHS256
	case "RS256":
		key, method = fx.rsa, jwt.SigningMethodRS256
	case "ES256":
		key, method = fx.ec, jwt.SigningMethodES256
	}
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The auth matrix end to end: keys in each presentation, JWTs of each algorithm, expired, forged
// and wrong-audience tokens, anonymous callers; streams open to anyone, to any authenticated
// caller, to a list, and silent ones (default_auth); then exactly the accepted events in Kafka.
func TestAccessMatrix(t *testing.T) {
	fx := newAccessFixture(t)
	h := edgetest.Start(t, edgetest.Options{StreamConfig: fx.streamConfig, ServiceName: "intake", Access: &fx.cfg})
	produced := map[string]int{}
	f := func(stream string, want int, reason string, hdr ...string) {
		t.Helper()
		r := h.Post("/v1/events", []byte(click(stream)), hdr...)
		if r.Code != want {
			t.Fatalf("%s with %v: got %d %s, want %d", stream, hdr, r.Code, r.Body, want)
		}
		if reason != "" && !strings.Contains(string(r.Body), reason) {
			t.Fatalf("%s with %v: body %s does not say %q", stream, hdr, r.Body, reason)
		}
		if want == 401 && r.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("%s: 401 without WWW-Authenticate", stream)
		}
		if want == 201 {
			produced[stream]++
		}
	}
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
	hsToken := fx.token(t, "HS256", "svc-jwt", []string{"listed.click", "required.click"}, nil)

	// Anonymous.
	f("open.click", 201, "")
	f("required.click", 403, `stream \"required.click\" requires authentication`)
	f("listed.click", 403, "requires authentication")
	f("silent.click", 403, "requires authentication") // default_auth: required
	// API keys, each presentation.
	f("required.click", 201, "", bearer(keyA)...)
	f("listed.click", 201, "", "X-API-Key", keyA)
	f("silent.click", 201, "", bearer(keyA)...)
	f("open.click", 201, "", bearer(keyB)...)
	f("required.click", 201, "", "X-API-Key", keyB)
	f("listed.click", 403, `principal \"backend-b\" is not a producer of stream \"listed.click\"`, bearer(keyB)...)
	f("silent.click", 403, `may not write stream`, bearer(keyB)...)
	r := h.Post("/v1/events?api_key="+keyA, []byte(click("required.click")))
	if r.Code != 201 {
		t.Fatalf("?api_key=: got %d %s", r.Code, r.Body)
	}
	produced["required.click"]++
	f("required.click", 401, "", bearer("not-a-key-0123456789abcdef0123456789")...)
	f("open.click", 401, "", "X-API-Key", "nope") // a bad credential is never anonymous
	// JWTs.
	f("listed.click", 201, "", bearer(hsToken)...)
	f("required.click", 201, "", bearer(fx.token(t, "RS256", "svc-rs", []string{"required.click"}, nil))...)
	f("required.click", 201, "", bearer(fx.token(t, "ES256", "svc-es", []string{"required.*"}, nil))...)
	f("listed.click", 403, "is not a producer", bearer(fx.token(t, "RS256", "svc-rs", []string{"listed.click"}, nil))...)
	f("silent.click", 403, "may not write", bearer(hsToken)...)
	f("required.click", 401, "", bearer(fx.token(t, "RS256", "svc-rs", []string{"*"}, func(c jwt.MapClaims) {
		c["exp"] = time.Now().Add(-time.Hour).Unix()
	}))...)
	f("required.click", 401, "", bearer(fx.token(t, "ES256", "svc-es", []string{"*"}, func(c jwt.MapClaims) { c["aud"] = "someone-else" }))...)
	forged := hsToken[:len(hsToken)-4] + strings.Repeat("A", 4)
	if forged == hsToken {
		forged = hsToken[:len(hsToken)-4] + "BBBB"
	}
	f("listed.click", 401, "", bearer(forged)...)
	// Never echo a credential.
	r = h.Post("/v1/events", []byte(click("required.click")), bearer(forged)...)
	if strings.Contains(string(r.Body), forged) {
		t.Fatalf("the 401 body echoes the token: %s", r.Body)
	}

	// Developer mode: only a caller flagged for it, on a stream that allows it.
	if r := h.Post("/v1/events", []byte(click("required.click")), "X-API-Key", keyA, "X-Intake-Debug", "1"); r.Code != 200 ||
		!strings.Contains(string(r.Body), `"status":"accepted"`) {
		t.Fatalf("developer mode allowed: got %d %s", r.Code, r.Body)
	}
	produced["required.click"]++
	f("required.click", 403, `developer mode is not allowed for principal \"backend-b\"`, "X-API-Key", keyB, "X-Intake-Debug", "1")
	f("listed.click", 403, "developer mode is not allowed", "X-API-Key", keyA, "X-Intake-Debug", "1")
	f("open.click", 403, "developer mode is not allowed for anonymous callers", "X-Intake-Debug", "1")
	if r := h.Post("/v1/events?debug=true", []byte(click("listed.click")), "X-API-Key", keyA); r.Code != 403 {
		t.Fatalf("?debug=true on a stream without allow_debug: got %d %s", r.Code, r.Body)
	}

	// A batch of an allowed and a refused event: 207; the refused one reaches Kafka only as an
	// error event, its payload cut.
	big := click("listed.click", `"page_title_note":"`+strings.Repeat("x", 3000)+`"`)
	r = h.Post("/v1/events", []byte("["+click("required.click")+","+big+"]"), bearer(keyB)...)
	if r.Code != 207 || !strings.Contains(string(r.Body), "is not a producer") {
		t.Fatalf("mixed batch: got %d %s", r.Code, r.Body)
	}
	produced["required.click"]++

	for stream, n := range map[string]int{"open.click": 0, "required.click": 0, "listed.click": 0, "silent.click": 0} {
		n += produced[stream]
		if got := len(h.Consume("dev."+stream, n)); got != n {
			t.Fatalf("dev.%s has %d records, want %d", stream, got, n)
		}
	}
	refusedErrors := 0
	for _, rec := range h.Consume("dev.intake.error", 1) {
		ev := edgetest.MustJSON(t, rec.Value)
		raw, _ := ev["raw_event"].(string)
		if edgetest.Field(ev, "errored_stream_name") == "listed.click" && strings.Contains(raw, "xxxx") {
			refusedErrors++
			if len(raw) > edge.MaxRawErrorEvent+64 || !strings.HasSuffix(raw, "...(truncated)") {
				t.Fatalf("the refused event's raw_event is %d bytes, not cut and marked: %.80s...", len(raw), raw)
			}
		}
	}
	if refusedErrors != 1 {
		t.Fatalf("%d error events for the refused big event, want 1", refusedErrors)
	}
}

// Browsers: preflights from a table, responses with CORS headers for allowed origins, and each
// event's origin checked against its stream (global list, or the stream's allowed_origins).
func TestAccessCORS(t *testing.T) {
	fx := newAccessFixture(t)
	h := edgetest.Start(t, edgetest.Options{StreamConfig: fx.streamConfig, ServiceName: "intake", Access: &fx.cfg})
	preflight := func(origin string, wantAllowed bool) {
		t.Helper()
		req, _ := http.NewRequest("OPTIONS", h.URL+"/v1/events", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type, x-api-key")
		r := h.Do(req)
		got := r.Header.Get("Access-Control-Allow-Origin")
		if r.Code != 204 || (got == origin) != wantAllowed {
			t.Fatalf("preflight from %s: %d, Access-Control-Allow-Origin %q, want allowed %t", origin, r.Code, got, wantAllowed)
		}
	}
	preflight("https://www.example.org", true)
	preflight("https://app.example.org", true) // allowed by open.click
	preflight("https://evil.example", false)

	f := func(origin, stream string, want int, hdr ...string) {
		t.Helper()
		r := h.Post("/v1/events", []byte(click(stream)), append([]string{"Origin", origin, "Content-Type", "text/plain;charset=UTF-8"}, hdr...)...)
		if r.Code != want {
			t.Fatalf("%s -> %s: got %d %s, want %d", origin, stream, r.Code, r.Body, want)
		}
		allowed := r.Header.Get("Access-Control-Allow-Origin") == origin
		if origin != "https://evil.example" && !allowed {
			t.Fatalf("%s -> %s: no Access-Control-Allow-Origin on the answer", origin, stream)
		}
	}
	f("https://www.example.org", "open.click", 201)
	f("https://app.example.org", "open.click", 201)
	f("https://app.example.org", "required.click", 403, "X-API-Key", keyA) // not in required.click's origins
	f("https://evil.example", "open.click", 403)
	// A browser gets back nothing beyond what it sent: no event (enriched with headers a proxy may
	// have added), its index instead.
	r := h.Post("/v1/events", []byte("["+click("open.click")+","+click("open.click", `"button":"explode"`)+"]"),
		"Origin", "https://www.example.org", "X-Client-IP", "10.1.2.3")
	if r.Code != 207 || !strings.Contains(string(r.Body), `"event":null,"index":1`) || strings.Contains(string(r.Body), "Main Page") {
		t.Fatalf("browser 207: %d %s", r.Code, r.Body)
	}
	f("https://www.example.org", "required.click", 201, "X-API-Key", keyA)
	if got := len(h.Consume("dev.open.click", 3)); got != 3 {
		t.Fatalf("dev.open.click has %d records, want 3", got)
	}
}

// Rate limits: per client address behind a trusted proxy (a flood from one client leaves another
// untouched), and per stream per event; 429 with Retry-After.
func TestAccessRateLimits(t *testing.T) {
	fx := newAccessFixture(t)
	fx.cfg.RateLimits = ratelimit.Config{
		IP:      ratelimit.Scope{Rate: 1, Burst: 5},
		Streams: map[string]ratelimit.Limit{"required.click": {Rate: 0.001, Burst: 3}},
	}
	h := edgetest.Start(t, edgetest.Options{StreamConfig: fx.streamConfig, ServiceName: "intake", Access: &fx.cfg,
		Edge: func(c *edge.Config) { c.TrustedProxies = []string{"127.0.0.1/32"} }})
	flooder := []string{"X-Forwarded-For", "203.0.113.7"}
	other := []string{"X-Forwarded-For", "198.51.100.9"}
	limited := 0
	for range 20 {
		r := h.Post("/v1/events", []byte(click("open.click")), flooder...)
		switch r.Code {
		case 201:
		case 429:
			limited++
			if r.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		default:
			t.Fatalf("flood: got %d %s", r.Code, r.Body)
		}
	}
	if limited < 14 {
		t.Fatalf("%d of 20 requests from one address limited, want at least 14 (burst 5, 1/s)", limited)
	}
	for i := range 3 {
		if r := h.Post("/v1/events", []byte(click("open.click")), other...); r.Code != 201 {
			t.Fatalf("the other client's request %d: got %d %s", i, r.Code, r.Body)
		}
	}
	// The stream limit counts events: a batch of 4 to a stream with 3 tokens gets 429, 3 produced.
	body := "[" + strings.Repeat(click("required.click")+",", 3) + click("required.click") + "]"
	r := h.Post("/v1/events", []byte(body), "X-API-Key", keyA, "X-Forwarded-For", "192.0.2.1")
	if r.Code != 429 || r.Header.Get("Retry-After") == "" || !strings.Contains(string(r.Body), "rate limit") {
		t.Fatalf("stream limit: got %d %s", r.Code, r.Body)
	}
	if got := len(h.Consume("dev.required.click", 3)); got != 3 {
		t.Fatalf("dev.required.click has %d records, want 3", got)
	}
}
