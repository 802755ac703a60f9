package seal

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"

	"zhengzhao/signing"
)

// Seal format versions (SES_Header.version).
const (
	// Version4 is the GB/T 38540-2020 seal and signature format, the only
	// one Make and Sign write.
	Version4 = 4
	// Version2 is the GM/T 0031-2014 format, read and verified only. Header
	// versions 1 to 3 all use its layout.
	Version2 = 2
)

// Values written by Make.
const (
	// HeaderID is SES_Header.ID, fixed by both standards.
	HeaderID = "ES"
	// DefaultVendorID is SES_Header.Vid when Properties.VendorID is empty.
	DefaultVendorID = "ZHENGZHAO"
	// TypeOrganization is the seal type Make writes when Properties.Type is
	// 0: an organisation's seal (单位印章, GM/T 0031 type 1; GB/T 38540
	// leaves the type to the application).
	TypeOrganization = 1
	// PictureTypePNG is the picture type Make accepts.
	PictureTypePNG = "PNG"
)

// SES_ESPropertyInfo.certListType values (GB/T 38540).
const (
	CertListCerts   = 1 // certList holds signer certificates (DER)
	CertListDigests = 2 // certList holds digests of signer certificates
)

// CertDigestTypeSM3 is the CertDigestObj type Make writes for SM3 digests.
const CertDigestTypeSM3 = "sm3"

// Picture is a seal's picture (SES_ESPictrueInfo): an image and the size in
// millimetres at which it is displayed.
type Picture struct {
	Type     string // "PNG"
	Data     []byte // the image file
	WidthMM  int
	HeightMM int
}

// CertDigest is one entry of a certDigestList (CertDigestObj): a digest of a
// signer certificate's DER and the name of its hash algorithm.
type CertDigest struct {
	Type  string // "sm3" (or the SM3 OID in dotted form)
	Value []byte
}

// Seal is a parsed electronic seal (SESeal), version 4 (GB/T 38540-2020) or
// version 2 (GM/T 0031-2014). Parsing checks structure only; Verify checks
// the maker's signature and trust.
type Seal struct {
	Version      int          // SES_Header.version: 4, or 1 to 3 for GM/T 0031
	VendorID     string       // SES_Header.Vid
	ID           string       // esID
	Type         int          // property.type
	Name         string       // property.name
	CertListType int          // CertListCerts or CertListDigests (always CertListCerts in v2)
	Certs        [][]byte     // DER of the listed signer certificates (CertListCerts)
	CertDigests  []CertDigest // digests of the listed signer certificates (CertListDigests)
	CreateDate   time.Time
	ValidStart   time.Time
	ValidEnd     time.Time
	Picture      Picture
	MakerCert    []byte // DER of the seal maker's certificate

	SignatureAlgorithm asn1.ObjectIdentifier // the maker's, OIDSM2WithSM3
	SignedValue        []byte                // the maker's DER SM2 signature
	Extensions         int                   // number of (non-critical) extDatas entries

	Raw      []byte // the whole SESeal DER
	sealInfo []byte // the SES_SealInfo DER, what the maker signed
}

// Properties is what Make puts in a seal.
type Properties struct {
	ID          string                // esID: unique seal identifier, ASCII, required
	VendorID    string                // SES_Header.Vid; DefaultVendorID if empty
	Type        int                   // seal type; TypeOrganization if 0
	Name        string                // seal name, e.g. the department's name; required
	Signers     []*smx509.Certificate // the certificates allowed to sign with the seal; at least one
	ListDigests bool                  // list SM3 digests of Signers (certListType 2) instead of the certificates
	CreateDate  time.Time             // required; library code never reads the clock
	ValidStart  time.Time
	ValidEnd    time.Time
	Picture     Picture // Type "PNG" (or empty), Data, WidthMM, HeightMM
}

// Make returns a new version 4 seal (GB/T 38540-2020) holding p, signed by
// the seal maker: maker signs the DER of SES_SealInfo with SM2/SM3 and
// makerCert (whose key must be maker's) is embedded as the maker's
// certificate. Times are stored in UTC to the second.
func Make(maker signing.Signer, makerCert *smx509.Certificate, p Properties) (*Seal, error) {
	if maker == nil || maker.Public() == nil || makerCert == nil {
		return nil, invalid("nil seal maker or maker certificate")
	}
	if !maker.Public().Equal(makerCert.PublicKey) {
		return nil, invalid("maker key does not match the maker certificate")
	}
	info, err := marshalSealInfo(p)
	if err != nil {
		return nil, err
	}
	raw, err := maker.Sign(info)
	if err != nil {
		return nil, fmt.Errorf("seal: maker signs seal: %w", err)
	}
	sig, err := signing.RawToASN1(raw)
	if err != nil {
		return nil, fmt.Errorf("seal: maker signature: %w", err)
	}
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(info)
		b.AddASN1OctetString(makerCert.Raw)
		b.AddASN1ObjectIdentifier(OIDSM2WithSM3)
		b.AddASN1BitString(sig)
	})
	der, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("seal: encode SESeal: %w", err)
	}
	return ParseSeal(der)
}

