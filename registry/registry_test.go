package registry_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"zhengzhao/ledger/embedded"
	"zhengzhao/license"
	"zhengzhao/registry"
	"zhengzhao/verifier"
)

var pass = []byte("test-passphrase")

// world is a registry on a fresh data directory with the demo departments.
type world struct {
	t      testing.TB
	dir    string
	ledger *embedded.Ledger
	reg    *registry.Service
	depts  []registry.DemoDepartment
	admin  registry.Actor
	// storeURI is the PostgreSQL store the world runs on when
	// ZZ_REGISTRY_STORE=postgres; empty means SQLite in dir.
	storeURI string
	store    registry.Store
}

// extraStore opens another handle on the world's PostgreSQL store, closed
// when the test ends; nil (SQLite in dir) otherwise.
func (w *world) extraStore() registry.Store {
	w.t.Helper()
	if w.storeURI == "" {
		return nil
	}
	st, err := registry.OpenPostgres(context.Background(), w.storeURI)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { st.Close() })
	return st
}

// sqliteOnly skips a test that reads or changes the SQLite file itself.
func (w *world) sqliteOnly() {
	w.t.Helper()
	if w.storeURI != "" {
		w.t.Skip("reads the SQLite store file itself")
	}
}

func newWorld(t testing.TB) *world {
	t.Helper()
	dir := t.TempDir()
	if _, err := registry.CreatePlatform(dir, pass, time.Now()); err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, dir: dir, admin: registry.Actor{Role: registry.RoleAdmin, Name: "admin"}}
	if os.Getenv("ZZ_REGISTRY_STORE") == "postgres" {
		if w.storeURI = registry.PostgresForTest(t); w.storeURI == "" {
			t.Fatal("ZZ_REGISTRY_STORE=postgres needs ZZ_POSTGRES")
		}
	}
	w.open()
	w.depts = registry.DemoDepartments(w.reg.Catalog())
	for _, d := range w.depts {
		if _, err := w.reg.RegisterDepartment(context.Background(), w.admin, d.USCC, d.Name, d.Types); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func (w *world) open() {
	w.t.Helper()
	ctx := context.Background()
	p, err := registry.LoadPlatform(w.dir, pass)
	if err != nil {
		w.t.Fatal(err)
	}
	l := openLedger(w.t, w.dir, p)
	w.store = nil
	if w.storeURI != "" {
		if w.store, err = registry.OpenPostgres(ctx, w.storeURI); err != nil {
			l.Close()
			w.t.Fatal(err)
		}
	}
	reg, err := registry.Open(ctx, registry.Config{Dir: w.dir, Store: w.store, Platform: p, Ledger: l, LogOrigin: "test/ledger", Passphrase: pass, Font: testFont(w.t)})
	if err != nil {
		l.Close()
		if w.store != nil {
			w.store.Close()
		}
		w.t.Fatal(err)
	}
	w.ledger, w.reg = l, reg
	w.t.Cleanup(w.close)
}

// openLedger opens the embedded ledger of a data directory.
func openLedger(t testing.TB, dir string, p *registry.Platform) *embedded.Ledger {
	t.Helper()
	l, err := embedded.New(context.Background(), embedded.Config{Dir: filepath.Join(dir, registry.LedgerDir), Signer: p.Log, Origin: "test/ledger"})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (w *world) close() {
	if w.reg != nil {
		w.reg.Close()
		if w.store != nil {
			w.store.Close()
		}
		w.ledger.Close()
		w.reg, w.ledger, w.store = nil, nil, nil
	}
}

func (w *world) issuer(i int) registry.Actor {
	return registry.Actor{Role: registry.RoleIssuer, Department: w.depts[i].USCC, Name: "officer"}
}

// request is a valid issue request for department i's first type.
func (w *world) request(i int) registry.IssueRequest { return w.requestOf(i, 0) }

func (w *world) treeSize() uint64 {
	cp, err := w.ledger.Checkpoint(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return cp.Size
}

func (w *world) bundle() *verifier.TrustBundle {
	raw, err := w.reg.Bundle(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	fp, _, _ := w.reg.Trust()
	b, err := verifier.ParseBundle(raw.JSON, verifier.WithRootFingerprint(fp))
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

func TestIssueAnchorsStoresAndVerifies(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	for i := range w.depts {
		lic, err := w.reg.Issue(ctx, w.issuer(i), w.request(i))
		if err != nil {
			t.Fatalf("issue for %s: %v", w.depts[i].Name, err)
		}
		if _, err := license.ParseIdentifier(lic.Identifier); err != nil {
			t.Errorf("identifier %s: %v", lic.Identifier, err)
		}
		got, err := w.reg.Get(ctx, lic.Identifier)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != license.StatusActive || got.Record.Holder != lic.Record.Holder {
			t.Errorf("stored license = %+v", got)
		}
		st, err := w.ledger.License(ctx, lic.Identifier)
		if err != nil {
			t.Fatalf("ledger does not know %s: %v", lic.Identifier, err)
		}
		if st.Anchor.Issuer != w.depts[i].USCC {
			t.Errorf("anchor issuer = %s", st.Anchor.Issuer)
		}
		doc := docOf(t, got)
		for _, p := range []verifier.Policy{{At: time.Now()}, {At: time.Now(), Online: w.ledger}} {
			res, err := verifier.Verify(ctx, doc, w.bundle(), p)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Valid {
				t.Errorf("online=%v: verdict %s, checks %+v", p.Online != nil, res.Verdict, res.Checks)
			}
		}
	}
}

func docOf(t testing.TB, l *registry.License) []byte {
	t.Helper()
	b, err := json.Marshal(verifier.Document{Credential: l.Credential, Receipt: &l.Receipt})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIssueBadInputChangesNothing(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	good := w.request(0)
	tests := []struct {
		name      string
		actor     registry.Actor
		mutate    func(*registry.IssueRequest)
		wantField string
		wantErr   error
	}{
		{name: "unknown type", mutate: func(r *registry.IssueRequest) { r.TypeCode = "11100000000013338W999" }, wantField: "type"},
		{name: "missing holder", mutate: func(r *registry.IssueRequest) { r.Holder = "" }, wantField: "holder"},
		{name: "bad holder USCC check", mutate: func(r *registry.IssueRequest) { r.HolderCode = r.HolderCode[:17] + flip(r.HolderCode[17]) }, wantField: "holderCode"},
		{name: "bad jurisdiction", mutate: func(r *registry.IssueRequest) { r.Jurisdiction = "31A" }, wantField: "jurisdiction"},
		{name: "unknown field", mutate: func(r *registry.IssueRequest) { r.Fields = map[string]string{"nope": "x"} }, wantField: "fields.nope"},
		{name: "bad date", mutate: func(r *registry.IssueRequest) { r.IssueDate = "2025-02-30" }, wantField: "issueDate"},
		{name: "issue date in the future", mutate: func(r *registry.IssueRequest) { r.IssueDate = "9999-01-01" }, wantField: "issueDate"},
		{name: "issue date 1900", mutate: func(r *registry.IssueRequest) { r.IssueDate = "1900-01-01" }, wantField: "issueDate"},
		{name: "holder with a bidi override", mutate: func(r *registry.IssueRequest) { r.Holder = "\u202e" + r.Holder }, wantField: "holder"},
		{name: "type of another department", actor: w.issuer(1), wantErr: registry.ErrForbidden},
		{name: "verifier may not issue", actor: registry.Actor{Role: registry.RoleVerifier}, wantErr: registry.ErrForbidden},
		{name: "admin may not issue", actor: w.admin, wantErr: registry.ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := w.treeSize()
			req := good
			req.Fields = maps(good.Fields)
			if tt.mutate != nil {
				tt.mutate(&req)
			}
			a := tt.actor
			if a.Role == "" {
				a = w.issuer(0)
			}
			_, err := w.reg.Issue(ctx, a, req)
			if err == nil {
				t.Fatal("issue succeeded, want an error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantField != "" {
				if !hasField(err, tt.wantField) {
					t.Errorf("err = %v, want a field error naming %s", err, tt.wantField)
				}
			}
			if after := w.treeSize(); after != before {
				t.Errorf("ledger grew from %d to %d on a refused issue", before, after)
			}
		})
	}
	if ls, _ := w.reg.List(ctx, registry.ListFilter{}); len(ls) != 0 {
		t.Errorf("store holds %d licenses after refused issues", len(ls))
	}
}

func hasField(err error, field string) bool {
	var walk func(error) bool
	walk = func(err error) bool {
		if fe, ok := err.(*license.FieldError); ok && fe.Field == field {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if walk(e) {
					return true
				}
			}
		case interface{ Unwrap() error }:
			if e := u.Unwrap(); e != nil {
				return walk(e)
			}
		}
		return false
	}
	return walk(err)
}

func flip(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

func maps(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestStatusLifecycle(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	lic, err := w.reg.Issue(ctx, w.issuer(0), w.request(0))
	if err != nil {
		t.Fatal(err)
	}
	id := lic.Identifier
	steps := []struct {
		name    string
		actor   registry.Actor
		status  license.Status
		reason  string
		wantErr error
		want    license.Status
	}{
		{"another department may not suspend", w.issuer(1), license.StatusSuspended, "under_investigation", registry.ErrForbidden, license.StatusActive},
		{"suspend needs a reason", w.issuer(0), license.StatusSuspended, "", license.ErrInvalid, license.StatusActive},
		{"free text is not a reason", w.issuer(0), license.StatusSuspended, "停业整顿", license.ErrInvalid, license.StatusActive},
		{"a reason for another status", w.issuer(0), license.StatusSuspended, "deregistered", license.ErrInvalid, license.StatusActive},
		{"superseded only by a new version", w.issuer(0), license.StatusSuperseded, "changed", license.ErrInvalid, license.StatusActive},
		{"suspend", w.issuer(0), license.StatusSuspended, "rectification", nil, license.StatusSuspended},
		{"suspend twice", w.issuer(0), license.StatusSuspended, "rectification", registry.ErrConflict, license.StatusSuspended},
		{"resume", w.issuer(0), license.StatusActive, "rectified", nil, license.StatusActive},
		{"revoke", w.issuer(0), license.StatusRevoked, "fraud", nil, license.StatusRevoked},
		{"revoked is final", w.issuer(0), license.StatusActive, "rectified", registry.ErrConflict, license.StatusRevoked},
	}
	for _, s := range steps {
		before := w.treeSize()
		_, err := w.reg.SetStatus(ctx, s.actor, id, registry.StatusRequest{Status: s.status, Reason: s.reason, Note: "案卷 2026-0042"})
		if !errors.Is(err, s.wantErr) && !(s.wantErr == nil && err == nil) {
			t.Fatalf("%s: err = %v, want %v", s.name, err, s.wantErr)
		}
		got, _ := w.reg.Get(ctx, id)
		if got.Status != s.want {
			t.Errorf("%s: status = %s, want %s", s.name, got.Status, s.want)
		}
		st, _ := w.ledger.License(ctx, id)
		if st.Status != s.want {
			t.Errorf("%s: ledger status = %s, want %s", s.name, st.Status, s.want)
		}
		grew := w.treeSize() != before
		if grew != (s.wantErr == nil) {
			t.Errorf("%s: ledger grew = %v", s.name, grew)
		}
	}
	got, _ := w.reg.Get(ctx, id)
	if len(got.History) != 3 {
		t.Errorf("history has %d entries, want 3", len(got.History))
	}
	// The bundle lists it as revoked, and offline verification says so.
	res, err := verifier.Verify(ctx, docOf(t, got), w.bundle(), verifier.Policy{At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != verifier.VerdictRevoked {
		t.Errorf("verdict = %s, want revoked", res.Verdict)
	}
}

func TestConcurrentIssuesGetUniqueSerials(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	const n = 200
	var wg sync.WaitGroup
	ids := make(chan string, n)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lic, err := w.reg.Issue(ctx, w.issuer(0), w.request(0))
			if err != nil {
				errs <- err
				return
			}
			ids <- lic.Identifier
		}()
	}
	wg.Wait()
	close(ids)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Fatalf("identifier %s issued twice", id)
		}
		seen[id] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct identifiers, want %d", len(seen), n)
	}
	// After a restart serials continue past the stored ones.
	w.close()
	w.open()
	lic, err := w.reg.Issue(ctx, w.issuer(0), w.request(0))
	if err != nil {
		t.Fatal(err)
	}
	if seen[lic.Identifier] {
		t.Fatalf("after restart identifier %s was reused", lic.Identifier)
	}
}

// A crash after anchoring but before storing leaves an orphan anchor; the
// next issue must skip its serial rather than fail.
func TestOrphanAnchorIsSkipped(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	lic, err := w.reg.Issue(ctx, w.issuer(0), w.request(0))
	if err != nil {
		t.Fatal(err)
	}
	w.close()
	w.sqliteOnly()
	db, err := sql.Open("sqlite", filepath.Join(w.dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM licenses WHERE identifier = ?`, lic.Identifier); err != nil {
		t.Fatal(err)
	}
	db.Close()
	w.open()
	again, err := w.reg.Issue(ctx, w.issuer(0), w.request(0))
	if err != nil {
		t.Fatalf("issue after orphan anchor: %v", err)
	}
	if again.Identifier == lic.Identifier {
		t.Fatal("the orphan's identifier was handed out again")
	}
	if _, err := w.ledger.License(ctx, again.Identifier); err != nil {
		t.Fatal(err)
	}
}

func TestRequestKeyIsIdempotent(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	req := w.request(0)
	req.RequestKey = "import-row-17"
	a, err := w.reg.Issue(ctx, w.issuer(0), req)
	if err != nil {
		t.Fatal(err)
	}
	before := w.treeSize()
	b, err := w.reg.Issue(ctx, w.issuer(0), req)
	if err != nil {
		t.Fatal(err)
	}
	if a.Identifier != b.Identifier {
		t.Errorf("same request key issued %s and %s", a.Identifier, b.Identifier)
	}
	if w.treeSize() != before {
		t.Error("a repeated request anchored again")
	}
}

func TestTokens(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	tok, err := w.reg.CreateToken(ctx, w.issuer(0))
	if err != nil {
		t.Fatal(err)
	}
	a, err := w.reg.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if a.Role != registry.RoleIssuer || a.Department != w.depts[0].USCC {
		t.Errorf("actor = %+v", a)
	}
	if _, err := w.reg.Authenticate(ctx, tok+"x"); !errors.Is(err, registry.ErrUnauthenticated) {
		t.Errorf("wrong token: err = %v", err)
	}
	// Only the hash is stored.
	w.sqliteOnly()
	db, _ := sql.Open("sqlite", filepath.Join(w.dir, "registry.db"))
	defer db.Close()
	var n int
	db.QueryRow(`SELECT COUNT(*) FROM tokens WHERE hash = ?`, tok).Scan(&n)
	if n != 0 {
		t.Error("the token is stored in the clear")
	}
}

// A license reads back from the store exactly as it was issued, though its
// row leaves out the record and the receipt's entry (rebuilt from the
// credential), and its receipt still verifies offline.
func TestStoredLicenseReadsBackWhole(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	lic, err := w.reg.Issue(ctx, w.issuer(0), w.request(0))
	if err != nil {
		t.Fatal(err)
	}
	w.close()
	w.open()
	got, err := w.reg.Get(ctx, lic.Identifier)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Record, lic.Record) {
		t.Errorf("record:\n got %+v\nwant %+v", got.Record, lic.Record)
	}
	if !reflect.DeepEqual(got.Receipt, lic.Receipt) {
		t.Errorf("receipt:\n got %+v\nwant %+v", got.Receipt, lic.Receipt)
	}
	if !bytes.Equal(got.SealSignature, lic.SealSignature) || !bytes.Equal(got.Credential, lic.Credential) {
		t.Error("the seal signature or the credential did not come back byte for byte")
	}
	w.sqliteOnly()
	w.close()
	db, err := sql.Open("sqlite", filepath.Join(w.dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rec, rcpt, compact string
	var cred, sealSig, packed []byte
	if err := db.QueryRow(`SELECT record, receipt, compact, credential, seal_signature, packed FROM licenses WHERE identifier = ?`, lic.Identifier).Scan(&rec, &rcpt, &compact, &cred, &sealSig, &packed); err != nil {
		t.Fatal(err)
	}
	// The receipt's entry, checkpoint and the QR text's Base45 are not in
	// the row: ~50 bytes of numbers, the proof's hashes and the QR's bytes.
	if rec != "" || rcpt != "" || compact != "" || len(packed) > 60+33*len(lic.Receipt.InclusionProof)+len(lic.Compact)*2/3 {
		t.Errorf("the row keeps what the credential gives back: record %d bytes, receipt %q, compact %d bytes, packed %d bytes", len(rec), rcpt, len(compact), len(packed))
	}
	var notes int
	if err := db.QueryRow(`SELECT COUNT(*) FROM checkpoint_notes WHERE note = ?`, lic.Receipt.Checkpoint).Scan(&notes); err != nil || notes != 1 {
		t.Errorf("checkpoint kept %d times (%v), want once", notes, err)
	}
	if len(cred) >= len(lic.Credential)*2/5 || len(sealSig) > 400 {
		t.Errorf("stored credential %d bytes (of %d), seal signature %d bytes (of %d): not packed", len(cred), len(lic.Credential), len(sealSig), len(lic.SealSignature))
	}
}

// secondInstance opens another Service on the world's platform, ledger and
// store (another store handle), as a second `serve` process would; it is
// closed when the test ends.
func (w *world) secondInstance() *registry.Service {
	w.t.Helper()
	ctx := context.Background()
	p, err := registry.LoadPlatform(w.dir, pass)
	if err != nil {
		w.t.Fatal(err)
	}
	st := w.extraStore()
	if st == nil {
		if st, err = registry.OpenSQLite(filepath.Join(w.dir, "registry.db")); err != nil {
			w.t.Fatal(err)
		}
		w.t.Cleanup(func() { st.Close() })
	}
	reg, err := registry.Open(ctx, registry.Config{Dir: w.dir, Store: st, Platform: p, Ledger: w.ledger, LogOrigin: "test/ledger", Passphrase: pass, Font: testFont(w.t)})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { reg.Close() })
	return reg
}
