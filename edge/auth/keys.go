package auth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"

	"github.com/golang-jwt/jwt/v5"
)

type keyKind uint8

const (
	keyHMAC keyKind = iota + 1
	keyRSA
	keyEC
)

// verifyKey is one key a token may be signed with. key is []byte (HMAC), *rsa.PublicKey or
// *ecdsa.PublicKey: the types golang-jwt's methods demand, so even a mistake in the family check
// below could not turn an RSA public key into an HMAC secret.
type verifyKey struct {
	kid   string // "" for keys from a secret or PEM file: tried for any kid
	alg   string // the JWK's alg, if it names one: then only that algorithm
	kind  keyKind
	curve int // EC: the curve's bit size
	key   any
}

// fits reports whether k may verify a token of algorithm alg.
func (k *verifyKey) fits(alg string) bool {
	f, ok := supportedAlgs[alg]
	if !ok || f.kind != k.kind || (k.kind == keyEC && f.curve != k.curve) {
		return false
	}
	return k.alg == "" || k.alg == alg
}

// keySet is an immutable set of verification keys.
type keySet struct {
	byKid map[string][]*verifyKey
	noKid []*verifyKey
	all   []*verifyKey
}

func newKeySet(keys ...[]*verifyKey) *keySet {
	ks := &keySet{byKid: make(map[string][]*verifyKey)}
	for _, list := range keys {
		for _, k := range list {
			ks.all = append(ks.all, k)
			if k.kid == "" {
				ks.noKid = append(ks.noKid, k)
			} else {
				ks.byKid[k.kid] = append(ks.byKid[k.kid], k)
			}
		}
	}
	return ks
}

// candidates appends to dst the keys that may verify a token with this kid and alg; known
// reports whether the kid names a key of the set (a token without kid always counts as known).
func (ks *keySet) candidates(dst []jwt.VerificationKey, kid, alg string) (_ []jwt.VerificationKey, known bool) {
	var keys []*verifyKey
	if kid == "" {
		keys, known = ks.all, true
	} else {
		keys, known = ks.byKid[kid]
	}
	for _, k := range keys {
		if k.fits(alg) {
			dst = append(dst, k.key)
		}
	}
	if kid != "" {
		for _, k := range ks.noKid {
			if k.fits(alg) {
				dst = append(dst, k.key)
			}
		}
	}
	return dst, known
}

// loadHMACSecret reads an HMAC secret file.
func loadHMACSecret(path string) (*verifyKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read jwt.hmac_secret_file: %w", err)
	}
	b = bytes.TrimSpace(b)
	if len(b) < minHMACSecret {
		return nil, fmt.Errorf("jwt.hmac_secret_file %q holds %d bytes; an HMAC secret needs at least %d", path, len(b), minHMACSecret)
	}
	return &verifyKey{kind: keyHMAC, key: b}, nil
}

// loadPEMKeys reads every public key of a PEM file.
func loadPEMKeys(path string) ([]*verifyKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read jwt.public_key_file: %w", err)
	}
	keys, err := parsePEMKeys(b)
	if err != nil {
		return nil, fmt.Errorf("jwt.public_key_file %q: %w", path, err)
	}
	return keys, nil
}

func parsePEMKeys(b []byte) ([]*verifyKey, error) {
	var keys []*verifyKey
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		var pub any
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				pub = cert.PublicKey
			}
		default:
			// Refuse rather than skip: a private key in this file is a mistake worth stopping for.
			return nil, fmt.Errorf("PEM block %q is not a public key or certificate", block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("cannot parse PEM block %q: %w", block.Type, err)
		}
		k, err := publicKey(pub)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM public key found")
	}
	return keys, nil
}

func publicKey(pub any) (*verifyKey, error) {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("RSA key of %d bits; at least %d are needed", pub.N.BitLen(), minRSABits)
		}
		return &verifyKey{kind: keyRSA, key: pub}, nil
	case *ecdsa.PublicKey:
		bits := pub.Curve.Params().BitSize
		if bits != 256 && bits != 384 && bits != 521 {
			return nil, fmt.Errorf("ECDSA curve %s is not P-256, P-384 or P-521", pub.Curve.Params().Name)
		}
		return &verifyKey{kind: keyEC, curve: bits, key: pub}, nil
	}
	return nil, fmt.Errorf("public key of type %T is not RSA or ECDSA", pub)
}

// jwk is the part of a JSON Web Key (RFC 7517, 7518) this package reads.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// parseJWKS parses a JWK Set. Keys that are not RSA or EC signature keys (encryption keys,
// OKP, symmetric keys, an alg this package does not verify) are skipped, so that an identity
// provider adding, say, an Ed25519 key does not break the set; a key that claims to be RSA or EC
// and is broken fails the whole set, since the set then cannot be trusted to be what the
// provider meant. A set with no usable key is an error.
func parseJWKS(b []byte) ([]*verifyKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %w", err)
	}
	var keys []*verifyKey
	for i, raw := range set.Keys {
		var j jwk
		if err := json.Unmarshal(raw, &j); err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		if j.Use != "" && j.Use != "sig" {
			continue
		}
		if j.Alg != "" {
			if _, ok := supportedAlgs[j.Alg]; !ok {
				continue
			}
		}
		var k *verifyKey
		var err error
		switch j.Kty {
		case "RSA":
			k, err = parseRSAJWK(&j)
		case "EC":
			k, err = parseECJWK(&j)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("key %d (kid %q): %w", i, j.Kid, err)
		}
		k.kid, k.alg = j.Kid, j.Alg
		if k.alg != "" && !k.fits(k.alg) {
			return nil, fmt.Errorf("key %d (kid %q): alg %s does not fit a %s key", i, j.Kid, j.Alg, j.Kty)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no RSA or EC signature key in the JWK Set")
	}
	return keys, nil
}

func b64(field, s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s is not base64url: %w", field, err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%s is empty", field)
	}
	return b, nil
}

func parseRSAJWK(j *jwk) (*verifyKey, error) {
	n, err := b64("n", j.N)
	if err != nil {
		return nil, err
	}
	e, err := b64("e", j.E)
	if err != nil {
		return nil, err
	}
	if len(e) > 4 {
		return nil, errors.New("e is too large")
	}
	var exp int
	for _, c := range e {
		exp = exp<<8 | int(c)
	}
	if exp < 3 || exp%2 == 0 {
		return nil, fmt.Errorf("e = %d is not a valid RSA exponent", exp)
	}
	return publicKey(&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp})
}

func parseECJWK(j *jwk) (*verifyKey, error) {
	var curve elliptic.Curve
	switch j.Crv {
	case "P-256":
		curve = elliptic.P256()
	case "P-384":
		curve = elliptic.P384()
	case "P-521":
		curve = elliptic.P521()
	default:
		return nil, fmt.Errorf("curve %q is not P-256, P-384 or P-521", j.Crv)
	}
	size := (curve.Params().BitSize + 7) / 8
	x, err := b64("x", j.X)
	if err != nil {
		return nil, err
	}
	y, err := b64("y", j.Y)
	if err != nil {
		return nil, err
	}
	if len(x) != size || len(y) != size {
		return nil, fmt.Errorf("x and y must be %d bytes for %s", size, j.Crv)
	}
	// ParseUncompressedPublicKey checks that the point is on the curve.
	point := make([]byte, 0, 1+2*size)
	point = append(append(append(point, 4), x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
	if err != nil {
		return nil, fmt.Errorf("invalid EC point: %w", err)
	}
	return publicKey(pub)
}
