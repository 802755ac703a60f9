package registry_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"zhengzhao/license"
	"zhengzhao/registry"
	"zhengzhao/signing/seal"
	"zhengzhao/verifier"
)

// verifyPDF renders a license's PDF and verifies it offline with the
// registry's current bundle.
func (w *world) verifyPDF(id string) *verifier.Result {
	w.t.Helper()
	pdf, err := w.reg.PDF(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	res, err := verifier.Verify(context.Background(), pdf, w.bundle(), verifier.Policy{At: time.Now()})
	if err != nil {
		w.t.Fatal(err)
	}
	return res
}

// Registration gives a department a seal made by the platform; every
// license is sealed with it and its PDF verifies offline, seal and all.
func TestRegisteredDepartmentsHaveSeals(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	for _, d := range w.depts {
		seals, err := w.reg.Seals(ctx, d.USCC)
		if err != nil || len(seals) != 1 || !seals[0].Active || !strings.HasPrefix(seals[0].ID, d.USCC+".") {
			t.Fatalf("seals of %s: %+v %v", d.USCC, seals, err)
		}
		if pic, err := w.reg.SealPicture(ctx, d.USCC); err != nil || len(pic) < 1000 {
			t.Errorf("seal picture of %s: %d bytes, %v", d.USCC, len(pic), err)
		}
	}
	for _, bd := range w.bundle().Departments {
		if len(bd.Seals) != 1 {
			t.Errorf("bundle lists %d seals for %s, want 1", len(bd.Seals), bd.USCC)
		}
	}
	lic, err := w.reg.Issue(ctx, w.issuer(0), w.request(0))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(lic.Compact, "ZZ1:") || len(lic.SealSignature) == 0 {
		t.Fatalf("issued license lacks its compact form or seal: %q, %d bytes", lic.Compact, len(lic.SealSignature))
	}
	if res := w.verifyPDF(lic.Identifier); !res.Valid {
		t.Fatalf("PDF: %s %+v", res.Verdict, res.Checks)
	}
	if _, err := w.reg.SealPicture(ctx, "91110000000000000X"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("seal of an unknown department: %v", err)
	}
}

// Re-keying gives a new seal; licenses sealed before stay valid, licenses
// after carry the new seal; only the platform admin may re-key; a restart
// keeps the new key and seal.
func TestRotateKeyIssuesNewSeal(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	d := w.depts[0]
	before, err := w.reg.Issue(ctx, w.issuer(0), w.request(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.reg.RotateKey(ctx, w.issuer(0), d.USCC); !errors.Is(err, registry.ErrForbidden) {
		t.Fatalf("an issuer rotating keys: %v, want ErrForbidden", err)
	}
	size := w.treeSize()
	dept, err := w.reg.RotateKey(ctx, w.admin, d.USCC)
	if err != nil {
		t.Fatal(err)
	}
	// The new key is added and the old one's signing validity ended.
	if len(dept.Keys) != 2 || w.treeSize() != size+2 {
		t.Fatalf("after rotation: %d keys, ledger grew by %d", len(dept.Keys), w.treeSize()-size)
	}
	if old := dept.Keys[0]; old.RevokedFrom == nil || old.RevocationReason != license.ReasonKeyRotated {
		t.Fatalf("the rotated-out key: revoked from %v, reason %q", old.RevokedFrom, old.RevocationReason)
	}
	if ls, _ := w.ledger.Department(ctx, d.USCC); len(ls.Revocations) != 1 || ls.Revocations[0].Reason != license.ReasonKeyRotated {
		t.Fatalf("ledger revocations after rotation: %+v", ls.Revocations)
	}
	seals, _ := w.reg.Seals(ctx, d.USCC)
	if len(seals) != 2 || seals[0].Active || !seals[1].Active || seals[0].ID == seals[1].ID {
		t.Fatalf("seals after rotation: %+v", seals)
	}
	w.close()
	w.open()
	after, err := w.reg.Issue(ctx, w.issuer(0), w.request(0))
	if err != nil {
		t.Fatal(err)
	}
	for name, lic := range map[string]*registry.License{"before": before, "after": after} {
		res := w.verifyPDF(lic.Identifier)
		if !res.Valid {
			t.Errorf("%s rotation: %s %+v", name, res.Verdict, res.Checks)
		}
		want := seals[0].ID
		if name == "after" {
			want = seals[1].ID
		}
		if c, _ := res.Check(verifier.NameSeal); !strings.Contains(c.Reason, want) {
			t.Errorf("%s rotation: sealed with %q, want seal %s", name, c.Reason, want)
		}
	}
}

// Every SES_Signature carries the whole seal (~35 KB with its picture); the
// store keeps it once in the seals table and each license's signature
// without it, and gives back the exact bytes.
func TestStoredSealSignatureIsSmall(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	lic, err := w.reg.Issue(ctx, w.issuer(0), w.request(0))
	if err != nil {
		t.Fatal(err)
	}
	got, err := w.reg.Get(ctx, lic.Identifier)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.SealSignature, lic.SealSignature) {
		t.Fatalf("stored seal signature differs from the issued one (%d vs %d bytes)", len(got.SealSignature), len(lic.SealSignature))
	}
	w.sqliteOnly()
	db, err := sql.Open("sqlite", filepath.Join(w.dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stored int
	if err := db.QueryRow(`SELECT length(seal_signature) FROM licenses WHERE identifier = ?`, lic.Identifier).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored > 4096 || len(lic.SealSignature) < 10000 {
		t.Errorf("stored %d bytes of a %d-byte seal signature", stored, len(lic.SealSignature))
	}
}

// A batch's licenses are sealed cut (the seal and certificate never copied
// into each signature): read back, each one's seal signature is whole,
// stamps its own credential and its PDF verifies.
func TestBatchSealSignatures(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	reqs := []registry.IssueRequest{w.request(0), w.request(0), w.request(0)}
	for _, r := range w.reg.IssueBatch(ctx, w.issuer(0), reqs) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		got, err := w.reg.Get(ctx, r.License.Identifier)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := seal.ParseSignature(got.SealSignature)
		if err != nil {
			t.Fatalf("%s: stored seal signature: %v", got.Identifier, err)
		}
		if want := sm3.Sum(got.Credential); !bytes.Equal(sig.DataHash, want[:]) || sig.PropertyInfo != "license:"+got.Identifier {
			t.Errorf("%s: the seal stamps %x (%q), want SM3 of its credential", got.Identifier, sig.DataHash, sig.PropertyInfo)
		}
		if res := w.verifyPDF(got.Identifier); res.Verdict != verifier.VerdictValid {
			t.Errorf("%s: PDF verdict %s: %+v", got.Identifier, res.Verdict, res.Checks)
		}
	}
}
