package registry

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver (PostgreSQL)
	_ "modernc.org/sqlite"             // registers the pure-Go "sqlite" driver

	"zhengzhao/ledger"
	"zhengzhao/license"
	"zhengzhao/signing/seal"
)

// Store is where the registry keeps what is not on the ledger: departments
// and their (encrypted) keys, licenses with the personal data they carry,
// statuses, accounts, sessions, sign-in throttles, tokens, use codes and
// the usage record. Everything several instances must share lives here,
// serial numbers and status-list slots included: they are allocated in the
// database, never in process memory.
//
// OpenSQLite and OpenPostgres return the two implementations; both run the
// same SQL (see dialect) and pass the same conformance suite
// (store_conformance_test.go). Only cmd/zhengzhao chooses between them.
type Store interface {
	licenseStore
	departmentStore
	statusStore
	directoryStore
	useStore
	itemStore
	catalogStore
	importStore
	sharedStore
	recordStore
	// Close waits for queued writes and closes the database.
	Close() error
}

// itemStore keeps the 用证清单 (service items, every version) and the items
// each service hall handles.
type itemStore interface {
	insertServiceItem(ctx context.Context, it ServiceItem) (bool, error)
	serviceItem(ctx context.Context, code string) (ServiceItem, error)
	serviceItems(ctx context.Context) ([]ServiceItem, error)
	serviceItemVersions(ctx context.Context, code string) ([]ServiceItem, error)
	putServiceHall(ctx context.Context, h ServiceHall) error
	serviceHall(ctx context.Context, name string) (ServiceHall, error)
	serviceHalls(ctx context.Context) ([]ServiceHall, error)
	// takeRate counts one more action under key, or answers a
	// *ThrottledError when max were counted within window before now.
	takeRate(ctx context.Context, key string, max int, window time.Duration, now time.Time) error
}

// licenseStore keeps licenses and hands out their serials and slots.
type licenseStore interface {
	// insertLicense stores a new license and returns once it is committed.
	insertLicense(ctx context.Context, lic *License, sealID string, sealDER []byte) error
	// insertLicenses stores licenses issued together in one transaction,
	// one error per license (a row that breaks a constraint is retried
	// alone, so it takes no other down with it).
	insertLicenses(lics []*License, sealID string, sealDER []byte) []error
	// requestKeyIDs maps the department's request keys that name a license
	// to its identifier.
	requestKeyIDs(ctx context.Context, uscc string, keys []string) (map[string]string, error)
	license(ctx context.Context, id string) (*License, error)
	// licenseByRequestKey is nil, nil when no license has the key.
	licenseByRequestKey(ctx context.Context, uscc, key string) (*License, error)
	list(ctx context.Context, f ListFilter) ([]*License, error)
	// nextSerial hands out the next number of a department's type in a
	// year, one that no caller on any store handle got before.
	nextSerial(ctx context.Context, uscc, typeCode, year string) (int, error)
	// nextSerials is nextSerial need[year] times for each year, with one
	// transaction at most.
	nextSerials(ctx context.Context, uscc, typeCode string, need map[string]int) (map[string][]int, error)
	// allocateSlot hands out a free status-list slot of a department;
	// opened reports that a new list was opened for it.
	allocateSlot(ctx context.Context, uscc string, pick func() (int, error)) (slot int, opened bool, err error)
	// allocateSlots is allocateSlot for n slots at once.
	allocateSlots(ctx context.Context, uscc string, n int, pick func() (int, error)) (slots []int, opened bool, err error)
	heldLicense(ctx context.Context, typeCode, holderCode string) (string, license.Status, error)
	// heldLicenses is heldLicense for many holders at once: for each one
	// that holds an active or suspended license of its type, that license
	// (the lowest identifier when there are several).
	heldLicenses(ctx context.Context, holders []holderOf) (map[holderOf]heldLicense, error)
	// claimHolders claims one-active holders for owner across every handle
	// of the store (holder_claims) and returns the ones another owner
	// holds; releaseHolders drops owner's claims.
	claimHolders(ctx context.Context, owner string, holders []holderOf, now time.Time) (taken map[holderOf]bool, err error)
	releaseHolders(ctx context.Context, owner string, holders []holderOf) error
	// releaseInstanceClaims drops the claims of an instance's earlier run.
	releaseInstanceClaims(ctx context.Context, instance string) error
	licenseIDs(ctx context.Context, after string, limit int) ([]string, error)
	eachAnchor(ctx context.Context, uscc string, f func(ledger.Receipt, string) error) error
	savePendingVersion(ctx context.Context, p pendingVersion, predecessor string, at time.Time) error
	dropPendingVersion(ctx context.Context, id string) error
	pendingVersions(ctx context.Context) ([]pendingVersion, error)
}

