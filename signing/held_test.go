package signing

import (
	"bytes"
	"crypto/rand"
	"math/big"
	"runtime"
	"testing"
	"time"

	"filippo.io/bigmod"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// heldSigner returns a signer whose key VerifyHeld holds.
func heldSigner(t testing.TB) (*keySigner, *sm2.PrivateKey) {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s := NewKeySigner(k).(*keySigner)
	if s.held == nil {
		t.Fatal("a fresh signer's key is not held")
	}
	return s, k
}

// mutations are signatures derived from a valid one that an attacker could
// send: every one must get the answer Verify gives.
func mutations(sig []byte) [][]byte {
	n := curveOrder
	fill := func(r, s *big.Int) []byte {
		out := make([]byte, SignatureSize)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out
	}
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	var out [][]byte
	for i := range SignatureSize * 8 {
		m := bytes.Clone(sig)
		m[i/8] ^= 1 << (i % 8)
		out = append(out, m)
	}
	out = append(out,
		append(bytes.Clone(sig[32:]), sig[:32]...), // r and s swapped
		fill(big.NewInt(0), s), fill(r, big.NewInt(0)),
		fill(new(big.Int).Sub(n, big.NewInt(1)), s), fill(r, new(big.Int).Sub(n, big.NewInt(1))),
		fill(new(big.Int).Sub(n, s), s), // r + s = n
		fill(new(big.Int).Add(r, n).Mod(new(big.Int).Add(r, n), new(big.Int).Lsh(big.NewInt(1), 256)), s),
		fill(r, new(big.Int).Sub(n, s)), // -s
		sig[:63], append(bytes.Clone(sig), 0), nil, make([]byte, 64),
		bytes.Repeat([]byte{0xff}, 64),
	)
	if r.Cmp(new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), n)) < 0 {
		out = append(out, fill(new(big.Int).Add(r, n), s)) // r + n: out of range, same mod n
	}
	return out
}

func sameAnswer(t *testing.T, what string, pub *sm2.PrivateKey, msg, sig []byte) {
	t.Helper()
	want := Verify(&pub.PublicKey, msg, sig)
	got := VerifyHeld(&pub.PublicKey, msg, sig)
	if (want == nil) != (got == nil) {
		t.Fatalf("%s: VerifyHeld says %v, Verify says %v (sig %x)", what, got, want, sig)
	}
}

// VerifyHeld gives Verify's answer for valid signatures, every one-bit
// change of them, out-of-range scalars, other messages and other keys'
// signatures.
func TestVerifyHeldAgrees(t *testing.T) {
	s, k := heldSigner(t)
	other, _ := heldSigner(t)
	for i := range 40 {
		msg := make([]byte, i*7)
		rand.Read(msg)
		sig, err := s.Sign(msg)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyHeld(&k.PublicKey, msg, sig); err != nil {
			t.Fatalf("valid signature refused: %v", err)
		}
		for _, m := range mutations(sig) {
			sameAnswer(t, "mutated signature", k, msg, m)
		}
		sameAnswer(t, "another message", k, append(bytes.Clone(msg), 1), sig)
		osig, err := other.Sign(msg)
		if err != nil {
			t.Fatal(err)
		}
		sameAnswer(t, "another key's signature", k, msg, osig)
	}
}

