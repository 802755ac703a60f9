package signing

import (
	"crypto/ecdsa"
	"crypto/subtle"
	"fmt"
	"runtime"
	"sync"
	"weak"

	"filippo.io/bigmod"
	"github.com/emmansun/gmsm/ecdh"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// Verifying a signature with the private key, when this process holds it.
//
// SM2 verification computes x₁ of [s]G + [r+s]P. When P = [d]G and d is at
// hand, that point is [s + (r+s)·d]G: one multiplication of the fixed
// generator, which gmsm does from precomputed tables (~6 µs), instead of a
// multiplication of the arbitrary point P (~50 µs). The equation is the
// same, so the answer is the same for every input (TestVerifyHeldAgrees and
// FuzzVerifyHeld hold it to Verify). For a valid signature s + (r+s)·d is
// the signing nonce k.
//
// The embedded ledger checks the signature of every license it anchors,
// made moments before by this process's signer; this is most of that
// check's cost. Everything that touches d is constant-time
// (filippo.io/bigmod, gmsm's fixed-base multiplication): r and s may come
// from anyone. No library offers this: gmsm verifies with the public key
// only, and keeps its scalar arithmetic internal.

// heldKey is a private key as VerifyHeld uses it.
type heldKey struct {
	d  *bigmod.Nat // the private key, mod n
	za []byte      // Z_A of its public key
}

// heldKeys maps a public key (X‖Y, 64 bytes) to the heldKey of a live
// keySigner of it. A signer that is collected takes its entry with it.
var heldKeys sync.Map // [64]byte → weak.Pointer[heldKey]

// orderN is n of the SM2 curve, for bigmod.
var orderN = func() *bigmod.Modulus {
	m, err := bigmod.NewModulus(curveOrderBytes)
	if err != nil {
		panic(err)
	}
	return m
}()

var (
	// orderMinus1 is n-1 mod n.
	orderMinus1 = bigmod.NewNat().ExpandFor(orderN).SubOne(orderN)
	// generatorX is the x of the SM2 generator G.
	generatorX = func() (x [32]byte) { sm2.P256().Params().Gx.FillBytes(x[:]); return x }()
)

// pubKeyXY is X‖Y of an SM2 public key, or false for a point whose
// coordinates do not fit.
func pubKeyXY(pub *ecdsa.PublicKey) (xy [64]byte, ok bool) {
	if pub == nil || pub.X == nil || pub.Y == nil || pub.X.Sign() < 0 || pub.Y.Sign() < 0 ||
		pub.X.BitLen() > 256 || pub.Y.BitLen() > 256 {
		return xy, false
	}
	pub.X.FillBytes(xy[:32])
	pub.Y.FillBytes(xy[32:])
	return xy, true
}

// holdKey registers k for VerifyHeld, if [d]G is its public key (a key
// whose halves disagree is left to Verify). It returns what the signer keeps
// to hold the registration alive.
func holdKey(k *sm2.PrivateKey) *heldKey {
	if k == nil || k.D == nil || !isSM2Key(&k.PublicKey) {
		return nil
	}
	xy, ok := pubKeyXY(&k.PublicKey)
	if !ok || k.D.Sign() <= 0 || k.D.BitLen() > 256 {
		return nil
	}
	var dBytes [32]byte
	k.D.FillBytes(dBytes[:])
	priv, err := ecdh.P256().NewPrivateKey(dBytes[:])
	if err != nil {
		return nil
	}
	if subtle.ConstantTimeCompare(priv.PublicKey().Bytes()[1:], xy[:]) != 1 {
		return nil
	}
	d, err := bigmod.NewNat().SetBytes(dBytes[:], orderN)
	if err != nil {
		return nil
	}
	za, err := ZA(&k.PublicKey)
	if err != nil {
		return nil
	}
	h := &heldKey{d: d, za: za}
	wp := weak.Make(h)
	heldKeys.Store(xy, wp)
	runtime.AddCleanup(h, func(xy [64]byte) { heldKeys.CompareAndDelete(xy, wp) }, xy)
	return h
}

// VerifyHeld is Verify, computed with the private key when a Signer of this
// process holds the key of pub (NewKeySigner): the same answer for every
// input, at a fifth of the cost.
func VerifyHeld(pub *ecdsa.PublicKey, message, sig []byte) error {
	if xy, ok := pubKeyXY(pub); ok && isSM2Key(pub) {
		if v, ok := heldKeys.Load(xy); ok {
			if h := v.(weak.Pointer[heldKey]).Value(); h != nil {
				return h.verify(message, sig)
			}
		}
	}
	return Verify(pub, message, sig)
}

// verify checks sig, a 64-byte r‖s, on message: x₁ of [s + (r+s)·d]G must
// give r = e + x₁ mod n, with e = SM3(Z_A ‖ message).
func (h *heldKey) verify(message, sig []byte) error {
	if len(sig) != SignatureSize {
		return fmt.Errorf("%w: length %d, want %d", ErrBadSignature, len(sig), SignatureSize)
	}
	r, err := bigmod.NewNat().SetBytes(sig[:32], orderN)
	if err != nil || r.IsZero() == 1 {
		return fmt.Errorf("%w: r out of range", ErrBadSignature)
	}
	s, err := bigmod.NewNat().SetBytes(sig[32:], orderN)
	if err != nil || s.IsZero() == 1 {
		return fmt.Errorf("%w: s out of range", ErrBadSignature)
	}
	t := bigmod.NewNat().ExpandFor(orderN).Add(r, orderN).Add(s, orderN) // r + s
	if t.IsZero() == 1 {
		return ErrBadSignature
	}
	k := t.Mul(h.d, orderN).Add(s, orderN) // s + (r+s)·d
	if k.IsZero() == 1 {
		return ErrBadSignature // [k]G is the point at infinity
	}
	x1b := generatorX[:] // [n-1]G = -G, which ecdh refuses to make (n-1 is no private key)
	if k.Equal(orderMinus1) != 1 {
		priv, err := ecdh.P256().NewPrivateKey(k.Bytes(orderN))
		if err != nil {
			return ErrBadSignature
		}
		x1b = priv.PublicKey().Bytes()[1:33]
	}
	x1, err := bigmod.NewNat().SetOverflowingBytes(x1b, orderN)
	if err != nil {
		return ErrBadSignature
	}
	hs := sm3.New()
	hs.Write(h.za)
	hs.Write(message)
	var e [sm3.Size]byte
	en, err := bigmod.NewNat().SetOverflowingBytes(hs.Sum(e[:0]), orderN)
	if err != nil {
		return ErrBadSignature
	}
	if en.Add(x1, orderN).Equal(r) != 1 {
		return ErrBadSignature
	}
	return nil
}
