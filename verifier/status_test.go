package verifier_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"zhengzhao/credential"
	"zhengzhao/ledger/tlog"
	"zhengzhao/license"
	"zhengzhao/verifier"
	"zhengzhao/verifier/verifiertest"
)

// verifyAt verifies input offline with b at at.
func verifyAt(t *testing.T, input []byte, b *verifier.TrustBundle, at time.Time) *verifier.Result {
	t.Helper()
	r, err := verifier.Verify(context.Background(), input, b, verifier.Policy{At: at})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Every way of making the status say nothing must end in "status unknown"
// (or a final status it still proves), never in 有效.
func TestStatusFailsClosed(t *testing.T) {
	w := verifiertest.NewWorld(t)
	a := w.Departments[0]
	lic := w.Issue(a, typeBusiness)
	qr := []byte(w.Compact(lic, a))
	now := verifiertest.Now

	good := w.Bundle(nil)
	expiredList := func() *verifier.TrustBundle {
		defer func(from time.Time) { w.ListFrom = from }(w.ListFrom)
		w.ListFrom = now.Add(-48 * time.Hour) // valid for a day: expired a day ago
		return w.Bundle(nil)
	}()
	notListed := w.Bundle(func(b *verifier.TrustBundle) { b.StatusLists = b.StatusLists[1:] })
	flipped := w.Bundle(func(b *verifier.TrustBundle) {
		b.StatusLists[0].Credential = flipListBit(t, b.StatusLists[0].Credential)
	})
	unsigned := w.Bundle(func(b *verifier.TrustBundle) {
		b.StatusLists[0].Credential = editJSON(t, b.StatusLists[0].Credential, func(m map[string]any) { delete(m, "proof") })
	})
	otherKey := w.Bundle(func(b *verifier.TrustBundle) {
		// Department 1's list presented as department 0's.
		b.StatusLists[0].Credential = b.StatusLists[1].Credential
	})
	w.SetStatus(lic.Credential.Identifier(), license.StatusCancelled)
	cancelled := w.Bundle(nil)
	w.SetStatus(lic.Credential.Identifier(), license.StatusSuspended)
	suspended := w.Bundle(nil)
	delete(w.Statuses, lic.Credential.Identifier())

	tests := []struct {
		name   string
		input  []byte
		bundle *verifier.TrustBundle
		at     time.Time
		want   verifier.Verdict
		stale  int
	}{
		{"fresh bundle", lic.JSON, good, now, verifier.VerdictValid, 0},
		{"fresh bundle, QR", qr, good, now, verifier.VerdictValid, 0},
		{"bundle past valid_until", lic.JSON, good, now.Add(72 * time.Hour), verifier.VerdictStatusUnknown, 2},
		{"bundle past valid_until, QR", qr, good, now.Add(25 * time.Hour), verifier.VerdictStatusUnknown, 1},
		{"status list expired", lic.JSON, expiredList, now, verifier.VerdictStatusUnknown, 0},
		{"status list expired, QR", qr, expiredList, now, verifier.VerdictStatusUnknown, 0},
		{"status list missing", lic.JSON, notListed, now, verifier.VerdictStatusUnknown, 0},
		{"status list missing, QR", qr, notListed, now, verifier.VerdictStatusUnknown, 0},
		{"status list with a flipped bit and the old signature", lic.JSON, flipped, now, verifier.VerdictStatusUnknown, 0},
		{"status list unsigned", lic.JSON, unsigned, now, verifier.VerdictStatusUnknown, 0},
		{"status list of another department", lic.JSON, otherKey, now, verifier.VerdictStatusUnknown, 0},
		{"cancelled", lic.JSON, cancelled, now, verifier.VerdictCancelled, 0},
		{"cancelled, QR", qr, cancelled, now, verifier.VerdictCancelled, 0},
		{"cancelled, stale bundle: a final status stays proven", lic.JSON, cancelled, now.Add(30 * 24 * time.Hour), verifier.VerdictCancelled, 29},
		{"suspended", lic.JSON, suspended, now, verifier.VerdictSuspended, 0},
		{"suspended, stale bundle: maybe resumed since", lic.JSON, suspended, now.Add(30 * 24 * time.Hour), verifier.VerdictStatusUnknown, 29},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := verifyAt(t, tt.input, tt.bundle, tt.at)
			if r.Verdict != tt.want || r.StaleDays != tt.stale {
				t.Fatalf("verdict %s, stale %d days; want %s, %d; checks %+v", r.Verdict, r.StaleDays, tt.want, tt.stale, r.Checks)
			}
			if tt.want != verifier.VerdictValid && r.Valid {
				t.Fatal("Valid set")
			}
			if r.BundleSequence != tt.bundle.Sequence {
				t.Errorf("BundleSequence %d, want %d", r.BundleSequence, tt.bundle.Sequence)
			}
			if c, _ := r.Check(verifier.NameStatus); !bytes.Contains([]byte(c.Reason), []byte("信任包")) && tt.want != verifier.VerdictStatusUnknown {
				t.Errorf("status reason %q does not say as of which bundle", c.Reason)
			}
		})
	}
}

