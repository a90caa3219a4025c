package systemdcheck

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

const unitPath = "../../systemd/intake.service"

// unit is section -> key -> values in order (a key may repeat).
type unit map[string]map[string][]string

func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := unit{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" || strings.HasSuffix(line, `\`) {
				t.Fatalf("%s:%d: not a key=value line in a section: %q", path, n, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	return u
}

func (u unit) get(section, key string) string {
	vs := u[section][key]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// env is the unit's Environment= assignments.
func (u unit) env() map[string]string {
	m := map[string]string{}
	for _, v := range u["Service"]["Environment"] {
		k, val, _ := strings.Cut(strings.Trim(v, `"`), "=")
		m[k] = val
	}
	return m
}

func TestUnitHardening(t *testing.T) {
	u := parseUnit(t, unitPath)
	f := func(section, key, want string) {
		t.Helper()
		if got := u.get(section, key); got != want {
			t.Errorf("[%s] %s=%q, want %q", section, key, got, want)
		}
	}
	f("Service", "DynamicUser", "yes")
	f("Service", "StateDirectory", "intake")
	f("Service", "ProtectSystem", "strict")
	f("Service", "ProtectHome", "yes")
	f("Service", "PrivateTmp", "yes")
	f("Service", "PrivateDevices", "yes")
	f("Service", "NoNewPrivileges", "yes")
	f("Service", "CapabilityBoundingSet", "")
	if _, ok := u["Service"]["CapabilityBoundingSet"]; !ok {
		t.Error("CapabilityBoundingSet= is missing (empty: no capability)")
	}
	f("Service", "RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX")
	if !contains(u["Service"]["SystemCallFilter"], "@system-service") {
		t.Errorf("SystemCallFilter=%q, want @system-service", u["Service"]["SystemCallFilter"])
	}
	f("Service", "Restart", "on-failure")
	f("Service", "KillSignal", "SIGTERM")
	f("Install", "WantedBy", "multi-user.target")
	if u.get("Service", "User") != "" {
		t.Error("User= with DynamicUser=yes: the dynamic user is the point")
	}

	// The spool lives in the StateDirectory, the one writable place under ProtectSystem=strict.
	env := u.env()
	if spool := env["INTAKE_SPOOL_DIR"]; !strings.HasPrefix(spool, "/var/lib/"+u.get("Service", "StateDirectory")+"/") {
		t.Errorf("INTAKE_SPOOL_DIR=%q is not under /var/lib/<StateDirectory>", spool)
	}
	// systemd waits longer than intake's own shutdown before SIGKILL.
	shutdown, err := time.ParseDuration(env["INTAKE_SHUTDOWN_TIMEOUT"])
	if err != nil {
		t.Fatalf("INTAKE_SHUTDOWN_TIMEOUT=%q: %v", env["INTAKE_SHUTDOWN_TIMEOUT"], err)
	}
	stop := systemdDuration(t, u.get("Service", "TimeoutStopSec"))
	if stop <= shutdown {
		t.Errorf("TimeoutStopSec %v <= INTAKE_SHUTDOWN_TIMEOUT %v: systemd kills intake while it drains", stop, shutdown)
	}
	if ex := u.get("Service", "ExecStart"); !strings.HasSuffix(ex, "/intake serve") {
		t.Errorf("ExecStart=%q, want .../intake serve", ex)
	}
	// The example environment file names only INTAKE_ variables, and not the ones the unit owns.
	b, err := os.ReadFile("../../systemd/intake.env")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, _, ok := strings.Cut(line, "=")
		if !ok || !regexp.MustCompile(`^INTAKE_[A-Z0-9_]+$`).MatchString(k) {
			t.Errorf("intake.env: %q is not an INTAKE_ variable assignment", line)
		}
		if _, owned := env[k]; owned {
			t.Errorf("intake.env sets %s, which the unit's Environment= overrides", k)
		}
	}
}

// systemdDuration reads "45s", "2min", "90" (seconds).
func systemdDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	s = strings.ReplaceAll(strings.TrimSpace(s), "min", "m")
	if s != "" && strings.Trim(s, "0123456789") == "" {
		s += "s"
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("duration %q: %v", s, err)
	}
	return d
}

func contains(vs []string, want string) bool {
	for _, v := range vs {
		for _, f := range strings.Fields(v) {
			if f == want {
				return true
			}
		}
	}
	return false
}

// TestUnitSystemdAnalyze runs systemd's own checks on the unit, with ExecStart pointed at an
// existing binary (verify checks that it is executable).
func TestUnitSystemdAnalyze(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("systemd is Linux only")
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed: the unit was checked by TestUnitHardening alone")
	}
	b, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	unit := filepath.Join(dir, "intake.service")
	if err := os.WriteFile(unit, bytes.ReplaceAll(b, []byte("/usr/local/bin/intake"), []byte(self)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", unit).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// Exposure on systemd's 0-10 scale, times 10: at most 2.0 ("OK").
	out, err = exec.Command("systemd-analyze", "security", "--offline=true", "--threshold=20", "--no-pager", unit).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze security --offline: %v\n%s", err, out)
	}
	if m := regexp.MustCompile(`Overall exposure level for intake.service: ([0-9.]+ \S+)`).FindSubmatch(out); m != nil {
		t.Logf("systemd-analyze security: exposure %s", m[1])
	} else {
		t.Errorf("systemd-analyze security printed no exposure level:\n%s", out)
	}
}
