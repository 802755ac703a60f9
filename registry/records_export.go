package registry

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"zhengzhao/ledger"
	"zhengzhao/ledger/tlog"
	"zhengzhao/signing"
	"zhengzhao/verifier"
)

// RecordsExportFormat names the format of a holder's verifiable record
// export (docs/records.md).
const RecordsExportFormat = "zhengzhao-records-export/1"

// AttachmentRecords is the name of the export JSON embedded in the 用证记录
// PDF, so that the PDF alone verifies.
const AttachmentRecords = "records.json"

// maxExportRecords bounds the holder records one export carries.
const maxExportRecords = 100000

// RecordsExport is a holder's 用证记录 with what proves it offline: for each
// anchored head that follows some of the holder's records, one segment of
// the chain from the first of those records to the head. The segment
// carries the holder's records whole and every other record only as its
// digest, so it proves the holder's records are in the chain the ledger
// anchored without showing anyone else's.
type RecordsExport struct {
	Format     string          `json:"format"`
	Chain      string          `json:"chain"`
	Holder     string          `json:"holder"`
	ExportedAt time.Time       `json:"exported_at"`
	Segments   []ExportSegment `json:"segments"`
	// Unanchored counts the holder's latest records that no anchored head
	// covers yet (the ledger could not be reached); they are not in
	// Segments.
	Unanchored int `json:"unanchored,omitempty"`
}

// ExportSegment is a run of the chain that ends at an anchored head.
type ExportSegment struct {
	FirstSeq uint64 `json:"first_seq"`
	// PrevHash is the chain hash of the record before FirstSeq.
	PrevHash []byte `json:"prev_hash"`
	// Links are the records FirstSeq, FirstSeq+1, … up to the head's
	// sequence: each either a record's canonical bytes or a digest.
	Links []ExportLink `json:"links"`
	// Head is the receipt of the ledger event that anchored the head.
	Head ledger.Receipt `json:"head"`
}

// ExportLink is one record of a segment: Record (the holder's, its
// canonical bytes) or Digest (anyone else's, RecordDigest of its bytes).
type ExportLink struct {
	Record []byte `json:"record,omitempty"`
	Digest []byte `json:"digest,omitempty"`
	// Hash is the chain hash the store holds for the holder's record. It
	// proves nothing by itself (the anchored head does); it lets a check
	// name the very record whose bytes were changed.
	Hash []byte `json:"hash,omitempty"`
}

// HolderRecords returns the holder's records (their 用证记录: uses of their
// licenses and what was done to them), newest first, a page at a time.
func (s *Service) HolderRecords(ctx context.Context, a Actor, offset, limit int) ([]*StoredRecord, int, error) {
	if a.Role != RoleHolder || a.HolderCode == "" {
		return nil, 0, fmt.Errorf("%w: only a holder reads their usage record", ErrForbidden)
	}
	return s.store.queryRecords(ctx, s.records.chain, RecordFilter{Holder: a.HolderCode, Offset: offset, Limit: limit})
}

// AuditRecords returns the records the filter selects, newest first, and
// how many it selects in all (platform admin only).
func (s *Service) AuditRecords(ctx context.Context, a Actor, f RecordFilter) ([]*StoredRecord, int, error) {
	if a.Role != RoleAdmin {
		return nil, 0, fmt.Errorf("%w: only the platform admin reads the audit log", ErrForbidden)
	}
	return s.store.queryRecords(ctx, s.records.chain, f)
}

