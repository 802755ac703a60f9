package ledgertest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"zhengzhao/ledger"
	"zhengzhao/ledger/tlog"
	"zhengzhao/license"
)

// Run checks that a ledger.Ledger behaves as the interface says. open must
// return a new, empty ledger whose clock is close to the wall clock; Run
// closes it at the end of each subtest. Checkpoint signatures are not checked
// here (Run does not know the log's key); implementations test that
// themselves with tlog.VerifyCheckpoint.
func Run(t *testing.T, open func(t *testing.T) ledger.Ledger) {
	tests := []struct {
		name string
		run  func(t *testing.T, l ledger.Ledger, w *World)
	}{
		{"RegisterDepartment", testRegisterDepartment},
		{"AddKey", testAddKey},
		{"Anchor", testAnchor},
		{"AnchorRejects", testAnchorRejects},
		{"AnchorBatchAllOrNothing", testAnchorBatchAllOrNothing},
		{"RevokeKey", testRevokeKey},
		{"SetStatus", testSetStatus},
		{"KeyCompromise", testKeyCompromise},
		{"KeyRotationThenCompromise", testKeyRotationThenCompromise},
		{"StatusReasonCodes", testStatusReasonCodes},
		{"FinalStatuses", testFinalStatuses},
		{"Versions", testVersions},
		{"VersionRejects", testVersionRejects},
		{"CatalogTypes", testCatalogTypes},
		{"RecordsHead", testRecordsHead},
		{"Proofs", testProofs},
		{"Concurrent", testConcurrent},
		{"Closed", testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := open(t)
			t.Cleanup(func() { l.Close() })
			tt.run(t, l, NewWorld(t, time.Now()))
		})
	}
}

// Register records d with its current key and fails the test on error.
func Register(t testing.TB, l ledger.Ledger, d *Dept) ledger.Receipt {
	t.Helper()
	r, err := l.RegisterDepartment(context.Background(), d.Department, d.Key)
	if err != nil {
		t.Fatalf("RegisterDepartment(%s): %v", d.Department.USCC, err)
	}
	return r
}

