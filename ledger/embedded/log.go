package embedded

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"os"
	"time"

	"zhengzhao/ledger"
	"zhengzhao/ledger/index"
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

// flushEvery is how many entries a replay applies before it writes them to
// the index (at the next checkpoint), so that its memory stays bounded.
const flushEvery = 1 << 14

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

// errStale means an index does not describe a prefix of the log: it belongs
// to another log, or the log was cut or rewritten under it.
var errStale = errors.New("embedded: the index does not match the log")

// Progress is how far a replay of the log has come.
type Progress struct {
	// Entries counts the entries checked so far.
	Entries uint64
	// Bytes is how far into the log the replay is; Total is the log's size.
	Bytes, Total int64
}

// loaded is a log brought into an index: the ledger state, the tree and
// where the log ends.
type loaded struct {
	idx    *index.Index
	state  *ledger.State
	store  *licenses
	tree   *tree
	note   string          // the last checkpoint's signed note; "" if none
	cp     tlog.Checkpoint // the last checkpoint, signature verified
	lastAt time.Time       // At of the last entry
	cpOff  int64           // offset of the last checkpoint record
	end    int64           // offset just past the last checkpoint record
	size   int64           // file size
	// tail says why the bytes after end are not part of the log ("" when
	// end == size): a torn write or entries no checkpoint covers.
	tail string
	// verified counts the entries checked and applied by load: the ones
	// after the index's mark.
	verified uint64

	origin   string
	pub      *ecdsa.PublicKey
	events   []index.Event
	progress func(Progress)
}

