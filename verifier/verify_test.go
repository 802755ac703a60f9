package verifier_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"zhengzhao/internal/zhtext"
	"zhengzhao/ledger"
	"zhengzhao/ledger/tlog"
	"zhengzhao/license"
	"zhengzhao/signing"
	"zhengzhao/verifier"
	"zhengzhao/verifier/verifiertest"
)

// Type codes of the world's departments (see verifiertest.NewWorld).
const (
	typeBusiness = "11100000000013338W001" // 营业执照, no end date, department 0
	typeFood     = "11100000000013338W002" // 食品经营许可证, 5 years, department 0
	typeProperty = "11100000000015019B001" // 不动产权证书, department 1
)

// editJSON decodes raw, lets edit change it and encodes it again.
func editJSON(t *testing.T, raw []byte, edit func(m map[string]any)) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func member(m map[string]any, name string) map[string]any { return m[name].(map[string]any) }

// failed returns the names of the failed checks, in order.
func failed(r *verifier.Result) []string {
	var out []string
	for _, c := range r.Checks {
		if c.Status == verifier.CheckFail {
			out = append(out, c.Name)
		}
	}
	return out
}

func statusOf(t *testing.T, r *verifier.Result, name string) verifier.CheckStatus {
	t.Helper()
	c, ok := r.Check(name)
	if !ok {
		t.Fatalf("no %s check in %+v", name, r.Checks)
	}
	return c.Status
}

