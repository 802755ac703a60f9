package registry

import (
	"context"
	"fmt"
	"slices"
)

// PostgreSQL-only settings of the store's tables, applied when a PostgreSQL
// store opens (after the migrations). They change how rows are kept, not
// what they hold, so they are not migrations: SQLite has no equivalent.

// pgTableOptions are the storage parameters each table gets.
//
// licenses: a row is ~3 KB (the packed credential alone ~1.2 KB), over
// PostgreSQL's 2 KB TOAST threshold, so by default every insert tried to
// compress the credential and receipt with pglz (they are DEFLATE output
// and hashes: it never won) and then moved the credential out of line
// into the TOAST table: a second heap insert and an index insert a
// license, and a second lookup each read. With toast_tuple_target at its
// maximum (8160 with 8 KB pages) a row under it stays whole in its page;
// a larger one is still TOASTed.
var pgTableOptions = []struct{ table, option string }{
	{"licenses", "toast_tuple_target=8160"},
}

// tunePostgres sets pgTableOptions where they are not set yet (the check is
// one catalog read; ALTER TABLE … SET takes a lock that only waits for
// other DDL, never for reads or writes of rows).
func tunePostgres(ctx context.Context, db sqlDB) error {
	for _, o := range pgTableOptions {
		var opts []string
		rows, err := db.QueryContext(ctx, `SELECT unnest(reloptions) FROM pg_class WHERE oid = to_regclass(?)`, o.table)
		if err != nil {
			return fmt.Errorf("registry: options of table %s: %w", o.table, err)
		}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return err
			}
			opts = append(opts, v)
		}
		err = rows.Err()
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("registry: options of table %s: %w", o.table, err)
		}
		if slices.Contains(opts, o.option) {
			continue
		}
		if _, err := db.ExecContext(ctx, `ALTER TABLE `+o.table+` SET (`+o.option+`)`); err != nil {
			return fmt.Errorf("registry: set %s on table %s: %w", o.option, o.table, err)
		}
	}
	return nil
}