// CheckReceipt checks a receipt's inclusion proof against the checkpoint it
// carries (whose signature it does not check) and returns the event.
func CheckReceipt(t testing.TB, r ledger.Receipt) ledger.Event {
	t.Helper()
	cp, err := tlog.ParseCheckpoint(r.Checkpoint)
	if err != nil {
		t.Fatalf("receipt checkpoint: %v", err)
	}
	if cp.Size != r.TreeSize {
		t.Fatalf("receipt tree size %d, checkpoint size %d", r.TreeSize, cp.Size)
	}
	if err := tlog.VerifyInclusion(r.Entry, r.LogIndex, r.TreeSize, r.InclusionProof, cp.Root); err != nil {
		t.Fatalf("receipt inclusion: %v", err)
	}
	e, err := ledger.ParseEvent(r.Entry)
	if err != nil {
		t.Fatalf("receipt entry: %v", err)
	}
	return e
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func testRegisterDepartment(t *testing.T, l ledger.Ledger, w *World) {
	ctx := context.Background()
	d := w.NewDepartment("某市市场监督管理局")
	r := Register(t, l, d)
	e := CheckReceipt(t, r)
	if e.Kind != ledger.KindDepartmentRegistered || e.Department == nil || e.Department.USCC != d.Department.USCC {
		t.Fatalf("receipt event = %+v, want the department registration", e)
	}
	got, err := l.Department(ctx, d.Department.USCC)
	if err != nil {
		t.Fatalf("Department: %v", err)
	}
	if got.Department.Name != d.Department.Name || len(got.Keys) != 1 || got.Keys[0].KeyID != d.Key.KeyID {
		t.Fatalf("Department = %+v", got)
	}
	_, err = l.RegisterDepartment(ctx, d.Department, d.Key)
	wantErr(t, "second registration", err, ledger.ErrDuplicate)
	_, err = l.Department(ctx, NewUSCC(999_999_999))
	wantErr(t, "unknown department", err, ledger.ErrNotFound)

	bad := w.NewDepartment("无名部门")
	bad.Department.Name = " "
	_, err = l.RegisterDepartment(ctx, bad.Department, bad.Key)
	wantErr(t, "empty name", err, ledger.ErrInvalidEvent)
}

func testAddKey(t *testing.T, l ledger.Ledger, w *World) {
	ctx := context.Background()
	d := w.NewDepartment("某区人力资源和社会保障局")
	Register(t, l, d)
	k2, s2 := d.NewKey(w.now.Add(-time.Hour), w.now.AddDate(2, 0, 0))
	CheckReceipt(t, mustReceipt(t)(l.AddKey(ctx, k2)))
	_, err := l.AddKey(ctx, k2)
	wantErr(t, "same key again", err, ledger.ErrDuplicate)

	rs, err := l.Anchor(ctx, []ledger.Anchor{d.AnchorWith(k2.KeyID, s2)})
	if err != nil {
		t.Fatalf("Anchor with the added key: %v", err)
	}
	CheckReceipt(t, rs[0])

	other := w.NewDepartment("未登记部门")
	_, err = l.AddKey(ctx, other.Key)
	wantErr(t, "key of unknown department", err, ledger.ErrUnknownDepartment)

	forged := k2
	forged.KeyID = "0011223344556677"
	_, err = l.AddKey(ctx, forged)
	wantErr(t, "key id not of the certificate", err, ledger.ErrInvalidEvent)

	got, err := l.Department(ctx, d.Department.USCC)
	if err != nil {
		t.Fatalf("Department: %v", err)
	}
	if len(got.Keys) != 2 {
		t.Fatalf("Department has %d keys, want 2", len(got.Keys))
	}
}

func mustReceipt(t *testing.T) func(ledger.Receipt, error) ledger.Receipt {
	return func(r ledger.Receipt, err error) ledger.Receipt {
		t.Helper()
		if err != nil {
			t.Fatalf("write: %v", err)
		}
		return r
	}
}

func testAnchor(t *testing.T, l ledger.Ledger, w *World) {
	ctx := context.Background()
	d := w.NewDepartment("某市公安局")
	Register(t, l, d)
	anchors := []ledger.Anchor{d.Anchor(), d.Anchor(), d.Anchor()}
	rs, err := l.Anchor(ctx, anchors)
	if err != nil {
		t.Fatalf("Anchor: %v", err)
	}
	if len(rs) != len(anchors) {
		t.Fatalf("got %d receipts for %d anchors", len(rs), len(anchors))
	}
	for i, r := range rs {
		e := CheckReceipt(t, r)
		if e.Kind != ledger.KindLicenseAnchored || e.Anchor.Identifier != anchors[i].Identifier {
			t.Fatalf("receipt %d is for %+v, want anchor %s", i, e, anchors[i].Identifier)
		}
		if i > 0 && r.LogIndex != rs[i-1].LogIndex+1 {
			t.Fatalf("receipt %d has index %d after %d; one call's anchors must be consecutive", i, r.LogIndex, rs[i-1].LogIndex)
		}
		ls, err := l.License(ctx, anchors[i].Identifier)
		if err != nil {
			t.Fatalf("License: %v", err)
		}
		if ls.Status != license.StatusActive || ls.LogIndex != r.LogIndex || !bytes.Equal(ls.Anchor.Signature, anchors[i].Signature) {
			t.Fatalf("License = %+v, want active at index %d", ls, r.LogIndex)
		}
		if !ls.AnchoredAt.Equal(e.At) {
			t.Fatalf("AnchoredAt %v, event at %v", ls.AnchoredAt, e.At)
		}
	}
	_, err = l.Anchor(ctx, anchors[:1])
	wantErr(t, "same license again", err, ledger.ErrDuplicate)
	_, err = l.License(ctx, d.Identifier("1"))
	wantErr(t, "unknown license", err, ledger.ErrNotFound)
	_, err = l.Anchor(ctx, nil)
	wantErr(t, "no anchors", err, ledger.ErrInvalidEvent)
}

func testAnchorRejects(t *testing.T, l ledger.Ledger, w *World) {
	ctx := context.Background()
	d := w.NewDepartment("某县农业农村局")
	Register(t, l, d)
	other := w.NewDepartment("另一部门")
	Register(t, l, other)
	unregistered := w.NewDepartment("未登记部门")
	future, futureSigner := d.NewKey(w.now.Add(24*time.Hour), w.now.AddDate(1, 0, 0))
	mustReceipt(t)(l.AddKey(ctx, future))

	tests := []struct {
		name   string
		anchor func() ledger.Anchor
		want   error
	}{
		{"bad signature", func() ledger.Anchor {
			a := d.Anchor()
			a.DocumentHash[0] ^= 1
			return a
		}, ledger.ErrBadSignature},
		{"signed by another department's key", func() ledger.Anchor {
			a := d.AnchorWith(d.Key.KeyID, other.Signer)
			return a
		}, ledger.ErrBadSignature},
		{"key of another department", func() ledger.Anchor {
			return d.AnchorWith(other.Key.KeyID, other.Signer)
		}, ledger.ErrKeyNotValid},
		{"unknown key", func() ledger.Anchor {
			a := d.Anchor()
			a.KeyID = "0011223344556677"
			return a
		}, ledger.ErrKeyNotValid},
		{"key not yet valid", func() ledger.Anchor {
			return d.AnchorWith(future.KeyID, futureSigner)
		}, ledger.ErrKeyNotValid},
		{"unknown department", func() ledger.Anchor { return unregistered.Anchor() }, ledger.ErrUnknownDepartment},
		{"type not allowed", func() ledger.Anchor {
			a := d.Anchor()
			id, _ := license.ParseIdentifier(a.Identifier)
			nid, _ := license.NewIdentifier(OtherTypeCode, id.IssuerUSCC, id.Serial, id.Version)
			a.Identifier, a.TypeCode = nid.String(), OtherTypeCode
			return a
		}, ledger.ErrInvalidEvent},
		{"identifier names another issuer", func() ledger.Anchor {
			a := d.Anchor()
			a.Identifier = other.Identifier("77")
			return a
		}, ledger.ErrInvalidEvent},
		{"malformed identifier", func() ledger.Anchor {
			a := d.Anchor()
			a.Identifier = "1.2.156.3005.2.bad"
			return a
		}, ledger.ErrInvalidEvent},
		{"short hash", func() ledger.Anchor {
			a := d.Anchor()
			a.ProofHash = a.ProofHash[:31]
			return a
		}, ledger.ErrInvalidEvent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.anchor()
			_, err := l.Anchor(ctx, []ledger.Anchor{a})
			wantErr(t, "Anchor", err, tt.want)
			if _, err := l.License(ctx, a.Identifier); !errors.Is(err, ledger.ErrNotFound) {
				t.Fatalf("a refused anchor is on the ledger: %v", err)
			}
		})
	}
}