// load brings idx up to date with the log in f. It checks that the index's
// mark is a checkpoint of this log (errStale if not), replays the events the
// index lists as not about one license into a fresh ledger.State, then
// checks every record after the mark — framing, digest, the ledger rules,
// each checkpoint's size and root, the last one's signature — applying them
// to the state, the tree and the index. The log is never written.
func load(ctx context.Context, f *os.File, idx *index.Index, origin string, pub *ecdsa.PublicKey, progress func(Progress)) (*loaded, error) {
	l := &loaded{idx: idx, origin: origin, pub: pub, progress: progress}
	if fi, err := f.Stat(); err == nil {
		l.size = fi.Size()
	}
	l.store = newLicenses(idx, f)
	l.state = ledger.NewStateWith(l.store)
	mark, ok, err := idx.Mark()
	if err != nil {
		return nil, err
	}
	if ok {
		if err := l.resume(f, mark); err != nil {
			return nil, err
		}
	} else {
		mark = index.Mark{}
	}
	if l.tree, err = loadTree(idx, mark.Size); err != nil {
		return nil, err
	}
	s, err := logfile.ReadFrom(ctx, f, mark.End, mark.Size, l.commit)
	if err != nil {
		return nil, err
	}
	l.end, l.size, l.tail = s.End, s.Size, s.Tail
	if s.Checkpoints > 0 {
		if err := l.flush(); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// resume checks the index's mark against the log and replays the listed
// events into the state.
func (l *loaded) resume(f *os.File, m index.Mark) error {
	head := make([]byte, len(logMagic))
	if _, err := f.ReadAt(head, 0); err != nil || string(head) != logMagic {
		return &CorruptError{Offset: 0, Reason: "not a Zhengzhao ledger log (bad file header)"}
	}
	typ, rec, err := logfile.ReadRecord(f, m.CheckpointOffset)
	if err != nil || typ != recCheckpoint || m.CheckpointOffset+int64(headerSize+len(rec.Payload)+digestSize) != m.End {
		return fmt.Errorf("%w: no checkpoint record at byte %d", errStale, m.CheckpointOffset)
	}
	cp, err := logfile.CheckCheckpointRoot(string(rec.Payload), l.origin, m.Size, m.Root, m.CheckpointOffset)
	if err != nil {
		return fmt.Errorf("%w: %w", errStale, err)
	}
	// The one signature an open checks when nothing was appended.
	if _, err := tlog.VerifyCheckpoint(string(rec.Payload), l.origin, l.pub); err != nil {
		return &CorruptError{Index: m.Size, Offset: m.CheckpointOffset, Reason: "last checkpoint does not verify with the configured key: " + err.Error()}
	}
	l.note, l.cp, l.cpOff, l.end, l.lastAt = string(rec.Payload), cp, m.CheckpointOffset, m.End, m.Time
	return l.idx.Events(func(e index.Event) error {
		typ, rec, err := logfile.ReadRecord(f, e.Offset)
		if err == nil && typ != recEntry {
			err = &CorruptError{Index: e.Index, Offset: e.Offset, Reason: "the index points at a checkpoint record"}
		}
		if err != nil {
			return err
		}
		ev, err := ledger.ParseEvent(rec.Payload)
		if err != nil {
			return &CorruptError{Index: e.Index, Offset: e.Offset, Reason: err.Error()}
		}
		if err := l.state.Apply(ev, e.Index); err != nil {
			return &CorruptError{Index: e.Index, Offset: e.Offset, Reason: "event breaks the ledger rules: " + err.Error()}
		}
		return nil
	})
}

// commit applies the entries a checkpoint record closes and checks the
// checkpoint.
func (l *loaded) commit(_ uint64, entries []logfile.Record, cp logfile.Record) error {
	for _, p := range entries {
		index := l.tree.size()
		ev, err := ledger.ParseEvent(p.Payload)
		if err != nil {
			return &CorruptError{Index: index, Offset: p.Offset, Reason: err.Error()}
		}
		if ev.At.Before(l.lastAt) {
			return &CorruptError{Index: index, Offset: p.Offset, Reason: "event time goes backwards"}
		}
		l.store.offsets[index] = p.Offset
		if err := l.state.Apply(ev, index); err != nil {
			return &CorruptError{Index: index, Offset: p.Offset, Reason: "event breaks the ledger rules: " + err.Error()}
		}
		if err := l.tree.append(p.Digest); err != nil {
			return &CorruptError{Index: index, Offset: p.Offset, Reason: err.Error()}
		}
		if !licenseEvent(ev.Kind) {
			l.events = append(l.events, indexEvent(index, p.Offset))
		}
		l.lastAt = ev.At
		l.verified++
	}
	c, err := logfile.CheckCheckpointRoot(string(cp.Payload), l.origin, l.tree.size(), l.tree.root(), cp.Offset)
	if err != nil {
		return err
	}
	l.note, l.cp, l.cpOff = string(cp.Payload), c, cp.Offset
	l.end = cp.Offset + int64(headerSize+len(cp.Payload)+digestSize)
	if l.progress != nil {
		l.progress(Progress{Entries: l.verified, Bytes: l.end, Total: l.size})
	}
	if len(l.store.offsets) >= flushEvery {
		return l.flush()
	}
	return nil
}

// flush verifies the last checkpoint's signature and writes what was
// applied since the last flush to the index, marked with that checkpoint.
func (l *loaded) flush() error {
	if _, err := tlog.VerifyCheckpoint(l.note, l.origin, l.pub); err != nil {
		return &CorruptError{Index: l.cp.Size, Offset: l.cpOff, Reason: "checkpoint does not verify with the configured key: " + err.Error()}
	}
	b := &index.Batch{Events: l.events, Nodes: l.tree.take(), Mark: index.Mark{Size: l.cp.Size, Root: l.cp.Root, CheckpointOffset: l.cpOff, End: l.end, Time: l.lastAt}}
	if err := l.store.flush(b); err != nil {
		return err
	}
	if err := l.idx.Write(b); err != nil {
		return fmt.Errorf("%w: %w", ledger.ErrUnavailable, err)
	}
	l.events = nil
	return nil
}

// licenseEvent reports whether events of kind k change only one license's
// state (kept in the index); every other event is replayed on open.
func licenseEvent(k ledger.Kind) bool {
	return k == ledger.KindLicenseAnchored || k == ledger.KindLicenseStatus
}

func indexEvent(i uint64, off int64) index.Event { return index.Event{Index: i, Offset: off} }

// countEntries reads the log's framing only and returns the number of
// entries its last checkpoint covers: for the message of a rollback.
func countEntries(ctx context.Context, f *os.File) uint64 {
	var n uint64
	logfile.Read(ctx, f, func(first uint64, entries []logfile.Record, _ logfile.Record) error {
		n = first + uint64(len(entries))
		return nil
	})
	return n
}

var errClosed = errors.New("embedded: ledger is closed")
