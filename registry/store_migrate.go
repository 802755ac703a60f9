package registry

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// migration is one versioned change of the store's schema. Each runs once,
// in a transaction with the row that records it in schema_migrations.
type migration struct {
	version int
	name    string
	sql     string                                    // portable SQL (see dialect.ddl)
	fn      func(ctx context.Context, tx sqlTx) error // what SQL alone cannot do
}

// migrations are the store's schema, oldest first. Never edit one that
// shipped: add the next.
var migrations = []migration{
	{version: 1, name: "base", sql: baseSchema},
	{version: 2, name: "allocation and keys in the store", sql: `
-- One row per serial sequence: the last number handed out.
CREATE TABLE IF NOT EXISTS serials (
	uscc      TEXT NOT NULL,
	type_code TEXT NOT NULL,
	year      TEXT NOT NULL,
	last      INTEGER NOT NULL,
	PRIMARY KEY (uscc, type_code, year)
);
-- One row per status-list slot handed out (list × 131072 + index): the
-- primary key is what keeps two instances from handing out one slot twice.
CREATE TABLE IF NOT EXISTS status_slots (
	uscc TEXT NOT NULL,
	slot INTEGER NOT NULL,
	PRIMARY KEY (uscc, slot)
);
INSERT INTO status_slots (uscc, slot) SELECT uscc, status_index FROM licenses WHERE 1 = 1 ON CONFLICT DO NOTHING;
INSERT INTO status_lists (uscc, list, used, gen)
	SELECT uscc, status_index / 131072, COUNT(*), 1 FROM licenses WHERE 1 = 1 GROUP BY uscc, status_index / 131072
	ON CONFLICT DO NOTHING;
-- The department's private key, encrypted with the key passphrase (PKCS#8
-- PEM); key_uri is "store:" for such keys.
ALTER TABLE department_keys ADD COLUMN key_pem BLOB;
CREATE INDEX IF NOT EXISTS seals_uscc ON seals(uscc, valid_start);
`},
	{version: 3, name: "one time format", fn: migrateTimes},
	{version: 4, name: "service items and halls", sql: itemsSchema, fn: seedServiceItems},
	{version: 5, name: "import jobs", sql: importSchema},
	{version: 6, name: "signed bundle and status lists shared by instances", sql: sharedSchema},
	{version: 7, name: "certificates cut out of seal signatures", sql: `
-- Where the signer's certificate was cut out of seal_signature (after the
-- seal was); NULL when it was not.
ALTER TABLE licenses ADD COLUMN cert_offset INTEGER;
`},
	{version: 8, name: "catalog type versions", sql: catalogSchema},
	{version: 9, name: "record log", sql: recordsSchema},
	{version: 10, name: "receipts and compact forms packed, checkpoints once", sql: checkpointNotesSchema},
	{version: 11, name: "one-active holder claims shared by instances", sql: holderClaimsSchema},
}