func testAnchorBatchAllOrNothing(t *testing.T, l ledger.Ledger, w *World) {
	ctx := context.Background()
	d := w.NewDepartment("某市交通运输局")
	Register(t, l, d)
	before, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	good, bad := d.Anchor(), d.Anchor()
	bad.Signature[5] ^= 0xff
	_, err = l.Anchor(ctx, []ledger.Anchor{good, bad})
	wantErr(t, "batch with a bad anchor", err, ledger.ErrBadSignature)
	if _, err := l.License(ctx, good.Identifier); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("the good anchor of a refused batch is on the ledger: %v", err)
	}
	dup := d.Anchor()
	_, err = l.Anchor(ctx, []ledger.Anchor{dup, dup})
	wantErr(t, "same license twice in one batch", err, ledger.ErrDuplicate)
	after, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	if after.Size != before.Size {
		t.Fatalf("refused batches grew the log from %d to %d", before.Size, after.Size)
	}
	if _, err := l.Anchor(ctx, []ledger.Anchor{good}); err != nil {
		t.Fatalf("the good anchor alone: %v", err)
	}
}

func testRevokeKey(t *testing.T, l ledger.Ledger, w *World) {
	ctx := context.Background()
	d := w.NewDepartment("某市生态环境局")
	Register(t, l, d)
	early := d.Anchor()
	if _, err := l.Anchor(ctx, []ledger.Anchor{early}); err != nil {
		t.Fatalf("Anchor: %v", err)
	}
	// Revoked from now on: licenses anchored before stay valid, new anchors
	// with the key are refused.
	rev := ledger.KeyRevocation{Department: d.Department.USCC, KeyID: d.Key.KeyID, RevokedFrom: time.Now(), Reason: "key_compromise"}
	CheckReceipt(t, mustReceipt(t)(l.RevokeKey(ctx, rev)))
	_, err := l.Anchor(ctx, []ledger.Anchor{d.Anchor()})
	wantErr(t, "anchor with a revoked key", err, ledger.ErrKeyNotValid)
	if _, err := l.License(ctx, early.Identifier); err != nil {
		t.Fatalf("license anchored before the revocation: %v", err)
	}
	_, err = l.RevokeKey(ctx, rev)
	wantErr(t, "same revocation again", err, ledger.ErrDuplicate)
	_, err = l.RevokeKey(ctx, ledger.KeyRevocation{Department: d.Department.USCC, KeyID: "0011223344556677", RevokedFrom: time.Now()})
	wantErr(t, "unknown key", err, ledger.ErrNotFound)
	got, err := l.Department(ctx, d.Department.USCC)
	if err != nil {
		t.Fatalf("Department: %v", err)
	}
	if len(got.Revocations) != 1 || got.Revocations[0].KeyID != d.Key.KeyID {
		t.Fatalf("Department revocations = %+v", got.Revocations)
	}
}