// departmentStore keeps departments, their keys and seals, and the catalog.
type departmentStore interface {
	insertDepartment(ctx context.Context, d *Department, k *DepartmentKey, sl *Seal) error
	insertRotatedKey(ctx context.Context, k *DepartmentKey, sl *Seal) error
	insertSealOnly(ctx context.Context, sl *Seal) error
	departments(ctx context.Context) ([]*Department, error)
	departmentExists(ctx context.Context, uscc string) (bool, error)
	// keys lists a department's keys oldest first; of keys made in the
	// same second (their valid_from is truncated), the active one last.
	keys(ctx context.Context, uscc string) ([]DepartmentKey, error)
	setKeyRevoked(ctx context.Context, keyID string, from time.Time, reason string) error
	seals(ctx context.Context, uscc string) ([]Seal, error)
	activeSeal(ctx context.Context, uscc string) (*seal.Seal, error)
	// sealDER returns the DER of the seal with the id.
	sealDER(sealID string) ([]byte, error)
}

// statusStore keeps statuses in the ledger's order, status lists and the
// store's own bookkeeping.
type statusStore interface {
	meta(ctx context.Context, key string) (string, error)
	setMeta(ctx context.Context, key, value string) error
	// sawLedgerSize records that the ledger reached size (it never goes down).
	sawLedgerSize(ctx context.Context, size uint64) error
	ledgerSizeSeen(ctx context.Context) (uint64, error)
	statusLists(ctx context.Context) ([]statusListRow, error)
	statusListGen(ctx context.Context, uscc string, list int) (int64, error)
	listStatuses(ctx context.Context, uscc string, list int) (map[int]license.Status, error)
	resignLists(ctx context.Context, uscc string) error
	markIntent(ctx context.Context, id string, at time.Time) error
	clearIntent(ctx context.Context, id string) error
	intents(ctx context.Context) ([]string, error)
	writeStatus(ctx context.Context, w statusWrite) (bool, error)
	statusOf(ctx context.Context, id string) (license.Status, string, int64, error)
}

// directoryStore keeps accounts, sessions, sign-in throttles and tokens.
type directoryStore interface {
	insertAccount(ctx context.Context, a *Account, hash string) error
	accounts(ctx context.Context) ([]*Account, error)
	accountByUsername(ctx context.Context, username string) (*Account, string, error)
	accountByID(ctx context.Context, id int64) (*Account, error)
	setDisabled(ctx context.Context, id int64, disabled bool) error
	setPassword(ctx context.Context, id int64, hash, keep string) error
	departmentExists(ctx context.Context, uscc string) (bool, error)
	takeAttempt(ctx context.Context, keys []throttleKey, now time.Time) error
	forgiveAttempt(ctx context.Context, keys []throttleKey) error
	forgetLoginFailures(ctx context.Context, user string) error
	prune(ctx context.Context, now, before time.Time) error
	insertSession(ctx context.Context, hash string, account int64, created, expires time.Time) error
	session(ctx context.Context, hash string) (*Account, time.Time, error)
	deleteSession(ctx context.Context, hash string) error
	addFailure(ctx context.Context, key string, at time.Time) error
	failures(ctx context.Context, key string, since time.Time) (int, time.Time, error)
	insertToken(ctx context.Context, hash string, t *Token) error
	tokenByHash(ctx context.Context, hash string) (*Token, error)
	tokenByID(ctx context.Context, id string) (*Token, error)
	tokens(ctx context.Context) ([]*Token, error)
	revokeToken(ctx context.Context, id string, at time.Time) (int64, error)
	Close() error
}

