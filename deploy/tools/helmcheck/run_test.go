package helmcheck

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// TestChartConfigRunsIntake starts the real binary on the config and stream config the chart
// renders (intake refuses unknown config keys, so a key the chart misspells fails here), with only
// what points outside the pod changed: the pod's paths to a temporary directory, the schema
// repository and stream config to the examples', and Kafka to the embedded broker. It must get
// ready, take an event (201) and stop cleanly on SIGTERM, spool configured.
func TestChartConfigRunsIntake(t *testing.T) {
	bin := os.Getenv("INTAKE_BIN")
	if bin == "" {
		t.Skip("INTAKE_BIN is not set: make test-deploy sets it to the binary make image built")
	}
	examples, err := filepath.Abs("../../../examples")
	if err != nil {
		t.Fatal(err)
	}
	var sc struct {
		Streams map[string]any `json:"streams"`
	}
	b, err := os.ReadFile(filepath.Join(examples, "stream-config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sc); err != nil {
		t.Fatal(err)
	}
	r := render(t, map[string]any{
		"config": map[string]any{
			"schema_base_uri": []any{filepath.Join(examples, "schemas")},
			"kafka_brokers":   []any{},
			"service_name":    "intake",
			"topic_prefix":    "dev.",
			"log_format":      "json",
		},
		"streamConfig": sc.Streams,
	})
	checkCommon(t, r, true)

	dir := t.TempDir()
	cfg := r.intakeConfig
	streams := filepath.Join(dir, "stream-config.json")
	if err := os.WriteFile(streams, []byte(r.configMaps["intake-streams"].Data["stream-config.json"]), 0o644); err != nil {
		t.Fatal(err)
	}
	// The pod's paths and addresses, moved to this machine.
	port := freePort(t)
	cfg["stream_config"] = streams
	cfg["spool_dir"] = filepath.Join(dir, "spool")
	cfg["listen"] = "127.0.0.1:" + strconv.Itoa(port)
	cfg["embedded_broker_addr"] = "127.0.0.1:" + strconv.Itoa(freePort(t))
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(config, out, 0o644); err != nil {
		t.Fatal(err)
	}

	var log bytes.Buffer
	cmd := exec.Command(bin, "serve", "--config", config)
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")} // no INTAKE_* from the caller
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		if t.Failed() {
			t.Logf("config.yaml:\n%s\nintake's log:\n%s", out, log.String())
		}
	})

	base := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("intake exited on the chart's config: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz not 200 within 20s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	event, err := os.ReadFile(filepath.Join(examples, "events", "click.json"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(base+"/v1/events", "application/json", bytes.NewReader(event))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /v1/events: %d, want 201", resp.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(dir, "spool")); err != nil {
		t.Errorf("the spool directory of the chart's config was not created: %v", err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("after SIGTERM: %v, want exit status 0", err)
		}
	case <-time.After(40 * time.Second):
		t.Error("intake did not exit within 40s of SIGTERM")
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
