package registry

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

// A store made before versions existed (UNIQUE (uscc, type_code, serial))
// is rebuilt on open: its rows, their status history and indexes stay, and
// a second version of a serial fits while a duplicate version does not.
func TestMigrateVersions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	old := strings.Replace(baseSchema, "\tversion      TEXT NOT NULL DEFAULT '001', -- the identifier's version segment\n", "", 1)
	old = strings.Replace(old, "UNIQUE (uscc, type_code, serial, version),", "UNIQUE (uscc, type_code, serial),", 1)
	if old == baseSchema || strings.Contains(old, "version ") {
		t.Fatal("could not rebuild the old baseSchema from the current one")
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	insert := `INSERT INTO licenses (identifier, uscc, type_code, serial, holder_code, status, status_index, record, credential, receipt, issued_at, request_key)
		VALUES (?, 'U', 'T', 'S1', 'H', 'active', ?, '{}', x'00', '{}', '2026-01-01T00:00:00Z', ?)`
	for _, q := range []string{old} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(insert, "id-001", 1, "rk"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO status_events (identifier, status, reason, actor, at, receipt) VALUES ('id-001', 'suspended', 'penalty', 'a', 'now', '')`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	st, err := openSQLite(path)
	if err != nil {
		t.Fatalf("open old store: %v", err)
	}
	defer st.Close()
	var version string
	if err := st.db.QueryRow(`SELECT version FROM licenses WHERE identifier = 'id-001'`).Scan(&version); err != nil || version != "001" {
		t.Fatalf("migrated row's version %q, %v", version, err)
	}
	var events int
	if err := st.db.QueryRow(`SELECT COUNT(*) FROM status_events WHERE identifier = 'id-001'`).Scan(&events); err != nil || events != 1 {
		t.Fatalf("status events after migration: %d, %v", events, err)
	}
	v2 := strings.Replace(insert, "(identifier, uscc", "(version, identifier, uscc", 1)
	v2 = strings.Replace(v2, "VALUES (?", "VALUES ('002', ?", 1)
	if _, err := st.db.Exec(v2, "id-002", 2, nil); err != nil {
		t.Fatalf("second version of a serial: %v", err)
	}
	if _, err := st.db.Exec(v2, "id-002b", 3, nil); err == nil {
		t.Fatal("a duplicate version of a serial was stored")
	}
	if _, err := st.db.Exec(strings.Replace(insert, "'S1'", "'S2'", 1), "id-001b", 4, "rk"); err == nil {
		t.Fatal("the request-key index did not survive the migration")
	}
	var fk int
	if err := st.db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign keys after migration: %d, %v", fk, err)
	}
}
