package verifier_test

import (
	"context"
	"testing"
	"time"

	"zhengzhao/ledger"
	"zhengzhao/ledger/embedded"
	"zhengzhao/ledger/tlog"
	"zhengzhao/license"
	"zhengzhao/verifier"
	"zhengzhao/verifier/verifiertest"
)

// TestVerifyEmbeddedLedger verifies licenses anchored in the real embedded
// ledger: online against it, and offline with its receipts and checkpoint.
func TestVerifyEmbeddedLedger(t *testing.T) {
	ctx := context.Background()
	w := verifiertest.NewWorld(t)
	clock := verifiertest.IssuedAt
	l, err := embedded.New(ctx, embedded.Config{Dir: t.TempDir(), Signer: w.Log, Origin: verifiertest.Origin, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	for _, d := range w.Departments {
		_, err := l.RegisterDepartment(ctx, ledger.Department{USCC: d.USCC, Name: d.Name, Types: d.Types},
			ledger.Key{Department: d.USCC, KeyID: d.KeyID, CertDER: d.Cert.Raw, ValidFrom: verifiertest.KeyFrom, ValidUntil: verifiertest.KeyUntil})
		if err != nil {
			t.Fatal(err)
		}
	}
	active := w.Issue(w.Departments[0], typeBusiness)
	suspended := w.Issue(w.Departments[1], typeProperty)
	notAnchored := w.Issue(w.Departments[0], typeFood)
	receipts, err := l.Anchor(ctx, []ledger.Anchor{active.Anchor, suspended.Anchor})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.SetStatus(ctx, ledger.StatusChange{Identifier: suspended.Credential.Identifier(), Issuer: w.Departments[1].USCC, Status: license.StatusSuspended, Reason: "under_investigation"}); err != nil {
		t.Fatal(err)
	}
	cp, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The receipts' checkpoint is an earlier one, proved consistent.
	rcp, err := tlog.VerifyCheckpoint(receipts[0].Checkpoint, verifiertest.Origin, w.Log.Public())
	if err != nil {
		t.Fatal(err)
	}
	proof, err := l.ConsistencyProof(ctx, rcp.Size, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	bundle := w.Bundle(func(b *verifier.TrustBundle) {
		b.Checkpoint = cp.Note
		b.Previous = []verifier.PriorCheckpoint{{Checkpoint: receipts[0].Checkpoint, Proof: proof}}
	})

	tests := []struct {
		name        string
		input       []byte
		online      bool
		wantVerdict verifier.Verdict
		wantAnchor  verifier.CheckStatus
	}{
		{"online active", active.JSON, true, verifier.VerdictValid, verifier.CheckPass},
		{"online suspended", suspended.JSON, true, verifier.VerdictSuspended, verifier.CheckPass},
		{"online not anchored", notAnchored.JSON, true, verifier.VerdictInvalid, verifier.CheckFail},
		{"offline with embedded receipt", w.DocumentWith(active, &receipts[0]), false, verifier.VerdictValid, verifier.CheckPass},
		{"offline with another license's receipt", w.DocumentWith(active, &receipts[1]), false, verifier.VerdictInvalid, verifier.CheckFail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := verifier.Policy{At: verifiertest.Now}
			if tt.online {
				p.Online = l
			}
			got, err := verifier.Verify(ctx, tt.input, bundle, p)
			if err != nil {
				t.Fatal(err)
			}
			if got.Verdict != tt.wantVerdict || statusOf(t, got, verifier.NameAnchor) != tt.wantAnchor {
				t.Errorf("verdict %s, anchor %s; want %s, %s; checks %+v", got.Verdict, statusOf(t, got, verifier.NameAnchor), tt.wantVerdict, tt.wantAnchor, got.Checks)
			}
			if tt.wantVerdict == verifier.VerdictValid && (got.AnchoredAt == nil || !got.AnchoredAt.Equal(clock)) {
				t.Errorf("AnchoredAt = %v, want %v", got.AnchoredAt, clock)
			}
		})
	}
}