func testSetStatus(t *testing.T, l ledger.Ledger, w *World) {
	ctx := context.Background()
	d := w.NewDepartment("某市卫生健康委员会")
	Register(t, l, d)
	a := d.Anchor()
	if _, err := l.Anchor(ctx, []ledger.Anchor{a}); err != nil {
		t.Fatalf("Anchor: %v", err)
	}
	change := func(s license.Status) error {
		_, err := l.SetStatus(ctx, ledger.StatusChange{Identifier: a.Identifier, Issuer: d.Department.USCC, Status: s, Reason: "other"})
		return err
	}
	steps := []struct {
		status license.Status
		want   error
	}{
		{license.StatusActive, ledger.ErrInvalidEvent},
		{license.StatusSuspended, nil},
		{license.StatusSuspended, ledger.ErrInvalidEvent},
		{license.StatusActive, nil},
		{license.Status("lost"), ledger.ErrInvalidEvent},
		{license.StatusRevoked, nil},
		{license.StatusActive, ledger.ErrFinal},
		{license.StatusSuspended, ledger.ErrFinal},
	}
	for i, s := range steps {
		err := change(s.status)
		if s.want == nil && err != nil {
			t.Fatalf("step %d to %s: %v", i, s.status, err)
		}
		if s.want != nil {
			wantErr(t, "step to "+string(s.status), err, s.want)
		}
	}
	ls, err := l.License(ctx, a.Identifier)
	if err != nil {
		t.Fatalf("License: %v", err)
	}
	if ls.Status != license.StatusRevoked || ls.Reason != "other" {
		t.Fatalf("License status %s (%q), want revoked", ls.Status, ls.Reason)
	}
	var got []license.Status
	for _, h := range ls.History {
		got = append(got, h.Status)
	}
	want := []license.Status{license.StatusActive, license.StatusSuspended, license.StatusActive, license.StatusRevoked}
	if len(got) != len(want) {
		t.Fatalf("History statuses %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("History statuses %v, want %v", got, want)
		}
	}
	_, err = l.SetStatus(ctx, ledger.StatusChange{Identifier: d.Identifier("404"), Issuer: d.Department.USCC, Status: license.StatusRevoked})
	wantErr(t, "unknown license", err, ledger.ErrNotFound)
	b := d.Anchor()
	if _, err := l.Anchor(ctx, []ledger.Anchor{b}); err != nil {
		t.Fatalf("Anchor: %v", err)
	}
	_, err = l.SetStatus(ctx, ledger.StatusChange{Identifier: b.Identifier, Issuer: NewUSCC(999_999_998), Status: license.StatusRevoked})
	wantErr(t, "status change by another issuer", err, ledger.ErrInvalidEvent)
}

func testProofs(t *testing.T, l ledger.Ledger, w *World) {
	ctx := context.Background()
	d := w.NewDepartment("某市住房和城乡建设局")
	first := Register(t, l, d)
	cp1, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	for range 5 {
		if _, err := l.Anchor(ctx, []ledger.Anchor{d.Anchor(), d.Anchor()}); err != nil {
			t.Fatalf("Anchor: %v", err)
		}
	}
	cp2, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	if cp2.Size != cp1.Size+10 {
		t.Fatalf("checkpoint size %d after 10 anchors on %d", cp2.Size, cp1.Size)
	}
	parsed, err := tlog.ParseCheckpoint(cp2.Note)
	if err != nil || parsed.Size != cp2.Size || !bytes.Equal(parsed.Root, cp2.Root) {
		t.Fatalf("checkpoint note %q does not match %d/%x (%v)", cp2.Note, cp2.Size, cp2.Root, err)
	}
	proof, err := l.ConsistencyProof(ctx, cp1.Size, cp2.Size)
	if err != nil {
		t.Fatalf("ConsistencyProof: %v", err)
	}
	if err := tlog.VerifyConsistency(cp1.Size, cp2.Size, proof, cp1.Root, cp2.Root); err != nil {
		t.Fatalf("VerifyConsistency: %v", err)
	}
	incl, err := l.InclusionProof(ctx, first.LogIndex, cp2.Size)
	if err != nil {
		t.Fatalf("InclusionProof: %v", err)
	}
	if err := tlog.VerifyInclusion(first.Entry, first.LogIndex, cp2.Size, incl, cp2.Root); err != nil {
		t.Fatalf("VerifyInclusion against the newer checkpoint: %v", err)
	}
	_, err = l.InclusionProof(ctx, cp2.Size, cp2.Size)
	wantErr(t, "inclusion of an index past the tree", err, ledger.ErrNotFound)
	_, err = l.ConsistencyProof(ctx, cp2.Size, cp2.Size+1)
	wantErr(t, "consistency with a size past the tree", err, ledger.ErrNotFound)
}

func testConcurrent(t *testing.T, l ledger.Ledger, w *World) {
	ctx := context.Background()
	d := w.NewDepartment("某市教育局")
	Register(t, l, d)
	const n = 32
	var wg sync.WaitGroup
	indices := make(chan uint64, n)
	errs := make(chan error, n)
	for range n {
		a := d.Anchor()
		wg.Go(func() {
			rs, err := l.Anchor(ctx, []ledger.Anchor{a})
			if err != nil {
				errs <- err
				return
			}
			indices <- rs[0].LogIndex
		})
	}
	wg.Wait()
	close(indices)
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Anchor: %v", err)
	}
	seen := map[uint64]bool{}
	for i := range indices {
		if seen[i] {
			t.Fatalf("index %d given twice", i)
		}
		seen[i] = true
	}
	if len(seen) != n {
		t.Fatalf("%d receipts for %d anchors", len(seen), n)
	}
}

