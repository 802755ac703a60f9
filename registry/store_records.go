package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// recordStore keeps the record log (records.go) and its anchored heads.
type recordStore interface {
	// appendRecords appends the group's records (and the usage rows they
	// carry) after the chain's head in one transaction.
	appendRecords(ctx context.Context, chain string, group []*recordReq, now func() time.Time) error
	recordHead(ctx context.Context, chain string) (uint64, []byte, error)
	queryRecords(ctx context.Context, chain string, f RecordFilter) ([]*StoredRecord, int, error)
	holderRecordRows(ctx context.Context, chain, holder string, limit int) ([]*recordRow, error)
	recordRows(ctx context.Context, chain string, from, to uint64, fn func(*recordRow) error) error
	insertRecordHead(ctx context.Context, h *AnchoredHead) error
	recordHeads(ctx context.Context, chain string, from uint64) ([]*AnchoredHead, error)
	lastRecordHead(ctx context.Context, chain string) (*AnchoredHead, error)
}

// recordsSchema holds the record log (docs/records.md) and the heads of it
// that were anchored on the ledger: store migration 5, portable SQL.
//
// The columns other than body, prev_hash and hash repeat what body says so
// that the audit page and the holder's view can select on them; the chain
// check compares them with body and names every difference.
const recordsSchema = `
CREATE TABLE IF NOT EXISTS records (
	chain        TEXT NOT NULL,
	seq          INTEGER NOT NULL,
	at           TEXT NOT NULL,
	account      INTEGER NOT NULL,
	role         TEXT NOT NULL,
	actor        TEXT NOT NULL,
	department   TEXT NOT NULL,
	hall         TEXT NOT NULL,
	action       TEXT NOT NULL,
	purpose      TEXT NOT NULL,
	service_item TEXT NOT NULL,
	identifier   TEXT NOT NULL,
	holder_code  TEXT NOT NULL,            -- personal data: lives only in this store
	result       TEXT NOT NULL,
	reason       TEXT NOT NULL,
	body         BLOB NOT NULL,            -- the record's canonical bytes
	prev_hash    BLOB NOT NULL,
	hash         BLOB NOT NULL,            -- SM3(prev_hash ‖ SM3(body))
	PRIMARY KEY (chain, seq)
);
CREATE INDEX IF NOT EXISTS records_holder ON records(holder_code, seq);
CREATE INDEX IF NOT EXISTS records_identifier ON records(identifier, seq);
CREATE INDEX IF NOT EXISTS records_at ON records(at);
CREATE TABLE IF NOT EXISTS record_heads (
	chain   TEXT NOT NULL,
	seq     INTEGER NOT NULL,
	hash    BLOB NOT NULL,
	at      TEXT NOT NULL,
	receipt TEXT NOT NULL,                 -- ledger.Receipt JSON of the records.head event
	PRIMARY KEY (chain, seq)
);
`

// errSeqTaken: another writer appended at the sequence first.
var errSeqTaken = errors.New("record sequence already taken")

const recordColumns = `seq, at, account, role, actor, department, hall, action, purpose, service_item, identifier, holder_code, result, reason, body, prev_hash, hash`

