package verifier

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // photos of a QR code
	_ "image/png"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"zhengzhao/credential"
	"zhengzhao/license"
	"zhengzhao/signing"
	"zhengzhao/signing/seal"
)

// MaxPhotoPixels bounds the pictures Verify decodes (width × height), so a
// small file that claims a huge size cannot exhaust memory.
const MaxPhotoPixels = 40 << 20

// detectForm tells the input's form by its content, never by a file name.
func detectForm(input []byte) string {
	switch {
	case bytes.HasPrefix(input, []byte("%PDF-")):
		return FormPDF
	case bytes.HasPrefix(input, []byte("\x89PNG\r\n\x1a\n")), bytes.HasPrefix(input, []byte{0xFF, 0xD8, 0xFF}):
		return FormPhoto
	case bytes.HasPrefix(bytes.TrimSpace(input), []byte(credential.CompactPrefix)):
		return FormCompact
	case bytes.HasPrefix(bytes.TrimSpace(input), []byte(credential.LivePrefix)):
		return FormLive
	}
	return FormCredential
}

// verifyPDF checks a license PDF: the embedded credential (with its
// receipt) as a Document, then the department's seal over it, then that the
// identifier printed on the page is the credential's.
func (v *run) verifyPDF(pdf []byte) {
	v.r.Form = FormPDF
	lp, err := readLicensePDF(pdf)
	if err != nil {
		v.r.InputErr = err
		v.add(NameFormat, fail("%v", err))
		v.skipRest("not checked: the input could not be read")
		v.add(NameSeal, skip("not checked: the input could not be read"))
		v.add(NameFace, skip("not checked: the input could not be read"))
		return
	}
	v.verifyJSON(lp.document)
	if v.cred == nil {
		v.add(NameSeal, skip("not checked: the embedded credential could not be read"))
		v.add(NameFace, skip("not checked: the embedded credential could not be read"))
		return
	}
	v.add(NameSeal, v.sealCheck(lp.sealSignature))
	v.faceCheck(lp)
}

// sealCheck verifies the SES_Signature: a seal the platform made for the
// issuing department, valid when it was stamped, listing the key that
// signed the credential, over SM3 of the credential's canonical bytes.
func (v *run) sealCheck(der []byte) outcome {
	if len(der) == 0 {
		return fail("the PDF carries no seal signature (%s)", AttachmentSeal)
	}
	if v.dept == nil {
		return skip("not checked: issuer not in the trust bundle")
	}
	sig, err := seal.ParseSignature(der)
	if err != nil {
		return fail("seal signature unreadable: %v", err)
	}
	data, err := v.cred.Canonical()
	if err != nil {
		return fail("cannot compute the credential's canonical bytes: %v", err)
	}
	if err := seal.VerifySignature(sig, data, v.ix.roots); err != nil {
		var ce *seal.CheckError
		if errors.As(err, &ce) {
			return fail("seal check %s failed: %v", ce.Check, ce.Err)
		}
		return fail("seal does not verify: %v", err)
	}
	if !v.ix.isRoot(sig.Seal.MakerCert) {
		return fail("seal check %s failed: the seal was made by %s, not by the platform", seal.CheckSealMaker, certName(sig.Seal.MakerCert))
	}
	known := v.dept.seals[sig.Seal.ID]
	if known == nil || !bytes.Equal(known.Raw, sig.Seal.Raw) {
		return fail("seal %s (%s) is not a seal of %s in the trust bundle", sig.Seal.ID, sig.Seal.Name, v.dept.dept.Name)
	}
	if v.signingKey != nil && !bytes.Equal(sig.SignerCert, v.signingKey.cert.Raw) {
		return fail("stamped with key %s, not the key %s that signed the credential", signing.KeyID(sig.SignerCert), v.signingKey.key.KeyID)
	}
	return pass("sealed with the seal of " + v.dept.dept.Name + " (" + sig.Seal.ID + ", made by the platform) at " + when(sig.Time))
}

// certName is a certificate's subject common name, for reasons.
func certName(der []byte) string {
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		return "an unreadable certificate"
	}
	return "“" + c.Subject.CommonName + "”"
}

// faceCheck reads every field printed on the pages back and compares it
// with the embedded credential's, and fails on anything drawn that the
// renderer does not draw (face.go), naming the field.
func (v *run) faceCheck(lp *licensePDF) {
	// The record with its type-specific fields, which the verification
	// itself does not read.
	full, _, err := credential.ParseEnvelope(lp.document, "credential")
	if err != nil {
		v.add(NameFace, fail("无法读取凭证中的证照字段：%v", err))
		return
	}
	rec := full.CredentialSubject
	t, ok := license.DefaultCatalog().Type(rec.TypeCode)
	if !ok {
		v.add(NameFace, fail("证照类型 %s 不在目录中，无法核对页面", rec.TypeCode))
		return
	}
	fe := lp.face.compare(license.NewFace(t, rec))
	if fe == nil {
		fe = lp.face.checkQR(rec.Identifier)
	}
	if fe != nil {
		v.add(NameFace, fail("%s", fe.Reason))
		c := &v.r.Checks[len(v.r.Checks)-1]
		c.Code, c.Field = fe.Code, fe.Field
		return
	}
	v.add(NameFace, pass("页面印的每一项和二维码都与凭证一致，且没有证照生成器之外的文字、图形或追加修改"))
}

// licensePDF is what a license PDF carries.
type licensePDF struct {
	document      []byte // the credential.json attachment
	sealSignature []byte // the seal.sig attachment, if any
	face          *printedFace
}

