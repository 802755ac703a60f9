package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"zhengzhao/ledger"
	"zhengzhao/license"
	"zhengzhao/signing"
)

// KeyRevocationRequest declares a department key compromised (or otherwise
// ended) from a time.
type KeyRevocationRequest struct {
	// From is when the key stops counting: the suspected compromise time.
	// Licenses anchored before it stay valid; anything it signed later is
	// not. Zero means now; it may not be in the future.
	From time.Time `json:"compromised_from"`
	// Reason is a code of license.KeyReasons (key_compromise …).
	Reason string `json:"reason"`
}

// RevokeKey declares a department key compromised from req.From: a ledger
// event, in the trust bundle from then on. Only the platform admin may.
// When it is the department's active key, a new key and seal are made at
// once, so that the department goes on issuing with a key nobody stole.
func (s *Service) RevokeKey(ctx context.Context, a Actor, uscc, keyID string, req KeyRevocationRequest) (*Department, error) {
	if a.Role != RoleAdmin {
		return nil, fmt.Errorf("%w: only the platform admin revokes department keys", ErrForbidden)
	}
	now := s.now()
	if req.From.IsZero() {
		req.From = now
	}
	if req.From.After(now) {
		return nil, &license.FieldError{Field: "compromised_from", Rule: "range", Message: "泄露时间不能晚于现在"}
	}
	if req.Reason == license.ReasonKeyRotated {
		return nil, &license.FieldError{Field: "reason", Rule: "enum", Message: "密钥轮换请使用“更换密钥”，不是撤销"}
	}
	if err := license.CheckKeyReason(req.Reason); err != nil {
		return nil, err
	}
	s.mu.Lock()
	d := s.deptByID[uscc]
	active := s.signers[uscc]
	s.mu.Unlock()
	if d == nil {
		return nil, fmt.Errorf("department %s: %w", uscc, ErrNotFound)
	}
	keys, err := s.store.keys(ctx, uscc)
	if err != nil {
		return nil, err
	}
	var key *DepartmentKey
	for i := range keys {
		if keys[i].KeyID == keyID {
			key = &keys[i]
		}
	}
	if key == nil {
		return nil, fmt.Errorf("key %s of department %s: %w", keyID, uscc, ErrNotFound)
	}
	if key.RevokedFrom != nil && key.RevocationReason != license.ReasonKeyRotated && !req.From.Before(*key.RevokedFrom) {
		return nil, fmt.Errorf("%w: 密钥 %s 已自 %s 起声明泄露，只能把泄露时间提前", ErrConflict, keyID, key.RevokedFrom.Format(time.RFC3339))
	}
	if _, err := s.ledger.RevokeKey(ctx, ledger.KeyRevocation{Department: uscc, KeyID: keyID, RevokedFrom: req.From, Reason: req.Reason}); err != nil {
		if errors.Is(err, ledger.ErrDuplicate) {
			return nil, fmt.Errorf("%w: %w", ErrConflict, err)
		}
		return nil, fmt.Errorf("registry: revoke key %s on the ledger: %w", keyID, err)
	}
	if err := s.store.setKeyRevoked(ctx, keyID, req.From, req.Reason); err != nil {
		return nil, err
	}
	s.deptChanged()
	s.log.Warn("department key declared compromised", "uscc", uscc, "key_id", keyID, "from", req.From, "reason", req.Reason)
	s.recordDone(ctx, a, ActionKeyRevoke, nil, "ok", uscc+" key "+keyID+" "+req.Reason)
	if active != nil && active.keyID == keyID {
		return s.rotate(ctx, d)
	}
	return s.departmentWithKeys(ctx, d)
}

// departmentWithKeys returns a copy of d with its keys from the store.
func (s *Service) departmentWithKeys(ctx context.Context, d *Department) (*Department, error) {
	keys, err := s.store.keys(ctx, d.USCC)
	if err != nil {
		return nil, err
	}
	out := *d
	out.Keys = keys
	return &out, nil
}

// storeKeyURI is the KeyURI of a department key kept in the store.
const storeKeyURI = "store:"

// openDepartmentKey decrypts a department's private key: from the store,
// or from where KeyURI points for keys made before keys lived there.
func openDepartmentKey(k *DepartmentKey, passphrase []byte) (signing.Signer, error) {
	if k.KeyURI != storeKeyURI {
		return signing.OpenSigner(k.KeyURI, passphrase)
	}
	key, err := signing.DecryptPrivateKey(k.KeyPEM, passphrase)
	if err != nil {
		return nil, err
	}
	return signing.NewKeySigner(key), nil
}
