// Package monitoring tests the operations kit's dashboard and alert rules with real parts: a
// Prometheus (Debian's package) scraping two intake edges under load, with the development broker
// in a process of its own that the test stops and starts. make test-monitoring runs it.
package monitoring

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"intake.dev/intake/deploy"
	"intake.dev/intake/internal/edgetest"
	"intake.dev/intake/loadtest/gen"
)

const root = "../.."

// process is a child process, stopped at the end of the test.
type process struct {
	cmd  *exec.Cmd
	log  *edgetest.SyncBuffer
	done chan struct{}
}

func start(t *testing.T, name string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(name, args...), log: &edgetest.SyncBuffer{}, done: make(chan struct{})}
	p.cmd.Dir = root
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s log:\n%s", filepath.Base(name), p.log)
		}
	})
	return p
}

func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// waitHTTP waits until url answers 200.
func waitHTTP(t *testing.T, url string, p *process) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-p.done:
			t.Fatalf("exited before %s answered:\n%s", url, p.log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer 200 in 30s:\n%s", url, p.log)
		}
	}
}

// query runs an instant PromQL query and returns the result vector's length.
func query(prom, expr string) (int, error) {
	resp, err := http.Get(prom + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return 0, err
	}
	if r.Status != "success" {
		return 0, fmt.Errorf("%s", r.Error)
	}
	return len(r.Data.Result), nil
}

// alertState is the state (pending, firing) of an alert in Prometheus, "" when inactive.
func alertState(prom, name string) (string, error) {
	resp, err := http.Get(prom + "/api/v1/alerts")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return "", err
	}
	state := ""
	for _, a := range r.Data.Alerts {
		if a.Labels["alertname"] == name && (state == "" || a.State == "firing") {
			state = a.State
		}
	}
	return state, nil
}

var forDuration = regexp.MustCompile(`(?m)^(\s+for:\s*)\S+$`)

// TestDashboardAndAlertsWithPrometheus: two edges under load, scraped every second; every
// dashboard expression returns data; with the broker stopped IntakeKafkaUnreachable goes pending,
// then firing, and clears once the broker is back. The rules' "for" durations are cut to 5 s in
// the copy Prometheus loads (the expressions are what is tested; promtool tests the durations).
func TestDashboardAndAlertsWithPrometheus(t *testing.T) {
	if os.Getenv("INTAKE_MONITORING_TEST") == "" {
		t.Skip("a minute with real Prometheus: make test-monitoring runs it (INTAKE_MONITORING_TEST=1)")
	}
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("no prometheus on PATH (make test-monitoring installs Debian's package)")
	}
	dir := t.TempDir()
	bin, err := edgetest.BuildIntake(dir)
	if err != nil {
		t.Fatal(err)
	}

	// The broker, in its own process.
	brokerAddr := fmt.Sprintf("127.0.0.1:%d", edgetest.FreePort(t))
	broker := start(t, bin, "broker", "--addr", brokerAddr)
	waitTCP(t, brokerAddr, broker)

	// A stream config with canaries and a quality rule, so their series exist.
	streams := edgetest.MonitoredStreamConfig(t, dir)

	var edges []string
	for i := range 2 {
		addr := fmt.Sprintf("127.0.0.1:%d", edgetest.FreePort(t))
		e := start(t, bin, "serve", "--config", "examples/config.yaml", "--listen", addr,
			"--kafka-brokers", brokerAddr, "--stream-config", streams, "--log-level", "warn",
			"--spool-dir", filepath.Join(dir, fmt.Sprintf("spool-%d", i)), "--kafka-delivery-timeout", "3s")
		waitHTTP(t, "http://"+addr+"/readyz", e)
		edges = append(edges, addr)
	}

	// Prometheus: both edges as job "intake", every second, with the rules.
	var rules []string
	files, _ := filepath.Glob(filepath.Join(root, "deploy", "prometheus", "intake-*.yaml"))
	for _, f := range files {
		if strings.HasSuffix(f, ".test.yaml") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, filepath.Base(f))
		if err := os.WriteFile(out, forDuration.ReplaceAll(b, []byte("${1}5s")), 0o644); err != nil {
			t.Fatal(err)
		}
		rules = append(rules, out)
	}
	if len(rules) == 0 {
		t.Fatal("no alert rules in deploy/prometheus")
	}
	promCfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%s]
scrape_configs:
  - job_name: intake
    static_configs:
      - targets: [%q, %q]