// A signature whose nonce is n-1 ([n-1]G = -G, a scalar ecdh will not take)
// and one whose r + s is n verify as Verify says.
func TestVerifyHeldEdgeNonces(t *testing.T) {
	_, k := heldSigner(t)
	msg := []byte("edge")
	n := curveOrder
	za, err := ZA(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	digest := sm3.Sum(append(bytes.Clone(za), msg...))
	e := new(big.Int).SetBytes(digest[:])
	// s = (1+d)⁻¹(k - r·d), r = e + x₁ mod n, for the nonce k = n-1.
	nonce := new(big.Int).Sub(n, big.NewInt(1))
	r := new(big.Int).Add(e, sm2.P256().Params().Gx)
	r.Mod(r, n)
	inv := new(big.Int).ModInverse(new(big.Int).Add(k.D, big.NewInt(1)), n)
	sv := new(big.Int).Sub(nonce, new(big.Int).Mul(r, k.D))
	sv.Mul(sv, inv).Mod(sv, n)
	sig := make([]byte, SignatureSize)
	r.FillBytes(sig[:32])
	sv.FillBytes(sig[32:])
	if err := Verify(&k.PublicKey, msg, sig); err != nil {
		t.Fatalf("the nonce-(n-1) signature does not verify: %v", err)
	}
	if err := VerifyHeld(&k.PublicKey, msg, sig); err != nil {
		t.Fatalf("VerifyHeld refuses the nonce-(n-1) signature: %v", err)
	}
	for _, m := range mutations(sig) {
		sameAnswer(t, "mutated nonce-(n-1) signature", k, msg, m)
	}

	// s = -r·d·(1+d)⁻¹ makes s + (r+s)·d zero: [0]G is the point at
	// infinity, and both refuse.
	sz := new(big.Int).Mul(r, k.D)
	sz.Neg(sz).Mul(sz, inv).Mod(sz, n)
	zero := make([]byte, SignatureSize)
	r.FillBytes(zero[:32])
	sz.FillBytes(zero[32:])
	if Verify(&k.PublicKey, msg, zero) == nil || VerifyHeld(&k.PublicKey, msg, zero) == nil {
		t.Fatal("a signature whose nonce would be 0 verifies")
	}
}

// VerifyHeld goes through the held key (a held key whose d is wrong refuses
// what Verify accepts), and falls back to Verify once the signer is gone or
// when the key's halves disagree.
func TestVerifyHeldUsesTheHeldKey(t *testing.T) {
	s, k := heldSigner(t)
	msg := []byte("held")
	sig, err := s.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	saved := s.held.d
	s.held.d = bigNat(t, big.NewInt(12345))
	if VerifyHeld(&k.PublicKey, msg, sig) == nil {
		t.Fatal("VerifyHeld did not use the held key")
	}
	s.held.d = saved
	if err := VerifyHeld(&k.PublicKey, msg, sig); err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(s)

	// The halves of a key that disagree: not held.
	other, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	mixed := &sm2.PrivateKey{PrivateKey: other.PrivateKey}
	mixed.PublicKey = k.PublicKey
	if holdKey(mixed) != nil {
		t.Fatal("a private key whose public half is another key's was held")
	}

	// A signer that is collected takes its registration with it.
	xy := func() [64]byte {
		s, k := heldSigner(t)
		_ = s
		xy, _ := pubKeyXY(&k.PublicKey)
		return xy
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		if _, ok := heldKeys.Load(xy); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a collected signer's key is still held")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func bigNat(t *testing.T, v *big.Int) *bigmod.Nat {
	t.Helper()
	b := make([]byte, 32)
	v.FillBytes(b)
	n, err := bigmod.NewNat().SetBytes(b, orderN)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// FuzzVerifyHeld: any message and signature get Verify's answer.
func FuzzVerifyHeld(f *testing.F) {
	s, k := heldSigner(f)
	sig, err := s.Sign([]byte("seed"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("seed"), sig)
	f.Add([]byte(""), make([]byte, 64))
	f.Fuzz(func(t *testing.T, msg, sig []byte) {
		sameAnswer(t, "fuzzed", k, msg, sig)
		if len(msg) > 0 {
			good, err := s.Sign(msg)
			if err != nil {
				t.Fatal(err)
			}
			if len(sig) == SignatureSize {
				mixed := append(bytes.Clone(good[:32]), sig[32:]...)
				sameAnswer(t, "fuzzed s", k, msg, mixed)
				mixed = append(bytes.Clone(sig[:32]), good[32:]...)
				sameAnswer(t, "fuzzed r", k, msg, mixed)
			}
		}
	})
}

func BenchmarkVerifyHeld(b *testing.B) {
	s, k := heldSigner(b)
	msg := make([]byte, 64)
	sig, err := s.Sign(msg)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("public key", func(b *testing.B) {
		for b.Loop() {
			if err := Verify(&k.PublicKey, msg, sig); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("held", func(b *testing.B) {
		for b.Loop() {
			if err := VerifyHeld(&k.PublicKey, msg, sig); err != nil {
				b.Fatal(err)
			}
		}
	})
	runtime.KeepAlive(s) // the signer holds the key
}
