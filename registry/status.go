package registry

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
	"unicode/utf8"

	"zhengzhao/ledger"
	"zhengzhao/license"
)

// StatusRequest asks for a license's status to change.
type StatusRequest struct {
	// Status is the new status: active (resume), suspended, cancelled,
	// revoked or withdrawn. Superseded comes only with a new version.
	Status license.Status `json:"status"`
	// Reason is a code of license.Reasons; only it goes on the ledger.
	Reason string `json:"reason"`
	// Note is optional free text for the department's own record. It stays
	// in the registry store: never on the ledger, in a bundle or a list.
	Note string `json:"note,omitempty"`
}

// maxNote bounds a status note, in characters.
const maxNote = 500

// StatusConflictError is a status change that cannot be made from the
// license's current status (final, the same, or changed meanwhile by a
// concurrent request). It wraps ErrConflict.
type StatusConflictError struct {
	Identifier string
	Current    license.Status
	Wanted     license.Status
}

func (e *StatusConflictError) Error() string {
	if e.Current == e.Wanted {
		return fmt.Sprintf("证照 %s 已是%s状态", e.Identifier, e.Current.Label())
	}
	if e.Current.Final() {
		return fmt.Sprintf("证照 %s 当前状态为%s，是最终状态，不能再改为%s", e.Identifier, e.Current.Label(), e.Wanted.Label())
	}
	return fmt.Sprintf("证照 %s 当前状态为%s，不能改为%s", e.Identifier, e.Current.Label(), e.Wanted.Label())
}

func (e *StatusConflictError) Unwrap() error { return ErrConflict }

// licenseLocks serializes status changes of one license in this process
// (striped: two licenses may share a stripe, never one license two). Across
// processes the ledger orders the changes and the store follows its order.
type licenseLocks struct {
	seed    maphash.Seed
	stripes [256]sync.Mutex
}

func (l *licenseLocks) lock(id string) func() {
	m := &l.stripes[maphash.String(l.seed, id)%uint64(len(l.stripes))]
	m.Lock()
	return m.Unlock
}

func (r StatusRequest) validate() error {
	switch {
	case !r.Status.Valid():
		return &license.FieldError{Field: "status", Rule: "enum", Message: "状态必须是 active、suspended、cancelled、revoked 或 withdrawn 之一"}
	case r.Status == license.StatusSuperseded:
		return &license.FieldError{Field: "status", Rule: "enum", Message: "已变更状态只能通过制作新版本产生"}
	case utf8.RuneCountInString(r.Note) > maxNote:
		return &license.FieldError{Field: "note", Rule: "length", Message: fmt.Sprintf("备注最多 %d 个字符", maxNote)}
	case !utf8.ValidString(r.Note) || strings.ContainsFunc(r.Note, isControl):
		return &license.FieldError{Field: "note", Rule: "charset", Message: "备注含有控制字符或无效编码"}
	}
	return license.CheckStatusReason(r.Status, r.Reason)
}

