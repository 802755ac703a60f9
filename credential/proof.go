package credential

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"hash"
	"sync"

	"github.com/emmansun/gmsm/sm3"
	"github.com/mr-tron/base58"

	"zhengzhao/signing"
)

// signatureSize is the size of an SM2 signature r‖s.
const signatureSize = 64

// maxProofValue bounds the proofValue decoded: "z" and the base58btc of 64
// bytes (at most 88 characters). Base58 decoding is quadratic, so nothing
// longer is decoded.
const maxProofValue = 1 + 90

// hashBufPool recycles the buffers the canonical forms are written into
// before hashing.
var hashBufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 4096)
	return &b
}}

const maxPooledHashBuf = 64 << 10

// document returns the document the proof functions work on: the parsed or
// signed one, or, for a credential that was never parsed nor signed, the
// parse of its current Marshal (not remembered, as the fields may change).
func (c *Credential) document() (*document, error) {
	if c.doc != nil {
		return c.doc, nil
	}
	if c.Proof == nil {
		return nil, proofErr(ReasonMissing, "the credential is not signed")
	}
	return c.marshalDocument()
}

// Hashes returns the two SM3 digests the proof signs, over the credential as
// parsed (every member, modelled or not) or as signed:
//
//	proofHash    = SM3(JCS(proof without proofValue))
//	documentHash = SM3(JCS(credential without proof))
//
// It fails with a *ProofError if there is no proof object.
func (c *Credential) Hashes() (proofHash, documentHash []byte, err error) {
	d, err := c.document()
	if err != nil {
		return nil, nil, err
	}
	d.hashes()
	return append([]byte(nil), d.proofHash[:]...), append([]byte(nil), d.docHash[:]...), nil
}

// hashes computes the two digests once. (Every document has a proof
// object: fill refuses a credential without one.)
func (d *document) hashes() {
	d.once.Do(func() {
		var proofValue *node
		if d.hasProofValue {
			proofValue = &d.proofValue
		}
		h := sm3.New()
		d.proofHash = d.hashWithout(h, &d.proof, proofValue, "proofValue")
		h.Reset()
		d.docHash = d.hashWithout(h, &d.cred, &d.proof, "proof")
	})
}

// hashWithout returns SM3(JCS(obj without its member m, named skip; m is
// nil if obj has none)), with h an SM3 in its initial state. An
// object whose input bytes are already JCS, as stored credentials are, is
// hashed as it stands, skip cut out; any other is serialized first.
func (t *tree) hashWithout(h hash.Hash, obj, m *node, skip string) [32]byte {
	var sum [32]byte
	if obj.flags&flagCanonical != 0 {
		before, after := t.buf[obj.start:obj.end], []byte(nil)
		if m != nil {
			before, after = t.withoutMember(obj, m)
		}
		h.Write(before)
		h.Write(after)
		h.Sum(sum[:0])
		return sum
	}
	bp := hashBufPool.Get().(*[]byte)
	buf := t.appendJCSObject((*bp)[:0], obj, skip)
	h.Write(buf)
	h.Sum(sum[:0])
	if cap(buf) <= maxPooledHashBuf {
		*bp = buf[:0]
		hashBufPool.Put(bp)
	}
	return sum
}

// hashData returns proofHash ‖ documentHash, the message SM2 signs.
func (d *document) hashData() [64]byte {
	d.hashes()
	var out [64]byte
	copy(out[:32], d.proofHash[:])
	copy(out[32:], d.docHash[:])
	return out
}

// VerifyProof checks the sm2-jcs-2026 proof of the credential as parsed or
// signed against the issuer's public key: proof.type is DataIntegrityProof,
// proof.cryptosuite is sm2-jcs-2026, proof.proofPurpose is assertionMethod,
// proof.verificationMethod is present, proof.proofValue is "z" + base58btc
// of a 64-byte r‖s, and r‖s is a valid SM2 signature (default user ID) over
// Hashes' proofHash ‖ documentHash. Which key verificationMethod names, and
// whether it may sign for this issuer, is for the caller to decide.
//
// Every failure is a *ProofError wrapping ErrProof; a bad signature also
// wraps signing.ErrBadSignature.
func (c *Credential) VerifyProof(pub *ecdsa.PublicKey) error {
	if pub == nil {
		return fmt.Errorf("credential: verify proof: no public key")
	}
	d, err := c.document()
	if err != nil {
		return err
	}
	return d.verifyProof(pub)
}

// verifyProof is VerifyProof for any document with a proof: a credential
// or a status list credential.
func (d *document) verifyProof(pub *ecdsa.PublicKey) error {
	proof := &d.asParsed
	if s := proof.Type; s != ProofType {
		return proofErr(ReasonType, "want "+ProofType)
	}
	if s := proof.Cryptosuite; s != Cryptosuite {
		return proofErr(ReasonCryptosuite, "want "+Cryptosuite)
	}
	if s := proof.ProofPurpose; s != ProofPurpose {
		return proofErr(ReasonPurpose, "want "+ProofPurpose)
	}
	if proof.VerificationMethod == "" {
		return proofErr(ReasonVerificationMethod, "missing")
	}
	sig, err := d.signature()
	if err != nil {
		return err
	}
	msg := d.hashData()
	if err := signing.Verify(pub, msg[:], sig); err != nil {
		return &ProofError{Reason: ReasonSignature, Err: err}
	}
	return nil
}

// Signature returns the 64-byte SM2 signature r‖s decoded from the
// proofValue of the credential as parsed or signed.
func (c *Credential) Signature() ([]byte, error) {
	d, err := c.document()
	if err != nil {
		return nil, err
	}
	sig, err := d.signature()
	if err != nil {
		return nil, err
	}
	return bytes.Clone(sig), nil
}

// signature decodes the proofValue once.
func (d *document) signature() ([]byte, error) {
	d.sigOnce.Do(func() {
		d.sig, d.sigErr = decodeProofValue(d.asParsed.ProofValue)
	})
	return d.sig, d.sigErr
}

// encodeProofValue renders r‖s as a multibase base58btc string.
func encodeProofValue(sig []byte) string {
	if len(sig) == signatureSize {
		return "z" + encodeBase58Sig(sig)
	}
	return "z" + base58.Encode(sig)
}

// decodeProofValue decodes a multibase base58btc proofValue of exactly 64
// bytes. One signature has exactly one proofValue.
func decodeProofValue(s string) ([]byte, error) {
	if s == "" {
		return nil, proofErr(ReasonEncoding, "proofValue missing")
	}
	if s[0] != 'z' {
		return nil, proofErr(ReasonEncoding, "proofValue must be multibase base58btc (\"z\" prefix)")
	}
	if len(s) > maxProofValue {
		return nil, proofErr(ReasonEncoding, "proofValue too long")
	}
	sig, err := decodeBase58Sig(s[1:])
	switch {
	case errors.Is(err, errBase58Length):
		return nil, proofErr(ReasonEncoding, "proofValue does not hold exactly 64 bytes")
	case err != nil:
		return nil, &ProofError{Reason: ReasonEncoding, Detail: "proofValue is not base58btc", Err: err}
	}
	return sig[:], nil
}

// Canonical returns the JCS bytes of the credential as parsed or signed,
// every member included (modelled or not). They are what a seal signs
// (registry seals SM3 of exactly these bytes).
func (c *Credential) Canonical() ([]byte, error) {
	d, err := c.document()
	if err != nil {
		return nil, err
	}
	return d.appendJCS(nil, &d.cred), nil
}
