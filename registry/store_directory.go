package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"zhengzhao/license"
)

// Store: accounts, sessions, failures.

const accountColumns = `id, username, name, role, uscc, hall, holder_code, holder_code_type, created_at, disabled`

func scanAccount(row interface{ Scan(...any) error }, extra ...any) (*Account, error) {
	var a Account
	var role, created string
	dest := append([]any{&a.ID, &a.Username, &a.Name, &role, &a.Department, &a.Hall, &a.HolderCode, &a.HolderCodeType, &created, &a.Disabled}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	a.Role, a.CreatedAt = Role(role), parseTime(created)
	return &a, nil
}

func (s *store) insertAccount(ctx context.Context, a *Account, hash string) error {
	err := s.db.QueryRowContext(ctx, `INSERT INTO accounts (username, password, role, uscc, hall, holder_code, holder_code_type, name, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(username) DO NOTHING RETURNING id`,
		a.Username, hash, string(a.Role), a.Department, a.Hall, a.HolderCode, a.HolderCodeType, a.Name, sortableTime(a.CreatedAt)).Scan(&a.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return &conflictField{field: "username", msg: fmt.Sprintf("user name %q is taken", a.Username)}
	}
	if err != nil {
		return fmt.Errorf("registry: insert account: %w", err)
	}
	return nil
}

// conflictField is a conflict that names the field at fault: it is both an
// ErrConflict and a *license.FieldError.
type conflictField struct{ field, msg string }

func (e *conflictField) Error() string { return e.msg }
func (e *conflictField) Unwrap() []error {
	return []error{ErrConflict, &license.FieldError{Field: e.field, Rule: "unique", Message: e.msg}}
}

func (s *store) accounts(ctx context.Context) ([]*Account, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+accountColumns+` FROM accounts ORDER BY role, username`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (s *store) accountByUsername(ctx context.Context, username string) (*Account, string, error) {
	var hash string
	a, err := scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountColumns+`, password FROM accounts WHERE username = ?`, username), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", ErrNotFound
	}
	return a, hash, err
}

func (s *store) accountByID(ctx context.Context, id int64) (*Account, error) {
	a, err := scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("account %d: %w", id, ErrNotFound)
	}
	return a, err
}

func (s *store) setDisabled(ctx context.Context, id int64, disabled bool) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// The last enabled admin stays enabled, in the same statement, so two
	// admins cannot disable each other at once.
	flag := 0
	if disabled {
		flag = 1
	}
	res, err := tx.ExecContext(ctx, `UPDATE accounts SET disabled = ? WHERE id = ?
		AND NOT (? = 1 AND role = 'admin' AND (SELECT COUNT(*) FROM accounts WHERE role = 'admin' AND disabled = 0 AND id <> ?) = 0)`,
		flag, id, flag, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: the last enabled admin account cannot be disabled", ErrConflict)
	}
	if disabled {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = ?`, id); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// setPassword stores a new password hash for an account and ends its
// sessions but the one whose hash is keep.
func (s *store) setPassword(ctx context.Context, id int64, hash, keep string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE accounts SET password = ? WHERE id = ?`, hash, id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = ? AND hash <> ?`, id, keep); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *store) departmentExists(ctx context.Context, uscc string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM departments WHERE uscc = ?`, uscc).Scan(&n)
	return n > 0, err
}

// takeAttempt counts one attempt against every key in one transaction, or
// none when any key asks the attempt to wait: then it answers a
// *ThrottledError and the attempt must not be checked. Counting before
// checking is what bounds parallel attempts: the n-th concurrent attempt
// sees the n-1 before it.
func (s *store) takeAttempt(ctx context.Context, keys []throttleKey, now time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	counts := make([]int, len(keys))
	var wait time.Duration
	for i, k := range keys {
		var n int
		var next, last string
		err := tx.QueryRowContext(ctx, `SELECT failures, next_at, last_at FROM login_throttle WHERE key = ?`, k.key).Scan(&n, &next, &last)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("registry: read throttle: %w", err)
		case parseTime(last).Before(now.Add(-LoginMemory)):
			n = 0 // forgotten
		default:
			wait = max(wait, parseTime(next).Sub(now))
		}
		counts[i] = n
	}
	if wait > 0 {
		return &ThrottledError{RetryAfter: wait}
	}
	for i, k := range keys {
		n := counts[i] + 1
		if _, err := tx.ExecContext(ctx, `INSERT INTO login_throttle (key, failures, next_at, last_at) VALUES (?, ?, ?, ?)
			ON CONFLICT(key) DO UPDATE SET failures = excluded.failures, next_at = excluded.next_at, last_at = excluded.last_at`,
			k.key, n, sortableTime(now.Add(loginDelay(n, k.free))), sortableTime(now)); err != nil {
			return fmt.Errorf("registry: count attempt: %w", err)
		}
	}
	return tx.Commit()
}

