package embedded

import (
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"zhengzhao/ledger"
	"zhengzhao/ledger/logfile"
	"zhengzhao/ledger/tlog"
)

// checkpointFile keeps the latest checkpoint the ledger signed (or verified
// on open), apart from the log and the index: a log that is later shorter
// than it, or not consistent with it, was rolled back or replaced.
const checkpointFile = "checkpoint"

// witness is the content of checkpointFile.
type witness struct {
	Note string `json:"note"`
	// Offset is where the checkpoint record is in the log, End where it ends.
	Offset int64 `json:"offset"`
	End    int64 `json:"end"`

	cp tlog.Checkpoint
}

// readWitness reads and verifies dir's checkpoint file; nil if there is none.
func readWitness(dir, origin string, pub *ecdsa.PublicKey) (*witness, error) {
	path := filepath.Join(dir, checkpointFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %w", ledger.ErrUnavailable, path, err)
	}
	var w witness
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ledger.ErrCorrupt, path, err)
	}
	if w.cp, err = tlog.VerifyCheckpoint(w.Note, origin, pub); err != nil {
		return nil, fmt.Errorf("%w: %s: the kept checkpoint does not verify with the log key: %w", ledger.ErrCorrupt, path, err)
	}
	return &w, nil
}

// writeWitness replaces dir's checkpoint file atomically and durably.
func writeWitness(dir string, w *witness) error {
	b, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("%w: encode checkpoint: %w", ledger.ErrUnavailable, err)
	}
	path := filepath.Join(dir, checkpointFile)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("%w: write checkpoint: %w", ledger.ErrUnavailable, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%w: write checkpoint: %w", ledger.ErrUnavailable, err)
	}
	return logfile.SyncDir(dir)
}

// RollbackError reports a log that is shorter than, or not consistent with,
// the checkpoint kept apart from it. It wraps ledger.ErrRollback.
type RollbackError struct {
	// LogSize is the number of entries in the log (up to its last
	// checkpoint); CheckpointSize the size of the kept checkpoint.
	LogSize, CheckpointSize uint64
	// Reason says what does not hold.
	Reason string
}

// Error names both sizes.
func (e *RollbackError) Error() string {
	return fmt.Sprintf("%v: the log has %d entries, the checkpoint it signed earlier has %d (kept in %s): %s", ledger.ErrRollback, e.LogSize, e.CheckpointSize, checkpointFile, e.Reason)
}

// Unwrap returns ledger.ErrRollback.
func (e *RollbackError) Unwrap() error { return ledger.ErrRollback }

// check checks that the log whose tree is t, at size t.size(), extends the
// kept checkpoint: it is not shorter, and a consistency proof from the kept
// checkpoint to the log's verifies.
func (w *witness) check(t *tree) error {
	size := t.size()
	if size < w.cp.Size {
		return &RollbackError{LogSize: size, CheckpointSize: w.cp.Size, Reason: "the log is shorter than a checkpoint it signed"}
	}
	p, err := t.consistencyProof(w.cp.Size, size)
	if err != nil {
		return err
	}
	if err := tlog.VerifyConsistency(w.cp.Size, size, p, w.cp.Root, t.root()); err != nil {
		return &RollbackError{LogSize: size, CheckpointSize: w.cp.Size, Reason: "the log is not consistent with a checkpoint it signed: " + err.Error()}
	}
	return nil
}
