package registry_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zhengzhao/license"
	"zhengzhao/registry"
	"zhengzhao/verifier"
)

// holderSeq numbers the holders requestOf makes up.
var holderSeq atomic.Int64

// requestOf is a valid issue request of department i for its type number
// k. A type whose holder may hold only one (营业执照) gets a new holder
// company each time, so tests may issue it again and again.
func (w *world) requestOf(i, k int) registry.IssueRequest {
	typ, _ := w.reg.Catalog().Type(w.depts[i].Types[k])
	rec := typ.Example(w.depts[i].USCC, w.depts[i].Name)
	req := registry.IssueRequest{TypeCode: typ.Code, Holder: rec.Holder, HolderCode: rec.HolderCode, Jurisdiction: rec.Jurisdiction, Fields: rec.Fields}
	if typ.OneActive && typ.HolderKind == license.HolderOrganization {
		req.HolderCode = newHolderUSCC(w.t, holderSeq.Add(1))
	}
	return req
}

// newHolderUSCC is a valid USCC of an enterprise registered in Shanghai,
// numbered n.
func newHolderUSCC(t testing.TB, n int64) string {
	code, err := license.CompleteUSCC(fmt.Sprintf("91310000%09d", n))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// verdicts verifies a stored license offline (the bundle's status lists)
// and online (the ledger).
func (w *world) verdicts(l *registry.License) (offline, online *verifier.Result) {
	w.t.Helper()
	ctx := context.Background()
	b := w.bundle()
	var out [2]*verifier.Result
	for i, p := range []verifier.Policy{{At: time.Now()}, {At: time.Now(), Online: w.ledger}} {
		res, err := verifier.Verify(ctx, docOf(w.t, l), b, p)
		if err != nil {
			w.t.Fatal(err)
		}
		out[i] = res
	}
	return out[0], out[1]
}

func TestNewVersionSupersedes(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	officer := w.issuer(0)
	for _, tt := range []struct {
		name   string
		typ    int
		req    registry.VersionRequest
		reason string
		check  func(prev, next *registry.License) string
	}{
		{"change", 0, registry.VersionRequest{Kind: registry.VersionChange, Fields: map[string]string{"address": "上海市浦东新区世纪大道100号"}, Note: "迁址"}, "changed",
			func(prev, next *registry.License) string {
				if next.Record.Fields["address"] != "上海市浦东新区世纪大道100号" || next.Record.Fields["legalRepresentative"] != prev.Record.Fields["legalRepresentative"] {
					return "fields not carried over with the change"
				}
				if next.Record.ValidFrom != prev.Record.ValidFrom || next.Record.ValidUntil != prev.Record.ValidUntil {
					return "a change moved the validity"
				}
				return ""
			}},
		{"renewal", 1, registry.VersionRequest{Kind: registry.VersionRenewal}, "renewed",
			func(prev, next *registry.License) string {
				if next.Record.ValidUntil <= prev.Record.ValidUntil {
					return "renewal kept validUntil " + next.Record.ValidUntil
				}
				return ""
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := w.requestOf(0, tt.typ)
			// Issued two years ago, so a renewal today extends it.
			req.IssueDate = time.Now().AddDate(-2, 0, 0).Format(time.DateOnly)
			prev, err := w.reg.Issue(ctx, officer, req)
			if err != nil {
				t.Fatal(err)
			}
			next, err := w.reg.NewVersion(ctx, officer, prev.Identifier, tt.req)
			if err != nil {
				t.Fatalf("NewVersion: %v", err)
			}
			pid, _ := license.ParseIdentifier(prev.Identifier)
			nid, err := license.ParseIdentifier(next.Identifier)
			if err != nil {
				t.Fatal(err)
			}
			if nid.Serial != pid.Serial || nid.Version != "002" || next.Version != "002" || next.Serial != prev.Serial || next.Record.Number != prev.Record.Number {
				t.Fatalf("new version %s (serial %s, number %s) of %s", next.Identifier, next.Serial, next.Record.Number, prev.Identifier)
			}
			if next.StatusIndex == prev.StatusIndex {
				t.Fatalf("new version shares status slot %d", next.StatusIndex)
			}
			if msg := tt.check(prev, next); msg != "" {
				t.Fatal(msg)
			}
			old, err := w.reg.Get(ctx, prev.Identifier)
			if err != nil {
				t.Fatal(err)
			}
			if old.Status != license.StatusSuperseded || old.StatusReason != tt.reason || old.SupersededBy != next.Identifier {
				t.Fatalf("old version in the store: %s (%s) by %q", old.Status, old.StatusReason, old.SupersededBy)
			}
			if h := old.History[len(old.History)-1]; h.Note != tt.req.Note || h.Actor != officer.Name {
				t.Fatalf("old version's last history entry %+v", h)
			}
			st, err := w.ledger.License(ctx, prev.Identifier)
			if err != nil {
				t.Fatal(err)
			}
			if st.Status != license.StatusSuperseded || st.SupersededBy != next.Identifier || st.Reason != tt.reason {
				t.Fatalf("old version on the ledger: %s (%s) by %q", st.Status, st.Reason, st.SupersededBy)
			}
			off, on := w.verdicts(old)
			if off.Verdict != verifier.VerdictSuperseded || on.Verdict != verifier.VerdictSuperseded {
				t.Fatalf("old version verifies offline %s, online %s", off.Verdict, on.Verdict)
			}
			// Online names the current version; offline the status list
			// says a newer one exists and the identifier names the next.
			if c, _ := on.Check("status"); on.SupersededBy != next.Identifier || !strings.Contains(c.Reason, "以 "+next.Identifier+" 为准") {
				t.Fatalf("online: superseded by %q, status reason %q", on.SupersededBy, c.Reason)
			}
			if c, _ := off.Check("status"); off.SupersededBy != "" || !strings.Contains(c.Reason, "以第 002 版 "+next.Identifier) {
				t.Fatalf("offline: superseded by %q, status reason %q", off.SupersededBy, c.Reason)
			}
			off, on = w.verdicts(next)
			if !off.Valid || !on.Valid {
				t.Fatalf("new version verifies offline %s, online %s: %+v", off.Verdict, on.Verdict, on.Checks)
			}
		})
	}
}

func TestNewVersionRefuses(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	officer := w.issuer(0)
	issue := func() *registry.License {
		req := w.requestOf(0, 1)
		req.IssueDate = time.Now().AddDate(-2, 0, 0).Format(time.DateOnly)
		l, err := w.reg.Issue(ctx, officer, req)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	change := registry.VersionRequest{Kind: registry.VersionChange, Fields: map[string]string{"premises": "上海市黄浦区南京东路1号"}}
	// v1 → v2 → v3: a version of v1 names v3, the current one.
	v1 := issue()
	v2, err := w.reg.NewVersion(ctx, officer, v1.Identifier, change)
	if err != nil {
		t.Fatal(err)
	}
	v3, err := w.reg.NewVersion(ctx, officer, v2.Identifier, registry.VersionRequest{Kind: registry.VersionRenewal})
	if err != nil {
		t.Fatal(err)
	}
	revoked := issue()
	if _, err := w.reg.SetStatus(ctx, officer, revoked.Identifier, registry.StatusRequest{Status: license.StatusRevoked, Reason: "penalty"}); err != nil {
		t.Fatal(err)
	}
	suspended := issue()
	if _, err := w.reg.SetStatus(ctx, officer, suspended.Identifier, registry.StatusRequest{Status: license.StatusSuspended, Reason: "under_investigation"}); err != nil {
		t.Fatal(err)
	}
	active := issue()

	conflicts := []struct {
		name   string
		id     string
		status license.Status
		want   string // in the Chinese message
	}{
		{"superseded", v1.Identifier, license.StatusSuperseded, "以 " + v3.Identifier + " 为准"},
		{"superseded twice", v2.Identifier, license.StatusSuperseded, v3.Identifier},
		{"revoked", revoked.Identifier, license.StatusRevoked, "已吊销"},
		{"suspended", suspended.Identifier, license.StatusSuspended, "已暂停"},
	}
	for _, c := range conflicts {
		size := w.treeSize()
		_, err := w.reg.NewVersion(ctx, officer, c.id, change)
		var vce *registry.VersionConflictError
		if !errors.As(err, &vce) || !errors.Is(err, registry.ErrConflict) || vce.Status != c.status || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want a conflict (%s) saying %q", c.name, err, c.status, c.want)
		}
		if w.treeSize() != size {
			t.Errorf("%s: the refused version reached the ledger", c.name)
		}
	}

	bad := []struct {
		name  string
		actor registry.Actor
		req   registry.VersionRequest
		field string // "" for ErrForbidden
		want  string
	}{
		{"field breaks its type's rule", officer, registry.VersionRequest{Kind: registry.VersionChange, Fields: map[string]string{"mainBusiness": "网吧"}}, "fields.mainBusiness", "主体业态"},
		{"required field emptied", officer, registry.VersionRequest{Kind: registry.VersionChange, Fields: map[string]string{"premises": ""}}, "fields.premises", "经营场所"},
		{"unknown kind", officer, registry.VersionRequest{Kind: "upgrade", Fields: map[string]string{"premises": "x"}}, "kind", "变更"},
		{"change without changes", officer, registry.VersionRequest{Kind: registry.VersionChange}, "fields", "至少"},
		{"change to the same values", officer, registry.VersionRequest{Kind: registry.VersionChange, Fields: map[string]string{"premises": active.Record.Fields["premises"]}}, "fields", "相同"},
		{"change of the validity", officer, registry.VersionRequest{Kind: registry.VersionChange, ValidUntil: "2040-01-01", Fields: map[string]string{"premises": "x"}}, "validUntil", "延续"},
		{"renewal that does not extend", officer, registry.VersionRequest{Kind: registry.VersionRenewal, ValidUntil: active.Record.ValidUntil}, "validUntil", "须晚于"},
		{"renewal starting later", officer, registry.VersionRequest{Kind: registry.VersionRenewal, ValidFrom: time.Now().AddDate(0, 1, 0).Format(time.DateOnly)}, "validFrom", "不能晚于今天"},
		{"another department", w.issuer(1), change, "", ""},
	}
	for _, b := range bad {
		size := w.treeSize()
		_, err := w.reg.NewVersion(ctx, b.actor, active.Identifier, b.req)
		switch {
		case b.field == "":
			if !errors.Is(err, registry.ErrForbidden) {
				t.Errorf("%s: %v, want ErrForbidden", b.name, err)
			}
		case !hasField(err, b.field) || !strings.Contains(err.Error(), b.want):
			t.Errorf("%s: %v, want field %s saying %q", b.name, err, b.field, b.want)
		}
		if w.treeSize() != size {
			t.Errorf("%s: the refused version reached the ledger", b.name)
		}
	}
	if got, _ := w.reg.Get(ctx, active.Identifier); got.Status != license.StatusActive {
		t.Fatalf("after refused versions the license is %s", got.Status)
	}
}

// Ten versions of one license at once: exactly one is made; every other
// request is a conflict naming the one that won.
func TestConcurrentVersionsOneWins(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	officer := w.issuer(0)
	v1, err := w.reg.Issue(ctx, officer, w.requestOf(0, 1))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var made []string
	var errs []error
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := registry.VersionRequest{Kind: registry.VersionChange, Fields: map[string]string{"premises": "上海市某路" + string(rune('0'+i)) + "号"}}
			l, err := w.reg.NewVersion(ctx, officer, v1.Identifier, req)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			made = append(made, l.Identifier)
		}()
	}
	wg.Wait()
	if len(made) != 1 {
		t.Fatalf("%d versions made, want 1; errors %v", len(made), errs)
	}
	for _, err := range errs {
		var vce *registry.VersionConflictError
		if !errors.As(err, &vce) || vce.Current != made[0] {
			t.Fatalf("loser got %v, want a conflict naming %s", err, made[0])
		}
	}
}

