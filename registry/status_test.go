package registry_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"zhengzhao/ledger"
	"zhengzhao/license"
	"zhengzhao/registry"
	"zhengzhao/verifier"
)

// Conflicting status changes of one license race; whatever order they land
// in, the store, the ledger, the bundle's status list and online and offline
// verification must agree, and every loser gets a conflict naming the
// current status.
func TestConcurrentStatusChangesAgree(t *testing.T) {
	rounds := 1000
	if testing.Short() {
		rounds = 100
	}
	w := newWorld(t)
	ctx := context.Background()
	officer := w.issuer(0)
	ids := make([]string, rounds)
	for i := range ids {
		lic, err := w.reg.Issue(ctx, officer, w.request(0))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = lic.Identifier
		if _, err := w.reg.SetStatus(ctx, officer, lic.Identifier, registry.StatusRequest{Status: license.StatusSuspended, Reason: "under_investigation"}); err != nil {
			t.Fatal(err)
		}
	}
	// Each round: five revocations and five resumptions of one suspended
	// license at once; rounds run eight at a time.
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var problems []string
	for _, id := range ids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			var inner sync.WaitGroup
			for k := range 10 {
				req := registry.StatusRequest{Status: license.StatusRevoked, Reason: "penalty"}
				if k%2 == 1 {
					req = registry.StatusRequest{Status: license.StatusActive, Reason: "rectified"}
				}
				inner.Add(1)
				go func() {
					defer inner.Done()
					_, err := w.reg.SetStatus(ctx, officer, id, req)
					var sce *registry.StatusConflictError
					switch {
					case err == nil:
					case errors.As(err, &sce) && errors.Is(err, registry.ErrConflict) && sce.Current.Valid():
					default:
						mu.Lock()
						problems = append(problems, id+": "+err.Error())
						mu.Unlock()
					}
				}()
			}
			inner.Wait()
		}()
	}
	wg.Wait()
	if len(problems) > 0 {
		t.Fatalf("%d requests failed other than with a conflict, e.g. %s", len(problems), problems[0])
	}

	b := w.bundle()
	statuses := map[license.Status]int{}
	for _, id := range ids {
		stored, err := w.reg.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		onLedger, err := w.ledger.License(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Status != onLedger.Status || stored.StatusReason != onLedger.Reason {
			t.Fatalf("%s: store says %s (%s), ledger %s (%s)", id, stored.Status, stored.StatusReason, onLedger.Status, onLedger.Reason)
		}
		statuses[stored.Status]++
		want := map[license.Status]verifier.Verdict{license.StatusActive: verifier.VerdictValid, license.StatusRevoked: verifier.VerdictRevoked}[stored.Status]
		for _, online := range []bool{false, true} {
			p := verifier.Policy{At: time.Now()}
			if online {
				p.Online = w.ledger
			}
			res, err := verifier.Verify(ctx, stored.Credential, b, p)
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != want {
				t.Fatalf("%s is %s, but verification (online %v) says %s: %+v", id, stored.Status, online, res.Verdict, res.Checks)
			}
		}
	}
	// Revoked first ends the race; resumed first lets one revocation in.
	if statuses[license.StatusRevoked] != rounds {
		t.Logf("statuses after the races: %v", statuses)
	}
	if statuses[license.StatusSuspended] != 0 {
		t.Fatalf("%d licenses still suspended: no change went through", statuses[license.StatusSuspended])
	}
	// A new change to a revoked license is a conflict naming 已吊销, not a 500.
	_, err := w.reg.SetStatus(ctx, officer, ids[0], registry.StatusRequest{Status: license.StatusActive, Reason: "rectified"})
	var sce *registry.StatusConflictError
	if !errors.As(err, &sce) || sce.Current != license.StatusRevoked || !strings.Contains(err.Error(), "已吊销") {
		t.Fatalf("resume a revoked license: %v", err)
	}
}

