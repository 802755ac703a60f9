package registry_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"zhengzhao/ledger"
	"zhengzhao/license"
	"zhengzhao/registry"
)

// Two instances on one store (and one ledger) serve the same signed trust
// bundle and status lists, byte for byte: whichever signs first stores
// them, the other serves what is stored. A status change on one shows in
// both instances' list at once and in both bundles within the bundle's poll.
func TestSharedBundleAndLists(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	lic, err := w.reg.Issue(ctx, w.issuer(0), w.request(0))
	if err != nil {
		t.Fatal(err)
	}
	p, err := registry.LoadPlatform(w.dir, pass)
	if err != nil {
		t.Fatal(err)
	}
	var st registry.Store // nil: the world's SQLite file in w.dir
	if w.storeURI != "" {
		if st, err = registry.OpenPostgres(ctx, w.storeURI); err != nil {
			t.Fatal(err)
		}
		defer st.Close()
	}
	b, err := registry.Open(ctx, registry.Config{Dir: w.dir, Store: st, Platform: p, Ledger: w.ledger, LogOrigin: "test/ledger", Passphrase: pass, Font: testFont(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	a := w.reg
	uscc := w.depts[0].USCC

	same := func(step string) (*registry.SignedBundle, *registry.SignedList) {
		t.Helper()
		var ba, bb *registry.SignedBundle
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if ba, err = a.Bundle(ctx); err != nil {
				t.Fatal(err)
			}
			if bb, err = b.Bundle(ctx); err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(ba.JSON, bb.JSON) || time.Now().After(deadline) {
				break
			}
		}
		if !bytes.Equal(ba.JSON, bb.JSON) || ba.ETag != bb.ETag || ba.Sequence != bb.Sequence {
			t.Fatalf("%s: the instances serve different bundles: sequence %d %s and %d %s", step, ba.Sequence, ba.ETag, bb.Sequence, bb.ETag)
		}
		la, err := a.StatusList(ctx, uscc, 0)
		if err != nil {
			t.Fatal(err)
		}
		lb, err := b.StatusList(ctx, uscc, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(la.JSON, lb.JSON) || la.ETag != lb.ETag {
			t.Fatalf("%s: the instances serve different status lists: %s and %s", step, la.ETag, lb.ETag)
		}
		return ba, la
	}
	bundle1, list1 := same("after an issue")
	if _, err := b.SetStatus(ctx, w.issuer(0), lic.Identifier, registry.StatusRequest{Status: license.StatusRevoked, Reason: "penalty"}); err != nil {
		t.Fatalf("revoke through the second instance: %v", err)
	}
	// The first instance's list shows the revocation at once.
	la, err := a.StatusList(ctx, uscc, 0)
	if err != nil {
		t.Fatal(err)
	}
	if la.ETag == list1.ETag {
		t.Fatalf("after a revocation on the other instance the list is the one before (%s)", la.ETag)
	}
	bundle2, list2 := same("after a revocation on the other instance")
	if bundle2.Sequence <= bundle1.Sequence || bytes.Equal(list2.JSON, list1.JSON) {
		t.Fatalf("after the revocation: bundle sequence %d (before %d), list changed %v", bundle2.Sequence, bundle1.Sequence, !bytes.Equal(list2.JSON, list1.JSON))
	}
}

// A department registered on one instance issues through another within a
// second or so, and after a key rotation on the first the other signs with
// the new key (it would otherwise sign with a key the ledger has retired).
func TestSharedDepartments(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	p, err := registry.LoadPlatform(w.dir, pass)
	if err != nil {
		t.Fatal(err)
	}
	var st registry.Store // nil: the world's SQLite file in w.dir
	if w.storeURI != "" {
		if st, err = registry.OpenPostgres(ctx, w.storeURI); err != nil {
			t.Fatal(err)
		}
		defer st.Close()
	}
	b, err := registry.Open(ctx, registry.Config{Dir: w.dir, Store: st, Platform: p, Ledger: w.ledger, LogOrigin: "test/ledger", Passphrase: pass, Font: testFont(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	uscc, err := license.CompleteUSCC("11310000MB2F09999")
	if err != nil {
		t.Fatal(err)
	}
	name := "上海市测试局"
	if _, err := w.reg.RegisterDepartment(ctx, w.admin, uscc, name, w.depts[0].Types[:1]); err != nil {
		t.Fatal(err)
	}
	typ, _ := w.reg.Catalog().Type(w.depts[0].Types[0])
	rec := typ.Example(uscc, name)
	officer := registry.Actor{Role: registry.RoleIssuer, Department: uscc, Name: "officer"}
	issueOnB := func(wantKey string) {
		t.Helper()
		var lic *registry.License
		var err error
		var key string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			req := registry.IssueRequest{TypeCode: typ.Code, Holder: rec.Holder, HolderCode: rec.HolderCode, Jurisdiction: rec.Jurisdiction, Fields: rec.Fields}
			if typ.OneActive && typ.HolderKind == license.HolderOrganization {
				req.HolderCode = newHolderUSCC(t, holderSeq.Add(1))
			}
			if lic, err = b.Issue(ctx, officer, req); err != nil {
				continue
			}
			ev, perr := ledger.ParseEvent(lic.Receipt.Entry)
			if perr != nil || ev.Anchor == nil {
				t.Fatalf("receipt entry: %v", perr)
			}
			if key = ev.Anchor.KeyID; key == wantKey {
				return
			}
		}
		t.Fatalf("issue on the other instance for %s: %v, signed with key %q, want %s", uscc, err, key, wantKey)
	}
	activeKey := func(d *registry.Department) string {
		for _, k := range d.Keys {
			if k.Active {
				return k.KeyID
			}
		}
		t.Fatalf("department %s has no active key", d.USCC)
		return ""
	}
	ds, err := w.reg.Departments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var first string
	for _, d := range ds {
		if d.USCC == uscc {
			first = activeKey(d)
		}
	}
	issueOnB(first)
	rotated, err := w.reg.RotateKey(ctx, w.admin, uscc)
	if err != nil {
		t.Fatal(err)
	}
	second := activeKey(rotated)
	if second == first {
		t.Fatalf("rotation kept key %s", first)
	}
	// Right away, before the other instance's poll: the list it signs (and
	// stores for every instance) is signed with the new key.
	l, err := b.StatusList(ctx, uscc, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(l.JSON), second) || strings.Contains(string(l.JSON), first) {
		t.Fatalf("the list the other instance signed right after the rotation names key %s? %v, the old %s? %v",
			second, strings.Contains(string(l.JSON), second), first, strings.Contains(string(l.JSON), first))
	}
	issueOnB(second)
}