func isControl(r rune) bool { return (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f }

// SetStatus changes a license's status. Only an issuer of the license's own
// department may. Changes of one license are serialized; the ledger is
// written first and is the truth, the store follows it. A change the
// current status does not allow — including one that lost a race to a
// concurrent change — gets a *StatusConflictError naming the current status.
func (s *Service) SetStatus(ctx context.Context, a Actor, id string, req StatusRequest) (*License, error) {
	if a.Role != RoleIssuer {
		return nil, fmt.Errorf("%w: role %q may not change a license's status", ErrForbidden, a.Role)
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	unlock := s.locks.lock(id)
	defer unlock()
	lic, err := s.store.license(ctx, id)
	if err != nil {
		return nil, err
	}
	if lic.Department != a.Department {
		return nil, fmt.Errorf("%w: license %s belongs to department %s", ErrForbidden, id, lic.Department)
	}
	if lic.Status.Final() || lic.Status == req.Status {
		return nil, &StatusConflictError{Identifier: id, Current: lic.Status, Wanted: req.Status}
	}
	now := s.now()
	if err := s.store.markIntent(ctx, id, now); err != nil {
		return nil, err
	}
	rcpt, err := s.ledger.SetStatus(ctx, ledger.StatusChange{Identifier: id, Issuer: lic.Department, Status: req.Status, Reason: req.Reason})
	if err != nil {
		if errors.Is(err, ledger.ErrFinal) || errors.Is(err, ledger.ErrInvalidEvent) {
			// Another instance changed it first: take the ledger's word.
			if cur, rerr := s.repair(ctx, id); rerr == nil {
				return nil, &StatusConflictError{Identifier: id, Current: cur, Wanted: req.Status}
			}
		}
		// The intent stays when the outcome is unknown (unavailable): the
		// next reconciliation reads the ledger's answer.
		return nil, fmt.Errorf("registry: anchor status of %s: %w", id, err)
	}
	if _, err := s.store.writeStatus(ctx, statusWrite{
		ID: id, Status: req.Status, Reason: req.Reason, Note: req.Note, Actor: a.Name, At: now,
		LogIndex: rcpt.LogIndex, Receipt: &rcpt,
	}); err != nil {
		return nil, fmt.Errorf("registry: store status of %s (on the ledger; repaired at the next start): %w", id, err)
	}
	s.changed()
	s.log.Info("license status changed", "id", id, "status", req.Status, "reason", req.Reason)
	return s.recordLicense(ctx, a, ActionStatus, req.Reason)(s.store.license(ctx, id))
}

// repair sets the store's status of id to the ledger's and returns it.
func (s *Service) repair(ctx context.Context, id string) (license.Status, error) {
	st, err := s.ledger.License(ctx, id)
	if err != nil {
		return "", err
	}
	last := st.History[len(st.History)-1]
	changed, err := s.store.writeStatus(ctx, statusWrite{
		ID: id, Status: st.Status, Reason: st.Reason, Actor: "ledger", At: last.At, LogIndex: last.LogIndex,
	})
	if err != nil {
		return "", err
	}
	if changed {
		s.changed()
	}
	return st.Status, nil
}

// ReconcileReport counts what a reconciliation of the store with the
// ledger found.
type ReconcileReport struct {
	Checked  int // licenses compared
	Repaired int // store statuses set to the ledger's
	Missing  int // stored licenses the ledger does not have
}

// Reconcile compares the store's statuses with the ledger's and repairs
// the store where they differ: always for the changes a crash left
// unfinished, and for every stored license when full is set.
func (s *Service) Reconcile(ctx context.Context, full bool) (ReconcileReport, error) {
	var rep ReconcileReport
	ids, err := s.store.intents(ctx)
	if err != nil {
		return rep, err
	}
	check := func(id string) error {
		rep.Checked++
		st, err := s.ledger.License(ctx, id)
		if errors.Is(err, ledger.ErrNotFound) {
			rep.Missing++
			return s.store.clearIntent(ctx, id)
		}
		if err != nil {
			return err
		}
		cur, reason, _, err := s.store.statusOf(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return s.store.clearIntent(ctx, id)
		}
		if err != nil {
			return err
		}
		if cur == st.Status && reason == st.Reason {
			return s.store.clearIntent(ctx, id)
		}
		last := st.History[len(st.History)-1]
		changed, err := s.store.writeStatus(ctx, statusWrite{
			ID: id, Status: st.Status, Reason: st.Reason, Actor: "ledger", At: last.At, LogIndex: last.LogIndex,
		})
		if changed {
			rep.Repaired++
			s.log.Warn("store status repaired from the ledger", "id", id, "store", cur, "ledger", st.Status)
		}
		return err
	}
	for _, id := range ids {
		if err := check(id); err != nil {
			return rep, fmt.Errorf("registry: reconcile %s: %w", id, err)
		}
	}
	if full {
		for after := ""; ; {
			page, err := s.store.licenseIDs(ctx, after, 1000)
			if err != nil {
				return rep, err
			}
			if len(page) == 0 {
				break
			}
			for _, id := range page {
				if err := check(id); err != nil {
					return rep, fmt.Errorf("registry: reconcile %s: %w", id, err)
				}
			}
			after = page[len(page)-1]
		}
		if err := s.store.setMeta(ctx, metaReconciled, "1"); err != nil {
			return rep, err
		}
	}
	if rep.Repaired > 0 {
		s.changed()
	}
	return rep, nil
}
