package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"
)

// sharedSchema holds what several registry instances on one store share so
// that they serve the same signed bytes: a counter of changes the trust
// bundle shows, the signed bundle, and the signed status lists. Each signed
// row carries a version: a writer replaces the row only if it is still the
// version it read (compare and swap), so two instances that sign at once
// store one result and both serve it.
const sharedSchema = `
CREATE TABLE IF NOT EXISTS shared_counters (
	name TEXT PRIMARY KEY,
	n    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS shared_bundle (
	name        TEXT PRIMARY KEY,
	ver         INTEGER NOT NULL,
	seq         INTEGER NOT NULL,
	changes     INTEGER NOT NULL,
	tree_size   INTEGER NOT NULL,
	body        BLOB NOT NULL,
	etag        TEXT NOT NULL,
	note        TEXT NOT NULL,
	history     TEXT NOT NULL,
	valid_until TEXT NOT NULL,
	refresh_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS shared_lists (
	uscc        TEXT NOT NULL,
	list        INTEGER NOT NULL,
	ver         INTEGER NOT NULL,
	gen         INTEGER NOT NULL,
	body        BLOB NOT NULL,
	etag        TEXT NOT NULL,
	valid_until TEXT NOT NULL,
	refresh_at  TEXT NOT NULL,
	PRIMARY KEY (uscc, list)
);
`

// sharedStore keeps what several instances on one store share so that they
// serve the same signed bytes (bundle_shared.go).
type sharedStore interface {
	sharedChanges(ctx context.Context) (int64, error)
	bumpSharedChanges(ctx context.Context) error
	sharedBundle(ctx context.Context) (*sharedBundleRow, error)
	sharedBundleSeq(ctx context.Context) (uint64, error)
	swapSharedBundle(ctx context.Context, prev int64, r *sharedBundleRow) (bool, error)
	sharedList(ctx context.Context, uscc string, n int) (*sharedListRow, error)
	swapSharedList(ctx context.Context, uscc string, n int, prev int64, r *sharedListRow) (bool, error)
	// metaOnce stores value under key unless one is stored, and returns
	// the stored one.
	metaOnce(ctx context.Context, key, value string) (string, error)
	// counter reads a named counter; bumpCounter adds one to it and
	// returns the new count.
	counter(ctx context.Context, name string) (int64, error)
	bumpCounter(ctx context.Context, name string) (int64, error)
}

// counterChanges counts the changes a trust bundle shows (departments,
// keys, seals, statuses, lists opened), on every instance.
const counterChanges = "bundle_changes"

// bundleName is the one row of shared_bundle.
const bundleName = "trust"

// sharedChanges returns the count of changes the bundle shows.
func (s *store) sharedChanges(ctx context.Context) (int64, error) {
	return s.counter(ctx, counterChanges)
}

// bumpSharedChanges counts one more change the bundle shows.
func (s *store) bumpSharedChanges(ctx context.Context) error {
	_, err := s.bumpCounter(ctx, counterChanges)
	return err
}

// counter returns the named counter (0 if never bumped).
func (s *store) counter(ctx context.Context, name string) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT n FROM shared_counters WHERE name = ?`, name).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}

// bumpCounter adds one to the named counter and returns the new count.
func (s *store) bumpCounter(ctx context.Context, name string) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO shared_counters (name, n) VALUES (?, 1)
		ON CONFLICT (name) DO UPDATE SET n = shared_counters.n + 1 RETURNING n`, name).Scan(&n)
	return n, err
}

// sharedBundleRow is the stored signed trust bundle.
type sharedBundleRow struct {
	Ver        int64
	Seq        uint64
	Changes    int64
	TreeSize   uint64
	Body       []byte
	ETag       string
	Note       string
	History    []string // the notes later bundles prove, oldest first
	ValidUntil time.Time
	RefreshAt  time.Time
}

// sharedBundle returns the stored bundle, or nil if none is.
func (s *store) sharedBundle(ctx context.Context) (*sharedBundleRow, error) {
	var r sharedBundleRow
	var hist, until, refresh string
	err := s.db.QueryRowContext(ctx, `SELECT ver, seq, changes, tree_size, body, etag, note, history, valid_until, refresh_at
		FROM shared_bundle WHERE name = ?`, bundleName).Scan(&r.Ver, &r.Seq, &r.Changes, &r.TreeSize, &r.Body, &r.ETag, &r.Note, &hist, &until, &refresh)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(hist), &r.History); err != nil {
		return nil, err
	}
	r.ValidUntil, r.RefreshAt = parseTime(until), parseTime(refresh)
	return &r, nil
}

