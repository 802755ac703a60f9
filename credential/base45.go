package credential

import (
	"errors"
	"fmt"
)

// Base45 (RFC 9285) is written here rather than imported: no maintained Go
// module for it is in our dependency set (DESIGN.md), and the whole
// algorithm is the forty lines below, checked against the RFC's examples in
// base45_test.go.

// base45Alphabet is the RFC 9285 alphabet: exactly the characters of the QR
// code alphanumeric mode, so a Base45 text (and the "ZZ1:" prefix) fits that
// denser QR mode.
const base45Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// base45Value maps a byte to its Base45 value, or to 0xff if the byte is not
// in the alphabet.
var base45Value = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(base45Alphabet); i++ {
		t[base45Alphabet[i]] = byte(i)
	}
	return t
}()

// errBase45 is wrapped by every Base45 decoding error.
var errBase45 = errors.New("invalid base45")

// base45EncodedLen is the length of the Base45 text of n bytes.
func base45EncodedLen(n int) int { return n/2*3 + n%2*2 }

// appendBase45 appends the Base45 text of src to dst: each pair of bytes
// a, b is the number a*256+b written as three base-45 digits, least
// significant first; a last odd byte is two digits.
func appendBase45(dst, src []byte) []byte {
	for len(src) >= 2 {
		n := int(src[0])<<8 | int(src[1])
		dst = append(dst, base45Alphabet[n%45], base45Alphabet[n/45%45], base45Alphabet[n/2025])
		src = src[2:]
	}
	if len(src) == 1 {
		n := int(src[0])
		dst = append(dst, base45Alphabet[n%45], base45Alphabet[n/45])
	}
	return dst
}

// decodeBase45 decodes a Base45 text. It rejects characters outside the
// alphabet, a length that leaves one character over, and groups whose value
// does not fit two bytes (three characters) or one byte (two characters), so
// each byte string has exactly one accepted encoding.
func decodeBase45(src string) ([]byte, error) {
	if len(src)%3 == 1 {
		return nil, fmt.Errorf("%w: length %d leaves one character over", errBase45, len(src))
	}
	dst := make([]byte, 0, len(src)/3*2+len(src)%3/2)
	for i := 0; i < len(src); i += 3 {
		c, d := base45Value[src[i]], base45Value[src[i+1]]
		e := byte(0)
		if i+2 < len(src) {
			e = base45Value[src[i+2]]
		}
		if c > 44 || d > 44 || e > 44 { // 0xff: not in the alphabet
			return nil, fmt.Errorf("%w: character outside the alphabet near offset %d", errBase45, i)
		}
		n := int(c) + int(d)*45 + int(e)*2025
		if i+2 >= len(src) {
			if n > 0xff {
				return nil, fmt.Errorf("%w: final pair at offset %d is %d, more than one byte", errBase45, i, n)
			}
			dst = append(dst, byte(n))
			break
		}
		if n > 0xffff {
			return nil, fmt.Errorf("%w: triple at offset %d is %d, more than two bytes", errBase45, i, n)
		}
		dst = append(dst, byte(n>>8), byte(n))
	}
	return dst, nil
}
