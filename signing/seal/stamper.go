package seal

import (
	"encoding"
	"fmt"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"zhengzhao/signing"
)

// maxStamperStates bounds the hash states a Stamper keeps: one per length
// of TBS_Sign, which varies only with propertyInfo's length.
const maxStamperStates = 64

// Stamper stamps one seal with one signer again and again, as a registry
// does for every license it issues. The seal is most of every TBS_Sign
// (tens of kilobytes beside some hundred bytes of time, digest and
// propertyInfo); when the signer can sign a digest (signing.DigestSigner),
// the Stamper hashes Z_A and the seal once and each signature hashes only
// what follows. Its signatures are exactly Sign's. It is safe for
// concurrent use.
type Stamper struct {
	signer signing.Signer
	digest signing.DigestSigner // nil: each TBS_Sign is hashed whole
	cert   *smx509.Certificate
	seal   *Seal
	za     []byte

	mu     sync.Mutex
	states map[string][]byte // TBS_Sign's header → SM3 state after Z_A ‖ header ‖ version ‖ seal
}

// NewStamper checks what Sign checks of signer, signerCert and seal once
// and returns a Stamper for them.
func NewStamper(signer signing.Signer, signerCert *smx509.Certificate, seal *Seal) (*Stamper, error) {
	if signer == nil || signer.Public() == nil || signerCert == nil || seal == nil {
		return nil, invalid("nil signer, signer certificate or seal")
	}
	if !seal.lists(signerCert.Raw) {
		return nil, fmt.Errorf("%w: %w", ErrInvalidInput, ErrSignerNotListed)
	}
	if !signer.Public().Equal(signerCert.PublicKey) {
		return nil, invalid("signer key does not match the signer certificate")
	}
	if seal.Version != Version4 || len(seal.Raw) == 0 {
		return nil, fmt.Errorf("%w: signing with a version %d seal; only version 4 is written", ErrUnsupported, seal.Version)
	}
	st := &Stamper{signer: signer, cert: signerCert, seal: seal, states: map[string][]byte{}}
	if ds, ok := signer.(signing.DigestSigner); ok {
		za, err := signing.ZA(signer.Public())
		if err != nil {
			return nil, err
		}
		st.digest, st.za = ds, za
	}
	return st, nil
}

// Seal returns the seal the Stamper stamps.
func (st *Stamper) Seal() *Seal { return st.seal }

// Sign is Sign(signer, signerCert, seal, dataHash, at, propertyInfo) of the
// Stamper's signer, certificate and seal.
func (st *Stamper) Sign(dataHash []byte, at time.Time, propertyInfo string) ([]byte, error) {
	if st.digest == nil {
		return Sign(st.signer, st.cert, st.seal, dataHash, at, propertyInfo)
	}
	tb, sig, err := st.signTBS(dataHash, at, propertyInfo)
	if err != nil {
		return nil, err
	}
	return tb.marshalSignature(st.cert.Raw, sig)
}

// signTBS checks the stamp's inputs, builds its TBS_Sign and signs it with
// the Stamper's digest signer: the TBS_Sign and the DER signature.
func (st *Stamper) signTBS(dataHash []byte, at time.Time, propertyInfo string) (*tbsSign, []byte, error) {
	s := st.seal
	if at.Before(s.ValidStart) || at.After(s.ValidEnd) {
		return nil, nil, fmt.Errorf("%w: %w: %s not within %s to %s", ErrInvalidInput, ErrSealValidity,
			at.UTC().Format(time.RFC3339), s.ValidStart.Format(time.RFC3339), s.ValidEnd.Format(time.RFC3339))
	}
	if len(dataHash) != sm3.Size {
		return nil, nil, invalid("dataHash is %d bytes, want %d (SM3)", len(dataHash), sm3.Size)
	}
	if y := at.UTC().Year(); at.IsZero() || y < 1 || y > 9999 {
		return nil, nil, invalid("signing time is missing or out of range")
	}
	tb, err := newTBS(s, dataHash, at, propertyInfo)
	if err != nil {
		return nil, nil, err
	}
	e, err := st.hash(tb)
	if err != nil {
		return nil, nil, err
	}
	raw, err := st.digest.SignDigest(e)
	if err != nil {
		return nil, nil, fmt.Errorf("seal: sign TBS_Sign: %w", err)
	}
	sig, err := signing.RawToASN1(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("seal: signature: %w", err)
	}
	return tb, sig, nil
}

// hash returns SM3(Z_A ‖ TBS_Sign), starting from the kept state after the
// seal, which depends only on TBS_Sign's head (its length).
func (st *Stamper) hash(tb *tbsSign) ([]byte, error) {
	key := string(tb.head)
	st.mu.Lock()
	state := st.states[key]
	st.mu.Unlock()
	h := sm3.New()
	if state == nil {
		h.Write(st.za)
		h.Write(tb.head)
		h.Write(tbsVersion4)
		h.Write(tb.seal)
		var err error
		if state, err = h.(encoding.BinaryMarshaler).MarshalBinary(); err != nil {
			return nil, fmt.Errorf("seal: keep SM3 state: %w", err)
		}
		st.mu.Lock()
		if len(st.states) < maxStamperStates {
			st.states[key] = state
		}
		st.mu.Unlock()
	} else if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return nil, fmt.Errorf("seal: restore SM3 state: %w", err)
	}
	h.Write(tb.tail)
	var sum [sm3.Size]byte
	return h.Sum(sum[:0]), nil
}
