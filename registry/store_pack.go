package registry

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"zhengzhao/credential"
	"zhengzhao/ledger"
	"zhengzhao/license"
)

// A license row keeps what cannot be recomputed. The record is the
// credential's subject, and the anchor receipt's entry is the canonical
// ledger event made from the credential (anchorOf) and the anchoring time:
// both are left out of the row when rebuilding them from the stored
// credential gives them back exactly, which packLicense checks. The
// credential's exact bytes are kept zstd-compressed with a preset
// dictionary (credentialDictV1: ~2.2 KB to ~0.6 KB). The receipt and the
// compact QR form are kept in binary in the packed column (packedReceipt):
// the proof's hashes as bytes, the QR text as the bytes its Base45 spells,
// and the checkpoint, which every license anchored at one tree size
// repeats, once in checkpoint_notes. Rows written before keep the older
// forms, which stay readable: a credential whole or "\x00z1" DEFLATE, the
// receipt as JSON, the compact form as text.

// Prefixes of a compressed credential column; a credential itself starts
// with "{".
const (
	packedCredential   = "\x00z1" // DEFLATE, no dictionary (rows of migration 9 and before)
	packedCredentialV2 = "\x00z2" // a zstd frame with the raw dictionary credentialDictV1
)

// credentialDictID is the dictionary id the "\x00z2" frames carry.
const credentialDictID = 1

var (
	flateReaders = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}

	zstdOnce sync.Once
	zstdEnc  *zstd.Encoder
	zstdDec  *zstd.Decoder
	zstdErr  error
)

// credentialCodec returns the zstd encoder and decoder of credential
// columns (each safe for concurrent use, made once).
func credentialCodec() (*zstd.Encoder, *zstd.Decoder, error) {
	zstdOnce.Do(func() {
		dict := []byte(credentialDictV1)
		zstdEnc, zstdErr = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderDictRaw(credentialDictID, dict),
			zstd.WithWindowSize(1<<17), zstd.WithLowerEncoderMem(true))
		if zstdErr != nil {
			return
		}
		zstdDec, zstdErr = zstd.NewReader(nil, zstd.WithDecoderDictRaw(credentialDictID, dict), zstd.WithDecoderConcurrency(0),
			zstd.WithDecoderMaxMemory(credential.MaxSize+1), zstd.WithDecoderMaxWindow(1<<17), zstd.WithDecoderLowmem(true))
	})
	return zstdEnc, zstdDec, zstdErr
}

// packCredential is the credential column of a credential.
func packCredential(cred []byte) ([]byte, error) {
	enc, _, err := credentialCodec()
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(cred)/3+32)
	return enc.EncodeAll(cred, append(out, packedCredentialV2...)), nil
}

// unpackCredential gives back the credential's exact bytes from its column.
func unpackCredential(col []byte) ([]byte, error) {
	if packed, ok := bytes.CutPrefix(col, []byte(packedCredentialV2)); ok {
		_, dec, err := credentialCodec()
		if err != nil {
			return nil, err
		}
		out, err := dec.DecodeAll(packed, make([]byte, 0, len(packed)*5))
		if err != nil {
			return nil, fmt.Errorf("registry: stored credential: %w", err)
		}
		return out, nil
	}
	packed, ok := bytes.CutPrefix(col, []byte(packedCredential))
	if !ok {
		return col, nil // stored whole by an older version
	}
	r := flateReaders.Get().(io.ReadCloser)
	defer flateReaders.Put(r)
	if err := r.(flate.Resetter).Reset(bytes.NewReader(packed), nil); err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(r, credential.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("registry: stored credential: %w", err)
	}
	return out, nil
}

// storedReceipt is an anchor receipt as rows before migration 10 keep it
// in JSON: with AnchoredAt in place of Entry when the entry rebuilds.
type storedReceipt struct {
	ledger.Receipt
	AnchoredAt *time.Time `json:"anchored_at,omitempty"`
}

// packedRow is a license as its row stores it (packLicense).
type packedRow struct {
	record     string // license.Record JSON; "" when it is the credential's subject
	receipt    string // the receipt column: "" when packed holds the receipt
	credential []byte
	packed     []byte // packedReceipt: the receipt and compact form
	compact    string // the compact column: "" when packed holds the form
	noteDigest []byte // checkpoint_notes.digest of the receipt's checkpoint, nil for none
	note       string // that checkpoint
}

