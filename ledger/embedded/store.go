package embedded

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"zhengzhao/ledger"
	"zhengzhao/ledger/index"
	"zhengzhao/ledger/logfile"
)

// licenses is the ledger.LicenseStore of the embedded ledger: the index, with
// the changes not written to it yet (of the commit in progress and of the
// commits since the last index write) on top. The anchor itself is not
// stored in the index, only the log offset of its entry: it is read back
// from the log when asked for.
type licenses struct {
	idx     *index.Index
	log     *os.File
	pending map[string]*pendingLicense // nil: deleted
	// offsets maps the index of an entry written in the commit in progress
	// to its offset in the log.
	offsets map[uint64]int64
	// absent holds identifiers prefetch found missing from the index, until
	// forgetAbsent (within one prepare: the index does not change meanwhile).
	absent map[string]struct{}
}

type pendingLicense struct {
	ls     *ledger.LicenseState
	offset int64 // of the anchoring entry; -1 until the entry is laid out
}

var _ ledger.LicenseStore = (*licenses)(nil)

func newLicenses(idx *index.Index, log *os.File) *licenses {
	return &licenses{idx: idx, log: log, pending: map[string]*pendingLicense{}, offsets: map[uint64]int64{}, absent: map[string]struct{}{}}
}

// License returns the pending state of a license or the one in the index.
func (s *licenses) License(id string) (*ledger.LicenseState, bool, error) {
	if p, ok := s.pending[id]; ok {
		if p == nil {
			return nil, false, nil
		}
		return p.ls, true, nil
	}
	if _, ok := s.absent[id]; ok {
		return nil, false, nil
	}
	ls, off, ok, err := s.stored(id)
	if err != nil || !ok {
		return nil, ok, err
	}
	s.pending[id] = &pendingLicense{ls: ls, offset: off}
	return ls, true, nil
}

// prefetch reads the identifiers not pending from the index in one go, so
// that License does not read them one by one: those found become pending as
// License would make them, those missing are noted absent until
// forgetAbsent. A read that fails is left to License to report.
func (s *licenses) prefetch(ids []string) {
	var want []string
	for _, id := range ids {
		if _, ok := s.pending[id]; !ok {
			want = append(want, id)
		}
	}
	if len(want) == 0 {
		return
	}
	vs, err := s.idx.Licenses(want)
	if err != nil {
		return
	}
	for i, id := range want {
		if vs[i] == nil {
			s.absent[id] = struct{}{}
			continue
		}
		if ls, off, ok, err := s.storedValue(id, vs[i]); err == nil && ok {
			s.pending[id] = &pendingLicense{ls: ls, offset: off}
		}
	}
}

// forgetAbsent drops what prefetch found missing.
func (s *licenses) forgetAbsent() { clear(s.absent) }

// lookup is License for readers: it returns a copy and changes nothing.
// Committed changes not yet in the index are pending too, so it sees them.
func (s *licenses) lookup(id string) (*ledger.LicenseState, bool, error) {
	if p, ok := s.pending[id]; ok {
		if p == nil {
			return nil, false, nil
		}
		c := *p.ls
		c.Anchor.ProofHash = bytes.Clone(c.Anchor.ProofHash)
		c.Anchor.DocumentHash = bytes.Clone(c.Anchor.DocumentHash)
		c.Anchor.Signature = bytes.Clone(c.Anchor.Signature)
		c.History = slices.Clone(c.History)
		return &c, true, nil
	}
	ls, _, ok, err := s.stored(id)
	return ls, ok, err
}

// anchorEntry returns the canonical bytes and the index of the entry that
// anchored license id, read from the log. Like lookup, it is for readers.
func (s *licenses) anchorEntry(id string) ([]byte, uint64, error) {
	var off int64
	var index uint64
	if p, ok := s.pending[id]; ok {
		if p == nil {
			return nil, 0, fmt.Errorf("%w: license %s", ledger.ErrNotFound, id)
		}
		index, off = p.ls.LogIndex, p.offset
		if off < 0 {
			if off, ok = s.offsets[index]; !ok {
				return nil, 0, fmt.Errorf("%w: no log offset for the anchor of %s (entry %d)", ledger.ErrUnavailable, id, index)
			}
		}
	} else {
		v, ok, err := s.idx.License(id)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: read index: %w", ledger.ErrUnavailable, err)
		}
		if !ok {
			return nil, 0, fmt.Errorf("%w: license %s", ledger.ErrNotFound, id)
		}
		ls, o, err := decodeLicense(v)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: index entry of license %s: %w", ledger.ErrCorrupt, id, err)
		}
		index, off = ls.LogIndex, o
	}
	typ, rec, err := logfile.ReadRecord(s.log, off)
	if err != nil {
		return nil, 0, err
	}
	if typ != logfile.TypeEntry {
		return nil, 0, &CorruptError{Index: index, Offset: off, Reason: "the index points at a checkpoint record, not the anchor of " + id}
	}
	return rec.Payload, index, nil
}

