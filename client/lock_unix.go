//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package client

import (
	"os"
	"syscall"
)

// lockFileExclusive takes an exclusive flock on f without waiting. The kernel releases it when the
// process dies, so a killed client leaves no stale lock behind.
func lockFileExclusive(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

func unlockFile(f *os.File) { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
