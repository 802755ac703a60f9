package signing

import (
	"bytes"
	"encoding/asn1"
	"math/big"
	"math/rand/v2"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// TestOwnDERToRawMatchesASN1ToRaw: the cryptobyte reader gives the same
// r‖s as ASN1ToRaw and refuses all it refuses, on real signatures, on
// scalars at the edges of [1, n-1], and on one-byte changes and truncations
// of real signatures; it also refuses bytes after s inside the SEQUENCE,
// which encoding/asn1 ignores.
func TestOwnDERToRawMatchesASN1ToRaw(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s := NewKeySigner(k)
	var ders [][]byte
	for i := range 40 {
		raw, err := s.Sign([]byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		der, err := RawToASN1(raw)
		if err != nil {
			t.Fatal(err)
		}
		ders = append(ders, der)
	}
	n := new(big.Int).Set(curveOrder)
	edges := []*big.Int{big.NewInt(0), big.NewInt(1), big.NewInt(-1), big.NewInt(127), big.NewInt(128), big.NewInt(255),
		new(big.Int).Sub(n, big.NewInt(1)), n, new(big.Int).Add(n, big.NewInt(1)), new(big.Int).Lsh(big.NewInt(1), 255),
		new(big.Int).Lsh(big.NewInt(1), 256), new(big.Int).Neg(n)}
	for _, r := range edges {
		for _, v := range edges {
			der, err := asn1.Marshal(ecdsaSignature{R: r, S: v})
			if err != nil {
				t.Fatal(err)
			}
			ders = append(ders, der)
		}
	}
	ders = append(ders, nil, []byte{0x30, 0x00}, []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00},
		[]byte{0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01},             // r not minimal
		[]byte{0x30, 0x09, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}, // three INTEGERs
		[]byte{0x30, 0x81, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01})             // long form of a short length
	rng := rand.New(rand.NewPCG(7, 8))
	for _, der := range ders[:40] {
		for range 30 {
			m := bytes.Clone(der)
			m[rng.IntN(len(m))] ^= byte(1 + rng.IntN(255))
			ders = append(ders, m)
		}
		ders = append(ders, der[:rng.IntN(len(der))])
	}
	for _, der := range ders {
		want, werr := ASN1ToRaw(der)
		got, gerr := ownDERToRaw(der)
		if gerr != nil && werr == nil {
			in := cryptobyte.String(der)
			var seq, r, s cryptobyte.String
			if in.ReadASN1(&seq, casn1.SEQUENCE) && seq.ReadASN1(&r, casn1.INTEGER) && seq.ReadASN1(&s, casn1.INTEGER) && !seq.Empty() {
				continue // SEQUENCE { r, s, more bytes }: refused here only
			}
		}
		if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
			t.Errorf("% x: ASN1ToRaw %x (%v), ownDERToRaw %x (%v)", der, want, werr, got, gerr)
		}
	}
}

// TestSignHashesWithZA: the signer's cached Z_A is the library's: the
// signatures verify with sm2's own hashing (Verify), for several messages.
func TestSignHashesWithZA(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s := NewKeySigner(k)
	for _, msg := range [][]byte{nil, []byte("a"), bytes.Repeat([]byte("证照"), 1000)} {
		sig, err := s.Sign(msg)
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(&k.PublicKey, msg, sig); err != nil {
			t.Fatalf("%d-byte message: %v", len(msg), err)
		}
	}
}

// TestRawToASN1MatchesMarshal: RawToASN1 writes what asn1.Marshal writes
// of the two big.Int, for scalars with and without their top bit, with
// leading zero bytes, at 1 and n-1, and refuses 0, n and above, as
// checkScalar does.
func TestRawToASN1MatchesMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	n := new(big.Int).Set(curveOrder)
	scalars := []*big.Int{big.NewInt(0), big.NewInt(1), big.NewInt(0x7f), big.NewInt(0x80), big.NewInt(0xff), big.NewInt(0x100),
		new(big.Int).Sub(n, big.NewInt(1)), n, new(big.Int).Add(n, big.NewInt(1)), new(big.Int).Lsh(big.NewInt(1), 255),
		new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))}
	for range 60 {
		b := make([]byte, 32)
		for i := range b[rng.IntN(32):] {
			b[i] = byte(rng.Uint32())
		}
		scalars = append(scalars, new(big.Int).SetBytes(b))
	}
	for _, r := range scalars {
		for _, s := range scalars[:12] {
			raw := make([]byte, 64)
			r.FillBytes(raw[:32])
			s.FillBytes(raw[32:])
			got, err := RawToASN1(raw)
			valid := checkScalar("r", r) == nil && checkScalar("s", s) == nil
			if !valid {
				if err == nil {
					t.Errorf("r %x, s %x out of range: accepted", r, s)
				}
				continue
			}
			want, merr := asn1.Marshal(ecdsaSignature{R: r, S: s})
			if merr != nil {
				t.Fatal(merr)
			}
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("r %x, s %x: RawToASN1 % x (%v), asn1.Marshal % x", r, s, got, err, want)
			}
		}
	}
	if _, err := RawToASN1(make([]byte, 63)); err == nil {
		t.Error("63 bytes: accepted")
	}
}
