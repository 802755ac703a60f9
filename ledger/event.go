package ledger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/gowebpki/jcs"
)

// EventVersion is the version of the event format, carried in Event.V.
const EventVersion = 1

// TimePrecision is the precision every time in an event is kept at. Times are
// truncated to it (and converted to UTC) when an event is canonicalised, so
// that an event read back from its canonical bytes equals the one written.
const TimePrecision = time.Microsecond

// MaxEventSize bounds the canonical bytes of one event; ParseEvent rejects
// anything longer.
const MaxEventSize = 1 << 20

// Kind names what an event records.
type Kind string

// Event kinds.
const (
	// KindDepartmentRegistered carries Department and its first Key.
	KindDepartmentRegistered Kind = "department.registered"
	// KindKeyAdded carries Key.
	KindKeyAdded Kind = "key.added"
	// KindKeyRevoked carries Revocation.
	KindKeyRevoked Kind = "key.revoked"
	// KindLicenseAnchored carries Anchor.
	KindLicenseAnchored Kind = "license.anchored"
	// KindLicenseStatus carries Status.
	KindLicenseStatus Kind = "license.status"
	// KindCatalogType carries CatalogType: a license type version of the
	// catalog, by its digest.
	KindCatalogType Kind = "catalog.type"
	// KindRecordsHead carries RecordsHead: the head of the registry's
	// hash-chained record log (docs/records.md).
	KindRecordsHead Kind = "records.head"
)

// Event is one entry of the ledger's log. Exactly the payload fields its Kind
// names are set. Its canonical bytes (Canonical) are the log entry, the Merkle
// leaf and what a Receipt carries.
type Event struct {
	V          int            `json:"v"`
	Kind       Kind           `json:"kind"`
	At         time.Time      `json:"at"`
	Department *Department    `json:"department,omitempty"`
	Key        *Key           `json:"key,omitempty"`
	Revocation *KeyRevocation `json:"revocation,omitempty"`
	Anchor     *Anchor        `json:"anchor,omitempty"`
	Status     *StatusChange  `json:"status,omitempty"`
	// CatalogType is the payload of KindCatalogType.
	CatalogType *TypeVersion `json:"catalog_type,omitempty"`
	// RecordsHead is the payload of KindRecordsHead.
	RecordsHead *RecordsHead `json:"records_head,omitempty"`
}

// Canonical returns the event's canonical bytes: the RFC 8785 (JCS) form of
// its JSON, with every time in UTC truncated to TimePrecision. It checks the
// event's shape (version, kind, payload) but not the ledger rules; State does.
func (e Event) Canonical() ([]byte, error) {
	if err := e.checkNormalizedShape(); err != nil {
		return nil, err
	}
	if b, ok := appendCanonical(make([]byte, 0, canonicalSizeHint), &e); ok {
		return b, nil
	}
	return e.normalized().canonicalJCS()
}

// Entry returns what a log keeps of the event and what it applies: the
// canonical bytes (Canonical) and the event exactly as ParseEvent decodes it
// from them, a copy of e that shares nothing with it. The bytes are parsed
// back only when the event holds a value whose canonical form is not
// written directly (see appendCanonical); otherwise the copy is that event.
func (e Event) Entry() (Event, []byte, error) {
	if err := e.checkNormalizedShape(); err != nil {
		return Event{}, nil, err
	}
	n := e.normalized()
	if b, ok := appendCanonical(make([]byte, 0, canonicalSizeHint), &n); ok {
		return n, b, nil
	}
	b, err := n.canonicalJCS()
	if err != nil {
		return Event{}, nil, err
	}
	parsed, err := ParseEvent(b)
	if err != nil {
		return Event{}, nil, err
	}
	return parsed, b, nil
}

// canonicalSizeHint is the capacity the canonical bytes of an event start
// with: an anchor's are about 600 bytes.
const canonicalSizeHint = 768

// checkNormalizedShape checks the shape of e as it is once normalised (a
// time that truncates to zero is missing).
func (e Event) checkNormalizedShape() error {
	s := e
	s.At = normTime(e.At)
	return s.checkShape()
}

// canonicalJCS is the general path of Canonical for a normalised event: the
// JCS transform of its encoding/json form. It defines the canonical bytes;
// appendCanonical writes the same directly for the usual values.
func (e Event) canonicalJCS() ([]byte, error) {
	raw, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("%w: encode event: %w", ErrInvalidEvent, err)
	}
	out, err := jcs.Transform(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: canonicalise event: %w", ErrInvalidEvent, err)
	}
	return out, nil
}

// ParseEvent decodes an event from its canonical bytes. Bytes that are not
// exactly what Canonical produces for the decoded event (other key order,
// whitespace, unknown or duplicate members, times not in UTC at
// TimePrecision …) are rejected with ErrInvalidEvent.
func ParseEvent(b []byte) (Event, error) {
	if len(b) > MaxEventSize {
		return Event{}, fmt.Errorf("%w: event is %d bytes, limit %d", ErrInvalidEvent, len(b), MaxEventSize)
	}
	var e Event
	// json v2, strict: duplicate or unknown members, invalid UTF-8 and
	// trailing data are errors (encoding/json let some through, for the
	// comparison below to refuse). It decodes about 3x faster, which shows
	// where every entry of a log is parsed (ledger verify).
	if err := jsonv2.Unmarshal(b, &e, jsonv2.RejectUnknownMembers(true)); err != nil {
		return Event{}, fmt.Errorf("%w: decode event: %w", ErrInvalidEvent, err)
	}
	canon, err := e.Canonical()
	if err != nil {
		return Event{}, err
	}
	if !bytes.Equal(canon, b) {
		return Event{}, fmt.Errorf("%w: event bytes are not canonical", ErrInvalidEvent)
	}
	e.normalizeTimes() // e is fresh: nothing to copy first
	return e, nil
}

