package verifiertest

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"zhengzhao/credential"
	"zhengzhao/license"
	"zhengzhao/render"
	"zhengzhao/signing"
	"zhengzhao/signing/seal"
	"zhengzhao/verifier"
)

// SealPicture is a small red disc standing in for a seal picture.
var SealPicture = sync.OnceValue(func() []byte {
	const n = 64
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	for y := range n {
		for x := range n {
			if dx, dy := x-n/2, y-n/2; dx*dx+dy*dy < (n/2-2)*(n/2-2) {
				img.Set(x, y, color.NRGBA{R: 220, A: 255})
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
})

// MakeSeal makes a seal for d by maker (the platform root unless another
// maker is wanted), listing d's certificate, valid from..until.
func (w *World) MakeSeal(d *Department, maker signing.Signer, makerCert *smx509.Certificate, from, until time.Time) *seal.Seal {
	w.t.Helper()
	s, err := seal.Make(maker, makerCert, seal.Properties{
		ID: d.USCC + "." + d.KeyID, Name: d.Name, Signers: []*smx509.Certificate{d.Cert},
		CreateDate: from, ValidStart: from, ValidEnd: until,
		Picture: seal.Picture{Type: "PNG", Data: SealPicture(), WidthMM: 42, HeightMM: 42},
	})
	w.check(err)
	return s
}

// Stamp seals l with d's seal s at at, by d's key, over SM3 of the
// credential's canonical bytes; without the checks Sign makes, so tests can
// stamp with expired or foreign seals.
func (w *World) Stamp(l *License, d *Department, s *seal.Seal, at time.Time) []byte {
	w.t.Helper()
	digest := sm3.Sum(l.JSON)
	sig, err := seal.SignUnchecked(d.Signer, d.Cert, s, digest[:], at, "license:"+l.Credential.Identifier())
	w.check(err)
	return sig
}

// Compact returns l's ZZ1: form, signed by its issuer d.
func (w *World) Compact(l *License, d *Department) string {
	w.t.Helper()
	c, err := credential.EncodeCompact(l.Credential, d.Signer, d.KeyID, IssuedAt)
	w.check(err)
	return c
}

// PDF renders l as a license PDF carrying document (the credential.json
// attachment, left out when nil) and sealSig (seal.sig, left out when nil), with qr printed as
// the QR code. It needs the CJK font render.FindFont finds.
func (w *World) PDF(l *License, document, sealSig []byte, qr string) []byte {
	w.t.Helper()
	font, err := testFont()
	w.check(err)
	r, err := render.NewRenderer(font)
	w.check(err)
	typ, _ := license.DefaultCatalog().Type(l.Credential.CredentialSubject.TypeCode)
	var atts []render.Attachment
	if document != nil {
		atts = append(atts, render.Attachment{Name: verifier.AttachmentCredential, Data: document})
	}
	if sealSig != nil {
		atts = append(atts, render.Attachment{Name: verifier.AttachmentSeal, Data: sealSig})
	}
	pdf, err := r.PDF(render.Input{
		Type: typ, Record: l.Credential.CredentialSubject, SealPNG: SealPicture(),
		QRPayload: qr, Attachments: atts, CreatedAt: IssuedAt,
	})
	w.check(err)
	return pdf
}

var testFont = sync.OnceValues(render.FindFont)