func TestVerifyOffline(t *testing.T) {
	w := verifiertest.NewWorld(t)
	a, b := w.Departments[0], w.Departments[1]
	lic := w.Issue(a, typeBusiness)
	food := w.Issue(a, typeFood)
	other := w.Issue(b, typeProperty)
	forgedOtherKey := w.Issue(a, typeBusiness, verifiertest.SignedBy(b.Signer, b.KeyID))
	forgedSameID := w.Issue(a, typeBusiness, verifiertest.SignedBy(b.Signer, a.KeyID))
	wrongType := w.Issue(a, typeProperty)
	lateCreated := w.Issue(a, typeBusiness, verifiertest.SignedAt(verifiertest.IssuedAt.AddDate(1, 0, 0)))
	bundle := w.Bundle(nil)

	otherLog := verifiertest.NewWorld(t).Log
	foreignCheckpoint := *lic.Receipt
	cp, err := tlog.VerifyCheckpoint(lic.Receipt.Checkpoint, verifiertest.Origin, w.Log.Public())
	if err != nil {
		t.Fatal(err)
	}
	if foreignCheckpoint.Checkpoint, err = tlog.SignCheckpoint(cp, verifiertest.Origin, otherLog); err != nil {
		t.Fatal(err)
	}
	badInclusion := *lic.Receipt
	badInclusion.InclusionProof = [][]byte{bytes.Clone(lic.Receipt.InclusionProof[0])}
	badInclusion.InclusionProof = append(badInclusion.InclusionProof, lic.Receipt.InclusionProof[1:]...)
	badInclusion.InclusionProof[0][0] ^= 1
	wrongSize := *lic.Receipt
	wrongSize.TreeSize--

	revokedAt := func(at time.Time) *verifier.TrustBundle {
		return w.Bundle(func(tb *verifier.TrustBundle) {
			tb.Departments[0].Keys[0].RevokedFrom = &at
			tb.Departments[0].Keys[0].RevocationReason = license.ReasonKeyCompromise
		})
	}
	rotatedAt := func(at time.Time) *verifier.TrustBundle {
		return w.Bundle(func(tb *verifier.TrustBundle) {
			tb.Departments[0].Keys[0].RevokedFrom = &at
			tb.Departments[0].Keys[0].RevocationReason = license.ReasonKeyRotated
		})
	}
	compromisedListing := func(at time.Time, anchored ...*verifiertest.License) *verifier.TrustBundle {
		var digests [][]byte
		for _, l := range anchored {
			sig, err := l.Credential.Signature()
			if err != nil {
				t.Fatal(err)
			}
			d := verifier.CompromiseDigest(sig)
			digests = append(digests, d[:])
		}
		slices.SortFunc(digests, bytes.Compare)
		return w.Bundle(func(tb *verifier.TrustBundle) {
			tb.Departments[0].Keys[0].RevokedFrom = &at
			tb.Departments[0].Keys[0].RevocationReason = license.ReasonKeyCompromise
			tb.Compromised = []verifier.CompromisedKey{{KeyID: tb.Departments[0].Keys[0].KeyID, Digests: bytes.Join(digests, nil)}}
		})
	}
	listed := func(id string, s license.Status) *verifier.TrustBundle {
		w.SetStatus(id, s)
		defer delete(w.Statuses, id)
		return w.Bundle(nil)
	}

	tests := []struct {
		name        string
		input       []byte
		bundle      *verifier.TrustBundle // nil: bundle
		at          time.Time             // zero: verifiertest.Now
		wantVerdict verifier.Verdict
		wantFailed  []string
		wantAnchor  verifier.CheckStatus
	}{
		{name: "valid with receipt", input: lic.Document, wantVerdict: verifier.VerdictValid, wantAnchor: verifier.CheckPass},
		{name: "valid without receipt", input: lic.JSON, wantVerdict: verifier.VerdictValid, wantAnchor: verifier.CheckSkip},
		{name: "valid with 5-year validity", input: food.Document, wantVerdict: verifier.VerdictValid, wantAnchor: verifier.CheckPass},
		{name: "valid from the other department", input: other.Document, wantVerdict: verifier.VerdictValid, wantAnchor: verifier.CheckPass},
		{name: "valid with surrounding white space", input: append(append([]byte(" \n"), lic.JSON...), '\n'), wantVerdict: verifier.VerdictValid, wantAnchor: verifier.CheckSkip},
		{name: "valid with members re-ordered", input: editJSON(t, lic.JSON, func(map[string]any) {}), wantVerdict: verifier.VerdictValid, wantAnchor: verifier.CheckSkip},
		{name: "document with null receipt", input: []byte(`{"receipt":null,"credential":` + string(lic.JSON) + `}`), wantVerdict: verifier.VerdictValid, wantAnchor: verifier.CheckSkip},
		{
			name: "changed field",
			input: editJSON(t, lic.JSON, func(m map[string]any) {
				member(m, "credentialSubject")["holder"] = "张三有限公司"
			}),
			wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameProof}, wantAnchor: verifier.CheckSkip,
		},
		{
			name: "changed field with receipt",
			input: editJSON(t, lic.Document, func(m map[string]any) {
				member(member(m, "credential"), "credentialSubject")["holder"] = "张三有限公司"
			}),
			wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameProof, verifier.NameAnchor}, wantAnchor: verifier.CheckFail,
		},
		{
			name: "changed validUntil",
			input: editJSON(t, food.JSON, func(m map[string]any) {
				m["validUntil"] = "2099-01-01T00:00:00Z"
			}),
			wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameProof}, wantAnchor: verifier.CheckSkip,
		},
		{
			name: "added member",
			input: editJSON(t, lic.JSON, func(m map[string]any) {
				m["evidence"] = "forged"
			}),
			wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameProof}, wantAnchor: verifier.CheckSkip,
		},
		{
			name: "changed proofValue",
			input: editJSON(t, lic.JSON, func(m map[string]any) {
				p := member(m, "proof")
				v := []byte(p["proofValue"].(string))
				v[10] = map[bool]byte{true: '2', false: '3'}[v[10] != '2']
				p["proofValue"] = string(v)
			}),
			wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameProof}, wantAnchor: verifier.CheckSkip,
		},
		{
			name: "wrong cryptosuite",
			input: editJSON(t, lic.JSON, func(m map[string]any) {
				member(m, "proof")["cryptosuite"] = "ecdsa-jcs-2019"
			}),
			wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameProof}, wantAnchor: verifier.CheckSkip,
		},
		{name: "signed with another department's key id", input: forgedOtherKey.Document, wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameProof}, wantAnchor: verifier.CheckPass},
		{name: "signed with another key under the issuer's key id", input: forgedSameID.JSON, wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameProof}, wantAnchor: verifier.CheckSkip},
		{
			name: "verification method of another department",
			input: editJSON(t, lic.JSON, func(m map[string]any) {
				member(m, "proof")["verificationMethod"] = "urn:uscc:" + b.USCC + "#" + b.KeyID
			}),
			wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameIssuer, verifier.NameProof}, wantAnchor: verifier.CheckSkip,
		},
		{
			name: "unknown issuer", input: lic.Document,
			bundle:      w.Bundle(func(tb *verifier.TrustBundle) { tb.Departments = tb.Departments[1:] }),
			wantVerdict: verifier.VerdictUnverifiable, wantFailed: []string{verifier.NameIssuer}, wantAnchor: verifier.CheckPass,
		},
		{name: "expired", input: food.Document, at: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), wantVerdict: verifier.VerdictExpired, wantFailed: []string{verifier.NameValidity, verifier.NameStatus}, wantAnchor: verifier.CheckPass},
		{name: "not yet valid", input: lic.Document, at: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), wantVerdict: verifier.VerdictNotYetValid, wantFailed: []string{verifier.NameValidity, verifier.NameStatus}, wantAnchor: verifier.CheckPass},
		{name: "revoked", input: lic.Document, bundle: listed(lic.Credential.Identifier(), license.StatusRevoked), wantVerdict: verifier.VerdictRevoked, wantFailed: []string{verifier.NameStatus}, wantAnchor: verifier.CheckPass},
		{name: "suspended", input: lic.JSON, bundle: listed(lic.Credential.Identifier(), license.StatusSuspended), wantVerdict: verifier.VerdictSuspended, wantFailed: []string{verifier.NameStatus}, wantAnchor: verifier.CheckSkip},
		{name: "another license listed", input: lic.JSON, bundle: listed(food.Credential.Identifier(), license.StatusRevoked), wantVerdict: verifier.VerdictValid, wantAnchor: verifier.CheckSkip},
		{name: "revoked and expired", input: food.JSON, bundle: listed(food.Credential.Identifier(), license.StatusRevoked), at: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), wantVerdict: verifier.VerdictRevoked, wantFailed: []string{verifier.NameValidity, verifier.NameStatus}, wantAnchor: verifier.CheckSkip},
		{name: "duplicate JSON member", input: bytes.Replace(lic.JSON, []byte(`"id":`), []byte(`"id":"urn:license:x","id":`), 1), wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameFormat}, wantAnchor: verifier.CheckSkip},
		{name: "duplicate JSON member in document", input: []byte(`{"credential":` + string(lic.JSON) + `,"credential":` + string(food.JSON) + `}`), wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameFormat}, wantAnchor: verifier.CheckSkip},
		{name: "trailing bytes", input: append(bytes.Clone(lic.JSON), '{', '}'), wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameFormat}, wantAnchor: verifier.CheckSkip},
		{name: "document with an unknown member", input: []byte(`{"credential":` + string(lic.JSON) + `,"extra":1}`), wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameFormat}, wantAnchor: verifier.CheckSkip},
		{name: "document with a null receipt", input: []byte(`{"credential":` + string(lic.JSON) + `,"receipt":null}`), wantVerdict: verifier.VerdictValid, wantAnchor: verifier.CheckSkip},
		{name: "trailing bytes after document", input: append(bytes.Clone(lic.Document), 'x'), wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameFormat}, wantAnchor: verifier.CheckSkip},
		{name: "unknown document member", input: []byte(`{"credential":` + string(lic.JSON) + `,"note":1}`), wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameFormat}, wantAnchor: verifier.CheckSkip},
		{name: "too large", input: append(bytes.Clone(lic.JSON), bytes.Repeat([]byte(" "), 1<<20)...), wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameFormat}, wantAnchor: verifier.CheckSkip},
		{name: "empty", input: nil, wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameFormat}, wantAnchor: verifier.CheckSkip},
		{name: "receipt for another license", input: w.DocumentWith(lic, food.Receipt), wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameAnchor}, wantAnchor: verifier.CheckFail},
		{name: "receipt with tampered inclusion proof", input: w.DocumentWith(lic, &badInclusion), wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameAnchor}, wantAnchor: verifier.CheckFail},
		{name: "receipt with wrong tree size", input: w.DocumentWith(lic, &wrongSize), wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameAnchor}, wantAnchor: verifier.CheckFail},
		{name: "checkpoint signed by another key", input: w.DocumentWith(lic, &foreignCheckpoint), wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameAnchor}, wantAnchor: verifier.CheckFail},
		{name: "key revoked before anchoring", input: lic.Document, bundle: revokedAt(verifiertest.IssuedAt.Add(-time.Hour)), wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameKey}, wantAnchor: verifier.CheckPass},
		{name: "key revoked at anchoring", input: lic.Document, bundle: revokedAt(lic.AnchoredAt), wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameKey}, wantAnchor: verifier.CheckPass},
		{name: "key revoked after anchoring", input: lic.Document, bundle: revokedAt(verifiertest.IssuedAt.Add(time.Hour)), wantVerdict: verifier.VerdictValid, wantAnchor: verifier.CheckPass},
		// A compromised key's own signing time proves nothing: without a
		// proven anchor time a bare credential cannot be valid offline.
		{name: "key compromised after proof creation, no receipt", input: lic.JSON, bundle: revokedAt(verifiertest.IssuedAt.Add(time.Hour)), wantVerdict: verifier.VerdictUnverifiable, wantFailed: []string{verifier.NameKey}, wantAnchor: verifier.CheckSkip},
		{name: "key compromised, backdated proof creation, no receipt", input: lateCreated.JSON, bundle: revokedAt(verifiertest.IssuedAt.Add(time.Hour)), wantVerdict: verifier.VerdictUnverifiable, wantFailed: []string{verifier.NameKey}, wantAnchor: verifier.CheckSkip},
		{name: "key compromised, the bundle lists the signature as anchored before", input: lic.JSON, bundle: compromisedListing(verifiertest.IssuedAt.Add(time.Hour), lic), wantVerdict: verifier.VerdictValid, wantAnchor: verifier.CheckSkip},
		{name: "key compromised, the bundle lists another signature", input: lateCreated.JSON, bundle: compromisedListing(verifiertest.IssuedAt.Add(time.Hour), lic), wantVerdict: verifier.VerdictUnverifiable, wantFailed: []string{verifier.NameKey}, wantAnchor: verifier.CheckSkip},
		// A rotation ends the key's signing validity; its signing time still counts.
		{name: "key rotated after proof creation, no receipt", input: lic.JSON, bundle: rotatedAt(verifiertest.IssuedAt.Add(time.Hour)), wantVerdict: verifier.VerdictValid, wantAnchor: verifier.CheckSkip},
		{name: "signed after the key's rotation, no receipt", input: lateCreated.JSON, bundle: rotatedAt(verifiertest.IssuedAt.Add(time.Hour)), wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameKey}, wantAnchor: verifier.CheckSkip},
		{name: "receipt anchor time wins over proof creation", input: lateCreated.Document, bundle: revokedAt(verifiertest.IssuedAt.Add(time.Hour)), wantVerdict: verifier.VerdictValid, wantAnchor: verifier.CheckPass},
		{name: "type not allowed for issuer", input: wrongType.Document, wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameType}, wantAnchor: verifier.CheckPass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.bundle
			if b == nil {
				b = bundle
			}
			at := tt.at
			if at.IsZero() {
				at = verifiertest.Now
			}
			got, err := verifier.Verify(context.Background(), tt.input, b, verifier.Policy{At: at})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.Verdict != tt.wantVerdict || got.Valid != (tt.wantVerdict == verifier.VerdictValid) {
				t.Errorf("verdict = %s (valid %v), want %s; checks %+v", got.Verdict, got.Valid, tt.wantVerdict, got.Checks)
			}
			if f := failed(got); strings.Join(f, ",") != strings.Join(tt.wantFailed, ",") {
				t.Errorf("failed checks = %v, want %v; checks %+v", f, tt.wantFailed, got.Checks)
			}
			if s := statusOf(t, got, verifier.NameAnchor); s != tt.wantAnchor {
				t.Errorf("anchor check = %s, want %s", s, tt.wantAnchor)
			}
			checkShape(t, got, verifier.ModeOffline, b.IssuedAt)
			if got.Valid != (got.Err() == nil) {
				t.Errorf("Err() = %v with Valid %v", got.Err(), got.Valid)
			}
			if !got.Valid && !errors.Is(got.Err(), verifier.ErrNotValid) {
				t.Errorf("Err() = %v, want ErrNotValid", got.Err())
			}
		})
	}
}