// readLicensePDF reads the attachments and the printed face, parsing the
// PDF once.
func readLicensePDF(pdf []byte) (_ *licensePDF, err error) {
	defer recoverMalformed(&err)
	ctx, err := readPDF(pdf)
	if err != nil {
		return nil, err
	}
	files, err := attachments(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := visibleIdentifier(ctx); err != nil {
		return nil, err
	}
	face, err := readFace(ctx, pdf)
	if err != nil {
		return nil, err
	}
	return &licensePDF{document: files[AttachmentCredential], sealSignature: files[AttachmentSeal], face: face}, nil
}

// verifyPhoto finds the QR code in a PNG or JPEG picture and checks its
// compact form.
func (v *run) verifyPhoto(pic []byte) {
	v.r.Form = FormPhoto
	text, err := DecodeQR(pic)
	if err != nil {
		v.r.InputErr = err
		v.add(NameFormat, fail("%v", err))
		v.skipRest("not checked: the input could not be read")
		return
	}
	v.verifyCompact(text)
	v.r.Form = FormPhoto
}

// DecodeQR returns the text of the QR code in a PNG or JPEG picture. A
// picture without a readable QR code is ErrNoQRCode.
func DecodeQR(pic []byte) (string, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(pic))
	if err != nil {
		return "", fmt.Errorf("%w: not a readable PNG or JPEG picture: %v", ErrNoQRCode, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > MaxPhotoPixels {
		return "", fmt.Errorf("%w: the %s picture is %d×%d pixels, at most %d pixels", ErrNoQRCode, format, cfg.Width, cfg.Height, MaxPhotoPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(pic))
	if err != nil {
		return "", fmt.Errorf("%w: the %s picture cannot be decoded: %v", ErrNoQRCode, format, err)
	}
	return decodeQRImage(img, format)
}

// decodeQRImage tries the picture as it is, then turned a quarter at a
// time, then as a bare QR code. gozxing's finder-pattern detector misjudges
// the geometry of a few percent of codes in one orientation (about 6 % of
// our licenses' QR codes, which zbar and phone cameras read at once) and
// reads them in another, so one failed attempt is not "no QR code".
func decodeQRImage(img image.Image, format string) (string, error) {
	src := gozxing.NewLuminanceSourceFromImage(img)
	reader := qrcode.NewQRCodeReader()
	tryHarder := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	for turn := 0; turn < 4; turn++ {
		if bmp, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(src)); err == nil {
			if res, err := reader.Decode(bmp, tryHarder); err == nil {
				return res.GetText(), nil
			}
		}
		if !src.IsRotateSupported() {
			break
		}
		turned, err := src.RotateCounterClockwise()
		if err != nil {
			break
		}
		src = turned
	}
	pure := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true}
	if bmp, err := gozxing.NewBinaryBitmapFromImage(img); err == nil {
		if res, err := reader.Decode(bmp, pure); err == nil {
			return res.GetText(), nil
		}
	}
	return "", fmt.Errorf("%w in the %s picture", ErrNoQRCode, format)
}

// verifyCompact checks a ZZ1: compact form: its SM2 signature with the
// department key it names, then the same key, type, validity and status
// checks as a credential. It carries no receipt and no digest, so offline
// the anchor check is skipped and online only the ledger's anchor fields
// are compared.
func (v *run) verifyCompact(s string) {
	if isLive(s) { // a photo of a live code
		v.verifyLive(s)
		return
	}
	v.r.Form = FormCompact
	c, err := credential.ParseCompact(s)
	if err != nil {
		v.add(NameFormat, fail("not a Zhengzhao QR form: %v", err))
		v.skipRest("not checked: the input could not be read")
		return
	}
	v.compact = c
	v.r.Identifier, v.r.TypeCode, v.r.TypeName = c.Identifier, c.TypeCode, c.TypeName
	if name, ok := typeNames()[c.TypeCode]; ok {
		v.r.TypeName = name
	}
	v.id, v.idErr = license.ParseIdentifier(c.Identifier)
	v.created = c.IssuedAt.Format(time.RFC3339)
	if c.Expires != nil {
		v.validUntil = c.Expires.Format(time.RFC3339)
	}
	v.vmUSCC, v.vmKey = c.Issuer, c.KeyID
	v.add(NameFormat, pass("well-formed QR form (ZZ1) of "+c.Identifier+", holder "+c.Holder+" "+c.HolderCodeMasked))
	v.add(NameIssuer, v.compactIssuer())
	v.add(NameProof, v.compactProof())
	v.lookupAnchor()
	v.add(NameKey, v.key())
	v.add(NameType, v.licenseType())
	v.add(NameValidity, v.validity())
	v.add(NameStatus, v.status())
	v.add(NameAnchor, v.anchor())
}

func (v *run) compactIssuer() outcome {
	c := v.compact
	v.uscc = c.Issuer
	v.r.Issuer, v.r.IssuerName = c.Issuer, c.IssuerName
	de := v.ix.depts[c.Issuer]
	if de == nil {
		v.issuerUnknown = true
		return fail("issuer %s is not a department in the trust bundle", c.Issuer)
	}
	v.dept = de
	v.r.IssuerName = de.dept.Name
	if v.idErr == nil && v.id.IssuerUSCC != c.Issuer {
		return fail("identifier names another issuer (%s)", v.id.IssuerUSCC)
	}
	return v.issuedBy()
}

func (v *run) compactProof() outcome {
	if v.dept == nil {
		return skip("not checked: issuer not in the trust bundle")
	}
	c := v.compact
	if o, ok := v.useKey(c.KeyID); !ok {
		return o
	}
	if err := c.VerifySignature(v.signingKey.pub); err != nil {
		return fail("QR signature does not verify with key %s: altered, or signed with another key", c.KeyID)
	}
	return pass("SM2 signature of the QR form verifies with key " + c.KeyID)
}