// packLicense returns the columns of a new license.
func packLicense(l *License) (packedRow, error) {
	var row packedRow
	var c *credential.Credential
	c, perr := credential.Parse(l.Credential)
	if perr != nil || !reflect.DeepEqual(c.CredentialSubject, l.Record) {
		b, err := json.Marshal(l.Record)
		if err != nil {
			return row, err
		}
		row.record = string(b)
	}
	var at *time.Time
	if perr == nil {
		at = rebuiltAnchorTime(c, l.Receipt.Entry)
	}
	row.packed = appendPackedReceipt(nil, l.Receipt, at, l.Compact)
	if l.Receipt.Checkpoint != "" {
		row.note, row.noteDigest = l.Receipt.Checkpoint, noteDigest(l.Receipt.Checkpoint)
	}
	var err error
	row.credential, err = packCredential(l.Credential)
	return row, err
}

// rebuiltAnchorTime is the time of the anchoring event entry when anchorEntry
// rebuilds entry exactly from the credential and that time as packed, nil
// otherwise.
func rebuiltAnchorTime(c *credential.Credential, entry []byte) *time.Time {
	var ev struct { // what rebuilding needs of the entry: not its anchor
		Kind ledger.Kind `json:"kind"`
		At   time.Time   `json:"at"`
	}
	if json.Unmarshal(entry, &ev) != nil || ev.Kind != ledger.KindLicenseAnchored {
		return nil
	}
	at := time.Unix(0, ev.At.UnixNano()).UTC() // what unpacking gives back
	if rebuilt, err := anchorEntry(c, at); err != nil || !bytes.Equal(rebuilt, entry) {
		return nil
	}
	return &at
}

// noteDigest is the key of a checkpoint in checkpoint_notes.
func noteDigest(note string) []byte {
	sum := sha256.Sum256([]byte(note))
	return sum[:16]
}

// The packed column (packedReceiptV1):
//
//	version 0x01
//	uvarint log index, uvarint tree size
//	entry:   0x00 varint anchoring time in Unix nanoseconds (rebuilt from the credential)
//	       | 0x01 uvarint length, the entry's bytes | 0x02 none (nil)
//	uvarint 0 for no proof (nil), else 1 + the hash count, uvarint the
//	  length of every hash, then the hashes; with length 0 (they differ)
//	  each hash is uvarint length, bytes
//	checkpoint: 0x00 none ("") | 0x01 in checkpoint_notes (note_digest)
//	compact: 0x00 "" | 0x01 "ZZ1:" and the Base45 of uvarint length, bytes
//	       | 0x02 uvarint length, the text
const packedReceiptV1 = 0x01

// appendPackedReceipt appends the packed form of a receipt (its entry
// rebuilt from the time at, when not nil) and a compact form.
func appendPackedReceipt(b []byte, r ledger.Receipt, at *time.Time, compact string) []byte {
	b = append(b, packedReceiptV1)
	b = binary.AppendUvarint(b, r.LogIndex)
	b = binary.AppendUvarint(b, r.TreeSize)
	switch {
	case at != nil:
		b = append(b, 0)
		b = binary.AppendVarint(b, at.UnixNano())
	case r.Entry == nil:
		b = append(b, 2)
	default:
		b = append(b, 1)
		b = appendBytes(b, r.Entry)
	}
	// nil and empty differ in the receipt's JSON (null, []).
	if r.InclusionProof == nil {
		b = append(b, 0)
	} else {
		b = binary.AppendUvarint(b, 1+uint64(len(r.InclusionProof)))
		size := proofHashSize(r.InclusionProof)
		b = binary.AppendUvarint(b, uint64(size))
		for _, h := range r.InclusionProof {
			if size == 0 {
				b = binary.AppendUvarint(b, uint64(len(h)))
			}
			b = append(b, h...)
		}
	}
	if r.Checkpoint == "" {
		b = append(b, 0)
	} else {
		b = append(b, 1)
	}
	switch raw, ok := compactBytes(compact); {
	case compact == "":
		b = append(b, 0)
	case ok:
		b = append(b, 1)
		b = appendBytes(b, raw)
	default:
		b = append(b, 2)
		b = appendBytes(b, []byte(compact))
	}
	return b
}

// proofHashSize is the length of every hash of a proof, 0 when they differ
// or have none.
func proofHashSize(proof [][]byte) int {
	if len(proof) == 0 {
		return 0
	}
	for _, h := range proof[1:] {
		if len(h) != len(proof[0]) {
			return 0
		}
	}
	return len(proof[0])
}

func appendBytes(b, v []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(v))), v...)
}

// compactPrefix starts the compact forms kept as their Base45's bytes.
const compactPrefix = "ZZ1:"

// compactBytes returns the bytes whose Base45 the compact form spells after
// compactPrefix, if encoding them gives back exactly that text.
func compactBytes(compact string) ([]byte, bool) {
	text, ok := strings.CutPrefix(compact, compactPrefix)
	if !ok {
		return nil, false
	}
	raw, err := decodeBase45(text)
	if err != nil || string(appendBase45(nil, raw)) != text {
		return nil, false
	}
	return raw, true
}

