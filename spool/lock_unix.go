//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package spool

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// lockDir takes the directory's lock: an exclusive flock on its lock file, without waiting, and
// writes this process's id in it for the error another process gets. The kernel releases a
// flock when its process dies, so a killed edge leaves no stale lock behind.
func lockDir(dir string) (*os.File, error) {
	path := dir + string(os.PathSeparator) + lockName
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("spool: cannot open the lock file %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := "another process"
			if pid := strings.TrimSpace(string(b[:n])); pid != "" {
				holder = "process " + pid
			}
			return nil, fmt.Errorf("%w: %s is locked by %s (one process per spool directory)", ErrLocked, dir, holder)
		}
		return nil, fmt.Errorf("spool: cannot lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

func unlockDir(f *os.File) {
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	f.Close()
}
