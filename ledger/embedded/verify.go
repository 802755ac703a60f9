package embedded

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"os"
	"path/filepath"

	"zhengzhao/ledger"
	"zhengzhao/ledger/index"
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
	// Kept is the size of the checkpoint kept apart from the log that the
	// log was checked against; 0 when there is none.
	Kept uint64
}

// Verify re-checks the whole log in dir without changing it: every record's
// framing and digest, every event against the ledger rules, every
// checkpoint's size and root against the rebuilt tree, the last
// checkpoint's signature against pub under origin ("" means DefaultOrigin),
// and the log against the checkpoint kept apart from it. The first problem
// is reported as a *CorruptError (wrapping ledger.ErrCorrupt) naming the
// entry, or a *RollbackError (wrapping ledger.ErrRollback) naming both
// sizes. progress, if not nil, is called as the check goes on. The state is
// built in a temporary index (in dir, removed when done; in the system's
// temporary directory only if dir is read-only, as that may be in memory),
// so memory does not grow with the log. It takes no lock, so it may run while
// the ledger is open; bytes still being written then show up as an
// unacknowledged tail.
func Verify(ctx context.Context, dir, origin string, pub *ecdsa.PublicKey, progress func(Progress)) (Report, error) {
	if origin == "" {
		origin = DefaultOrigin
	}
	f, err := os.Open(filepath.Join(dir, logFile))
	if err != nil {
		return Report{}, fmt.Errorf("%w: open log: %w", ledger.ErrUnavailable, err)
	}
	defer f.Close()
	w, err := readWitness(dir, origin, pub)
	if err != nil {
		return Report{}, err
	}
	tmp, err := os.MkdirTemp(dir, ".verify-")
	if err != nil {
		// A read-only copy of a ledger: the system's temporary directory.
		tmp, err = os.MkdirTemp("", "zhengzhao-verify-")
	}
	if err != nil {
		return Report{}, fmt.Errorf("%w: %w", ledger.ErrUnavailable, err)
	}
	defer os.RemoveAll(tmp)
	idx, err := index.Open(filepath.Join(tmp, indexFile), index.Options{NoSync: true})
	if err != nil {
		return Report{}, fmt.Errorf("%w: %w", ledger.ErrUnavailable, err)
	}
	defer idx.Close()
	r, err := load(ctx, f, idx, origin, pub, progress)
	if err != nil {
		return Report{}, err
	}
	if r.note == "" {
		if w != nil {
			return Report{}, &RollbackError{CheckpointSize: w.cp.Size, Reason: "the log has no checkpoint"}
		}
		return Report{}, &CorruptError{Offset: r.end, Reason: "the log has no checkpoint"}
	}
	if _, err := tlog.VerifyCheckpoint(r.note, origin, pub); err != nil {
		return Report{}, &CorruptError{Index: r.cp.Size, Offset: r.cpOff, Reason: "last checkpoint: " + err.Error()}
	}
	rep := Report{
		Checkpoint:          ledger.SignedCheckpoint{Note: r.note, Size: r.cp.Size, Root: r.cp.Root},
		UnacknowledgedBytes: r.size - r.end,
		Tail:                r.tail,
	}
	if w != nil {
		if err := w.check(r.tree); err != nil {
			return Report{}, err
		}
		rep.Kept = w.cp.Size
	}
	return rep, nil
}
