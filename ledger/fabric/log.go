package fabric

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"zhengzhao/ledger"
	"zhengzhao/ledger/logfile"
	"zhengzhao/ledger/tlog"
	"zhengzhao/signing"
)

const (
	logFile  = "log"
	lockFile = "lock"
)

// NotInLog is the log index given, in License answers, to an event this
// instance's log does not hold: one another registry instance wrote.
const NotInLog = ^uint64(0)

// leafKey identifies an entry by the first half of its leaf hash.
type leafKey [16]byte

func keyOf(leafHash []byte) leafKey {
	var k leafKey
	copy(k[:], leafHash)
	return k
}

// localLog is this instance's Merkle log on disk (logfile format): the
// canonical entries of the transactions it committed, in the order their
// commits were seen, and a signed checkpoint after each group. Not safe for
// concurrent use; Ledger serialises access.
type localLog struct {
	dir    string
	origin string
	signer signing.Signer
	lock   *os.File
	f      *os.File
	end    int64
	tree   *tlog.Tree
	index  map[leafKey]uint64
	cp     ledger.SignedCheckpoint
}

// openLog opens or creates the log in dir: it locks the directory, re-reads
// every record (framing, digests, canonical events, each checkpoint against
// the rebuilt tree, the last checkpoint's signature), cuts off a torn tail
// and, for a new log, writes the checkpoint of the empty tree.
func openLog(ctx context.Context, dir, origin string, signer signing.Signer) (*localLog, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: create log directory: %w", ledger.ErrUnavailable, err)
	}
	lock, err := logfile.Lock(filepath.Join(dir, lockFile))
	if err != nil {
		return nil, err
	}
	lg := &localLog{dir: dir, origin: origin, signer: signer, lock: lock, tree: tlog.NewTree(), index: map[leafKey]uint64{}}
	if err := lg.open(ctx); err != nil {
		lg.close()
		return nil, err
	}
	return lg, nil
}

func (lg *localLog) open(ctx context.Context) error {
	f, err := os.OpenFile(filepath.Join(lg.dir, logFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("%w: open log: %w", ledger.ErrUnavailable, err)
	}
	lg.f = f
	var note string
	var cpOff int64
	scan, err := logfile.Read(ctx, f, func(first uint64, entries []logfile.Record, cp logfile.Record) error {
		for i, e := range entries {
			if _, err := ledger.ParseEvent(e.Payload); err != nil {
				return &logfile.CorruptError{Index: first + uint64(i), Offset: e.Offset, Reason: err.Error()}
			}
			idx, err := lg.tree.AppendLeafHash(e.Digest)
			if err != nil {
				return &logfile.CorruptError{Index: first + uint64(i), Offset: e.Offset, Reason: err.Error()}
			}
			lg.index[keyOf(e.Digest)] = idx
		}
		if _, err := logfile.CheckCheckpoint(string(cp.Payload), lg.origin, lg.tree, cp.Offset); err != nil {
			return err
		}
		note, cpOff = string(cp.Payload), cp.Offset
		return nil
	})
	if err != nil {
		return err
	}
	if note != "" {
		c, err := tlog.VerifyCheckpoint(note, lg.origin, lg.signer.Public())
		if err != nil {
			return &logfile.CorruptError{Index: lg.tree.Size(), Offset: cpOff, Reason: "last checkpoint does not verify with the configured key: " + err.Error()}
		}
		lg.cp = ledger.SignedCheckpoint{Note: note, Size: c.Size, Root: c.Root}
	}
	if scan.End < scan.Size {
		if err := logfile.Truncate(f, scan.End); err != nil {
			return err
		}
	}
	lg.end = scan.End
	if note != "" {
		return nil
	}
	// A new log: the header and the checkpoint of the empty tree.
	buf := logfile.Header()
	if lg.end == int64(len(logfile.Magic)) {
		buf = nil
	} else {
		lg.end = 0
	}
	cp, err := lg.sign()
	if err != nil {
		return err
	}
	buf, _ = logfile.AppendRecord(buf, logfile.TypeCheckpoint, []byte(cp.Note))
	if err := lg.write(buf); err != nil {
		return err
	}
	lg.cp = cp
	return logfile.SyncDir(lg.dir)
}

func (lg *localLog) sign() (ledger.SignedCheckpoint, error) {
	cp := tlog.Checkpoint{Origin: lg.origin, Size: lg.tree.Size(), Root: lg.tree.Root()}
	note, err := tlog.SignCheckpoint(cp, lg.origin, lg.signer)
	if err != nil {
		return ledger.SignedCheckpoint{}, fmt.Errorf("%w: sign checkpoint: %w", ledger.ErrUnavailable, err)
	}
	return ledger.SignedCheckpoint{Note: note, Size: cp.Size, Root: cp.Root}, nil
}

func (lg *localLog) write(buf []byte) error {
	if err := logfile.WriteSync(lg.f, lg.end, buf); err != nil {
		return err
	}
	lg.end += int64(len(buf))
	return nil
}

// appendGroups appends the entries of several committed transactions and a
// new signed checkpoint with one write and one fsync, and returns the index
// of each group's first entry. On error the log must be reopened: the tree
// may hold entries the file does not.
func (lg *localLog) appendGroups(groups [][][]byte) ([]uint64, error) {
	var buf []byte
	firsts := make([]uint64, len(groups))
	type added struct {
		key leafKey
		idx uint64
	}
	var keys []added
	for g, entries := range groups {
		firsts[g] = lg.tree.Size()
		for _, e := range entries {
			var d []byte
			buf, d = logfile.AppendRecord(buf, logfile.TypeEntry, e)
			idx, err := lg.tree.AppendLeafHash(d)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ledger.ErrUnavailable, err)
			}
			keys = append(keys, added{keyOf(d), idx})
		}
	}
	cp, err := lg.sign()
	if err != nil {
		return nil, err
	}
	buf, _ = logfile.AppendRecord(buf, logfile.TypeCheckpoint, []byte(cp.Note))
	if err := lg.write(buf); err != nil {
		return nil, err
	}
	for _, k := range keys {
		lg.index[k.key] = k.idx
	}
	lg.cp = cp
	return firsts, nil
}

// lookup returns the index of the entry with these canonical bytes, or
// NotInLog.
func (lg *localLog) lookup(entry []byte) uint64 {
	if i, ok := lg.index[keyOf(tlog.LeafHash(entry))]; ok {
		return i
	}
	return NotInLog
}

func (lg *localLog) close() error {
	var errs []error
	if lg.f != nil {
		errs = append(errs, lg.f.Close())
	}
	errs = append(errs, logfile.Unlock(lg.lock))
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
