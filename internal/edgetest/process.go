package edgetest

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BuildIntake builds the project's intake binary into dir and returns its path: for the suites
// that run the edge as a process of its own (test/kafka, test/fleet, test/monitoring).
func BuildIntake(dir string) (string, error) {
	bin := filepath.Join(dir, "intake")
	build := exec.Command("go", "build", "-o", bin, "./cmd/intake")
	build.Dir = Root()
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("cannot build the intake binary: %v\n%s", err, out)
	}
	return bin, nil
}

// FreePort is a loopback TCP port nothing listens on now (a process started next binds it).
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// MonitoredStreamConfig writes, into dir, the examples' stream config with example.click taking
// canaries and holding a quality rule, so that an edge on it exports every series the dashboard
// and the alert rules read; it returns the file's path.
func MonitoredStreamConfig(t testing.TB, dir string) string {
	t.Helper()
	var cfg map[string]map[string]map[string]any
	b, err := os.ReadFile(Example("stream-config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["streams"]["example.click"]["canary_events_enabled"] = true
	cfg["streams"]["example.click"]["quality_rules"] = []any{map[string]any{
		"name": "saves_name_their_page", "if": map[string]any{"button": "save"}, "then": map[string]any{"page.title": map[string]any{"exists": true}}}}
	b, _ = json.Marshal(cfg)
	path := filepath.Join(dir, "stream-config.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
