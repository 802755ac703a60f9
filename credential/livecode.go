package credential

// The live code (亮证码, docs/live-qr.md): the short QR the wallet shows on a
// phone, which a screenshot cannot replay:
//
//	"ZZL1:" + Base45(CBOR [identifier tail, exp, nonce, signature])
//
// It names a license, expires a minute after it was made and carries a
// random nonce; the platform signs it with SM2. It carries no claims: only
// the platform can check it, online, and then verifies the license's stored
// credential as usual. The static ZZ1: form stays on the PDF for offline use.

import (
	"crypto/ecdsa"
	"fmt"
	"strings"
	"time"

	"zhengzhao/license"
	"zhengzhao/signing"
)

const (
	// LivePrefix starts every live code; the digit is the format version.
	LivePrefix = "ZZL1:"
	// MaxLiveLen bounds a live code read from outside, in characters. A
	// real one is about 200.
	MaxLiveLen = 400
	// LiveNonceLen is the length of a live code's random nonce, in bytes.
	LiveNonceLen = 8
	// liveContext is signed with every live code, so that a signature made
	// for one (by the platform root, which also signs trust bundles and
	// certificates) can never be taken for anything else.
	liveContext = "zhengzhao live code v1"
)

// LiveCode is a parsed live code. Parsing does not check the signature:
// VerifySignature does, with the platform key.
type LiveCode struct {
	Identifier string    // the license's full GB/T 36904 identifier
	Expires    time.Time // unusable from then on (whole seconds, UTC)
	Nonce      []byte    // LiveNonceLen random bytes

	signature []byte
}

// liveWire is the CBOR array inside the Base45 text. The identifier is
// written without license.IdentifierPrefix, which every identifier has.
type liveWire struct {
	_     struct{} `cbor:",toarray"`
	ID    string
	Exp   int64
	Nonce []byte
	Sig   []byte
}

// liveSigned is the byte string the platform signs: the Core Deterministic
// CBOR array [context, identifier tail, exp, nonce].
func liveSigned(tail string, exp int64, nonce []byte) ([]byte, error) {
	return encMode.Marshal([]any{liveContext, tail, exp, nonce})
}

// EncodeLiveCode makes the live code for identifier, valid until expires
// (truncated to whole seconds), with the given nonce, signed by s.
func EncodeLiveCode(s signing.Signer, identifier string, expires time.Time, nonce []byte) (string, error) {
	tail, ok := strings.CutPrefix(identifier, license.IdentifierPrefix)
	if !ok {
		return "", formatErr("identifier", RuleValue, "want "+license.IdentifierPrefix+"…")
	}
	if len(nonce) != LiveNonceLen {
		return "", formatErr("nonce", RuleValue, fmt.Sprintf("%d bytes, want %d", len(nonce), LiveNonceLen))
	}
	exp := expires.Unix()
	msg, err := liveSigned(tail, exp, nonce)
	if err != nil {
		return "", err
	}
	sig, err := s.Sign(msg)
	if err != nil {
		return "", fmt.Errorf("credential: sign live code: %w", err)
	}
	body, err := encMode.Marshal(liveWire{ID: tail, Exp: exp, Nonce: nonce, Sig: sig})
	if err != nil {
		return "", err
	}
	return string(appendBase45([]byte(LivePrefix), body)), nil
}

// ParseLiveCode reads a live code. Every error is a *FormatError wrapping
// ErrFormat whose Field names the part that is wrong.
func ParseLiveCode(s string) (*LiveCode, error) {
	s = strings.TrimSpace(s)
	if len(s) > MaxLiveLen {
		return nil, formatErr("", RuleSize, fmt.Sprintf("%d characters, at most %d", len(s), MaxLiveLen))
	}
	body, ok := strings.CutPrefix(s, LivePrefix)
	if !ok {
		return nil, formatErr("prefix", RuleValue, "want "+LivePrefix)
	}
	raw, err := decodeBase45(body)
	if err != nil {
		return nil, &FormatError{Field: "base45", Rule: RuleEncoding, Err: err}
	}
	var w liveWire
	if err := decMode.Unmarshal(raw, &w); err != nil {
		return nil, cborErr("live", err)
	}
	id := license.IdentifierPrefix + w.ID
	if _, err := license.ParseIdentifier(id); err != nil {
		return nil, &FormatError{Field: "live.identifier", Rule: RuleValue, Err: err}
	}
	switch {
	case w.Exp <= 0:
		return nil, formatErr("live.exp", RuleValue, "want a positive Unix time")
	case len(w.Nonce) != LiveNonceLen:
		return nil, formatErr("live.nonce", RuleValue, fmt.Sprintf("%d bytes, want %d", len(w.Nonce), LiveNonceLen))
	case len(w.Sig) != signatureLen:
		return nil, formatErr("live.signature", RuleValue, fmt.Sprintf("%d bytes, want %d (r‖s)", len(w.Sig), signatureLen))
	}
	return &LiveCode{Identifier: id, Expires: time.Unix(w.Exp, 0).UTC(), Nonce: w.Nonce, signature: w.Sig}, nil
}

// VerifySignature checks the platform's SM2 signature under pub. A bad
// signature is a *ProofError wrapping ErrProof and signing.ErrBadSignature.
func (l *LiveCode) VerifySignature(pub *ecdsa.PublicKey) error {
	if l == nil || len(l.signature) != signatureLen {
		return proofErr(ReasonMissing, "not a parsed live code")
	}
	tail, _ := strings.CutPrefix(l.Identifier, license.IdentifierPrefix)
	msg, err := liveSigned(tail, l.Expires.Unix(), l.Nonce)
	if err != nil {
		return err
	}
	if err := signing.Verify(pub, msg, l.signature); err != nil {
		return &ProofError{Reason: ReasonSignature, Err: err}
	}
	return nil
}
