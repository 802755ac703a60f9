package credential

import (
	"errors"
	"math/bits"
)

// decodeBase58Sig decodes base58btc text (Bitcoin alphabet) that must stand
// for exactly 64 bytes, an SM2 r‖s. Written by hand because it is on every
// verification's path: github.com/mr-tron/base58 (still used to encode, and
// as the test oracle) decodes any length into a byte slice, quadratically,
// and took ~1 µs of a ~65 µs verification; this fixed-size decoder works on
// eight 64-bit limbs, ten digits at a time, in about a tenth of that.
//
// Base58btc is one-to-one: each leading '1' is one leading zero byte, and
// the rest is a number written without leading zero digits whose bytes
// have no leading zero. So the text stands for exactly 64 bytes if and only
// if the leading '1's plus the bytes of that number come to 64.
func decodeBase58Sig(s string) ([signatureSize]byte, error) {
	var out [signatureSize]byte
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	// n is the number, least significant limb first.
	var n [signatureSize / 8]uint64
	for i := zeros; i < len(s); {
		// Take up to ten digits (58^10 < 2^64) as one chunk.
		chunk, mul := uint64(0), uint64(1)
		for j := 0; j < 10 && i < len(s); j, i = j+1, i+1 {
			d := base58Digits[s[i]]
			if d < 0 {
				return out, errBase58Char
			}
			chunk, mul = chunk*58+uint64(d), mul*58
		}
		// n = n*mul + chunk; a carry out of the top limb means more than
		// 64 bytes.
		carry := chunk
		for k := range n {
			hi, lo := bits.Mul64(n[k], mul)
			lo, c := bits.Add64(lo, carry, 0)
			n[k], carry = lo, hi+c
		}
		if carry != 0 {
			return out, errBase58Length
		}
	}
	top := len(n) - 1
	for top >= 0 && n[top] == 0 {
		top--
	}
	size := 0 // bytes of the number without leading zeros
	if top >= 0 {
		size = top*8 + (bits.Len64(n[top])+7)/8
	}
	if zeros+size != signatureSize {
		return out, errBase58Length
	}
	for k, limb := range n {
		for b := range 8 {
			out[signatureSize-1-(k*8+b)] = byte(limb >> (8 * b))
		}
	}
	return out, nil
}

var (
	errBase58Char   = errors.New("not a base58btc character")
	errBase58Length = errors.New("does not stand for exactly 64 bytes")
)

// base58Digits maps a byte to its base58btc digit, or -1.
var base58Digits = func() (t [256]int8) {
	const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	for i := range t {
		t[i] = -1
	}
	for i := range len(alphabet) {
		t[alphabet[i]] = int8(i)
	}
	return t
}()
