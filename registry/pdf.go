package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"zhengzhao/render"
	"zhengzhao/signing/seal"
	"zhengzhao/verifier"
)

// PDF renders a license's face as a PDF: the department's seal over the
// issuing authority, the QR code of its compact form, and the credential
// with its ledger receipt and the seal signature embedded as attachments,
// so that the PDF alone verifies offline. The same license always gives
// the same bytes.
func (s *Service) PDF(ctx context.Context, id string) ([]byte, error) {
	lic, err := s.store.license(ctx, id)
	if err != nil {
		return nil, err
	}
	typ, ok := s.LicenseType(lic.Record)
	if !ok {
		return nil, fmt.Errorf("registry: license %s has type %s, not in the catalog", id, lic.TypeCode)
	}
	if len(lic.SealSignature) == 0 || lic.Compact == "" {
		return nil, fmt.Errorf("%w: license %s was issued before licenses were sealed; it has no PDF", ErrConflict, id)
	}
	sig, err := seal.ParseSignature(lic.SealSignature)
	if err != nil {
		return nil, fmt.Errorf("registry: stored seal signature of %s: %w", id, err)
	}
	if err := s.RefreshReceipt(ctx, lic); err != nil {
		return nil, err
	}
	// No HTML escaping: the credential's bytes stay exactly as signed.
	var doc bytes.Buffer
	enc := json.NewEncoder(&doc)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(verifier.Document{Credential: lic.Credential, Receipt: &lic.Receipt}); err != nil {
		return nil, err
	}
	return s.render.PDF(render.Input{
		Type:      typ,
		Record:    lic.Record,
		SealPNG:   sig.Seal.Picture.Data,
		QRPayload: lic.Compact,
		Attachments: []render.Attachment{
			{Name: render.AttachmentCredential, Description: "电子证照凭证 (W3C VC, SM2) 与账本收据", Data: bytes.TrimSpace(doc.Bytes())},
			{Name: render.AttachmentSeal, Description: "电子签章 (GB/T 38540 SES_Signature)", Data: lic.SealSignature},
		},
		CreatedAt: lic.IssuedAt,
	})
}

// QRCode returns a license's compact form as a QR code PNG of px pixels.
func (s *Service) QRCode(ctx context.Context, id string, px int) ([]byte, error) {
	lic, err := s.store.license(ctx, id)
	if err != nil {
		return nil, err
	}
	if lic.Compact == "" {
		return nil, fmt.Errorf("%w: license %s was issued before compact forms; it has no QR code", ErrConflict, id)
	}
	return render.QRPNG(lic.Compact, px)
}
