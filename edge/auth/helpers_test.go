package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testKeys are generated once per test binary: no key file is checked in.
type testKeysT struct {
	rsa, rsa2 *rsa.PrivateKey
	ec, ec2   *ecdsa.PrivateKey
	ec384     *ecdsa.PrivateKey
	hmac      []byte
}

var (
	testKeysOnce sync.Once
	testKeysV    testKeysT
)

func testKeys(tb testing.TB) *testKeysT {
	tb.Helper()
	testKeysOnce.Do(func() {
		var err error
		k := &testKeysV
		if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if k.rsa2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		if k.ec2, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		if k.ec384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
			panic(err)
		}
		k.hmac = []byte(hex.EncodeToString(randomBytes(32)))
	})
	return &testKeysV
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

func writeTemp(tb testing.TB, name string, data []byte) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

func pemPublic(tb testing.TB, pubs ...any) []byte {
	tb.Helper()
	var out []byte
	for _, pub := range pubs {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})...)
	}
	return out
}

// jwkJSON is the JWK of a public key.
func jwkJSON(kid string, pub any) map[string]any {
	enc := base64.RawURLEncoding.EncodeToString
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		return map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
			"n": enc(pub.N.Bytes()), "e": enc(big.NewInt(int64(pub.E)).Bytes())}
	case *ecdsa.PublicKey:
		b, err := pub.Bytes()
		if err != nil {
			panic(err)
		}
		size := (pub.Curve.Params().BitSize + 7) / 8
		return map[string]any{"kty": "EC", "kid": kid, "crv": pub.Curve.Params().Name,
			"x": enc(b[1 : 1+size]), "y": enc(b[1+size:])}
	}
	panic("unknown key type")
}

func jwksJSON(keys ...map[string]any) []byte {
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		panic(err)
	}
	return b
}

func keyHash(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// claims returns valid claims for sub writing streams, for the issuer and audience of jwtConfig.
func claims(sub string, streams ...string) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{
		"iss": "https://idp.example.org",
		"aud": "intake",
		"iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
	if sub != "" {
		c["sub"] = sub
	}
	if streams != nil {
		list := make([]any, len(streams))
		for i, s := range streams {
			list[i] = s
		}
		c["streams"] = list
	}
	return c
}

func with(c jwt.MapClaims, kv ...any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func sign(tb testing.TB, m jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	tb.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func mustNew(tb testing.TB, cfg Config) *Authenticator {
	tb.Helper()
	a, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(a.Close)
	return a
}

func mustPolicy(tb testing.TB, a *Authenticator, debug bool, auth ...string) *Policy {
	tb.Helper()
	pol, err := a.Policy(PolicySpec{Auth: auth, Debug: debug})
	if err != nil {
		tb.Fatal(err)
	}
	return pol
}

// fakeClock is a settable clock for the JWT verifier.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
