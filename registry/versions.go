package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"
	"unicode/utf8"

	"zhengzhao/ledger"
	"zhengzhao/ledger/tlog"
	"zhengzhao/license"
)

// Kinds of new version.
const (
	// VersionChange is a change (变更): changed fields, the same validity.
	VersionChange = "change"
	// VersionRenewal is a renewal (延续): a new validity, and optionally
	// changed fields.
	VersionRenewal = "renewal"
)

// VersionRequest asks for a new version of a license: same serial, the
// identifier's version segment plus one; the current version becomes
// superseded (已变更).
type VersionRequest struct {
	// Kind is VersionChange or VersionRenewal.
	Kind string `json:"kind"`
	// Holder is the holder's new name (a company renamed); "" keeps it. The
	// holder code never changes: another holder is another license.
	Holder string `json:"holder,omitempty"`
	// Jurisdiction is the new GB/T 2260 code; "" keeps it.
	Jurisdiction string `json:"jurisdiction,omitempty"`
	// Fields are the type-specific fields to set, over the current ones.
	Fields map[string]string `json:"fields,omitempty"`
	// ValidFrom and ValidUntil (YYYY-MM-DD) are a renewal's new validity.
	// The new version supersedes the current one at once, so ValidFrom is
	// today or earlier (default today); ValidUntil defaults to the type's
	// validity from ValidFrom and must be later than the current one. A
	// change keeps the validity.
	ValidFrom  string `json:"validFrom,omitempty"`
	ValidUntil string `json:"validUntil,omitempty"`
	// Note is optional free text kept with the predecessor's status change
	// in the store, never on the ledger.
	Note string `json:"note,omitempty"`
}

// reason is the ledger's reason code for superseding the predecessor.
func (r VersionRequest) reason() string {
	if r.Kind == VersionRenewal {
		return "renewed"
	}
	return "changed"
}

func (r VersionRequest) validate() error {
	switch {
	case r.Kind != VersionChange && r.Kind != VersionRenewal:
		return &license.FieldError{Field: "kind", Rule: "enum", Message: "新版本类型必须是 change（变更）或 renewal（延续）"}
	case r.Kind == VersionChange && (r.ValidFrom != "" || r.ValidUntil != ""):
		return &license.FieldError{Field: "validUntil", Rule: "enum", Message: "变更不改有效期；改有效期请用 renewal（延续）"}
	case r.Kind == VersionChange && r.Holder == "" && r.Jurisdiction == "" && len(r.Fields) == 0:
		return &license.FieldError{Field: "fields", Rule: "required", Message: "变更须至少改一项：持证主体名称、管辖属地或证照字段"}
	case utf8.RuneCountInString(r.Note) > maxNote:
		return &license.FieldError{Field: "note", Rule: "length", Message: fmt.Sprintf("备注最多 %d 个字符", maxNote)}
	case !utf8.ValidString(r.Note) || strings.ContainsFunc(r.Note, isControl):
		return &license.FieldError{Field: "note", Rule: "charset", Message: "备注含有控制字符或无效编码"}
	}
	return nil
}

// VersionConflictError is a new version asked of a license that is not the
// current, active version: superseded (Current names the version to use
// instead), final, or suspended. It wraps ErrConflict.
type VersionConflictError struct {
	Identifier string
	Status     license.Status
	// Current is the identifier of the current version when Status is
	// superseded.
	Current string
}

func (e *VersionConflictError) Error() string {
	switch {
	case e.Status == license.StatusSuperseded:
		return fmt.Sprintf("证照 %s 已变更，以 %s 为准；只能对当前版本制作新版本", e.Identifier, e.Current)
	case e.Status.Final():
		return fmt.Sprintf("证照 %s 当前状态为%s，是最终状态，不能制作新版本", e.Identifier, e.Status.Label())
	default:
		return fmt.Sprintf("证照 %s 当前状态为%s，只有有效的证照才能变更或延续", e.Identifier, e.Status.Label())
	}
}