// unpackedReceipt is a decoded packed column: the receipt with its entry
// still to rebuild when anchoredAt is set.
type unpackedReceipt struct {
	receipt    ledger.Receipt
	anchoredAt *time.Time
	compact    string
}

// errPacked reports a packed column that does not decode.
var errPacked = errors.New("malformed packed receipt")

// parsePackedReceipt decodes a packed column; note is the checkpoint its
// note_digest names.
func parsePackedReceipt(b []byte, note string) (unpackedReceipt, error) {
	var u unpackedReceipt
	d := packedReader{b: b}
	if d.byte() != packedReceiptV1 {
		return u, fmt.Errorf("%w: version", errPacked)
	}
	u.receipt.LogIndex = d.uvarint()
	u.receipt.TreeSize = d.uvarint()
	switch d.byte() {
	case 0:
		at := time.Unix(0, d.varint()).UTC()
		u.anchoredAt = &at
	case 1:
		u.receipt.Entry = d.bytes()
	case 2:
	default:
		d.fail()
	}
	switch n := d.uvarint(); {
	case n == 0:
	case n-1 > uint64(len(d.b)):
		d.fail()
	default:
		n--
		size := d.uvarint()
		u.receipt.InclusionProof = make([][]byte, 0, n)
		for range n {
			if size == 0 {
				u.receipt.InclusionProof = append(u.receipt.InclusionProof, d.bytes())
			} else {
				u.receipt.InclusionProof = append(u.receipt.InclusionProof, d.fixed(size))
			}
		}
	}
	switch d.byte() {
	case 0:
	case 1:
		if note == "" {
			return u, fmt.Errorf("%w: its checkpoint is missing from checkpoint_notes", errPacked)
		}
		u.receipt.Checkpoint = note
	default:
		d.fail()
	}
	switch d.byte() {
	case 0:
	case 1:
		u.compact = compactPrefix + string(appendBase45(nil, d.bytes()))
	case 2:
		u.compact = string(d.bytes())
	default:
		d.fail()
	}
	if d.err || len(d.b) != 0 {
		return u, errPacked
	}
	return u, nil
}

// packedReader reads a packed column; err is set once anything is amiss.
type packedReader struct {
	b   []byte
	err bool
}

func (d *packedReader) fail() { d.err, d.b = true, nil }

func (d *packedReader) byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0xff
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *packedReader) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *packedReader) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *packedReader) bytes() []byte { return d.fixed(d.uvarint()) }

// fixed reads the next n bytes.
func (d *packedReader) fixed(n uint64) []byte {
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	v := bytes.Clone(d.b[:n])
	d.b = d.b[n:]
	return v
}

// unpackLicense fills a scanned license's credential, record, receipt and
// compact form from their columns (packed and the checkpoint note, for
// rows that have them) and, where those left them out, from its credential.
func unpackLicense(l *License, record, receipt string, packed []byte, note string) error {
	var err error
	if l.Credential, err = unpackCredential(l.Credential); err != nil {
		return fmt.Errorf("registry: stored credential of %s: %w", l.Identifier, err)
	}
	var at *time.Time
	if packed != nil {
		u, err := parsePackedReceipt(packed, note)
		if err != nil {
			return fmt.Errorf("registry: stored receipt of %s: %w", l.Identifier, err)
		}
		l.Receipt, at, l.Compact = u.receipt, u.anchoredAt, u.compact
	} else {
		var sr storedReceipt
		if err := json.Unmarshal([]byte(receipt), &sr); err != nil {
			return fmt.Errorf("registry: stored receipt of %s: %w", l.Identifier, err)
		}
		l.Receipt, at = sr.Receipt, sr.AnchoredAt
	}
	if record != "" {
		if err := json.Unmarshal([]byte(record), &l.Record); err != nil {
			return fmt.Errorf("registry: stored record of %s: %w", l.Identifier, err)
		}
		if at == nil {
			return nil
		}
	}
	c, err := credential.Parse(l.Credential)
	if err != nil {
		return fmt.Errorf("registry: stored credential of %s: %w", l.Identifier, err)
	}
	if record == "" {
		l.Record = c.CredentialSubject
	}
	if at != nil {
		if l.Receipt.Entry, err = anchorEntry(c, *at); err != nil {
			return fmt.Errorf("registry: anchor entry of %s: %w", l.Identifier, err)
		}
	}
	return nil
}

