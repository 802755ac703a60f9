package embedded

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"time"

	"zhengzhao/ledger"
	"zhengzhao/ledger/tlog"
)

// logMagic starts every log file: a name and the format version (1).
const logMagic = "ZZLOG\x00\x00\x01"

// Record types.
const (
	recEntry      = 'E'
	recCheckpoint = 'C'
)

const (
	headerSize = 1 + 4 + 4
	digestSize = sha256.Size
	// maxPayload bounds one record's payload; an event is at most
	// ledger.MaxEventSize and a note much less.
	maxPayload = ledger.MaxEventSize
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// CorruptError reports the first part of the log that does not check out.
// It wraps ledger.ErrCorrupt.
type CorruptError struct {
	// Index is the index of the first entry that is bad or not vouched for:
	// the bad entry itself, or for a bad checkpoint record the entry that
	// would follow it.
	Index uint64
	// Offset is the byte offset of the bad record in the log file.
	Offset int64
	// Reason says what is wrong.
	Reason string
}

// Error names the entry, its offset and the reason.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("%v: entry %d (record at byte %d): %s", ledger.ErrCorrupt, e.Index, e.Offset, e.Reason)
}

// Unwrap returns ledger.ErrCorrupt.
func (e *CorruptError) Unwrap() error { return ledger.ErrCorrupt }

// recordDigest is SHA-256(0x00 ‖ payload) for an entry (its RFC 6962 leaf
// hash) and SHA-256('C' ‖ payload) for a checkpoint.
func recordDigest(typ byte, payload []byte) []byte {
	if typ == recEntry {
		return tlog.LeafHash(payload)
	}
	h := sha256.New()
	h.Write([]byte{typ})
	h.Write(payload)
	return h.Sum(nil)
}

func headerCRC(typ byte, length uint32) uint32 {
	var b [5]byte
	b[0] = typ
	binary.BigEndian.PutUint32(b[1:], length)
	return crc32.Checksum(b[:], castagnoli)
}

// appendRecord appends one framed record to buf and returns it with the
// record's digest.
func appendRecord(buf []byte, typ byte, payload []byte) ([]byte, []byte) {
	n := uint32(len(payload))
	buf = append(buf, typ)
	buf = binary.BigEndian.AppendUint32(buf, n)
	buf = binary.BigEndian.AppendUint32(buf, headerCRC(typ, n))
	buf = append(buf, payload...)
	d := recordDigest(typ, payload)
	return append(buf, d...), d
}

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

type pendingEntry struct {
	offset  int64
	payload []byte
	digest  []byte
}