// baseSchema is the schema as it stood when migrations began.
const baseSchema = `
CREATE TABLE IF NOT EXISTS departments (
	uscc       TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	types      TEXT NOT NULL,           -- JSON array of type codes
	created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS department_keys (
	key_id       TEXT PRIMARY KEY,
	uscc         TEXT NOT NULL REFERENCES departments(uscc),
	key_uri      TEXT NOT NULL,         -- where the encrypted private key lives (file:...)
	cert_der     BLOB NOT NULL,
	valid_from   TEXT NOT NULL,
	valid_until  TEXT NOT NULL,
	active       INTEGER NOT NULL,      -- 1 for the key new licenses are signed with
	revoked_from TEXT,
	revoked_reason TEXT
);
CREATE TABLE IF NOT EXISTS catalog (
	code TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	body TEXT NOT NULL                  -- the catalog entry as JSON
);
CREATE TABLE IF NOT EXISTS licenses (
	identifier   TEXT PRIMARY KEY,
	uscc         TEXT NOT NULL,
	type_code    TEXT NOT NULL,
	serial       TEXT NOT NULL,
	version      TEXT NOT NULL DEFAULT '001', -- the identifier's version segment
	holder_code  TEXT NOT NULL,         -- personal data: lives only in this store
	status       TEXT NOT NULL,
	status_reason TEXT NOT NULL DEFAULT '',
	status_index INTEGER NOT NULL,
	record       TEXT NOT NULL,         -- license.Record JSON
	credential   BLOB NOT NULL,         -- the signed credential, exact bytes
	receipt      TEXT NOT NULL,         -- ledger.Receipt JSON of the anchor
	issued_at    TEXT NOT NULL,
	request_key  TEXT,                  -- idempotency key of the issue request, if any
	compact      TEXT NOT NULL DEFAULT '', -- the ZZ1: compact form printed as the QR code
	seal_signature BLOB,                -- the SES_Signature sealing the credential bytes, its seal cut out
	seal_id      TEXT,                  -- the seal cut out of seal_signature (seals.id)
	seal_offset  INTEGER,               -- where in seal_signature the seal's DER goes back
	status_note  TEXT NOT NULL DEFAULT '',
	status_log_index INTEGER NOT NULL DEFAULT -1,
	UNIQUE (uscc, type_code, serial, version),
	UNIQUE (uscc, status_index)
);
CREATE UNIQUE INDEX IF NOT EXISTS licenses_request_key ON licenses(uscc, request_key) WHERE request_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS licenses_holder ON licenses(holder_code);
CREATE TABLE IF NOT EXISTS status_events (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	identifier TEXT NOT NULL REFERENCES licenses(identifier),
	status     TEXT NOT NULL,
	reason     TEXT NOT NULL,
	actor      TEXT NOT NULL,
	at         TEXT NOT NULL,
	receipt    TEXT NOT NULL,
	note       TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS seals (
	id          TEXT PRIMARY KEY,       -- esID
	uscc        TEXT NOT NULL REFERENCES departments(uscc),
	key_id      TEXT NOT NULL REFERENCES department_keys(key_id),
	der         BLOB NOT NULL,          -- the SESeal made by the platform
	valid_start TEXT NOT NULL,
	valid_end   TEXT NOT NULL,
	active      INTEGER NOT NULL        -- 1 for the seal new licenses are sealed with
);
CREATE TABLE IF NOT EXISTS tokens (
	hash       TEXT PRIMARY KEY,        -- hex SHA-256 of the token; the token itself is never stored
	role       TEXT NOT NULL,
	uscc       TEXT NOT NULL DEFAULT '',
	name       TEXT NOT NULL,
	created_at TEXT NOT NULL,
	id         TEXT,
	expires_at TEXT NOT NULL DEFAULT '',
	revoked_at TEXT,
	created_by TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS tokens_id ON tokens(id);
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
-- One row per status list of a department: how many of its 131,072 entries
-- are handed out, and a generation that grows with every bit that changes.
CREATE TABLE IF NOT EXISTS status_lists (
	uscc TEXT NOT NULL,
	list INTEGER NOT NULL,
	used INTEGER NOT NULL,
	gen  INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (uscc, list)
);
-- Status changes written to the ledger whose store update has not yet
-- committed. Open repairs every one left by a crash from the ledger's state.
CREATE TABLE IF NOT EXISTS status_intents (
	identifier TEXT PRIMARY KEY,
	at         TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pending_versions (
	identifier TEXT PRIMARY KEY,
	body       BLOB NOT NULL              -- pendingVersion JSON
);

CREATE TABLE IF NOT EXISTS accounts (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	username    TEXT NOT NULL UNIQUE,
	password    TEXT NOT NULL,          -- argon2id in PHC string form, never the password
	role        TEXT NOT NULL,
	uscc        TEXT NOT NULL DEFAULT '', -- department, for officers
	hall        TEXT NOT NULL DEFAULT '', -- service hall, for clerks
	holder_code TEXT NOT NULL DEFAULT '', -- citizen ID or USCC, for holders
	holder_code_type TEXT NOT NULL DEFAULT '',
	name        TEXT NOT NULL,
	created_at  TEXT NOT NULL,
	disabled    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sessions (
	hash       TEXT PRIMARY KEY,        -- hex SHA-256 of the session token
	account_id INTEGER NOT NULL REFERENCES accounts(id),
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS attempt_failures (
	key TEXT NOT NULL,                  -- "login:<username>", "ip:<addr>", "redeem:<account>"
	at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attempt_failures_key ON attempt_failures(key, at);
CREATE TABLE IF NOT EXISTS use_codes (
	hash         TEXT PRIMARY KEY,      -- hex SHA-256 of the code; the code itself is never stored
	id           TEXT NOT NULL UNIQUE,  -- public id, for listing and withdrawing
	identifier   TEXT NOT NULL REFERENCES licenses(identifier),
	holder_code  TEXT NOT NULL,
	fields       TEXT NOT NULL,         -- JSON array of field keys; empty = all
	purpose      TEXT NOT NULL,
	service_item TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	expires_at   TEXT NOT NULL,
	used_at      TEXT,
	used_by      TEXT,
	revoked_at   TEXT
);
CREATE INDEX IF NOT EXISTS use_codes_holder ON use_codes(holder_code, created_at);
CREATE TABLE IF NOT EXISTS usage (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	identifier   TEXT NOT NULL,
	holder_code  TEXT NOT NULL,
	uscc         TEXT NOT NULL,
	type_code    TEXT NOT NULL,
	mode         TEXT NOT NULL,
	actor        TEXT NOT NULL,
	hall         TEXT NOT NULL,
	purpose      TEXT NOT NULL,
	service_item TEXT NOT NULL,
	verdict      TEXT NOT NULL,
	at           TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_holder ON usage(holder_code, at);
CREATE INDEX IF NOT EXISTS usage_at ON usage(at);
CREATE TABLE IF NOT EXISTS login_throttle (
	key       TEXT PRIMARY KEY,         -- "pair:<user name>|<client>", "client:<client>", "change:<account id>"
	failures  INTEGER NOT NULL,         -- attempts counted (before their check) and not forgiven
	next_at   TEXT NOT NULL,            -- no attempt is checked before this time
	last_at   TEXT NOT NULL
);
`

