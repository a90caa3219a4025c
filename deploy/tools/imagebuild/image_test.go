package main

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"debug/elf"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// imageDir is what `make image` wrote (INTAKE_IMAGE_DIR, set by `make test-image`).
func imageDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("INTAKE_IMAGE_DIR")
	if dir == "" {
		t.Skip("INTAKE_IMAGE_DIR is not set: run make test-image, which builds the image first")
	}
	return dir
}

// loadArchive reads the image back from the tar that ships (bin/image/intake-oci.tar), not from
// the directory it was made from.
func loadArchive(t *testing.T, archive string) (v1.Image, string) {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", archive, err)
		}
		dst := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(dst, dir+string(filepath.Separator)) {
			t.Fatalf("%s: entry %q leaves the layout", archive, h.Name)
		}
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatalf("not an OCI layout: %v", err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("the layout holds %d manifests, want 1", len(im.Manifests))
	}
	ref := im.Manifests[0].Annotations["org.opencontainers.image.ref.name"]
	if !strings.HasPrefix(ref, "intake:") {
		t.Errorf("ref.name annotation = %q, want intake:<version> (the name podman load gives it)", ref)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img, ref
}

// TestImageConfigAndContents checks what a runtime reads from the image: a non-root user, the
// entrypoint, the port, the labels; and that its one layer holds the static binary and a CA bundle,
// and nothing else.
func TestImageConfigAndContents(t *testing.T) {
	img, _ := loadArchive(t, filepath.Join(imageDir(t), "intake-oci.tar"))
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" {
		t.Errorf("User = %q, want 65532:65532 (non-root)", c.User)
	}
	if !slices.Equal(c.Entrypoint, []string{BinaryPath, "serve"}) {
		t.Errorf("Entrypoint = %q, want [%s serve]", c.Entrypoint, BinaryPath)
	}
	if len(c.Cmd) != 0 {
		t.Errorf("Cmd = %q, want none (arguments go after serve)", c.Cmd)
	}
	if _, ok := c.ExposedPorts[Port]; !ok || len(c.ExposedPorts) != 1 {
		t.Errorf("ExposedPorts = %v, want only %s", c.ExposedPorts, Port)
	}
	for _, want := range []string{"INTAKE_LISTEN=0.0.0.0:8192", "SSL_CERT_FILE=" + CAPath} {
		if !slices.Contains(c.Env, want) {
			t.Errorf("Env = %q, lacks %s", c.Env, want)
		}
	}
	for _, k := range []string{"org.opencontainers.image.version", "org.opencontainers.image.source", "org.opencontainers.image.revision", "org.opencontainers.image.title"} {
		if c.Labels[k] == "" {
			t.Errorf("label %s is missing: %v", k, c.Labels)
		}
	}
	if cf.OS != "linux" || cf.Architecture == "" {
		t.Errorf("platform = %s/%s, want linux/<arch>", cf.OS, cf.Architecture)
	}

	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1 (empty base, one layer)", len(layers))
	}
	files := map[string][]byte{}
	var entries []string
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, h.Name)
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s is owned by %d:%d, want root (the user cannot change what it runs)", h.Name, h.Uid, h.Gid)
		}
		switch h.Typeflag {
		case tar.TypeDir:
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files["/"+h.Name] = b
			if h.Name == BinaryPath[1:] && h.Mode&0o111 == 0 {
				t.Errorf("%s is not executable: mode %o", h.Name, h.Mode)
			}
			if h.Mode&0o022 != 0 {
				t.Errorf("%s is writable by others: mode %o", h.Name, h.Mode)
			}
		default:
			t.Errorf("%s: unexpected entry type %c", h.Name, h.Typeflag)
		}
	}
	if len(files) != 2 || files[BinaryPath] == nil || files[CAPath] == nil {
		t.Fatalf("the layer holds %q, want the binary %s and the CA bundle %s and their directories only", entries, BinaryPath, CAPath)
	}

	// The CA bundle: PEM certificates Go's crypto/x509 reads (SSL_CERT_FILE points at it).
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(files[CAPath]) {
		t.Errorf("%s holds no PEM certificate", CAPath)
	}
	if n := bytes.Count(files[CAPath], []byte("BEGIN CERTIFICATE")); n < 50 {
		t.Errorf("%s holds %d certificates, want a system bundle (100 or so)", CAPath, n)
	}

	// The binary: a static ELF (no interpreter, so an empty base runs it) for the image's platform.
	ef, err := elf.NewFile(bytes.NewReader(files[BinaryPath]))
	if err != nil {
		t.Fatalf("%s is not an ELF binary: %v", BinaryPath, err)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s is dynamically linked (PT_INTERP): build it with CGO_ENABLED=0", BinaryPath)
		}
	}
	wantMachine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[cf.Architecture]
	if wantMachine != 0 && ef.Machine != wantMachine {
		t.Errorf("%s is for %v, the image says %s", BinaryPath, ef.Machine, cf.Architecture)
	}
	if cf.Architecture == runtime.GOARCH {
		// Run it: it is the version the label says.
		bin := filepath.Join(t.TempDir(), "intake")
		if err := os.WriteFile(bin, files[BinaryPath], 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "version").CombinedOutput()
		if err != nil {
			t.Fatalf("%s version: %v: %s", BinaryPath, err, out)
		}
		if got, want := strings.TrimSpace(string(out)), "intake "+c.Labels["org.opencontainers.image.version"]; got != want {
			t.Errorf("intake version = %q, the label says %q", got, want)
		}
	}
}

