//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly)

package client

import "os"

// lockFileExclusive is a no-op where flock is not available: one client per spool directory is
// then the caller's to ensure.
func lockFileExclusive(*os.File) error { return nil }

func unlockFile(*os.File) {}