// BenchmarkNewVersion makes versions one after another through the
// registry and the embedded ledger (fsync included): changes of one
// license, a new license every 998 versions.
func BenchmarkNewVersion(b *testing.B) {
	w := newWorld(b)
	ctx := context.Background()
	officer := w.issuer(0)
	var cur *registry.License
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if cur == nil || cur.Version == "999" {
			b.StopTimer()
			var err error
			if cur, err = w.reg.Issue(ctx, officer, w.requestOf(0, 1)); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		next, err := w.reg.NewVersion(ctx, officer, cur.Identifier, registry.VersionRequest{
			Kind: registry.VersionChange, Fields: map[string]string{"premises": fmt.Sprintf("上海市某路%d号", i)}})
		if err != nil {
			b.Fatal(err)
		}
		cur = next
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "versions/s")
}

// A crash after the version reached the ledger but before the store marked
// the predecessor (its intent is left) is repaired at the next open, from
// the ledger.
func TestOpenRepairsASupersession(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	v1, err := w.reg.Issue(ctx, w.issuer(0), w.requestOf(0, 1))
	if err != nil {
		t.Fatal(err)
	}
	v2, err := w.reg.NewVersion(ctx, w.issuer(0), v1.Identifier, registry.VersionRequest{Kind: registry.VersionChange, Fields: map[string]string{"premises": "上海市某路1号"}})
	if err != nil {
		t.Fatal(err)
	}
	w.close()
	w.sqliteOnly()
	db, err := sql.Open("sqlite", filepath.Join(w.dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE licenses SET status = 'active', status_reason = '', status_log_index = ? WHERE identifier = ?`,
		`INSERT INTO status_intents (identifier, at) VALUES (?2, 'now')`,
	} {
		if _, err := db.Exec(q, int64(v1.Receipt.LogIndex), v1.Identifier); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	w.open()
	got, err := w.reg.Get(ctx, v1.Identifier)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != license.StatusSuperseded || got.StatusReason != "changed" || got.SupersededBy != v2.Identifier {
		t.Fatalf("after reopening, the store says %s (%s) by %q", got.Status, got.StatusReason, got.SupersededBy)
	}
}

// A version anchored on the ledger whose store insert never happened (a
// crash between the two) is stored at the next open from its write-ahead
// record, with a receipt that verifies; the predecessor is superseded.
func TestOpenStoresAVersionTheStoreMissed(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	v1, err := w.reg.Issue(ctx, w.issuer(0), w.requestOf(0, 1))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := license.ParseIdentifier(v1.Identifier)
	next, _ := pid.Next()
	// Make the store refuse the insert after the anchor: a row already
	// holds the new version's identifier.
	w.sqliteOnly()
	db, err := sql.Open("sqlite", filepath.Join(w.dir, "registry.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	block := `INSERT INTO licenses (identifier, uscc, type_code, serial, version, holder_code, status, status_index, record, credential, receipt, issued_at)
		VALUES (?, 'X', 'X', 'X', '001', 'X', 'active', -1, '{}', x'00', '{}', 'now')`
	if _, err := db.Exec(block, next.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.reg.NewVersion(ctx, w.issuer(0), v1.Identifier, registry.VersionRequest{Kind: registry.VersionChange, Fields: map[string]string{"premises": "上海市某路1号"}}); err == nil {
		t.Fatal("the version was stored over the blocking row")
	}
	if st, err := w.ledger.License(ctx, next.String()); err != nil || st.Anchor.Predecessor == nil {
		t.Fatalf("the version is not on the ledger: %v", err)
	}
	w.close()
	if _, err := db.Exec(`DELETE FROM licenses WHERE identifier = ?`, next.String()); err != nil {
		t.Fatal(err)
	}
	w.open()
	v2, err := w.reg.Get(ctx, next.String())
	if err != nil {
		t.Fatalf("after reopening the version is not stored: %v", err)
	}
	if v2.Version != "002" || v2.Record.Fields["premises"] != "上海市某路1号" || v2.Status != license.StatusActive {
		t.Fatalf("recovered version %+v", v2)
	}
	if got, _ := w.reg.Get(ctx, v1.Identifier); got.Status != license.StatusSuperseded || got.SupersededBy != v2.Identifier {
		t.Fatalf("predecessor after reopening: %s by %q", got.Status, got.SupersededBy)
	}
	off, on := w.verdicts(v2)
	if !off.Valid || !on.Valid {
		t.Fatalf("recovered version verifies offline %s, online %s: %+v", off.Verdict, on.Verdict, off.Checks)
	}
	var pending int
	if err := db.QueryRow(`SELECT COUNT(*) FROM pending_versions`).Scan(&pending); err != nil || pending != 0 {
		t.Fatalf("%d write-ahead records left, %v", pending, err)
	}
}

// BenchmarkIssueOneAtATime is BenchmarkNewVersion's reference: first
// issues of the same type, one after another.
func BenchmarkIssueOneAtATime(b *testing.B) {
	w := newWorld(b)
	ctx := context.Background()
	officer := w.issuer(0)
	req := w.requestOf(0, 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := w.reg.Issue(ctx, officer, req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "licenses/s")
}
