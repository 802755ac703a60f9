package credential

import (
	"bytes"
	"testing"
	"time"

	"zhengzhao/signing"
)

// TestSignCanonical: what SignCanonical returns is what a verifier reads
// back from the bytes it returns.
func TestSignCanonical(t *testing.T) {
	for _, until := range []string{"2033-03-14", ""} {
		in := vectorInput()
		in.Record.ValidUntil = until
		key := vectorKey(t)
		c, err := New(in.Record, in.IssuerName, in.Status)
		if err != nil {
			t.Fatal(err)
		}
		created := mustTime(t, in.Created).Add(300 * time.Millisecond)
		got, err := c.SignCanonical(signing.NewKeySigner(key), in.VerificationMethod, created)
		if err != nil {
			t.Fatal(err)
		}
		marshalled, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Canonical, marshalled) {
			t.Fatalf("Canonical differs from Marshal:\n%s\n%s", got.Canonical, marshalled)
		}
		parsed, err := Parse(got.Canonical)
		if err != nil {
			t.Fatal(err)
		}
		if err := parsed.VerifyProof(&key.PublicKey); err != nil {
			t.Fatalf("the canonical bytes do not verify: %v", err)
		}
		ph, dh, err := parsed.Hashes()
		if err != nil {
			t.Fatal(err)
		}
		sig, _ := parsed.Signature()
		if !bytes.Equal(ph, got.ProofHash) || !bytes.Equal(dh, got.DocumentHash) || !bytes.Equal(sig, got.Signature) {
			t.Fatalf("digests or signature differ from the parsed document's")
		}
		// The signed Credential answers from the same document.
		ph2, dh2, _ := c.Hashes()
		if !bytes.Equal(ph2, ph) || !bytes.Equal(dh2, dh) {
			t.Fatal("the signed Credential's digests differ from the parsed document's")
		}
		if want := created.UTC().Truncate(time.Second); !got.Created.Equal(want) || parsed.Proof.Created != want.Format(timeLayout) {
			t.Fatalf("Created %v, proof.created %s, want %v", got.Created, parsed.Proof.Created, want)
		}
		if got.ValidFrom.Format(timeLayout) != parsed.ValidFrom {
			t.Fatalf("ValidFrom %v, credential says %s", got.ValidFrom, parsed.ValidFrom)
		}
		if until == "" && !got.ValidUntil.IsZero() || until != "" && got.ValidUntil.Format(timeLayout) != parsed.ValidUntil {
			t.Fatalf("ValidUntil %v, credential says %q", got.ValidUntil, parsed.ValidUntil)
		}
	}
}
