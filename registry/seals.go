package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"zhengzhao/signing/seal"
)

// SealBottomLine is the line under the star of every department seal.
const SealBottomLine = "电子证照专用章"

// sealDiameterMM is how large a seal picture is shown, as on paper.
const sealDiameterMM = 42

// Seal is a department's electronic seal (GB/T 38540 SESeal) as the
// registry keeps it: made by the platform, listing one department key.
type Seal struct {
	ID         string    `json:"id"`
	Department string    `json:"department"`
	KeyID      string    `json:"key_id"` // the department key the seal lists
	DER        []byte    `json:"-"`      // the SESeal
	ValidStart time.Time `json:"valid_start"`
	ValidEnd   time.Time `json:"valid_end"`
	Active     bool      `json:"active"`

	parsed *seal.Seal // set by sealFor
}

// sealFor makes the seal for a department key: the platform root signs it
// as seal maker, it lists the key's certificate, and it is valid exactly
// as long as the key.
func (s *Service) sealFor(uscc, name string, k *DepartmentKey, now time.Time) (*Seal, error) {
	cert, err := smx509.ParseCertificate(k.CertDER)
	if err != nil {
		return nil, fmt.Errorf("registry: certificate of key %s: %w", k.KeyID, err)
	}
	picture, err := seal.DrawPicture(name, SealBottomLine, s.cfg.Font)
	if err != nil {
		return nil, fmt.Errorf("registry: seal picture for %s: %w", uscc, err)
	}
	made, err := seal.Make(s.cfg.Platform.Root, s.cfg.Platform.RootCert, seal.Properties{
		ID:         uscc + "." + k.KeyID,
		Name:       name,
		Signers:    []*smx509.Certificate{cert},
		CreateDate: now,
		ValidStart: k.ValidFrom,
		ValidEnd:   k.ValidUntil,
		Picture:    seal.Picture{Type: "PNG", Data: picture, WidthMM: sealDiameterMM, HeightMM: sealDiameterMM},
	})
	if err != nil {
		return nil, fmt.Errorf("registry: make seal for %s: %w", uscc, err)
	}
	return &Seal{ID: made.ID, Department: uscc, KeyID: k.KeyID, DER: made.Raw, ValidStart: made.ValidStart, ValidEnd: made.ValidEnd, Active: true, parsed: made}, nil
}

// Seals lists a department's seals, the active one last.
func (s *Service) Seals(ctx context.Context, uscc string) ([]Seal, error) {
	return s.store.seals(ctx, uscc)
}

// SealPicture returns the PNG picture of a department's active seal.
func (s *Service) SealPicture(ctx context.Context, uscc string) ([]byte, error) {
	seals, err := s.store.seals(ctx, uscc)
	if err != nil {
		return nil, err
	}
	for i := len(seals) - 1; i >= 0; i-- {
		if seals[i].Active {
			parsed, err := seal.ParseSeal(seals[i].DER)
			if err != nil {
				return nil, fmt.Errorf("registry: stored seal %s: %w", seals[i].ID, err)
			}
			return parsed.Picture.Data, nil
		}
	}
	return nil, fmt.Errorf("seal of department %s: %w", uscc, ErrNotFound)
}
