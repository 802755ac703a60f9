package ledger

import (
	"bytes"
	"crypto/ecdsa"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"zhengzhao/license"
	"zhengzhao/signing"
)

// HashSize is the length of Anchor.ProofHash and Anchor.DocumentHash (SM3).
const HashSize = 32

// State is what the ledger's events add up to, and the rules each event must
// pass. It is deterministic: the same events applied in the same order give
// the same state and the same errors, whichever ledger (embedded or the Fabric
// chaincode) applies them. A State is not safe for concurrent use.
type State struct {
	departments map[string]*deptEntry
	keys        map[string]*keyEntry
	licenses    LicenseStore
	// types holds the digests of every catalog type version, by code:
	// types[code][v-1].
	types map[string][][]byte
	heads map[string]RecordsHead // record chain → last anchored head
	// verify checks an anchor's signature; nil means signing.Verify.
	verify func(pub *ecdsa.PublicKey, msg, sig []byte) error
}

// SetVerify replaces the SM2 check of anchor signatures with f, which gets
// the anchoring key's public key, the signed message (proof hash ‖ document
// hash) and the signature. A ledger that checks signatures before they reach
// the state (in its callers' goroutines, in parallel) passes a function
// that accepts what it checked and calls signing.Verify for anything else.
func (s *State) SetVerify(f func(pub *ecdsa.PublicKey, msg, sig []byte) error) { s.verify = f }

// KeyPublic returns the public key of the key keyID, whatever its validity,
// or false if the state has no such key.
func (s *State) KeyPublic(keyID string) (*ecdsa.PublicKey, bool) {
	k, ok := s.keys[keyID]
	if !ok {
		return nil, false
	}
	return k.pub, true
}

// LicenseStore holds the per-license part of a State: one LicenseState per
// anchored identifier. NewState keeps it in a map; the embedded ledger keeps
// it in an on-disk index so that memory does not grow with the number of
// licenses. A store buffers what the State sets or deletes: writes cannot
// fail, and its owner makes them durable (or drops them) as it sees fit.
type LicenseStore interface {
	// License returns the state of the license identifier, or ok false when
	// it is not anchored. The State may change the returned value and then
	// hands it back with SetLicense.
	License(identifier string) (ls *LicenseState, ok bool, err error)
	// SetLicense records ls under ls.Anchor.Identifier.
	SetLicense(ls *LicenseState)
	// DeleteLicense forgets a license (an anchor undone by ApplyAll).
	DeleteLicense(identifier string)
}

// mapLicenses is the in-memory LicenseStore of NewState.
type mapLicenses map[string]*LicenseState

func (m mapLicenses) License(id string) (*LicenseState, bool, error) {
	ls, ok := m[id]
	return ls, ok, nil
}
func (m mapLicenses) SetLicense(ls *LicenseState) { m[ls.Anchor.Identifier] = ls }
func (m mapLicenses) DeleteLicense(id string)     { delete(m, id) }

type deptEntry struct {
	dept        Department
	types       map[string]bool
	keys        []string // key ids, in the order they were added
	revocations []KeyRevocation
}

type keyEntry struct {
	key         Key
	pub         *ecdsa.PublicKey
	revokedFrom time.Time // zero: not revoked
}

// NewState returns an empty State that keeps its licenses in memory.
func NewState() *State { return NewStateWith(make(mapLicenses)) }

// NewStateWith returns a State without departments or keys whose licenses are
// in store (which may already hold some).
func NewStateWith(store LicenseStore) *State {
	return &State{
		departments: make(map[string]*deptEntry),
		keys:        make(map[string]*keyEntry),
		licenses:    store,
		types:       make(map[string][][]byte),
		heads:       make(map[string]RecordsHead),
	}
}

