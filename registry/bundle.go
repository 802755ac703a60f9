package registry

import (
	"context"
	"encoding/pem"
	"fmt"

	"zhengzhao/signing"
	"zhengzhao/verifier"
)

// Bundle builds and signs the trust bundle an offline verifier carries: the
// platform root, the log key, every department with its certificates and
// types, every license that is not active, and the latest checkpoint.
func (s *Service) Bundle(ctx context.Context) ([]byte, error) {
	b, err := s.bundle(ctx)
	if err != nil {
		return nil, err
	}
	return b.Sign(s.cfg.Platform.Root)
}

func (s *Service) bundle(ctx context.Context) (*verifier.TrustBundle, error) {
	cp, err := s.ledger.Checkpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("registry: latest checkpoint: %w", err)
	}
	logKey, err := signing.MarshalPublicKey(s.cfg.Platform.Log.Public())
	if err != nil {
		return nil, err
	}
	b := &verifier.TrustBundle{
		Version:    1,
		IssuedAt:   s.now().UTC(),
		Roots:      []string{string(signing.EncodeCertificatePEM(s.cfg.Platform.RootCert.Raw))},
		Log:        verifier.LogInfo{Origin: s.cfg.LogOrigin, PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: logKey}))},
		Checkpoint: cp.Note,
		Invalid:    []verifier.LicenseStatus{},
	}
	depts, err := s.store.departments(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range depts {
		bd := verifier.Department{USCC: d.USCC, Name: d.Name, Types: d.Types}
		for _, k := range d.Keys {
			bd.Keys = append(bd.Keys, verifier.Key{
				KeyID: k.KeyID, Certificate: string(signing.EncodeCertificatePEM(k.CertDER)),
				ValidFrom: k.ValidFrom, ValidUntil: k.ValidUntil,
				RevokedFrom: k.RevokedFrom, RevocationReason: k.RevocationReason,
			})
		}
		seals, err := s.store.seals(ctx, d.USCC)
		if err != nil {
			return nil, err
		}
		for _, sl := range seals {
			bd.Seals = append(bd.Seals, verifier.Seal{ID: sl.ID, DER: sl.DER})
		}
		b.Departments = append(b.Departments, bd)
	}
	invalid, err := s.store.invalid(ctx)
	if err != nil {
		return nil, err
	}
	for _, l := range invalid {
		b.Invalid = append(b.Invalid, verifier.LicenseStatus{Identifier: l.Identifier, Status: l.Status, Reason: l.Reason, At: l.At})
	}
	return b, nil
}
