package verifier_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"zhengzhao/ledger/tlog"
	"zhengzhao/license"
	"zhengzhao/signing"
	"zhengzhao/verifier"
	"zhengzhao/verifier/verifiertest"
)

func TestBundleRoundTrip(t *testing.T) {
	w := verifiertest.NewWorld(t)
	revoked := verifiertest.IssuedAt.Add(time.Hour)
	w.Departments[1].RevokedFrom, w.Departments[1].RevocationReason = &revoked, "key compromise"
	w.Invalid = []verifier.LicenseStatus{{Identifier: "x", Status: license.StatusRevoked, Reason: "注销", At: verifiertest.Now}}
	want := w.TrustBundle()
	data, err := want.Sign(w.Root)
	if err != nil {
		t.Fatal(err)
	}
	got, err := verifier.ParseBundle(data, verifier.WithRootFingerprint(verifier.RootFingerprint(w.RootCert.Raw)))
	if err != nil {
		t.Fatal(err)
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("round trip:\n got %s\nwant %s", gotJSON, wantJSON)
	}
	// Sign returns canonical JSON: signing again gives the same bytes.
	again, err := got.Sign(w.Root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier.ParseBundle(again); err != nil {
		t.Errorf("re-signed bundle: %v", err)
	}
}

func TestParseBundleErrors(t *testing.T) {
	w := verifiertest.NewWorld(t)
	other := verifiertest.NewWorld(t)
	good := w.SignedBundle(nil)
	resign := func(edit func(*verifier.TrustBundle)) []byte { return w.SignedBundle(edit) }
	editSigned := func(edit func(m map[string]any)) []byte { return editJSON(t, good, edit) }

	tests := []struct {
		name string
		data []byte
		opts []verifier.BundleOption
		want error
	}{
		{name: "tampered signature", data: editSigned(func(m map[string]any) {
			s := []byte(m["signature"].(string))
			s[5] = map[bool]byte{true: '2', false: '3'}[s[5] != '2']
			m["signature"] = string(s)
		}), want: verifier.ErrBundleSignature},
		{name: "signature missing", data: editSigned(func(m map[string]any) { m["signature"] = "" }), want: verifier.ErrBundleSignature},
		{name: "field changed after signing", data: editSigned(func(m map[string]any) { m["issued_at"] = "2030-01-01T00:00:00Z" }), want: verifier.ErrBundleSignature},
		{name: "department added after signing", data: editSigned(func(m map[string]any) {
			m["departments"] = append(m["departments"].([]any), m["departments"].([]any)[0])
		}), want: verifier.ErrBundleSignature},
		{name: "signed by another root", data: func() []byte {
			b := other.TrustBundle()
			data, err := b.Sign(other.Root)
			if err != nil {
				t.Fatal(err)
			}
			return data
		}(), opts: []verifier.BundleOption{verifier.WithRootFingerprint(verifier.RootFingerprint(w.RootCert.Raw))}, want: verifier.ErrUntrustedRoot},
		{name: "trailing data", data: append(bytes.Clone(good), []byte(` {}`)...), want: verifier.ErrBundle},
		{name: "duplicate member", data: bytes.Replace(good, []byte(`"version":1`), []byte(`"version":1,"version":1`), 1), want: verifier.ErrBundle},
		{name: "unknown member", data: editSigned(func(m map[string]any) { m["extra"] = true }), want: verifier.ErrBundle},
		{name: "too large", data: append(bytes.Clone(good), bytes.Repeat([]byte(" "), verifier.MaxBundleSize)...), want: verifier.ErrBundle},
		{name: "not JSON", data: []byte("bundle"), want: verifier.ErrBundle},
		{name: "empty", data: nil, want: verifier.ErrBundle},
		{name: "version 2", data: resign(func(b *verifier.TrustBundle) { b.Version = 2 }), want: verifier.ErrBundle},
		{name: "no roots", data: editSigned(func(m map[string]any) { m["roots"] = []any{} }), want: verifier.ErrBundle},
		{name: "root is not a CA", data: func() []byte {
			b := w.TrustBundle()
			b.Roots = []string{string(signing.EncodeCertificatePEM(w.Departments[0].Cert.Raw))}
			data, err := b.Sign(w.Departments[0].Signer)
			if err != nil {
				t.Fatal(err)
			}
			return data
		}(), want: verifier.ErrBundle},
		{name: "key id does not match certificate", data: resign(func(b *verifier.TrustBundle) {
			b.Departments[0].Keys[0].KeyID = b.Departments[1].Keys[0].KeyID
		}), want: verifier.ErrBundle},
		{name: "certificate of another department", data: resign(func(b *verifier.TrustBundle) {
			b.Departments[0].Keys[0] = b.Departments[1].Keys[0]
		}), want: verifier.ErrBundle},
		{name: "certificate from another root", data: resign(func(b *verifier.TrustBundle) {
			k := other.Departments[0]
			b.Departments[0].Keys[0].Certificate = string(signing.EncodeCertificatePEM(k.Cert.Raw))
			b.Departments[0].Keys[0].KeyID = k.KeyID
			b.Departments[0].USCC = k.USCC
		}), want: verifier.ErrBundle},
		{name: "bad certificate PEM", data: resign(func(b *verifier.TrustBundle) { b.Departments[0].Keys[0].Certificate = "junk" }), want: verifier.ErrBundle},
		{name: "bad department USCC", data: resign(func(b *verifier.TrustBundle) { b.Departments[0].USCC = "123" }), want: verifier.ErrBundle},
		{name: "department listed twice", data: resign(func(b *verifier.TrustBundle) { b.Departments = append(b.Departments, b.Departments[0]) }), want: verifier.ErrBundle},
		{name: "checkpoint signed by another key", data: resign(func(b *verifier.TrustBundle) { b.Checkpoint = other.Checkpoint() }), want: verifier.ErrBundle},
		{name: "checkpoint of another origin", data: resign(func(b *verifier.TrustBundle) {
			cp, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "other.test/log", Size: 1, Root: bytes.Repeat([]byte{1}, 32)}, "other.test/log", w.Log)
			if err != nil {
				t.Fatal(err)
			}
			b.Checkpoint = cp
		}), want: verifier.ErrBundle},
		{name: "bad log key", data: resign(func(b *verifier.TrustBundle) { b.Log.PublicKey = "junk" }), want: verifier.ErrBundle},
		{name: "invalid license with active status", data: resign(func(b *verifier.TrustBundle) {
			b.Invalid = []verifier.LicenseStatus{{Identifier: "x", Status: license.StatusActive}}
		}), want: verifier.ErrBundle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := verifier.ParseBundle(tt.data, tt.opts...)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseBundle = %v, %v; want %v", b, err, tt.want)
			}
		})
	}
	if _, err := verifier.ParseBundle(good, verifier.WithRootFingerprint(strings.ToUpper(verifier.RootFingerprint(w.RootCert.Raw)))); err != nil {
		t.Errorf("pinned to its own root: %v", err)
	}
}

func TestSignBundleErrors(t *testing.T) {
	w := verifiertest.NewWorld(t)
	b := w.TrustBundle()
	if _, err := b.Sign(w.Log); !errors.Is(err, verifier.ErrBundle) {
		t.Errorf("signed with a key that is not roots[0]'s: %v", err)
	}
	b.Roots = nil
	if _, err := b.Sign(w.Root); !errors.Is(err, verifier.ErrBundle) {
		t.Errorf("signed with no roots: %v", err)
	}
}