func marshalSealInfo(p Properties) ([]byte, error) {
	if p.ID == "" || len(p.ID) > maxStringSize || !isIA5(p.ID) {
		return nil, invalid("seal ID must be 1 to %d ASCII characters", maxStringSize)
	}
	vid := p.VendorID
	if vid == "" {
		vid = DefaultVendorID
	}
	if len(vid) > maxStringSize || !isIA5(vid) {
		return nil, invalid("vendor ID must be at most %d ASCII characters", maxStringSize)
	}
	typ := p.Type
	if typ == 0 {
		typ = TypeOrganization
	}
	if typ < 0 || typ > math.MaxInt32 {
		return nil, invalid("seal type %d out of range", typ)
	}
	if p.Name == "" || len(p.Name) > maxStringSize || !utf8.ValidString(p.Name) {
		return nil, invalid("seal name must be 1 to %d bytes of UTF-8", maxStringSize)
	}
	if len(p.Signers) == 0 || len(p.Signers) > maxCerts {
		return nil, invalid("a seal lists 1 to %d signer certificates, got %d", maxCerts, len(p.Signers))
	}
	for i, c := range p.Signers {
		if c == nil || len(c.Raw) == 0 || len(c.Raw) > maxCertSize {
			return nil, invalid("signer certificate %d is missing or larger than %d bytes", i, maxCertSize)
		}
	}
	if p.CreateDate.IsZero() || p.ValidStart.IsZero() || p.ValidEnd.IsZero() {
		return nil, invalid("createDate, validStart and validEnd are required")
	}
	if !p.ValidEnd.After(p.ValidStart) {
		return nil, invalid("validity %s to %s is empty", p.ValidStart.Format(time.RFC3339), p.ValidEnd.Format(time.RFC3339))
	}
	for _, t := range []time.Time{p.CreateDate, p.ValidStart, p.ValidEnd} {
		if y := t.UTC().Year(); y < 1 || y > 9999 {
			return nil, invalid("time %s outside years 1 to 9999", t.Format(time.RFC3339))
		}
	}
	pic := p.Picture
	if pic.Type == "" {
		pic.Type = PictureTypePNG
	}
	if pic.Type != PictureTypePNG {
		return nil, invalid("picture type %q, want %q", pic.Type, PictureTypePNG)
	}
	if len(pic.Data) == 0 || len(pic.Data) > MaxPictureSize {
		return nil, invalid("picture must be 1 to %d bytes, got %d", MaxPictureSize, len(pic.Data))
	}
	if !bytes.HasPrefix(pic.Data, []byte("\x89PNG\r\n\x1a\n")) {
		return nil, invalid("picture data is not a PNG file")
	}
	if pic.WidthMM < 1 || pic.WidthMM > maxPictureMM || pic.HeightMM < 1 || pic.HeightMM > maxPictureMM {
		return nil, invalid("picture size %d×%d mm outside 1..%d", pic.WidthMM, pic.HeightMM, maxPictureMM)
	}

	listType := CertListCerts
	if p.ListDigests {
		listType = CertListDigests
	}
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { // SES_SealInfo
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { // SES_Header
			addIA5(b, HeaderID)
			b.AddASN1Int64(Version4)
			addIA5(b, vid)
		})
		addIA5(b, p.ID)
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { // SES_ESPropertyInfo
			b.AddASN1Int64(int64(typ))
			addUTF8(b, p.Name)
			b.AddASN1Int64(int64(listType))
			b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { // SES_CertList
				for _, c := range p.Signers {
					if !p.ListDigests {
						b.AddASN1OctetString(c.Raw)
						continue
					}
					d := sm3.Sum(c.Raw)
					b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { // CertDigestObj
						addPrintable(b, CertDigestTypeSM3)
						b.AddASN1OctetString(d[:])
					})
				}
			})
			addGeneralizedTime(b, p.CreateDate)
			addGeneralizedTime(b, p.ValidStart)
			addGeneralizedTime(b, p.ValidEnd)
		})
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { // SES_ESPictrueInfo
			addIA5(b, pic.Type)
			b.AddASN1OctetString(pic.Data)
			b.AddASN1Int64(int64(pic.WidthMM))
			b.AddASN1Int64(int64(pic.HeightMM))
		})
	})
	der, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("seal: encode SES_SealInfo: %w", err)
	}
	return der, nil
}