// TestImageRunsUnderPodman starts the image as a container, read-only root filesystem, with the
// embedded development broker and the examples mounted, and sends it an event: 201. Then SIGTERM
// (podman stop): the edge exits 0 within its shutdown timeout.
func TestImageRunsUnderPodman(t *testing.T) {
	dir := imageDir(t)
	if _, err := exec.LookPath("podman"); err != nil {
		t.Skip("podman is not installed (scripts/deploy/ensure-podman.sh installs it): the image was checked by TestImageConfigAndContents alone")
	}
	examples, err := filepath.Abs("../../../examples")
	if err != nil {
		t.Fatal(err)
	}
	_, ref := loadArchive(t, filepath.Join(dir, "intake-oci.tar"))
	image := "localhost/" + ref
	// Leave podman's store as it was: remove the image afterwards unless it was there before.
	if exec.Command("podman", "image", "exists", image).Run() != nil {
		t.Cleanup(func() { exec.Command("podman", "rmi", "-f", image).Run() })
	}
	out, err := exec.Command("podman", "load", "-q", "-i", filepath.Join(dir, "intake-oci.tar")).CombinedOutput()
	if err != nil {
		t.Fatalf("podman load: %v: %s", err, out)
	}
	if exec.Command("podman", "image", "exists", image).Run() != nil {
		t.Fatalf("podman load did not name the image %s: %s", image, out)
	}
	port := freePort(t)
	name := fmt.Sprintf("intake-test-%d", os.Getpid())
	args := []string{"run", "-d", "--name", name, "--read-only",
		"-p", "127.0.0.1:" + strconv.Itoa(port) + ":8192",
		"-v", examples + ":/etc/intake:ro",
		"-e", "INTAKE_SCHEMA_BASE_URI=/etc/intake/schemas",
		"-e", "INTAKE_STREAM_CONFIG=/etc/intake/stream-config.json",
		"-e", "INTAKE_TOPIC_PREFIX=dev.",
		"-e", "INTAKE_SERVICE_NAME=intake",
		"-e", "INTAKE_SHUTDOWN_TIMEOUT=10s",
	}
	args = append(args, runtimeArgs()...)
	args = append(args, image)
	if out, err := exec.Command("podman", args...).CombinedOutput(); err != nil {
		t.Fatalf("podman %s: %v: %s", strings.Join(args, " "), err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			if out, err := exec.Command("podman", "logs", name).CombinedOutput(); err == nil {
				t.Logf("container log:\n%s", out)
			}
		}
		exec.Command("podman", "rm", "-f", name).Run()
	})

	base := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz did not answer 200 within 30s: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	event, err := os.ReadFile(filepath.Join(examples, "events", "click.json"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(base+"/v1/events", "application/json", bytes.NewReader(event))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /v1/events: %d %s, want 201", resp.StatusCode, body)
	}

	// The process runs as 65532 on the host too (rootful podman maps no user namespace).
	if out, err := exec.Command("podman", "inspect", "--format", "{{.State.Pid}}", name).Output(); err == nil {
		if status, err := os.ReadFile("/proc/" + strings.TrimSpace(string(out)) + "/status"); err == nil {
			for _, line := range strings.Split(string(status), "\n") {
				if strings.HasPrefix(line, "Uid:") && strings.Fields(line)[1] != "65532" {
					t.Errorf("the edge runs as %s, want 65532", line)
				}
			}
		}
	}

	// SIGTERM, then SIGKILL after 20s (longer than INTAKE_SHUTDOWN_TIMEOUT): a clean exit is 0.
	if out, err := exec.Command("podman", "stop", "-t", "20", name).CombinedOutput(); err != nil {
		t.Fatalf("podman stop: %v: %s", err, out)
	}
	out, err = exec.Command("podman", "inspect", "--format", "{{.State.ExitCode}}", name).CombinedOutput()
	if code := strings.TrimSpace(string(out)); err != nil || code != "0" {
		t.Errorf("after SIGTERM the edge exited %q (%v), want 0", code, err)
	}
	t.Logf("podman ran %s: /readyz 200, POST /v1/events 201, stopped by SIGTERM", image)
}

// runtimeArgs adapts podman to machines like this project's (a VM with hybrid cgroups v1/v2 and a
// hard open-files limit below podman's default): crun refuses hybrid cgroups, runc takes them; and
// podman's default rlimits (1M open files) may not be raised, so the current ones are passed.
func runtimeArgs() []string {
	var args []string
	if _, err := exec.LookPath("runc"); err == nil {
		args = append(args, "--runtime", "runc")
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil {
		n := min(rl.Cur, 65536)
		args = append(args, "--ulimit", fmt.Sprintf("nofile=%d:%d", n, n))
	}
	return append(args, "--ulimit", "nproc=4096:4096")
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
