package registry

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sync"
	"time"

	"zhengzhao/credential"
	"zhengzhao/ledger"
	"zhengzhao/license"
)

// A license row keeps what cannot be recomputed. The record is the
// credential's subject, and the anchor receipt's entry is the canonical
// ledger event made from the credential (anchorOf) and the anchoring time:
// both are left out of the row when rebuilding them from the stored
// credential gives them back exactly, which packLicense checks. The
// credential's exact bytes are kept DEFLATE-compressed (~2.2 KB to ~1.1
// KB). Together that is ~3 KB of a ~7 KB row. Rows written before, or
// whose record or entry do not rebuild, keep them whole.

// packedCredential starts a compressed credential column; a credential
// itself starts with "{".
const packedCredential = "\x00z1"

var (
	flateWriters = sync.Pool{New: func() any { w, _ := flate.NewWriter(nil, flate.DefaultCompression); return w }}
	flateReaders = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}
)

// packCredential is the credential column of a credential.
func packCredential(cred []byte) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(len(cred)/2 + 16)
	b.WriteString(packedCredential)
	w := flateWriters.Get().(*flate.Writer)
	defer flateWriters.Put(w)
	w.Reset(&b)
	if _, err := w.Write(cred); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// unpackCredential gives back the credential's exact bytes from its column.
func unpackCredential(col []byte) ([]byte, error) {
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

// storedReceipt is an anchor receipt as the licenses table keeps it: with
// AnchoredAt in place of Entry when the entry rebuilds.
type storedReceipt struct {
	ledger.Receipt
	AnchoredAt *time.Time `json:"anchored_at,omitempty"`
}

// packLicense returns the record, receipt and credential columns of a new
// license.
func packLicense(l *License) (record, receipt string, cred []byte, err error) {
	sr := storedReceipt{Receipt: l.Receipt}
	c, perr := credential.Parse(l.Credential)
	if perr == nil && reflect.DeepEqual(c.CredentialSubject, l.Record) {
		record = ""
	} else {
		b, err := json.Marshal(l.Record)
		if err != nil {
			return "", "", nil, err
		}
		record = string(b)
	}
	if perr == nil {
		var ev ledger.Event
		if json.Unmarshal(l.Receipt.Entry, &ev) == nil && ev.Kind == ledger.KindLicenseAnchored {
			if entry, err := anchorEntry(c, ev.At); err == nil && bytes.Equal(entry, l.Receipt.Entry) {
				at := ev.At
				sr.Entry, sr.AnchoredAt = nil, &at
			}
		}
	}
	b, err := json.Marshal(sr)
	if err != nil {
		return "", "", nil, err
	}
	cred, err = packCredential(l.Credential)
	return record, string(b), cred, err
}

// unpackLicense fills a scanned license's credential, record and receipt
// from their columns and, where those left them out, from its credential.
func unpackLicense(l *License, record, receipt string) error {
	var err error
	if l.Credential, err = unpackCredential(l.Credential); err != nil {
		return fmt.Errorf("registry: stored credential of %s: %w", l.Identifier, err)
	}
	var sr storedReceipt
	if err := json.Unmarshal([]byte(receipt), &sr); err != nil {
		return fmt.Errorf("registry: stored receipt of %s: %w", l.Identifier, err)
	}
	l.Receipt = sr.Receipt
	if record != "" {
		if err := json.Unmarshal([]byte(record), &l.Record); err != nil {
			return fmt.Errorf("registry: stored record of %s: %w", l.Identifier, err)
		}
		if sr.AnchoredAt == nil {
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
	if sr.AnchoredAt != nil {
		if l.Receipt.Entry, err = anchorEntry(c, *sr.AnchoredAt); err != nil {
			return fmt.Errorf("registry: anchor entry of %s: %w", l.Identifier, err)
		}
	}
	return nil
}

// unpackReceipt gives back an anchor receipt from the receipt and
// credential columns of a license.
func unpackReceipt(credCol []byte, receipt string) (ledger.Receipt, error) {
	var sr storedReceipt
	if err := json.Unmarshal([]byte(receipt), &sr); err != nil {
		return ledger.Receipt{}, fmt.Errorf("registry: stored receipt: %w", err)
	}
	if sr.AnchoredAt == nil {
		return sr.Receipt, nil
	}
	cred, err := unpackCredential(credCol)
	if err != nil {
		return ledger.Receipt{}, err
	}
	c, err := credential.Parse(cred)
	if err != nil {
		return ledger.Receipt{}, fmt.Errorf("registry: stored credential: %w", err)
	}
	sr.Entry, err = anchorEntry(c, *sr.AnchoredAt)
	return sr.Receipt, err
}

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