// ParseSeal parses a DER SESeal of version 4 (GB/T 38540-2020) or version 2
// (GM/T 0031-2014), telling them apart by SES_Header.version. Input over
// MaxSize, truncated input, trailing bytes and any deviation from the
// structure give ErrMalformed naming the structure and field; an unknown
// version or a critical extension gives ErrUnsupported. The maker's
// signature is not checked: call Verify.
func ParseSeal(der []byte) (*Seal, error) {
	return parseSeal(der, "SESeal")
}

func parseSeal(der []byte, where string) (*Seal, error) {
	if len(der) > MaxSize {
		return nil, malformed(where, "%d bytes exceeds the %d-byte limit", len(der), MaxSize)
	}
	in := cryptobyte.String(der)
	var elem cryptobyte.String
	if !in.ReadASN1Element(&elem, casn1.SEQUENCE) {
		return nil, malformed(where, "want a SEQUENCE (truncated or not DER)")
	}
	if !in.Empty() {
		return nil, malformed(where, "%d bytes of trailing data", len(in))
	}
	_, body, err := readSequenceElement(&elem, where)
	if err != nil {
		return nil, err
	}
	s := &Seal{Raw: clone(der)}
	infoDER, info, err := readSequenceElement(&body, where+".esealInfo")
	if err != nil {
		return nil, err
	}
	s.sealInfo = clone(infoDER)
	if err := s.parseSealInfo(info, where+".esealInfo"); err != nil {
		return nil, err
	}
	signWhere, algName, sigName := where, ".signAlgID", ".signedValue"
	if s.Version != Version4 {
		algName, sigName = ".signatureAlgorithm", ".signData"
		// GM/T 0031: signInfo SES_SignInfo ::= SEQUENCE { cert, signatureAlgorithm, signData }
		signWhere = where + ".signInfo"
		signInfo, err := readSequence(&body, signWhere)
		if err != nil {
			return nil, err
		}
		if !body.Empty() {
			return nil, malformed(where, "trailing data after signInfo")
		}
		body = signInfo
	}
	if s.MakerCert, err = readOctets(&body, signWhere+".cert", maxCertSize); err != nil {
		return nil, err
	}
	if s.SignatureAlgorithm, err = readOID(&body, signWhere+algName); err != nil {
		return nil, err
	}
	if s.SignedValue, err = readBits(&body, signWhere+sigName, maxSignatureSize); err != nil {
		return nil, err
	}
	if !body.Empty() {
		return nil, malformed(signWhere, "trailing data after %s", sigName[1:])
	}
	return s, nil
}

func (s *Seal) parseSealInfo(info cryptobyte.String, where string) error {
	hw := where + ".header"
	header, err := readSequence(&info, hw)
	if err != nil {
		return err
	}
	id, err := readIA5(&header, hw+".ID", maxStringSize)
	if err != nil {
		return err
	}
	if id != HeaderID {
		return malformed(hw+".ID", "%q, want %q", truncate(id), HeaderID)
	}
	v, err := readInt(&header, hw+".version", math.MinInt32, math.MaxInt32)
	if err != nil {
		return err
	}
	if v < 1 || v > Version4 {
		return fmt.Errorf("%w: %s.version %d (want 4, or 1 to 3 for GM/T 0031)", ErrUnsupported, hw, v)
	}
	s.Version = int(v)
	if s.VendorID, err = readIA5(&header, hw+".Vid", maxStringSize); err != nil {
		return err
	}
	if !header.Empty() {
		return malformed(hw, "trailing data")
	}
	if s.ID, err = readIA5(&info, where+".esID", maxStringSize); err != nil {
		return err
	}
	pw := where + ".property"
	prop, err := readSequence(&info, pw)
	if err != nil {
		return err
	}
	if s.Version == Version4 {
		err = s.parsePropertyV4(prop, pw)
	} else {
		err = s.parsePropertyV2(prop, pw)
	}
	if err != nil {
		return err
	}
	if err := s.parsePicture(&info, where+".picture"); err != nil {
		return err
	}
	if !info.Empty() {
		ew := where + ".extDatas"
		ext, err := readSequence(&info, ew)
		if err != nil {
			return err
		}
		if s.Extensions, err = readExtensions(ext, ew); err != nil {
			return err
		}
	}
	if !info.Empty() {
		return malformed(where, "trailing data after extDatas")
	}
	return nil
}

