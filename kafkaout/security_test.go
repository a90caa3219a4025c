package kafkaout

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

const testPassword = "s3cret-password"

func TestSecurityConfigValidation(t *testing.T) {
	f := func(cfg Config, wantErr string, check func(Config) string) {
		t.Helper()
		cfg.Brokers = []string{"127.0.0.1:9092"}
		got, err := cfg.withDefaults()
		switch {
		case wantErr == "" && err != nil:
			t.Fatalf("withDefaults(%+v): unexpected error %v", cfg, err)
		case wantErr != "" && err == nil:
			t.Fatalf("withDefaults(%+v) succeeded, want an error containing %q", cfg, wantErr)
		case wantErr != "" && !strings.Contains(err.Error(), wantErr):
			t.Fatalf("withDefaults(%+v): error %q does not contain %q", cfg, err, wantErr)
		}
		if err != nil && strings.Contains(err.Error(), testPassword) {
			t.Fatalf("the error shows the password: %v", err)
		}
		if err == nil && check != nil {
			if msg := check(got); msg != "" {
				t.Fatal(msg)
			}
		}
	}
	tlsOn := func(want bool) func(Config) string {
		return func(c Config) string {
			if c.TLS != want {
				return "TLS is not " + map[bool]string{true: "on", false: "off"}[want]
			}
			return ""
		}
	}
	mechanism := func(want string) func(Config) string {
		return func(c Config) string {
			if c.SASLMechanism != want {
				return "SASLMechanism " + c.SASLMechanism + ", want " + want
			}
			return ""
		}
	}

	// Nothing set: plaintext, no SASL.
	f(Config{}, "", tlsOn(false))
	f(Config{TLS: true}, "", tlsOn(true))
	// Any TLS setting asks for TLS.
	f(Config{TLSCAFile: "ca.pem"}, "", tlsOn(true))
	f(Config{TLSServerName: "kafka.example.org"}, "", tlsOn(true))
	f(Config{TLSInsecureSkipVerify: true}, "", tlsOn(true))
	f(Config{TLSCertFile: "c.pem", TLSKeyFile: "k.pem"}, "", tlsOn(true))
	// A client certificate is both files or neither.
	f(Config{TLSCertFile: "c.pem"}, `Config.TLSCertFile "c.pem" without Config.TLSKeyFile`, nil)
	f(Config{TLSKeyFile: "k.pem"}, `Config.TLSKeyFile "k.pem" without Config.TLSCertFile`, nil)
	// Mechanisms, in Kafka's spelling too.
	f(Config{SASLMechanism: "plain", SASLUser: "u", SASLPassword: testPassword}, "", mechanism("plain"))
	f(Config{SASLMechanism: "PLAIN", SASLUser: "u", SASLPassword: testPassword}, "", mechanism("plain"))
	f(Config{SASLMechanism: "SCRAM-SHA-256", SASLUser: "u", SASLPassword: testPassword}, "", mechanism("scram-sha-256"))
	f(Config{SASLMechanism: "scram-sha-512", SASLUser: "u", SASLPassword: testPassword}, "", mechanism("scram-sha-512"))
	f(Config{SASLMechanism: "gssapi", SASLUser: "u", SASLPassword: testPassword}, `Config.SASLMechanism "gssapi"`, nil)
	f(Config{SASLMechanism: "oauthbearer"}, "want plain, scram-sha-256 or scram-sha-512", nil)
	// A mechanism needs a user and a password; credentials need a mechanism.
	f(Config{SASLMechanism: "plain", SASLPassword: testPassword}, "Config.SASLUser", nil)
	f(Config{SASLMechanism: "scram-sha-256", SASLUser: "u"}, "Config.SASLPassword: SASL scram-sha-256 needs a password", nil)
	f(Config{SASLUser: "u", SASLPassword: testPassword}, `Config.SASLMechanism "": a SASL user or password is set`, nil)
	f(Config{SASLPassword: testPassword}, "Config.SASLMechanism", nil)
}

