package registry

import (
	"context"
	"database/sql"
	"strings"
)

// The writes and reads of a batch of licenses, a statement for many rows
// rather than one a row. On PostgreSQL every statement is a round trip
// between the instance and the database (and a lock held that much longer:
// a record chain's is held by every instance's appends); on SQLite it is
// one statement less to step. The SQL stays portable.

// multiRowInsert gathers the rows of one INSERT … VALUES (…), (…) ….
type multiRowInsert struct {
	head string // `INSERT INTO t (cols) VALUES `
	row  string // `(?, ?, …)`
	tail string // ` ON CONFLICT … DO …`, or ""
	per  int    // parameters a row
	args []any
}

// maxParamsPerStatement keeps a statement under SQLite's 32,766 parameters
// (PostgreSQL takes 65,535).
const maxParamsPerStatement = 30000

func newMultiRowInsert(head, row, tail string) *multiRowInsert {
	return &multiRowInsert{head: head, row: row, tail: tail, per: strings.Count(row, "?")}
}

// add adds one row's values, as many as the row has placeholders.
func (m *multiRowInsert) add(values ...any) { m.args = append(m.args, values...) }

// rows is the number of rows added.
func (m *multiRowInsert) rows() int { return len(m.args) / m.per }

// stmtChunks are the row counts of the multi-row statements a store
// prepares once, at open (prepareChunks), and reuses: rows are cut greedily
// into them, so a batch of any size parses no SQL. Parsing the VALUES list
// of a 500-row statement cost SQLite ~9 µs a row, more than inserting it.
var stmtChunks = []int{64, 16, 4, 1}

// query is the statement for k rows.
func (m *multiRowInsert) query(k int) string {
	return m.head + strings.Repeat(m.row+", ", k-1) + m.row + m.tail
}

// exec inserts the rows in as few statements as the parameter limit allows
// and returns the number of rows the database reports inserted. With stmt
// (the store's prepared statement of a query, bound to the transaction, or
// nil when it has none) the rows go in stmtChunks-sized statements.
func (m *multiRowInsert) exec(ctx context.Context, x execer, stmt func(q string) *sql.Stmt) (int64, error) {
	perStmt := max(1, maxParamsPerStatement/m.per)
	var n int64
	for lo := 0; lo < m.rows(); {
		k := min(perStmt, m.rows()-lo)
		var st *sql.Stmt
		if stmt != nil {
			for _, c := range stmtChunks {
				if c <= k {
					k = c
					break
				}
			}
			st = stmt(m.query(k))
		}
		args := m.args[lo*m.per : (lo+k)*m.per]
		var res sql.Result
		var err error
		if st != nil {
			res, err = st.ExecContext(ctx, args...)
		} else {
			res, err = x.ExecContext(ctx, m.query(k), args...)
		}
		if err != nil {
			return n, err
		}
		got, err := res.RowsAffected()
		if err != nil {
			return n, err
		}
		n += got
		lo += k
	}
	return n, nil
}