// unpackReceipt gives back an anchor receipt and compact form from the
// credential, receipt, compact, packed and checkpoint note columns of a
// license.
func unpackReceipt(credCol []byte, receipt, compact string, packed []byte, note string) (ledger.Receipt, string, error) {
	var at *time.Time
	var rc ledger.Receipt
	if packed != nil {
		u, err := parsePackedReceipt(packed, note)
		if err != nil {
			return ledger.Receipt{}, "", fmt.Errorf("registry: stored receipt: %w", err)
		}
		rc, at, compact = u.receipt, u.anchoredAt, u.compact
	} else {
		var sr storedReceipt
		if err := json.Unmarshal([]byte(receipt), &sr); err != nil {
			return ledger.Receipt{}, "", fmt.Errorf("registry: stored receipt: %w", err)
		}
		rc, at = sr.Receipt, sr.AnchoredAt
	}
	if at == nil {
		return rc, compact, nil
	}
	cred, err := unpackCredential(credCol)
	if err != nil {
		return ledger.Receipt{}, "", err
	}
	c, err := credential.Parse(cred)
	if err != nil {
		return ledger.Receipt{}, "", fmt.Errorf("registry: stored credential: %w", err)
	}
	rc.Entry, err = anchorEntry(c, *at)
	return rc, compact, err
}

// insertNotes keeps, once each, the checkpoints of a batch's receipts
// (checkpoint_notes) in the batch's transaction.
func insertNotes(tx execer, batch []*pendingInsert) error {
	var last []byte
	for _, p := range batch {
		if p.noteDigest == nil || bytes.Equal(p.noteDigest, last) {
			continue
		}
		last = p.noteDigest
		if _, err := tx.ExecContext(context.Background(), `INSERT INTO checkpoint_notes (digest, note) VALUES (?, ?) ON CONFLICT (digest) DO NOTHING`,
			p.noteDigest, p.note); err != nil {
			return fmt.Errorf("registry: keep checkpoint of tree size %d: %w", p.lic.Receipt.TreeSize, err)
		}
	}
	return nil
}

// checkpointNotesSchema keeps each checkpoint once (migration 10).
const checkpointNotesSchema = `
-- The anchor receipt and compact QR form of a license in binary
-- (store_pack.go); receipt and compact are '' in rows that have it.
ALTER TABLE licenses ADD COLUMN packed BLOB;
-- The checkpoint of the receipt: checkpoint_notes.digest.
ALTER TABLE licenses ADD COLUMN note_digest BLOB;
-- Every checkpoint receipts were given, once: the licenses anchored at
-- one tree size share one.
CREATE TABLE IF NOT EXISTS checkpoint_notes (
	digest BLOB PRIMARY KEY,            -- the first 16 bytes of SHA-256(note)
	note   TEXT NOT NULL                -- the C2SP signed note
);
`

// packedColumns are the columns unpackLicense and unpackReceipt read after
// the older ones, in a SELECT from licenses.
const packedColumns = `packed, COALESCE((SELECT note FROM checkpoint_notes WHERE digest = licenses.note_digest), '')`

// anchorOf is the anchor the registry made for a signed credential of the
// department uscc with key keyID (a first version: no predecessor).
func anchorOf(cred *credential.Credential, uscc string, rec license.Record, keyID string) (ledger.Anchor, error) {
	proofHash, docHash, err := cred.Hashes()
	if err != nil {
		return ledger.Anchor{}, err
	}
	sig, err := cred.Signature()
	if err != nil {
		return ledger.Anchor{}, err
	}
	a := ledger.Anchor{
		Identifier: rec.Identifier, Issuer: uscc, TypeCode: rec.TypeCode, KeyID: keyID,
		ProofHash: proofHash, DocumentHash: docHash, Signature: sig,
	}
	if a.ValidFrom, err = time.Parse(time.RFC3339, cred.ValidFrom); err != nil {
		return ledger.Anchor{}, fmt.Errorf("registry: validFrom: %w", err)
	}
	if cred.ValidUntil != "" {
		if a.ValidUntil, err = time.Parse(time.RFC3339, cred.ValidUntil); err != nil {
			return ledger.Anchor{}, fmt.Errorf("registry: validUntil: %w", err)
		}
	}
	return a, nil
}

// anchorEntry is the canonical ledger event that anchored a credential at.
func anchorEntry(c *credential.Credential, at time.Time) ([]byte, error) {
	if c.Proof == nil {
		return nil, fmt.Errorf("credential without a proof")
	}
	uscc, keyID, err := credential.ParseVerificationMethod(c.Proof.VerificationMethod)
	if err != nil {
		return nil, err
	}
	a, err := anchorOf(c, uscc, c.CredentialSubject, keyID)
	if err != nil {
		return nil, err
	}
	return ledger.Event{V: ledger.EventVersion, Kind: ledger.KindLicenseAnchored, At: at, Anchor: &a}.Canonical()
}