// Apply checks e against the rules and, if it passes, records it as the log
// entry at index. On error the state is unchanged; the error wraps one of the
// package's sentinels (ErrInvalidEvent, ErrDuplicate, ErrUnknownDepartment,
// ErrNotFound, ErrKeyNotValid, ErrBadSignature, ErrFinal) and names the
// identifier and field at fault.
func (s *State) Apply(e Event, index uint64) error {
	_, err := s.apply(e, index)
	return err
}

// ApplyAll applies events as the entries first, first+1, …, all or nothing:
// if one fails, the ones before it are undone, the state is unchanged and the
// error names the failing event's position in events.
func (s *State) ApplyAll(events []Event, first uint64) error {
	undos := make([]func(), 0, len(events))
	for i, e := range events {
		undo, err := s.apply(e, first+uint64(i))
		if err != nil {
			for j := len(undos) - 1; j >= 0; j-- {
				undos[j]()
			}
			if len(events) == 1 {
				return err
			}
			return fmt.Errorf("event %d of %d: %w", i, len(events), err)
		}
		undos = append(undos, undo)
	}
	return nil
}

// License returns a copy of what the state holds for the license identifier,
// or an error wrapping ErrNotFound.
func (s *State) License(identifier string) (*LicenseState, error) {
	ls, ok, err := s.licenses.License(identifier)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: license %s", ErrNotFound, identifier)
	}
	return cloneLicense(ls), nil
}

// Department returns a copy of what the state holds for the department uscc,
// or an error wrapping ErrNotFound.
func (s *State) Department(uscc string) (*DepartmentState, error) {
	d, ok := s.departments[uscc]
	if !ok {
		return nil, fmt.Errorf("%w: department %s", ErrNotFound, uscc)
	}
	out := &DepartmentState{Department: cloneDepartment(d.dept)}
	for _, id := range d.keys {
		k := s.keys[id].key
		k.CertDER = bytes.Clone(k.CertDER)
		out.Keys = append(out.Keys, k)
	}
	out.Revocations = slices.Clone(d.revocations)
	return out, nil
}

// apply checks e and records it, returning how to undo it.
func (s *State) apply(e Event, index uint64) (func(), error) {
	if err := e.checkShape(); err != nil {
		return nil, err
	}
	e = e.normalized()
	switch e.Kind {
	case KindDepartmentRegistered:
		return s.registerDepartment(*e.Department, *e.Key)
	case KindKeyAdded:
		return s.addKey(*e.Key)
	case KindKeyRevoked:
		return s.revokeKey(*e.Revocation)
	case KindLicenseAnchored:
		return s.anchor(*e.Anchor, e.At, index)
	case KindLicenseStatus:
		return s.setStatus(*e.Status, e.At, index)
	case KindCatalogType:
		return s.addType(*e.CatalogType)
	case KindRecordsHead:
		return s.recordsHead(*e.RecordsHead)
	}
	// checkShape rejects every other kind.
	return nil, fmt.Errorf("%w: field kind: unknown kind %q", ErrInvalidEvent, e.Kind)
}

func (s *State) registerDepartment(d Department, k Key) (func(), error) {
	if err := license.ValidateUSCC(d.USCC); err != nil {
		return nil, fmt.Errorf("%w: department %q: field uscc: %w", ErrInvalidEvent, d.USCC, err)
	}
	if strings.TrimSpace(d.Name) == "" {
		return nil, fmt.Errorf("%w: department %s: field name: required", ErrInvalidEvent, d.USCC)
	}
	if len(d.Types) == 0 {
		return nil, fmt.Errorf("%w: department %s: field types: at least one license type required", ErrInvalidEvent, d.USCC)
	}
	types := make(map[string]bool, len(d.Types))
	for i, t := range d.Types {
		if t == "" {
			return nil, fmt.Errorf("%w: department %s: field types[%d]: empty type code", ErrInvalidEvent, d.USCC, i)
		}
		if types[t] {
			return nil, fmt.Errorf("%w: department %s: field types[%d]: type %s listed twice", ErrInvalidEvent, d.USCC, i, t)
		}
		types[t] = true
	}
	if _, ok := s.departments[d.USCC]; ok {
		return nil, fmt.Errorf("%w: department %s is already registered", ErrDuplicate, d.USCC)
	}
	if k.Department != d.USCC {
		return nil, fmt.Errorf("%w: department %s: field key.department: %q is not the department being registered", ErrInvalidEvent, d.USCC, k.Department)
	}
	ke, err := s.checkKey(k)
	if err != nil {
		return nil, err
	}
	s.departments[d.USCC] = &deptEntry{dept: cloneDepartment(d), types: types, keys: []string{k.KeyID}}
	s.keys[k.KeyID] = ke
	return func() {
		delete(s.departments, d.USCC)
		delete(s.keys, k.KeyID)
	}, nil
}