// checkShape checks what every result has: the eight checks in order, each
// with a reason in Chinese (no English sentence under a Chinese check name), and the mode and as-of time.
func checkShape(t *testing.T, r *verifier.Result, mode string, asOf time.Time) {
	t.Helper()
	want := []string{verifier.NameFormat, verifier.NameIssuer, verifier.NameProof, verifier.NameKey, verifier.NameType, verifier.NameValidity, verifier.NameStatus, verifier.NameAnchor}
	if len(r.Checks) != len(want) {
		t.Fatalf("%d checks, want %d: %+v", len(r.Checks), len(want), r.Checks)
	}
	for i, c := range r.Checks {
		if c.Name != want[i] {
			t.Errorf("check %d is %s, want %s", i, c.Name, want[i])
		}
		switch c.Status {
		case verifier.CheckPass, verifier.CheckFail, verifier.CheckSkip:
		default:
			t.Errorf("check %s has status %q", c.Name, c.Status)
		}
	}
	chineseReasons(t, r)
	if r.Mode != mode || !r.AsOf.Equal(asOf) {
		t.Errorf("mode %s as of %v, want %s as of %v", r.Mode, r.AsOf, mode, asOf)
	}
}

func TestVerifyResultDetails(t *testing.T) {
	w := verifiertest.NewWorld(t)
	lic := w.Issue(w.Departments[0], typeBusiness)
	bundle := w.Bundle(nil)
	got, err := verifier.Verify(context.Background(), lic.Document, bundle, verifier.Policy{At: verifiertest.Now})
	if err != nil {
		t.Fatal(err)
	}
	if got.Identifier != lic.Credential.Identifier() || got.TypeCode != typeBusiness || got.TypeName != "营业执照" ||
		got.Issuer != w.Departments[0].USCC || got.IssuerName != w.Departments[0].Name {
		t.Errorf("result names %+v", got)
	}
	if got.AnchoredAt == nil || !got.AnchoredAt.Equal(lic.AnchoredAt) {
		t.Errorf("AnchoredAt = %v, want %v", got.AnchoredAt, lic.AnchoredAt)
	}

	// Without a receipt the anchor time is unknown.
	got, err = verifier.Verify(context.Background(), lic.JSON, bundle, verifier.Policy{At: verifiertest.Now})
	if err != nil {
		t.Fatal(err)
	}
	if got.AnchoredAt != nil {
		t.Errorf("AnchoredAt = %v without a receipt", got.AnchoredAt)
	}

	// A result encodes to JSON for the API.
	if _, err := json.Marshal(got); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyResultOwnsItsStrings: Verify reads its input without copying
// it, so the Result must not point into it. A caller that reuses its buffer
// afterwards (a server reading the next request) keeps the Result it had.
func TestVerifyResultOwnsItsStrings(t *testing.T) {
	w := verifiertest.NewWorld(t)
	lic := w.Issue(w.Departments[0], typeBusiness)
	bundle := w.Bundle(nil)
	noIssuer := w.Bundle(func(tb *verifier.TrustBundle) { tb.Departments = tb.Departments[1:] })
	for _, b := range []*verifier.TrustBundle{bundle, noIssuer} {
		for _, in := range [][]byte{lic.Document, lic.JSON} {
			input := bytes.Clone(in)
			got, err := verifier.Verify(context.Background(), input, b, verifier.Policy{At: verifiertest.Now})
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			for i := range input {
				input[i] = 'x'
			}
			if after, _ := json.Marshal(got); !bytes.Equal(after, want) {
				t.Errorf("the result changed with the input buffer:\nbefore %s\n after %s", want, after)
			}
		}
	}
}

func TestVerifyUsage(t *testing.T) {
	w := verifiertest.NewWorld(t)
	lic := w.Issue(w.Departments[0], typeBusiness)
	bundle := w.Bundle(nil)
	for _, tt := range []struct {
		name   string
		bundle *verifier.TrustBundle
		policy verifier.Policy
	}{
		{"nil bundle", nil, verifier.Policy{At: verifiertest.Now}},
		{"zero time", bundle, verifier.Policy{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := verifier.Verify(context.Background(), lic.JSON, tt.bundle, tt.policy); !errors.Is(err, verifier.ErrUsage) {
				t.Errorf("err = %v, want ErrUsage", err)
			}
		})
	}
}

// TestVerifyUnparsedBundle: a bundle built in memory is trusted as given,
// prepared or not; Prepare refuses what ParseBundle would.
func TestVerifyUnparsedBundle(t *testing.T) {
	w := verifiertest.NewWorld(t)
	lic := w.Issue(w.Departments[1], typeProperty)
	for _, tt := range []struct {
		name string
		edit func(*verifier.TrustBundle)
		want verifier.Verdict
		fail []string
		// badBundle: Prepare refuses the bundle.
		badBundle bool
	}{
		{name: "as built", want: verifier.VerdictValid},
		{
			name: "certificate from another root",
			edit: func(b *verifier.TrustBundle) {
				b.Roots[0] = string(signing.EncodeCertificatePEM(verifiertest.NewWorld(t).RootCert.Raw))
			},
			// Every key of the bundle is then unusable, the status list's too.
			want: verifier.VerdictInvalid, fail: []string{verifier.NameKey, verifier.NameStatus}, badBundle: true,
		},
		{
			name: "key not yet valid at anchoring",
			edit: func(b *verifier.TrustBundle) {
				b.Departments[1].Keys[0].ValidFrom = verifiertest.IssuedAt.Add(time.Hour)
			},
			want: verifier.VerdictInvalid, fail: []string{verifier.NameKey},
		},
		{
			name: "key expired at anchoring",
			edit: func(b *verifier.TrustBundle) {
				b.Departments[1].Keys[0].ValidUntil = verifiertest.IssuedAt.Add(-time.Hour)
			},
			want: verifier.VerdictInvalid, fail: []string{verifier.NameKey},
		},
		{
			name: "key id does not match certificate",
			edit: func(b *verifier.TrustBundle) {
				b.Departments[1].Keys[0].Certificate = b.Departments[0].Keys[0].Certificate
			},
			want: verifier.VerdictInvalid, fail: []string{verifier.NameProof}, badBundle: true,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := w.TrustBundle()
			if tt.edit != nil {
				tt.edit(b)
			}
			for _, prepare := range []bool{false, true} {
				if prepare {
					err := b.Prepare()
					if (err != nil) != tt.badBundle || (err != nil && !errors.Is(err, verifier.ErrBundle)) {
						t.Errorf("Prepare = %v", err)
					}
				}
				got, err := verifier.Verify(context.Background(), lic.Document, b, verifier.Policy{At: verifiertest.Now})
				if err != nil {
					t.Fatal(err)
				}
				if got.Verdict != tt.want || strings.Join(failed(got), ",") != strings.Join(tt.fail, ",") {
					t.Errorf("prepared %v: verdict %s failed %v, want %s %v; checks %+v", prepare, got.Verdict, failed(got), tt.want, tt.fail, got.Checks)
				}
			}
		})
	}
}