// A leaked key mints a QR code and a bare credential with a backdated
// time; once the key is declared compromised neither is valid offline,
// unless the bundle lists the signature as anchored before the compromise.
func TestCompromisedKeyOffline(t *testing.T) {
	w := verifiertest.NewWorld(t)
	a := w.Departments[0]
	genuine := w.Issue(a, typeBusiness)
	genuineQR := w.Compact(genuine, a)
	// The attacker holds a's key and signs a license of their own, dated
	// back to before the compromise.
	forged := w.Issue(a, typeBusiness, verifiertest.EditRecord(func(r *license.Record) { r.Holder = "冒名顶替有限公司" }))
	forgedQR, err := credential.EncodeCompact(forged.Credential, a.Signer, a.KeyID, verifiertest.IssuedAt.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	compromisedAt := verifiertest.IssuedAt.Add(time.Hour)
	listing := func(sigs ...[]byte) *verifier.TrustBundle {
		var ds [][]byte
		for _, s := range sigs {
			d := verifier.CompromiseDigest(s)
			ds = append(ds, d[:])
		}
		slices.SortFunc(ds, bytes.Compare)
		return w.Bundle(func(b *verifier.TrustBundle) {
			b.Departments[0].Keys[0].RevokedFrom = &compromisedAt
			b.Departments[0].Keys[0].RevocationReason = license.ReasonKeyCompromise
			if len(ds) > 0 {
				b.Compromised = []verifier.CompromisedKey{{KeyID: a.KeyID, Digests: bytes.Join(ds, nil)}}
			}
		})
	}
	genuineSig, err := genuine.Credential.Signature()
	if err != nil {
		t.Fatal(err)
	}
	qrParsed, err := credential.ParseCompact(genuineQR)
	if err != nil {
		t.Fatal(err)
	}
	none := listing()
	listed := listing(genuineSig, qrParsed.Signature())

	tests := []struct {
		name   string
		input  []byte
		bundle *verifier.TrustBundle
		want   verifier.Verdict
	}{
		{"forged QR, backdated iat", []byte(forgedQR), listed, verifier.VerdictUnverifiable},
		{"forged bare credential", forged.JSON, listed, verifier.VerdictUnverifiable},
		{"genuine QR, not listed", []byte(genuineQR), none, verifier.VerdictUnverifiable},
		{"genuine QR, listed", []byte(genuineQR), listed, verifier.VerdictValid},
		{"genuine credential, listed", genuine.JSON, listed, verifier.VerdictValid},
		{"genuine document, receipt proves the anchor time", genuine.Document, none, verifier.VerdictValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := verifyAt(t, tt.input, tt.bundle, verifiertest.Now)
			if r.Verdict != tt.want {
				t.Fatalf("verdict %s, want %s; checks %+v", r.Verdict, tt.want, r.Checks)
			}
		})
	}
}