// A status change written to the ledger whose store update never happened
// (a crash between the two, or another instance) is repaired on open, from
// the ledger, and the repair is counted.
func TestOpenRepairsTheStoreFromTheLedger(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	lic, err := w.reg.Issue(ctx, w.issuer(0), w.request(0))
	if err != nil {
		t.Fatal(err)
	}
	other, err := w.reg.Issue(ctx, w.issuer(0), w.request(0))
	if err != nil {
		t.Fatal(err)
	}
	// The ledger learns of two revocations the store never stored: one with
	// the intent the registry writes first (a crash), one without (another
	// instance, or an older version's race).
	for _, id := range []string{lic.Identifier, other.Identifier} {
		if _, err := w.ledger.SetStatus(ctx, ledger.StatusChange{Identifier: id, Issuer: w.depts[0].USCC, Status: license.StatusRevoked, Reason: "penalty"}); err != nil {
			t.Fatal(err)
		}
	}
	w.close()
	w.sqliteOnly()
	db, err := sql.Open("sqlite", filepath.Join(w.dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO status_intents (identifier, at) VALUES (?, ?)`, lic.Identifier, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	w.open()
	if got, _ := w.reg.Get(ctx, lic.Identifier); got.Status != license.StatusRevoked {
		t.Fatalf("after reopening, the store says %s, the ledger revoked", got.Status)
	}
	// The other one needs a full pass (zhengzhao ledger reconcile).
	rep, err := w.reg.Reconcile(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Repaired != 1 || rep.Checked < 2 {
		t.Fatalf("full reconciliation: %+v, want 1 repaired", rep)
	}
	if got, _ := w.reg.Get(ctx, other.Identifier); got.Status != license.StatusRevoked || got.StatusReason != "penalty" {
		t.Fatalf("after a full reconciliation, the store says %s (%s)", got.Status, got.StatusReason)
	}
	// The bundle's status list shows it.
	res, err := verifier.Verify(ctx, other.Credential, w.bundle(), verifier.Policy{At: time.Now()})
	if err != nil || res.Verdict != verifier.VerdictRevoked {
		t.Fatalf("offline verdict after the repair: %v %v", res.Verdict, err)
	}
}

// A ledger restored from an older copy (a rollback) is refused at open,
// naming both sizes, rather than leaving licenses "not on the ledger".
func TestRolledBackLedgerRefusesToOpen(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if _, err := w.reg.Issue(ctx, w.issuer(0), w.request(0)); err != nil {
		t.Fatal(err)
	}
	w.close()
	old := filepath.Join(t.TempDir(), "ledger-copy")
	copyDir(t, filepath.Join(w.dir, registry.LedgerDir), old)
	w.open()
	for range 3 {
		if _, err := w.reg.Issue(ctx, w.issuer(0), w.request(0)); err != nil {
			t.Fatal(err)
		}
	}
	size := w.treeSize()
	w.close()
	if err := os.RemoveAll(filepath.Join(w.dir, registry.LedgerDir)); err != nil {
		t.Fatal(err)
	}
	copyDir(t, old, filepath.Join(w.dir, registry.LedgerDir))

	p, err := registry.LoadPlatform(w.dir, pass)
	if err != nil {
		t.Fatal(err)
	}
	l := openLedger(t, w.dir, p)
	defer l.Close()
	_, err = registry.Open(ctx, registry.Config{Dir: w.dir, Store: w.extraStore(), Platform: p, Ledger: l, LogOrigin: "test/ledger", Passphrase: pass, Font: testFont(t)})
	if !errors.Is(err, ledger.ErrRollback) {
		t.Fatalf("open with a rolled-back ledger: %v, want ErrRollback", err)
	}
	cp, _ := l.Checkpoint(ctx)
	for _, n := range []uint64{cp.Size, size} {
		if !strings.Contains(err.Error(), " "+strconv.FormatUint(n, 10)) {
			t.Errorf("the error %q does not name the size %d", err, n)
		}
	}
}

// A free-text note (a name, an ID number) stays in the store: the ledger,
// the bundle and the status lists carry only the reason code.
func TestStatusNoteStaysOffTheLedger(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	lic, err := w.reg.Issue(ctx, w.issuer(0), w.request(0))
	if err != nil {
		t.Fatal(err)
	}
	const note = "举报人张三，身份证号 110101199003074514"
	got, err := w.reg.SetStatus(ctx, w.issuer(0), lic.Identifier, registry.StatusRequest{Status: license.StatusSuspended, Reason: "under_investigation", Note: note})
	if err != nil {
		t.Fatal(err)
	}
	if got.StatusNote != note || len(got.History) != 1 || got.History[0].Note != note {
		t.Fatalf("the store did not keep the note: %+v", got)
	}
	for _, secret := range []string{"110101199003074514", "张三"} {
		found := false
		_ = filepath.WalkDir(filepath.Join(w.dir, registry.LedgerDir), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(secret)) {
					found = true
				}
			}
			return nil
		})
		if found {
			t.Errorf("%q is in the ledger's files", secret)
		}
		if b, _ := w.reg.Bundle(ctx); bytes.Contains(b.JSON, []byte(secret)) {
			t.Errorf("%q is in the trust bundle", secret)
		}
	}
	if _, err := w.reg.SetStatus(ctx, w.issuer(0), lic.Identifier, registry.StatusRequest{Status: license.StatusActive, Reason: note}); !errors.Is(err, license.ErrInvalid) {
		t.Fatalf("free text as the reason code: %v, want ErrInvalid", err)
	}
	if _, err := w.reg.SetStatus(ctx, w.issuer(0), lic.Identifier, registry.StatusRequest{Status: license.StatusActive, Reason: "rectified", Note: "a\x00b"}); !errors.Is(err, license.ErrInvalid) {
		t.Fatalf("a note with NUL: %v, want ErrInvalid", err)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The bundle is signed once per change and served from memory otherwise; a
// status change, or the log moving on, makes a new one with a higher
// sequence.
func TestBundleSignedOncePerChange(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	b1, err := w.reg.Bundle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := w.reg.Bundle(ctx)
	if again != b1 {
		t.Fatal("nothing changed, yet the bundle was built again")
	}
	lic, err := w.reg.Issue(ctx, w.issuer(0), w.request(0))
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := w.reg.Bundle(ctx) // a new status list opened
	if b2.Sequence <= b1.Sequence || b2.ETag == b1.ETag {
		t.Fatalf("after the first issue: sequence %d → %d", b1.Sequence, b2.Sequence)
	}
	if _, err := w.reg.SetStatus(ctx, w.issuer(0), lic.Identifier, registry.StatusRequest{Status: license.StatusCancelled, Reason: "deregistered"}); err != nil {
		t.Fatal(err)
	}
	b3, _ := w.reg.Bundle(ctx)
	if b3.Sequence <= b2.Sequence {
		t.Fatalf("after a cancellation: sequence %d → %d", b2.Sequence, b3.Sequence)
	}
	if _, err := w.reg.Issue(ctx, w.issuer(0), w.request(0)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // a cached bundle asks the ledger once a second
	b4, _ := w.reg.Bundle(ctx)
	if b4.Sequence <= b3.Sequence || b4.Checkpoint.Size <= b3.Checkpoint.Size {
		t.Fatalf("after the log grew: sequence %d → %d, tree %d → %d", b3.Sequence, b4.Sequence, b3.Checkpoint.Size, b4.Checkpoint.Size)
	}
	if len(b4.JSON) == 0 || !bytes.Contains(b4.JSON, []byte(`"previous_checkpoints"`)) {
		t.Fatal("a later bundle carries no earlier checkpoint")
	}
}

// There is no cap on licenses per department: when a list is half used the
// next one opens, its licenses verify with the bundle's second list, and
// indexes are drawn at random within a list.
func TestStatusListsRollOver(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	first, err := w.reg.Issue(ctx, w.issuer(0), w.request(0))
	if err != nil {
		t.Fatal(err)
	}
	// Fill list 0 to the threshold (as 65,535 more issues would).
	w.close()
	w.sqliteOnly()
	db, err := sql.Open("sqlite", filepath.Join(w.dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE status_lists SET used = ? WHERE uscc = ? AND list = 0`, registry.StatusListSize/2, w.depts[0].USCC); err != nil {
		t.Fatal(err)
	}
	db.Close()
	w.open()
	var second []*registry.License
	for range 3 {
		lic, err := w.reg.Issue(ctx, w.issuer(0), w.request(0))
		if err != nil {
			t.Fatalf("issue past the first list: %v", err)
		}
		if lic.StatusIndex/registry.StatusListSize != 1 {
			t.Fatalf("slot %d is not in list 1", lic.StatusIndex)
		}
		second = append(second, lic)
	}
	if second[0].StatusIndex == second[1].StatusIndex || second[1].StatusIndex == second[2].StatusIndex {
		t.Fatal("the same slot handed out twice")
	}
	if _, err := w.reg.SetStatus(ctx, w.issuer(0), second[1].Identifier, registry.StatusRequest{Status: license.StatusWithdrawn, Reason: "issued_in_error"}); err != nil {
		t.Fatal(err)
	}
	b := w.bundle()
	lists := 0
	for _, l := range b.StatusLists {
		if l.USCC == w.depts[0].USCC {
			lists++
		}
	}
	if lists != 2 {
		t.Fatalf("the bundle has %d lists of the department, want 2", lists)
	}
	for lic, want := range map[*registry.License]verifier.Verdict{first: verifier.VerdictValid, second[0]: verifier.VerdictValid, second[1]: verifier.VerdictWithdrawn} {
		got, _ := w.reg.Get(ctx, lic.Identifier)
		for _, in := range [][]byte{got.Credential, []byte(got.Compact)} {
			res, err := verifier.Verify(ctx, in, b, verifier.Policy{At: time.Now()})
			if err != nil || res.Verdict != want {
				t.Fatalf("%s: %v %v, want %s; %+v", lic.Identifier, res.Verdict, err, want, res.Checks)
			}
		}
	}
	if l, err := w.reg.StatusList(ctx, w.depts[0].USCC, 1); err != nil || !strings.Contains(string(l.JSON), "/status/"+w.depts[0].USCC+"/message/1") {
		t.Fatalf("list 1 as served: %v", err)
	}
	if _, err := w.reg.StatusList(ctx, w.depts[0].USCC, 2); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("a list never opened: %v, want ErrNotFound", err)
	}
}

