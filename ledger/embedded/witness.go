package embedded

import (
	"crypto/ecdsa"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
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

// witness is one kept checkpoint.
type witness struct {
	Note string `json:"note"`
	// Offset is where the checkpoint record is in the log, End where it ends.
	Offset int64 `json:"offset"`
	End    int64 `json:"end"`

	cp tlog.Checkpoint
}

// The checkpoint file has two slots of slotSize bytes, written in turn, so
// that a write torn by a crash leaves the other, older one intact (as bbolt
// does with its meta pages): one write and one fsync per commit, no rename.
// A slot is
//
//	magic   4 bytes  "ZZCP"
//	seq     8 bytes  big-endian, one more than the previous write's
//	length  4 bytes  big-endian length of payload
//	crc     4 bytes  big-endian CRC-32C of seq ‖ length ‖ payload
//	payload          the JSON of a witness
//
// and the valid slot with the higher seq is the kept checkpoint.
const (
	slotMagic  = "ZZCP"
	slotHeader = 4 + 8 + 4 + 4
	slotSize   = 4096
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// witnessFile is the open checkpoint file of a ledger.
type witnessFile struct {
	f   *os.File
	seq uint64 // of the slot written last
}

// parseSlot returns the witness in one slot and its seq, or ok false.
func parseSlot(b []byte) (w witness, seq uint64, ok bool) {
	if len(b) < slotHeader || string(b[:4]) != slotMagic {
		return w, 0, false
	}
	seq = binary.BigEndian.Uint64(b[4:])
	n := int(binary.BigEndian.Uint32(b[12:]))
	if n > len(b)-slotHeader {
		return w, 0, false
	}
	if slotCRC(b[4:16], b[slotHeader:slotHeader+n]) != binary.BigEndian.Uint32(b[16:]) {
		return w, 0, false
	}
	if err := json.Unmarshal(b[slotHeader:slotHeader+n], &w); err != nil {
		return w, 0, false
	}
	return w, seq, true
}

func slotCRC(seqLen, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(seqLen, castagnoli), castagnoli, payload)
}

// readWitness reads dir's checkpoint file and verifies the kept checkpoint;
// nil if there is none. It returns the seq of the slot read too.
func readWitness(dir, origin string, pub *ecdsa.PublicKey) (*witness, error) {
	w, _, err := readWitnessSeq(dir, origin, pub)
	return w, err
}

func readWitnessSeq(dir, origin string, pub *ecdsa.PublicKey) (*witness, uint64, error) {
	path := filepath.Join(dir, checkpointFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%w: read %s: %w", ledger.ErrUnavailable, path, err)
	}
	var best *witness
	var bestSeq uint64
	for off := 0; off < len(b); off += slotSize {
		w, seq, ok := parseSlot(b[off:min(len(b), off+slotSize)])
		if ok && (best == nil || seq > bestSeq) {
			best, bestSeq = &w, seq
		}
	}
	if best == nil {
		if len(b) == 0 {
			// Created, never written: a crash before the first write.
			return nil, 0, nil
		}
		return nil, 0, fmt.Errorf("%w: %s: no valid kept checkpoint in it", ledger.ErrCorrupt, path)
	}
	if best.cp, err = tlog.VerifyCheckpoint(best.Note, origin, pub); err != nil {
		return nil, 0, fmt.Errorf("%w: %s: the kept checkpoint does not verify with the log key: %w", ledger.ErrCorrupt, path, err)
	}
	return best, bestSeq, nil
}

// openWitnessFile opens (or creates) dir's checkpoint file for writing; seq
// is that of the slot holding the kept checkpoint.
func openWitnessFile(dir string, seq uint64) (*witnessFile, error) {
	path := filepath.Join(dir, checkpointFile)
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: open %s: %w", ledger.ErrUnavailable, path, err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		if err := logfile.SyncDir(dir); err != nil {
			f.Close()
			return nil, err
		}
	}
	return &witnessFile{f: f, seq: seq}, nil
}

// write keeps w in the slot not holding the latest one and fsyncs it.
func (wf *witnessFile) write(w *witness) error {
	payload, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("%w: encode checkpoint: %w", ledger.ErrUnavailable, err)
	}
	if slotHeader+len(payload) > slotSize {
		return fmt.Errorf("%w: checkpoint of %d bytes does not fit the checkpoint file's slot of %d", ledger.ErrUnavailable, len(payload), slotSize-slotHeader)
	}
	seq := wf.seq + 1
	b := make([]byte, slotHeader, slotHeader+len(payload))
	copy(b, slotMagic)
	binary.BigEndian.PutUint64(b[4:], seq)
	binary.BigEndian.PutUint32(b[12:], uint32(len(payload)))
	binary.BigEndian.PutUint32(b[16:], slotCRC(b[4:16], payload))
	b = append(b, payload...)
	if _, err := wf.f.WriteAt(b, int64(seq%2)*slotSize); err != nil {
		return fmt.Errorf("%w: write %s: %w", ledger.ErrUnavailable, checkpointFile, err)
	}
	if err := wf.f.Sync(); err != nil {
		return fmt.Errorf("%w: sync %s: %w", ledger.ErrUnavailable, checkpointFile, err)
	}
	wf.seq = seq
	return nil
}

func (wf *witnessFile) close() error { return wf.f.Close() }

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
