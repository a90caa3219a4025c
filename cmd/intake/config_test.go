package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOptionsPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "intake.yaml")
	if err := os.WriteFile(file, []byte("listen: 127.0.0.1:1\nschema_base_uri: [a, b]\nkafka_linger: 7ms\nmax_events: 5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := func(args []string, env map[string]string, want func(*serveConfig) string) {
		t.Helper()
		for k, v := range env {
			t.Setenv(k, v)
		}
		o, sc := serveOptions()
		if err := o.parse(args); err != nil {
			t.Fatal(err)
		}
		if msg := want(sc); msg != "" {
			t.Fatal(msg)
		}
		for k := range env {
			os.Unsetenv(k)
		}
	}
	// Defaults with nothing given.
	f(nil, nil, func(s *serveConfig) string {
		if s.Listen != "127.0.0.1:8192" || len(s.Cache.SchemaBaseURIs) != 0 || s.Edge.MaxEvents != 10000 {
			return "defaults are not in force"
		}
		return ""
	})
	// The file over the defaults.
	f([]string{"--config", file}, nil, func(s *serveConfig) string {
		if s.Listen != "127.0.0.1:1" || strings.Join(s.Cache.SchemaBaseURIs, ",") != "a,b" || s.Kafka.Linger != 7*time.Millisecond || s.Edge.MaxEvents != 5 {
			return "file values are not in force"
		}
		return ""
	})
	// The environment over the file; the command line over both.
	f([]string{"--config", file, "--max-events", "9"}, map[string]string{"INTAKE_LISTEN": "127.0.0.1:2", "INTAKE_SCHEMA_BASE_URI": "x,y", "INTAKE_MAX_EVENTS": "8"},
		func(s *serveConfig) string {
			if s.Listen != "127.0.0.1:2" || strings.Join(s.Cache.SchemaBaseURIs, ",") != "x,y" || s.Edge.MaxEvents != 9 || s.Kafka.Linger != 7*time.Millisecond {
				return "precedence is wrong: " + s.Listen + " " + strings.Join(s.Cache.SchemaBaseURIs, ",")
			}
			return ""
		})
	// The config file named by the environment.
	f(nil, map[string]string{"INTAKE_CONFIG": file}, func(s *serveConfig) string {
		if s.Listen != "127.0.0.1:1" {
			return "INTAKE_CONFIG is not read"
		}
		return ""
	})
}

func TestConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bad.yaml")
	os.WriteFile(file, []byte("listen: x\nlistne: y\n"), 0o644)
	o, _ := serveOptions()
	err := o.parse([]string{"--config", file})
	if err == nil || !strings.Contains(err.Error(), "unknown keys listne") {
		t.Fatalf("a misspelled key must be an error naming it, got %v", err)
	}
	o, _ = serveOptions()
	if err := o.parse([]string{"--config", filepath.Join(dir, "missing.yaml")}); err == nil || !strings.Contains(err.Error(), "--config") {
		t.Fatalf("a missing file must be an error naming --config, got %v", err)
	}
}