// A receipt counts offline only against a checkpoint the bundle vouches
// for; one from a log the bundle does not prove consistent is not checked.
func TestReceiptCheckpointMustBeVouched(t *testing.T) {
	w := verifiertest.NewWorld(t)
	a := w.Departments[0]
	lic := w.Issue(a, typeBusiness)
	w.Issue(a, typeFood) // the bundle's checkpoint is later than the receipt's
	with := w.Bundle(nil)
	w.NoPrevious = true
	without := w.Bundle(nil)

	r := verifyAt(t, lic.Document, with, verifiertest.Now)
	if c, _ := r.Check(verifier.NameAnchor); r.Verdict != verifier.VerdictValid || c.Status != verifier.CheckPass {
		t.Fatalf("receipt of an earlier checkpoint the bundle proves: %s, anchor %+v", r.Verdict, c)
	}
	r = verifyAt(t, lic.Document, without, verifiertest.Now)
	if c, _ := r.Check(verifier.NameAnchor); c.Status != verifier.CheckSkip {
		t.Fatalf("receipt of a checkpoint the bundle does not vouch for: anchor %+v, want skip", c)
	}

	// A forked log (the log key signed another history of that size) gives
	// a receipt that verifies against its own checkpoint, never the bundle's.
	cp, err := tlog.VerifyCheckpoint(lic.Receipt.Checkpoint, verifiertest.Origin, w.Log.Public())
	if err != nil {
		t.Fatal(err)
	}
	fork := tlog.NewTree()
	for fork.Size() < cp.Size-1 {
		fork.Append([]byte("another history"))
	}
	idx := fork.Append(lic.Receipt.Entry)
	proof, err := fork.InclusionProof(idx, fork.Size())
	if err != nil {
		t.Fatal(err)
	}
	note, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: verifiertest.Origin, Size: fork.Size(), Root: fork.Root()}, verifiertest.Origin, w.Log)
	if err != nil {
		t.Fatal(err)
	}
	forked := *lic.Receipt
	forked.LogIndex, forked.TreeSize, forked.InclusionProof, forked.Checkpoint = idx, fork.Size(), proof, note
	compromisedAt := verifiertest.IssuedAt.Add(time.Hour)
	b := w.Bundle(func(b *verifier.TrustBundle) {
		b.Departments[0].Keys[0].RevokedFrom = &compromisedAt
		b.Departments[0].Keys[0].RevocationReason = license.ReasonKeyCompromise
	})
	w.NoPrevious = false
	r = verifyAt(t, w.DocumentWith(lic, &forked), b, verifiertest.Now)
	if r.Valid {
		t.Fatalf("a receipt from a forked log proved the anchor time of a compromised key's license: %+v", r.Checks)
	}
}

// fetcher serves status lists by URL, or fails.
type fetcher struct {
	lists map[string][]byte
	err   error
}

func (f fetcher) FetchStatusList(_ context.Context, url string) ([]byte, error) {
	if f.err != nil {
		return nil, f.err
	}
	if b, ok := f.lists[url]; ok {
		return b, nil
	}
	return nil, errors.New("404 Not Found")
}

// Verifying with status lists fetched from the URL a credential names: the
// fresh list wins over the bundle's copy; a list that does not answer or
// does not verify gives "status unknown".
func TestStatusListFetchedOnline(t *testing.T) {
	w := verifiertest.NewWorld(t)
	a := w.Departments[0]
	lic := w.Issue(a, typeBusiness)
	b := w.Bundle(nil) // as of before the revocation
	url := lic.Credential.CredentialStatus[0].StatusListCredential
	w.SetStatus(lic.Credential.Identifier(), license.StatusRevoked)
	revoked := w.StatusLists()[0].Credential
	tests := []struct {
		name string
		f    fetcher
		want verifier.Verdict
	}{
		{"the fresh list says revoked", fetcher{lists: map[string][]byte{url: revoked}}, verifier.VerdictRevoked},
		{"the list URL does not answer", fetcher{err: errors.New("dial tcp: connection refused")}, verifier.VerdictStatusUnknown},
		{"the list is not found", fetcher{lists: map[string][]byte{}}, verifier.VerdictStatusUnknown},
		{"the list has a flipped bit", fetcher{lists: map[string][]byte{url: flipListBit(t, revoked)}}, verifier.VerdictStatusUnknown},
		{"another department's list", fetcher{lists: map[string][]byte{url: w.StatusLists()[1].Credential}}, verifier.VerdictStatusUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := verifier.Verify(context.Background(), lic.JSON, b, verifier.Policy{At: verifiertest.Now, Lists: tt.f})
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict != tt.want {
				t.Fatalf("verdict %s, want %s: %+v", r.Verdict, tt.want, r.Checks)
			}
		})
	}
}