// replay reads the log in f from the start, checking and applying every
// record up to the last checkpoint. It never writes.
func replay(ctx context.Context, f *os.File, origin string) (*replayed, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: stat log: %w", ledger.ErrUnavailable, err)
	}
	r := &replayed{state: ledger.NewState(), tree: tlog.NewTree(), size: fi.Size()}
	br := bufio.NewReaderSize(io.NewSectionReader(f, 0, r.size), 1<<20)

	magic := make([]byte, len(logMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != logMagic {
		if r.size < int64(len(logMagic)) && bytes.HasPrefix([]byte(logMagic), magic[:r.size]) {
			// A crash while creating the log: nothing was ever written.
			r.tail = "incomplete file header"
			return r, nil
		}
		return nil, &CorruptError{Offset: 0, Reason: "not a Zhengzhao ledger log (bad file header)"}
	}
	r.end = int64(len(logMagic))

	off := r.end
	var pending []pendingEntry
	var header [headerSize]byte
	for records := 0; off < r.size; records++ {
		if records%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		index := r.tree.Size() + uint64(len(pending))
		corrupt := func(reason string) error { return &CorruptError{Index: index, Offset: off, Reason: reason} }
		remaining := r.size - off
		if remaining < headerSize {
			r.tail = "incomplete record header (torn write)"
			break
		}
		if _, err := io.ReadFull(br, header[:]); err != nil {
			return nil, fmt.Errorf("%w: read log at byte %d: %w", ledger.ErrUnavailable, off, err)
		}
		typ := header[0]
		length := binary.BigEndian.Uint32(header[1:5])
		if (typ != recEntry && typ != recCheckpoint) || binary.BigEndian.Uint32(header[5:9]) != headerCRC(typ, length) {
			zero, err := allZero(f, off, r.size)
			if err != nil {
				return nil, err
			}
			if zero {
				r.tail = "zero bytes (torn write)"
				break
			}
			return nil, corrupt("bad record header")
		}
		if length > maxPayload {
			return nil, corrupt(fmt.Sprintf("record length %d exceeds %d", length, maxPayload))
		}
		recLen := int64(headerSize) + int64(length) + digestSize
		if remaining < recLen {
			r.tail = "incomplete record (torn write)"
			break
		}
		payload := make([]byte, length)
		digest := make([]byte, digestSize)
		if _, err := io.ReadFull(br, payload); err != nil {
			return nil, fmt.Errorf("%w: read log at byte %d: %w", ledger.ErrUnavailable, off, err)
		}
		if _, err := io.ReadFull(br, digest); err != nil {
			return nil, fmt.Errorf("%w: read log at byte %d: %w", ledger.ErrUnavailable, off, err)
		}
		if !bytes.Equal(digest, recordDigest(typ, payload)) {
			// A crash can leave the end of the last record unwritten (zeros).
			if off+recLen == r.size && isZero(digest) {
				r.tail = "unwritten record end (torn write)"
				break
			}
			return nil, corrupt("digest does not match the record")
		}
		if typ == recEntry {
			pending = append(pending, pendingEntry{offset: off, payload: payload, digest: digest})
			off += recLen
			continue
		}
		if err := r.commit(pending); err != nil {
			return nil, err
		}
		pending = pending[:0]
		if err := r.checkpoint(string(payload), origin, off); err != nil {
			return nil, err
		}
		off += recLen
		r.end = off
	}
	if len(pending) > 0 && r.tail == "" {
		r.tail = fmt.Sprintf("%d entries after the last checkpoint (never acknowledged)", len(pending))
	}
	return r, nil
}

// commit applies the entries a checkpoint record closes.
func (r *replayed) commit(entries []pendingEntry) error {
	for _, p := range entries {
		index := r.tree.Size()
		ev, err := ledger.ParseEvent(p.payload)
		if err != nil {
			return &CorruptError{Index: index, Offset: p.offset, Reason: err.Error()}
		}
		if ev.At.Before(r.lastAt) {
			return &CorruptError{Index: index, Offset: p.offset, Reason: "event time goes backwards"}
		}
		if err := r.state.Apply(ev, index); err != nil {
			return &CorruptError{Index: index, Offset: p.offset, Reason: "event breaks the ledger rules: " + err.Error()}
		}
		if _, err := r.tree.AppendLeafHash(p.digest); err != nil {
			return &CorruptError{Index: index, Offset: p.offset, Reason: err.Error()}
		}
		r.lastAt = ev.At
	}
	return nil
}

// checkpoint checks a checkpoint record against the tree rebuilt so far.
func (r *replayed) checkpoint(note, origin string, off int64) error {
	size := r.tree.Size()
	bad := func(reason string) error { return &CorruptError{Index: size, Offset: off, Reason: reason} }
	cp, err := tlog.ParseCheckpoint(note)
	if err != nil {
		return bad("checkpoint: " + err.Error())
	}
	if cp.Origin != origin {
		return bad(fmt.Sprintf("checkpoint origin %q, want %q", cp.Origin, origin))
	}
	if cp.Size != size {
		return bad(fmt.Sprintf("checkpoint for size %d after %d entries", cp.Size, size))
	}
	if !bytes.Equal(cp.Root, r.tree.Root()) {
		return bad(fmt.Sprintf("checkpoint root for size %d does not match the entries", size))
	}
	r.note, r.cp, r.cpOff = note, cp, off
	return nil
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// allZero reports whether f holds only zero bytes in [from, to).
func allZero(f *os.File, from, to int64) (bool, error) {
	buf := make([]byte, 64<<10)
	for off := from; off < to; {
		n := int64(len(buf))
		if to-off < n {
			n = to - off
		}
		if _, err := f.ReadAt(buf[:n], off); err != nil {
			return false, fmt.Errorf("%w: read log at byte %d: %w", ledger.ErrUnavailable, off, err)
		}
		if !isZero(buf[:n]) {
			return false, nil
		}
		off += n
	}
	return true, nil
}

var errClosed = errors.New("embedded: ledger is closed")
