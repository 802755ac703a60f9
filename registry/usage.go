package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"zhengzhao/license"
)

// How a license was used.
const (
	UseByCode   = "use_code" // a holder's use code was redeemed
	UseByDuty   = "duty"     // looked up by duty (依职能用证)
	UseByVerify = "verify"   // the holder showed it (QR, PDF, file) and it was verified
	UseByLive   = "live"     // the holder showed a live code (亮证码); accepted or refused
)

// UsageRecord is one use of a license (用证记录): who, which hall, which
// purpose, when.
type UsageRecord struct {
	ID          int64     `json:"id"`           // store id
	Identifier  string    `json:"identifier"`   // the license used
	TypeCode    string    `json:"type"`         // its type
	Department  string    `json:"department"`   // its issuing department (USCC)
	Mode        string    `json:"mode"`         // UseByCode, UseByDuty or UseByVerify
	Actor       string    `json:"actor"`        // who used it: the clerk's name and user name
	Hall        string    `json:"hall"`         // the clerk's service hall
	Purpose     string    `json:"purpose"`      // 用证事由
	ServiceItem string    `json:"service_item"` // the service item code
	Verdict     string    `json:"verdict"`      // the license's status or verification verdict then
	At          time.Time `json:"at"`           // when
}

// UseRequest is one use of a license that window staff record.
type UseRequest struct {
	// License is the license used.
	License *License
	// Mode is how: UseByCode, UseByDuty or UseByVerify.
	Mode string
	// Purpose is the 用证事由 (required); ServiceItem the service item code.
	Purpose, ServiceItem string
	// Verdict is the license's status or the verification verdict then.
	Verdict string
}

// RecordUse records that window staff used a license. Redeeming a use code
// and looking up by duty record their uses themselves; the window verify
// page calls it for a license the holder showed.
func (s *Service) RecordUse(ctx context.Context, a Actor, u UseRequest) error {
	if a.Role != RoleVerifier {
		return fmt.Errorf("%w: only window staff record uses", ErrForbidden)
	}
	if err := validPurpose(u.Purpose); err != nil {
		return err
	}
	return s.insertUse(ctx, a, u.License, u.Mode, u.Purpose, u.ServiceItem, u.Verdict)
}

// RecordLiveUse records the verification of a live code (亮证码) of lic,
// whether it was accepted or refused; verdict is the verification verdict or
// the refusal's reason. Window staff, officers and the platform admin may
// verify over the API, which need not name a purpose or a service item; when
// they are given they must be valid.
func (s *Service) RecordLiveUse(ctx context.Context, a Actor, lic *License, purpose, serviceItem, verdict string) error {
	switch a.Role {
	case RoleVerifier, RoleIssuer, RoleAdmin:
	default:
		return fmt.Errorf("%w: only window staff, officers and the admin verify live codes", ErrForbidden)
	}
	var errs []error
	if strings.TrimSpace(purpose) != "" {
		errs = append(errs, validPurpose(purpose))
	}
	if _, ok := s.ServiceItem(serviceItem); serviceItem != "" && !ok {
		errs = append(errs, &license.FieldError{Field: "service_item", Rule: "unknown", Message: fmt.Sprintf("办理事项 %s 不在用证清单中", serviceItem)})
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return s.insertUse(ctx, a, lic, UseByLive, purpose, serviceItem, verdict)
}

func (s *Service) insertUse(ctx context.Context, a Actor, lic *License, mode, purpose, serviceItem, verdict string) error {
	row := &usageRow{HolderCode: lic.Record.HolderCode, UsageRecord: UsageRecord{
		Identifier: lic.Identifier, Department: lic.Department, TypeCode: lic.TypeCode, Mode: mode, Actor: a.Name, Hall: a.Hall,
		Purpose: strings.TrimSpace(purpose), ServiceItem: serviceItem, Verdict: verdict, At: s.now(),
	}}
	// The usage row (the reports count it) and the use's record are
	// written in one transaction of the record log.
	rec := Record{Action: useActions[mode], Purpose: purpose, ServiceItem: serviceItem,
		License: lic.Identifier, Holder: lic.Record.HolderCode, Result: verdict}
	if reason, ok := strings.CutPrefix(verdict, "refused:"); ok {
		rec.Action, rec.Result, rec.Reason = ActionUseRefused, "refused", reason
	}
	if _, err := s.appendRecord(ctx, a, rec, row); err != nil {
		return fmt.Errorf("registry: record use: %w", err)
	}
	return nil
}

// useActions maps the ways a license is used to record actions.
var useActions = map[string]string{
	UseByCode:   ActionUseRedeem,
	UseByDuty:   ActionUseDuty,
	UseByVerify: ActionUseWindow,
	UseByLive:   ActionUseLive,
}

// UsageRecords returns every use of the holder's licenses, newest first.
func (s *Service) UsageRecords(ctx context.Context, a Actor) ([]UsageRecord, error) {
	if a.Role != RoleHolder || a.HolderCode == "" {
		return nil, fmt.Errorf("%w: only a holder reads their usage record", ErrForbidden)
	}
	return s.store.usageRecords(ctx, a.HolderCode)
}

// ReportRow is one line of the 台账: what happened to one department's
// licenses of one type on one day (China time).
type ReportRow struct {
	Day        string `json:"day"` // YYYY-MM-DD
	Department string `json:"department"`
	TypeCode   string `json:"type"`
	Issued     int    `json:"issued"`
	Changed    int    `json:"changed"` // suspended or resumed
	Revoked    int    `json:"revoked"`
	Verified   int    `json:"verified"` // uses at a window
}

// Report counts issued, changed, revoked and verified licenses per day,
// department and type for the days from..to (inclusive, China time). The
// platform admin sees every department, an officer only their own.
func (s *Service) Report(ctx context.Context, a Actor, from, to time.Time) ([]ReportRow, error) {
	dept := ""
	switch a.Role {
	case RoleAdmin:
	case RoleIssuer:
		dept = a.Department
	default:
		return nil, fmt.Errorf("%w: reports are for the platform admin and officers", ErrForbidden)
	}
	lo := time.Date(from.In(license.ChinaTime).Year(), from.In(license.ChinaTime).Month(), from.In(license.ChinaTime).Day(), 0, 0, 0, 0, license.ChinaTime)
	hi := time.Date(to.In(license.ChinaTime).Year(), to.In(license.ChinaTime).Month(), to.In(license.ChinaTime).Day(), 0, 0, 0, 0, license.ChinaTime).AddDate(0, 0, 1)
	return s.store.report(ctx, lo, hi, dept)
}
