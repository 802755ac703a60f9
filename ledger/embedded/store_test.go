package embedded

import (
	"context"
	"errors"
	"testing"

	"zhengzhao/ledger"
	"zhengzhao/license"
)

// TestRulesOnIndexedLicenses: the writer reads the licenses a commit names
// from the index in one go (prefetch). Licenses that are only in the index
// (after a reopen) are still found: an anchor again is a duplicate, a new
// version supersedes its indexed predecessor, a status change applies; a
// refused batch leaves them as they were.
func TestRulesOnIndexedLicenses(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, b := f.dept.Anchor(), f.dept.Anchor()
	if _, err := f.l.Anchor(ctx, []ledger.Anchor{a, b}); err != nil {
		t.Fatal(err)
	}
	if err := f.l.Close(); err != nil {
		t.Fatal(err)
	}
	l := open(t, f.cfg)
	if n := len(l.store.pending); n != 0 {
		t.Fatalf("%d licenses pending after a reopen, want all in the index", n)
	}
	a2 := f.dept.NextVersion(a, "changed")
	if _, err := l.Anchor(ctx, []ledger.Anchor{a2, b}); !errors.Is(err, ledger.ErrDuplicate) {
		t.Fatalf("a batch with an indexed license again: %v, want ErrDuplicate", err)
	}
	if ls, err := l.License(ctx, a.Identifier); err != nil || ls.Status != license.StatusActive {
		t.Fatalf("predecessor after the refused batch: %+v, %v; want active", ls, err)
	}
	if _, err := l.License(ctx, a2.Identifier); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("new version of the refused batch: %v, want ErrNotFound", err)
	}
	if _, err := l.Anchor(ctx, []ledger.Anchor{a2}); err != nil {
		t.Fatalf("new version of an indexed license: %v", err)
	}
	if ls, err := l.License(ctx, a.Identifier); err != nil || ls.Status != license.StatusSuperseded || ls.SupersededBy != a2.Identifier {
		t.Fatalf("predecessor after its new version: %+v, %v; want superseded by %s", ls, err, a2.Identifier)
	}
	if _, err := l.SetStatus(ctx, ledger.StatusChange{Identifier: b.Identifier, Issuer: b.Issuer, Status: license.StatusSuspended, Reason: "other"}); err != nil {
		t.Fatalf("status change of an indexed license: %v", err)
	}
	if ls, err := l.License(ctx, b.Identifier); err != nil || ls.Status != license.StatusSuspended {
		t.Fatalf("license after its status change: %+v, %v; want suspended", ls, err)
	}
	if _, err := l.Anchor(ctx, []ledger.Anchor{b}); !errors.Is(err, ledger.ErrDuplicate) {
		t.Fatalf("an indexed license again: %v, want ErrDuplicate", err)
	}
	if _, err := Verify(ctx, f.cfg.Dir, "", f.cfg.Signer.Public(), nil); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}
