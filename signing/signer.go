package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sync"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// SignatureSize is the length of an r‖s signature: r and s, 32 bytes each,
// big-endian and left-padded with zeros.
const SignatureSize = 64

// DefaultUserID is the SM2 distinguishing identifier used for Z_A
// (GB/T 32918.2, GM/T 0009). Every signature in Zhengzhao uses it.
const DefaultUserID = "1234567812345678"

var (
	// ErrBadSignature means a signature does not verify or is malformed.
	ErrBadSignature = errors.New("signing: signature does not verify")
	// ErrNotSM2 means a key or certificate is not SM2 (wrong curve or algorithm).
	ErrNotSM2 = errors.New("signing: not an SM2 key")
)

// Signer signs with SM2 over SM3 with the default user ID 1234567812345678
// (GB/T 32918.2): it computes Z_A and e = SM3(Z_A ‖ message) itself.
//
// The interface is deliberately small so that a hardware security module can
// implement it.
type Signer interface {
	// Public returns the SM2 public key.
	Public() *ecdsa.PublicKey
	// Sign signs message and returns the 64-byte r‖s (big-endian, 32 bytes each).
	Sign(message []byte) ([]byte, error)
}

// GenerateKey returns a new SM2 private key drawn from crypto/rand.
func GenerateKey() (*sm2.PrivateKey, error) {
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("signing: generate SM2 key: %w", err)
	}
	return k, nil
}

// NewKeySigner returns a Signer backed by the in-memory SM2 key k. Signatures
// are hedged: the nonce mixes the key, the digest and crypto/rand.
func NewKeySigner(k *sm2.PrivateKey) Signer {
	return &keySigner{key: k, held: holdKey(k)}
}

type keySigner struct {
	key  *sm2.PrivateKey
	held *heldKey // registered for VerifyHeld while the signer lives

	zaOnce sync.Once
	za     []byte // Z_A of the key with the default user ID, computed once
	zaErr  error
}

func (s *keySigner) Public() *ecdsa.PublicKey {
	if s.key == nil {
		return nil
	}
	return &s.key.PublicKey
}

func (s *keySigner) Sign(message []byte) ([]byte, error) {
	if s.key == nil {
		return nil, errors.New("signing: sign: nil key")
	}
	// Hash here rather than with sm2.DefaultSM2SignerOpts: gmsm refuses an
	// empty message in that mode, and SM2 defines e = SM3(Z_A ‖ M) for any M.
	za, err := s.zA()
	if err != nil {
		return nil, fmt.Errorf("signing: hash message: %w", err)
	}
	h := sm3.New()
	h.Write(za)
	h.Write(message)
	var e [sm3.Size]byte
	der, err := sm2.SignASN1(rand.Reader, s.key, h.Sum(e[:0]), nil)
	if err != nil {
		return nil, fmt.Errorf("signing: sign: %w", err)
	}
	return ownDERToRaw(der)
}

// zA returns Z_A of the signer's key, computed on first use: SM3 of the
// user ID, the curve and the key, the same for every message.
func (s *keySigner) zA() ([]byte, error) {
	s.zaOnce.Do(func() { s.za, s.zaErr = ZA(&s.key.PublicKey) })
	return s.za, s.zaErr
}

// Verify checks that sig, a 64-byte r‖s, is an SM2 signature of message under
// pub with the default user ID. A signature that does not verify, has the wrong
// length, or has r or s outside [1, n-1] gives an error wrapping
// ErrBadSignature; a key that is not on the SM2 curve gives ErrNotSM2.
func Verify(pub *ecdsa.PublicKey, message, sig []byte) error {
	if !isSM2Key(pub) {
		return fmt.Errorf("%w: verification key", ErrNotSM2)
	}
	der, err := RawToASN1(sig)
	if err != nil {
		return err
	}
	if !sm2.VerifyASN1WithSM2(pub, []byte(DefaultUserID), message, der) {
		return ErrBadSignature
	}
	return nil
}