// fakeLedger answers License from a map.
type fakeLedger struct {
	states map[string]*ledger.LicenseState
	err    error
}

func (f *fakeLedger) License(_ context.Context, id string) (*ledger.LicenseState, error) {
	if f.err != nil {
		return nil, f.err
	}
	s, ok := f.states[id]
	if !ok {
		return nil, ledger.ErrNotFound
	}
	return s, nil
}

func TestVerifyOnlineFake(t *testing.T) {
	w := verifiertest.NewWorld(t)
	a := w.Departments[0]
	lic := w.Issue(a, typeBusiness)
	bundle := w.Bundle(nil)
	state := func(s license.Status, edit func(*ledger.Anchor)) *fakeLedger {
		st := &ledger.LicenseState{Anchor: lic.Anchor, AnchoredAt: lic.AnchoredAt, LogIndex: lic.Receipt.LogIndex, Status: s, Reason: "test"}
		if edit != nil {
			edit(&st.Anchor)
		}
		return &fakeLedger{states: map[string]*ledger.LicenseState{lic.Credential.Identifier(): st}}
	}
	revokedEarly := verifiertest.IssuedAt.Add(-time.Hour)
	tests := []struct {
		name        string
		ledger      *fakeLedger
		bundle      *verifier.TrustBundle
		wantVerdict verifier.Verdict
		wantFailed  []string
	}{
		{name: "active", ledger: state(license.StatusActive, nil), wantVerdict: verifier.VerdictValid},
		{name: "suspended", ledger: state(license.StatusSuspended, nil), wantVerdict: verifier.VerdictSuspended, wantFailed: []string{verifier.NameStatus}},
		{name: "revoked", ledger: state(license.StatusRevoked, nil), wantVerdict: verifier.VerdictRevoked, wantFailed: []string{verifier.NameStatus}},
		{name: "not on the ledger", ledger: &fakeLedger{}, wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameStatus, verifier.NameAnchor}},
		{name: "other digest", ledger: state(license.StatusActive, func(an *ledger.Anchor) { an.DocumentHash = bytes.Repeat([]byte{1}, 32) }), wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameAnchor}},
		{name: "other signature", ledger: state(license.StatusActive, func(an *ledger.Anchor) { an.Signature = bytes.Repeat([]byte{1}, 64) }), wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameAnchor}},
		{name: "other issuer", ledger: state(license.StatusActive, func(an *ledger.Anchor) { an.Issuer = w.Departments[1].USCC }), wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameAnchor}},
		{name: "ledger unavailable", ledger: &fakeLedger{err: ledger.ErrUnavailable}, wantVerdict: verifier.VerdictUnverifiable, wantFailed: []string{verifier.NameStatus}},
		{
			name: "key revoked before anchoring", ledger: state(license.StatusActive, nil),
			bundle: w.Bundle(func(tb *verifier.TrustBundle) {
				tb.Departments[0].Keys[0].RevokedFrom = &revokedEarly
			}),
			wantVerdict: verifier.VerdictInvalid, wantFailed: []string{verifier.NameKey},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.bundle
			if b == nil {
				b = bundle
			}
			at := verifiertest.Now.Add(time.Hour)
			got, err := verifier.Verify(context.Background(), lic.JSON, b, verifier.Policy{At: at, Online: tt.ledger})
			if err != nil {
				t.Fatal(err)
			}
			if got.Verdict != tt.wantVerdict {
				t.Errorf("verdict = %s, want %s; checks %+v", got.Verdict, tt.wantVerdict, got.Checks)
			}
			if f := failed(got); strings.Join(f, ",") != strings.Join(tt.wantFailed, ",") {
				t.Errorf("failed checks = %v, want %v; checks %+v", f, tt.wantFailed, got.Checks)
			}
			checkShape(t, got, verifier.ModeOnline, at)
		})
	}
}

