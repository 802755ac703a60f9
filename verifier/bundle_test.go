package verifier_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"zhengzhao/credential"
	"zhengzhao/ledger/tlog"
	"zhengzhao/license"
	"zhengzhao/signing"
	"zhengzhao/verifier"
	"zhengzhao/verifier/verifiertest"
)

func TestBundleRoundTrip(t *testing.T) {
	w := verifiertest.NewWorld(t)
	revoked := verifiertest.IssuedAt.Add(time.Hour)
	w.Departments[1].RevokedFrom, w.Departments[1].RevocationReason = &revoked, license.ReasonKeyCompromise
	w.ListFrom = verifiertest.IssuedAt // signed while both keys were valid
	lic := w.Issue(w.Departments[0], w.Departments[0].Types[0])
	w.Issue(w.Departments[0], w.Departments[0].Types[0]) // so lic's receipt is an earlier checkpoint
	w.SetStatus(lic.Credential.Identifier(), license.StatusCancelled)
	w.Compromised = []verifier.CompromisedKey{{KeyID: w.Departments[1].KeyID, Digests: bytes.Repeat([]byte{7}, verifier.CompromiseDigestSize)}}
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
	if _, err := verifier.ParseBundle(again, verifier.WithRootFingerprint(w.RootFingerprint())); err != nil {
		t.Errorf("re-signed bundle: %v", err)
	}
	if len(got.StatusLists) != 2 || len(got.Previous) == 0 {
		t.Errorf("round trip: %d status lists, %d previous checkpoints; want 2 and some", len(got.StatusLists), len(got.Previous))
	}
}

func TestParseBundleErrors(t *testing.T) {
	w := verifiertest.NewWorld(t)
	other := verifiertest.NewWorld(t)
	good := w.SignedBundle(nil)
	resign := func(edit func(*verifier.TrustBundle)) []byte { return w.SignedBundle(edit) }
	editSigned := func(edit func(m map[string]any)) []byte { return editJSON(t, good, edit) }
	pin := []verifier.BundleOption{verifier.WithRootFingerprint(w.RootFingerprint())}
	// A license issued before a fork: the other world's log holds another
	// history of the same size.
	w.Issue(w.Departments[0], w.Departments[0].Types[0])
	w.Issue(w.Departments[0], w.Departments[0].Types[0])
	forked := w.TrustBundle()
	forkWorld := verifiertest.NewWorld(t)
	for forkWorld.Tree.Size() < w.Tree.Size() {
		forkWorld.Issue(forkWorld.Departments[0], forkWorld.Departments[0].Types[0])
	}

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
		}(), want: verifier.ErrUntrustedRoot},
		{name: "no root pinned", data: good, opts: []verifier.BundleOption{}, want: verifier.ErrNoTrustAnchor},
		{name: "a second root added", data: resign(func(b *verifier.TrustBundle) { b.Roots = append(b.Roots, other.TrustBundle().Roots[0]) }), want: verifier.ErrBundle},
		{name: "no valid_until", data: resign(func(b *verifier.TrustBundle) { b.ValidUntil = time.Time{} }), want: verifier.ErrBundle},
		{name: "status list listed twice", data: resign(func(b *verifier.TrustBundle) { b.StatusLists = append(b.StatusLists, b.StatusLists[0]) }), want: verifier.ErrBundle},
		{name: "previous checkpoint from a forked log", data: resign(func(b *verifier.TrustBundle) {
			b.Previous = forked.Previous
			b.Checkpoint = forkWorld.Checkpoint() // same size, other history, another log key
			b.Log = forkWorld.TrustBundle().Log
		}), want: verifier.ErrBundle},
		{name: "previous checkpoint not consistent", data: resign(func(b *verifier.TrustBundle) {
			b.Previous = forked.Previous
			b.Previous[0].Proof = [][]byte{bytes.Repeat([]byte{1}, 32)}
		}), want: verifier.ErrBundle},
		{name: "compromised digests unsorted", data: resign(func(b *verifier.TrustBundle) {
			b.Compromised = []verifier.CompromisedKey{{KeyID: b.Departments[0].Keys[0].KeyID, Digests: append(bytes.Repeat([]byte{2}, verifier.CompromiseDigestSize), bytes.Repeat([]byte{1}, verifier.CompromiseDigestSize)...)}}
		}), want: verifier.ErrBundle},
		{name: "trailing data", data: append(bytes.Clone(good), []byte(` {}`)...), want: verifier.ErrBundle},
		{name: "duplicate member", data: bytes.Replace(good, []byte(`"version":2`), []byte(`"version":2,"version":2`), 1), want: verifier.ErrBundle},
		{name: "unknown member", data: editSigned(func(m map[string]any) { m["extra"] = true }), want: verifier.ErrBundle},
		{name: "too large", data: append(bytes.Clone(good), bytes.Repeat([]byte(" "), verifier.MaxBundleSize)...), want: verifier.ErrBundle},
		{name: "not JSON", data: []byte("bundle"), want: verifier.ErrBundle},
		{name: "empty", data: nil, want: verifier.ErrBundle},
		{name: "version 1", data: resign(func(b *verifier.TrustBundle) { b.Version = 1 }), want: verifier.ErrBundle},
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			if opts == nil {
				opts = pin
			}
			b, err := verifier.ParseBundle(tt.data, opts...)
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

// flipListBit returns a status list credential with one bit of its list
// flipped and its signature left as it was.
func flipListBit(t *testing.T, raw []byte) []byte {
	t.Helper()
	l, err := credential.ParseStatusListCredential(raw)
	if err != nil {
		t.Fatal(err)
	}
	v, err := l.List.Get(5)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.List.Set(5, v^1); err != nil {
		t.Fatal(err)
	}
	enc, err := credential.EncodeList(l.List)
	if err != nil {
		t.Fatal(err)
	}
	return editJSON(t, raw, func(m map[string]any) { member(m, "credentialSubject")["encodedList"] = enc })
}
