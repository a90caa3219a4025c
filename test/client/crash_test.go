package client

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"intake.dev/intake/client"
	"intake.dev/intake/internal/edgetest"
)

// The crash test runs its own test binary again as a child (crashChildEnv set): the child
// enqueues events into a spool while the edge is down and says "ready"; the parent kills it with
// SIGKILL, so nothing of Close or any deferred code runs.
const (
	crashChildEnv = "INTAKE_CLIENT_CRASH_CHILD"
	crashDirEnv   = "INTAKE_CLIENT_CRASH_DIR"
	crashURLEnv   = "INTAKE_CLIENT_CRASH_URL"
	crashNEnv     = "INTAKE_CLIENT_CRASH_N"
)

// A producer killed with SIGKILL while the edge is down loses nothing: a new client on the same
// spool, with the edge up, delivers every event, in order, with the meta.ids they had; a torn
// record at the spool's tail (a kill mid-write) is skipped.
func TestSpoolSurvivesSIGKILL(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		crashChild()
		return
	}
	const n = 3000
	dir := t.TempDir()
	// An address where nothing listens: the edge is down while the child runs.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + ln.Addr().String()
	ln.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestSpoolSurvivesSIGKILL$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"=1", crashDirEnv+"="+dir, crashURLEnv+"="+deadURL, crashNEnv+"="+strconv.Itoa(n))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	idOfPage := map[int]string{}
	ready := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if line == "ready" {
			ready = true
			break
		}
		var page int
		var id string
		if _, err := fmt.Sscanf(line, "id %d %s", &page, &id); err == nil {
			idOfPage[page] = id
		}
	}
	if !ready {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the child did not get ready; its stderr:\n%s", stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the child was not killed by SIGKILL: %v", err)
	}
	if len(idOfPage) != n/2 {
		t.Fatalf("the child reported %d ids, want %d", len(idOfPage), n/2)
	}

	// A torn record at the tail, as a kill in the middle of a write leaves.
	segs, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) == 0 {
		t.Fatal("the child left no spool segment")
	}
	torn := binary.LittleEndian.AppendUint32(nil, 500)
	torn = append(torn, 1, 2, 3, 4, '{', '"')
	fh, err := os.OpenFile(segs[len(segs)-1], os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	fh.Write(torn)
	fh.Close()

	e := startEdge(t, edgetest.Options{Partitions: 1})
	var logs edgetest.SyncBuffer
	c := newTestClient(t, e.URL, client.WithSpool(dir), client.WithLogger(slogTo(&logs)))
	if s := c.Stats(); s.Recovered != n {
		t.Fatalf("the new client found %d events in the spool, want %d", s.Recovered, n)
	}
	if !strings.Contains(logs.String(), "torn tail") {
		t.Fatalf("the torn tail should be logged: %s", logs.String())
	}
	mustClose(t, c)
	if s := c.Stats(); s.Accepted != n || s.Queued != 0 {
		t.Fatalf("stats %+v", s)
	}
	want := map[string]bool{}
	for _, id := range idOfPage {
		want[id] = true
	}
	got := consume(t, e.Brokers, "dev.example.click", want, 30*time.Second)
	if len(got) != n {
		t.Fatalf("%d events in Kafka, want %d", len(got), n)
	}
	seen := map[string]bool{}
	for i, ev := range got {
		if ev.Page != i+1 {
			t.Fatalf("Kafka's event %d is page %d: the backlog was not delivered in order", i, ev.Page)
		}
		if want, ok := idOfPage[ev.Page]; ok && ev.ID != want {
			t.Fatalf("page %d arrived with meta.id %s, the child enqueued it with %s", ev.Page, ev.ID, want)
		}
		if !edgetest.UUIDv4.MatchString(ev.ID) || seen[ev.ID] {
			t.Fatalf("page %d: meta.id %q is not a fresh UUID v4", ev.Page, ev.ID)
		}
		seen[ev.ID] = true
	}
	t.Logf("%d events enqueued by the killed child, %d in Kafka in order (%d with ids the client gave them)", n, len(got), n-len(idOfPage))
}

// crashChild is the child's side: odd pages carry a meta.id it prints, even ones get theirs from
// the client. No fsync (WithSpoolFsync(-1)): a process kill keeps what write(2) handed the kernel.
func crashChild() {
	n, _ := strconv.Atoi(os.Getenv(crashNEnv))
	c, err := client.New(os.Getenv(crashURLEnv), client.WithSpool(os.Getenv(crashDirEnv)), client.WithSpoolFsync(-1),
		client.WithSpoolLimits(1<<30, 64<<10), client.WithStreamConfigRefresh(-1), client.WithLogger(discardLogger()))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	for i := 1; i <= n; i++ {
		ev := click("example.click", i)
		if i%2 == 1 {
			id := client.NewID()
			ev["meta"].(map[string]any)["id"] = id
			fmt.Printf("id %d %s\n", i, id)
		}
		if err := c.Enqueue(ev); err != nil {
			fmt.Fprintln(os.Stderr, "Enqueue:", err)
			os.Exit(3)
		}
	}
	fmt.Println("ready")
	time.Sleep(time.Minute) // killed long before
	os.Exit(4)
}
