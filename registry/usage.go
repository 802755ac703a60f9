package registry

import (
	"context"
	"database/sql"
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

// RecordUse records that window staff used a license. Redeeming a use code
// and looking up by duty record their uses themselves; the window verify
// page calls it for a license the holder showed.
func (s *Service) RecordUse(ctx context.Context, a Actor, lic *License, mode, purpose, serviceItem, verdict string) error {
	if a.Role != RoleVerifier {
		return fmt.Errorf("%w: only window staff record uses", ErrForbidden)
	}
	if err := validPurpose(purpose); err != nil {
		return err
	}
	return s.insertUse(ctx, a, lic, mode, purpose, serviceItem, verdict)
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
		errs = append(errs, &license.FieldError{Field: "service_item", Rule: "unknown", Message: fmt.Sprintf("unknown service item %q", serviceItem)})
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return s.insertUse(ctx, a, lic, UseByLive, purpose, serviceItem, verdict)
}

// insertUse writes the usage row (the reports count it) and the use's
// record in one transaction of the record log.
func (s *Service) insertUse(ctx context.Context, a Actor, lic *License, mode, purpose, serviceItem, verdict string) error {
	at := sortableTime(s.now())
	usageRow := func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO usage (identifier, holder_code, uscc, type_code, mode, actor, hall, purpose, service_item, verdict, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, lic.Identifier, lic.Record.HolderCode, lic.Department, lic.TypeCode,
			mode, a.Name, a.Hall, strings.TrimSpace(purpose), serviceItem, verdict, at)
		if err != nil {
			return fmt.Errorf("registry: record use: %w", err)
		}
		return nil
	}
	_, err := s.appendRecord(ctx, a, Record{Action: useActions[mode], Purpose: purpose, ServiceItem: serviceItem,
		License: lic.Identifier, Holder: lic.Record.HolderCode, Result: verdict}, usageRow)
	return err
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
	rows, err := s.store.db.QueryContext(ctx, `SELECT id, identifier, type_code, uscc, mode, actor, hall, purpose, service_item, verdict, at
		FROM usage WHERE holder_code = ? ORDER BY at DESC, id DESC LIMIT 1000`, a.HolderCode)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []UsageRecord
	for rows.Next() {
		var u UsageRecord
		var at string
		if err := rows.Scan(&u.ID, &u.Identifier, &u.TypeCode, &u.Department, &u.Mode, &u.Actor, &u.Hall, &u.Purpose, &u.ServiceItem, &u.Verdict, &at); err != nil {
			return nil, err
		}
		u.At = parseTime(at)
		out = append(out, u)
	}
	return out, rows.Err()
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
	// Times are stored in UTC; a day is China time (+8h).
	q := `SELECT day, uscc, type_code, SUM(issued), SUM(changed), SUM(revoked), SUM(verified) FROM (
		SELECT date(issued_at, '+8 hours') AS day, uscc, type_code, 1 AS issued, 0 AS changed, 0 AS revoked, 0 AS verified
			FROM licenses WHERE julianday(issued_at) >= julianday(?1) AND julianday(issued_at) < julianday(?2)
		UNION ALL
		SELECT date(e.at, '+8 hours'), l.uscc, l.type_code, 0, CASE WHEN e.status = 'revoked' THEN 0 ELSE 1 END, CASE WHEN e.status = 'revoked' THEN 1 ELSE 0 END, 0
			FROM status_events e JOIN licenses l ON l.identifier = e.identifier
			WHERE julianday(e.at) >= julianday(?1) AND julianday(e.at) < julianday(?2)
		UNION ALL
		SELECT date(at, '+8 hours'), uscc, type_code, 0, 0, 0, 1
			FROM usage WHERE julianday(at) >= julianday(?1) AND julianday(at) < julianday(?2)
	) WHERE (?3 = '' OR uscc = ?3) GROUP BY day, uscc, type_code ORDER BY day, uscc, type_code`
	rows, err := s.store.db.QueryContext(ctx, q, sortableTime(lo), sortableTime(hi), dept)
	if err != nil {
		return nil, fmt.Errorf("registry: report: %w", err)
	}
	defer rows.Close()
	var out []ReportRow
	for rows.Next() {
		var r ReportRow
		if err := rows.Scan(&r.Day, &r.Department, &r.TypeCode, &r.Issued, &r.Changed, &r.Revoked, &r.Verified); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