// ExportRecords builds the holder's verifiable record export. It anchors
// the chain's head first, so every record so far is covered.
func (s *Service) ExportRecords(ctx context.Context, a Actor) (*RecordsExport, []Record, error) {
	if a.Role != RoleHolder || a.HolderCode == "" {
		return nil, nil, fmt.Errorf("%w: only a holder exports their usage record", ErrForbidden)
	}
	chain := s.records.chain
	if _, err := s.AnchorRecords(ctx); err != nil {
		s.log.Warn("anchoring before an export failed; the latest records are left out of the proof", "err", err)
	}
	rows, err := s.store.holderRecordRows(ctx, chain, a.HolderCode, maxExportRecords)
	if err != nil {
		return nil, nil, err
	}
	exp := &RecordsExport{Format: RecordsExportFormat, Chain: chain, Holder: a.HolderCode, ExportedAt: s.now().UTC().Truncate(time.Second)}
	recs := make([]Record, 0, len(rows))
	for _, r := range rows {
		rec, err := ParseRecord(r.body)
		if err != nil {
			return nil, nil, fmt.Errorf("registry: record %d: %w", r.seq, err)
		}
		recs = append(recs, rec)
	}
	if len(rows) == 0 {
		return exp, recs, nil
	}
	heads, err := s.store.recordHeads(ctx, chain, uint64(rows[0].seq))
	if err != nil {
		return nil, nil, err
	}
	i := 0
	for _, h := range heads {
		if i == len(rows) {
			break
		}
		if uint64(rows[i].seq) > h.Seq {
			continue
		}
		first := rows[i]
		for i < len(rows) && uint64(rows[i].seq) <= h.Seq {
			i++
		}
		seg := ExportSegment{FirstSeq: uint64(first.seq), PrevHash: first.prev, Head: h.Receipt}
		err := s.store.recordRows(ctx, chain, uint64(first.seq), h.Seq, func(r *recordRow) error {
			if r.holder == a.HolderCode {
				seg.Links = append(seg.Links, ExportLink{Record: r.body, Hash: r.hash})
			} else {
				seg.Links = append(seg.Links, ExportLink{Digest: RecordDigest(r.body)})
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		exp.Segments = append(exp.Segments, seg)
	}
	exp.Unanchored = len(rows) - i
	return exp, recs, nil
}

// MarshalExport encodes an export as indented JSON.
func MarshalExport(exp *RecordsExport) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", " ")
	if err := enc.Encode(exp); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ErrExportInvalid: a record export does not verify.
var ErrExportInvalid = errors.New("records export does not verify")

// ExportError is why an export does not verify, naming the segment and the
// record at fault.
type ExportError struct {
	Segment int    // index in Segments
	Seq     uint64 // the record, or the head's sequence
	Reason  string
}

func (e *ExportError) Error() string {
	return fmt.Sprintf("records export: segment %d, record %d: %s", e.Segment, e.Seq, e.Reason)
}

// Unwrap makes errors.Is(err, ErrExportInvalid) hold.
func (e *ExportError) Unwrap() error { return ErrExportInvalid }

// VerifiedHead is an anchored head an export was checked against.
type VerifiedHead struct {
	Seq      uint64    `json:"seq"`
	Hash     []byte    `json:"hash"`
	LogIndex uint64    `json:"log_index"`
	At       time.Time `json:"anchored_at"`
}

// VerifiedExport is what VerifyRecordsExport proved: the holder's records,
// each in the chain up to an anchored head whose receipt verifies with the
// log key.
type VerifiedExport struct {
	Chain   string         `json:"chain"`
	Holder  string         `json:"holder"`
	Records []Record       `json:"records"`
	Heads   []VerifiedHead `json:"heads"`
	// Unanchored is what the export says it left out (not proved).
	Unanchored int `json:"unanchored,omitempty"`
}

// ParseRecordsExport decodes an export.
func ParseRecordsExport(b []byte) (*RecordsExport, error) {
	var exp RecordsExport
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&exp); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrExportInvalid, err)
	}
	if exp.Format != RecordsExportFormat {
		return nil, fmt.Errorf("%w: field format: %q, want %q", ErrExportInvalid, exp.Format, RecordsExportFormat)
	}
	return &exp, nil
}

