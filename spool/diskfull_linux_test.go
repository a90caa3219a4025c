package spool

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mountTmpfs mounts a tmpfs of size bytes on a new directory for the test; it skips the test
// where mounting is not allowed (not root, or a container without the capability).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount a tmpfs for a real full disk: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("cannot unmount %s: %v", dir, err)
		}
	})
	return dir
}

// A disk that fills at run time (a real one: a small tmpfs): Append returns an error wrapping
// ENOSPC, not ErrFull, and nothing accepted before is lost; with room made, the spool reopens and
// replays every record Append accepted. A read-only file system fails Open with its cause.
func TestDiskFull(t *testing.T) {
	mnt := mountTmpfs(t, "256k")
	dir := filepath.Join(mnt, "spool")
	filler := filepath.Join(mnt, "filler")
	if err := os.WriteFile(filler, make([]byte, 32<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	log := &errLog{}
	s := open(t, dir, Options{MaxBytes: 1 << 30, SegmentBytes: 64 << 10}, log)
	n := 0
	var err error
	for ; n < 10000; n++ {
		if err = s.Append("test.topic", nil, value(n), time.Now()); err != nil {
			break
		}
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Append on a full disk after %d records: %v", n, err)
	}
	t.Logf("after %d records: %v", n, err)
	for range 10 {
		if err := s.Append("test.topic", nil, value(n), time.Now()); !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("Append on a full disk again: %v", err)
		}
	}
	if st := s.Stats(); st.Records != int64(n) || st.Bytes != diskBytes(t, dir) {
		t.Fatalf("stats %+v after %d records, %d bytes on disk", st, n, diskBytes(t, dir))
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if errs := log.all(); len(errs) > 0 {
		t.Fatalf("reported %v", errs)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, Options{MaxBytes: 1 << 30, SegmentBytes: 64 << 10}, nil) // nothing torn or damaged
	if got := indexes(readAll(t, s)); !slices.Equal(got, seq(0, n)) {
		t.Fatalf("replayed %d records, want the %d accepted", len(got), n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("", mnt, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "read-only file system") {
		t.Fatalf("Open on a read-only file system: %v", err)
	}
}
