package logfile

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"zhengzhao/ledger"
	"zhengzhao/ledger/tlog"
)

// Magic starts every log file: a name and the format version (1).
const Magic = "ZZLOG\x00\x00\x01"

// Record types.
const (
	// TypeEntry is a log entry: the canonical bytes of one ledger.Event.
	TypeEntry = 'E'
	// TypeCheckpoint is the C2SP signed note of the tree after the entries
	// before it.
	TypeCheckpoint = 'C'
)

const (
	// HeaderSize is the size of a record's type, length and header CRC.
	HeaderSize = 1 + 4 + 4
	// DigestSize is the size of a record's trailing digest.
	DigestSize = sha256.Size
	// MaxPayload bounds one record's payload; an event is at most
	// ledger.MaxEventSize and a note much less.
	MaxPayload = ledger.MaxEventSize
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// CorruptError reports the first part of a log that does not check out. It
// wraps ledger.ErrCorrupt.
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

// Digest is SHA-256(0x00 ‖ payload) for an entry (its RFC 6962 leaf hash)
// and SHA-256('C' ‖ payload) for a checkpoint.
func Digest(typ byte, payload []byte) []byte {
	if typ == TypeEntry {
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

// AppendRecord appends one framed record to buf and returns it with the
// record's digest.
func AppendRecord(buf []byte, typ byte, payload []byte) ([]byte, []byte) {
	n := uint32(len(payload))
	buf = append(buf, typ)
	buf = binary.BigEndian.AppendUint32(buf, n)
	buf = binary.BigEndian.AppendUint32(buf, headerCRC(typ, n))
	buf = append(buf, payload...)
	d := Digest(typ, payload)
	return append(buf, d...), d
}

// Record is one record read back from a log.
type Record struct {
	// Offset is the record's byte offset in the file.
	Offset int64
	// Payload is the entry's canonical event or the checkpoint's note.
	Payload []byte
	// Digest is the record's digest; for an entry its Merkle leaf hash.
	Digest []byte
}

// Scan is what reading a log found besides its records.
type Scan struct {
	// End is the offset just past the last checkpoint record: where the
	// next record goes once the tail is cut off.
	End int64
	// Size is the file size.
	Size int64
	// Checkpoints counts the checkpoint records read.
	Checkpoints int
	// Tail says why the bytes after End are not part of the log ("" when
	// End == Size): a torn write, or entries no checkpoint covers.
	Tail string
}

// Read reads the log in f from the start, checking every record's framing
// and digest. For each checkpoint record it calls commit with the entry
// records since the previous checkpoint, whose first index is first, and the
// checkpoint record; an error from commit stops the read and is returned as
// is. It never writes. A file that is not a log, or a damaged record before
// the tail, gives a *CorruptError.
func Read(ctx context.Context, f *os.File, commit func(first uint64, entries []Record, cp Record) error) (*Scan, error) {
	return ReadFrom(ctx, f, 0, 0, commit)
}

// ReadFrom is Read starting at byte start, which must be 0 or just past a
// checkpoint record that closes the first entries entries; only the records
// from there on are read and checked. Scan.Checkpoints then counts the
// checkpoints read from start, and Scan.End is start if there were none.
func ReadFrom(ctx context.Context, f *os.File, start int64, entries uint64, commit func(first uint64, entries []Record, cp Record) error) (*Scan, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: stat log: %w", ledger.ErrUnavailable, err)
	}
	s := &Scan{Size: fi.Size()}
	if start > 0 {
		return readRecords(ctx, f, s, start, entries, commit)
	}
	br := bufio.NewReaderSize(io.NewSectionReader(f, 0, s.Size), 1<<20)
	magic := make([]byte, len(Magic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != Magic {
		if s.Size < int64(len(Magic)) && bytes.HasPrefix([]byte(Magic), magic[:s.Size]) {
			// A crash while creating the log: nothing was ever written.
			s.Tail = "incomplete file header"
			return s, nil
		}
		return nil, &CorruptError{Offset: 0, Reason: "not a Zhengzhao ledger log (bad file header)"}
	}
	return readRecords(ctx, f, s, int64(len(Magic)), 0, commit)
}

// readRecords reads the records from byte start on; start is past the file
// header and closes the first committed entries.
func readRecords(ctx context.Context, f *os.File, s *Scan, start int64, committed uint64, commit func(first uint64, entries []Record, cp Record) error) (*Scan, error) {
	if start > s.Size {
		return nil, &CorruptError{Index: committed, Offset: start, Reason: fmt.Sprintf("the log is %d bytes, it ends before byte %d", s.Size, start)}
	}
	br := bufio.NewReaderSize(io.NewSectionReader(f, start, s.Size-start), 1<<20)
	s.End = start

	off := s.End
	var pending []Record
	var header [HeaderSize]byte
	for records := 0; off < s.Size; records++ {
		if records%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		index := committed + uint64(len(pending))
		corrupt := func(reason string) error { return &CorruptError{Index: index, Offset: off, Reason: reason} }
		remaining := s.Size - off
		if remaining < HeaderSize {
			s.Tail = "incomplete record header (torn write)"
			break
		}
		if _, err := io.ReadFull(br, header[:]); err != nil {
			return nil, fmt.Errorf("%w: read log at byte %d: %w", ledger.ErrUnavailable, off, err)
		}
		typ := header[0]
		length := binary.BigEndian.Uint32(header[1:5])
		if (typ != TypeEntry && typ != TypeCheckpoint) || binary.BigEndian.Uint32(header[5:9]) != headerCRC(typ, length) {
			zero, err := allZero(f, off, s.Size)
			if err != nil {
				return nil, err
			}
			if zero {
				s.Tail = "zero bytes (torn write)"
				break
			}
			return nil, corrupt("bad record header")
		}
		if length > MaxPayload {
			return nil, corrupt(fmt.Sprintf("record length %d exceeds %d", length, MaxPayload))
		}
		recLen := int64(HeaderSize) + int64(length) + DigestSize
		if remaining < recLen {
			s.Tail = "incomplete record (torn write)"
			break
		}
		payload := make([]byte, length)
		digest := make([]byte, DigestSize)
		if _, err := io.ReadFull(br, payload); err != nil {
			return nil, fmt.Errorf("%w: read log at byte %d: %w", ledger.ErrUnavailable, off, err)
		}
		if _, err := io.ReadFull(br, digest); err != nil {
			return nil, fmt.Errorf("%w: read log at byte %d: %w", ledger.ErrUnavailable, off, err)
		}
		if !bytes.Equal(digest, Digest(typ, payload)) {
			// A crash can leave the end of the last record unwritten (zeros).
			if off+recLen == s.Size && isZero(digest) {
				s.Tail = "unwritten record end (torn write)"
				break
			}
			return nil, corrupt("digest does not match the record")
		}
		rec := Record{Offset: off, Payload: payload, Digest: digest}
		off += recLen
		if typ == TypeEntry {
			pending = append(pending, rec)
			continue
		}
		if err := commit(committed, pending, rec); err != nil {
			return nil, err
		}
		committed += uint64(len(pending))
		pending = pending[:0]
		s.Checkpoints++
		s.End = off
	}
	if len(pending) > 0 && s.Tail == "" {
		s.Tail = fmt.Sprintf("%d entries after the last checkpoint (never acknowledged)", len(pending))
	}
	return s, nil
}

// CheckCheckpoint checks a checkpoint record's note against the tree rebuilt
// from the entries before it: its origin, size and root. It returns the
// parsed checkpoint (its signature unchecked) or a *CorruptError.
func CheckCheckpoint(note, origin string, tree *tlog.Tree, off int64) (tlog.Checkpoint, error) {
	return CheckCheckpointRoot(note, origin, tree.Size(), tree.Root(), off)
}

// CheckCheckpointRoot is CheckCheckpoint for a tree given by its size and
// root.
func CheckCheckpointRoot(note, origin string, size uint64, root []byte, off int64) (tlog.Checkpoint, error) {
	bad := func(reason string) error { return &CorruptError{Index: size, Offset: off, Reason: reason} }
	cp, err := tlog.ParseCheckpoint(note)
	if err != nil {
		return tlog.Checkpoint{}, bad("checkpoint: " + err.Error())
	}
	if cp.Origin != origin {
		return tlog.Checkpoint{}, bad(fmt.Sprintf("checkpoint origin %q, want %q", cp.Origin, origin))
	}
	if cp.Size != size {
		return tlog.Checkpoint{}, bad(fmt.Sprintf("checkpoint for size %d after %d entries", cp.Size, size))
	}
	if !bytes.Equal(cp.Root, root) {
		return tlog.Checkpoint{}, bad(fmt.Sprintf("checkpoint root for size %d does not match the entries", size))
	}
	return cp, nil
}

// ReadRecord reads and checks the one record at byte off of f: its framing
// and digest. It returns the record type and the record, whose length in the
// file is HeaderSize + len(Payload) + DigestSize.
func ReadRecord(f *os.File, off int64) (byte, Record, error) {
	var header [HeaderSize]byte
	if _, err := f.ReadAt(header[:], off); err != nil {
		return 0, Record{}, &CorruptError{Offset: off, Reason: "no record header: " + err.Error()}
	}
	typ := header[0]
	length := binary.BigEndian.Uint32(header[1:5])
	if (typ != TypeEntry && typ != TypeCheckpoint) || binary.BigEndian.Uint32(header[5:9]) != headerCRC(typ, length) {
		return 0, Record{}, &CorruptError{Offset: off, Reason: "bad record header"}
	}
	if length > MaxPayload {
		return 0, Record{}, &CorruptError{Offset: off, Reason: fmt.Sprintf("record length %d exceeds %d", length, MaxPayload)}
	}
	buf := make([]byte, int(length)+DigestSize)
	if _, err := f.ReadAt(buf, off+HeaderSize); err != nil {
		return 0, Record{}, &CorruptError{Offset: off, Reason: "incomplete record: " + err.Error()}
	}
	payload, digest := buf[:length], buf[length:]
	if !bytes.Equal(digest, Digest(typ, payload)) {
		return 0, Record{}, &CorruptError{Offset: off, Reason: "digest does not match the record"}
	}
	return typ, Record{Offset: off, Payload: payload, Digest: digest}, nil
}

// Header returns what a new log file starts with.
func Header() []byte { return []byte(Magic) }

// WriteSync writes buf at offset off of f and fsyncs it.
func WriteSync(f *os.File, off int64, buf []byte) error {
	if _, err := f.WriteAt(buf, off); err != nil {
		return fmt.Errorf("%w: write log: %w", ledger.ErrUnavailable, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("%w: sync log: %w", ledger.ErrUnavailable, err)
	}
	return nil
}

// Truncate cuts f to size and fsyncs it (cutting off a torn tail).
func Truncate(f *os.File, size int64) error {
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("%w: cut torn tail of log: %w", ledger.ErrUnavailable, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("%w: sync log: %w", ledger.ErrUnavailable, err)
	}
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