func testClosed(t *testing.T, l ledger.Ledger, w *World) {
	d := w.NewDepartment("某市统计局")
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_, err := l.RegisterDepartment(context.Background(), d.Department, d.Key)
	wantErr(t, "write after Close", err, ledger.ErrUnavailable)
	_, err = l.Checkpoint(context.Background())
	wantErr(t, "read after Close", err, ledger.ErrUnavailable)
}

// A key declared compromised from a time T: a license anchored before T
// stays, one anchored between T and the declaration is on the ledger with
// its anchoring time after T (so a verifier can tell), and no anchor with
// the key is accepted after the declaration. A free-text reason is refused
// and changes nothing.
func testKeyCompromise(t *testing.T, l ledger.Ledger, w *World) {
	ctx := context.Background()
	d := w.NewDepartment("某市公安局")
	Register(t, l, d)
	before := d.Anchor()
	ra := CheckReceipt(t, mustReceipt(t)(anchorOne(ctx, l, before)))
	time.Sleep(2 * time.Millisecond)
	compromised := time.Now().UTC().Truncate(ledger.TimePrecision)
	time.Sleep(2 * time.Millisecond)
	between := d.Anchor()
	rb := CheckReceipt(t, mustReceipt(t)(anchorOne(ctx, l, between)))
	if !ra.At.Before(compromised) || !rb.At.After(compromised) {
		t.Fatalf("anchoring times %s and %s do not straddle the compromise time %s", ra.At, rb.At, compromised)
	}

	_, err := l.RevokeKey(ctx, ledger.KeyRevocation{Department: d.Department.USCC, KeyID: d.Key.KeyID, RevokedFrom: compromised, Reason: "管理员电话告知密钥丢失"})
	wantErr(t, "key revocation with a free-text reason", err, ledger.ErrInvalidEvent)
	if _, err := l.Anchor(ctx, []ledger.Anchor{d.Anchor()}); err != nil {
		t.Fatalf("the refused revocation changed something: anchor with the key: %v", err)
	}

	rev := ledger.KeyRevocation{Department: d.Department.USCC, KeyID: d.Key.KeyID, RevokedFrom: compromised, Reason: license.ReasonKeyCompromise}
	e := CheckReceipt(t, mustReceipt(t)(l.RevokeKey(ctx, rev)))
	if e.Kind != ledger.KindKeyRevoked || e.Revocation == nil || !sameRevocation(*e.Revocation, rev) {
		t.Fatalf("revocation entry %+v, want %+v", e.Revocation, rev)
	}
	_, err = l.Anchor(ctx, []ledger.Anchor{d.Anchor()})
	wantErr(t, "anchor signed with the compromised key", err, ledger.ErrKeyNotValid)

	got, err := l.Department(ctx, d.Department.USCC)
	if err != nil {
		t.Fatalf("Department: %v", err)
	}
	if len(got.Revocations) != 1 || !sameRevocation(got.Revocations[0], rev) {
		t.Fatalf("Department revocations %+v, want [%+v]", got.Revocations, rev)
	}
	for _, c := range []struct {
		a          ledger.Anchor
		afterBreak bool
	}{{before, false}, {between, true}} {
		ls, err := l.License(ctx, c.a.Identifier)
		if err != nil {
			t.Fatalf("License %s: %v", c.a.Identifier, err)
		}
		if ls.Status != license.StatusActive || ls.AnchoredAt.After(compromised) != c.afterBreak {
			t.Fatalf("license %s: %s anchored at %s; compromise at %s, want after it: %v", c.a.Identifier, ls.Status, ls.AnchoredAt, compromised, c.afterBreak)
		}
	}
}

// Rotation ends the old key (key_rotated); a compromise found later to
// date from before the rotation moves the end earlier; the new key signs
// on.
func testKeyRotationThenCompromise(t *testing.T, l ledger.Ledger, w *World) {
	ctx := context.Background()
	d := w.NewDepartment("某市自然资源和规划局")
	Register(t, l, d)
	early := time.Now().UTC().Truncate(ledger.TimePrecision)
	time.Sleep(2 * time.Millisecond)
	k2, s2 := d.NewKey(w.now.Add(-time.Hour), w.now.AddDate(1, 0, 0))
	mustReceipt(t)(l.AddKey(ctx, k2))
	rotated := ledger.KeyRevocation{Department: d.Department.USCC, KeyID: d.Key.KeyID, RevokedFrom: time.Now().UTC().Truncate(ledger.TimePrecision), Reason: license.ReasonKeyRotated}
	mustReceipt(t)(l.RevokeKey(ctx, rotated))
	_, err := l.Anchor(ctx, []ledger.Anchor{d.Anchor()})
	wantErr(t, "anchor with the rotated-out key", err, ledger.ErrKeyNotValid)
	if _, err := l.Anchor(ctx, []ledger.Anchor{d.AnchorWith(k2.KeyID, s2)}); err != nil {
		t.Fatalf("anchor with the new key: %v", err)
	}
	same := rotated
	same.Reason = license.ReasonKeyCompromise
	_, err = l.RevokeKey(ctx, same)
	wantErr(t, "compromise no earlier than the rotation", err, ledger.ErrDuplicate)
	compromise := ledger.KeyRevocation{Department: d.Department.USCC, KeyID: d.Key.KeyID, RevokedFrom: early, Reason: license.ReasonKeyCompromise}
	mustReceipt(t)(l.RevokeKey(ctx, compromise))
	got, err := l.Department(ctx, d.Department.USCC)
	if err != nil {
		t.Fatalf("Department: %v", err)
	}
	if len(got.Revocations) != 2 || !sameRevocation(got.Revocations[0], rotated) || !sameRevocation(got.Revocations[1], compromise) {
		t.Fatalf("Department revocations %+v, want rotation then compromise", got.Revocations)
	}
}