// ecdsaSignature is the ASN.1 form of an SM2 signature (GB/T 35276):
// SEQUENCE { r INTEGER, s INTEGER }.
type ecdsaSignature struct {
	R, S *big.Int
}

// curveOrder is n of the SM2 recommended curve.
var curveOrder = sm2.P256().Params().N

func checkScalar(name string, v *big.Int) error {
	if v.Sign() <= 0 || v.Cmp(curveOrder) >= 0 {
		return fmt.Errorf("%w: %s out of range", ErrBadSignature, name)
	}
	return nil
}

// RawToASN1 converts a 64-byte r‖s signature to its DER form
// SEQUENCE { r INTEGER, s INTEGER }. Malformed input gives ErrBadSignature.
func RawToASN1(sig []byte) ([]byte, error) {
	if len(sig) != SignatureSize {
		return nil, fmt.Errorf("%w: length %d, want %d", ErrBadSignature, len(sig), SignatureSize)
	}
	for i, name := range [2]string{"r", "s"} {
		if v := sig[32*i : 32*i+32]; isZero(v) || string(v) >= string(curveOrderBytes) {
			return nil, fmt.Errorf("%w: %s out of range", ErrBadSignature, name)
		}
	}
	// What asn1.Marshal writes of two big.Int, without the reflection.
	b := cryptobyte.NewBuilder(make([]byte, 0, 2+2*(2+33)))
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addPositiveInt(b, sig[:32])
		addPositiveInt(b, sig[32:])
	})
	return b.Bytes()
}

// ASN1ToRaw converts a DER SM2 signature to the 64-byte r‖s form. Malformed
// input, trailing bytes, or r or s outside [1, n-1] give ErrBadSignature.
func ASN1ToRaw(der []byte) ([]byte, error) {
	var sig ecdsaSignature
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: trailing data after signature", ErrBadSignature)
	}
	if err := checkScalar("r", sig.R); err != nil {
		return nil, err
	}
	if err := checkScalar("s", sig.S); err != nil {
		return nil, err
	}
	out := make([]byte, SignatureSize)
	sig.R.FillBytes(out[:32])
	sig.S.FillBytes(out[32:])
	return out, nil
}

// CryptoSigner adapts s to crypto.Signer (and crypto.MessageSigner) for
// libraries such as smx509 and pkcs7 that sign with SM2 by passing the whole
// message and sm2.DefaultSM2SignerOpts. It returns DER signatures and refuses
// any other options, because s always signs with the default user ID over
// the message it is given.
func CryptoSigner(s Signer) crypto.Signer {
	return cryptoSigner{s: s}
}

type cryptoSigner struct {
	s Signer
}

func (c cryptoSigner) Public() crypto.PublicKey { return c.s.Public() }

// Sign ignores rand: the Signer draws its own randomness.
func (c cryptoSigner) Sign(_ io.Reader, message []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts != crypto.SignerOpts(sm2.DefaultSM2SignerOpts) {
		return nil, errors.New("signing: crypto.Signer adapter needs sm2.DefaultSM2SignerOpts (SM2 with the default ID over the whole message)")
	}
	raw, err := c.s.Sign(message)
	if err != nil {
		return nil, err
	}
	return RawToASN1(raw)
}

// SignMessage implements crypto.MessageSigner; it is Sign.
func (c cryptoSigner) SignMessage(rand io.Reader, message []byte, opts crypto.SignerOpts) ([]byte, error) {
	return c.Sign(rand, message, opts)
}

// isSM2Key reports whether k is a non-nil *ecdsa.PublicKey on the SM2 curve.
// (sm2.IsSM2PublicKey panics on a typed nil pointer.)
func isSM2Key(k any) bool {
	pub, ok := k.(*ecdsa.PublicKey)
	return ok && pub != nil && pub.Curve == sm2.P256() && pub.X != nil && pub.Y != nil
}