func (s *Seal) parsePropertyV4(prop cryptobyte.String, where string) error {
	typ, err := readInt(&prop, where+".type", 0, math.MaxInt32)
	if err != nil {
		return err
	}
	s.Type = int(typ)
	if s.Name, err = readUTF8(&prop, where+".name", maxStringSize); err != nil {
		return err
	}
	lt, err := readInt(&prop, where+".certListType", CertListCerts, CertListDigests)
	if err != nil {
		return err
	}
	s.CertListType = int(lt)
	lw := where + ".certList"
	list, err := readSequence(&prop, lw)
	if err != nil {
		return err
	}
	for n := 0; !list.Empty(); n++ {
		if n == maxCerts {
			return malformed(lw, "more than %d entries", maxCerts)
		}
		if s.CertListType == CertListCerts {
			c, err := readOctets(&list, lw+".certs", maxCertSize)
			if err != nil {
				return err
			}
			s.Certs = append(s.Certs, c)
			continue
		}
		dw := lw + ".certDigestList.CertDigestObj"
		obj, err := readSequence(&list, dw)
		if err != nil {
			return err
		}
		var d CertDigest
		if d.Type, err = readPrintable(&obj, dw+".type", maxStringSize); err != nil {
			return err
		}
		if d.Value, err = readOctets(&obj, dw+".value", maxDigestSize); err != nil {
			return err
		}
		if !obj.Empty() {
			return malformed(dw, "trailing data")
		}
		s.CertDigests = append(s.CertDigests, d)
	}
	if len(s.Certs)+len(s.CertDigests) == 0 {
		return malformed(lw, "empty: a seal lists at least one signer")
	}
	if s.CreateDate, err = readGeneralizedTime(&prop, where+".createDate"); err != nil {
		return err
	}
	if s.ValidStart, err = readGeneralizedTime(&prop, where+".validStart"); err != nil {
		return err
	}
	if s.ValidEnd, err = readGeneralizedTime(&prop, where+".validEnd"); err != nil {
		return err
	}
	if !prop.Empty() {
		return malformed(where, "trailing data")
	}
	return nil
}

// parsePropertyV2 reads the GM/T 0031-2014 SES_ESPropertyInfo: type, name,
// certList SEQUENCE OF OCTET STRING, createDate, validStart, validEnd as
// UTCTime.
func (s *Seal) parsePropertyV2(prop cryptobyte.String, where string) error {
	typ, err := readInt(&prop, where+".type", 0, math.MaxInt32)
	if err != nil {
		return err
	}
	s.Type = int(typ)
	if s.Name, err = readUTF8(&prop, where+".name", maxStringSize); err != nil {
		return err
	}
	s.CertListType = CertListCerts
	lw := where + ".certList"
	list, err := readSequence(&prop, lw)
	if err != nil {
		return err
	}
	for n := 0; !list.Empty(); n++ {
		if n == maxCerts {
			return malformed(lw, "more than %d entries", maxCerts)
		}
		c, err := readOctets(&list, lw+".cert", maxCertSize)
		if err != nil {
			return err
		}
		s.Certs = append(s.Certs, c)
	}
	if len(s.Certs) == 0 {
		return malformed(lw, "empty: a seal lists at least one signer")
	}
	if s.CreateDate, err = readAnyTime(&prop, where+".createDate"); err != nil {
		return err
	}
	if s.ValidStart, err = readAnyTime(&prop, where+".validStart"); err != nil {
		return err
	}
	if s.ValidEnd, err = readAnyTime(&prop, where+".validEnd"); err != nil {
		return err
	}
	if !prop.Empty() {
		return malformed(where, "trailing data")
	}
	return nil
}

func (s *Seal) parsePicture(info *cryptobyte.String, where string) error {
	pic, err := readSequence(info, where)
	if err != nil {
		return err
	}
	if s.Picture.Type, err = readIA5(&pic, where+".type", maxStringSize); err != nil {
		return err
	}
	if s.Picture.Data, err = readOctets(&pic, where+".data", MaxPictureSize); err != nil {
		return err
	}
	w, err := readInt(&pic, where+".width", 0, maxPictureMM)
	if err != nil {
		return err
	}
	h, err := readInt(&pic, where+".height", 0, maxPictureMM)
	if err != nil {
		return err
	}
	s.Picture.WidthMM, s.Picture.HeightMM = int(w), int(h)
	if !pic.Empty() {
		return malformed(where, "trailing data")
	}
	return nil
}

