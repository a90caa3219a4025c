package edgetest

import (
	"fmt"
	"net"
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