// useStore keeps use codes and the usage record.
type useStore interface {
	insertUseCode(ctx context.Context, hash, holder string, u *UseCode) error
	useCodeByHash(ctx context.Context, hash string) (*UseCode, string, error)
	useCodes(ctx context.Context, holder string) ([]*UseCode, error)
	spendUseCode(ctx context.Context, hash, by string, at time.Time) (bool, error)
	revokeUseCode(ctx context.Context, holder, id string, at time.Time) (int64, error)
	insertUse(ctx context.Context, u usageRow) error
	usageRecords(ctx context.Context, holder string) ([]UsageRecord, error)
	report(ctx context.Context, lo, hi time.Time, dept string) ([]ReportRow, error)
}

var _ Store = (*store)(nil)

// store implements Store on database/sql, for SQLite and PostgreSQL.
// Writes of new licenses go through a group committer so that concurrent
// issues share one transaction (and one fsync).
type store struct {
	db      sqlDB
	pending chan *pendingInsert
	done    chan struct{}

	sealMu   sync.Mutex
	sealDERs map[string]sealParts // by seal id, as restoreSeal needs them

	alloc allocator
	stmts stmtCache // statements of the issue path, prepared once

	ckpt *walCheckpointer // SQLite's background checkpoints; nil on PostgreSQL
}

type pendingInsert struct {
	lic  *License
	errc chan error

	packedRow // the columns packLicense makes
	// the seal signature as stored: without the seal it carries
	stripped []byte
	cut      sealCut
}

// sealCut says what was cut out of a stored seal signature: the seal (its
// DER, ~35 KB, is in the seals table once) at sealOffset and then the
// signer's certificate (~600 B, in department_keys once) at certOffset,
// -1 when it was not cut. sealID is "" when nothing was cut.
type sealCut struct {
	sealID                 string
	sealOffset, certOffset int
}

// sealParts are the seal's DER and its key's certificate.
type sealParts struct{ der, cert []byte }

// OpenSQLite opens (creating if need be) the SQLite store at path and
// brings its schema up to date.
func OpenSQLite(path string) (Store, error) { return openSQLite(path) }

// sqliteDSN is the modernc.org/sqlite data source of the file at path with
// the pragmas each connection runs when it opens, in order, and the query
// parameters extra.
func sqliteDSN(path string, extra url.Values, pragmas ...string) string {
	q := url.Values{}
	for k, v := range extra {
		q[k] = v
	}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	return "file:" + path + "?" + q.Encode()
}

func openSQLite(path string) (*store, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := createSQLite(path); err != nil {
			return nil, err
		}
	}
	// busy_timeout first: the pragmas run in order when a connection opens,
	// and switching to WAL while another process writes must wait, not
	// fail at once with SQLITE_BUSY.
	db, err := sql.Open("sqlite", sqliteDSN(path, url.Values{"_txlock": {"immediate"}},
		"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)", "cache_size(-65536)",
		fmt.Sprintf("wal_autocheckpoint(%d)", walBackstopPages), fmt.Sprintf("journal_size_limit(%d)", walKeepBytes)))
	if err != nil {
		return nil, fmt.Errorf("registry: open store %s: %w", path, err)
	}
	// One connection: SQLite has one writer anyway, and this keeps the WAL
	// reader/writer story simple. Reads are fast enough on it for now.
	db.SetMaxOpenConns(1)
	s, err := openDB(sqlDB{db, dialectSQLite})
	if err != nil {
		return nil, err
	}
	if s.ckpt, err = startCheckpointer(path); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// createSQLite makes an empty SQLite database with 16 KiB pages: a license
// row is ~3 KB, and the default 4 KiB pages hold one such row each. (The
// page size is fixed once the database is in WAL mode.)
func createSQLite(path string) error {
	db, err := sql.Open("sqlite", sqliteDSN(path, nil, "busy_timeout(10000)"))
	if err != nil {
		return fmt.Errorf("registry: create store %s: %w", path, err)
	}
	defer db.Close()
	// The first write makes the file, with the page size set before it;
	// a second process creating it at once waits, and its page size is
	// then a no-op.
	if _, err := db.Exec(`PRAGMA page_size = 16384; PRAGMA user_version = 0`); err != nil {
		return fmt.Errorf("registry: create store %s: %w", path, err)
	}
	return db.Close()
}