// VerifyRecordsExport checks an export offline with the log's origin and
// checkpoint key (from a trust bundle): in every segment each holder record
// decodes, has its place's sequence and names the export's chain and
// holder; the chain recomputed from PrevHash over the links ends at the hash
// of the anchored head; and the head's receipt is an inclusion proof to a
// checkpoint signed by the log key. Errors are *ExportError.
func VerifyRecordsExport(exp *RecordsExport, origin string, logKey *ecdsa.PublicKey) (*VerifiedExport, error) {
	out := &VerifiedExport{Chain: exp.Chain, Holder: exp.Holder, Unanchored: exp.Unanchored}
	for i, seg := range exp.Segments {
		fail := func(seq uint64, format string, args ...any) error {
			return &ExportError{Segment: i, Seq: seq, Reason: fmt.Sprintf(format, args...)}
		}
		if len(seg.PrevHash) != RecordHashSize {
			return nil, fail(seg.FirstSeq, "prev_hash is %d bytes, want %d", len(seg.PrevHash), RecordHashSize)
		}
		if seg.FirstSeq == 0 || len(seg.Links) == 0 {
			return nil, fail(seg.FirstSeq, "empty segment")
		}
		hash := seg.PrevHash
		seq := seg.FirstSeq
		var mine []Record
		for _, l := range seg.Links {
			var digest []byte
			switch {
			case l.Record != nil && l.Digest == nil:
				rec, err := ParseRecord(l.Record)
				if err != nil {
					return nil, fail(seq, "%v", err)
				}
				if rec.Seq != seq {
					return nil, fail(seq, "the record says it is record %d", rec.Seq)
				}
				if rec.Chain != exp.Chain || rec.Holder != exp.Holder {
					return nil, fail(seq, "the record is of chain %q and holder %q, not the export's", rec.Chain, rec.Holder)
				}
				mine = append(mine, rec)
				digest = RecordDigest(l.Record)
			case l.Digest != nil && l.Record == nil && len(l.Digest) == RecordHashSize:
				digest = l.Digest
			default:
				return nil, fail(seq, "a link must have either a record or a %d-byte digest", RecordHashSize)
			}
			hash = ChainHash(hash, digest)
			if l.Hash != nil && !bytes.Equal(l.Hash, hash) {
				return nil, fail(seq, "the record's bytes do not lead to its chain hash: the record was changed")
			}
			seq++
		}
		last := seq - 1
		h, at, err := verifyHeadReceipt(seg.Head, origin, logKey)
		if err != nil {
			return nil, fail(last, "anchored head: %v", err)
		}
		if h.Chain != exp.Chain {
			return nil, fail(last, "the anchored head is of chain %q, not %q", h.Chain, exp.Chain)
		}
		if h.Seq != last {
			return nil, fail(last, "the segment ends at record %d but the anchored head is record %d", last, h.Seq)
		}
		if !bytes.Equal(h.Hash, hash) {
			return nil, fail(last, "the chain over records %d–%d does not end at the anchored hash: one of them was changed", seg.FirstSeq, last)
		}
		out.Records = append(out.Records, mine...)
		out.Heads = append(out.Heads, VerifiedHead{Seq: h.Seq, Hash: h.Hash, LogIndex: seg.Head.LogIndex, At: at})
	}
	return out, nil
}

// BundleLogKey returns the log's origin and checkpoint key a trust bundle
// carries; the bundle's signature must have been checked (ParseBundle with
// a pinned root).
func BundleLogKey(b *verifier.TrustBundle) (string, *ecdsa.PublicKey, error) {
	block, rest := pem.Decode([]byte(b.Log.PublicKey))
	if block == nil || block.Type != "PUBLIC KEY" || len(bytes.TrimSpace(rest)) != 0 {
		return "", nil, errors.New("trust bundle: log.public_key is not one PEM PUBLIC KEY")
	}
	pub, err := signing.ParsePublicKey(block.Bytes)
	if err != nil {
		return "", nil, fmt.Errorf("trust bundle: log.public_key: %w", err)
	}
	if b.Log.Origin == "" {
		return "", nil, errors.New("trust bundle: log.origin is empty")
	}
	return b.Log.Origin, pub, nil
}

// verifyHeadReceipt checks a records-head receipt against its checkpoint,
// whose signature it checks with the log key, and returns the head and when
// the ledger recorded it.
func verifyHeadReceipt(rc ledger.Receipt, origin string, logKey *ecdsa.PublicKey) (ledger.RecordsHead, time.Time, error) {
	cp, err := tlog.VerifyCheckpoint(rc.Checkpoint, origin, logKey)
	if err != nil {
		return ledger.RecordsHead{}, time.Time{}, fmt.Errorf("checkpoint: %w", err)
	}
	if cp.Size != rc.TreeSize {
		return ledger.RecordsHead{}, time.Time{}, fmt.Errorf("receipt tree size %d, checkpoint size %d", rc.TreeSize, cp.Size)
	}
	if err := tlog.VerifyInclusion(rc.Entry, rc.LogIndex, rc.TreeSize, rc.InclusionProof, cp.Root); err != nil {
		return ledger.RecordsHead{}, time.Time{}, fmt.Errorf("inclusion: %w", err)
	}
	e, err := ledger.ParseEvent(rc.Entry)
	if err != nil {
		return ledger.RecordsHead{}, time.Time{}, err
	}
	if e.Kind != ledger.KindRecordsHead || e.RecordsHead == nil {
		return ledger.RecordsHead{}, time.Time{}, fmt.Errorf("entry is a %s event, not %s", e.Kind, ledger.KindRecordsHead)
	}
	return *e.RecordsHead, e.At, nil
}