// A status change carries a reason code from license.Reasons allowed for
// that status; free text (which could be personal data) is refused and
// changes nothing.
func testStatusReasonCodes(t *testing.T, l ledger.Ledger, w *World) {
	ctx := context.Background()
	d := w.NewDepartment("某市人力资源和社会保障局")
	Register(t, l, d)
	a := d.Anchor()
	if _, err := l.Anchor(ctx, []ledger.Anchor{a}); err != nil {
		t.Fatalf("Anchor: %v", err)
	}
	refused := []struct{ what, status, reason string }{
		{"free text", "suspended", "张三 身份证110101199003074514 举报"},
		{"no reason", "revoked", ""},
		{"a code not for that status", "suspended", "issued_in_error"},
		{"a key reason", "revoked", license.ReasonKeyCompromise},
	}
	for _, r := range refused {
		_, err := l.SetStatus(ctx, ledger.StatusChange{Identifier: a.Identifier, Issuer: d.Department.USCC, Status: license.Status(r.status), Reason: r.reason})
		wantErr(t, "status change with "+r.what, err, ledger.ErrInvalidEvent)
	}
	ls, err := l.License(ctx, a.Identifier)
	if err != nil {
		t.Fatalf("License: %v", err)
	}
	if ls.Status != license.StatusActive || len(ls.History) != 1 {
		t.Fatalf("after refused changes: %s with %d history events, want active and 1", ls.Status, len(ls.History))
	}
	e := CheckReceipt(t, mustReceipt(t)(l.SetStatus(ctx, ledger.StatusChange{Identifier: a.Identifier, Issuer: d.Department.USCC, Status: license.StatusSuspended, Reason: "under_investigation"})))
	if e.Status == nil || e.Status.Reason != "under_investigation" {
		t.Fatalf("status entry %+v, want reason under_investigation", e.Status)
	}
}

// Cancelled and withdrawn are final like revoked; superseded is never set
// by a status change.
func testFinalStatuses(t *testing.T, l ledger.Ledger, w *World) {
	ctx := context.Background()
	d := w.NewDepartment("某市交通运输局")
	Register(t, l, d)
	set := func(a ledger.Anchor, s license.Status, reason string) error {
		_, err := l.SetStatus(ctx, ledger.StatusChange{Identifier: a.Identifier, Issuer: d.Department.USCC, Status: s, Reason: reason})
		return err
	}
	for _, final := range []struct {
		status license.Status
		reason string
	}{
		{license.StatusCancelled, "holder_request"},
		{license.StatusWithdrawn, "issued_in_error"},
	} {
		a := d.Anchor()
		if _, err := l.Anchor(ctx, []ledger.Anchor{a}); err != nil {
			t.Fatalf("Anchor: %v", err)
		}
		if err := set(a, final.status, final.reason); err != nil {
			t.Fatalf("%s: %v", final.status, err)
		}
		for _, next := range []struct {
			status license.Status
			reason string
		}{
			{license.StatusActive, "holder_request"},
			{license.StatusSuspended, "under_investigation"},
			{license.StatusRevoked, "fraud"},
		} {
			wantErr(t, string(final.status)+" then "+string(next.status), set(a, next.status, next.reason), ledger.ErrFinal)
		}
		ls, err := l.License(ctx, a.Identifier)
		if err != nil {
			t.Fatalf("License: %v", err)
		}
		if ls.Status != final.status || ls.Reason != final.reason {
			t.Fatalf("license %s (%s), want %s (%s)", ls.Status, ls.Reason, final.status, final.reason)
		}
	}
	a := d.Anchor()
	if _, err := l.Anchor(ctx, []ledger.Anchor{a}); err != nil {
		t.Fatalf("Anchor: %v", err)
	}
	wantErr(t, "superseded by a status change", set(a, license.StatusSuperseded, "changed"), ledger.ErrInvalidEvent)
}

func anchorOne(ctx context.Context, l ledger.Ledger, a ledger.Anchor) (ledger.Receipt, error) {
	rs, err := l.Anchor(ctx, []ledger.Anchor{a})
	if err != nil {
		return ledger.Receipt{}, err
	}
	return rs[0], nil
}