func TestTLSConfigFromFiles(t *testing.T) {
	pki := newTestPKI(t)
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := func(cfg Config, wantErr string, check func(*tls.Config) string) {
		t.Helper()
		cfg.Brokers = []string{"127.0.0.1:9092"}
		cfg, err := cfg.withDefaults()
		if err != nil {
			t.Fatalf("withDefaults: %v", err)
		}
		tc, err := cfg.tlsConfig()
		switch {
		case wantErr == "" && err != nil:
			t.Fatalf("tlsConfig: unexpected error %v", err)
		case wantErr != "" && err == nil:
			t.Fatalf("tlsConfig succeeded, want an error containing %q", wantErr)
		case wantErr != "" && !strings.Contains(err.Error(), wantErr):
			t.Fatalf("tlsConfig: error %q does not contain %q", err, wantErr)
		case err == nil:
			if tc.MinVersion != tls.VersionTLS12 {
				t.Fatalf("MinVersion %x, want TLS 1.2", tc.MinVersion)
			}
			if msg := check(tc); msg != "" {
				t.Fatal(msg)
			}
		}
	}
	// System roots: no pool of our own, each broker's host as the name.
	f(Config{TLS: true}, "", func(tc *tls.Config) string {
		if tc.RootCAs != nil || tc.ServerName != "" || tc.InsecureSkipVerify || len(tc.Certificates) != 0 {
			return "TLS alone must mean the system roots, verified, no client certificate"
		}
		return ""
	})
	// The CA file verifies a certificate it signed, and nothing else is trusted.
	f(Config{TLSCAFile: pki.caFile}, "", func(tc *tls.Config) string {
		if tc.RootCAs == nil {
			return "no RootCAs from the CA file"
		}
		opts := x509.VerifyOptions{Roots: tc.RootCAs, DNSName: "localhost"}
		if _, err := pki.serverCert.Leaf.Verify(opts); err != nil {
			return "the server certificate does not verify against the CA file: " + err.Error()
		}
		if _, err := newTestPKI(t).serverCert.Leaf.Verify(opts); err == nil {
			return "a certificate of another CA verifies against the CA file"
		}
		return ""
	})
	f(Config{TLSCAFile: pki.caFile, TLSCertFile: pki.clientCertFile, TLSKeyFile: pki.clientKeyFile, TLSServerName: "kafka.internal"}, "",
		func(tc *tls.Config) string {
			if len(tc.Certificates) != 1 || tc.ServerName != "kafka.internal" {
				return "no client certificate or no server name"
			}
			return ""
		})
	f(Config{TLSInsecureSkipVerify: true}, "", func(tc *tls.Config) string {
		if !tc.InsecureSkipVerify {
			return "InsecureSkipVerify is lost"
		}
		return ""
	})
	missing := filepath.Join(t.TempDir(), "missing.pem")
	f(Config{TLSCAFile: missing}, `cannot use Config.TLSCAFile "`+missing+`"`, nil)
	f(Config{TLSCAFile: notPEM}, "holds no PEM certificate", nil)
	f(Config{TLSCertFile: notPEM, TLSKeyFile: pki.clientKeyFile}, `Config.TLSCertFile "`+notPEM, nil)
	// A key that is not the certificate's.
	f(Config{TLSCertFile: pki.clientCertFile, TLSKeyFile: pki.serverKeyFile}, `with its key "`+pki.serverKeyFile+`"`, nil)
}