func (s *State) addKey(k Key) (func(), error) {
	d, ok := s.departments[k.Department]
	if !ok {
		return nil, fmt.Errorf("%w: key %s: field department: %q", ErrUnknownDepartment, k.KeyID, k.Department)
	}
	ke, err := s.checkKey(k)
	if err != nil {
		return nil, err
	}
	s.keys[k.KeyID] = ke
	d.keys = append(d.keys, k.KeyID)
	return func() {
		delete(s.keys, k.KeyID)
		d.keys = d.keys[:len(d.keys)-1]
	}, nil
}

// checkKey checks a key that is about to be recorded for a registered (or
// being registered) department.
func (s *State) checkKey(k Key) (*keyEntry, error) {
	if k.KeyID == "" {
		return nil, fmt.Errorf("%w: key of department %s: field key_id: required", ErrInvalidEvent, k.Department)
	}
	if len(k.CertDER) == 0 {
		return nil, fmt.Errorf("%w: key %s: field cert: required", ErrInvalidEvent, k.KeyID)
	}
	if want := signing.KeyID(k.CertDER); k.KeyID != want {
		return nil, fmt.Errorf("%w: key %s: field key_id: the certificate's key id is %s", ErrInvalidEvent, k.KeyID, want)
	}
	cert, err := smx509.ParseCertificate(k.CertDER)
	if err != nil {
		return nil, fmt.Errorf("%w: key %s: field cert: %w", ErrInvalidEvent, k.KeyID, err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(pub) {
		return nil, fmt.Errorf("%w: key %s: field cert: the certificate's public key is not SM2", ErrInvalidEvent, k.KeyID)
	}
	if u := signing.DepartmentUSCC(cert); u != "" && u != k.Department {
		return nil, fmt.Errorf("%w: key %s: field cert: the certificate names department %s, not %s", ErrInvalidEvent, k.KeyID, u, k.Department)
	}
	if k.ValidFrom.IsZero() {
		return nil, fmt.Errorf("%w: key %s: field valid_from: required", ErrInvalidEvent, k.KeyID)
	}
	if !k.ValidUntil.After(k.ValidFrom) {
		return nil, fmt.Errorf("%w: key %s: field valid_until: must be after valid_from", ErrInvalidEvent, k.KeyID)
	}
	if _, ok := s.keys[k.KeyID]; ok {
		return nil, fmt.Errorf("%w: key %s is already recorded", ErrDuplicate, k.KeyID)
	}
	k.CertDER = bytes.Clone(k.CertDER)
	return &keyEntry{key: k, pub: pub}, nil
}

// revokeKey records a revocation. A key may be revoked again only to move its
// revocation earlier (a compromise found to date from before the first
// revocation); anything else is a duplicate.
func (s *State) revokeKey(r KeyRevocation) (func(), error) {
	d, ok := s.departments[r.Department]
	if !ok {
		return nil, fmt.Errorf("%w: revocation of key %s: field department: %q", ErrUnknownDepartment, r.KeyID, r.Department)
	}
	ke, ok := s.keys[r.KeyID]
	if !ok {
		return nil, fmt.Errorf("%w: revocation: field key_id: key %q", ErrNotFound, r.KeyID)
	}
	if ke.key.Department != r.Department {
		return nil, fmt.Errorf("%w: revocation of key %s: field department: the key belongs to %s, not %s", ErrInvalidEvent, r.KeyID, ke.key.Department, r.Department)
	}
	if r.RevokedFrom.IsZero() {
		return nil, fmt.Errorf("%w: revocation of key %s: field revoked_from: required", ErrInvalidEvent, r.KeyID)
	}
	if err := license.CheckKeyReason(r.Reason); err != nil {
		return nil, fmt.Errorf("%w: revocation of key %s: %w", ErrInvalidEvent, r.KeyID, err)
	}
	prev := ke.revokedFrom
	if !prev.IsZero() && !r.RevokedFrom.Before(prev) {
		return nil, fmt.Errorf("%w: key %s is already revoked from %s", ErrDuplicate, r.KeyID, prev.Format(time.RFC3339Nano))
	}
	ke.revokedFrom = r.RevokedFrom
	d.revocations = append(d.revocations, r)
	return func() {
		ke.revokedFrom = prev
		d.revocations = d.revocations[:len(d.revocations)-1]
	}, nil
}

func (s *State) anchor(a Anchor, at time.Time, index uint64) (func(), error) {
	if a.Identifier == "" {
		return nil, fmt.Errorf("%w: anchor: field id: required", ErrInvalidEvent)
	}
	id := a.Identifier
	if len(a.ProofHash) != HashSize {
		return nil, fmt.Errorf("%w: license %s: field proof_hash: %d bytes, want %d", ErrInvalidEvent, id, len(a.ProofHash), HashSize)
	}
	if len(a.DocumentHash) != HashSize {
		return nil, fmt.Errorf("%w: license %s: field document_hash: %d bytes, want %d", ErrInvalidEvent, id, len(a.DocumentHash), HashSize)
	}
	if len(a.Signature) != signing.SignatureSize {
		return nil, fmt.Errorf("%w: license %s: field signature: %d bytes, want %d", ErrInvalidEvent, id, len(a.Signature), signing.SignatureSize)
	}
	if a.ValidFrom.IsZero() {
		return nil, fmt.Errorf("%w: license %s: field valid_from: required", ErrInvalidEvent, id)
	}
	if !a.ValidUntil.IsZero() && !a.ValidUntil.After(a.ValidFrom) {
		return nil, fmt.Errorf("%w: license %s: field valid_until: must be after valid_from", ErrInvalidEvent, id)
	}
	parsed, err := license.ParseIdentifier(id)
	if err != nil {
		return nil, fmt.Errorf("%w: license %s: field id: %w", ErrInvalidEvent, id, err)
	}
	if parsed.String() != id {
		return nil, fmt.Errorf("%w: license %s: field id: not in canonical form %s", ErrInvalidEvent, id, parsed.String())
	}
	if parsed.IssuerUSCC != a.Issuer {
		return nil, fmt.Errorf("%w: license %s: field issuer: %q, but the identifier names issuer %s", ErrInvalidEvent, id, a.Issuer, parsed.IssuerUSCC)
	}
	if parsed.TypeCode != a.TypeCode {
		return nil, fmt.Errorf("%w: license %s: field type: %q, but the identifier names type %s", ErrInvalidEvent, id, a.TypeCode, parsed.TypeCode)
	}
	d, ok := s.departments[a.Issuer]
	if !ok {
		return nil, fmt.Errorf("%w: license %s: field issuer: %s", ErrUnknownDepartment, id, a.Issuer)
	}
	if !d.types[a.TypeCode] {
		return nil, fmt.Errorf("%w: license %s: field type: department %s may not issue type %s", ErrInvalidEvent, id, a.Issuer, a.TypeCode)
	}
	if _, ok, err := s.licenses.License(id); err != nil {
		return nil, err
	} else if ok {
		return nil, fmt.Errorf("%w: license %s is already anchored", ErrDuplicate, id)
	}
	ke, ok := s.keys[a.KeyID]
	if !ok {
		return nil, fmt.Errorf("%w: license %s: field key_id: unknown key %q", ErrKeyNotValid, id, a.KeyID)
	}
	if err := ke.validAt(a.Issuer, at); err != nil {
		return nil, fmt.Errorf("%w: license %s: field key_id: %w", ErrKeyNotValid, id, err)
	}
	msg := make([]byte, 0, 2*HashSize)
	msg = append(append(msg, a.ProofHash...), a.DocumentHash...)
	verify := signing.Verify
	if s.verify != nil {
		verify = s.verify
	}
	if err := verify(ke.pub, msg, a.Signature); err != nil {
		return nil, fmt.Errorf("%w: license %s: field signature: key %s: %w", ErrBadSignature, id, a.KeyID, err)
	}
	undoPred, err := s.supersede(a, parsed, at, index)
	if err != nil {
		return nil, err
	}
	s.licenses.SetLicense(&LicenseState{
		Anchor:     a,
		AnchoredAt: at,
		LogIndex:   index,
		Status:     license.StatusActive,
		History:    []StatusEvent{{Status: license.StatusActive, At: at, LogIndex: index}},
	})
	return func() {
		s.licenses.DeleteLicense(id)
		undoPred()
	}, nil
}

// supersede checks the link of a new version to its predecessor and marks
// the predecessor superseded by it. A first version (001) names no
// predecessor; any later one must name the current version: the same
// issuer, type and serial, the version before it, active (not suspended,
// not final), with the document hash the ledger holds for it.
func (s *State) supersede(a Anchor, parsed license.Identifier, at time.Time, index uint64) (func(), error) {
	id, p := a.Identifier, a.Predecessor
	if p == nil {
		if parsed.Version != "001" {
			return nil, fmt.Errorf("%w: license %s: field predecessor: required for version %s", ErrInvalidEvent, id, parsed.Version)
		}
		return func() {}, nil
	}
	if parsed.Version == "001" {
		return nil, fmt.Errorf("%w: license %s: field predecessor: a first version has none", ErrInvalidEvent, id)
	}
	pid, err := license.ParseIdentifier(p.Identifier)
	if err != nil {
		return nil, fmt.Errorf("%w: license %s: field predecessor.id: %w", ErrInvalidEvent, id, err)
	}
	next, err := pid.Next()
	if err != nil || next.String() != id {
		return nil, fmt.Errorf("%w: license %s: field predecessor.id: %s is not the version before it", ErrInvalidEvent, id, p.Identifier)
	}
	if len(p.DocumentHash) != HashSize {
		return nil, fmt.Errorf("%w: license %s: field predecessor.document_hash: %d bytes, want %d", ErrInvalidEvent, id, len(p.DocumentHash), HashSize)
	}
	if err := license.CheckStatusReason(license.StatusSuperseded, p.Reason); err != nil {
		return nil, fmt.Errorf("%w: license %s: field predecessor.%w", ErrInvalidEvent, id, err)
	}
	ls, ok, err := s.licenses.License(p.Identifier)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: license %s: field predecessor.id: license %s", ErrNotFound, id, p.Identifier)
	}
	// Same issuer and type follow from the identifiers; checked anyway
	// against what the ledger holds.
	if ls.Anchor.Issuer != a.Issuer || ls.Anchor.TypeCode != a.TypeCode {
		return nil, fmt.Errorf("%w: license %s: field predecessor.id: %s has another issuer or type", ErrInvalidEvent, id, p.Identifier)
	}
	if ls.Status.Final() {
		return nil, fmt.Errorf("%w: license %s: field predecessor.id: %s is %s", ErrFinal, id, p.Identifier, ls.Status)
	}
	if ls.Status != license.StatusActive {
		return nil, fmt.Errorf("%w: license %s: field predecessor.id: %s is %s; only an active license gets a new version", ErrInvalidEvent, id, p.Identifier, ls.Status)
	}
	if !bytes.Equal(ls.Anchor.DocumentHash, p.DocumentHash) {
		return nil, fmt.Errorf("%w: license %s: field predecessor.document_hash: not the document hash anchored for %s", ErrInvalidEvent, id, p.Identifier)
	}
	prev := *ls
	ls.Status = license.StatusSuperseded
	ls.Reason = p.Reason
	ls.SupersededBy = id
	ls.History = append(ls.History, StatusEvent{Status: license.StatusSuperseded, Reason: p.Reason, At: at, LogIndex: index})
	s.licenses.SetLicense(ls)
	return func() { *ls = prev; s.licenses.SetLicense(ls) }, nil
}

// validAt reports why the key may not sign for department at time at, or nil.
func (ke *keyEntry) validAt(department string, at time.Time) error {
	k := ke.key
	switch {
	case k.Department != department:
		return fmt.Errorf("key %s belongs to department %s", k.KeyID, k.Department)
	case at.Before(k.ValidFrom):
		return fmt.Errorf("key %s is valid only from %s", k.KeyID, k.ValidFrom.Format(time.RFC3339))
	case at.After(k.ValidUntil):
		return fmt.Errorf("key %s expired at %s", k.KeyID, k.ValidUntil.Format(time.RFC3339))
	case !ke.revokedFrom.IsZero() && !at.Before(ke.revokedFrom):
		return fmt.Errorf("key %s is revoked from %s", k.KeyID, ke.revokedFrom.Format(time.RFC3339Nano))
	}
	return nil
}

func (s *State) setStatus(c StatusChange, at time.Time, index uint64) (func(), error) {
	if c.Identifier == "" {
		return nil, fmt.Errorf("%w: status change: field id: required", ErrInvalidEvent)
	}
	id := c.Identifier
	ls, ok, err := s.licenses.License(id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: license %s", ErrNotFound, id)
	}
	if c.Issuer != ls.Anchor.Issuer {
		return nil, fmt.Errorf("%w: license %s: field issuer: %q did not issue it (issuer %s)", ErrInvalidEvent, id, c.Issuer, ls.Anchor.Issuer)
	}
	if !c.Status.Valid() {
		return nil, fmt.Errorf("%w: license %s: field status: unknown status %q", ErrInvalidEvent, id, c.Status)
	}
	if c.Status == license.StatusSuperseded {
		return nil, fmt.Errorf("%w: license %s: field status: superseded is set only by a new version", ErrInvalidEvent, id)
	}
	if ls.Status.Final() {
		return nil, fmt.Errorf("%w: license %s is %s", ErrFinal, id, ls.Status)
	}
	if err := license.CheckStatusReason(c.Status, c.Reason); err != nil {
		return nil, fmt.Errorf("%w: license %s: %w", ErrInvalidEvent, id, err)
	}
	if c.Status == ls.Status {
		return nil, fmt.Errorf("%w: license %s: field status: already %s", ErrInvalidEvent, id, c.Status)
	}
	prev := *ls
	ls.Status = c.Status
	ls.Reason = c.Reason
	ls.History = append(ls.History, StatusEvent{Status: c.Status, Reason: c.Reason, At: at, LogIndex: index})
	s.licenses.SetLicense(ls)
	return func() { *ls = prev; s.licenses.SetLicense(ls) }, nil
}

// addType records a catalog type version: a valid type code, the next
// version of that code (1 for a new code) and a 32-byte digest.
func (s *State) addType(t TypeVersion) (func(), error) {
	if err := license.ValidateTypeCode(t.Code); err != nil {
		return nil, fmt.Errorf("%w: catalog type %q: field code: %w", ErrInvalidEvent, t.Code, err)
	}
	if len(t.Digest) != HashSize {
		return nil, fmt.Errorf("%w: catalog type %s version %d: field digest: %d bytes, want %d", ErrInvalidEvent, t.Code, t.Version, len(t.Digest), HashSize)
	}
	have := s.types[t.Code]
	switch want := len(have) + 1; {
	case t.Version >= 1 && t.Version < want:
		return nil, fmt.Errorf("%w: catalog type %s version %d is already recorded", ErrDuplicate, t.Code, t.Version)
	case t.Version != want:
		return nil, fmt.Errorf("%w: catalog type %s: field version: %d, the next version is %d", ErrInvalidEvent, t.Code, t.Version, want)
	}
	s.types[t.Code] = append(have, bytes.Clone(t.Digest))
	return func() {
		if len(have) == 0 {
			delete(s.types, t.Code)
		} else {
			s.types[t.Code] = have
		}
	}, nil
}

// TypeDigest returns the digest recorded for version v of the catalog type
// code, or an error wrapping ErrNotFound.
func (s *State) TypeDigest(code string, v int) ([]byte, error) {
	vs := s.types[code]
	if v < 1 || v > len(vs) {
		return nil, fmt.Errorf("%w: catalog type %s version %d", ErrNotFound, code, v)
	}
	return bytes.Clone(vs[v-1]), nil
}

func cloneDepartment(d Department) Department {
	d.Types = slices.Clone(d.Types)
	return d
}

func cloneLicense(ls *LicenseState) *LicenseState {
	out := *ls
	out.Anchor.ProofHash = bytes.Clone(ls.Anchor.ProofHash)
	out.Anchor.DocumentHash = bytes.Clone(ls.Anchor.DocumentHash)
	out.Anchor.Signature = bytes.Clone(ls.Anchor.Signature)
	out.History = slices.Clone(ls.History)
	return &out
}

// maxChainName bounds a record chain's name.
const maxChainName = 64

// RecordsHead returns the last anchored head of the record chain, or an
// error wrapping ErrNotFound when none was anchored.
func (s *State) RecordsHead(chain string) (RecordsHead, error) {
	h, ok := s.heads[chain]
	if !ok {
		return RecordsHead{}, fmt.Errorf("%w: record chain %q has no anchored head", ErrNotFound, chain)
	}
	h.Hash = bytes.Clone(h.Hash)
	return h, nil
}

// recordsHead checks and records a record chain's head: the chain is named
// with a-z, 0-9, '.', '-' (no personal data fits), the hash is SM3-sized and
// the sequence only grows.
func (s *State) recordsHead(h RecordsHead) (func(), error) {
	if err := checkChainName(h.Chain); err != nil {
		return nil, fmt.Errorf("%w: records head: field chain: %w", ErrInvalidEvent, err)
	}
	if len(h.Hash) != HashSize {
		return nil, fmt.Errorf("%w: records head of %s: field hash: %d bytes, want %d", ErrInvalidEvent, h.Chain, len(h.Hash), HashSize)
	}
	if h.Seq == 0 {
		return nil, fmt.Errorf("%w: records head of %s: field seq: must be at least 1", ErrInvalidEvent, h.Chain)
	}
	prev, had := s.heads[h.Chain]
	if had && h.Seq <= prev.Seq {
		return nil, fmt.Errorf("%w: records head of %s: field seq: %d is not after the anchored head %d", ErrDuplicate, h.Chain, h.Seq, prev.Seq)
	}
	h.Hash = bytes.Clone(h.Hash)
	s.heads[h.Chain] = h
	return func() {
		if had {
			s.heads[h.Chain] = prev
		} else {
			delete(s.heads, h.Chain)
		}
	}, nil
}

func checkChainName(c string) error {
	if c == "" {
		return fmt.Errorf("required")
	}
	if len(c) > maxChainName {
		return fmt.Errorf("%d bytes, limit %d", len(c), maxChainName)
	}
	for i := 0; i < len(c); i++ {
		switch b := c[i]; {
		case b >= 'a' && b <= 'z', b >= '0' && b <= '9', b == '.', b == '-':
		default:
			return fmt.Errorf("character %q at %d: only a-z, 0-9, '.' and '-'", b, i)
		}
	}
	return nil
}
