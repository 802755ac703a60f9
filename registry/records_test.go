package registry_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"zhengzhao/registry"
	"zhengzhao/verifier"
)

// recordsWorld is a world with one license for each of two holders and a
// clerk who uses them.
type recordsWorld struct {
	*world
	lics   [2]*registry.License
	holder [2]registry.Actor
	clerk  registry.Actor
}

func newRecordsWorld(t testing.TB) *recordsWorld {
	t.Helper()
	w := &recordsWorld{world: newWorld(t)}
	ctx := context.Background()
	for i := range w.lics {
		req := w.request(0)
		if i == 1 {
			req.Holder, req.HolderCode = "另一家公司", "91310000MA1K4XXX09"
		}
		lic, err := w.reg.Issue(ctx, w.issuer(0), req)
		if err != nil {
			t.Fatal(err)
		}
		w.lics[i] = lic
		w.holder[i] = registry.Actor{Role: registry.RoleHolder, Name: lic.Record.Holder, HolderCode: lic.Record.HolderCode}
	}
	w.clerk = registry.Actor{Account: 7, Role: registry.RoleVerifier, Name: "王窗口 (clerk1)", Hall: "浦东新区市民中心"}
	return w
}

// use records n window uses of license i.
func (w *recordsWorld) use(t testing.TB, i, n int, purpose string) {
	t.Helper()
	for range n {
		if err := w.reg.RecordUse(context.Background(), w.clerk, registry.UseRequest{License: w.lics[i], Mode: registry.UseByVerify, Purpose: purpose, ServiceItem: item, Verdict: "valid"}); err != nil {
			t.Fatal(err)
		}
	}
}

