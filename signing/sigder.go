package signing

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// curveOrderBytes is the SM2 curve order n, 32 bytes big-endian.
var curveOrderBytes = curveOrder.FillBytes(make([]byte, 32))

// ownDERToRaw is ASN1ToRaw for the DER SEQUENCE { r INTEGER, s INTEGER }
// the SM2 library just returned, read with cryptobyte instead of
// encoding/asn1's reflection: the same r‖s, and the same refusals (not
// DER, trailing data, r or s outside [1, n-1]), and one more: bytes after
// s inside the SEQUENCE, which encoding/asn1 ignores.
func ownDERToRaw(der []byte) ([]byte, error) {
	in := cryptobyte.String(der)
	var seq, r, s cryptobyte.String
	if !in.ReadASN1(&seq, casn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1(&r, casn1.INTEGER) || !seq.ReadASN1(&s, casn1.INTEGER) || !seq.Empty() {
		return nil, fmt.Errorf("%w: not a DER SEQUENCE of two INTEGERs", ErrBadSignature)
	}
	out := make([]byte, SignatureSize)
	if err := fillScalar("r", out[:32], r); err != nil {
		return nil, err
	}
	if err := fillScalar("s", out[32:], s); err != nil {
		return nil, err
	}
	return out, nil
}

// fillScalar checks the contents of a DER INTEGER (minimal, positive, at
// most 32 bytes once its sign byte is dropped, in [1, n-1]) and writes it
// into dst, 32 bytes big-endian.
func fillScalar(name string, dst, v []byte) error {
	switch {
	case len(v) == 0, len(v) > 1 && v[0] == 0 && v[1] < 0x80, len(v) > 1 && v[0] == 0xff && v[1] >= 0x80:
		return fmt.Errorf("%w: %s not a minimal DER INTEGER", ErrBadSignature, name)
	case v[0] >= 0x80:
		return fmt.Errorf("%w: %s out of range", ErrBadSignature, name)
	}
	if v[0] == 0 {
		v = v[1:]
	}
	if len(v) > 32 {
		return fmt.Errorf("%w: %s out of range", ErrBadSignature, name)
	}
	clear(dst[:32-len(v)])
	copy(dst[32-len(v):], v)
	if isZero(dst) || string(dst) >= string(curveOrderBytes) {
		return fmt.Errorf("%w: %s out of range", ErrBadSignature, name)
	}
	return nil
}

// addPositiveInt adds the DER INTEGER of the positive big-endian v: its
// leading zero bytes dropped, a zero byte put back if the top bit is set.
func addPositiveInt(b *cryptobyte.Builder, v []byte) {
	for len(v) > 1 && v[0] == 0 {
		v = v[1:]
	}
	b.AddASN1(casn1.INTEGER, func(b *cryptobyte.Builder) {
		if v[0] >= 0x80 {
			b.AddUint8(0)
		}
		b.AddBytes(v)
	})
}

func isZero(v []byte) bool {
	for _, b := range v {
		if b != 0 {
			return false
		}
	}
	return true
}
