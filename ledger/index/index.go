package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/transparency-dev/merkle/compact"
	bolt "go.etcd.io/bbolt"
)

// ErrIndex means the index file cannot be used (unreadable, of another
// format or damaged); its owner rebuilds it.
var ErrIndex = errors.New("index: unusable")

// Version is the format of the index; a file of another version is unusable.
const Version = 1

var (
	bucketMeta     = []byte("meta")
	bucketLicenses = []byte("licenses")
	bucketNodes    = []byte("nodes")
	bucketEvents   = []byte("events")
	keyVersion     = []byte("version")
	keyMark        = []byte("mark")
)

// Index is an open index file. It is safe for concurrent use: readers see
// the index as of the last Write that completed.
type Index struct {
	db *bolt.DB
}

// Options tune an index.
type Options struct {
	// NoSync skips fsync on Write: for a throwaway index (a verification
	// run) whose loss costs nothing.
	NoSync bool
}

// Open opens or creates the index file at path. A file that is not an index
// of this Version gives an error wrapping ErrIndex.
func Open(path string, o Options) (*Index, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, NoSync: o.NoSync, NoGrowSync: o.NoSync})
	if err != nil {
		return nil, fmt.Errorf("%w: open %s: %w", ErrIndex, path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if v := meta.Get(keyVersion); v != nil {
			if len(v) != 8 || binary.BigEndian.Uint64(v) != Version {
				return fmt.Errorf("index format %x, want %d", v, Version)
			}
		} else if err := meta.Put(keyVersion, binary.BigEndian.AppendUint64(nil, Version)); err != nil {
			return err
		}
		for _, b := range [][]byte{bucketLicenses, bucketNodes, bucketEvents} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrIndex, path, err)
	}
	return &Index{db: db}, nil
}

// Close closes the file.
func (x *Index) Close() error { return x.db.Close() }

// Mark says how far into the log the index goes: the first Size entries,
// closed by the checkpoint record at byte CheckpointOffset, which ends at
// byte End, with tree root Root; Time is the time of the last entry.
type Mark struct {
	Size             uint64
	Root             []byte
	CheckpointOffset int64
	End              int64
	Time             time.Time
}

const markFixed = 32

func (m Mark) encode() []byte {
	b := make([]byte, 0, markFixed+len(m.Root))
	b = binary.BigEndian.AppendUint64(b, m.Size)
	b = binary.BigEndian.AppendUint64(b, uint64(m.CheckpointOffset))
	b = binary.BigEndian.AppendUint64(b, uint64(m.End))
	var t int64
	if !m.Time.IsZero() {
		t = m.Time.UnixMicro()
	}
	b = binary.BigEndian.AppendUint64(b, uint64(t))
	return append(b, m.Root...)
}

// Mark returns the index's mark, or ok false for an index nothing was
// written to.
func (x *Index) Mark() (m Mark, ok bool, err error) {
	err = x.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(keyMark)
		if v == nil {
			return nil
		}
		if len(v) < markFixed {
			return fmt.Errorf("%w: mark is %d bytes", ErrIndex, len(v))
		}
		m = Mark{
			Size:             binary.BigEndian.Uint64(v),
			CheckpointOffset: int64(binary.BigEndian.Uint64(v[8:])),
			End:              int64(binary.BigEndian.Uint64(v[16:])),
			Root:             append([]byte(nil), v[markFixed:]...),
		}
		if t := int64(binary.BigEndian.Uint64(v[24:])); t != 0 {
			m.Time = time.UnixMicro(t).UTC()
		}
		ok = true
		return nil
	})
	return m, ok, err
}

// License returns a copy of the value stored for a license identifier, or
// ok false.
func (x *Index) License(identifier string) (v []byte, ok bool, err error) {
	err = x.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketLicenses).Get([]byte(identifier)); b != nil {
			v, ok = append([]byte(nil), b...), true
		}
		return nil
	})
	return v, ok, err
}

