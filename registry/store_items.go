package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"zhengzhao/license"
)

// itemsSchema holds the 用证清单: every version of every service item, and
// the items each service hall handles. Portable SQL; applied with the core
// schema on every open, every statement idempotent. Lookups by duty are
// counted in attempt_failures (key "duty:<clerk>").
const itemsSchema = `
CREATE TABLE IF NOT EXISTS service_items (
	code       TEXT NOT NULL,           -- 事项编码
	version    INTEGER NOT NULL,        -- 1, 2, …; the highest is current
	name       TEXT NOT NULL,
	licenses   TEXT NOT NULL,           -- JSON [{"type": code, "fields": [key, …]}, …]
	created_at TEXT NOT NULL,
	created_by TEXT NOT NULL,
	PRIMARY KEY (code, version)
);
CREATE TABLE IF NOT EXISTS service_halls (
	name       TEXT PRIMARY KEY,        -- as in accounts.hall
	items      TEXT NOT NULL,           -- JSON array of service item codes
	updated_at TEXT NOT NULL,
	updated_by TEXT NOT NULL
);
`

// seedServiceItems stores the default service items as version 1 of their
// codes (the migration that made the tables runs it once).
func seedServiceItems(ctx context.Context, tx sqlTx) error {
	for _, it := range seededServiceItems(license.DefaultCatalog(), time.Now()) {
		lic, err := json.Marshal(it.Licenses)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO service_items (code, version, name, licenses, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (code, version) DO NOTHING`, it.Code, it.Version, it.Name, string(lic), sortableTime(it.CreatedAt), it.CreatedBy); err != nil {
			return fmt.Errorf("registry: seed service item %s: %w", it.Code, err)
		}
	}
	return nil
}

const serviceItemColumns = `code, version, name, licenses, created_at, created_by`

func scanServiceItem(row interface{ Scan(...any) error }) (ServiceItem, error) {
	var it ServiceItem
	var lic, created string
	if err := row.Scan(&it.Code, &it.Version, &it.Name, &lic, &created, &it.CreatedBy); err != nil {
		return ServiceItem{}, err
	}
	if err := json.Unmarshal([]byte(lic), &it.Licenses); err != nil {
		return ServiceItem{}, fmt.Errorf("registry: service item %s version %d: %w", it.Code, it.Version, err)
	}
	it.CreatedAt = parseTime(created)
	return it, nil
}

// insertServiceItem stores one version; false when that code and version
// are already there.
func (s *store) insertServiceItem(ctx context.Context, it ServiceItem) (bool, error) {
	lic, err := json.Marshal(it.Licenses)
	if err != nil {
		return false, err
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO service_items (code, version, name, licenses, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (code, version) DO NOTHING`, it.Code, it.Version, it.Name, string(lic), sortableTime(it.CreatedAt), it.CreatedBy)
	if err != nil {
		return false, fmt.Errorf("registry: store service item: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// serviceItem returns the current version of code, or ErrNotFound.
func (s *store) serviceItem(ctx context.Context, code string) (ServiceItem, error) {
	it, err := scanServiceItem(s.db.QueryRowContext(ctx, `SELECT `+serviceItemColumns+` FROM service_items
		WHERE code = ? ORDER BY version DESC LIMIT 1`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return ServiceItem{}, ErrNotFound
	}
	return it, err
}

// serviceItems returns the current version of every item, by code.
func (s *store) serviceItems(ctx context.Context) ([]ServiceItem, error) {
	return s.queryServiceItems(ctx, `SELECT `+serviceItemColumns+` FROM service_items i
		WHERE version = (SELECT MAX(version) FROM service_items j WHERE j.code = i.code) ORDER BY code`)
}

// serviceItemVersions returns every version of code, oldest first, or
// ErrNotFound.
func (s *store) serviceItemVersions(ctx context.Context, code string) ([]ServiceItem, error) {
	out, err := s.queryServiceItems(ctx, `SELECT `+serviceItemColumns+` FROM service_items WHERE code = ? ORDER BY version`, code)
	if err == nil && len(out) == 0 {
		return nil, ErrNotFound
	}
	return out, err
}

func (s *store) queryServiceItems(ctx context.Context, q string, args ...any) ([]ServiceItem, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ServiceItem
	for rows.Next() {
		it, err := scanServiceItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// putServiceHall creates or replaces a hall's items.
func (s *store) putServiceHall(ctx context.Context, h ServiceHall) error {
	items, err := json.Marshal(h.Items)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO service_halls (name, items, updated_at, updated_by) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET items = excluded.items, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		h.Name, string(items), sortableTime(h.UpdatedAt), h.UpdatedBy)
	if err != nil {
		return fmt.Errorf("registry: store service hall: %w", err)
	}
	return nil
}

func scanServiceHall(row interface{ Scan(...any) error }) (ServiceHall, error) {
	var h ServiceHall
	var items, updated string
	if err := row.Scan(&h.Name, &items, &updated, &h.UpdatedBy); err != nil {
		return ServiceHall{}, err
	}
	if err := json.Unmarshal([]byte(items), &h.Items); err != nil {
		return ServiceHall{}, fmt.Errorf("registry: service hall %s: %w", h.Name, err)
	}
	h.UpdatedAt = parseTime(updated)
	return h, nil
}

// serviceHall returns one hall, or ErrNotFound.
func (s *store) serviceHall(ctx context.Context, name string) (ServiceHall, error) {
	h, err := scanServiceHall(s.db.QueryRowContext(ctx, `SELECT name, items, updated_at, updated_by FROM service_halls WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return ServiceHall{}, ErrNotFound
	}
	return h, err
}

// serviceHalls returns every configured hall and every hall named on a
// clerk's account (with no items when it is not configured), by name.
func (s *store) serviceHalls(ctx context.Context) ([]ServiceHall, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, items, updated_at, updated_by FROM service_halls
		UNION ALL
		SELECT DISTINCT hall, '[]', '', '' FROM accounts
			WHERE role = ? AND hall <> '' AND hall NOT IN (SELECT name FROM service_halls)
		ORDER BY 1`, string(RoleVerifier))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ServiceHall
	for rows.Next() {
		h, err := scanServiceHall(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// takeRate counts one event under key, or answers a *ThrottledError when
// max events were counted within window before now. Count and insert are
// one transaction, so parallel requests cannot all slip under the bound.
func (s *store) takeRate(ctx context.Context, key string, max int, window time.Duration, now time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := tx.d.lockKey(ctx, tx, key); err != nil {
		return fmt.Errorf("registry: lock rate: %w", err)
	}
	var n int
	var oldest sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), MIN(at) FROM attempt_failures WHERE key = ? AND at > ?`,
		key, sortableTime(now.Add(-window))).Scan(&n, &oldest); err != nil {
		return fmt.Errorf("registry: read rate: %w", err)
	}
	if n >= max {
		return &ThrottledError{RetryAfter: parseTime(oldest.String).Add(window).Sub(now)}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO attempt_failures (key, at) VALUES (?, ?)`, key, sortableTime(now)); err != nil {
		return fmt.Errorf("registry: count rate: %w", err)
	}
	return tx.Commit()
}
