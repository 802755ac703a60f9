package signing

import (
	"crypto/ecdsa"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// DigestSigner is a Signer that also signs a digest the caller computed:
// e = SM3(Z_A ‖ M), Z_A from ZA. A caller that signs many messages sharing a
// long prefix (a seal in every SES_Signature) hashes the prefix once.
type DigestSigner interface {
	Signer
	// SignDigest signs the 32-byte e and returns the 64-byte r‖s.
	SignDigest(e []byte) ([]byte, error)
}

// ZA returns Z_A of pub with the default user ID (GB/T 32918.2): what
// SM3 hashes before the message.
func ZA(pub *ecdsa.PublicKey) ([]byte, error) {
	za, err := sm2.CalculateZA(pub, []byte(DefaultUserID))
	if err != nil {
		return nil, fmt.Errorf("signing: Z_A: %w", err)
	}
	return za, nil
}

// SignDigest signs e = SM3(Z_A ‖ M), hedged like Sign.
func (s *keySigner) SignDigest(e []byte) ([]byte, error) {
	if s.key == nil {
		return nil, errors.New("signing: sign: nil key")
	}
	if len(e) != sm3.Size {
		return nil, fmt.Errorf("signing: sign: digest of %d bytes, want %d", len(e), sm3.Size)
	}
	der, err := sm2.SignASN1(rand.Reader, s.key, e, nil)
	if err != nil {
		return nil, fmt.Errorf("signing: sign: %w", err)
	}
	return ownDERToRaw(der)
}
