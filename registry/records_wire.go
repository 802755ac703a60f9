package registry

import (
	"context"
	"errors"
	"strconv"
	"strings"
)

// This file connects the service's actions to the record log: each action
// that happened is recorded with its actor (records.go).

// recordLicense returns a function that passes (lic, err) through and, when
// err is nil, records action on lic. Call sites wrap their return:
//
//	return s.recordLicense(ctx, a, ActionIssue, "")(s.mint(ctx, m))
func (s *Service) recordLicense(ctx context.Context, a Actor, action, reason string) func(*License, error) (*License, error) {
	return func(lic *License, err error) (*License, error) {
		if err == nil && lic != nil {
			s.recordDone(ctx, a, action, lic, string(lic.Status), reason)
		}
		return lic, err
	}
}

// recordDepartment is recordLicense for department, key and seal actions;
// what names the key or seal (its id) and goes in the record's reason.
func (s *Service) recordDepartment(ctx context.Context, a Actor, action, what string) func(*Department, error) (*Department, error) {
	return func(d *Department, err error) (*Department, error) {
		if err == nil && d != nil {
			if what == "" {
				what = d.USCC
			} else {
				what = d.USCC + " " + what
			}
			s.recordDone(ctx, a, action, nil, "ok", what)
		}
		return d, err
	}
}

// RecordAPIVerify records that an account verified a license over the API
// (POST /api/v1/verify): the license's holder sees it in their 用证记录 when
// the license is one of this registry's. purpose and serviceItem are what
// the caller gave, if anything.
func (s *Service) RecordAPIVerify(ctx context.Context, a Actor, identifier, purpose, serviceItem, verdict string) error {
	rec := Record{Action: ActionUseAPI, Purpose: purpose, ServiceItem: serviceItem, License: identifier, Result: verdict}
	if identifier != "" {
		if lic, err := s.store.license(ctx, identifier); err == nil {
			rec.Holder = lic.Record.HolderCode
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	_, err := s.AppendRecord(ctx, a, rec)
	return err
}

// RefusedUse is an attempt to use a license that was refused.
type RefusedUse struct {
	License     *License // the license the attempt named, when known
	Purpose     string
	ServiceItem string
	Reason      string // a stable English code, such as a UseCodeError reason
}

// RecordRefusedUse records a refused attempt; the holder of the license it
// named sees it. A failure to record is logged, the refusal stands.
func (s *Service) RecordRefusedUse(ctx context.Context, a Actor, r RefusedUse) {
	rec := Record{Action: ActionUseRefused, Purpose: r.Purpose, ServiceItem: r.ServiceItem, Result: "refused", Reason: r.Reason}
	if r.License != nil {
		rec.License, rec.Holder = r.License.Identifier, r.License.Record.HolderCode
	}
	if _, err := s.AppendRecord(context.WithoutCancel(ctx), a, rec); err != nil {
		s.log.Error("recording a refused use failed", "err", err)
	}
}

// CreateAccount creates an account (Directory.CreateAccount) and records it.
func (s *Service) CreateAccount(ctx context.Context, by Actor, n NewAccount) (*Account, error) {
	acc, err := s.Directory.CreateAccount(ctx, by, n)
	if err == nil {
		s.recordDone(ctx, by, ActionAccountNew, nil, "ok", accountWhat(acc))
	}
	return acc, err
}

// SetAccountDisabled disables or enables an account
// (Directory.SetAccountDisabled) and records it.
func (s *Service) SetAccountDisabled(ctx context.Context, by Actor, id int64, disabled bool) (*Account, error) {
	acc, err := s.Directory.SetAccountDisabled(ctx, by, id, disabled)
	if err == nil {
		action := ActionAccountOn
		if disabled {
			action = ActionAccountOff
		}
		s.recordDone(ctx, by, action, nil, "ok", accountWhat(acc))
	}
	return acc, err
}

// ResetPassword sets an account's password (Directory.ResetPassword) and
// records it (never the password).
func (s *Service) ResetPassword(ctx context.Context, by Actor, username, password string) (*Account, error) {
	acc, err := s.Directory.ResetPassword(ctx, by, username, password)
	if err == nil {
		s.recordDone(ctx, by, ActionAccountReset, nil, "ok", accountWhat(acc))
	}
	return acc, err
}

// accountWhat names an account in a record's reason: id, user name, role.
func accountWhat(a *Account) string {
	if a == nil {
		return ""
	}
	return strings.Join([]string{"account", strconv.FormatInt(a.ID, 10), a.Username, string(a.Role)}, " ")
}

// AddToken makes an API token (Directory.AddToken) and records it (never
// the secret).
func (s *Service) AddToken(ctx context.Context, by Actor, n NewToken) (string, *Token, error) {
	secret, t, err := s.Directory.AddToken(ctx, by, n)
	if err == nil {
		s.recordDone(ctx, by, ActionTokenNew, nil, "ok", tokenWhat(t))
	}
	return secret, t, err
}

// RevokeToken revokes an API token (Directory.RevokeToken) and records it.
func (s *Service) RevokeToken(ctx context.Context, by Actor, id string) (*Token, error) {
	t, err := s.Directory.RevokeToken(ctx, by, id)
	if err == nil {
		s.recordDone(ctx, by, ActionTokenRevoke, nil, "ok", tokenWhat(t))
	}
	return t, err
}

func tokenWhat(t *Token) string {
	if t == nil {
		return ""
	}
	return strings.Join([]string{"token", t.ID, t.Name, string(t.Role)}, " ")
}

// recordMinted records the licenses a batch issued (its rows without an
// error) together.
func (s *Service) recordMinted(ctx context.Context, a Actor, rows []*batchRow) {
	lics := make([]*License, 0, len(rows))
	for _, r := range rows {
		if r.err == nil && r.m != nil && r.m.lic != nil {
			lics = append(lics, r.m.lic)
		}
	}
	if len(lics) > 0 {
		s.RecordLicenses(ctx, a, ActionIssue, lics)
	}
}
