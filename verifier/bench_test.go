package verifier_test

import (
	"context"
	"testing"
	"time"

	"zhengzhao/credential"
	"zhengzhao/signing"
	"zhengzhao/verifier"
	"zhengzhao/verifier/verifiertest"
)

// BenchmarkVerifyOffline measures a full offline verification against a
// parsed bundle, with and without a ledger receipt, next to the raw SM2
// verification it is built on (as signing's BenchmarkVerify measures it).
// The bundle index makes the rest cheap: a full Verify should reach at least
// 80% of the raw SM2 rate.
func BenchmarkVerifyOffline(b *testing.B) {
	w := verifiertest.NewWorld(b)
	lic := w.Issue(w.Departments[0], typeFood)
	bundle := w.Bundle(nil)
	ctx := context.Background()
	p := verifier.Policy{At: verifiertest.Now}
	for _, bc := range []struct {
		name  string
		input []byte
	}{
		{"receipt", lic.Document},
		{"no-receipt", lic.JSON},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r, err := verifier.Verify(ctx, bc.input, bundle, p)
				if err != nil || !r.Valid {
					b.Fatalf("Verify = %+v, %v", r, err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
	// What the credential package alone costs: parse and proof.
	b.Run("credential-parse-proof", func(b *testing.B) {
		pub := w.Departments[0].Signer.Public()
		for b.Loop() {
			c, err := credential.Parse(lic.JSON)
			if err != nil {
				b.Fatal(err)
			}
			if err := c.VerifyProof(pub); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
	b.Run("sm2-verify", func(b *testing.B) {
		s := w.Departments[0].Signer
		msg := make([]byte, 64)
		sig, err := s.Sign(msg)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := signing.Verify(s.Public(), msg, sig); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
}

// BenchmarkParseBundle measures reading and indexing a signed bundle.
func BenchmarkParseBundle(b *testing.B) {
	w := verifiertest.NewWorld(b)
	data := w.SignedBundle(nil)
	for b.Loop() {
		if _, err := verifier.ParseBundle(data, verifier.WithRootFingerprint(w.RootFingerprint())); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyOfflineVsSM2 times a full offline Verify and a raw SM2
// verification alternately in one loop, so that the ratio holds even on a
// busy machine. speed-vs-sm2 is Verify's rate as a fraction of raw SM2's
// (the target is at least 0.8 for a bare credential).
func BenchmarkVerifyOfflineVsSM2(b *testing.B) {
	w := verifiertest.NewWorld(b)
	lic := w.Issue(w.Departments[0], typeFood)
	bundle := w.Bundle(nil)
	ctx := context.Background()
	p := verifier.Policy{At: verifiertest.Now}
	s := w.Departments[0].Signer
	msg := make([]byte, 64)
	sig, err := s.Sign(msg)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		input []byte
	}{
		{"receipt", lic.Document},
		{"no-receipt", lic.JSON},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var full, raw time.Duration
			for b.Loop() {
				t0 := time.Now()
				r, err := verifier.Verify(ctx, bc.input, bundle, p)
				t1 := time.Now()
				if err != nil || !r.Valid {
					b.Fatalf("Verify = %+v, %v", r, err)
				}
				if err := signing.Verify(s.Public(), msg, sig); err != nil {
					b.Fatal(err)
				}
				full, raw = full+t1.Sub(t0), raw+time.Since(t1)
			}
			b.ReportMetric(float64(full.Nanoseconds())/float64(b.N), "verify-ns/op")
			b.ReportMetric(float64(raw.Nanoseconds())/float64(b.N), "sm2-ns/op")
			b.ReportMetric(float64(raw)/float64(full), "speed-vs-sm2")
		})
	}
}