// A department key declared compromised: the department goes on issuing
// with a new key; what was anchored before stays valid offline (its
// receipt, or the bundle's compromised set for the QR form and the bare
// credential); the ledger refuses the old key from then on.
func TestKeyCompromise(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	before, err := w.reg.Issue(ctx, w.issuer(0), w.request(0))
	if err != nil {
		t.Fatal(err)
	}
	oldKey := w.depts[0]
	depts, _ := w.reg.Departments(ctx)
	var keyID string
	for _, d := range depts {
		if d.USCC == oldKey.USCC {
			keyID = d.Keys[0].KeyID
		}
	}
	if _, err := w.reg.RevokeKey(ctx, w.issuer(0), oldKey.USCC, keyID, registry.KeyRevocationRequest{Reason: license.ReasonKeyCompromise}); !errors.Is(err, registry.ErrForbidden) {
		t.Fatalf("an officer revoking keys: %v", err)
	}
	for _, bad := range []registry.KeyRevocationRequest{
		{From: time.Now().Add(time.Hour), Reason: license.ReasonKeyCompromise},
		{Reason: "he said so"},
		{Reason: license.ReasonKeyRotated},
	} {
		if _, err := w.reg.RevokeKey(ctx, w.admin, oldKey.USCC, keyID, bad); !errors.Is(err, license.ErrInvalid) {
			t.Errorf("revoke with %+v: %v, want ErrInvalid", bad, err)
		}
	}
	// The department's list was signed with the key before: the compromise
	// is dated back past that signature, so the list must be signed anew.
	w.bundle()
	time.Sleep(1100 * time.Millisecond)
	at := time.Now().Add(-time.Second)
	d, err := w.reg.RevokeKey(ctx, w.admin, oldKey.USCC, keyID, registry.KeyRevocationRequest{From: at, Reason: license.ReasonKeyCompromise})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Keys) != 2 || d.Keys[1].KeyID == keyID || !d.Keys[1].Active {
		t.Fatalf("after the compromise of the active key: %+v", d.Keys)
	}
	if _, err := w.reg.RevokeKey(ctx, w.admin, oldKey.USCC, keyID, registry.KeyRevocationRequest{From: at, Reason: license.ReasonKeyCompromise}); !errors.Is(err, registry.ErrConflict) {
		t.Fatalf("declaring it again from the same time: %v, want ErrConflict", err)
	}
	after, err := w.reg.Issue(ctx, w.issuer(0), w.request(0))
	if err != nil {
		t.Fatalf("issue after the compromise: %v", err)
	}
	b := w.bundle()
	got, _ := w.reg.Get(ctx, before.Identifier)
	for name, in := range map[string][]byte{"credential": got.Credential, "qr": []byte(got.Compact), "document": docOf(t, got), "new": after.Credential} {
		res, err := verifier.Verify(ctx, in, b, verifier.Policy{At: time.Now()})
		if err != nil || res.Verdict != verifier.VerdictValid {
			t.Fatalf("%s: %v %v; %+v", name, res.Verdict, err, res.Checks)
		}
	}
	if len(b.Compromised) != 1 || len(b.Compromised[0].Digests) != 2*verifier.CompromiseDigestSize {
		t.Fatalf("the bundle's compromised set: %+v", b.Compromised)
	}
	// The ledger takes no anchor signed with the old key any more.
	st, _ := w.ledger.License(ctx, before.Identifier)
	a := st.Anchor
	id, err := license.NewIdentifier(a.TypeCode, a.Issuer, "20269999999", "001")
	if err != nil {
		t.Fatal(err)
	}
	a.Identifier = id.String()
	if _, err := w.ledger.Anchor(ctx, []ledger.Anchor{a}); !errors.Is(err, ledger.ErrKeyNotValid) {
		t.Fatalf("an anchor with the compromised key: %v, want ErrKeyNotValid", err)
	}
}
