//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package logfile

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"zhengzhao/ledger"
)

// ErrLocked means another Ledger (in this or another process) has the
// directory open.
var ErrLocked = errors.New("ledger directory is in use")

// Lock takes an exclusive flock(2) on path, creating it if needed.
func Lock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: open lock file: %w", ledger.ErrUnavailable, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %w: %s", ledger.ErrUnavailable, ErrLocked, path)
		}
		return nil, fmt.Errorf("%w: lock %s: %w", ledger.ErrUnavailable, path, err)
	}
	return f, nil
}

// Unlock releases a lock taken by Lock.
func Unlock(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return errors.Join(err, f.Close())
}

// SyncDir fsyncs a directory so a newly created file's entry is durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("%w: open directory: %w", ledger.ErrUnavailable, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("%w: sync directory: %w", ledger.ErrUnavailable, err)
	}
	return nil
}
