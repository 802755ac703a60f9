package credential

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mr-tron/base58"
)

// TestDecodeBase58Sig checks the fixed-size decoder against
// github.com/mr-tron/base58 on signatures with and without leading zero
// bytes, and on text that stands for other lengths.
func TestDecodeBase58Sig(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		sig := make([]byte, signatureSize)
		for j := range sig {
			sig[j] = byte(rng.Uint32())
		}
		// Leading zeros, and a leading 0x01 (the number's first byte small).
		for j := range min(i%70, signatureSize) {
			sig[j] = 0
		}
		if i%7 == 0 && i%70 < signatureSize {
			sig[i%70] = 1
		}
		text := base58.Encode(sig)
		got, err := decodeBase58Sig(text)
		if err != nil || !bytes.Equal(got[:], sig) {
			t.Fatalf("decodeBase58Sig(%q) = %x, %v; want %x", text, got, err, sig)
		}
	}
	for _, n := range []int{0, 1, 32, 63, 65, 66, 100} {
		b := bytes.Repeat([]byte{0xff}, n)
		if _, err := decodeBase58Sig(base58.Encode(b)); err != errBase58Length {
			t.Errorf("%d bytes: err = %v, want %v", n, err, errBase58Length)
		}
		z := make([]byte, n)
		if _, err := decodeBase58Sig(base58.Encode(z)); err != errBase58Length {
			t.Errorf("%d zero bytes: err = %v, want %v", n, err, errBase58Length)
		}
	}
	// A leading zero byte written as '1' plus a full 64-byte number is 65 bytes.
	if _, err := decodeBase58Sig("1" + base58.Encode(bytes.Repeat([]byte{0x80}, 64))); err != errBase58Length {
		t.Errorf("65 bytes with a leading zero: err = %v", err)
	}
	for _, bad := range []string{"0", "O", "I", "l", "+", "z z", strings.Repeat("2", 10) + "é"} {
		if _, err := decodeBase58Sig(bad); err != errBase58Char {
			t.Errorf("decodeBase58Sig(%q) err = %v, want %v", bad, err, errBase58Char)
		}
	}
}

// FuzzDecodeBase58Sig: the decoder agrees with github.com/mr-tron/base58 on
// any text: it succeeds exactly when mr-tron decodes to 64 bytes, with the
// same bytes.
func FuzzDecodeBase58Sig(f *testing.F) {
	f.Add(base58.Encode(bytes.Repeat([]byte{0xab}, 64)))
	f.Add("1" + base58.Encode(bytes.Repeat([]byte{0x01}, 63)))
	f.Add("111")
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > maxProofValue {
			return // never decoded
		}
		got, err := decodeBase58Sig(s)
		want, werr := base58.Decode(s)
		ok := werr == nil && len(want) == signatureSize
		if (err == nil) != ok || (ok && !bytes.Equal(got[:], want)) {
			t.Fatalf("decodeBase58Sig(%q) = %x, %v; mr-tron: %x, %v", s, got, err, want, werr)
		}
	})
}
