package signing

import (
	"testing"

	"zhengzhao/internal/cputime"
)

var benchMessage = make([]byte, 1024)

func BenchmarkSign(b *testing.B) {
	s := NewKeySigner(newTestKey(b))
	b.SetBytes(int64(len(benchMessage)))
	b.ReportAllocs()
	defer cputime.Report(b)()
	for b.Loop() {
		if _, err := s.Sign(benchMessage); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	s := NewKeySigner(newTestKey(b))
	sig, err := s.Sign(benchMessage)
	if err != nil {
		b.Fatal(err)
	}
	pub := s.Public()
	b.SetBytes(int64(len(benchMessage)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Verify(pub, benchMessage, sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecryptPrivateKey measures the PBKDF2-HMAC-SM3 cost of opening a
// key at rest (KeyIterations rounds).
func BenchmarkDecryptPrivateKey(b *testing.B) {
	pass := []byte("bench passphrase")
	pemBytes, err := EncryptPrivateKey(newTestKey(b), pass)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := DecryptPrivateKey(pemBytes, pass); err != nil {
			b.Fatal(err)
		}
	}
}
