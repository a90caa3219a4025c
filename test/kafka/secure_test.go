package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"intake.dev/intake/internal/edgetest"
)

// The secured listener of a cluster started by `KAFKA_SECURE=1 kafka.sh up` (make
// test-kafka-secure): its SASL_SSL bootstrap list and CA certificate; the user and password are
// kafka.sh's unless set.
var (
	secureBrokers  = os.Getenv("INTAKE_KAFKA_SECURE_BROKERS")
	secureCA       = os.Getenv("INTAKE_KAFKA_SECURE_CA")
	secureUser     = envOr("INTAKE_KAFKA_SECURE_USER", "intake")
	securePassword = envOr("INTAKE_KAFKA_SECURE_PASSWORD", "intake-secret")
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// The edge against Apache Kafka's SASL_SSL listener, as an operator runs it against a secured
// cluster: the broker's certificate verified against the cluster's CA, each SASL mechanism intake
// offers, the password from the environment. Every event acknowledged with 201 is read back over
// the same listener; the password never shows in the log or in /v1/info; a wrong password or an
// unverifiable broker certificate leaves the edge not ready and never answers 201.
func TestKafkaSASLOverTLS(t *testing.T) {
	if secureBrokers == "" || secureCA == "" {
		t.Skip("no secured Kafka: INTAKE_KAFKA_SECURE_BROKERS and INTAKE_KAFKA_SECURE_CA are not set (make test-kafka-secure starts one)")
	}
	bin := secureIntakeBin(t)
	for _, mech := range []string{"plain", "scram-sha-256", "scram-sha-512"} {
		t.Run(mech, func(t *testing.T) {
			p := prefix(t)
			e := startSecureEdge(t, bin, p, securePassword,
				"--kafka-tls-ca-file", secureCA, "--kafka-sasl-mechanism", mech, "--kafka-sasl-user", secureUser)
			waitReady(t, e, 30*time.Second)
			title := "over SASL " + mech + " and TLS"
			e.post("", []byte(click("example.click", 7, title)), 201)
			recs := consumeSecure(t, 1, 30*time.Second, p+"example.click")
			if len(recs) != 1 || !strings.Contains(string(recs[0].Value), title) {
				t.Fatalf("read back %d records over SASL_SSL, want the one event titled %q", len(recs), title)
			}
			// intake tail reads it back with the same flags as serve.
			tail := exec.Command(bin, "tail", "--kafka-brokers", secureBrokers, "--kafka-tls-ca-file", secureCA,
				"--kafka-sasl-mechanism", mech, "--kafka-sasl-user", secureUser,
				"--from-beginning", "--max", "1", "--idle-timeout", "20s", p+"example.click")
			tail.Env = append(os.Environ(), "INTAKE_KAFKA_SASL_PASSWORD="+securePassword)
			if out, err := tail.CombinedOutput(); err != nil || !strings.Contains(string(out), title) {
				t.Fatalf("intake tail over SASL %s and TLS: %v\n%s", mech, err, out)
			}
			code, info, err := httpDo("GET", e.url+"/v1/info", nil, nil)
			if err != nil || code != 200 {
				t.Fatalf("GET /v1/info: %d %v", code, err)
			}
			m := edgetest.MustJSON(t, info)
			if m["kafka_tls"] != true || m["kafka_sasl_mechanism"] != mech {
				t.Fatalf("/v1/info does not tell TLS and SASL %s: %s", mech, info)
			}
			if strings.Contains(string(info), securePassword) {
				t.Fatalf("/v1/info shows the SASL password: %s", info)
			}
			if err := e.stop(); err != nil {
				t.Fatalf("intake serve: %v", err)
			}
			if strings.Contains(e.log.String(), securePassword) {
				t.Fatalf("the edge log shows the SASL password:\n%s", e.log)
			}
		})
	}

	// Misconfigured: the edge runs but is not ready, and a sync event is not acknowledged.
	f := func(name, password string, args ...string) {
		t.Run(name, func(t *testing.T) {
			t.Parallel() // each waits out timeouts
			e := startSecureEdge(t, bin, prefix(t), password, append(args, "--kafka-delivery-timeout", "3s")...)
			// The broker probe starts with the server and gives up within 3s; watch past it.
			for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
				if code, _, _ := httpDo("GET", e.url+"/readyz", nil, nil); code == 200 {
					t.Fatalf("/readyz answered 200:\n%s", e.log)
				}
			}
			code, body, err := httpDo("POST", e.url+"/v1/events", []byte(click("example.click", 8, "")), nil)
			if err != nil {
				t.Fatal(err)
			}
			if code != 503 {
				t.Fatalf("POST /v1/events answered %d %s, want 503:\n%s", code, body, e.log)
			}
			t.Logf("not ready; POST answered %d %s", code, strings.TrimSpace(string(body)))
			if strings.Contains(e.log.String(), password) {
				t.Fatalf("the edge log shows the SASL password:\n%s", e.log)
			}
		})
	}
	f("wrong-password", "not-"+securePassword,
		"--kafka-tls-ca-file", secureCA, "--kafka-sasl-mechanism", "plain", "--kafka-sasl-user", secureUser)
	f("wrong-password-scram", "not-"+securePassword,
		"--kafka-tls-ca-file", secureCA, "--kafka-sasl-mechanism", "scram-sha-512", "--kafka-sasl-user", secureUser)
	// The cluster's CA is not among the system's roots.
	f("untrusted-certificate", securePassword,
		"--kafka-tls", "--kafka-sasl-mechanism", "plain", "--kafka-sasl-user", secureUser)
}

// secureIntakeBin is the intake binary TestMain built, or one built now: TestMain builds it only
// when INTAKE_KAFKA_BROKERS is set, and this test needs only the secured listener.
func secureIntakeBin(t *testing.T) string {
	t.Helper()
	if intakeBin != "" {
		return intakeBin
	}
	bin, err := edgetest.BuildIntake(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// startSecureEdge is startEdge against the secured listener, the SASL password passed as
// operators should pass it, in INTAKE_KAFKA_SASL_PASSWORD; it returns once the edge answers
// /healthz, ready or not.
func startSecureEdge(t *testing.T, bin, topicPrefix, password string, args ...string) *edge {
	t.Helper()
	return launchEdge(t, edgeRun{bin: bin, brokers: secureBrokers, topicPrefix: topicPrefix,
		env: []string{"INTAKE_KAFKA_SASL_PASSWORD=" + password}, waitFor: "/healthz", args: args})
}

func waitReady(t *testing.T, e *edge, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); ; time.Sleep(100 * time.Millisecond) {
		if code, _, err := httpDo("GET", e.url+"/readyz", nil, nil); err == nil && code == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("intake serve not ready over SASL_SSL after %s:\n%s", timeout, e.log)
		}
	}
}

// consumeSecure is consume over the secured listener, with franz-go's own TLS and SASL PLAIN
// rather than intake's settings, so a record found was written where a Kafka client expects it.
func consumeSecure(t *testing.T, n int, timeout time.Duration, topics ...string) []*kgo.Record {
	t.Helper()
	pem, err := os.ReadFile(secureCA)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in INTAKE_KAFKA_SECURE_CA %s", secureCA)
	}
	return consumeWith(t, []kgo.Opt{kgo.SeedBrokers(strings.Split(secureBrokers, ",")...),
		kgo.DialTLSConfig(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}),
		kgo.SASL(plain.Auth{User: secureUser, Pass: securePassword}.AsMechanism())}, n, timeout, topics...)
}
