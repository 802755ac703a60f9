//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package embedded

import (
	"errors"
	"fmt"
	"os"

	"zhengzhao/ledger"
)

// ErrLocked means another Ledger (in this or another process) has the
// directory open.
var ErrLocked = errors.New("embedded: ledger directory is in use")

// lockDir refuses: without flock(2) two processes could share the log.
func lockDir(path string) (*os.File, error) {
	return nil, fmt.Errorf("%w: no directory locking on this platform (%s)", ledger.ErrUnavailable, path)
}

func unlockDir(f *os.File) error { return f.Close() }

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("%w: open directory: %w", ledger.ErrUnavailable, err)
	}
	defer d.Close()
	return d.Sync()
}
