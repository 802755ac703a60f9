package ledger

import (
	"encoding/base64"
	"strconv"
	"time"
	"unicode/utf8"
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

// maxExactInt is the largest integer JCS writes back unchanged: every
// integer up to 2^53 is exactly a float64.
const maxExactInt = 1 << 53

// canonWriter appends canonical JSON to b; ok turns false at the first value
// it does not write itself.
type canonWriter struct {
	b  []byte
	ok bool
}

// appendCanonical appends the canonical bytes of e.normalized(), which must
// be of a valid shape, to buf: it normalises as it writes. ok is false when e
// holds a value only the general path handles; buf is then to be discarded.
func appendCanonical(buf []byte, e *Event) (_ []byte, ok bool) {
	w := canonWriter{b: buf, ok: true}
	w.b = append(w.b, '{')
	if a := e.Anchor; a != nil {
		w.b = append(w.b, `"anchor":`...)
		w.anchor(a)
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, `"at":`...)
	w.time(e.At)
	// Every member from here on follows another.
	if t := e.CatalogType; t != nil {
		w.b = append(w.b, `,"catalog_type":{"code":`...)
		w.str(t.Code)
		w.b = append(w.b, `,"digest":`...)
		w.bytes(t.Digest)
		w.b = append(w.b, `,"version":`...)
		w.int(int64(t.Version))
		w.b = append(w.b, '}')
	}
	if d := e.Department; d != nil {
		w.b = append(w.b, `,"department":{"name":`...)
		w.str(d.Name)
		w.b = append(w.b, `,"types":`...)
		if len(d.Types) == 0 { // normalized makes an empty list nil
			w.b = append(w.b, "null"...)
		} else {
			w.b = append(w.b, '[')
			for i, t := range d.Types {
				if i > 0 {
					w.b = append(w.b, ',')
				}
				w.str(t)
			}
			w.b = append(w.b, ']')
		}
		w.b = append(w.b, `,"uscc":`...)
		w.str(d.USCC)
		w.b = append(w.b, '}')
	}
	if k := e.Key; k != nil {
		w.b = append(w.b, `,"key":{"cert":`...)
		w.bytes(k.CertDER)
		w.b = append(w.b, `,"department":`...)
		w.str(k.Department)
		w.b = append(w.b, `,"key_id":`...)
		w.str(k.KeyID)
		w.b = append(w.b, `,"valid_from":`...)
		w.time(k.ValidFrom)
		w.b = append(w.b, `,"valid_until":`...)
		w.time(k.ValidUntil)
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, `,"kind":`...)
	w.str(string(e.Kind))
	if h := e.RecordsHead; h != nil {
		w.b = append(w.b, `,"records_head":{"chain":`...)
		w.str(h.Chain)
		w.b = append(w.b, `,"hash":`...)
		w.bytes(h.Hash)
		w.b = append(w.b, `,"seq":`...)
		w.uint(h.Seq)
		w.b = append(w.b, '}')
	}
	if r := e.Revocation; r != nil {
		w.b = append(w.b, `,"revocation":{"department":`...)
		w.str(r.Department)
		w.b = append(w.b, `,"key_id":`...)
		w.str(r.KeyID)
		w.b = append(w.b, `,"reason":`...)
		w.str(r.Reason)
		w.b = append(w.b, `,"revoked_from":`...)
		w.time(r.RevokedFrom)
		w.b = append(w.b, '}')
	}
	if s := e.Status; s != nil {
		w.b = append(w.b, `,"status":{"id":`...)
		w.str(s.Identifier)
		w.b = append(w.b, `,"issuer":`...)
		w.str(s.Issuer)
		w.b = append(w.b, `,"reason":`...)
		w.str(s.Reason)
		w.b = append(w.b, `,"status":`...)
		w.str(string(s.Status))
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, `,"v":`...)
	w.int(int64(e.V))
	w.b = append(w.b, '}')
	return w.b, w.ok
}

func (w *canonWriter) anchor(a *Anchor) {
	w.b = append(w.b, `{"document_hash":`...)
	w.bytes(a.DocumentHash)
	w.b = append(w.b, `,"id":`...)
	w.str(a.Identifier)
	w.b = append(w.b, `,"issuer":`...)
	w.str(a.Issuer)
	w.b = append(w.b, `,"key_id":`...)
	w.str(a.KeyID)
	if p := a.Predecessor; p != nil {
		w.b = append(w.b, `,"predecessor":{"document_hash":`...)
		w.bytes(p.DocumentHash)
		w.b = append(w.b, `,"id":`...)
		w.str(p.Identifier)
		w.b = append(w.b, `,"reason":`...)
		w.str(p.Reason)
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, `,"proof_hash":`...)
	w.bytes(a.ProofHash)
	w.b = append(w.b, `,"signature":`...)
	w.bytes(a.Signature)
	w.b = append(w.b, `,"type":`...)
	w.str(a.TypeCode)
	w.b = append(w.b, `,"valid_from":`...)
	w.time(a.ValidFrom)
	if !normTime(a.ValidUntil).IsZero() { // omitzero, once normalised
		w.b = append(w.b, `,"valid_until":`...)
		w.time(a.ValidUntil)
	}
	w.b = append(w.b, '}')
}

const hexDigits = "0123456789abcdef"

// str writes s as a JCS string.
func (w *canonWriter) str(s string) {
	if !utf8.ValidString(s) {
		w.ok = false
		return
	}
	w.b = append(w.b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		w.b = append(w.b, s[start:i]...)
		start = i + 1
		switch c {
		case '"', '\\':
			w.b = append(w.b, '\\', c)
		case '\b':
			w.b = append(w.b, '\\', 'b')
		case '\t':
			w.b = append(w.b, '\\', 't')
		case '\n':
			w.b = append(w.b, '\\', 'n')
		case '\f':
			w.b = append(w.b, '\\', 'f')
		case '\r':
			w.b = append(w.b, '\\', 'r')
		default:
			w.b = append(w.b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
	}
	w.b = append(w.b, s[start:]...)
	w.b = append(w.b, '"')
}

// bytes writes p as encoding/json does: standard base64, nil as null.
func (w *canonWriter) bytes(p []byte) {
	if p == nil {
		w.b = append(w.b, "null"...)
		return
	}
	w.b = append(w.b, '"')
	w.b = base64.StdEncoding.AppendEncode(w.b, p)
	w.b = append(w.b, '"')
}

func (w *canonWriter) int(n int64) {
	if n > maxExactInt || n < -maxExactInt {
		w.ok = false
		return
	}
	w.b = strconv.AppendInt(w.b, n, 10)
}

func (w *canonWriter) uint(n uint64) {
	if n > maxExactInt {
		w.ok = false
		return
	}
	w.b = strconv.AppendUint(w.b, n, 10)
}

// time writes t, normalised, as time.Time.MarshalJSON does.
func (w *canonWriter) time(t time.Time) {
	t = normTime(t)
	if y := t.Year(); y < 0 || y > 9999 || t.Location() != time.UTC {
		w.ok = false
		return
	}
	w.b = append(w.b, '"')
	w.b = t.AppendFormat(w.b, time.RFC3339Nano)
	w.b = append(w.b, '"')
}