// Verify checks the seal maker: the signature algorithm is SM2 with SM3,
// the maker's signature verifies under the embedded maker certificate, and
// that certificate is one of makerRoots or chains to one of them, valid at
// the seal's createDate (the time the maker claims to have signed; no clock
// is read). Failures wrap ErrSealMaker.
//
// For a version 4 seal the maker signed the DER of SES_SealInfo; for
// version 2, the DER of SEQUENCE { SES_SealInfo, cert, signatureAlgorithm }
// (GM/T 0031-2014). Both forms are accepted for either version, because
// producers differ.
func (s *Seal) Verify(makerRoots []*smx509.Certificate) error {
	if err := s.verifyMaker(makerRoots); err != nil {
		return fmt.Errorf("%w: %w", ErrSealMaker, err)
	}
	return nil
}

func (s *Seal) verifyMaker(makerRoots []*smx509.Certificate) error {
	if s == nil || len(s.sealInfo) == 0 {
		return errors.New("no parsed seal")
	}
	if len(makerRoots) == 0 {
		return errors.New("no trusted seal makers given")
	}
	if !s.SignatureAlgorithm.Equal(OIDSM2WithSM3) {
		return fmt.Errorf("%w: maker signature algorithm %s, want %s", ErrUnsupported, s.SignatureAlgorithm, OIDSM2WithSM3)
	}
	maker, err := smx509.ParseCertificate(s.MakerCert)
	if err != nil {
		return fmt.Errorf("maker certificate: %w", err)
	}
	if err := verifyDER(maker, s.SignedValue, s.signedMessages()...); err != nil {
		return fmt.Errorf("maker signature: %w", err)
	}
	return trustMaker(maker, makerRoots, s.CreateDate)
}

// signedMessages returns the byte strings a maker may have signed.
func (s *Seal) signedMessages() [][]byte {
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(s.sealInfo)
		b.AddASN1OctetString(s.MakerCert)
		b.AddASN1ObjectIdentifier(s.SignatureAlgorithm)
	})
	seq, err := b.Bytes()
	if err != nil {
		return [][]byte{s.sealInfo}
	}
	if s.Version == Version4 {
		return [][]byte{s.sealInfo, seq}
	}
	return [][]byte{seq, s.sealInfo}
}

// verifyDER checks a DER SM2 signature by cert's key over any of msgs.
func verifyDER(cert *smx509.Certificate, sigDER []byte, msgs ...[]byte) error {
	pub, err := signing.ParsePublicKey(cert.RawSubjectPublicKeyInfo)
	if err != nil {
		return err
	}
	raw, err := signing.ASN1ToRaw(sigDER)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if err = signing.Verify(pub, m, raw); err == nil {
			return nil
		}
	}
	return err
}

// trustMaker accepts a maker certificate that is one of roots, or that
// chains to one of them, at time at.
func trustMaker(maker *smx509.Certificate, roots []*smx509.Certificate, at time.Time) error {
	pool := smx509.NewCertPool()
	for _, r := range roots {
		if r == nil {
			continue
		}
		if bytes.Equal(r.Raw, maker.Raw) {
			if at.Before(r.NotBefore) || at.After(r.NotAfter) {
				return fmt.Errorf("maker certificate not valid at the seal's createDate %s", at.Format(time.RFC3339))
			}
			return nil
		}
		pool.AddCert(r)
	}
	if maker.KeyUsage != 0 && maker.KeyUsage&smx509.KeyUsageDigitalSignature == 0 {
		return errors.New("maker certificate lacks KeyUsage digitalSignature")
	}
	_, err := maker.Verify(smx509.VerifyOptions{
		Roots:       pool,
		CurrentTime: at,
		KeyUsages:   []smx509.ExtKeyUsage{smx509.ExtKeyUsageAny},
	})
	if err != nil {
		return fmt.Errorf("maker certificate %q not trusted: %w", maker.Subject.CommonName, err)
	}
	return nil
}

// Lists reports whether the seal lists the signer certificate certDER, by
// DER (certListType 1) or by digest (certListType 2; SM3 only).
func (s *Seal) Lists(certDER []byte) bool { return s.lists(certDER) }

func (s *Seal) lists(certDER []byte) bool {
	for _, c := range s.Certs {
		if bytes.Equal(c, certDER) {
			return true
		}
	}
	if len(s.CertDigests) == 0 {
		return false
	}
	d := sm3.Sum(certDER)
	for _, cd := range s.CertDigests {
		t := strings.ToLower(strings.TrimSpace(cd.Type))
		if (t == CertDigestTypeSM3 || t == OIDSM3.String()) && bytes.Equal(cd.Value, d[:]) {
			return true
		}
	}
	return false
}
