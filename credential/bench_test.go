package credential

import (
	"testing"
	"time"

	"zhengzhao/internal/cputime"
	"zhengzhao/signing"
)

// BenchmarkVerifyProof is a full offline proof check from bytes:
// Parse + VerifyProof (two SM3 hashes + one SM2 verification). Compare with
// BenchmarkSM2Verify, the SM2 verification alone.
func BenchmarkVerifyProof(b *testing.B) {
	data := readTestdata(b, signedFile)
	pub := &vectorKey(b).PublicKey
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		c, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.VerifyProof(pub); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSM2Verify is the floor for BenchmarkVerifyProof: signing.Verify
// over a 64-byte message.
func BenchmarkSM2Verify(b *testing.B) {
	key := vectorKey(b)
	msg := make([]byte, 64)
	sig, err := signing.NewKeySigner(key).Sign(msg)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := signing.Verify(&key.PublicKey, msg, sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParse is Parse alone.
func BenchmarkParse(b *testing.B) {
	data := readTestdata(b, signedFile)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseHashes is Parse and the two SM3 hashes: everything in a
// verification except SM2.
func BenchmarkParseHashes(b *testing.B) {
	data := readTestdata(b, signedFile)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		c, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.Hashes(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSign is New's output signed and marshaled.
func BenchmarkSign(b *testing.B) {
	in := vectorInput()
	s := signing.NewKeySigner(vectorKey(b))
	created := mustTime(b, in.Created)
	b.ReportAllocs()
	defer cputime.Report(b)()
	for b.Loop() {
		c, err := New(in.Record, in.IssuerName, in.Status)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Sign(s, in.VerificationMethod, created); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignCanonical is what the registry does for every license: New,
// then SignCanonical, whose canonical bytes it stores and seals.
func BenchmarkSignCanonical(b *testing.B) {
	in := vectorInput()
	s := signing.NewKeySigner(vectorKey(b))
	created := mustTime(b, in.Created)
	b.ReportAllocs()
	defer cputime.Report(b)()
	for b.Loop() {
		c, err := New(in.Record, in.IssuerName, in.Status)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.SignCanonical(s, in.VerificationMethod, created); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyProofVsSM2 interleaves a full offline proof check
// (Parse + VerifyProof) with a bare signing.Verify, so that both see the
// same machine load, and reports the full check's speed as a fraction of
// SM2's ("speed-vs-sm2", target ≥ 0.8) from the fastest round of each.
func BenchmarkVerifyProofVsSM2(b *testing.B) {
	data := readTestdata(b, signedFile)
	key := vectorKey(b)
	msg := make([]byte, 64)
	sig, err := signing.NewKeySigner(key).Sign(msg)
	if err != nil {
		b.Fatal(err)
	}
	const round = 20
	bestFull, bestRaw := time.Duration(1<<62), time.Duration(1<<62)
	for b.Loop() {
		start := time.Now()
		for range round {
			c, err := Parse(data)
			if err != nil {
				b.Fatal(err)
			}
			if err := c.VerifyProof(&key.PublicKey); err != nil {
				b.Fatal(err)
			}
		}
		mid := time.Now()
		for range round {
			if err := signing.Verify(&key.PublicKey, msg, sig); err != nil {
				b.Fatal(err)
			}
		}
		end := time.Now()
		bestFull = min(bestFull, mid.Sub(start))
		bestRaw = min(bestRaw, end.Sub(mid))
	}
	b.ReportMetric(float64(bestFull.Nanoseconds())/round, "full-ns/op")
	b.ReportMetric(float64(bestRaw.Nanoseconds())/round, "sm2-ns/op")
	b.ReportMetric(float64(bestRaw)/float64(bestFull), "speed-vs-sm2")
}
