//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package logfile

import (
	"errors"
	"fmt"
	"os"

	"zhengzhao/ledger"
)

// ErrLocked means another Ledger (in this or another process) has the
// directory open.
var ErrLocked = errors.New("ledger directory is in use")

// Lock refuses: without flock(2) two processes could share the log.
func Lock(path string) (*os.File, error) {
	return nil, fmt.Errorf("%w: no directory locking on this platform (%s)", ledger.ErrUnavailable, path)
}

// Unlock releases a lock taken by Lock.
func Unlock(f *os.File) error { return f.Close() }

// SyncDir fsyncs a directory so a newly created file's entry is durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("%w: open directory: %w", ledger.ErrUnavailable, err)
	}
	defer d.Close()
	return d.Sync()
}