// SetLicense keeps ls for the next write.
func (s *licenses) SetLicense(ls *ledger.LicenseState) {
	id := ls.Anchor.Identifier
	if p := s.pending[id]; p != nil {
		p.ls = ls
		return
	}
	s.pending[id] = &pendingLicense{ls: ls, offset: -1}
}

// DeleteLicense forgets a license set in the commit in progress.
func (s *licenses) DeleteLicense(id string) { s.pending[id] = nil }

// stored reads a license from the index and its anchor from the log.
func (s *licenses) stored(id string) (*ledger.LicenseState, int64, bool, error) {
	v, ok, err := s.idx.License(id)
	if err != nil {
		return nil, 0, false, fmt.Errorf("%w: read index: %w", ledger.ErrUnavailable, err)
	}
	if !ok {
		return nil, 0, false, nil
	}
	return s.storedValue(id, v)
}

// storedValue is stored for the index value v of id.
func (s *licenses) storedValue(id string, v []byte) (*ledger.LicenseState, int64, bool, error) {
	ls, off, err := decodeLicense(v)
	if err != nil {
		return nil, 0, false, fmt.Errorf("%w: index entry of license %s: %w", ledger.ErrCorrupt, id, err)
	}
	typ, rec, err := logfile.ReadRecord(s.log, off)
	if err != nil {
		return nil, 0, false, err
	}
	if typ != logfile.TypeEntry {
		return nil, 0, false, &CorruptError{Index: ls.LogIndex, Offset: off, Reason: "the index points at a checkpoint record, not the anchor of " + id}
	}
	e, err := ledger.DecodeEntry(rec.Payload)
	if err != nil {
		return nil, 0, false, &CorruptError{Index: ls.LogIndex, Offset: off, Reason: err.Error()}
	}
	if e.Kind != ledger.KindLicenseAnchored || e.Anchor.Identifier != id {
		return nil, 0, false, &CorruptError{Index: ls.LogIndex, Offset: off, Reason: "the index points at an entry that does not anchor " + id}
	}
	ls.Anchor = *e.Anchor
	return ls, off, true, nil
}

// flush moves the pending changes into b.
func (s *licenses) flush(b *index.Batch) error {
	if b.Licenses == nil {
		b.Licenses = make(map[string][]byte, len(s.pending))
	}
	for id, p := range s.pending {
		if p == nil {
			b.Licenses[id] = nil
			continue
		}
		off := p.offset
		if off < 0 {
			o, ok := s.offsets[p.ls.LogIndex]
			if !ok {
				return fmt.Errorf("%w: no log offset for the anchor of %s (entry %d)", ledger.ErrUnavailable, id, p.ls.LogIndex)
			}
			off = o
		}
		v, err := encodeLicense(p.ls, off)
		if err != nil {
			return err
		}
		b.Licenses[id] = v
	}
	s.drop()
	return nil
}

// drop forgets the pending changes.
func (s *licenses) drop() {
	clear(s.pending)
	clear(s.offsets)
	clear(s.absent)
}

// storedLicense is a LicenseState without its anchor, which stays in the
// log: the outer, empty Anchor hides the embedded one from encoding/json.
type storedLicense struct {
	*ledger.LicenseState
	Anchor *struct{} `json:"anchor,omitempty"`
}

// encodeLicense is the index value of a license: the 8-byte offset of its
// anchoring entry, then the JSON of its state without the anchor.
func encodeLicense(ls *ledger.LicenseState, off int64) ([]byte, error) {
	j, err := json.Marshal(storedLicense{LicenseState: ls})
	if err != nil {
		return nil, fmt.Errorf("%w: encode license %s: %w", ledger.ErrUnavailable, ls.Anchor.Identifier, err)
	}
	return append(binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(j)), uint64(off)), j...), nil
}

func decodeLicense(v []byte) (*ledger.LicenseState, int64, error) {
	if len(v) < 8 {
		return nil, 0, fmt.Errorf("value of %d bytes", len(v))
	}
	var ls ledger.LicenseState
	if err := json.Unmarshal(v[8:], &storedLicense{LicenseState: &ls}); err != nil {
		return nil, 0, err
	}
	return &ls, int64(binary.BigEndian.Uint64(v)), nil
}
