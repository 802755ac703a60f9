package verifier_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"zhengzhao/ledger"
	"zhengzhao/license"
	"zhengzhao/verifier"
	"zhengzhao/verifier/verifiertest"
)

// Verifying a superseded version (已变更) says so and names the version to
// use instead: online the ledger's successor, offline the next version,
// which follows from the identifier (the status list has no room for it).
func TestSupersededNamesTheCurrentVersion(t *testing.T) {
	w := verifiertest.NewWorld(t)
	lic := w.Issue(w.Departments[0], typeBusiness)
	id := lic.Credential.Identifier()
	pid, err := license.ParseIdentifier(id)
	if err != nil {
		t.Fatal(err)
	}
	next, err := pid.Next()
	if err != nil {
		t.Fatal(err)
	}
	third, err := next.Next()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("offline", func(t *testing.T) {
		w.SetStatus(id, license.StatusSuperseded)
		defer delete(w.Statuses, id)
		b := w.Bundle(nil)
		got, err := verifier.Verify(context.Background(), lic.Document, b, verifier.Policy{At: verifiertest.Now})
		if err != nil {
			t.Fatal(err)
		}
		c, _ := got.Check(verifier.NameStatus)
		if got.Verdict != verifier.VerdictSuperseded || got.Verdict.Label() != "已变更" || c.Status != verifier.CheckFail ||
			!strings.Contains(c.Reason, "已变更") || !strings.Contains(c.Reason, "第 001 版") || !strings.Contains(c.Reason, next.String()) {
			t.Errorf("verdict %s, status check %+v: want 已变更 naming version 002 %s", got.Verdict, c, next)
		}
		checkShape(t, got, verifier.ModeOffline, b.IssuedAt)
	})
	t.Run("online", func(t *testing.T) {
		st := &ledger.LicenseState{Anchor: lic.Anchor, AnchoredAt: lic.AnchoredAt, LogIndex: lic.Receipt.LogIndex,
			Status: license.StatusSuperseded, Reason: "changed", SupersededBy: third.String()}
		at := verifiertest.Now.Add(time.Hour)
		got, err := verifier.Verify(context.Background(), lic.JSON, w.Bundle(nil), verifier.Policy{At: at,
			Online: &fakeLedger{states: map[string]*ledger.LicenseState{id: st}}})
		if err != nil {
			t.Fatal(err)
		}
		c, _ := got.Check(verifier.NameStatus)
		if got.Verdict != verifier.VerdictSuperseded || got.SupersededBy != third.String() ||
			!strings.Contains(c.Reason, "以 "+third.String()+" 为准") || !strings.Contains(c.Reason, "证照变更") {
			t.Errorf("verdict %s superseded by %q, status check %+v: want 已变更 naming %s", got.Verdict, got.SupersededBy, c, third)
		}
		checkShape(t, got, verifier.ModeOnline, at)
	})
}
