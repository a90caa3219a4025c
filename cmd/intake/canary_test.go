package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"intake.dev/intake/internal/edgetest"
)

// One round: exit 0 when every canary was accepted, 1 when any was not, 2 on a usage error; one
// JSON line per stream. Without --stream-config and --schema-base-uri the canary reads the
// edge's own (/v1/streams?all=true, /v1/schemas).
func TestCanaryCommand(t *testing.T) {
	e := edgetest.Start(t, edgetest.RealData())
	f := func(wantCode int, wantOut string, args ...string) {
		t.Helper()
		var out strings.Builder
		code, err := canaryCmd(append([]string{"--url", e.URL, "--log-level", "error"}, args...), &out)
		if err != nil {
			code = 2
			out.WriteString(err.Error())
		}
		if code != wantCode || !strings.Contains(out.String(), wantOut) {
			t.Fatalf("canary %q: exit %d, want %d; output lacks %q:\n%s", args, code, wantCode, wantOut, out.String())
		}
	}
	f(0, `{"stream":"mediawiki.revision-create","outcome":"ok","status":201,"schema":"/mediawiki/revision/create/2.0.0","id":"`,
		"--streams", "mediawiki.revision-create")
	f(0, `"outcome":"ok"`, "--streams", "mediawiki.revision-create",
		"--stream-config", edgetest.SharedData("streamconfig.json"),
		"--schema-base-uri", edgetest.SharedData("schemas/primary/jsonschema"), "--schema-base-uri", edgetest.SharedData("schemas/secondary/jsonschema"))
	f(1, `{"stream":"pageview.v1","outcome":"no_schema"`, "--streams", "mediawiki.revision-create,pageview.v1")
	f(0, `"outcome":"skipped"`, "--streams", `/^mediawiki\.job\..+/`) // skipped is no failure
	f(1, `"outcome":"unknown_stream"`, "--streams", "no.such.stream")
	f(2, "--interval", "--interval", "-1s")
	f(2, "--concurrency", "--concurrency", "0")
	f(2, "--url", "--url", "127.0.0.1:8192")
	f(2, "no arguments", "mediawiki.revision-create")
	f(2, "--stream-config", "--stream-config", "/nonexistent.json")
}

// As a service, the canary posts every interval, serves its metrics, and stops on SIGTERM with
// exit 0.
func TestCanaryService(t *testing.T) {
	e := edgetest.Start(t, edgetest.RealData())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(os.Args[0], "canary", "--url", e.URL, "--interval", "100ms", "--listen", addr,
		"--streams", "mediawiki.revision-create,pageview.v1")
	cmd.Env = append(os.Environ(), "INTAKE_TEST_MAIN=1")
	log := &edgetest.SyncBuffer{}
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	want := []string{
		`intake_canary_last_success_timestamp_seconds{stream="mediawiki.revision-create"} `,
		`intake_canary_posts_total{stream="mediawiki.revision-create",outcome="ok"} `,
		`intake_canary_failures_total{stream="pageview.v1",reason="no_schema"} `,
		`intake_canary_failures_total{stream="mediawiki.revision-create",reason="refused"} 0`,
	}
	var page string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page = string(b)
		// Two rounds at least: the posts counter past 1.
		if strings.Contains(page, want[0]) && !strings.Contains(page, want[1]+"1\n") && !strings.Contains(page, want[1]+"0\n") {
			break
		}
	}
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("/metrics lacks %q", w)
		}
	}
	// Only the canary's: the edge's metrics, linked into the same binary, would read as an edge's
	// at 0.
	for _, edgeMetric := range []string{"intake_events_total", "intake_http_requests_total", "intake_kafka_records_total"} {
		if strings.Contains(page, edgeMetric) {
			t.Errorf("/metrics serves the edge's %s", edgeMetric)
		}
	}
	if t.Failed() {
		t.Fatalf("metrics:\n%s\nlog:\n%s", page, log.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, log.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the canary service did not stop on SIGTERM:\n%s", log.String())
	}
	// A failing stream is logged once, not every round.
	if n := strings.Count(log.String(), `msg="canary failed" stream=pageview.v1`); n != 1 {
		t.Errorf("pageview.v1's failure logged %d times, want once:\n%s", n, log.String())
	}
	if !strings.Contains(log.String(), "canary service stopped") {
		t.Errorf("no stop in the log:\n%s", log.String())
	}
}
