package registry

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"strings"
	"sync"
)

// stmtCache keeps the statements every issue runs, prepared once: preparing
// (parsing the SQL) cost more than running them.
type stmtCache struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// prepared returns the statement for query, preparing it on first use.
func (s *store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	c := &s.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	c.stmts[query] = st
	return st, nil
}

// prepareChunks prepares the multi-row inserts of the issue path, one for
// each of stmtChunks, while no transaction holds SQLite's one connection.
func (s *store) prepareChunks() error {
	for _, ins := range []*multiRowInsert{licenseInsert(), recordInsert()} {
		for _, k := range stmtChunks {
			if _, err := s.prepared(context.Background(), ins.query(k)); err != nil {
				return fmt.Errorf("registry: prepare insert: %w", err)
			}
		}
	}
	return nil
}

// txStmt returns the lookup of the store's prepared statements, bound to
// tx: nil for a query it has not prepared. It never prepares (on SQLite
// that would wait for the one connection tx holds).
func (s *store) txStmt(ctx context.Context, tx sqlTx) func(q string) *sql.Stmt {
	return func(q string) *sql.Stmt {
		s.stmts.mu.Lock()
		st := s.stmts.stmts[q]
		s.stmts.mu.Unlock()
		if st == nil {
			return nil
		}
		return tx.Tx.StmtContext(ctx, st)
	}
}

// maxInParams bounds the values of one IN list.
const maxInParams = 500

// requestKeyIDs returns the identifiers the department's licenses with the
// given request keys have, by key; keys without a license are absent.
func (s *store) requestKeyIDs(ctx context.Context, uscc string, keys []string) (map[string]string, error) {
	out := map[string]string{}
	for lo := 0; lo < len(keys); lo += maxInParams {
		part := keys[lo:min(lo+maxInParams, len(keys))]
		args := make([]any, 0, 1+len(part))
		args = append(args, uscc)
		for _, k := range part {
			args = append(args, k)
		}
		rows, err := s.db.QueryContext(ctx, `SELECT request_key, identifier FROM licenses WHERE uscc = ? AND request_key IN (?`+
			strings.Repeat(", ?", len(part)-1)+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k, id string
			if err := rows.Scan(&k, &id); err != nil {
				rows.Close()
				return nil, err
			}
			out[k] = id
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// insertLicenses stores licenses issued together in one transaction and
// returns one error per license: if the transaction fails, each license is
// inserted alone, so a row that breaks a constraint takes no other down
// with it.
func (s *store) insertLicenses(lics []*License, sealID string, sealDER []byte) []error {
	batch := make([]*pendingInsert, len(lics))
	errs := make([]error, len(lics))
	// Packing a row (compressing its credential, checking it rebuilds) is
	// most of a batch's store work and needs no lock: it runs on every core,
	// so that the batch holds the store's writer only for the SQL.
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), len(lics))
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(lics); i += workers {
				batch[i], errs[i] = s.pendingOf(lics[i], sealID, sealDER)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			for j := range errs {
				errs[j] = err
			}
			return errs
		}
	}
	if s.insertBatch(batch) == nil {
		return errs
	}
	for i, p := range batch {
		errs[i] = s.insertBatch([]*pendingInsert{p})
	}
	return errs
}
