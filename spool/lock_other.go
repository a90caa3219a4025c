//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly)

package spool

import (
	"fmt"
	"os"
)

// lockDir opens the lock file only: where flock is not available, one process per directory is
// the operator's to ensure.
func lockDir(dir string) (*os.File, error) {
	path := dir + string(os.PathSeparator) + lockName
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("spool: cannot open the lock file %s: %w", path, err)
	}
	return f, nil
}

func unlockDir(f *os.File) { f.Close() }