func sameRevocation(a, b ledger.KeyRevocation) bool {
	return a.Department == b.Department && a.KeyID == b.KeyID && a.RevokedFrom.Equal(b.RevokedFrom) && a.Reason == b.Reason
}

// A new version supersedes its predecessor: the predecessor's status,
// reason, history and successor change with the same log entry.
func testVersions(t *testing.T, l ledger.Ledger, w *World) {
	ctx := context.Background()
	d := w.NewDepartment("某市市场监督管理局")
	Register(t, l, d)
	v1 := d.Anchor()
	if _, err := anchorOne(ctx, l, v1); err != nil {
		t.Fatalf("Anchor v1: %v", err)
	}
	v2 := d.NextVersion(v1, "changed")
	rcpt, err := anchorOne(ctx, l, v2)
	if err != nil {
		t.Fatalf("Anchor v2: %v", err)
	}
	e := CheckReceipt(t, rcpt)
	if e.Anchor == nil || e.Anchor.Predecessor == nil || e.Anchor.Predecessor.Identifier != v1.Identifier || e.Anchor.Predecessor.Reason != "changed" {
		t.Fatalf("v2 entry anchor %+v, want predecessor %s (changed)", e.Anchor, v1.Identifier)
	}
	old, err := l.License(ctx, v1.Identifier)
	if err != nil {
		t.Fatalf("License v1: %v", err)
	}
	last := old.History[len(old.History)-1]
	if old.Status != license.StatusSuperseded || old.Reason != "changed" || old.SupersededBy != v2.Identifier ||
		last.Status != license.StatusSuperseded || last.LogIndex != rcpt.LogIndex {
		t.Fatalf("v1 after v2: status %s reason %q by %q, last history %+v; want superseded (changed) by %s at %d",
			old.Status, old.Reason, old.SupersededBy, last, v2.Identifier, rcpt.LogIndex)
	}
	cur, err := l.License(ctx, v2.Identifier)
	if err != nil {
		t.Fatalf("License v2: %v", err)
	}
	if cur.Status != license.StatusActive || cur.Anchor.Predecessor == nil || cur.Anchor.Predecessor.Identifier != v1.Identifier {
		t.Fatalf("v2: status %s predecessor %+v", cur.Status, cur.Anchor.Predecessor)
	}
	// A renewal of the renewal: 003 from 002.
	v3 := d.NextVersion(v2, "renewed")
	if _, err := anchorOne(ctx, l, v3); err != nil {
		t.Fatalf("Anchor v3: %v", err)
	}
	if got, _ := l.License(ctx, v2.Identifier); got.Status != license.StatusSuperseded || got.Reason != "renewed" || got.SupersededBy != v3.Identifier {
		t.Fatalf("v2 after v3: %s (%s) by %q", got.Status, got.Reason, got.SupersededBy)
	}
	// No status change moves a superseded version.
	_, err = l.SetStatus(ctx, ledger.StatusChange{Identifier: v1.Identifier, Issuer: d.Department.USCC, Status: license.StatusActive, Reason: "other"})
	wantErr(t, "resume a superseded version", err, ledger.ErrFinal)
}

