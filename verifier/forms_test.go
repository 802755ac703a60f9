package verifier_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"zhengzhao/internal/zhtext"
	"zhengzhao/license"
	"zhengzhao/render"
	"zhengzhao/verifier"
	"zhengzhao/verifier/verifiertest"
)

// failedChecks lists the names of the failed checks of r.
func failedChecks(r *verifier.Result) []string {
	var out []string
	for _, c := range r.Checks {
		if c.Status == verifier.CheckFail {
			out = append(out, c.Name)
		}
	}
	return out
}

// Every form a holder can show, and every way of tampering with each.
func TestVerifyForms(t *testing.T) {
	w := verifiertest.NewWorld(t)
	a, b := w.Departments[0], w.Departments[1]
	lic := w.Issue(a, a.Types[0])
	other := w.Issue(a, a.Types[0])
	stamp := w.Stamp(lic, a, a.Seal, verifiertest.IssuedAt)
	qr := w.Compact(lic, a)
	goodPDF := w.PDF(lic, lic.Document, stamp, qr)

	// The seal of department B, stamped by B's key on A's license.
	foreignStamp := w.Stamp(lic, b, b.Seal, verifiertest.IssuedAt)
	// A's seal that expired before the license was stamped.
	expired := w.MakeSeal(a, w.Root, w.RootCert, verifiertest.KeyFrom, verifiertest.IssuedAt.Add(-24*time.Hour))
	// A seal listing A's key, made by someone other than the platform.
	rogue := w.MakeSeal(a, a.Signer, a.Cert, verifiertest.KeyFrom, verifiertest.KeyUntil)
	// The credential edited after signing (the holder's name).
	edited := bytes.Replace(lic.Document, []byte(lic.Credential.CredentialSubject.Holder), []byte("张三"), 1)
	// The QR payload with one character changed in the middle.
	flipped := []byte(qr)
	flipped[len(flipped)/2] = map[bool]byte{true: 'B', false: 'A'}[flipped[len(flipped)/2] == 'A']
	// A bundle in which the license is revoked.
	w.SetStatus(lic.Credential.Identifier(), license.StatusRevoked)
	revoked := w.Bundle(nil)
	delete(w.Statuses, lic.Credential.Identifier())

	tests := []struct {
		name        string
		input       []byte
		bundle      *verifier.TrustBundle
		wantForm    string
		wantVerdict verifier.Verdict
		wantFailed  []string
	}{
		{name: "license PDF", input: goodPDF, wantForm: verifier.FormPDF, wantVerdict: verifier.VerdictValid},
		{name: "ZZ1 payload", input: []byte(qr), wantForm: verifier.FormCompact, wantVerdict: verifier.VerdictValid},
		{name: "ZZ1 payload with a newline", input: []byte(qr + "\n"), wantForm: verifier.FormCompact, wantVerdict: verifier.VerdictValid},
		{name: "QR picture", input: qrPNG(t, qr), wantForm: verifier.FormPhoto, wantVerdict: verifier.VerdictValid},
		{name: "revoked, QR", input: []byte(qr), bundle: revoked, wantForm: verifier.FormCompact, wantVerdict: verifier.VerdictRevoked, wantFailed: []string{verifier.NameStatus}},
		{name: "revoked, PDF", input: goodPDF, bundle: revoked, wantForm: verifier.FormPDF, wantVerdict: verifier.VerdictRevoked, wantFailed: []string{verifier.NameStatus}},
		{name: "changed attachment: edited credential", input: w.PDF(lic, edited, stamp, qr), wantForm: verifier.FormPDF, wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameProof, verifier.NameAnchor, verifier.NameSeal, verifier.NameFace}},
		{name: "changed attachment: another genuine license under this face", input: w.PDF(lic, other.Document, w.Stamp(other, a, a.Seal, verifiertest.IssuedAt), qr), wantForm: verifier.FormPDF, wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameFace}},
		{name: "changed attachment: seal of another license", input: w.PDF(lic, lic.Document, w.Stamp(other, a, a.Seal, verifiertest.IssuedAt), qr), wantForm: verifier.FormPDF, wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameSeal}},
		{name: "no seal attached", input: w.PDF(lic, lic.Document, nil, qr), wantForm: verifier.FormPDF, wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameSeal}},
		{name: "another department's seal pasted in", input: w.PDF(lic, lic.Document, foreignStamp, qr), wantForm: verifier.FormPDF, wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameSeal}},
		{name: "expired seal", input: w.PDF(lic, lic.Document, w.Stamp(lic, a, expired, verifiertest.IssuedAt), qr), wantForm: verifier.FormPDF, wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameSeal}},
		{name: "seal not made by the platform", input: w.PDF(lic, lic.Document, w.Stamp(lic, a, rogue, verifiertest.IssuedAt), qr), wantForm: verifier.FormPDF, wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameSeal}},
		{name: "changed QR payload", input: flipped, wantForm: verifier.FormCompact, wantVerdict: verifier.VerdictInvalid},
		{name: "QR of another department's key", input: []byte(w.Compact(lic, b)), wantForm: verifier.FormCompact, wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameProof}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bundle := tt.bundle
			if bundle == nil {
				bundle = w.Bundle(nil)
			}
			got, err := verifier.Verify(context.Background(), tt.input, bundle, verifier.Policy{At: verifiertest.Now})
			if err != nil {
				t.Fatal(err)
			}
			if got.Form != tt.wantForm || got.Verdict != tt.wantVerdict {
				t.Errorf("form %s verdict %s, want %s %s; checks %+v", got.Form, got.Verdict, tt.wantForm, tt.wantVerdict, got.Checks)
			}
			if tt.wantFailed != nil && !slices.Equal(failedChecks(got), tt.wantFailed) {
				t.Errorf("failed checks %v, want %v; checks %+v", failedChecks(got), tt.wantFailed, got.Checks)
			}
			chineseReasons(t, got)
			if tt.wantVerdict == verifier.VerdictInvalid && len(failedChecks(got)) == 0 {
				t.Errorf("invalid without a failed check: %+v", got.Checks)
			}
		})
	}
}