func TestValidateCommand(t *testing.T) {
	f := func(input string, args []string, wantCode int, wantLines ...string) {
		t.Helper()
		var out strings.Builder
		code, err := validate(args, strings.NewReader(input), &out)
		if err != nil {
			code = 2
		}
		if code != wantCode {
			t.Fatalf("exit %d, want %d (err %v)\n%s", code, wantCode, err, out.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(wantLines) > 0 && len(lines) != len(wantLines) {
			t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(wantLines), out.String())
		}
		for i, w := range wantLines {
			if !strings.Contains(lines[i], w) {
				t.Fatalf("line %d %q lacks %q", i, lines[i], w)
			}
		}
	}
	withStreams := []string{"--schema-base-uri", "../../examples/schemas", "--stream-config", "../../examples/stream-config.json"}
	schemasOnly := []string{"--schema-base-uri", "../../examples/schemas"}
	batch, err := os.ReadFile("../../examples/events/batch.json")
	if err != nil {
		t.Fatal(err)
	}
	f(string(batch), withStreams, 1, `{"index":0,"valid":true`, `{"index":1,"valid":true`, `{"index":2,"valid":false,"errors":[{"keyword":"minimum"`)
	one, _ := os.ReadFile("../../examples/events/click.json")
	f(string(one), withStreams, 0, `{"index":0,"valid":true,"errors":[]}`)
	// NDJSON; without a stream config any stream name goes, the schema still decides.
	f(`{"$schema":"/example/click/1.0.0","dt":"2026-01-01T00:00:00Z","meta":{"stream":"anything"},"page":{"id":1},"button":"save"}
{"$schema":"/example/click/1.0.0","meta":{"stream":"anything"}}
not json`, schemasOnly, 1, `"valid":true`, `should have required property 'dt'`, `"keyword":"json"`)
	// What the edge refuses as JSON, validate refuses too.
	f(`{"$schema":"/example/click/1.0.0","dt":"2026-01-01T00:00:00Z","meta":{"stream":"x"},"page":{"id":01},"button":"save"}`,
		schemasOnly, 1, `malformed value \"01\"`)
	f(string(one), []string{"--schema-base-uri", "../../examples/schemas", "--stream-config", "/nonexistent"}, 2)
	f(string(one), nil, 2)
	f("", schemasOnly, 2)
}

// The Kafka security settings come from flags, the environment (the password's usual way in) and
// the config file like every other setting.
func TestKafkaSecurityOptions(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "intake.yaml")
	if err := os.WriteFile(file, []byte("kafka_tls_ca_file: /etc/kafka/ca.pem\nkafka_sasl_mechanism: scram-sha-512\nkafka_sasl_user: intake\nkafka_tls: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("INTAKE_KAFKA_SASL_PASSWORD", "from-env")
	o, sc := serveOptions()
	if err := o.parse([]string{"--config", file, "--kafka-tls-server-name", "kafka.internal"}); err != nil {
		t.Fatal(err)
	}
	k := &sc.Kafka
	if k.TLSCAFile != "/etc/kafka/ca.pem" || !k.TLS || k.SASLMechanism != "scram-sha-512" || k.SASLUser != "intake" ||
		k.SASLPassword != "from-env" || k.TLSServerName != "kafka.internal" || k.TLSInsecureSkipVerify {
		t.Fatalf("security settings not read: tls %v ca %q mechanism %q user %q password set %v server name %q",
			k.TLS, k.TLSCAFile, k.SASLMechanism, k.SASLUser, k.SASLPassword == "from-env", k.TLSServerName)
	}
}

// TLS or SASL settings without --kafka-brokers would otherwise run the plaintext embedded broker.
func TestServeRefusesSecurityWithEmbeddedBroker(t *testing.T) {
	f := func(args ...string) {
		t.Helper()
		err := serve(append([]string{"--schema-base-uri", "../../examples/schemas", "--stream-config", "../../examples/stream-config.json"}, args...))
		if err == nil || !strings.Contains(err.Error(), "need --kafka-brokers") {
			t.Fatalf("serve %v: got %v, want an error asking for --kafka-brokers", args, err)
		}
	}
	f("--kafka-tls")
	f("--kafka-tls-ca-file", "ca.pem")
	f("--kafka-sasl-mechanism", "plain", "--kafka-sasl-user", "u")
	f("--kafka-sasl-password", "p")
}

// The request limits are flags, environment variables and config keys like every setting; a limit
// that cannot work is refused at start-up, naming its flag.
func TestServeLimits(t *testing.T) {
	file := filepath.Join(t.TempDir(), "intake.yaml")
	if err := os.WriteFile(file, []byte("max_url_bytes: 2048\nmax_members: 500\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o, sc := serveOptions()
	t.Setenv("INTAKE_MAX_CONNS_PER_IP", "50")
	if err := o.parse([]string{"--config", file, "--max-headers", "40", "--max-gzip-ratio", "0"}); err != nil {
		t.Fatal(err)
	}
	e := &sc.Edge
	if e.MaxHeaders != 40 || e.MaxGzipRatio != 0 || e.MaxConnsPerIP != 50 || e.MaxStringBytes != 1<<20 ||
		e.MaxKeyBytes != 1024 || e.MaxMembers != 500 || e.MaxHeaderBytes != 16<<10 || e.MaxURLBytes != 2048 {
		t.Fatalf("limits not read or defaults changed: headers %d gzip ratio %d conns per IP %d string %d key %d members %d header bytes %d url %d",
			e.MaxHeaders, e.MaxGzipRatio, e.MaxConnsPerIP, e.MaxStringBytes, e.MaxKeyBytes, e.MaxMembers, e.MaxHeaderBytes, e.MaxURLBytes)
	}

	f := func(want string, args ...string) {
		t.Helper()
		err := serve(append([]string{"--schema-base-uri", "../../examples/schemas", "--stream-config", "../../examples/stream-config.json"}, args...))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("serve %v: got %v, want an error with %q", args, err, want)
		}
	}
	f("cannot use --max-headers -1", "--max-headers", "-1")
	f("cannot use --max-conns-per-ip -5", "--max-conns-per-ip", "-5")
	f("cannot use --max-depth 300 with --max-members", "--max-depth", "300")
	f("cannot use --max-depth 0 with --max-members", "--max-depth", "0")
}
