package client

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"intake.dev/intake/client"
	"intake.dev/intake/internal/edgetest"
)

// producerProgram is a producer's program in a module of its own: it sends one example/click
// event with the meta.id it is given to the edge at the URL it is given, and waits for the
// edge's verdict.
const producerProgram = `package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"intake.dev/intake/client"
)

func main() {
	url, id := os.Args[1], os.Args[2]
	c, err := client.New(url, client.WithStreamConfigRefresh(-1))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.Send(ctx, client.NewEvent("example.click", "/example/click/1.0.0", map[string]any{
		"meta":   map[string]any{"id": id},
		"page":   map[string]any{"id": 42, "title": "Main Page"},
		"button": "save",
	}))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := c.Close(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(res[0].ID, res[0].Status)
}
`

// The client is a module of its own, for producers to depend on alone: a program in a module of
// its own, outside this tree, requiring intake.dev/intake/client (replaced by this checkout's
// client/), depends on nothing but the standard library and the client, builds without anything
// but what the module cache already holds, and the event it sends to a real edge arrives in Kafka.
func TestClientModuleStandsAlone(t *testing.T) {
	e := startEdge(t, edgetest.Options{Partitions: 1})
	clientDir := filepath.Join(edgetest.Root(), "client")
	dir := t.TempDir()
	mod := fmt.Sprintf("module example.org/producer\n\ngo %s\n", goDirective(t, filepath.Join(clientDir, "go.mod")))
	if v := runtime.Version(); strings.HasPrefix(v, "go1.") {
		// The toolchain this test runs with, which the module cache holds: none is fetched.
		mod += "\ntoolchain " + v + "\n"
	}
	mod += "\nrequire intake.dev/intake/client v0.0.0-00010101000000-000000000000\n" +
		"\nreplace intake.dev/intake/client => " + clientDir + "\n"
	for name, text := range map[string]string{"go.mod": mod, "main.go": producerProgram} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	goCmd := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		// No go.sum: a module that requires only a local replacement needs none. No workspace,
		// no proxy: everything it builds is on this machine.
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOTOOLCHAIN=auto", "GOWORK=off", "GOPROXY=off")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return out
	}

	var deps []string
	sc := bufio.NewScanner(bytes.NewReader(goCmd("list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".")))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			deps = append(deps, line)
		}
	}
	slices.Sort(deps)
	if want := []string{"example.org/producer", "intake.dev/intake/client"}; !slices.Equal(deps, want) {
		t.Fatalf("the program's packages beyond the standard library: %q, want only itself and the client %q", deps, want)
	}

	bin := filepath.Join(dir, "producer")
	goCmd("build", "-o", bin, ".")
	id := client.NewID()
	cmd := exec.Command(bin, e.URL, id)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the producer: %v\n%s", err, stderr.String())
	}
	if got, want := strings.TrimSpace(string(out)), id+" accepted"; got != want {
		t.Fatalf("the producer printed %q, want %q", got, want)
	}
	got := consume(t, e.Brokers, "dev.example.click", map[string]bool{id: true}, 15*time.Second)
	if len(got) != 1 || got[0].ID != id || got[0].Page != 42 || got[0].Stream != "example.click" {
		t.Fatalf("dev.example.click holds %+v, want the producer's one event", got)
	}
}

// goDirective is the go version a go.mod file states.
func goDirective(t *testing.T, gomod string) string {
	t.Helper()
	b, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go "); ok {
			return v
		}
	}
	t.Fatalf("%s has no go directive", gomod)
	return ""
}
