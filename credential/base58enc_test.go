package credential

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/mr-tron/base58"
)

// TestEncodeBase58SigMatchesLibrary: the fixed-size encoder writes what
// github.com/mr-tron/base58 writes, for random signatures, signatures with
// 1 to 64 leading zero bytes, all-0xff, and values around every limb and
// chunk boundary; and decodeBase58Sig reads each back.
func TestEncodeBase58SigMatchesLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	var inputs [][]byte
	for range 2000 {
		b := make([]byte, signatureSize)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		inputs = append(inputs, b)
	}
	for z := 1; z <= signatureSize; z++ {
		b := bytes.Clone(inputs[z])
		clear(b[:z])
		inputs = append(inputs, b)
		one := make([]byte, signatureSize)
		if z < signatureSize {
			one[z] = 1
		}
		inputs = append(inputs, one)
	}
	inputs = append(inputs, bytes.Repeat([]byte{0xff}, signatureSize))
	for k := 0; k < signatureSize; k += 8 {
		b := make([]byte, signatureSize)
		b[k] = 0x80
		inputs = append(inputs, b)
		b = bytes.Repeat([]byte{0xff}, signatureSize)
		clear(b[:k])
		inputs = append(inputs, b)
	}
	for _, in := range inputs {
		want := base58.Encode(in)
		got := encodeBase58Sig(in)
		if got != want {
			t.Fatalf("% x:\n got %s\nwant %s", in, got, want)
		}
		back, err := decodeBase58Sig(got)
		if err != nil || !bytes.Equal(back[:], in) {
			t.Fatalf("%s does not decode back (%v)", got, err)
		}
	}
}

func BenchmarkEncodeBase58Sig(b *testing.B) {
	sig := bytes.Repeat([]byte{0xa5}, signatureSize)
	b.Run("hand", func(b *testing.B) {
		for b.Loop() {
			encodeBase58Sig(sig)
		}
	})
	b.Run("mr-tron", func(b *testing.B) {
		for b.Loop() {
			base58.Encode(sig)
		}
	})
}
