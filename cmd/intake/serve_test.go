package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"intake.dev/intake/kafkaout"
)

// TestMain lets the test binary stand in for the intake binary: with INTAKE_TEST_MAIN=1 it runs
// main's run with its arguments, so tests can start "intake serve" as a process and signal it.
func TestMain(m *testing.M) {
	if os.Getenv("INTAKE_TEST_MAIN") == "1" {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// startServe runs "intake serve args..." as a child process and returns its base URL once it
// listens. The child's stderr is kept for failure messages.
func startServe(t *testing.T, args ...string) (*exec.Cmd, string, *syncBuffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--listen", addr}, args...)...)
	cmd.Env = append(os.Environ(), "INTAKE_TEST_MAIN=1")
	cmd.Dir = "../.."
	// The child writes straight into stderr: Wait returns once everything it wrote is there (a
	// pipe read by a goroutine could still hold the last line when the test looks).
	stderr := &syncBuffer{serving: make(chan struct{})}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	serving := stderr.serving
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	select {
	case <-serving:
	case <-time.After(20 * time.Second):
		t.Fatalf("intake serve did not start:\n%s", stderr.String())
	}
	return cmd, "http://" + addr, stderr
}

// syncBuffer collects a child's log while the test reads it; serving is closed once the child
// logged that it serves.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	serving chan struct{}
	once    bool
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(p)
	if !s.once && bytes.Contains(s.b.Bytes(), []byte("intake is serving")) {
		s.once = true
		close(s.serving)
	}
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// SIGTERM in the middle of traffic: every event the edge acknowledged (202 hasty, 201 sync) is in
// Kafka after the process exits.
func TestServeFlushesEverythingAcceptedOnSIGTERM(t *testing.T) {
	broker, err := kafkaout.StartEmbedded(kafkaout.EmbeddedConfig{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	cmd, url, stderr := startServe(t, "--config", "examples/config.yaml",
		"--kafka-brokers", strings.Join(broker.Addrs(), ","), "--log-level", "info")

	body, err := os.ReadFile("../../examples/events/click.json")
	if err != nil {
		t.Fatal(err)
	}
	batch := []byte("[" + strings.TrimSuffix(strings.Repeat(string(body)+",", 100), ",") + "]")
	client := &http.Client{Timeout: 10 * time.Second}
	accepted := 0
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			path := "/v1/events?hasty=true"
			if i%2 == 1 {
				path = "/v1/events"
			}
			resp, err := client.Post(url+path, "application/json", bytes.NewReader(batch))
			if err != nil {
				done <- nil // the server is gone: what it acknowledged is counted
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			switch resp.StatusCode {
			case 201, 202:
				accepted += 100
			case 503: // shutting down: not accepted
			default:
				done <- fmt.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	}()
	time.Sleep(700 * time.Millisecond) // traffic in flight
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err := <-waitErr:
		if err != nil {
			t.Fatalf("intake serve exited with %v:\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("intake serve did not exit on SIGTERM:\n%s", stderr.String())
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if accepted == 0 {
		t.Fatalf("no request was accepted before SIGTERM:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "every accepted event was flushed") {
		t.Fatalf("no flush confirmation in the log:\n%s", stderr.String())
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addrs()...), kgo.ConsumeTopics("dev.example.click"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	found := 0
	for deadline := time.Now().Add(20 * time.Second); found < accepted && time.Now().Before(deadline); {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		found += cl.PollFetches(ctx).NumRecords()
		cancel()
	}
	if found < accepted {
		t.Fatalf("acknowledged %d events, found %d in Kafka: %d lost", accepted, found, accepted-found)
	}
	t.Logf("acknowledged %d events before SIGTERM, found %d in Kafka", accepted, found)
}

// The security flags reach the producer: against a broker demanding TLS and SCRAM, serve becomes
// ready and produces, and neither its log nor /v1/info shows the password, which comes from the
// environment. (test/kafka's TestKafkaSASLOverTLS does the same against Apache Kafka.)
func TestServeOverTLSAndSASL(t *testing.T) {
	const password = "never-shown-7f3a"
	cert, caFile := selfSignedCert(t)
	broker, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(&tls.Config{Certificates: []tls.Certificate{cert}}),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "intake", password), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	t.Setenv("INTAKE_KAFKA_SASL_PASSWORD", password)
	_, url, stderr := startServe(t, "--config", "examples/config.yaml", "--log-level", "debug",
		"--kafka-brokers", strings.Join(broker.ListenAddrs(), ","), "--kafka-tls-ca-file", caFile,
		"--kafka-sasl-mechanism", "SCRAM-SHA-256", "--kafka-sasl-user", "intake")

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if code, _ := get("/readyz"); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready over TLS and SASL after 20s:\n%s", stderr.String())
		}
	}
	body, err := os.ReadFile("../../examples/events/click.json")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url+"/v1/events", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("POST /v1/events: %d, want 201:\n%s", resp.StatusCode, stderr.String())
	}
	_, info := get("/v1/info")
	if !strings.Contains(info, `"kafka_tls":true`) || !strings.Contains(info, `"kafka_sasl_mechanism":"scram-sha-256"`) {
		t.Fatalf("/v1/info does not tell TLS and the SASL mechanism: %s", info)
	}
	if strings.Contains(info, password) {
		t.Fatalf("/v1/info shows the password: %s", info)
	}
	if strings.Contains(stderr.String(), password) {
		t.Fatalf("the log shows the password:\n%s", stderr.String())
	}
}

// selfSignedCert is a certificate for 127.0.0.1 that is its own CA, and that CA's PEM file.
func selfSignedCert(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, caFile
}
