package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Store: use codes.

func (s *store) insertUseCode(ctx context.Context, hash, holder string, u *UseCode) error {
	fields, err := json.Marshal(u.Fields)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO use_codes (hash, id, identifier, holder_code, fields, purpose, service_item, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, hash, u.ID, u.Identifier, holder, string(fields), u.Purpose, u.ServiceItem,
		sortableTime(u.CreatedAt), sortableTime(u.ExpiresAt))
	return err
}

const useCodeColumns = `id, identifier, fields, purpose, service_item, created_at, expires_at, used_at, COALESCE(used_by, ''), revoked_at, holder_code`

func scanUseCode(row interface{ Scan(...any) error }) (*UseCode, string, error) {
	var u UseCode
	var fields, created, expires, holder string
	var used, revoked sql.NullString
	if err := row.Scan(&u.ID, &u.Identifier, &fields, &u.Purpose, &u.ServiceItem, &created, &expires, &used, &u.UsedBy, &revoked, &holder); err != nil {
		return nil, "", err
	}
	if err := json.Unmarshal([]byte(fields), &u.Fields); err != nil {
		return nil, "", err
	}
	u.CreatedAt, u.ExpiresAt = parseTime(created), parseTime(expires)
	if used.Valid {
		t := parseTime(used.String)
		u.UsedAt = &t
	}
	if revoked.Valid {
		t := parseTime(revoked.String)
		u.RevokedAt = &t
	}
	return &u, holder, nil
}

func (s *store) useCodeByHash(ctx context.Context, hash string) (*UseCode, string, error) {
	u, holder, err := scanUseCode(s.db.QueryRowContext(ctx, `SELECT `+useCodeColumns+` FROM use_codes WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", ErrNotFound
	}
	return u, holder, err
}

func (s *store) useCodes(ctx context.Context, holder string) ([]*UseCode, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+useCodeColumns+` FROM use_codes WHERE holder_code = ? ORDER BY created_at DESC LIMIT 200`, holder)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*UseCode
	for rows.Next() {
		u, _, err := scanUseCode(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// spendUseCode marks a code used if it still is usable; false when another
// redemption got there first.
func (s *store) spendUseCode(ctx context.Context, hash, by string, at time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE use_codes SET used_at = ?, used_by = ?
		WHERE hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?`, sortableTime(at), by, hash, sortableTime(at))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *store) revokeUseCode(ctx context.Context, holder, id string, at time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE use_codes SET revoked_at = ? WHERE id = ? AND holder_code = ? AND used_at IS NULL AND revoked_at IS NULL`,
		sortableTime(at), id, holder)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// usageRow is a use as stored: the record and the holder it belongs to.
type usageRow struct {
	UsageRecord
	HolderCode string
}

func (s *store) insertUse(ctx context.Context, u usageRow) error {
	return insertUsageRow(ctx, s.db, u)
}

// usageRecords returns the holder's last 1,000 uses, newest first.
func (s *store) usageRecords(ctx context.Context, holder string) ([]UsageRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, identifier, type_code, uscc, mode, actor, hall, purpose, service_item, verdict, at
		FROM usage WHERE holder_code = ? ORDER BY at DESC, id DESC LIMIT 1000`, holder)
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

// report counts issues, changes, revocations and uses per China-time day,
// department (all when dept is empty) and type, for lo <= time < hi.
func (s *store) report(ctx context.Context, lo, hi time.Time, dept string) ([]ReportRow, error) {
	d := s.db.d
	// Stored times are fixed-width UTC text, so they compare as text.
	q := `SELECT day, uscc, type_code, SUM(issued), SUM(changed), SUM(revoked), SUM(verified) FROM (
		SELECT ` + d.chinaDay("issued_at") + ` AS day, uscc, type_code, 1 AS issued, 0 AS changed, 0 AS revoked, 0 AS verified
			FROM licenses WHERE issued_at >= ? AND issued_at < ? AND (? = '' OR uscc = ?)
		UNION ALL
		SELECT ` + d.chinaDay("e.at") + `, l.uscc, l.type_code, 0, CASE WHEN e.status = 'revoked' THEN 0 ELSE 1 END, CASE WHEN e.status = 'revoked' THEN 1 ELSE 0 END, 0
			FROM status_events e JOIN licenses l ON l.identifier = e.identifier
			WHERE e.at >= ? AND e.at < ? AND (? = '' OR l.uscc = ?)
		UNION ALL
		SELECT ` + d.chinaDay("at") + `, uscc, type_code, 0, 0, 0, 1
			FROM usage WHERE at >= ? AND at < ? AND (? = '' OR uscc = ?)
	) days GROUP BY day, uscc, type_code ORDER BY day, uscc, type_code`
	l, h := sortableTime(lo), sortableTime(hi)
	rows, err := s.db.QueryContext(ctx, q, l, h, dept, dept, l, h, dept, dept, l, h, dept, dept)
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
