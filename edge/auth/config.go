package auth

import (
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Config is the auth section of the service config. Field names follow the YAML keys; every
// duration and size has a default when zero.
type Config struct {
	// APIKeys are the accepted API keys, by the SHA-256 of each key: the config never holds a key.
	APIKeys []APIKey `yaml:"api_keys" json:"api_keys"`
	// JWT configures JSON Web Tokens; with no key source set, no JWT is accepted.
	JWT JWTConfig `yaml:"jwt" json:"jwt"`
	// DefaultAuth is the policy of streams whose config says nothing: "none" (the default, as
	// EventGate), "required", or principal names.
	DefaultAuth AuthSetting `yaml:"default_auth" json:"default_auth"`

	// Logger receives JWKS refresh failures (throttled); nil means slog.Default().
	Logger *slog.Logger `yaml:"-" json:"-"`
}

// APIKey is one accepted key. Several keys may share a name (a rotation: old and new key both
// valid for a while); each has its own streams and debug flag.
type APIKey struct {
	// Name is the principal's name: what policies list, logs and per-principal metrics show.
	Name string `yaml:"name" json:"name"`
	// SHA256 is the hex SHA-256 of the key (`printf %s "$KEY" | sha256sum`). Keys must be random
	// and long (32 random bytes, e.g. `openssl rand -hex 32`): the hash is all that protects them.
	SHA256 string `yaml:"sha256" json:"sha256"`
	// Streams the key may write: exact names and globs ("mediawiki.*", "*" for all).
	Streams []string `yaml:"streams" json:"streams"`
	// Debug lets the key use developer mode on streams whose policy allows it.
	Debug bool `yaml:"debug" json:"debug"`
}

// JWTConfig configures JWT verification. Key sources may be combined; JWKSURL is fetched at start
// (New fails if it cannot be) and refreshed in the background.
type JWTConfig struct {
	// HMACSecretFile holds the HS* secret: the file's bytes, surrounding white space trimmed; at
	// least 32 bytes.
	HMACSecretFile string `yaml:"hmac_secret_file" json:"hmac_secret_file"`
	// PublicKeyFile holds PEM public keys (PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE blocks),
	// RSA (2048 bits or more) or ECDSA (P-256, P-384, P-521). They have no key id: they are tried
	// for any token whose algorithm fits them.
	PublicKeyFile string `yaml:"public_key_file" json:"public_key_file"`
	// JWKSFile is a JWK Set (RFC 7517) file; RSA and EC signature keys are used, others skipped.
	JWKSFile string `yaml:"jwks_file" json:"jwks_file"`
	// JWKSURL is a JWK Set URL (an identity provider's jwks_uri).
	JWKSURL string `yaml:"jwks_url" json:"jwks_url"`
	// JWKSRefresh is how often JWKSURL is fetched again; 0 means 5m. A failed fetch keeps the last
	// good set. A token whose kid is unknown also triggers a fetch, at most one per
	// JWKSMinRefresh.
	JWKSRefresh time.Duration `yaml:"jwks_refresh" json:"jwks_refresh"`
	// JWKSMinRefresh is the least time between two fetches of JWKSURL; 0 means 10s.
	JWKSMinRefresh time.Duration `yaml:"jwks_min_refresh" json:"jwks_min_refresh"`
	// JWKSTimeout bounds one fetch of JWKSURL; 0 means 5s.
	JWKSTimeout time.Duration `yaml:"jwks_timeout" json:"jwks_timeout"`
	// Issuer, when set, must equal the token's iss.
	Issuer string `yaml:"issuer" json:"issuer"`
	// Audience, when set, must be among the token's aud.
	Audience string `yaml:"audience" json:"audience"`
	// Algorithms accepted (HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256,
	// ES384, ES512); empty means RS256 and ES256, plus HS256 when HMACSecretFile is set. "none" is
	// never accepted, and a key is only ever used with the algorithms of its type.
	Algorithms []string `yaml:"algorithms" json:"algorithms"`
	// StreamsClaim names the claim listing the streams a token may write (a list of names and
	// globs, or one space-separated string); "" means "streams". A token without it is refused.
	// The name is taken literally (a URL-like "https://example.org/streams" works; there is no
	// path syntax).
	StreamsClaim string `yaml:"streams_claim" json:"streams_claim"`
	// DebugClaim names a boolean claim that allows developer mode; "" means no JWT may use it.
	DebugClaim string `yaml:"debug_claim" json:"debug_claim"`
	// Leeway is the clock skew allowed on exp, nbf and iat; 0 means 30s, < 0 means none.
	Leeway time.Duration `yaml:"leeway" json:"leeway"`
	// CacheTTL is the longest a verified token (or a refused one) is remembered by its SHA-256,
	// never past the token's exp; 0 means 1m, < 0 disables the cache.
	CacheTTL time.Duration `yaml:"cache_ttl" json:"cache_ttl"`
	// CacheSize bounds the cached tokens; 0 means 10000.
	CacheSize int `yaml:"cache_size" json:"cache_size"`

	// HTTPClient fetches JWKSURL (for a custom CA, a proxy); nil means a plain client.
	HTTPClient *http.Client `yaml:"-" json:"-"`
}

const (
	defaultJWKSRefresh    = 5 * time.Minute
	defaultJWKSMinRefresh = 10 * time.Second
	defaultJWKSTimeout    = 5 * time.Second
	defaultLeeway         = 30 * time.Second
	defaultCacheTTL       = time.Minute
	defaultCacheSize      = 10000
	defaultStreamsClaim   = "streams"

	// minHMACSecret is RFC 7518's least HS256 key size (the hash size).
	minHMACSecret = 32
	// minRSABits refuses keys that are too weak to trust.
	minRSABits = 2048
	// maxJWKSBytes bounds a JWK Set document.
	maxJWKSBytes = 1 << 20
)

// enabled reports whether any JWT key source is configured.
func (c *JWTConfig) enabled() bool {
	return c.HMACSecretFile != "" || c.PublicKeyFile != "" || c.JWKSFile != "" || c.JWKSURL != ""
}

func (c *JWTConfig) withDefaults() JWTConfig {
	d := *c
	if d.JWKSRefresh <= 0 {
		d.JWKSRefresh = defaultJWKSRefresh
	}
	if d.JWKSMinRefresh <= 0 {
		d.JWKSMinRefresh = defaultJWKSMinRefresh
	}
	if d.JWKSTimeout <= 0 {
		d.JWKSTimeout = defaultJWKSTimeout
	}
	switch {
	case d.Leeway == 0:
		d.Leeway = defaultLeeway
	case d.Leeway < 0:
		d.Leeway = 0
	}
	if d.CacheTTL == 0 {
		d.CacheTTL = defaultCacheTTL
	}
	if d.CacheSize <= 0 {
		d.CacheSize = defaultCacheSize
	}
	if d.StreamsClaim == "" {
		d.StreamsClaim = defaultStreamsClaim
	}
	if len(d.Algorithms) == 0 {
		d.Algorithms = []string{"RS256", "ES256"}
		if d.HMACSecretFile != "" {
			d.Algorithms = append(d.Algorithms, "HS256")
		}
	}
	if d.HTTPClient == nil {
		d.HTTPClient = &http.Client{}
	}
	return d
}

// algFamily is the key type an algorithm needs, and for ECDSA the curve's bit size.
type algFamily struct {
	kind  keyKind
	curve int
}

var supportedAlgs = map[string]algFamily{
	"HS256": {kind: keyHMAC}, "HS384": {kind: keyHMAC}, "HS512": {kind: keyHMAC},
	"RS256": {kind: keyRSA}, "RS384": {kind: keyRSA}, "RS512": {kind: keyRSA},
	"PS256": {kind: keyRSA}, "PS384": {kind: keyRSA}, "PS512": {kind: keyRSA},
	"ES256": {kind: keyEC, curve: 256}, "ES384": {kind: keyEC, curve: 384}, "ES512": {kind: keyEC, curve: 521},
}

// parseKeyHash decodes an APIKey.SHA256.
func parseKeyHash(s string) ([32]byte, error) {
	var h [32]byte
	s = strings.TrimSpace(s)
	if len(s) != 64 {
		return h, fmt.Errorf("sha256 must be 64 hex digits, not %d characters", len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("sha256 is not hex: %w", err)
	}
	return h, nil
}

// checkKeyName refuses names a policy could not tell apart from its keywords, and characters
// that would garble logs and metric labels.
func checkKeyName(name string) error {
	switch name {
	case "":
		return fmt.Errorf("empty name")
	case AnonymousName, "none", "required":
		return fmt.Errorf("name %q is reserved", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\\' || c == ',' {
			return fmt.Errorf("name %q may hold only printable ASCII without spaces, quotes, backslashes or commas", name)
		}
	}
	return nil
}
