package registry

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// copyLicenses is insertBatch on PostgreSQL: the batch's rows go in one
// COPY (binary) instead of multi-row INSERTs, in a transaction that also
// records the ledger size the batch shows, as insertBatch's does. COPY
// sends each value once in its binary form and skips the parse, plan and
// per-row executor work of an INSERT of 256 × 21 parameters. Like an
// INSERT it fails whole on a row that breaks a constraint; insertLicenses
// and the commit loop then insert the rows one by one.
func (s *store) copyLicenses(batch []*pendingInsert) error {
	ctx := context.Background()
	conn, err := s.db.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("registry: insert licenses: %w", err)
	}
	defer conn.Close()
	var size uint64 // the largest ledger size the batch shows
	rows := make([][]any, len(batch))
	for i, p := range batch {
		rows[i] = p.rowArgs()
		size = max(size, p.lic.Receipt.TreeSize)
	}
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("registry: insert licenses: a %T is not a pgx connection", dc)
		}
		tx, err := c.Conn().Begin(ctx)
		if err != nil {
			return fmt.Errorf("registry: begin: %w", err)
		}
		defer tx.Rollback(ctx)
		if err := insertNotes(pgxExecer{tx}, batch); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"licenses"}, licenseColumnNames(), pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("registry: insert licenses: %w", err)
		}
		if err := sawLedgerSize(ctx, pgxExecer{tx}, size); err != nil {
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("registry: commit: %w", err)
		}
		return nil
	})
}

// licenseColumnNames are the columns insertLicenseSQL names, in its order:
// one list of the columns a license row is inserted with.
var licenseColumnNames = sync.OnceValue(func() []string {
	q := insertLicenseSQL[strings.Index(insertLicenseSQL, "(")+1 : strings.Index(insertLicenseSQL, ")")]
	var cols []string
	for c := range strings.SplitSeq(q, ",") {
		cols = append(cols, strings.TrimSpace(c))
	}
	return cols
})

// pgxExecer runs the store's portable SQL in a pgx transaction.
type pgxExecer struct{ tx pgx.Tx }

func (x pgxExecer) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	tag, err := x.tx.Exec(ctx, dialectPostgres.rebind(q), args...)
	if err != nil {
		return nil, err
	}
	return driver.RowsAffected(tag.RowsAffected()), nil
}
