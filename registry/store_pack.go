package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"zhengzhao/credential"
	"zhengzhao/ledger"
)

// A license row keeps what cannot be recomputed. The record is the
// credential's subject, and the anchor receipt's entry is the canonical
// ledger event made from the credential (anchorOf) and the anchoring time:
// both are left out of the row when rebuilding them from the stored
// credential gives them back exactly, which packLicense checks. That is
// ~2 KB of a ~6 KB row. Rows written before, or whose record or entry do
// not rebuild, keep them whole.

// storedReceipt is an anchor receipt as the licenses table keeps it: with
// AnchoredAt in place of Entry when the entry rebuilds.
type storedReceipt struct {
	ledger.Receipt
	AnchoredAt *time.Time `json:"anchored_at,omitempty"`
}

// packLicense returns the record and receipt columns of a new license.
func packLicense(l *License) (record, receipt string, err error) {
	sr := storedReceipt{Receipt: l.Receipt}
	c, perr := credential.Parse(l.Credential)
	if perr == nil && reflect.DeepEqual(c.CredentialSubject, l.Record) {
		record = ""
	} else {
		b, err := json.Marshal(l.Record)
		if err != nil {
			return "", "", err
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
	return record, string(b), err
}

// unpackLicense fills a scanned license's record and receipt from their
// columns and, where those left them out, from its credential.
func unpackLicense(l *License, record, receipt string) error {
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
