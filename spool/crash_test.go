package spool

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// The crash test runs its own test binary again as a child (crashChildEnv naming the spool's
// directory): the child appends from several goroutines under SyncAlways and prints each Append
// that returned; the parent kills it with SIGKILL, so no Close and no deferred code runs.
const crashChildEnv = "SPOOL_CRASH_CHILD_DIR"

const crashWriters = 4

// Every Append that returned before a SIGKILL is in the spool after reopening, each writer's
// records in order and none torn or damaged but, at most, the tail of a write cut short. While
// the child runs, it holds the directory's lock; its death releases it.
func TestAppendSurvivesSIGKILL(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAppendSurvivesSIGKILL$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()

	// returned[w] is how many of writer w's Appends returned (they print in order).
	var returned [crashWriters]int
	total := 0
	sc := bufio.NewScanner(stdout)
	for total < 4000 && sc.Scan() {
		var w, i int
		if _, err := fmt.Sscanf(sc.Text(), "ok %d %d", &w, &i); err != nil || w >= crashWriters || i != returned[w] {
			t.Fatalf("the child says %q (after %d of writer %d)", sc.Text(), returned[min(w, crashWriters-1)], w)
		}
		returned[w]++
		total++
	}
	if total < 4000 {
		t.Fatalf("the child stopped after %d Appends; its stderr:\n%s", total, stderr.String())
	}
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("Open while the child has the spool: %v", err)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed = true
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the child was not killed by SIGKILL: %v; its stderr:\n%s", err, stderr.String())
	}

	log := &errLog{}
	s := open(t, dir, Options{}, log)
	var found [crashWriters]int
	for {
		e, ok, err := s.Reader().TryNext()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		w, i := crashRecord(t, e)
		if i != found[w] {
			t.Fatalf("writer %d: record %d after %d", w, i, found[w])
		}
		found[w]++
	}
	for w := range crashWriters {
		if found[w] < returned[w] {
			t.Fatalf("writer %d: %d records in the spool, %d Appends had returned", w, found[w], returned[w])
		}
	}
	st := s.Stats()
	if st.Damaged != 0 || st.Torn > 1 || len(log.all()) != int(st.Torn) {
		t.Fatalf("stats %+v, reported %v", st, log.all())
	}
	t.Logf("Appends returned before the kill: %v; records found after: %v; torn tails cut: %d", returned, found, st.Torn)
}

func crashRecord(t *testing.T, e Entry) (w, i int) {
	t.Helper()
	f := bytes.Fields(e.Value)
	if len(f) < 2 {
		t.Fatalf("a record that is not the child's: %q", e.Value)
	}
	w, err1 := strconv.Atoi(string(f[0]))
	i, err2 := strconv.Atoi(string(f[1]))
	if err1 != nil || err2 != nil || w >= crashWriters || e.Topic != "crash."+string(f[0]) {
		t.Fatalf("a record that is not the child's: %s %q", e.Topic, e.Value)
	}
	return w, i
}

// crashChild is the child's side: it appends until killed.
func crashChild(dir string) {
	s, err := Open(dir, Options{Sync: SyncAlways, SegmentBytes: 256 << 10})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	pad := bytes.Repeat([]byte("x"), 500)
	for w := range crashWriters {
		go func() {
			topic := "crash." + strconv.Itoa(w)
			for i := 0; ; i++ {
				v := fmt.Appendf(nil, "%d %d %s", w, i, pad)
				if err := s.Append(topic, nil, v, time.Now()); err != nil {
					fmt.Fprintln(os.Stderr, "Append:", err)
					os.Exit(3)
				}
				fmt.Fprintf(os.Stdout, "ok %d %d\n", w, i)
			}
		}()
	}
	time.Sleep(time.Minute) // killed long before
	os.Exit(4)
}