// nullString is NULL for "".
func nullString(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// nullOffset is NULL for -1.
func nullOffset(v int) any {
	if v < 0 {
		return nil
	}
	return v
}

// OpenPostgres opens the PostgreSQL store at uri (postgres://user@host/db…)
// and brings its schema up to date.
func OpenPostgres(ctx context.Context, uri string) (Store, error) { return openPostgres(ctx, uri) }

func openPostgres(ctx context.Context, uri string) (*store, error) {
	db, err := sql.Open("pgx", uri)
	if err != nil {
		return nil, fmt.Errorf("registry: open store: %w", err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("registry: open store %s: %w", redactURI(uri), err)
	}
	s, err := openDB(sqlDB{db, dialectPostgres})
	if err != nil {
		return nil, err
	}
	if err := tunePostgres(ctx, s.db); err != nil { // store_pg.go
		s.Close()
		return nil, err
	}
	return s, nil
}

// redactURI hides a password a store URI may carry.
func redactURI(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return "(unparsable URI)"
	}
	return u.Redacted()
}

func openDB(db sqlDB) (*store, error) {
	err := migrate(context.Background(), db)
	// SQLite answers SQLITE_BUSY at once, whatever busy_timeout says, when
	// two processes open a new database together and one is switching it
	// to WAL: wait for that switch a while and try again.
	for try := 0; try < 50 && db.d == dialectSQLite && sqliteBusy(err); try++ {
		time.Sleep(20 * time.Millisecond)
		err = migrate(context.Background(), db)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &store{db: db, pending: make(chan *pendingInsert, 4096), done: make(chan struct{}), sealDERs: map[string]sealParts{}}
	if err := s.prepareChunks(); err != nil {
		db.Close()
		return nil, err
	}
	go s.commitLoop()
	return s, nil
}

// sqliteBusy reports whether err is SQLite's SQLITE_BUSY (5, with any
// extended code).
func sqliteBusy(err error) bool {
	var se interface{ Code() int }
	return errors.As(err, &se) && se.Code()&0xff == 5
}

// restoreSeal puts back what was cut out of a stored seal signature.
func (s *store) restoreSeal(stripped []byte, cut sealCut) ([]byte, error) {
	parts, err := s.sealParts(cut.sealID)
	if err != nil {
		return nil, err
	}
	sig := stripped
	if cut.certOffset >= 0 {
		if sig, err = insertAt(sig, cut.certOffset, parts.cert); err != nil {
			return nil, fmt.Errorf("certificate: %w", err)
		}
	}
	return insertAt(sig, cut.sealOffset, parts.der)
}

// insertAt returns b with part inserted at offset.
func insertAt(b []byte, offset int, part []byte) ([]byte, error) {
	if offset < 0 || offset > len(b) {
		return nil, fmt.Errorf("offset %d outside %d bytes", offset, len(b))
	}
	out := make([]byte, 0, len(b)+len(part))
	return append(append(append(out, b[:offset]...), part...), b[offset:]...), nil
}

// cutOut returns b without the first part, and where it was; -1 when b
// does not hold it.
func cutOut(b, part []byte) ([]byte, int) {
	i := bytes.Index(b, part)
	if i < 0 || len(part) == 0 {
		return b, -1
	}
	return append(bytes.Clone(b[:i]), b[i+len(part):]...), i
}

// sealDER returns the DER of the seal with the id.
func (s *store) sealDER(sealID string) ([]byte, error) {
	parts, err := s.sealParts(sealID)
	return parts.der, err
}

// sealParts returns the DER of the seal with the id and its key's
// certificate, from a cache: neither ever changes.
func (s *store) sealParts(sealID string) (sealParts, error) {
	s.sealMu.Lock()
	parts, ok := s.sealDERs[sealID]
	s.sealMu.Unlock()
	if !ok {
		if err := s.db.QueryRow(`SELECT s.der, k.cert_der FROM seals s JOIN department_keys k ON k.key_id = s.key_id WHERE s.id = ?`,
			sealID).Scan(&parts.der, &parts.cert); err != nil {
			return parts, fmt.Errorf("seal %s: %w", sealID, err)
		}
		s.sealMu.Lock()
		s.sealDERs[sealID] = parts
		s.sealMu.Unlock()
	}
	return parts, nil
}

func addColumns(db *sql.DB, table string, cols map[string]string) error {
	rows, err := db.Query(`SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return fmt.Errorf("registry: columns of %s: %w", table, err)
	}
	have := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		have[name] = true
	}
	rows.Close()
	for _, name := range slices.Sorted(maps.Keys(cols)) {
		if have[name] {
			continue
		}
		if _, err := db.Exec(`ALTER TABLE ` + table + ` ADD COLUMN ` + name + ` ` + cols[name]); err != nil {
			return fmt.Errorf("registry: add column %s.%s: %w", table, name, err)
		}
	}
	return nil
}

func (s *store) Close() error {
	close(s.pending)
	<-s.done
	err := s.releaseBlocks(context.Background())
	if s.ckpt != nil {
		err = errors.Join(err, s.ckpt.Close())
	}
	return errors.Join(err, s.db.Close())
}

// insertLicense stores a license and returns once it is committed. Its seal
// signature is stored without the seal (sealDER, id sealID) and the signer's
// certificate that every SES_Signature carries whole (sealCut).
func (s *store) insertLicense(ctx context.Context, lic *License, sealID string, sealDER []byte) error {
	p, err := s.pendingOf(lic, sealID, sealDER)
	if err != nil {
		return err
	}
	p.errc = make(chan error, 1)
	select {
	case s.pending <- p:
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued the insert will be committed or fail; wait for the answer
	// even if ctx ends, so an acknowledged license is never in doubt.
	return <-p.errc
}

// pendingOf is the insert of a license as its row stores it: packed
// (packLicense), its seal signature without the seal (sealDER, id sealID)
// and the signer's certificate.
func (s *store) pendingOf(lic *License, sealID string, sealDER []byte) (*pendingInsert, error) {
	row, err := packLicense(lic)
	if err != nil {
		return nil, err
	}
	p := &pendingInsert{lic: lic, packedRow: row, stripped: lic.SealSignature}
	if c := lic.sealCut; c != nil {
		// Made cut: stored as made when the store's seal and certificate
		// are the ones it was made with, else whole (and cut below).
		parts, err := s.sealParts(sealID)
		if err != nil {
			return nil, err
		}
		if bytes.Equal(parts.der, sealDER) && bytes.Equal(parts.cert, lic.sealCert) {
			p.stripped, p.cut = c.Stripped, sealCut{sealID: sealID, sealOffset: c.SealOffset, certOffset: c.CertOffset}
			return p, nil
		}
		p.stripped = c.Join(sealDER, lic.sealCert)
	}
	if stripped, i := cutOut(p.stripped, sealDER); i >= 0 {
		p.stripped, p.cut = stripped, sealCut{sealID: sealID, sealOffset: i, certOffset: -1}
		parts, err := s.sealParts(sealID)
		if err != nil {
			return nil, err
		}
		p.stripped, p.cut.certOffset = cutOut(p.stripped, parts.cert)
	}
	return p, nil
}

// commitLoop takes every queued insert, writes them in one transaction and
// answers each caller. A row that fails (a constraint) is retried alone so it
// cannot take the others down with it.
func (s *store) commitLoop() {
	defer close(s.done)
	for first := range s.pending {
		batch := []*pendingInsert{first}
	drain:
		for len(batch) < 1024 {
			select {
			case p, ok := <-s.pending:
				if !ok {
					break drain
				}
				batch = append(batch, p)
			default:
				break drain
			}
		}
		if err := s.insertBatch(batch); err != nil {
			for _, p := range batch {
				p.errc <- s.insertBatch([]*pendingInsert{p})
			}
			continue
		}
		for _, p := range batch {
			p.errc <- nil
		}
	}
}

func (s *store) insertBatch(batch []*pendingInsert) error {
	if s.db.d == dialectPostgres && len(batch) > 1 {
		return s.copyLicenses(batch) // store_pg_copy.go
	}
	tx, err := s.db.Begin()
	if err != nil {
		return fmt.Errorf("registry: begin: %w", err)
	}
	defer tx.Rollback()
	if err := insertNotes(tx, batch); err != nil {
		return err
	}
	var size uint64 // the largest ledger size the batch shows
	// Many rows a statement: one round trip for them on PostgreSQL.
	ins := licenseInsert()
	for _, p := range batch {
		ins.add(p.rowArgs()...)
		size = max(size, p.lic.Receipt.TreeSize)
	}
	if _, err := ins.exec(context.Background(), tx, s.txStmt(context.Background(), tx)); err != nil {
		if len(batch) == 1 {
			return fmt.Errorf("registry: insert license %s: %w", batch[0].lic.Identifier, err)
		}
		return fmt.Errorf("registry: insert licenses: %w", err)
	}
	if err := sawLedgerSize(context.Background(), tx, size); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("registry: commit: %w", err)
	}
	return nil
}

// rowArgs are the values of the row's insertLicenseSQL columns, in order.
func (p *pendingInsert) rowArgs() []any {
	l := p.lic
	var reqKey any
	if l.RequestKey != "" {
		reqKey = l.RequestKey
	}
	return []any{l.Identifier, l.Department, l.TypeCode, l.Serial, l.Version, l.Record.HolderCode, string(l.Status),
		l.StatusIndex, p.record, p.credential, p.receipt, sortableTime(l.IssuedAt), reqKey, p.compact, p.stripped,
		nullString(p.cut.sealID), p.cut.sealOffset, nullOffset(p.cut.certOffset), int64(l.Receipt.LogIndex), p.packed, p.noteDigest}
}

// licenseInsert is the INSERT of new license rows (rowArgs).
func licenseInsert() *multiRowInsert {
	return newMultiRowInsert(insertLicenseSQL, insertLicenseRow, "")
}

const (
	insertLicenseSQL = `INSERT INTO licenses (identifier, uscc, type_code, serial, version, holder_code, status, status_index, record, credential,
		receipt, issued_at, request_key, compact, seal_signature, seal_id, seal_offset, cert_offset, status_log_index, packed, note_digest) VALUES `
	insertLicenseRow = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

const licenseColumns = `identifier, uscc, type_code, serial, version, status, status_reason, status_note, status_index, record, credential, receipt, issued_at, COALESCE(request_key, ''), compact, seal_signature, COALESCE(seal_id, ''), COALESCE(seal_offset, 0), COALESCE(cert_offset, -1), ` + packedColumns

func (s *store) scanLicense(row interface{ Scan(...any) error }) (*License, error) {
	l, cut, err := scanLicenseRow(row)
	if err != nil {
		return nil, err
	}
	return l, s.restoreLicenseSeal(l, cut)
}

// restoreLicenseSeal puts the seal back into a scanned license's seal
// signature. It may query the seals table, so it must not run while a
// *sql.Rows holds the store's one connection.
func (s *store) restoreLicenseSeal(l *License, cut sealCut) error {
	if cut.sealID == "" {
		return nil
	}
	sig, err := s.restoreSeal(l.SealSignature, cut)
	if err != nil {
		return fmt.Errorf("registry: seal signature of %s: %w", l.Identifier, err)
	}
	l.SealSignature = sig
	return nil
}

// scanLicenseRow scans a license with its seal signature still stripped.
func scanLicenseRow(row interface{ Scan(...any) error }) (*License, sealCut, error) {
	var (
		l                         License
		status, rec, rcpt, issued string
		cut                       sealCut
		packed                    []byte
		note                      string
	)
	if err := row.Scan(&l.Identifier, &l.Department, &l.TypeCode, &l.Serial, &l.Version, &status, &l.StatusReason, &l.StatusNote, &l.StatusIndex,
		&rec, &l.Credential, &rcpt, &issued, &l.RequestKey, &l.Compact, &l.SealSignature, &cut.sealID, &cut.sealOffset, &cut.certOffset, &packed, &note); err != nil {
		return nil, cut, err
	}
	l.Status = license.Status(status)
	if err := unpackLicense(&l, rec, rcpt, packed, note); err != nil {
		return nil, cut, err
	}
	l.IssuedAt = parseTime(issued)
	if l.Status == license.StatusSuperseded {
		// The ledger lets only the next version supersede a license.
		if id, err := license.ParseIdentifier(l.Identifier); err == nil {
			if next, err := id.Next(); err == nil {
				l.SupersededBy = next.String()
			}
		}
	}
	return &l, cut, nil
}

func (s *store) license(ctx context.Context, id string) (*License, error) {
	l, err := s.scanLicense(s.db.QueryRowContext(ctx, `SELECT `+licenseColumns+` FROM licenses WHERE identifier = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("license %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT status, reason, note, actor, at FROM status_events WHERE identifier = ? ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var ev StatusRecord
		var status, at string
		if err := rows.Scan(&status, &ev.Reason, &ev.Note, &ev.Actor, &at); err != nil {
			return nil, err
		}
		ev.Status = license.Status(status)
		ev.At = parseTime(at)
		l.History = append(l.History, ev)
	}
	return l, rows.Err()
}

func (s *store) licenseByRequestKey(ctx context.Context, uscc, key string) (*License, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT identifier FROM licenses WHERE uscc = ? AND request_key = ?`, uscc, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return s.license(ctx, id)
}

// ListFilter selects licenses for List.
type ListFilter struct {
	Department string // USCC; empty = all
	TypeCode   string
	Status     license.Status
	HolderCode string
	Limit      int // default 100, at most 1000
	Offset     int
}

func (s *store) list(ctx context.Context, f ListFilter) ([]*License, error) {
	q := `SELECT ` + licenseColumns + ` FROM licenses WHERE 1=1`
	var args []any
	if f.Department != "" {
		q += ` AND uscc = ?`
		args = append(args, f.Department)
	}
	if f.TypeCode != "" {
		q += ` AND type_code = ?`
		args = append(args, f.TypeCode)
	}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	if f.HolderCode != "" {
		q += ` AND holder_code = ?`
		args = append(args, f.HolderCode)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	q += ` ORDER BY issued_at DESC, identifier LIMIT ? OFFSET ?`
	args = append(args, f.Limit, f.Offset)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	// The seals are put back once the rows are closed: restoring may query
	// the seals table, and the store has one connection.
	type scanned struct {
		l   *License
		cut sealCut
	}
	var all []scanned
	for rows.Next() {
		l, cut, err := scanLicenseRow(rows)
		if err != nil {
			return nil, err
		}
		all = append(all, scanned{l, cut})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	out := make([]*License, 0, len(all))
	for _, sc := range all {
		if err := s.restoreLicenseSeal(sc.l, sc.cut); err != nil {
			return nil, err
		}
		out = append(out, sc.l)
	}
	return out, nil
}

// Departments.

func (s *store) insertDepartment(ctx context.Context, d *Department, k *DepartmentKey, sl *Seal) error {
	types, _ := json.Marshal(d.Types)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`INSERT INTO departments (uscc, name, types, created_at) VALUES (?, ?, ?, ?)`,
		d.USCC, d.Name, string(types), sortableTime(d.CreatedAt)); err != nil {
		return fmt.Errorf("registry: insert department %s: %w", d.USCC, err)
	}
	if err := insertKey(tx, k); err != nil {
		return err
	}
	if err := insertSeal(tx, sl); err != nil {
		return err
	}
	return tx.Commit()
}

// insertRotatedKey makes k the department's active key and sl its active seal.
func (s *store) insertRotatedKey(ctx context.Context, k *DepartmentKey, sl *Seal) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`UPDATE department_keys SET active = 0 WHERE uscc = ?`, k.Department); err != nil {
		return fmt.Errorf("registry: retire keys of %s: %w", k.Department, err)
	}
	if err := insertKey(tx, k); err != nil {
		return err
	}
	if err := insertSeal(tx, sl); err != nil {
		return err
	}
	return tx.Commit()
}

// insertSealOnly stores a seal made for a department that had none (a store
// from before seals existed).
func (s *store) insertSealOnly(ctx context.Context, sl *Seal) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := insertSeal(tx, sl); err != nil {
		return err
	}
	return tx.Commit()
}

func insertKey(tx sqlTx, k *DepartmentKey) error {
	_, err := tx.Exec(`INSERT INTO department_keys (key_id, uscc, key_uri, key_pem, cert_der, valid_from, valid_until, active) VALUES (?, ?, ?, ?, ?, ?, ?, 1)`,
		k.KeyID, k.Department, k.KeyURI, k.KeyPEM, k.CertDER, sortableTime(k.ValidFrom), sortableTime(k.ValidUntil))
	if err != nil {
		return fmt.Errorf("registry: insert key %s: %w", k.KeyID, err)
	}
	return nil
}

func (s *store) departments(ctx context.Context) ([]*Department, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT uscc, name, types, created_at FROM departments ORDER BY uscc`)
	if err != nil {
		return nil, err
	}
	var out []*Department
	for rows.Next() {
		var d Department
		var types, created string
		if err := rows.Scan(&d.USCC, &d.Name, &types, &created); err != nil {
			rows.Close()
			return nil, err
		}
		if err := json.Unmarshal([]byte(types), &d.Types); err != nil {
			rows.Close()
			return nil, err
		}
		d.CreatedAt = parseTime(created)
		out = append(out, &d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, d := range out {
		if d.Keys, err = s.keys(ctx, d.USCC); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *store) keys(ctx context.Context, uscc string) ([]DepartmentKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key_id, uscc, key_uri, key_pem, cert_der, valid_from, valid_until, active,
		COALESCE(revoked_from, ''), COALESCE(revoked_reason, '') FROM department_keys WHERE uscc = ? ORDER BY valid_from, active, key_id`, uscc)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DepartmentKey
	for rows.Next() {
		var k DepartmentKey
		var from, until, revoked string
		if err := rows.Scan(&k.KeyID, &k.Department, &k.KeyURI, &k.KeyPEM, &k.CertDER, &from, &until, &k.Active, &revoked, &k.RevocationReason); err != nil {
			return nil, err
		}
		k.ValidFrom, k.ValidUntil = parseTime(from), parseTime(until)
		if revoked != "" {
			t := parseTime(revoked)
			k.RevokedFrom = &t
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// parseTime reads a stored time: sortableTime's form, or the RFC 3339 of
// stores from before migration 3.
func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// migrateVersions lets one serial have several versions in a store made
// before versions existed: it adds the version column and rebuilds the
// licenses table with UNIQUE (uscc, type_code, serial, version) in place of
// UNIQUE (uscc, type_code, serial) — SQLite cannot drop a constraint — as
// SQLite's documented twelve-step procedure does, keeping every column.
func migrateVersions(db *sql.DB) error {
	const oldUnique, newUnique = "UNIQUE (uscc, type_code, serial),", "UNIQUE (uscc, type_code, serial, version),"
	ddl := func() (string, error) {
		var d string
		err := db.QueryRow(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'licenses'`).Scan(&d)
		return d, err
	}
	d, err := ddl()
	if err != nil {
		return fmt.Errorf("registry: schema of licenses: %w", err)
	}
	if !strings.Contains(d, oldUnique) {
		return nil
	}
	if err := addColumns(db, "licenses", map[string]string{"version": `TEXT NOT NULL DEFAULT '001'`}); err != nil {
		return err
	}
	if d, err = ddl(); err != nil {
		return err
	}
	create, ok := strings.CutPrefix(d, "CREATE TABLE licenses")
	if !ok {
		return fmt.Errorf("registry: unexpected schema of licenses: %.40s", d)
	}
	create = "CREATE TABLE licenses_new" + strings.Replace(create, oldUnique, newUnique, 1)
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var indexes []string
	rows, err := conn.QueryContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'licenses' AND sql IS NOT NULL`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var ix string
		if err := rows.Scan(&ix); err != nil {
			rows.Close()
			return err
		}
		indexes = append(indexes, ix)
	}
	rows.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return err
	}
	defer conn.ExecContext(ctx, `PRAGMA foreign_keys = ON`)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	steps := append([]string{create, `INSERT INTO licenses_new SELECT * FROM licenses`, `DROP TABLE licenses`,
		`ALTER TABLE licenses_new RENAME TO licenses`}, indexes...)
	for _, q := range steps {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("registry: migrate licenses to versions: %w", err)
		}
	}
	var bad int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_foreign_key_check`).Scan(&bad); err != nil {
		return err
	}
	if bad > 0 {
		return fmt.Errorf("registry: migrate licenses to versions: %d foreign key violations", bad)
	}
	return tx.Commit()
}
