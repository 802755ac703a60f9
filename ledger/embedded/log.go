package embedded

import (
	"context"
	"errors"
	"os"
	"time"

	"zhengzhao/ledger"
	"zhengzhao/ledger/logfile"
	"zhengzhao/ledger/tlog"
)

// The file format is logfile's; these names keep this package's code short.
const (
	logMagic      = logfile.Magic
	recEntry      = logfile.TypeEntry
	recCheckpoint = logfile.TypeCheckpoint
	headerSize    = logfile.HeaderSize
	digestSize    = logfile.DigestSize
)

// CorruptError reports the first part of the log that does not check out.
// It wraps ledger.ErrCorrupt.
type CorruptError = logfile.CorruptError

// ErrLocked means another Ledger (in this or another process) has the
// directory open.
var ErrLocked = logfile.ErrLocked

func appendRecord(buf []byte, typ byte, payload []byte) ([]byte, []byte) {
	return logfile.AppendRecord(buf, typ, payload)
}

func lockDir(path string) (*os.File, error) { return logfile.Lock(path) }
func unlockDir(f *os.File) error            { return logfile.Unlock(f) }
func syncDir(dir string) error              { return logfile.SyncDir(dir) }

// replayed is what reading a log gives.
type replayed struct {
	state  *ledger.State
	tree   *tlog.Tree
	note   string          // the last checkpoint's signed note; "" if none
	cp     tlog.Checkpoint // the last checkpoint, parsed (signature unchecked)
	lastAt time.Time       // At of the last entry
	cpOff  int64           // offset of the last checkpoint record
	end    int64           // offset just past the last checkpoint record
	size   int64           // file size
	// tail says why the bytes after end are not part of the log ("" when
	// end == size): a torn write or entries no checkpoint covers.
	tail string
}

// replay reads the log in f from the start, checking and applying every
// record up to the last checkpoint. It never writes.
func replay(ctx context.Context, f *os.File, origin string) (*replayed, error) {
	r := &replayed{state: ledger.NewState(), tree: tlog.NewTree()}
	s, err := logfile.Read(ctx, f, func(_ uint64, entries []logfile.Record, cp logfile.Record) error {
		if err := r.commit(entries); err != nil {
			return err
		}
		c, err := logfile.CheckCheckpoint(string(cp.Payload), origin, r.tree, cp.Offset)
		if err != nil {
			return err
		}
		r.note, r.cp, r.cpOff = string(cp.Payload), c, cp.Offset
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.end, r.size, r.tail = s.End, s.Size, s.Tail
	return r, nil
}

// commit applies the entries a checkpoint record closes.
func (r *replayed) commit(entries []logfile.Record) error {
	for _, p := range entries {
		index := r.tree.Size()
		ev, err := ledger.ParseEvent(p.Payload)
		if err != nil {
			return &CorruptError{Index: index, Offset: p.Offset, Reason: err.Error()}
		}
		if ev.At.Before(r.lastAt) {
			return &CorruptError{Index: index, Offset: p.Offset, Reason: "event time goes backwards"}
		}
		if err := r.state.Apply(ev, index); err != nil {
			return &CorruptError{Index: index, Offset: p.Offset, Reason: "event breaks the ledger rules: " + err.Error()}
		}
		if _, err := r.tree.AppendLeafHash(p.Digest); err != nil {
			return &CorruptError{Index: index, Offset: p.Offset, Reason: err.Error()}
		}
		r.lastAt = ev.At
	}
	return nil
}

var errClosed = errors.New("embedded: ledger is closed")