// A Producer over TLS with a client certificate and SASL, against kfake demanding both: records
// arrive, and Ping (what /readyz relies on) fails for a wrong password, an untrusted broker
// certificate, a missing client certificate or no TLS at all.
func TestProducerOverTLSAndSASL(t *testing.T) {
	pki := newTestPKI(t)
	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(pki.ca)
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.TLS(&tls.Config{
			Certificates: []tls.Certificate{pki.serverCert},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    clientCAs,
			MinVersion:   tls.VersionTLS12,
		}),
		kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "intake", testPassword),
		kfake.Superuser("SCRAM-SHA-256", "intake", testPassword),
		kfake.Superuser("SCRAM-SHA-512", "intake", testPassword),
		kfake.SeedTopics(1, "secure"),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	secure := Config{
		Brokers:       c.ListenAddrs(),
		TLSCAFile:     pki.caFile,
		TLSCertFile:   pki.clientCertFile,
		TLSKeyFile:    pki.clientKeyFile,
		SASLUser:      "intake",
		SASLPassword:  testPassword,
		SASLMechanism: "plain",
		Compression:   "none",
	}

	for _, mech := range []string{"plain", "scram-sha-256", "SCRAM-SHA-512"} {
		cfg := secure
		cfg.SASLMechanism = mech
		p := newProducer(t, cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := p.Ping(ctx); err != nil {
			t.Fatalf("%s: Ping: %v", mech, err)
		}
		cancel()
		b := AcquireBatch()
		b.Add(1)
		if err := p.TryProduce("secure", nil, []byte(mech), time.Time{}, b, 0); err != nil {
			t.Fatalf("%s: TryProduce: %v", mech, err)
		}
		if !b.Wait(10*time.Second) || b.Err(0) != nil {
			t.Fatalf("%s: the record was not acknowledged: %v", mech, b.Err(0))
		}
		ReleaseBatch(b)
	}
	// Read back over the same security settings.
	cfg, err := secure.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cfg.securityOpts()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append(opts, kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("secure"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []string
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for len(got) < 3 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	if strings.Join(got, ",") != "plain,scram-sha-256,SCRAM-SHA-512" {
		t.Fatalf("read back %q, want the three records", got)
	}

	// Each broken setting: Ping fails, so /readyz says not ready.
	other := newTestPKI(t)
	f := func(name string, change func(*Config), wantErr string) {
		t.Helper()
		cfg := secure
		change(&cfg)
		p := newProducer(t, cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := p.Ping(ctx)
		if err == nil {
			t.Fatalf("%s: Ping succeeded", name)
		}
		if !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("%s: Ping error %q does not contain %q", name, err, wantErr)
		}
		if strings.Contains(err.Error(), testPassword) {
			t.Fatalf("%s: the Ping error shows the password: %v", name, err)
		}
	}
	// kfake hangs up on a failed authentication (EOF); a real Kafka answers
	// SASL_AUTHENTICATION_FAILED first (test/kafka's TestKafkaSASLOverTLS).
	f("wrong password", func(c *Config) { c.SASLPassword = "wrong" }, "cannot reach any Kafka broker")
	f("wrong user, scram", func(c *Config) { c.SASLMechanism, c.SASLUser = "scram-sha-256", "nobody" }, "cannot reach any Kafka broker")
	f("another CA", func(c *Config) { c.TLSCAFile = other.caFile }, "certificate signed by unknown authority")
	f("another server name", func(c *Config) { c.TLSServerName = "kafka.example.org" }, "kafka.example.org")
	f("no client certificate", func(c *Config) { c.TLSCertFile, c.TLSKeyFile = "", "" }, "certificate required")
	f("no TLS", func(c *Config) { c.TLSCAFile, c.TLSCertFile, c.TLSKeyFile = "", "", "" }, "is TLS missing?")
}

// testPKI is a CA and the server and client certificates it signed, as PEM files in a temporary
// directory: nothing is checked in, nothing expires under a test's feet.
type testPKI struct {
	ca                            *x509.Certificate
	serverCert                    tls.Certificate
	caFile                        string
	serverKeyFile                 string
	clientCertFile, clientKeyFile string
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "intake test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{ca: ca, caFile: filepath.Join(dir, "ca.pem")}
	writePEM(t, p.caFile, "CERTIFICATE", caDER)

	leaf := func(serial int64, name string, usage x509.ExtKeyUsage, certFile, keyFile string) tls.Certificate {
		key := newKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: name},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			DNSNames:     []string{"localhost"},
			IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		writePEM(t, certFile, "CERTIFICATE", der)
		writePEM(t, keyFile, "PRIVATE KEY", keyDER)
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		return cert
	}
	p.serverKeyFile = filepath.Join(dir, "server-key.pem")
	p.serverCert = leaf(2, "localhost", x509.ExtKeyUsageServerAuth, filepath.Join(dir, "server.pem"), p.serverKeyFile)
	p.clientCertFile, p.clientKeyFile = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem")
	leaf(3, "intake", x509.ExtKeyUsageClientAuth, p.clientCertFile, p.clientKeyFile)
	return p
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
