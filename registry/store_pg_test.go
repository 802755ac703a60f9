package registry

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"testing"
)

// A multi-row insert longer than one statement's parameters goes in several
// statements, every row once, and reports the rows the database inserted
// (not those ON CONFLICT DO NOTHING skipped).
func TestMultiRowInsert(t *testing.T) {
	eachStore(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		st := db.open(t)
		defer st.Close()
		if _, err := st.db.ExecContext(ctx, `CREATE TABLE multi_rows (k TEXT PRIMARY KEY, a INTEGER, b TEXT)`); err != nil {
			t.Fatal(err)
		}
		ins := newMultiRowInsert(`INSERT INTO multi_rows (k, a, b) VALUES `, `(?, ?, ?)`, ` ON CONFLICT (k) DO NOTHING`)
		const n = maxParamsPerStatement/3*2 + 7 // three statements
		for i := range n {
			ins.add(fmt.Sprint("k", i), i, "b")
		}
		ins.add("k5", -1, "again") // a conflict: skipped
		got, err := ins.exec(ctx, st.db, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got != n || ins.rows() != n+1 {
			t.Fatalf("inserted %d of %d rows, want %d of %d", got, ins.rows(), n, n+1)
		}
		wantMultiRows(t, st, n)
	})
}

// wantMultiRows checks that multi_rows holds the rows a = 0 … n-1, once each.
func wantMultiRows(t *testing.T, st *store, n int) {
	t.Helper()
	var count, sum int
	if err := st.db.QueryRowContext(context.Background(), `SELECT COUNT(*), SUM(a) FROM multi_rows`).Scan(&count, &sum); err != nil {
		t.Fatal(err)
	}
	if count != n || sum != n*(n-1)/2 {
		t.Fatalf("table holds %d rows summing %d, want %d and %d", count, sum, n, n*(n-1)/2)
	}
}

// The issue path's inserts go in statements prepared once at open, cut
// greedily into stmtChunks rows, inside a transaction that holds SQLite's
// one connection: every row goes in once, whatever the batch's size, and no
// statement is prepared while the transaction runs.
func TestMultiRowInsertPrepared(t *testing.T) {
	eachStore(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		st := db.open(t)
		defer st.Close()
		if _, err := st.db.ExecContext(ctx, `CREATE TABLE multi_rows (k TEXT PRIMARY KEY, a INTEGER, b TEXT)`); err != nil {
			t.Fatal(err)
		}
		newIns := func() *multiRowInsert {
			return newMultiRowInsert(`INSERT INTO multi_rows (k, a, b) VALUES `, `(?, ?, ?)`, ` ON CONFLICT (k) DO NOTHING`)
		}
		for _, k := range stmtChunks {
			if _, err := st.prepared(ctx, newIns().query(k)); err != nil {
				t.Fatal(err)
			}
		}
		total := 0
		for _, n := range []int{1, 3, 64, 85, 500} {
			ins := newIns()
			for i := range n {
				ins.add(fmt.Sprint("k", total+i), total+i, "b")
			}
			tx, err := st.db.Begin()
			if err != nil {
				t.Fatal(err)
			}
			var prepared, missed int
			lookup := st.txStmt(ctx, tx)
			got, err := ins.exec(ctx, tx, func(q string) *sql.Stmt {
				s := lookup(q)
				if s == nil {
					missed++
				} else {
					prepared++
				}
				return s
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			if got != int64(n) || missed != 0 || prepared == 0 {
				t.Fatalf("%d rows: inserted %d, %d statements prepared, %d not", n, got, prepared, missed)
			}
			total += n
		}
		wantMultiRows(t, st, total)
	})
}

// A PostgreSQL store keeps a license row whole in its page (nothing in the
// TOAST table for a ~4 KB row), and opening it again changes nothing.
func TestPostgresTableOptions(t *testing.T) {
	uri := postgresForTest(t)
	if uri == "" {
		t.Skip("ZZ_POSTGRES not set")
	}
	ctx := context.Background()
	for i := range 2 {
		st, err := openPostgres(ctx, uri)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var opts string
		err = st.db.QueryRowContext(ctx, `SELECT COALESCE(array_to_string(reloptions, ','), '') FROM pg_class WHERE oid = to_regclass('licenses')`).Scan(&opts)
		if err != nil {
			t.Fatal(err)
		}
		if opts != "toast_tuple_target=8160" {
			t.Fatalf("licenses options %q, want toast_tuple_target=8160", opts)
		}
		// Incompressible bytes, as a packed credential is.
		l := testLicense(i+1, "U1", i)
		l.Credential = make([]byte, 3000)
		rand.Read(l.Credential)
		if err := st.insertLicense(ctx, l, "", nil); err != nil {
			t.Fatal(err)
		}
		var row, toast int
		err = st.db.QueryRowContext(ctx, `SELECT pg_column_size(l.*), pg_relation_size(c.reltoastrelid) FROM licenses l, pg_class c
			WHERE l.identifier = ? AND c.oid = to_regclass('licenses')`, l.Identifier).Scan(&row, &toast)
		if err != nil {
			t.Fatal(err)
		}
		if row < 3000 || toast != 0 {
			t.Fatalf("a %d-byte row left %d bytes in the TOAST table, want 0", row, toast)
		}
	}
}

// The COPY of a batch names the columns the INSERT names, one value each.
func TestLicenseColumnNames(t *testing.T) {
	p := &pendingInsert{lic: testLicense(1, "U1", 1)}
	cols := licenseColumnNames()
	if len(cols) != len(p.rowArgs()) || cols[0] != "identifier" || cols[len(cols)-1] != "note_digest" {
		t.Fatalf("%d columns %q for %d values", len(cols), cols, len(p.rowArgs()))
	}
}

// Licenses stored together (one COPY on PostgreSQL, multi-row INSERTs on
// SQLite) come back as stored; a row that breaks a constraint fails alone
// and takes none of the others down.
func TestInsertLicensesTogether(t *testing.T) {
	eachStore(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		st := db.open(t)
		defer st.Close()
		if err := st.insertLicense(ctx, testLicense(2, "U1", 2), "", nil); err != nil {
			t.Fatal(err)
		}
		lics := []*License{testLicense(1, "U1", 1), testLicense(2, "U1", 2), testLicense(3, "U1", 3)}
		lics[2].RequestKey = "rk-3"
		errs := st.insertLicenses(lics, "", nil)
		if errs[0] != nil || errs[1] == nil || errs[2] != nil {
			t.Fatalf("errors %v, want only the second (already stored)", errs)
		}
		for _, want := range []*License{lics[0], lics[2]} {
			got, err := st.license(ctx, want.Identifier)
			if err != nil {
				t.Fatal(err)
			}
			if got.Serial != want.Serial || got.RequestKey != want.RequestKey || string(got.Credential) != string(want.Credential) || !got.IssuedAt.Equal(want.IssuedAt) {
				t.Errorf("stored %s: %+v", want.Identifier, got)
			}
		}
		// Together again, none breaking a constraint: one transaction
		// (insertBatch, without the row-by-row retry).
		var more []*pendingInsert
		for _, l := range []*License{testLicense(4, "U1", 4), testLicense(5, "U1", 5)} {
			p, err := st.pendingOf(l, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			more = append(more, p)
		}
		if err := st.insertBatch(more); err != nil {
			t.Fatal(err)
		}
		if seen, err := st.ledgerSizeSeen(ctx); err != nil || seen != 6 {
			t.Errorf("ledger size seen %d %v, want 6 (the largest tree size of the rows)", seen, err)
		}
	})
}