// migrate brings the store's schema up to date: it runs, in order, every
// migration schema_migrations does not list. Several instances may start
// at once: each migration's transaction holds a lock on schema_migrations
// and checks again that it is not applied.
func migrate(ctx context.Context, db sqlDB) error {
	if err := createMigrationsTable(ctx, db); err != nil {
		return fmt.Errorf("registry: create schema_migrations: %w", err)
	}
	applied, err := appliedMigrations(ctx, db)
	if err != nil {
		return err
	}
	if !applied[1] && db.d == dialectSQLite {
		// A store made before migrations existed is brought to the base
		// schema by the checks it was kept up to date with then.
		if err := upgradeLegacySQLite(ctx, db); err != nil {
			return err
		}
	}
	for _, m := range migrations {
		if applied[m.version] {
			continue
		}
		if err := runMigration(ctx, db, m); err != nil {
			return fmt.Errorf("registry: migration %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}

// createMigrationsTable makes schema_migrations if it is missing. On
// PostgreSQL, two instances creating it at once would collide: the
// transaction holds migrationLock first.
func createMigrationsTable(ctx context.Context, db sqlDB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := lockMigrations(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return err
	}
	return tx.Commit()
}

// migrationLock is the PostgreSQL advisory lock that migrations hold.
const migrationLock = 0x7a686d69 // "zhmi"

// lockMigrations serializes migrating transactions: SQLite's begin
// IMMEDIATE already does; PostgreSQL takes an advisory lock until the
// transaction ends.
func lockMigrations(ctx context.Context, tx sqlTx) error {
	if tx.d != dialectPostgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, migrationLock)
	return err
}

func appliedMigrations(ctx context.Context, db sqlDB) (map[int]bool, error) {
	versions, err := migrationVersions(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("registry: read schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	for _, v := range versions {
		applied[v] = true
	}
	return applied, nil
}

// migrationVersions lists the versions schema_migrations holds, ascending.
func migrationVersions(ctx context.Context, db sqlDB) ([]int, error) {
	rows, err := db.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func runMigration(ctx context.Context, db sqlDB, m migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := lockMigrations(ctx, tx); err != nil {
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil // another instance ran it meanwhile
	}
	if m.sql != "" {
		if _, err := tx.ExecContext(ctx, db.d.ddl(m.sql)); err != nil {
			return err
		}
	}
	if m.fn != nil {
		if err := m.fn(ctx, tx); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, sortableTime(time.Now())); err != nil {
		return err
	}
	return tx.Commit()
}

// MigrationState is the schema version of a store: the migrations it has
// and the ones this build knows.
type MigrationState struct {
	Applied []int // versions applied, ascending
	Latest  int   // the newest version this build knows
}

// Migrations reports the migrations applied to a store (OpenSQLite and
// OpenPostgres run every pending one).
func Migrations(ctx context.Context, st Store) (MigrationState, error) {
	s, ok := st.(*store)
	if !ok {
		return MigrationState{}, errors.New("registry: not a SQL store")
	}
	applied, err := migrationVersions(ctx, s.db)
	return MigrationState{Applied: applied, Latest: migrations[len(migrations)-1].version}, err
}

// migrateTimes rewrites the times older versions stored in RFC 3339 with
// trimmed fractions into the one fixed-width form (sortableTime), so that
// every stored time compares correctly as text.
func migrateTimes(ctx context.Context, tx sqlTx) error {
	for _, c := range []struct{ table, key, col string }{
		{"departments", "uscc", "created_at"},
		{"department_keys", "key_id", "valid_from"},
		{"department_keys", "key_id", "valid_until"},
		{"department_keys", "key_id", "revoked_from"},
		{"licenses", "identifier", "issued_at"},
		{"status_events", "id", "at"},
		{"status_intents", "identifier", "at"},
		{"seals", "id", "valid_start"},
		{"seals", "id", "valid_end"},
	} {
		rows, err := tx.QueryContext(ctx, `SELECT `+c.key+`, `+c.col+` FROM `+c.table+` WHERE `+c.col+` IS NOT NULL AND length(`+c.col+`) <> ?`,
			len(sortableTime(time.Time{})))
		if err != nil {
			return err
		}
		type fix struct {
			key any
			at  string
		}
		var fixes []fix
		for rows.Next() {
			var k any
			var at string
			if err := rows.Scan(&k, &at); err != nil {
				rows.Close()
				return err
			}
			t, err := time.Parse(time.RFC3339Nano, at)
			if err != nil {
				continue // not a time this store wrote
			}
			fixes = append(fixes, fix{k, sortableTime(t)})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, f := range fixes {
			if _, err := tx.ExecContext(ctx, `UPDATE `+c.table+` SET `+c.col+` = ? WHERE `+c.key+` = ?`, f.at, f.key); err != nil {
				return err
			}
		}
	}
	return nil
}

// upgradeLegacySQLite brings a SQLite store made before schema_migrations
// existed to the base schema; a new store has no tables and is left as it
// is.
func upgradeLegacySQLite(ctx context.Context, db sqlDB) error {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'licenses'`).Scan(&n); err != nil || n == 0 {
		return err
	}
	if err := migrateVersions(db.DB); err != nil {
		return err
	}
	cols := []struct {
		table string
		cols  map[string]string
	}{
		{"licenses", map[string]string{
			"compact":          `TEXT NOT NULL DEFAULT ''`,
			"seal_signature":   `BLOB`,
			"seal_id":          `TEXT`,
			"seal_offset":      `INTEGER`,
			"status_reason":    `TEXT NOT NULL DEFAULT ''`,
			"status_note":      `TEXT NOT NULL DEFAULT ''`,
			"status_log_index": `INTEGER NOT NULL DEFAULT -1`,
		}},
		{"status_events", map[string]string{"note": `TEXT NOT NULL DEFAULT ''`}},
	}
	for _, c := range cols {
		if err := addColumns(db.DB, c.table, c.cols); err != nil {
			return err
		}
	}
	var tokens int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'tokens'`).Scan(&tokens); err != nil {
		return err
	}
	if tokens > 0 {
		return migrateOperators(db.DB, time.Now())
	}
	return nil
}

// StoreBytes is the space a store's tables and indexes take: the SQLite
// database's pages, or PostgreSQL's relations in the store's schema.
func StoreBytes(ctx context.Context, st Store) (int64, error) {
	s, ok := st.(*store)
	if !ok {
		return 0, errors.New("registry: not a SQL store")
	}
	var n int64
	q := `SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()`
	if s.db.d == dialectPostgres {
		q = `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relkind = 'r' AND n.nspname = current_schema()`
	}
	err := s.db.QueryRowContext(ctx, q).Scan(&n)
	return n, err
}