// DecodeEntry decodes a log entry without re-deriving its canonical form.
// It is for entries whose exact bytes are proven by other means — a receipt's
// inclusion proof against a signed checkpoint — where ParseEvent's
// canonical re-encoding would triple the cost of an offline verification.
// The log itself only ever accepts canonical events (ParseEvent).
func DecodeEntry(b []byte) (Event, error) {
	if len(b) > MaxEventSize {
		return Event{}, fmt.Errorf("%w: event is %d bytes, limit %d", ErrInvalidEvent, len(b), MaxEventSize)
	}
	var e Event
	// json v2: rejects duplicate member names and invalid UTF-8, and decodes
	// an entry about 3x faster than encoding/json, which shows in offline
	// verification (every receipt carries an entry).
	if err := jsonv2.Unmarshal(b, &e); err != nil {
		return Event{}, fmt.Errorf("%w: decode event: %w", ErrInvalidEvent, err)
	}
	if err := e.checkShape(); err != nil {
		return Event{}, err
	}
	e.normalizeTimes() // e is fresh: nothing to copy first
	return e, nil
}

// checkShape checks the version, the kind and that exactly the kind's payload
// is present.
func (e Event) checkShape() error {
	if e.V != EventVersion {
		return fmt.Errorf("%w: field v: version %d, want %d", ErrInvalidEvent, e.V, EventVersion)
	}
	if e.At.IsZero() {
		return fmt.Errorf("%w: field at: required", ErrInvalidEvent)
	}
	// Checked in a fixed order, so every ledger reports the same error.
	const (
		department = 1 << iota
		key
		revocation
		anchor
		status
		catalogType
		recordsHead
	)
	payloads := [...]struct {
		name string
		bit  int
		set  bool
	}{
		{"department", department, e.Department != nil},
		{"key", key, e.Key != nil},
		{"revocation", revocation, e.Revocation != nil},
		{"anchor", anchor, e.Anchor != nil},
		{"status", status, e.Status != nil},
		{"catalog_type", catalogType, e.CatalogType != nil},
		{"records_head", recordsHead, e.RecordsHead != nil},
	}
	var want int
	switch e.Kind {
	case KindDepartmentRegistered:
		want = department | key
	case KindKeyAdded:
		want = key
	case KindKeyRevoked:
		want = revocation
	case KindLicenseAnchored:
		want = anchor
	case KindLicenseStatus:
		want = status
	case KindCatalogType:
		want = catalogType
	case KindRecordsHead:
		want = recordsHead
	default:
		return fmt.Errorf("%w: field kind: unknown kind %q", ErrInvalidEvent, e.Kind)
	}
	for _, p := range payloads {
		switch wanted := want&p.bit != 0; {
		case wanted && !p.set:
			return fmt.Errorf("%w: field %s: required for kind %s", ErrInvalidEvent, p.name, e.Kind)
		case !wanted && p.set:
			return fmt.Errorf("%w: field %s: not allowed for kind %s", ErrInvalidEvent, p.name, e.Kind)
		}
	}
	return nil
}

// normalized returns a deep enough copy of e with every time in UTC at
// TimePrecision.
func (e Event) normalized() Event {
	if e.Department != nil {
		d := *e.Department
		d.Types = append([]string(nil), d.Types...)
		e.Department = &d
	}
	if e.Key != nil {
		k := *e.Key
		k.CertDER = bytes.Clone(k.CertDER)
		e.Key = &k
	}
	if e.Revocation != nil {
		r := *e.Revocation
		e.Revocation = &r
	}
	if e.Anchor != nil {
		a := *e.Anchor
		a.ProofHash = bytes.Clone(a.ProofHash)
		a.DocumentHash = bytes.Clone(a.DocumentHash)
		a.Signature = bytes.Clone(a.Signature)
		if a.Predecessor != nil {
			p := *a.Predecessor
			p.DocumentHash = bytes.Clone(p.DocumentHash)
			a.Predecessor = &p
		}
		e.Anchor = &a
	}
	if e.Status != nil {
		s := *e.Status
		e.Status = &s
	}
	if e.CatalogType != nil {
		t := *e.CatalogType
		t.Digest = bytes.Clone(t.Digest)
		e.CatalogType = &t
	}
	if e.RecordsHead != nil {
		h := *e.RecordsHead
		h.Hash = bytes.Clone(h.Hash)
		e.RecordsHead = &h
	}
	e.normalizeTimes()
	return e
}

// normalizeTimes puts every time of e in UTC at TimePrecision, in place,
// so only for an event whose payloads nobody else holds. It is the one
// place event times are truncated.
func (e *Event) normalizeTimes() {
	e.At = normTime(e.At)
	if k := e.Key; k != nil {
		k.ValidFrom, k.ValidUntil = normTime(k.ValidFrom), normTime(k.ValidUntil)
	}
	if r := e.Revocation; r != nil {
		r.RevokedFrom = normTime(r.RevokedFrom)
	}
	if a := e.Anchor; a != nil {
		a.ValidFrom, a.ValidUntil = normTime(a.ValidFrom), normTime(a.ValidUntil)
	}
}

// normTime converts t to UTC at TimePrecision; the zero time stays zero.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(TimePrecision)
}

// NormalizeTime returns t as events keep it: in UTC, truncated to
// TimePrecision, without a monotonic clock reading. Ledgers use it to stamp
// Event.At.
func NormalizeTime(t time.Time) time.Time { return normTime(t) }