// TestVerifyConcurrent: one parsed bundle serves many goroutines (run with
// -race).
func TestVerifyConcurrent(t *testing.T) {
	w := verifiertest.NewWorld(t)
	var inputs [][]byte
	for range 4 {
		l := w.Issue(w.Departments[0], typeBusiness)
		inputs = append(inputs, l.Document, l.JSON)
	}
	bundle := w.Bundle(nil)
	errs := make(chan error, len(inputs))
	for _, in := range inputs {
		go func() {
			r, err := verifier.Verify(context.Background(), in, bundle, verifier.Policy{At: verifiertest.Now})
			if err == nil && !r.Valid {
				err = r.Err()
			}
			errs <- err
		}()
	}
	for range inputs {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// chineseReasons checks that every check's reason, which a window clerk
// reads under its Chinese name, is Chinese with no English sentence in it,
// and that the verdict has a Chinese label.
func chineseReasons(t *testing.T, r *verifier.Result) {
	t.Helper()
	for _, c := range r.Checks {
		if err := zhtext.Check(c.Reason); err != nil {
			t.Errorf("check %s (%s) is not Chinese for a window clerk: %v", c.Name, verifier.CheckLabel(c.Name), err)
		}
	}
	if err := zhtext.Check(r.Verdict.Label()); err != nil {
		t.Errorf("verdict %s: %v", r.Verdict, err)
	}
}