// Which seal failed, and why, is named for the clerk.
func TestSealFailureReasons(t *testing.T) {
	w := verifiertest.NewWorld(t)
	a := w.Departments[0]
	lic := w.Issue(a, a.Types[0])
	expired := w.MakeSeal(a, w.Root, w.RootCert, verifiertest.KeyFrom, verifiertest.IssuedAt.Add(-time.Hour))
	rogue := w.MakeSeal(a, a.Signer, a.Cert, verifiertest.KeyFrom, verifiertest.KeyUntil)
	for _, tt := range []struct {
		name, want string
		sig        []byte
	}{
		{"expired", "印章有效期", w.Stamp(lic, a, expired, verifiertest.IssuedAt)},
		{"rogue maker", "制章者", w.Stamp(lic, a, rogue, verifiertest.IssuedAt)},
	} {
		got, err := verifier.Verify(context.Background(), w.PDF(lic, lic.Document, tt.sig, w.Compact(lic, a)), w.Bundle(nil), verifier.Policy{At: verifiertest.Now})
		if err != nil {
			t.Fatal(err)
		}
		c, _ := got.Check(verifier.NameSeal)
		if c.Status != verifier.CheckFail || !strings.Contains(c.Reason, tt.want) {
			t.Errorf("%s: seal check %+v, want a failure naming %s", tt.name, c, tt.want)
		}
		chineseReasons(t, got)
	}
}

// Inputs that are not licenses say so, with the sentinel an API maps.
func TestUnreadableForms(t *testing.T) {
	w := verifiertest.NewWorld(t)
	a := w.Departments[0]
	lic := w.Issue(a, a.Types[0])
	bare := w.PDF(lic, nil, w.Stamp(lic, a, a.Seal, verifiertest.IssuedAt), w.Compact(lic, a))
	for _, tt := range []struct {
		name  string
		input []byte
		want  error
	}{
		{"picture without a QR code", verifiertest.SealPicture(), verifier.ErrNoQRCode},
		{"truncated PNG", []byte("\x89PNG\r\n\x1a\nshort"), verifier.ErrNoQRCode},
		{"PDF without our attachment", bare, verifier.ErrNotLicensePDF},
		{"not really a PDF", []byte("%PDF-1.7 hello"), verifier.ErrNotLicensePDF},
		{"encrypted PDF", []byte("%PDF-1.7\n1 0 obj << /Encrypt 2 0 R >> endobj\n%%EOF"), verifier.ErrNotLicensePDF},
	} {
		got, err := verifier.Verify(context.Background(), tt.input, w.Bundle(nil), verifier.Policy{At: verifiertest.Now})
		if err != nil {
			t.Fatal(err)
		}
		if !errors.Is(got.InputErr, tt.want) || got.Valid {
			t.Errorf("%s: InputErr %v, want %v", tt.name, got.InputErr, tt.want)
		}
		if c, _ := got.Check(verifier.NameFormat); c.Status != verifier.CheckFail || c.Reason == "" || c.Detail == "" {
			t.Errorf("%s: format check %+v, want a Chinese reason and an English detail", tt.name, c)
		}
		chineseReasons(t, got)
		if err := zhtext.Check(verifier.Describe(got.InputErr)); err != nil {
			t.Errorf("%s: Describe(%v): %v", tt.name, got.InputErr, err)
		}
	}
}

func qrPNG(t *testing.T, payload string) []byte {
	t.Helper()
	img, err := render.QRPNG(payload, 512)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