// sharedBundleSeq returns the sequence of the stored bundle (0 if none).
func (s *store) sharedBundleSeq(ctx context.Context) (uint64, error) {
	var seq uint64
	err := s.db.QueryRowContext(ctx, `SELECT seq FROM shared_bundle WHERE name = ?`, bundleName).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return seq, err
}

// swapSharedBundle stores r if the stored bundle is still version prev (0:
// none stored) and has a lower sequence, and reports whether it did.
func (s *store) swapSharedBundle(ctx context.Context, prev int64, r *sharedBundleRow) (bool, error) {
	hist, err := json.Marshal(r.History)
	if err != nil {
		return false, err
	}
	var res sql.Result
	if prev == 0 {
		res, err = s.db.ExecContext(ctx, `INSERT INTO shared_bundle
			(name, ver, seq, changes, tree_size, body, etag, note, history, valid_until, refresh_at)
			VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
			bundleName, r.Seq, r.Changes, r.TreeSize, r.Body, r.ETag, r.Note, string(hist), sortableTime(r.ValidUntil), sortableTime(r.RefreshAt))
	} else {
		res, err = s.db.ExecContext(ctx, `UPDATE shared_bundle SET ver = ver + 1, seq = ?, changes = ?, tree_size = ?, body = ?,
			etag = ?, note = ?, history = ?, valid_until = ?, refresh_at = ? WHERE name = ? AND ver = ? AND seq < ?`,
			r.Seq, r.Changes, r.TreeSize, r.Body, r.ETag, r.Note, string(hist), sortableTime(r.ValidUntil), sortableTime(r.RefreshAt), bundleName, prev, r.Seq)
	}
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// sharedListRow is a stored signed status list.
type sharedListRow struct {
	Ver        int64
	Gen        int64
	Body       []byte
	ETag       string
	ValidUntil time.Time
	RefreshAt  time.Time
}

// sharedList returns the stored list uscc/n, or nil if none is.
func (s *store) sharedList(ctx context.Context, uscc string, n int) (*sharedListRow, error) {
	var r sharedListRow
	var until, refresh string
	err := s.db.QueryRowContext(ctx, `SELECT ver, gen, body, etag, valid_until, refresh_at FROM shared_lists WHERE uscc = ? AND list = ?`,
		uscc, n).Scan(&r.Ver, &r.Gen, &r.Body, &r.ETag, &until, &refresh)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r.ValidUntil, r.RefreshAt = parseTime(until), parseTime(refresh)
	return &r, nil
}

// swapSharedList stores r as list uscc/n if the stored one is still version
// prev (0: none stored) and reports whether it did.
func (s *store) swapSharedList(ctx context.Context, uscc string, n int, prev int64, r *sharedListRow) (bool, error) {
	var res sql.Result
	var err error
	if prev == 0 {
		res, err = s.db.ExecContext(ctx, `INSERT INTO shared_lists (uscc, list, ver, gen, body, etag, valid_until, refresh_at)
			VALUES (?, ?, 1, ?, ?, ?, ?, ?) ON CONFLICT (uscc, list) DO NOTHING`,
			uscc, n, r.Gen, r.Body, r.ETag, sortableTime(r.ValidUntil), sortableTime(r.RefreshAt))
	} else {
		res, err = s.db.ExecContext(ctx, `UPDATE shared_lists SET ver = ver + 1, gen = ?, body = ?, etag = ?, valid_until = ?, refresh_at = ?
			WHERE uscc = ? AND list = ? AND ver = ?`,
			r.Gen, r.Body, r.ETag, sortableTime(r.ValidUntil), sortableTime(r.RefreshAt), uscc, n, prev)
	}
	if err != nil {
		return false, err
	}
	k, err := res.RowsAffected()
	return k == 1, err
}

// metaOnce stores value under key unless a value is stored already, and
// returns the stored one: the first instance's value wins.
func (s *store) metaOnce(ctx context.Context, key, value string) (string, error) {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, value); err != nil {
		return "", err
	}
	return s.meta(ctx, key)
}