`, `"`+strings.Join(rules, `", "`)+`"`, edges[0], edges[1])
	promFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(promFile, []byte(promCfg), 0o644); err != nil {
		t.Fatal(err)
	}
	promAddr := fmt.Sprintf("127.0.0.1:%d", edgetest.FreePort(t))
	prom := start(t, promBin, "--config.file", promFile, "--storage.tsdb.path", filepath.Join(dir, "tsdb"),
		"--web.listen-address", promAddr)
	promURL := "http://" + promAddr
	waitHTTP(t, promURL+"/-/ready", prom)

	// Load on both edges: sync and hasty, a tenth invalid; and a canary event on each.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	loadDone := make(chan error, 4)
	for _, e := range edges {
		for _, hasty := range []bool{false, true} {
			c := gen.Defaults()
			c.URL, c.Rate, c.Connections, c.Batch, c.Hasty, c.InvalidRatio = "http://"+e+"/v1/events", 50, 16, 10, hasty, 0.1
			c.Duration, c.Quiet = 25*time.Second, true
			r, err := gen.New(c)
			if err != nil {
				t.Fatal(err)
			}
			go func() { _, err := r.Run(ctx, nil, false); loadDone <- err }()
		}
		canary := `{"$schema":"/example/click/1.0.0","dt":"2026-11-23T12:00:00.000Z","meta":{"stream":"example.click","domain":"canary"},"page":{"id":1,"title":"Main Page"},"button":"save"}`
		resp, err := http.Post("http://"+e+"/v1/events", "application/json", bytes.NewReader([]byte(canary)))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("canary: %d", resp.StatusCode)
		}
	}
	time.Sleep(15 * time.Second)

	// Every dashboard expression returns data.
	d, err := deploy.ReadDashboard(edgetest.Root())
	if err != nil {
		t.Fatal(err)
	}
	qs := d.Queries("20s")
	names := make([]string, 0, len(qs))
	for n := range qs {
		names = append(names, n)
	}
	sort.Strings(names)
	empty := 0
	for _, n := range names {
		got, err := query(promURL, qs[n])
		switch {
		case err != nil:
			t.Errorf("%s: %s: %v", n, qs[n], err)
		case got == 0:
			empty++
			t.Errorf("%s: %s returned no data", n, qs[n])
		}
	}
	t.Logf("%d dashboard expressions, %d without data", len(names), empty)
	for range 4 {
		if err := <-loadDone; err != nil {
			t.Fatal(err)
		}
	}
	if st, _ := alertState(promURL, "IntakeKafkaUnreachable"); st != "" {
		t.Fatalf("IntakeKafkaUnreachable is %s with the broker up", st)
	}

	// The broker stops: the Kafka alert goes pending, then firing; and clears when it is back.
	broker.stop()
	stopped := time.Now()
	var pending, firing time.Duration
	for deadline := time.Now().Add(60 * time.Second); firing == 0 && time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		st, err := alertState(promURL, "IntakeKafkaUnreachable")
		if err != nil {
			t.Fatal(err)
		}
		if st == "pending" && pending == 0 {
			pending = time.Since(stopped)
		}
		if st == "firing" {
			firing = time.Since(stopped)
		}
	}
	if pending == 0 || firing == 0 {
		t.Fatalf("IntakeKafkaUnreachable with the broker stopped: pending after %s, firing after %s", pending, firing)
	}
	start(t, bin, "broker", "--addr", brokerAddr)
	back := time.Now()
	var cleared time.Duration
	for deadline := time.Now().Add(60 * time.Second); cleared == 0 && time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if st, _ := alertState(promURL, "IntakeKafkaUnreachable"); st == "" {
			cleared = time.Since(back)
		}
	}
	if cleared == 0 {
		t.Fatal("IntakeKafkaUnreachable did not clear within 60s of the broker's return")
	}
	t.Logf("IntakeKafkaUnreachable: pending %s and firing %s after the broker stopped (for: 5s, probe every 5s, scrape and evaluation every 1s); cleared %s after it was back",
		pending.Round(100*time.Millisecond), firing.Round(100*time.Millisecond), cleared.Round(100*time.Millisecond))
}

func waitTCP(t *testing.T, addr string, p *process) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-p.done:
			t.Fatalf("exited before %s listened:\n%s", addr, p.log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not listening after 30s", addr)
		}
	}
}
