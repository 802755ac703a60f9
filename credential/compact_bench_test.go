package credential

import (
	"testing"
	"time"

	"zhengzhao/internal/cputime"
	"zhengzhao/signing"
)

// BenchmarkCompactVerify is a full offline check of a compact QR form:
// ParseCompact + VerifySignature. Compare with BenchmarkSM2Verify.
func BenchmarkCompactVerify(b *testing.B) {
	qr := loadCompactVector(b).Compact
	pub := &vectorKey(b).PublicKey
	b.ReportAllocs()
	for b.Loop() {
		c, err := ParseCompact(qr)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.VerifySignature(pub); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseCompact is ParseCompact alone.
func BenchmarkParseCompact(b *testing.B) {
	qr := loadCompactVector(b).Compact
	b.SetBytes(int64(len(qr)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseCompact(qr); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeCompact makes the compact form of the signed vector.
func BenchmarkEncodeCompact(b *testing.B) {
	c := signedVector(b)
	s := signing.NewKeySigner(vectorKey(b))
	at := time.Date(2025, 1, 1, 1, 30, 0, 0, time.UTC)
	b.ReportAllocs()
	defer cputime.Report(b)()
	for b.Loop() {
		if _, err := EncodeCompact(c, s, "5f2a9c07e1d3b468", at); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompactVerifyVsSM2 interleaves a full compact check
// (ParseCompact + VerifySignature) with a bare signing.Verify, so that both
// see the same machine load, and reports the full check's speed as a
// fraction of SM2's ("speed-vs-sm2", target ≥ 0.8) from the fastest round of
// each.
func BenchmarkCompactVerifyVsSM2(b *testing.B) {
	qr := loadCompactVector(b).Compact
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
			c, err := ParseCompact(qr)
			if err != nil {
				b.Fatal(err)
			}
			if err := c.VerifySignature(&key.PublicKey); err != nil {
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