// forgiveAttempt undoes a successful attempt: the first key (the user name
// from this client) starts over, the others give back the one attempt.
func (s *store) forgiveAttempt(ctx context.Context, keys []throttleKey) error {
	for i, k := range keys {
		q := `UPDATE login_throttle SET failures = CASE WHEN failures > 1 THEN failures - 1 ELSE 0 END WHERE key = ?`
		if i == 0 {
			q = `DELETE FROM login_throttle WHERE key = ?`
		}
		if _, err := s.db.ExecContext(ctx, q, k.key); err != nil {
			return err
		}
	}
	return nil
}

// forgetLoginFailures forgets the failed sign-ins of a user name from every
// client.
func (s *store) forgetLoginFailures(ctx context.Context, user string) error {
	prefix := "pair:" + user + "|"
	_, err := s.db.ExecContext(ctx, `DELETE FROM login_throttle WHERE substr(key, 1, ?) = ?`, len(prefix), prefix)
	return err
}

// prune deletes sessions expired by now and failures and throttles from
// before before.
func (s *store) prune(ctx context.Context, now, before time.Time) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, sortableTime(now)); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM login_throttle WHERE last_at < ?`, sortableTime(before)); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `DELETE FROM attempt_failures WHERE at < ?`, sortableTime(before))
	return err
}

func (s *store) insertSession(ctx context.Context, hash string, account int64, created, expires time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions (hash, account_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		hash, account, sortableTime(created), sortableTime(expires))
	return err
}

func (s *store) session(ctx context.Context, hash string) (*Account, time.Time, error) {
	var expires string
	a, err := scanAccount(s.db.QueryRowContext(ctx, `SELECT a.id, a.username, a.name, a.role, a.uscc, a.hall, a.holder_code, a.holder_code_type, a.created_at, a.disabled, s.expires_at
		FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.hash = ?`, hash), &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, ErrUnauthenticated
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	return a, parseTime(expires), nil
}

func (s *store) deleteSession(ctx context.Context, hash string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
	return err
}

func (s *store) addFailure(ctx context.Context, key string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO attempt_failures (key, at) VALUES (?, ?)`, key, sortableTime(at))
	return err
}

// failures counts key's failures since since and returns the oldest of them.
func (s *store) failures(ctx context.Context, key string, since time.Time) (int, time.Time, error) {
	var n int
	var oldest sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), MIN(at) FROM attempt_failures WHERE key = ? AND at > ?`, key, sortableTime(since)).Scan(&n, &oldest)
	return n, parseTime(oldest.String), err
}

// sortableTime formats t in UTC with a fixed width, so that stored times
// compare correctly as strings in SQL.
func sortableTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z07:00") }

// Store: tokens.

// migrateOperators brings a store made before tokens expired up to date:
// tokens get a public id, a creator and an expiry (DefaultTokenLifetime
// from now for those that had none).
func migrateOperators(db *sql.DB, now time.Time) error {
	if err := addColumns(db, "tokens", map[string]string{
		"id":         `TEXT`,
		"expires_at": `TEXT NOT NULL DEFAULT ''`,
		"revoked_at": `TEXT`,
		"created_by": `TEXT NOT NULL DEFAULT ''`,
	}); err != nil {
		return err
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE tokens SET id = substr(hash, 1, 16) WHERE id IS NULL`, nil},
		{`UPDATE tokens SET expires_at = ? WHERE expires_at = ''`, []any{sortableTime(now.Add(DefaultTokenLifetime))}},
		{`CREATE UNIQUE INDEX IF NOT EXISTS tokens_id ON tokens(id)`, nil},
	} {
		if _, err := db.Exec(q.sql, q.args...); err != nil {
			return fmt.Errorf("registry: migrate tokens: %w", err)
		}
	}
	return nil
}

const tokenColumns = `id, name, role, uscc, created_at, expires_at, COALESCE(revoked_at, ''), created_by`

func scanToken(row interface{ Scan(...any) error }) (*Token, error) {
	var t Token
	var role, created, expires, revoked string
	if err := row.Scan(&t.ID, &t.Name, &role, &t.Department, &created, &expires, &revoked, &t.CreatedBy); err != nil {
		return nil, err
	}
	t.Role, t.CreatedAt, t.ExpiresAt = Role(role), parseTime(created), parseTime(expires)
	if revoked != "" {
		t.RevokedAt = parseTime(revoked)
	}
	return &t, nil
}

func (s *store) insertToken(ctx context.Context, hash string, t *Token) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO tokens (hash, id, role, uscc, name, created_at, expires_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		hash, t.ID, string(t.Role), t.Department, t.Name, sortableTime(t.CreatedAt), sortableTime(t.ExpiresAt), t.CreatedBy)
	if err != nil {
		return fmt.Errorf("registry: insert token: %w", err)
	}
	return nil
}

func (s *store) tokenByHash(ctx context.Context, hash string) (*Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrUnauthenticated
	}
	return t, err
}

func (s *store) tokenByID(ctx context.Context, id string) (*Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("token %q: %w", id, ErrNotFound)
	}
	return t, err
}

func (s *store) tokens(ctx context.Context) ([]*Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// revokeToken marks a token revoked and says how many it marked (0 when it
// was revoked already).
func (s *store) revokeToken(ctx context.Context, id string, at time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, sortableTime(at), id)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
