package registry_test

import (
	"bytes"
	"context"
	"testing"
	"time"

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
