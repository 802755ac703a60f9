package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"zhengzhao/ledger"
	"zhengzhao/license"
)

// Meta keys.
const (
	metaLedgerSize = "ledger_size" // the largest ledger tree size the store has seen
	metaReconciled = "reconciled"  // set once a full reconciliation ran
	metaBundleSeq  = "bundle_seq"  // the last trust bundle sequence handed out
	metaBundleHist = "bundle_hist" // JSON: recent bundle checkpoints
)

func (s *store) meta(ctx context.Context, key string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func (s *store) setMeta(ctx context.Context, key, value string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// sawLedgerSize records that the ledger has reached size (it never goes down).
func (s *store) sawLedgerSize(ctx context.Context, size uint64) error {
	return sawLedgerSize(ctx, s.db, size)
}

func sawLedgerSize(ctx context.Context, x execer, size uint64) error {
	_, err := x.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = CASE WHEN CAST(excluded.value AS BIGINT) > CAST(meta.value AS BIGINT) THEN excluded.value ELSE meta.value END`,
		metaLedgerSize, strconv.FormatUint(size, 10))
	return err
}

// ledgerSizeSeen is the largest ledger tree size the store has seen, 0 if none.
func (s *store) ledgerSizeSeen(ctx context.Context) (uint64, error) {
	v, err := s.meta(ctx, metaLedgerSize)
	if err != nil || v == "" {
		return 0, err
	}
	return strconv.ParseUint(v, 10, 64)
}

// statusLists returns every department's list numbers with their generations.
func (s *store) statusLists(ctx context.Context) ([]statusListRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT uscc, list, gen FROM status_lists ORDER BY uscc, list`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []statusListRow
	for rows.Next() {
		var r statusListRow
		if err := rows.Scan(&r.USCC, &r.List, &r.Gen); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

type statusListRow struct {
	USCC string
	List int
	Gen  int64
}

// statusListGen returns the generation of one list, or ErrNotFound.
func (s *store) statusListGen(ctx context.Context, uscc string, list int) (int64, error) {
	var gen int64
	err := s.db.QueryRowContext(ctx, `SELECT gen FROM status_lists WHERE uscc = ? AND list = ?`, uscc, list).Scan(&gen)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("status list %s/%d: %w", uscc, list, ErrNotFound)
	}
	return gen, err
}

// listStatuses returns the entries of one list that are not active: index
// within the list → status.
func (s *store) listStatuses(ctx context.Context, uscc string, list int) (map[int]license.Status, error) {
	lo := list * StatusListSize
	rows, err := s.db.QueryContext(ctx, `SELECT status_index, status FROM licenses
		WHERE uscc = ? AND status_index >= ? AND status_index < ? AND status <> 'active'`, uscc, lo, lo+StatusListSize)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int]license.Status{}
	for rows.Next() {
		var i int
		var st string
		if err := rows.Scan(&i, &st); err != nil {
			return nil, err
		}
		out[i-lo] = license.Status(st)
	}
	return out, rows.Err()
}

// markIntent records, before the ledger is written, that a status change of
// id is under way.
func (s *store) markIntent(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO status_intents (identifier, at) VALUES (?, ?)
		ON CONFLICT (identifier) DO UPDATE SET at = excluded.at`, id, sortableTime(at))
	return err
}

func (s *store) clearIntent(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM status_intents WHERE identifier = ?`, id)
	return err
}

func (s *store) intents(ctx context.Context) ([]string, error) {
	return s.strings(ctx, `SELECT identifier FROM status_intents ORDER BY identifier`)
}

// strings runs a query of one text column.
func (s *store) strings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// statusWrite is a status the ledger recorded, as the store keeps it.
type statusWrite struct {
	ID       string
	Status   license.Status
	Reason   string // a license.Reasons code
	Note     string // free text, only here
	Actor    string
	At       time.Time
	LogIndex uint64
	Receipt  *ledger.Receipt // nil when repaired from the ledger's state
	// Pending, when set, is a version written ahead (pending_versions)
	// that is stored now and forgotten in the same transaction.
	Pending string
}

// writeStatus applies a status the ledger recorded, unless the store already
// holds a later one (a higher log index): the store follows the ledger's
// order whatever order the writes arrive in. It clears the license's intent,
// bumps its status list's generation and records the ledger size, all in one
// transaction. It reports whether the row changed.
func (s *store) writeStatus(ctx context.Context, w statusWrite) (bool, error) {
	rcpt := ""
	if w.Receipt != nil {
		b, err := json.Marshal(w.Receipt)
		if err != nil {
			return false, err
		}
		rcpt = string(b)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE licenses SET status = ?, status_reason = ?, status_note = ?, status_log_index = ?
		WHERE identifier = ? AND status_log_index < ?`,
		string(w.Status), w.Reason, w.Note, int64(w.LogIndex), w.ID, int64(w.LogIndex))
	if err != nil {
		return false, err
	}
	changed, _ := res.RowsAffected()
	if changed > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO status_events (identifier, status, reason, note, actor, at, receipt) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			w.ID, string(w.Status), w.Reason, w.Note, w.Actor, sortableTime(w.At), rcpt); err != nil {
			return false, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE status_lists SET gen = gen + 1
			WHERE (uscc, list) = (SELECT uscc, status_index / ? FROM licenses WHERE identifier = ?)`, StatusListSize, w.ID); err != nil {
			return false, err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM status_intents WHERE identifier = ?`, w.ID); err != nil {
		return false, err
	}
	if w.Pending != "" {
		if _, err := tx.ExecContext(ctx, `DELETE FROM pending_versions WHERE identifier = ?`, w.Pending); err != nil {
			return false, err
		}
	}
	if w.Receipt != nil {
		if err := sawLedgerSize(ctx, tx, w.Receipt.TreeSize); err != nil {
			return false, err
		}
	}
	return changed > 0, tx.Commit()
}

// licenseIDs pages through every stored identifier after the given one.
func (s *store) licenseIDs(ctx context.Context, after string, limit int) ([]string, error) {
	return s.strings(ctx, `SELECT identifier FROM licenses WHERE identifier > ? ORDER BY identifier LIMIT ?`, after, limit)
}

// statusOf returns the stored status, reason and log index of a license.
func (s *store) statusOf(ctx context.Context, id string) (license.Status, string, int64, error) {
	var st, reason string
	var idx int64
	err := s.db.QueryRowContext(ctx, `SELECT status, status_reason, status_log_index FROM licenses WHERE identifier = ?`, id).Scan(&st, &reason, &idx)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", 0, fmt.Errorf("license %s: %w", id, ErrNotFound)
	}
	return license.Status(st), reason, idx, err
}

// eachAnchor calls f with the anchor receipt and QR form of every license
// of a department.
func (s *store) eachAnchor(ctx context.Context, uscc string, f func(ledger.Receipt, string) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT credential, receipt, compact, `+packedColumns+` FROM licenses WHERE uscc = ?`, uscc)
	if err != nil {
		return err
	}
	type row struct {
		cred, packed        []byte
		rcpt, compact, note string
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.cred, &r.rcpt, &r.compact, &r.packed, &r.note); err != nil {
			rows.Close()
			return err
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range all {
		rc, compact, err := unpackReceipt(r.cred, r.rcpt, r.compact, r.packed, r.note)
		if err != nil {
			return err
		}
		if err := f(rc, compact); err != nil {
			return err
		}
	}
	return nil
}

// setKeyRevoked records that a key's signing validity ended at from.
func (s *store) setKeyRevoked(ctx context.Context, keyID string, from time.Time, reason string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE department_keys SET revoked_from = ?, revoked_reason = ? WHERE key_id = ?`, sortableTime(from), reason, keyID)
	return err
}

// resignLists makes every status list of a department be signed afresh (its
// signing key changed).
func (s *store) resignLists(ctx context.Context, uscc string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE status_lists SET gen = gen + 1 WHERE uscc = ?`, uscc)
	return err
}
