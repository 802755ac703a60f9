package registry

import (
	"errors"
	"strings"
)

// Base45 (RFC 9285), which compact QR forms are written in: the store keeps
// the bytes and spells them again on read. (credential has its own copy,
// unexported; the store must not depend on that package's internals.)

const base45Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

var errBase45 = errors.New("not Base45")

// appendBase45 appends the Base45 of src to dst.
func appendBase45(dst, src []byte) []byte {
	for len(src) >= 2 {
		n := int(src[0])<<8 | int(src[1])
		dst = append(dst, base45Alphabet[n%45], base45Alphabet[n/45%45], base45Alphabet[n/2025])
		src = src[2:]
	}
	if len(src) == 1 {
		dst = append(dst, base45Alphabet[src[0]%45], base45Alphabet[src[0]/45])
	}
	return dst
}

// decodeBase45 returns the bytes s spells in Base45.
func decodeBase45(s string) ([]byte, error) {
	if len(s)%3 == 1 {
		return nil, errBase45
	}
	out := make([]byte, 0, len(s)/3*2+1)
	for len(s) > 0 {
		k := min(len(s), 3)
		n := 0
		for i := k - 1; i >= 0; i-- {
			d := strings.IndexByte(base45Alphabet, s[i])
			if d < 0 {
				return nil, errBase45
			}
			n = n*45 + d
		}
		if k == 3 {
			if n > 0xffff {
				return nil, errBase45
			}
			out = append(out, byte(n>>8), byte(n))
		} else {
			if n > 0xff {
				return nil, errBase45
			}
			out = append(out, byte(n))
		}
		s = s[k:]
	}
	return out, nil
}
