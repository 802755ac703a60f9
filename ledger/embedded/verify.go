package embedded

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"os"
	"path/filepath"

	"zhengzhao/ledger"
	"zhengzhao/ledger/tlog"
)

// Report is what Verify found.
type Report struct {
	// Checkpoint is the last checkpoint, its signature verified.
	Checkpoint ledger.SignedCheckpoint
	// UnacknowledgedBytes counts bytes after the last checkpoint (a torn
	// write or entries no checkpoint covers); New would cut them off.
	UnacknowledgedBytes int64
	// Tail says what those bytes are; "" when there are none.
	Tail string
}

// Verify re-checks the log in dir without changing it: every record's
// framing and digest, every event against the ledger rules, every
// checkpoint's size and root against the rebuilt tree, and the last
// checkpoint's signature against pub under origin ("" means DefaultOrigin).
// The first problem is reported as a *CorruptError (wrapping
// ledger.ErrCorrupt) naming the entry. It takes no lock, so it may run while
// the ledger is open; bytes still being written then show up as an
// unacknowledged tail.
func Verify(ctx context.Context, dir, origin string, pub *ecdsa.PublicKey) (Report, error) {
	if origin == "" {
		origin = DefaultOrigin
	}
	f, err := os.Open(filepath.Join(dir, logFile))
	if err != nil {
		return Report{}, fmt.Errorf("%w: open log: %w", ledger.ErrUnavailable, err)
	}
	defer f.Close()
	r, err := replay(ctx, f, origin)
	if err != nil {
		return Report{}, err
	}
	if r.note == "" {
		return Report{}, &CorruptError{Offset: r.end, Reason: "the log has no checkpoint"}
	}
	if _, err := tlog.VerifyCheckpoint(r.note, origin, pub); err != nil {
		return Report{}, &CorruptError{Index: r.cp.Size, Offset: r.cpOff, Reason: "last checkpoint: " + err.Error()}
	}
	return Report{
		Checkpoint:          ledger.SignedCheckpoint{Note: r.note, Size: r.cp.Size, Root: r.cp.Root},
		UnacknowledgedBytes: r.size - r.end,
		Tail:                r.tail,
	}, nil
}