// recordInsert is the INSERT of records.
func recordInsert() *multiRowInsert {
	return newMultiRowInsert(`INSERT INTO records (chain, `+recordColumns+`) VALUES `,
		`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, ` ON CONFLICT (chain, seq) DO NOTHING`)
}

// appendRecords appends the group's records after the chain's head in one
// transaction: it reads the head, chains each record to the one before and
// inserts it; a sequence some other writer took makes it roll back with
// errSeqTaken. Each request's out is filled in.
func (s *store) appendRecords(ctx context.Context, chain string, group []*recordReq, now func() time.Time) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	// On PostgreSQL appends of one chain from several instances queue here
	// instead of colliding on the sequence.
	if err := s.db.d.lockKey(ctx, tx, "records:"+chain); err != nil {
		return err
	}
	seq, prev, err := recordHeadTx(ctx, tx, chain)
	if err != nil {
		return err
	}
	at := now()
	ins := recordInsert()
	for _, r := range group {
		if r.use != nil {
			if err := insertUsageRow(ctx, tx, *r.use); err != nil {
				return err
			}
		}
		seq++
		rec := r.rec
		rec.Seq, rec.At = seq, at.UTC().Truncate(time.Microsecond)
		body, err := rec.Canonical()
		if err != nil {
			return err
		}
		hash := ChainHash(prev, RecordDigest(body))
		ins.add(chain, int64(seq), sortableTime(rec.At), rec.Actor.Account, string(rec.Actor.Role), rec.Actor.Name, rec.Actor.Department, rec.Actor.Hall,
			rec.Action, rec.Purpose, rec.ServiceItem, rec.License, rec.Holder, rec.Result, rec.Reason, body, prev, hash)
		*r.out = StoredRecord{Record: rec, Body: body, PrevHash: prev, Hash: hash}
		prev = hash
	}
	// The group's records in one statement (store_pg_batch.go).
	if n, err := ins.exec(ctx, tx, s.txStmt(ctx, tx)); err != nil {
		return err
	} else if n != int64(ins.rows()) {
		return errSeqTaken
	}
	return tx.Commit()
}

func recordHeadTx(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, chain string) (uint64, []byte, error) {
	var seq int64
	var hash []byte
	err := q.QueryRowContext(ctx, `SELECT seq, hash FROM records WHERE chain = ? ORDER BY seq DESC LIMIT 1`, chain).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, GenesisHash(), nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("registry: records head: %w", err)
	}
	return uint64(seq), hash, nil
}

// recordHead returns the sequence and hash of the chain's last record (0 and
// the genesis hash for an empty chain).
func (s *store) recordHead(ctx context.Context, chain string) (uint64, []byte, error) {
	return recordHeadTx(ctx, s.db, chain)
}

// recordRow is a records row as stored, column by column.
type recordRow struct {
	seq                                                       int64
	at                                                        string
	account                                                   int64
	role, actor, department, hall                             string
	action, purpose, item, identifier, holder, result, reason string
	body, prev, hash                                          []byte
}

func scanRecordRow(rows *sql.Rows) (*recordRow, error) {
	var r recordRow
	err := rows.Scan(&r.seq, &r.at, &r.account, &r.role, &r.actor, &r.department, &r.hall, &r.action, &r.purpose, &r.item,
		&r.identifier, &r.holder, &r.result, &r.reason, &r.body, &r.prev, &r.hash)
	return &r, err
}

// stored is the record the row's body holds, with the row's hashes; the
// body is trusted as it is (the chain check is what checks it).
func (r *recordRow) stored() (*StoredRecord, error) {
	rec, err := ParseRecord(r.body)
	if err != nil {
		return nil, fmt.Errorf("registry: record %d: %w", r.seq, err)
	}
	return &StoredRecord{Record: rec, Body: r.body, PrevHash: r.prev, Hash: r.hash}, nil
}

// RecordFilter selects records for the audit page.
type RecordFilter struct {
	Actor   string    // part of the actor's name or user name
	Account int64     // the actor's account id (0: any)
	Action  string    // an action code, or a prefix such as "use." (ending in '.')
	License string    // a license identifier
	From    time.Time // at or after (zero: no bound)
	To      time.Time // before (zero: no bound)
	Holder  string    // the holder's code (the holder's own view)
	Offset  int
	Limit   int // at most 500; 0 means 50
}

// where returns the filter's WHERE clause and its arguments.
func (f RecordFilter) where(chain string) (string, []any) {
	conds, args := []string{"chain = ?"}, []any{chain}
	if f.Actor != "" {
		conds, args = append(conds, "actor LIKE ?"), append(args, "%"+escapeLike(f.Actor)+"%")
		conds[len(conds)-1] += ` ESCAPE '\'`
	}
	if f.Account != 0 {
		conds, args = append(conds, "account = ?"), append(args, f.Account)
	}
	switch {
	case strings.HasSuffix(f.Action, "."):
		conds, args = append(conds, "action LIKE ?"), append(args, escapeLike(f.Action)+"%")
		conds[len(conds)-1] += ` ESCAPE '\'`
	case f.Action != "":
		conds, args = append(conds, "action = ?"), append(args, f.Action)
	}
	if f.License != "" {
		conds, args = append(conds, "identifier = ?"), append(args, f.License)
	}
	if f.Holder != "" {
		conds, args = append(conds, "holder_code = ?"), append(args, f.Holder)
	}
	if !f.From.IsZero() {
		conds, args = append(conds, "at >= ?"), append(args, sortableTime(f.From))
	}
	if !f.To.IsZero() {
		conds, args = append(conds, "at < ?"), append(args, sortableTime(f.To))
	}
	return strings.Join(conds, " AND "), args
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// queryRecords returns the records the filter selects, newest first, and
// how many it selects in all.
func (s *store) queryRecords(ctx context.Context, chain string, f RecordFilter) ([]*StoredRecord, int, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 500)
	where, args := f.where(chain)
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM records WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("registry: count records: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+recordColumns+` FROM records WHERE `+where+` ORDER BY seq DESC LIMIT ? OFFSET ?`,
		append(args, f.Limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("registry: records: %w", err)
	}
	defer rows.Close()
	var out []*StoredRecord
	for rows.Next() {
		r, err := scanRecordRow(rows)
		if err != nil {
			return nil, 0, err
		}
		sr, err := r.stored()
		if err != nil {
			return nil, 0, err
		}
		out = append(out, sr)
	}
	return out, total, rows.Err()
}

// holderRecordRows returns the holder's records, oldest first.
func (s *store) holderRecordRows(ctx context.Context, chain, holder string, limit int) ([]*recordRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+recordColumns+` FROM records WHERE chain = ? AND holder_code = ? ORDER BY seq LIMIT ?`, chain, holder, limit)
	if err != nil {
		return nil, fmt.Errorf("registry: holder records: %w", err)
	}
	defer rows.Close()
	var out []*recordRow
	for rows.Next() {
		r, err := scanRecordRow(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// recordRows calls fn for the chain's records with from <= seq <= to, in
// order, reading them a page at a time.
func (s *store) recordRows(ctx context.Context, chain string, from, to uint64, fn func(*recordRow) error) error {
	const page = 2000
	next := from
	for next <= to {
		rows, err := s.db.QueryContext(ctx, `SELECT `+recordColumns+` FROM records WHERE chain = ? AND seq >= ? AND seq <= ? ORDER BY seq LIMIT ?`,
			chain, int64(next), int64(to), page)
		if err != nil {
			return fmt.Errorf("registry: records: %w", err)
		}
		var got []*recordRow
		for rows.Next() {
			r, err := scanRecordRow(rows)
			if err != nil {
				rows.Close()
				return err
			}
			got = append(got, r)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range got {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(got) < page {
			return nil
		}
		next = uint64(got[len(got)-1].seq) + 1
	}
	return nil
}

// insertRecordHead keeps an anchored head and its receipt.
func (s *store) insertRecordHead(ctx context.Context, h *AnchoredHead) error {
	rc, err := json.Marshal(h.Receipt)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO record_heads (chain, seq, hash, at, receipt) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (chain, seq) DO NOTHING`, h.Chain, int64(h.Seq), h.Hash, sortableTime(h.At), string(rc))
	if err != nil {
		return fmt.Errorf("registry: keep records head %d: %w", h.Seq, err)
	}
	return nil
}

// recordHeads returns the chain's anchored heads with from <= seq, oldest
// first.
func (s *store) recordHeads(ctx context.Context, chain string, from uint64) ([]*AnchoredHead, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, hash, at, receipt FROM record_heads WHERE chain = ? AND seq >= ? ORDER BY seq`, chain, int64(from))
	if err != nil {
		return nil, fmt.Errorf("registry: records heads: %w", err)
	}
	defer rows.Close()
	var out []*AnchoredHead
	for rows.Next() {
		h := &AnchoredHead{Chain: chain}
		var seq int64
		var at, rc string
		if err := rows.Scan(&seq, &h.Hash, &at, &rc); err != nil {
			return nil, err
		}
		h.Seq, h.At = uint64(seq), parseTime(at)
		if err := json.Unmarshal([]byte(rc), &h.Receipt); err != nil {
			return nil, fmt.Errorf("registry: receipt of records head %d: %w", seq, err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// lastRecordHead returns the chain's latest anchored head, or nil.
func (s *store) lastRecordHead(ctx context.Context, chain string) (*AnchoredHead, error) {
	var seq int64
	err := s.db.QueryRowContext(ctx, `SELECT seq FROM record_heads WHERE chain = ? ORDER BY seq DESC LIMIT 1`, chain).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry: last records head: %w", err)
	}
	hs, err := s.recordHeads(ctx, chain, uint64(seq))
	if err != nil || len(hs) == 0 {
		return nil, err
	}
	return hs[0], nil
}

// insertUsageRow writes one row of the usage table (the reports count it).
func insertUsageRow(ctx context.Context, ex execer, u usageRow) error {
	_, err := ex.ExecContext(ctx, `INSERT INTO usage (identifier, holder_code, uscc, type_code, mode, actor, hall, purpose, service_item, verdict, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, u.Identifier, u.HolderCode, u.Department, u.TypeCode,
		u.Mode, u.Actor, u.Hall, u.Purpose, u.ServiceItem, u.Verdict, sortableTime(u.At))
	return err
}
