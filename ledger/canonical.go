package ledger

import (
	"time"

	"zhengzhao/internal/jcsw"
)

// The canonical bytes of an event are defined as the RFC 8785 (JCS) form of
// its encoding/json output (canonicalJCS). Building that takes an
// encoding/json pass, a JCS parse into a tree and a JCS write: most of what
// the ledger's single writer spends on an anchor. appendCanonical writes the
// same bytes directly from the struct, for the values whose JCS form is plain:
//
//   - members in the order JCS sorts them (every member name is ASCII, so
//     UTF-16 order is byte order), payloads nil left out as omitempty does;
//   - strings as JCS writes them: '"' and '\\' escaped, \b \t \n \f \r, the
//     other controls below U+0020 as \u00xx, everything else (Chinese text,
//     '<', '/', U+2028 …) as the UTF-8 it is;
//   - byte strings in standard base64 with padding, nil as null;
//   - integers in decimal, as JCS rewrites a number holding an integer below
//     2^53;
//   - times (normalised: UTC, TimePrecision) in time.RFC3339Nano, as
//     time.Time.MarshalJSON writes them.
//
// Anything else — a string that is not valid UTF-8 (encoding/json replaces
// its bad bytes), an integer beyond ±2^53 (JCS rounds it to a double), a year
// outside 0–9999 (encoding/json refuses it) — makes appendCanonical report
// !ok, and Canonical takes the general path. canonical_test.go checks the two
// paths give the same bytes on many varied events.

// canonWriter is the JCS writer with the ledger's own values.
type canonWriter struct{ jcsw.Writer }

// appendCanonical appends the canonical bytes of e.normalized(), which must
// be of a valid shape, to buf: it normalises as it writes. ok is false when e
// holds a value only the general path handles; buf is then to be discarded.
func appendCanonical(buf []byte, e *Event) (_ []byte, ok bool) {
	w := canonWriter{jcsw.New(buf)}
	w.B = append(w.B, '{')
	if a := e.Anchor; a != nil {
		w.B = append(w.B, `"anchor":`...)
		w.anchor(a)
		w.B = append(w.B, ',')
	}
	w.B = append(w.B, `"at":`...)
	w.time(e.At)
	// Every member from here on follows another.
	if t := e.CatalogType; t != nil {
		w.B = append(w.B, `,"catalog_type":{"code":`...)
		w.Str(t.Code)
		w.B = append(w.B, `,"digest":`...)
		w.Bytes(t.Digest)
		w.B = append(w.B, `,"version":`...)
		w.Int(int64(t.Version))
		w.B = append(w.B, '}')
	}
	if d := e.Department; d != nil {
		w.B = append(w.B, `,"department":{"name":`...)
		w.Str(d.Name)
		w.B = append(w.B, `,"types":`...)
		if len(d.Types) == 0 { // normalized makes an empty list nil
			w.B = append(w.B, "null"...)
		} else {
			w.B = append(w.B, '[')
			for i, t := range d.Types {
				if i > 0 {
					w.B = append(w.B, ',')
				}
				w.Str(t)
			}
			w.B = append(w.B, ']')
		}
		w.B = append(w.B, `,"uscc":`...)
		w.Str(d.USCC)
		w.B = append(w.B, '}')
	}
	if k := e.Key; k != nil {
		w.B = append(w.B, `,"key":{"cert":`...)
		w.Bytes(k.CertDER)
		w.B = append(w.B, `,"department":`...)
		w.Str(k.Department)
		w.B = append(w.B, `,"key_id":`...)
		w.Str(k.KeyID)
		w.B = append(w.B, `,"valid_from":`...)
		w.time(k.ValidFrom)
		w.B = append(w.B, `,"valid_until":`...)
		w.time(k.ValidUntil)
		w.B = append(w.B, '}')
	}
	w.B = append(w.B, `,"kind":`...)
	w.Str(string(e.Kind))
	if h := e.RecordsHead; h != nil {
		w.B = append(w.B, `,"records_head":{"chain":`...)
		w.Str(h.Chain)
		w.B = append(w.B, `,"hash":`...)
		w.Bytes(h.Hash)
		w.B = append(w.B, `,"seq":`...)
		w.Uint(h.Seq)
		w.B = append(w.B, '}')
	}
	if r := e.Revocation; r != nil {
		w.B = append(w.B, `,"revocation":{"department":`...)
		w.Str(r.Department)
		w.B = append(w.B, `,"key_id":`...)
		w.Str(r.KeyID)
		w.B = append(w.B, `,"reason":`...)
		w.Str(r.Reason)
		w.B = append(w.B, `,"revoked_from":`...)
		w.time(r.RevokedFrom)
		w.B = append(w.B, '}')
	}
	if s := e.Status; s != nil {
		w.B = append(w.B, `,"status":{"id":`...)
		w.Str(s.Identifier)
		w.B = append(w.B, `,"issuer":`...)
		w.Str(s.Issuer)
		w.B = append(w.B, `,"reason":`...)
		w.Str(s.Reason)
		w.B = append(w.B, `,"status":`...)
		w.Str(string(s.Status))
		w.B = append(w.B, '}')
	}
	w.B = append(w.B, `,"v":`...)
	w.Int(int64(e.V))
	w.B = append(w.B, '}')
	return w.B, w.OK
}

func (w *canonWriter) anchor(a *Anchor) {
	w.B = append(w.B, `{"document_hash":`...)
	w.Bytes(a.DocumentHash)
	w.B = append(w.B, `,"id":`...)
	w.Str(a.Identifier)
	w.B = append(w.B, `,"issuer":`...)
	w.Str(a.Issuer)
	w.B = append(w.B, `,"key_id":`...)
	w.Str(a.KeyID)
	if p := a.Predecessor; p != nil {
		w.B = append(w.B, `,"predecessor":{"document_hash":`...)
		w.Bytes(p.DocumentHash)
		w.B = append(w.B, `,"id":`...)
		w.Str(p.Identifier)
		w.B = append(w.B, `,"reason":`...)
		w.Str(p.Reason)
		w.B = append(w.B, '}')
	}
	w.B = append(w.B, `,"proof_hash":`...)
	w.Bytes(a.ProofHash)
	w.B = append(w.B, `,"signature":`...)
	w.Bytes(a.Signature)
	w.B = append(w.B, `,"type":`...)
	w.Str(a.TypeCode)
	w.B = append(w.B, `,"valid_from":`...)
	w.time(a.ValidFrom)
	if !normTime(a.ValidUntil).IsZero() { // omitzero, once normalised
		w.B = append(w.B, `,"valid_until":`...)
		w.time(a.ValidUntil)
	}
	w.B = append(w.B, '}')
}

// time writes t, normalised, as time.Time.MarshalJSON does.
func (w *canonWriter) time(t time.Time) { w.Time(normTime(t)) }