func (e *VersionConflictError) Unwrap() error { return ErrConflict }

// NewVersion makes a new version of the license id for a change (变更) or a
// renewal (延续): the same serial, the identifier's version plus one, a new
// status-list slot, a ledger anchor naming the predecessor's digest. The
// predecessor becomes superseded on the ledger with the same event and then
// in the store. Only an issuer of the license's department may, and only
// from the current, active version; anything else is a
// *VersionConflictError. Versions of one license are serialized with its
// status changes: of two racing versions one succeeds, the other conflicts.
func (s *Service) NewVersion(ctx context.Context, a Actor, id string, req VersionRequest) (*License, error) {
	dept, err := s.issuingDepartment(a)
	if err != nil {
		return nil, err
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	unlock := s.locks.lock(id)
	defer unlock()
	prev, err := s.store.license(ctx, id)
	if err != nil {
		return nil, err
	}
	if prev.Department != dept.USCC {
		return nil, fmt.Errorf("%w: license %s belongs to department %s", ErrForbidden, id, prev.Department)
	}
	if prev.Status != license.StatusActive {
		return nil, s.versionConflict(ctx, prev)
	}
	typ, err := s.typeFor(dept, prev.TypeCode)
	if err != nil {
		return nil, err
	}
	pid, err := license.ParseIdentifier(id)
	if err != nil {
		return nil, err
	}
	next, err := pid.Next()
	if err != nil {
		return nil, err
	}
	rec, err := s.nextRecord(typ, prev.Record, req)
	if err != nil {
		return nil, err
	}
	if err := typ.ValidateAt(rec, s.now()); err != nil {
		return nil, err
	}
	predHash, err := s.documentHash(ctx, prev)
	if err != nil {
		return nil, err
	}
	key, err := s.activeKey(dept.USCC)
	if err != nil {
		return nil, err
	}
	statusIndex, err := s.allocateSlot(ctx, dept.USCC)
	if err != nil {
		return nil, err
	}
	now := s.now()
	pred := &ledger.Predecessor{Identifier: id, DocumentHash: predHash, Reason: req.reason()}
	// The new version is written ahead: anchored, it supersedes the
	// predecessor, so it must not be lost if the store insert never happens;
	// and the predecessor's intent makes the next open read its status from
	// the ledger if the store update never happens.
	writeAhead := func(lic *License, sealID string, a ledger.Anchor) error {
		return s.store.savePendingVersion(ctx, pendingVersion{
			License: lic, Credential: lic.Credential, SealSignature: lic.SealSignature, SealID: sealID, DocumentHash: a.DocumentHash,
		}, id, now)
	}
	lic, err := s.mint(ctx, mintRequest{dept: dept, key: key, rec: rec, serial: prev.Serial, version: next.Version, statusIndex: statusIndex, predecessor: pred, beforeAnchor: writeAhead})
	if err != nil {
		if errors.Is(err, ledger.ErrDuplicate) || errors.Is(err, ledger.ErrFinal) || errors.Is(err, ledger.ErrInvalidEvent) {
			// The ledger refused it: nothing to recover. Another instance
			// changed it first: take the ledger's word.
			if derr := s.store.dropPendingVersion(ctx, next.String()); derr != nil {
				return nil, derr
			}
			if _, rerr := s.repair(ctx, id); rerr == nil {
				if cur, gerr := s.store.license(ctx, id); gerr == nil && cur.Status != license.StatusActive {
					return nil, s.versionConflict(ctx, cur)
				}
			}
		}
		return nil, err
	}
	if _, err := s.store.writeStatus(ctx, statusWrite{
		ID: id, Status: license.StatusSuperseded, Reason: pred.Reason, Note: req.Note, Actor: a.Name, At: now,
		LogIndex: lic.Receipt.LogIndex, Receipt: &lic.Receipt, Pending: lic.Identifier,
	}); err != nil {
		return nil, fmt.Errorf("registry: store the supersession of %s (on the ledger; repaired at the next start): %w", id, err)
	}
	s.changed()
	s.log.Info("license version made", "id", lic.Identifier, "predecessor", id, "reason", pred.Reason)
	return s.recordLicense(ctx, a, ActionVersion, pred.Reason)(lic, nil)
}

// versionConflict is the conflict for a version asked of lic, which is not
// active.
func (s *Service) versionConflict(ctx context.Context, lic *License) error {
	e := &VersionConflictError{Identifier: lic.Identifier, Status: lic.Status}
	if lic.Status == license.StatusSuperseded {
		e.Current = s.currentVersion(ctx, lic)
	}
	return e
}

// currentVersion follows a superseded license's successors to the latest
// stored version.
func (s *Service) currentVersion(ctx context.Context, lic *License) string {
	cur := lic
	for cur.Status == license.StatusSuperseded && cur.SupersededBy != "" {
		next, err := s.store.license(ctx, cur.SupersededBy)
		if err != nil {
			return cur.SupersededBy
		}
		cur = next
	}
	return cur.Identifier
}

// nextRecord is the record of the version after prev: prev's with the
// request's changes, issued today.
func (s *Service) nextRecord(typ license.Type, prev license.Record, req VersionRequest) (license.Record, error) {
	rec := prev
	rec.Identifier = ""
	rec.TypeVersion = typ.Version // a new version follows the latest type version
	rec.Fields = maps.Clone(prev.Fields)
	if rec.Fields == nil {
		rec.Fields = map[string]string{}
	}
	today := s.now().In(license.ChinaTime).Format(time.DateOnly)
	rec.IssueDate = today
	if req.Holder != "" {
		rec.Holder = req.Holder
	}
	if req.Jurisdiction != "" {
		rec.Jurisdiction = req.Jurisdiction
	}
	maps.Copy(rec.Fields, req.Fields)
	if req.Kind == VersionRenewal {
		if prev.ValidUntil == "" {
			return license.Record{}, &license.FieldError{Field: "validUntil", Rule: "range", Message: "证照有效期为长期，无需延续"}
		}
		rec.ValidFrom, rec.ValidUntil = req.ValidFrom, req.ValidUntil
		if rec.ValidFrom == "" {
			rec.ValidFrom = today
		}
		if rec.ValidFrom > today {
			// The new version supersedes the current one at once: a later
			// start would leave the holder without a valid license.
			return license.Record{}, &license.FieldError{Field: "validFrom", Rule: "range", Message: fmt.Sprintf("新版本立即取代当前版本，有效期自不能晚于今天（%s）", today)}
		}
		if rec.ValidUntil == "" && typ.ValidityYears > 0 {
			if from, err := time.Parse(time.DateOnly, rec.ValidFrom); err == nil {
				rec.ValidUntil = from.AddDate(typ.ValidityYears, 0, -1).Format(time.DateOnly)
			}
		}
		if rec.ValidUntil != "" && rec.ValidUntil <= prev.ValidUntil {
			return license.Record{}, &license.FieldError{Field: "validUntil", Rule: "range",
				Message: fmt.Sprintf("延续后的有效期至 %s 须晚于当前有效期至 %s", rec.ValidUntil, prev.ValidUntil)}
		}
		return rec, nil
	}
	if rec.Holder == prev.Holder && rec.Jurisdiction == prev.Jurisdiction && maps.Equal(rec.Fields, prev.Fields) {
		return license.Record{}, &license.FieldError{Field: "fields", Rule: "unchanged", Message: "变更内容与当前版本相同"}
	}
	return rec, nil
}

// documentHash is the document hash the ledger holds for a stored license
// (its anchor entry), which a new version must name.
func (s *Service) documentHash(ctx context.Context, lic *License) ([]byte, error) {
	e, err := ledger.DecodeEntry(lic.Receipt.Entry)
	if err != nil {
		return nil, fmt.Errorf("registry: anchor receipt of %s: %w", lic.Identifier, err)
	}
	if e.Anchor == nil || e.Anchor.Identifier != lic.Identifier {
		return nil, fmt.Errorf("registry: anchor receipt of %s names another license", lic.Identifier)
	}
	return e.Anchor.DocumentHash, nil
}

// pendingVersion is a new version as minted, kept until it is stored: if
// the registry stops between anchoring it and storing it, the next open
// stores it from here with a receipt from the ledger.
type pendingVersion struct {
	License       *License `json:"license"`
	Credential    []byte   `json:"credential"`
	SealSignature []byte   `json:"seal_signature"`
	SealID        string   `json:"seal_id"`
	// DocumentHash is the anchor's, to recognise it on the ledger.
	DocumentHash []byte `json:"document_hash"`
}

// recoverVersions stores every version written ahead whose anchor is on
// the ledger (with a receipt against the ledger's checkpoint) and forgets
// the ones the ledger never got. It runs at open, before reconciliation
// brings the predecessors' statuses in line.
func (s *Service) recoverVersions(ctx context.Context) error {
	pending, err := s.store.pendingVersions(ctx)
	if err != nil || len(pending) == 0 {
		return err
	}
	for _, p := range pending {
		id := p.License.Identifier
		if _, err := s.store.license(ctx, id); err == nil {
			if err := s.store.dropPendingVersion(ctx, id); err != nil {
				return err
			}
			continue
		}
		st, err := s.ledger.License(ctx, id)
		if errors.Is(err, ledger.ErrNotFound) {
			s.log.Warn("version never anchored: dropped", "id", id)
			if err := s.store.dropPendingVersion(ctx, id); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("registry: recover version %s: %w", id, err)
		}
		if !bytes.Equal(st.Anchor.DocumentHash, p.DocumentHash) {
			// Another instance's version of the same license won the race;
			// this one was never anchored.
			s.log.Warn("version lost a race to another on the ledger: dropped", "id", id)
			if err := s.store.dropPendingVersion(ctx, id); err != nil {
				return err
			}
			continue
		}
		rcpt, err := s.receiptOf(ctx, st)
		if err != nil {
			return fmt.Errorf("registry: recover version %s: %w", id, err)
		}
		p.License.Receipt = rcpt
		sealDER, err := s.store.sealDER(p.SealID)
		if err != nil {
			return fmt.Errorf("registry: recover version %s: %w", id, err)
		}
		if err := s.store.insertLicense(ctx, p.License, p.SealID, sealDER); err != nil {
			return fmt.Errorf("registry: recover version %s: %w", id, err)
		}
		if err := s.store.dropPendingVersion(ctx, id); err != nil {
			return err
		}
		s.changed()
		s.log.Warn("version stored from the write-ahead record", "id", id, "log_index", rcpt.LogIndex)
	}
	return nil
}

// receiptOf rebuilds the receipt of a license's anchor from the ledger:
// its entry, and an inclusion proof against the current checkpoint,
// checked before it is handed out.
func (s *Service) receiptOf(ctx context.Context, st *ledger.LicenseState) (ledger.Receipt, error) {
	a := st.Anchor
	entry, err := ledger.Event{V: ledger.EventVersion, Kind: ledger.KindLicenseAnchored, At: st.AnchoredAt, Anchor: &a}.Canonical()
	if err != nil {
		return ledger.Receipt{}, err
	}
	cp, err := s.ledger.Checkpoint(ctx)
	if err != nil {
		return ledger.Receipt{}, err
	}
	proof, err := s.ledger.InclusionProof(ctx, st.LogIndex, cp.Size)
	if err != nil {
		return ledger.Receipt{}, err
	}
	if err := tlog.VerifyInclusion(entry, st.LogIndex, cp.Size, proof, cp.Root); err != nil {
		return ledger.Receipt{}, fmt.Errorf("rebuilt anchor entry is not the ledger's: %w", err)
	}
	return ledger.Receipt{Entry: entry, LogIndex: st.LogIndex, TreeSize: cp.Size, InclusionProof: proof, Checkpoint: cp.Note}, nil
}