// A version is refused unless it follows the current, active version with
// its exact document hash; a refused version changes nothing.
func testVersionRejects(t *testing.T, l ledger.Ledger, w *World) {
	ctx := context.Background()
	d := w.NewDepartment("某市司法局")
	other := w.NewDepartment("某区司法局")
	Register(t, l, d)
	Register(t, l, other)
	anchored := func() ledger.Anchor {
		a := d.Anchor()
		if _, err := anchorOne(ctx, l, a); err != nil {
			t.Fatalf("Anchor: %v", err)
		}
		return a
	}
	set := func(a ledger.Anchor, s license.Status, reason string) {
		if _, err := l.SetStatus(ctx, ledger.StatusChange{Identifier: a.Identifier, Issuer: d.Department.USCC, Status: s, Reason: reason}); err != nil {
			t.Fatalf("SetStatus %s: %v", s, err)
		}
	}
	superseded := anchored()
	if _, err := anchorOne(ctx, l, d.NextVersion(superseded, "changed")); err != nil {
		t.Fatalf("first version: %v", err)
	}
	revoked := anchored()
	set(revoked, license.StatusRevoked, "penalty")
	suspended := anchored()
	set(suspended, license.StatusSuspended, "under_investigation")
	active := anchored()

	tests := []struct {
		name string
		a    ledger.Anchor
		want error
	}{
		{"second version of one predecessor", d.NextVersion(superseded, "renewed"), ledger.ErrDuplicate},
		{"from a revoked license", d.NextVersion(revoked, "changed"), ledger.ErrFinal},
		{"from a suspended license", d.NextVersion(suspended, "changed"), ledger.ErrInvalidEvent},
		{"from an unknown license", d.NextVersion(d.Anchor(), "changed"), ledger.ErrNotFound},
		{"wrong document hash", func() ledger.Anchor {
			a := d.NextVersion(active, "changed")
			a.Predecessor.DocumentHash[0] ^= 1
			return a
		}(), ledger.ErrInvalidEvent},
		{"reason that does not supersede", d.NextVersion(active, "penalty"), ledger.ErrInvalidEvent},
		{"version 002 without predecessor", func() ledger.Anchor {
			a := d.NextVersion(active, "changed")
			a.Predecessor = nil
			return a
		}(), ledger.ErrInvalidEvent},
		{"predecessor not the version before", func() ledger.Anchor {
			a := d.NextVersion(active, "changed")
			a.Predecessor.Identifier = superseded.Identifier
			return a
		}(), ledger.ErrInvalidEvent},
		{"first version naming a predecessor", func() ledger.Anchor {
			a := d.Anchor()
			a.Predecessor = &ledger.Predecessor{Identifier: active.Identifier, DocumentHash: active.DocumentHash, Reason: "changed"}
			return a
		}(), ledger.ErrInvalidEvent},
		{"another department's version", other.NextVersion(active, "changed"), ledger.ErrInvalidEvent},
	}
	for _, tt := range tests {
		_, err := anchorOne(ctx, l, tt.a)
		wantErr(t, tt.name, err, tt.want)
	}
	// Two versions of one license in one batch: all or nothing.
	_, err := l.Anchor(ctx, []ledger.Anchor{d.NextVersion(active, "changed"), d.NextVersion(active, "renewed")})
	wantErr(t, "two versions in one batch", err, ledger.ErrDuplicate)
	ls, err := l.License(ctx, active.Identifier)
	if err != nil {
		t.Fatalf("License: %v", err)
	}
	if ls.Status != license.StatusActive || ls.SupersededBy != "" {
		t.Fatalf("after refused versions the license is %s by %q, want active", ls.Status, ls.SupersededBy)
	}
}

// testCatalogTypes anchors catalog type versions: version 1 then 2 of a
// code, each once, by a 32-byte digest of a valid type code; a malformed
// event changes nothing.
func testCatalogTypes(t *testing.T, l ledger.Ledger, w *World) {
	ctx := context.Background()
	// A type code of a fresh authority: runs sharing one Fabric network
	// each anchor their own versions from 1.
	authority := NewUSCC(usccCounter.Add(1))
	code := authority + "001"
	digest := func(b byte) []byte { return bytes.Repeat([]byte{b}, ledger.HashSize) }
	r, err := l.AnchorType(ctx, ledger.TypeVersion{Code: code, Version: 1, Digest: digest(1)})
	if err != nil {
		t.Fatalf("AnchorType v1: %v", err)
	}
	e := CheckReceipt(t, r)
	if e.Kind != ledger.KindCatalogType || e.CatalogType == nil || e.CatalogType.Code != code ||
		e.CatalogType.Version != 1 || !bytes.Equal(e.CatalogType.Digest, digest(1)) {
		t.Fatalf("receipt event = %+v, want catalog type %s version 1", e, code)
	}
	bad := []struct {
		name string
		tv   ledger.TypeVersion
		want error
	}{
		{"version 1 again", ledger.TypeVersion{Code: code, Version: 1, Digest: digest(9)}, ledger.ErrDuplicate},
		{"gap to version 3", ledger.TypeVersion{Code: code, Version: 3, Digest: digest(3)}, ledger.ErrInvalidEvent},
		{"version 0", ledger.TypeVersion{Code: code, Version: 0, Digest: digest(3)}, ledger.ErrInvalidEvent},
		{"short digest", ledger.TypeVersion{Code: code, Version: 2, Digest: digest(2)[:31]}, ledger.ErrInvalidEvent},
		{"not a type code", ledger.TypeVersion{Code: "11100000000013338W01", Version: 1, Digest: digest(2)}, ledger.ErrInvalidEvent},
		{"bad USCC in code", ledger.TypeVersion{Code: "11100000000013338X001", Version: 1, Digest: digest(2)}, ledger.ErrInvalidEvent},
		{"new code starting at 2", ledger.TypeVersion{Code: authority + "002", Version: 2, Digest: digest(2)}, ledger.ErrInvalidEvent},
	}
	for _, b := range bad {
		_, err := l.AnchorType(ctx, b.tv)
		wantErr(t, b.name, err, b.want)
	}
	r2, err := l.AnchorType(ctx, ledger.TypeVersion{Code: code, Version: 2, Digest: digest(2)})
	if err != nil {
		t.Fatalf("AnchorType v2 after the refused events: %v", err)
	}
	if e2 := CheckReceipt(t, r2); e2.CatalogType == nil || e2.CatalogType.Version != 2 {
		t.Fatalf("receipt event = %+v, want version 2", e2)
	}
	if r2.LogIndex != r.LogIndex+1 {
		t.Fatalf("version 2 at log index %d, want %d: a refused event took a place in the log", r2.LogIndex, r.LogIndex+1)
	}
}