// Licenses returns the values of the given identifiers, in order, from one
// read: nil for an identifier the index does not hold.
func (x *Index) Licenses(identifiers []string) ([][]byte, error) {
	out := make([][]byte, len(identifiers))
	err := x.db.View(func(tx *bolt.Tx) error {
		lic := tx.Bucket(bucketLicenses)
		for i, id := range identifiers {
			if b := lic.Get([]byte(id)); b != nil {
				out[i] = append([]byte(nil), b...)
			}
		}
		return nil
	})
	return out, err
}

// Node is the hash of one complete subtree of the Merkle tree.
type Node struct {
	ID   compact.NodeID
	Hash []byte
}

// Nodes returns the hashes of the given complete subtrees, in order. A
// missing one is an error wrapping ErrIndex.
func (x *Index) Nodes(ids []compact.NodeID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	err := x.db.View(func(tx *bolt.Tx) error {
		nodes := tx.Bucket(bucketNodes)
		var key [8]byte
		for i, id := range ids {
			level := nodes.Bucket(levelKey(id.Level))
			var h []byte
			if level != nil {
				binary.BigEndian.PutUint64(key[:], id.Index)
				h = level.Get(key[:])
			}
			if h == nil {
				return fmt.Errorf("%w: no hash of tree node %d at level %d", ErrIndex, id.Index, id.Level)
			}
			out[i] = append([]byte(nil), h...)
		}
		return nil
	})
	return out, err
}

func levelKey(level uint) []byte { return []byte{byte(level)} }

// Event is where a log entry that Events lists is: its index and byte offset.
type Event struct {
	Index  uint64
	Offset int64
}

// Events calls fn with every event recorded by Write, in log order.
func (x *Index) Events(fn func(Event) error) error {
	return x.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketEvents).ForEach(func(k, v []byte) error {
			if len(k) != 8 || len(v) != 8 {
				return fmt.Errorf("%w: event record of %d and %d bytes", ErrIndex, len(k), len(v))
			}
			return fn(Event{Index: binary.BigEndian.Uint64(k), Offset: int64(binary.BigEndian.Uint64(v))})
		})
	})
}

// Batch is a set of changes that Write makes at once.
type Batch struct {
	// Licenses maps identifiers to their new values; a nil value deletes.
	Licenses map[string][]byte
	// Nodes are new tree nodes.
	Nodes []Node
	// Events are log entries to list in Events.
	Events []Event
	// Mark is the index's new mark.
	Mark Mark
}

// Write applies b in one transaction and, unless the index was opened with
// NoSync, makes it durable before it returns.
func (x *Index) Write(b *Batch) error {
	err := x.db.Update(func(tx *bolt.Tx) error {
		lic := tx.Bucket(bucketLicenses)
		// Identifiers mostly grow (serials within a department): pages
		// split nearly full, not half (bbolt's default).
		lic.FillPercent = 0.9
		// In key order: each put lands next to the one before (identifiers
		// of a batch are mostly consecutive serials), on pages already at hand.
		ids := make([]string, 0, len(b.Licenses))
		for id := range b.Licenses {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			v := b.Licenses[id]
			var err error
			if v == nil {
				err = lic.Delete([]byte(id))
			} else {
				err = lic.Put([]byte(id), v)
			}
			if err != nil {
				return err
			}
		}
		nodes := tx.Bucket(bucketNodes)
		for _, n := range b.Nodes {
			level, err := nodes.CreateBucketIfNotExists(levelKey(n.ID.Level))
			if err != nil {
				return err
			}
			// Nodes of a level are appended in index order.
			level.FillPercent = 1
			if err := level.Put(binary.BigEndian.AppendUint64(nil, n.ID.Index), n.Hash); err != nil {
				return err
			}
		}
		events := tx.Bucket(bucketEvents)
		events.FillPercent = 1
		for _, e := range b.Events {
			if err := events.Put(binary.BigEndian.AppendUint64(nil, e.Index), binary.BigEndian.AppendUint64(nil, uint64(e.Offset))); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keyMark, b.Mark.encode())
	})
	if err != nil {
		return fmt.Errorf("index: write: %w", err)
	}
	return nil
}