func (w *recordsWorld) check(t *testing.T) *registry.ChainReport {
	t.Helper()
	rep, err := w.reg.CheckRecords(context.Background(), w.admin)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// rawDB is the registry's database opened beside the service, as someone
// with database access has it; queries use `?` on either database.
type rawDB struct {
	*sql.DB
	pg bool
}

func (db rawDB) bind(q string) string {
	if !db.pg {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (db rawDB) Exec(q string, args ...any) (sql.Result, error) {
	return db.DB.Exec(db.bind(q), args...)
}

func (db rawDB) Query(q string, args ...any) (*sql.Rows, error) {
	return db.DB.Query(db.bind(q), args...)
}

func (w *recordsWorld) db(t *testing.T) rawDB {
	t.Helper()
	driver, dsn := "sqlite", filepath.Join(w.dir, "registry.db")+"?_pragma=busy_timeout(10000)"
	if w.storeURI != "" {
		driver, dsn = "pgx", w.storeURI
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return rawDB{db, w.storeURI != ""}
}

// Someone with the database edits a record's purpose: the chain check
// names the record, the column, what the row says and what the chained
// bytes say.
func TestRecordsEditedRowIsNamed(t *testing.T) {
	w := newRecordsWorld(t)
	ctx := context.Background()
	w.use(t, 0, 3, "核验营业执照")
	if _, err := w.reg.AnchorRecords(ctx); err != nil {
		t.Fatal(err)
	}
	if rep := w.check(t); rep.Err() != nil || rep.Records == 0 || rep.Anchored != 1 {
		t.Fatalf("untouched log: %+v, err %v", rep, rep.Err())
	}
	recs, _, err := w.reg.HolderRecords(ctx, w.holder[0], 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	target := recs[1] // the second newest use
	if _, err := w.db(t).Exec(`UPDATE records SET purpose = '随便看看' WHERE seq = ?`, target.Seq); err != nil {
		t.Fatal(err)
	}
	rep := w.check(t)
	if !errors.Is(rep.Err(), registry.ErrRecordsTampered) || len(rep.Problems) != 1 {
		t.Fatalf("after the edit: problems %+v, err %v", rep.Problems, rep.Err())
	}
	got := rep.Problems[0]
	want := registry.RecordProblem{Seq: target.Seq, Field: "purpose", Stored: "随便看看", Chained: "核验营业执照"}
	if got.Seq != want.Seq || got.Field != want.Field || got.Stored != want.Stored || got.Chained != want.Chained {
		t.Fatalf("problem %+v, want %+v", got, want)
	}
	if s := got.String(); !strings.Contains(s, "记录 #") || !strings.Contains(s, "purpose") {
		t.Errorf("problem text %q", s)
	}
}

// Someone who knows the scheme rewrites a record's bytes and every hash
// after it: each row is consistent, but the chain no longer reaches the
// head the ledger anchored, so the check and the holder's export fail.
func TestRecordsRewrittenChainFailsAtTheAnchoredHead(t *testing.T) {
	w := newRecordsWorld(t)
	ctx := context.Background()
	w.use(t, 0, 2, "核验营业执照")
	w.use(t, 1, 2, "另一家的事")
	head, err := w.reg.AnchorRecords(ctx)
	if err != nil || head == nil {
		t.Fatalf("anchor: %v %v", head, err)
	}
	recs, _, err := w.reg.HolderRecords(ctx, w.holder[0], 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	target := recs[0].Seq
	db := w.db(t)
	rows, err := db.Query(`SELECT seq, body, prev_hash FROM records WHERE seq >= ? ORDER BY seq`, target)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		seq        uint64
		body, prev []byte
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.seq, &r.body, &r.prev); err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
	}
	rows.Close()
	prev := all[0].prev
	for i, r := range all {
		body := r.body
		purpose := ""
		if i == 0 {
			rec, err := registry.ParseRecord(body)
			if err != nil {
				t.Fatal(err)
			}
			rec.Purpose = "随便看看"
			purpose = rec.Purpose
			if body, err = rec.Canonical(); err != nil {
				t.Fatal(err)
			}
		}
		hash := registry.ChainHash(prev, registry.RecordDigest(body))
		q := `UPDATE records SET body = ?, prev_hash = ?, hash = ? WHERE seq = ?`
		args := []any{body, prev, hash, r.seq}
		if purpose != "" {
			q = `UPDATE records SET body = ?, prev_hash = ?, hash = ?, purpose = ? WHERE seq = ?`
			args = []any{body, prev, hash, purpose, r.seq}
		}
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
		prev = hash
	}
	rep := w.check(t)
	if len(rep.Problems) != 1 || rep.Problems[0].Field != "anchored_head" || rep.Problems[0].Seq != head.Seq {
		t.Fatalf("problems %+v, want one at the anchored head %d", rep.Problems, head.Seq)
	}
	exp, _, err := w.reg.ExportRecords(ctx, w.holder[0])
	if err != nil {
		t.Fatal(err)
	}
	origin, key := w.logKey(t)
	_, err = registry.VerifyRecordsExport(exp, origin, key)
	var ee *registry.ExportError
	if !errors.As(err, &ee) || ee.Seq != head.Seq {
		t.Fatalf("export of the rewritten chain: %v, want an ExportError at the head %d", err, head.Seq)
	}
}

// logKey is the log origin and checkpoint key from the trust bundle, as an
// office has them.
func (w *world) logKey(t *testing.T) (string, *ecdsa.PublicKey) {
	t.Helper()
	origin, pub, err := registry.BundleLogKey(w.bundle())
	if err != nil {
		t.Fatal(err)
	}
	return origin, pub
}

// Appends from many goroutines make one chain: sequences 1..n without a
// gap, each record chained to the one before.
func TestRecordsConcurrentAppendsKeepOneChain(t *testing.T) {
	w := newRecordsWorld(t)
	before := w.check(t).HeadSeq
	const goroutines, each = 8, 40
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() { w.use(t, g%2, each, "并发核验") })
	}
	wg.Wait()
	rep := w.check(t)
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	if want := before + goroutines*each; rep.HeadSeq != want || rep.Records != want {
		t.Fatalf("head %d, %d records; want %d", rep.HeadSeq, rep.Records, want)
	}
}

// The head is anchored on the ledger; the holder's export carries only
// their own records and verifies offline with the bundle's log key; a
// changed byte in it does not.
func TestRecordsExportVerifiesOffline(t *testing.T) {
	w := newRecordsWorld(t)
	ctx := context.Background()
	w.use(t, 0, 2, "核验营业执照")
	w.use(t, 1, 3, "另一家的事")
	if _, err := w.reg.AnchorRecords(ctx); err != nil {
		t.Fatal(err)
	}
	w.use(t, 0, 1, "再次核验") // after the first anchor: the export anchors again
	exp, recs, err := w.reg.ExportRecords(ctx, w.holder[0])
	if err != nil {
		t.Fatal(err)
	}
	lh, err := w.ledger.RecordsHead(ctx, registry.RecordChain)
	if err != nil {
		t.Fatal(err)
	}
	if head := w.check(t).HeadSeq; lh.Seq != head {
		t.Fatalf("ledger head %d, chain head %d", lh.Seq, head)
	}
	// Issued (1) and used three times (2 + 1).
	if len(recs) != 4 || exp.Unanchored != 0 || len(exp.Segments) != 2 {
		t.Fatalf("%d records, %d unanchored, %d segments", len(recs), exp.Unanchored, len(exp.Segments))
	}
	js, err := registry.MarshalExport(exp)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(js, []byte(w.lics[1].Record.HolderCode)) || bytes.Contains(js, []byte(w.lics[1].Identifier)) {
		t.Fatal("the export shows another holder's records")
	}
	parsed, err := registry.ParseRecordsExport(js)
	if err != nil {
		t.Fatal(err)
	}
	origin, key := w.logKey(t)
	v, err := registry.VerifyRecordsExport(parsed, origin, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Records) != 4 || v.Heads[len(v.Heads)-1].Seq != lh.Seq {
		t.Fatalf("verified %d records up to head %d", len(v.Records), v.Heads[len(v.Heads)-1].Seq)
	}
	for _, r := range v.Records {
		if r.Holder != w.lics[0].Record.HolderCode {
			t.Fatalf("verified record of holder %s", r.Holder)
		}
	}
	// Change one character of a record's purpose in the export.
	changed := false
	for i, l := range parsed.Segments[0].Links {
		if bytes.Contains(l.Record, []byte("核验营业执照")) {
			parsed.Segments[0].Links[i].Record = bytes.Replace(l.Record, []byte("核验营业执照"), []byte("核验营业执昭"), 1)
			changed = true
			break
		}
	}
	if !changed {
		t.Fatal("no record to change in the first segment")
	}
	if _, err := registry.VerifyRecordsExport(parsed, origin, key); !errors.Is(err, registry.ErrExportInvalid) {
		t.Fatalf("a changed record verified: %v", err)
	}
}

// A holder reads only their own records; reading someone else's view or
// the audit log is refused.
func TestRecordsHolderSeesOnlyTheirs(t *testing.T) {
	w := newRecordsWorld(t)
	ctx := context.Background()
	w.use(t, 0, 2, "核验营业执照")
	w.use(t, 1, 5, "另一家的事")
	for i, h := range w.holder {
		recs, total, err := w.reg.HolderRecords(ctx, h, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		want := []int{3, 6}[i] // the issue and the uses
		if total != want || len(recs) != want {
			t.Fatalf("holder %d: %d of %d records, want %d", i, len(recs), total, want)
		}
		for _, r := range recs {
			if r.Holder != h.HolderCode || r.License != w.lics[i].Identifier {
				t.Fatalf("holder %d sees record %d of %s", i, r.Seq, r.Holder)
			}
		}
	}
	if _, _, err := w.reg.HolderRecords(ctx, w.clerk, 0, 10); !errors.Is(err, registry.ErrForbidden) {
		t.Errorf("a clerk read a holder's view: %v", err)
	}
	if _, _, err := w.reg.AuditRecords(ctx, w.holder[0], registry.RecordFilter{}); !errors.Is(err, registry.ErrForbidden) {
		t.Errorf("a holder read the audit log: %v", err)
	}
	if _, err := w.reg.CheckRecords(ctx, w.clerk); !errors.Is(err, registry.ErrForbidden) {
		t.Errorf("a clerk ran the chain check: %v", err)
	}
}

// Officer and admin actions are recorded with their actor; the audit
// filters select by actor, action, license and time.
func TestRecordsOfficerActionsAndAuditFilters(t *testing.T) {
	w := newRecordsWorld(t)
	ctx := context.Background()
	officer := w.issuer(0)
	officer.Account = 3
	if _, err := w.reg.SetStatus(ctx, officer, w.lics[0].Identifier, registry.StatusRequest{Status: "suspended", Reason: "under_investigation"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.reg.RotateKey(ctx, w.admin, w.depts[0].USCC); err != nil {
		t.Fatal(err)
	}
	if err := w.reg.RecordAPIVerify(ctx, registry.Actor{Role: registry.RoleVerifier, Name: "api token"}, w.lics[0].Identifier, "", "", "suspended"); err != nil {
		t.Fatal(err)
	}
	get := func(f registry.RecordFilter) []*registry.StoredRecord {
		t.Helper()
		recs, total, err := w.reg.AuditRecords(ctx, w.admin, f)
		if err != nil {
			t.Fatal(err)
		}
		if f.Limit == 0 && total != len(recs) {
			t.Fatalf("total %d, page %d", total, len(recs))
		}
		return recs
	}
	st := get(registry.RecordFilter{Action: registry.ActionStatus})
	if len(st) != 1 || st[0].Actor.Account != 3 || st[0].Actor.Role != registry.RoleIssuer || st[0].Reason != "under_investigation" || st[0].Result != "suspended" || st[0].Holder != w.lics[0].Record.HolderCode {
		t.Fatalf("status records %+v", st)
	}
	if k := get(registry.RecordFilter{Action: "key."}); len(k) != 1 || k[0].Action != registry.ActionKeyRotate || k[0].Actor.Role != registry.RoleAdmin {
		t.Fatalf("key records %+v", k)
	}
	if l := get(registry.RecordFilter{License: w.lics[0].Identifier}); len(l) != 3 { // issue, status, API verify
		t.Fatalf("%d records of the license, want 3", len(l))
	}
	if a := get(registry.RecordFilter{Actor: "api tok"}); len(a) != 1 || a[0].Action != registry.ActionUseAPI {
		t.Fatalf("records of the API token %+v", a)
	}
	last := get(registry.RecordFilter{Limit: 1})[0]
	if n := get(registry.RecordFilter{From: last.At.Add(1e3)}); len(n) != 0 {
		t.Fatalf("%d records after the last one", len(n))
	}
	if n := get(registry.RecordFilter{To: last.At.Add(1e3), Limit: 500}); len(n) == 0 {
		t.Fatal("no records before the last one")
	}
}

// The CSV has a BOM, Chinese headers and one row per record; the PDF
// carries the verifiable export.
func TestRecordsCSVAndPDF(t *testing.T) {
	w := newRecordsWorld(t)
	ctx := context.Background()
	w.use(t, 0, 2, "核验营业执照")
	b, err := w.reg.RecordsCSV(ctx, w.holder[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\uFEFF")) {
		t.Fatal("CSV without a byte order mark")
	}
	rows, err := csv.NewReader(bytes.NewReader(b[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || rows[0][0] != "序号" || rows[0][5] != "用证事由" || rows[2][2] != "窗口核验" || rows[2][5] != "核验营业执照" || rows[2][7] != "有效" {
		t.Fatalf("CSV rows %q", rows)
	}
	pdf, err := w.reg.RecordsPDF(ctx, w.holder[0])
	if err != nil {
		t.Fatal(err)
	}
	att, err := verifier.ExtractAttachment(pdf, registry.AttachmentRecords)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := registry.ParseRecordsExport(att)
	if err != nil {
		t.Fatal(err)
	}
	origin, key := w.logKey(t)
	if v, err := registry.VerifyRecordsExport(exp, origin, key); err != nil || len(v.Records) != 3 {
		t.Fatalf("the PDF's export: %v, %v", v, err)
	}
}

// A refused redemption is recorded for the holder with its reason.
func TestRecordsRefusedRedemption(t *testing.T) {
	w := newWebWorld(t)
	ctx := context.Background()
	lic := w.issueTo(t, registry.DemoEnterpriseName, registry.DemoEnterpriseCode)
	holder, clerk := w.actor(t, "enterprise"), w.actor(t, "clerk1")
	code, _, err := w.reg.GrantUseCode(ctx, holder, registry.UseCodeRequest{Identifier: lic.Identifier, Purpose: "办理食品经营许可", ServiceItem: item, Minutes: 10})
	if err != nil {
		t.Fatal(err)
	}
	var other string
	for _, it := range w.reg.ServiceItems() {
		if it.Code != item {
			other = it.Code
			break
		}
	}
	if _, err := w.reg.RedeemUseCode(ctx, clerk, code, "核验", other); err == nil {
		t.Fatal("redeemed for another item")
	}
	recs, _, err := w.reg.HolderRecords(ctx, holder, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	r := recs[0]
	if r.Action != registry.ActionUseRefused || r.Reason != registry.UseCodeWrongItem || r.License != lic.Identifier || r.Actor.Account == 0 || r.ServiceItem != other {
		t.Fatalf("newest record %+v", r.Record)
	}
}

// A batch issue records one license.issue per license it issued, none for a
// refused request.
func TestRecordsIssueBatch(t *testing.T) {
	w := newRecordsWorld(t)
	ctx := context.Background()
	bad := w.requestOf(0, 0)
	bad.IssueDate = "2025-02-30"
	officer := w.issuer(0)
	officer.Account = 11
	res := w.reg.IssueBatch(ctx, officer, []registry.IssueRequest{w.requestOf(0, 0), bad, w.requestOf(0, 0)})
	var want []string
	for _, r := range res {
		if r.Err == nil {
			want = append(want, r.License.Identifier)
		}
	}
	if len(want) != 2 {
		t.Fatalf("%d issued, want 2: %+v", len(want), res)
	}
	recs, _, err := w.reg.AuditRecords(ctx, w.admin, registry.RecordFilter{Action: registry.ActionIssue, Actor: officer.Name, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range recs {
		if r.Actor.Account == 11 {
			got[r.License] = true
		}
	}
	if len(got) != 2 || !got[want[0]] || !got[want[1]] {
		t.Fatalf("batch records %v, want %v", got, want)
	}
	if rep := w.check(t); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
}
