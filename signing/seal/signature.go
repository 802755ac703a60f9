package seal

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"

	"zhengzhao/signing"
)

// Signature is a parsed electronic signature (SES_Signature), version 4
// (GB/T 38540-2020) or version 2 (GM/T 0031-2014).
type Signature struct {
	Version      int       // TBS_Sign.version: 4, or 1 to 3 for GM/T 0031
	Seal         *Seal     // TBS_Sign.eseal
	Time         time.Time // TBS_Sign.timeInfo; zero if a v2 timeInfo could not be read as a time
	TimeInfo     []byte    // v2 only: the raw timeInfo BIT STRING contents
	DataHash     []byte    // TBS_Sign.dataHash: SM3 of the signed document
	PropertyInfo string    // TBS_Sign.propertyInfo

	SignerCert         []byte                // DER of the signer's certificate
	SignatureAlgorithm asn1.ObjectIdentifier // OIDSM2WithSM3
	Value              []byte                // the signer's DER SM2 signature over TBS_Sign
	TimeStamp          []byte                // v4 only: the optional timeStamp, as stored
	Extensions         int                   // number of (non-critical) TBS_Sign extDatas entries

	Raw []byte // the whole SES_Signature DER
	tbs []byte // the TBS_Sign DER, what the signer signed
}

// Sign seals a document: it returns the DER of a version 4 SES_Signature
// (GB/T 38540-2020) whose TBS_Sign holds seal (which must be version 4),
// the signing time at, dataHash (the 32-byte SM3 digest of the document
// bytes, computed by the caller) and propertyInfo (ASCII, describing what
// was signed). signer signs the DER of TBS_Sign with SM2/SM3; signerCert,
// which must hold signer's key, is embedded as the signer's certificate.
//
// Sign refuses to produce a signature that VerifySignature would reject for
// reasons it can see: signerCert not listed in the seal (ErrSignerNotListed)
// or at outside the seal's validity (ErrSealValidity), both wrapped in
// ErrInvalidInput.
func Sign(signer signing.Signer, signerCert *smx509.Certificate, seal *Seal, dataHash []byte, at time.Time, propertyInfo string) ([]byte, error) {
	if seal == nil || signerCert == nil {
		return nil, invalid("nil seal or signer certificate")
	}
	if !seal.lists(signerCert.Raw) {
		return nil, fmt.Errorf("%w: %w", ErrInvalidInput, ErrSignerNotListed)
	}
	if at.Before(seal.ValidStart) || at.After(seal.ValidEnd) {
		return nil, fmt.Errorf("%w: %w: %s not within %s to %s", ErrInvalidInput, ErrSealValidity,
			at.UTC().Format(time.RFC3339), seal.ValidStart.Format(time.RFC3339), seal.ValidEnd.Format(time.RFC3339))
	}
	return sign(signer, signerCert, seal, dataHash, at, propertyInfo)
}

// SignUnchecked is Sign without its listing and validity checks: what a
// forger with a department key could make. It exists so that verifier tests
// elsewhere can build signatures VerifySignature must reject (a seal stamped
// after it expired, by a key it does not list); issuing code calls Sign.
func SignUnchecked(signer signing.Signer, signerCert *smx509.Certificate, seal *Seal, dataHash []byte, at time.Time, propertyInfo string) ([]byte, error) {
	return sign(signer, signerCert, seal, dataHash, at, propertyInfo)
}

// sign is Sign without the listing and validity checks.
func sign(signer signing.Signer, signerCert *smx509.Certificate, seal *Seal, dataHash []byte, at time.Time, propertyInfo string) ([]byte, error) {
	if signer == nil || signer.Public() == nil || signerCert == nil || seal == nil {
		return nil, invalid("nil signer, signer certificate or seal")
	}
	if !signer.Public().Equal(signerCert.PublicKey) {
		return nil, invalid("signer key does not match the signer certificate")
	}
	if seal.Version != Version4 || len(seal.Raw) == 0 {
		return nil, fmt.Errorf("%w: signing with a version %d seal; only version 4 is written", ErrUnsupported, seal.Version)
	}
	if len(dataHash) != sm3.Size {
		return nil, invalid("dataHash is %d bytes, want %d (SM3)", len(dataHash), sm3.Size)
	}
	if y := at.UTC().Year(); at.IsZero() || y < 1 || y > 9999 {
		return nil, invalid("signing time is missing or out of range")
	}
	tb, err := newTBS(seal, dataHash, at, propertyInfo)
	if err != nil {
		return nil, err
	}
	raw, err := signer.Sign(tb.bytes())
	if err != nil {
		return nil, fmt.Errorf("seal: sign TBS_Sign: %w", err)
	}
	sig, err := signing.RawToASN1(raw)
	if err != nil {
		return nil, fmt.Errorf("seal: signature: %w", err)
	}
	return tb.marshalSignature(signerCert.Raw, sig)
}

// tbsVersion4 is TBS_Sign.version, INTEGER 4, in DER.
var tbsVersion4 = []byte{0x02, 0x01, Version4}

// tbsSign is a version 4 TBS_Sign in its three parts:
//
//	head ‖ tbsVersion4 ‖ seal ‖ tail
//
// head is the SEQUENCE's tag and length, seal the seal's DER as it stands
// (tens of kilobytes) and tail the DER of timeInfo, dataHash and
// propertyInfo. Kept apart, the seal is copied once, into the
// SES_Signature, and hashed once by a Stamper.
type tbsSign struct {
	head []byte
	seal []byte
	tail []byte
}

// newTBS checks propertyInfo and returns the parts of a version 4
// TBS_Sign.
func newTBS(seal *Seal, dataHash []byte, at time.Time, propertyInfo string) (*tbsSign, error) {
	if len(propertyInfo) > maxPropertyInfo || !isIA5(propertyInfo) {
		return nil, invalid("propertyInfo must be at most %d ASCII characters", maxPropertyInfo)
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, len(dataHash)+len(propertyInfo)+32))
	addGeneralizedTime(b, at)
	b.AddASN1BitString(dataHash)
	addIA5(b, propertyInfo)
	tail, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("seal: encode TBS_Sign: %w", err)
	}
	n := len(tbsVersion4) + len(seal.Raw) + len(tail)
	if n > MaxSize {
		return nil, invalid("TBS_Sign of %d bytes exceeds the %d-byte limit", n, MaxSize)
	}
	return &tbsSign{head: appendDERHead(make([]byte, 0, 6), casn1.SEQUENCE, n), seal: seal.Raw, tail: tail}, nil
}

// parts is the TBS_Sign DER in its four pieces, in order.
func (t *tbsSign) parts() [4][]byte {
	return [4][]byte{t.head, tbsVersion4, t.seal, t.tail}
}

// bytes returns the TBS_Sign DER in one new slice.
func (t *tbsSign) bytes() []byte {
	p := t.parts()
	out := make([]byte, 0, len(p[0])+len(p[1])+len(p[2])+len(p[3]))
	for _, b := range p {
		out = append(out, b...)
	}
	return out
}

// marshalSignature returns the DER of the SES_Signature over this
// TBS_Sign.
func (t *tbsSign) marshalSignature(certDER, sigDER []byte) ([]byte, error) {
	return marshalSignatureParts(t.parts(), certDER, sigDER)
}

// marshalSignature returns the DER of the SES_Signature over the TBS_Sign
// DER tbs.
func marshalSignature(tbs, certDER, sigDER []byte) ([]byte, error) {
	return marshalSignatureParts([4][]byte{tbs}, certDER, sigDER)
}

// sigAlgDER is signatureAlgID, OBJECT IDENTIFIER OIDSM2WithSM3, in DER.
var sigAlgDER = func() []byte {
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1ObjectIdentifier(OIDSM2WithSM3)
	return b.BytesOrPanic()
}()

// marshalSignatureParts returns the DER of the SES_Signature
//
//	SEQUENCE { toSign TBS_Sign, cert OCTET STRING,
//	  signatureAlgID OBJECT IDENTIFIER, signature BIT STRING }
//
// whose TBS_Sign DER is the concatenation of tbs, written in one buffer of
// its exact size: the seal in TBS_Sign is copied once.
func marshalSignatureParts(tbs [4][]byte, certDER, sigDER []byte) ([]byte, error) {
	n := derLen(len(certDER)) + len(sigAlgDER) + derLen(len(sigDER)+1)
	for _, b := range tbs {
		n += len(b)
	}
	if n > MaxSize {
		return nil, invalid("SES_Signature of %d bytes exceeds the %d-byte limit", n, MaxSize)
	}
	der := make([]byte, 0, derLen(n))
	der = appendDERHead(der, casn1.SEQUENCE, n)
	for _, b := range tbs {
		der = append(der, b...)
	}
	der = append(appendDERHead(der, casn1.OCTET_STRING, len(certDER)), certDER...)
	der = append(der, sigAlgDER...)
	der = append(appendDERHead(der, casn1.BIT_STRING, len(sigDER)+1), 0) // no unused bits
	der = append(der, sigDER...)
	if len(der) > MaxSize {
		return nil, invalid("SES_Signature of %d bytes exceeds the %d-byte limit", len(der), MaxSize)
	}
	return der, nil
}

// appendDERHead appends the DER identifier and length octets of an element
// with a one-byte tag and n content bytes (n < 2³², as MaxSize keeps it).
func appendDERHead(dst []byte, tag casn1.Tag, n int) []byte {
	dst = append(dst, byte(tag))
	switch {
	case n < 0x80:
		return append(dst, byte(n))
	case n <= 0xff:
		return append(dst, 0x81, byte(n))
	case n <= 0xffff:
		return append(dst, 0x82, byte(n>>8), byte(n))
	case n <= 0xffffff:
		return append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		return append(dst, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// derLen is the length of a DER element of n content bytes with a one-byte
// tag.
func derLen(n int) int {
	switch {
	case n < 0x80:
		return 2 + n
	case n <= 0xff:
		return 3 + n
	case n <= 0xffff:
		return 4 + n
	case n <= 0xffffff:
		return 5 + n
	default:
		return 6 + n
	}
}

// ParseSignature parses a DER SES_Signature of version 4 (GB/T 38540-2020)
// or version 2 (GM/T 0031-2014), telling them apart by TBS_Sign.version, and
// the seal inside it. It checks structure only, with the limits and errors
// of ParseSeal; VerifySignature checks the rest.
func ParseSignature(der []byte) (*Signature, error) {
	const where = "SES_Signature"
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
	sig := &Signature{Raw: clone(der)}
	tw := where + ".toSign"
	tbsDER, tbs, err := readSequenceElement(&body, tw)
	if err != nil {
		return nil, err
	}
	sig.tbs = clone(tbsDER)
	v, err := readInt(&tbs, tw+".version", math.MinInt32, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	if v < 1 || v > Version4 {
		return nil, fmt.Errorf("%w: %s.version %d (want 4, or 1 to 3 for GM/T 0031)", ErrUnsupported, tw, v)
	}
	sig.Version = int(v)
	var sealDER cryptobyte.String
	if !tbs.ReadASN1Element(&sealDER, casn1.SEQUENCE) {
		return nil, malformed(tw+".eseal", "want a SEQUENCE")
	}
	if sig.Seal, err = parseSeal(sealDER, tw+".eseal"); err != nil {
		return nil, err
	}
	if (sig.Version == Version4) != (sig.Seal.Version == Version4) {
		return nil, malformed(tw, "version %d signature holds a version %d seal", sig.Version, sig.Seal.Version)
	}
	if sig.Version == Version4 {
		err = sig.parseV4(tbs, body, where)
	} else {
		err = sig.parseV2(tbs, body, where)
	}
	if err != nil {
		return nil, err
	}
	return sig, nil
}

// parseV4 reads the rest of a GB/T 38540 signature:
//
//	TBS_Sign ::= SEQUENCE { version, eseal, timeInfo GeneralizedTime,
//	  dataHash BIT STRING, propertyInfo IA5String, extDatas [0] ExtensionDatas OPTIONAL }
//	SES_Signature ::= SEQUENCE { toSign, cert OCTET STRING,
//	  signatureAlgID OBJECT IDENTIFIER, signature BIT STRING, timeStamp [0] BIT STRING OPTIONAL }
func (sig *Signature) parseV4(tbs, body cryptobyte.String, where string) error {
	tw := where + ".toSign"
	var err error
	if sig.Time, err = readGeneralizedTime(&tbs, tw+".timeInfo"); err != nil {
		return err
	}
	if sig.DataHash, err = readBits(&tbs, tw+".dataHash", maxDigestSize); err != nil {
		return err
	}
	if sig.PropertyInfo, err = readIA5(&tbs, tw+".propertyInfo", maxPropertyInfo); err != nil {
		return err
	}
	if !tbs.Empty() {
		ew := tw + ".extDatas"
		var ext cryptobyte.String
		switch {
		case tbs.PeekASN1Tag(tagContext0): // [0] EXPLICIT, as written by most producers
			var wrapped cryptobyte.String
			if !tbs.ReadASN1(&wrapped, tagContext0) || !wrapped.ReadASN1(&ext, casn1.SEQUENCE) || !wrapped.Empty() {
				return malformed(ew, "want [0] { SEQUENCE OF ExtData }")
			}
		default: // untagged, as some producers write
			if ext, err = readSequence(&tbs, ew); err != nil {
				return err
			}
		}
		if sig.Extensions, err = readExtensions(ext, ew); err != nil {
			return err
		}
	}
	if !tbs.Empty() {
		return malformed(tw, "trailing data after extDatas")
	}
	if sig.SignerCert, err = readOctets(&body, where+".cert", maxCertSize); err != nil {
		return err
	}
	if sig.SignatureAlgorithm, err = readOID(&body, where+".signatureAlgID"); err != nil {
		return err
	}
	if sig.Value, err = readBits(&body, where+".signature", maxSignatureSize); err != nil {
		return err
	}
	if !body.Empty() {
		tsw := where + ".timeStamp"
		switch {
		case body.PeekASN1Tag(tagContext0): // [0] EXPLICIT BIT STRING
			var wrapped cryptobyte.String
			if !body.ReadASN1(&wrapped, tagContext0) {
				return malformed(tsw, "want [0] BIT STRING")
			}
			if sig.TimeStamp, err = readBits(&wrapped, tsw, maxTimeStamp); err != nil {
				return err
			}
			if !wrapped.Empty() {
				return malformed(tsw, "trailing data")
			}
		case body.PeekASN1Tag(tagContext0Prim): // [0] IMPLICIT BIT STRING
			var b []byte
			if !body.ReadASN1Bytes(&b, tagContext0Prim) || len(b) == 0 || b[0] != 0 || len(b)-1 > maxTimeStamp {
				return malformed(tsw, "want [0] IMPLICIT BIT STRING of at most %d bytes", maxTimeStamp)
			}
			sig.TimeStamp = clone(b[1:])
		default:
			if sig.TimeStamp, err = readBits(&body, tsw, maxTimeStamp); err != nil {
				return err
			}
		}
	}
	if !body.Empty() {
		return malformed(where, "trailing data after timeStamp")
	}
	return nil
}

// parseV2 reads the rest of a GM/T 0031-2014 signature:
//
//	TBS_Sign ::= SEQUENCE { version, eseal, timeInfo BIT STRING, dataHash BIT STRING,
//	  propertyInfo IA5String, cert OCTET STRING, signatureAlgorithm OBJECT IDENTIFIER }
//	SES_Signature ::= SEQUENCE { toSign, signature BIT STRING }
func (sig *Signature) parseV2(tbs, body cryptobyte.String, where string) error {
	tw := where + ".toSign"
	var err error
	if sig.TimeInfo, err = readBits(&tbs, tw+".timeInfo", maxTimeStamp); err != nil {
		return err
	}
	sig.Time = parseTimeInfoV2(sig.TimeInfo)
	if sig.DataHash, err = readBits(&tbs, tw+".dataHash", maxDigestSize); err != nil {
		return err
	}
	if sig.PropertyInfo, err = readIA5(&tbs, tw+".propertyInfo", maxPropertyInfo); err != nil {
		return err
	}
	if sig.SignerCert, err = readOctets(&tbs, tw+".cert", maxCertSize); err != nil {
		return err
	}
	if sig.SignatureAlgorithm, err = readOID(&tbs, tw+".signatureAlgorithm"); err != nil {
		return err
	}
	if !tbs.Empty() {
		return malformed(tw, "trailing data after signatureAlgorithm")
	}
	if sig.Value, err = readBits(&body, where+".signature", maxSignatureSize); err != nil {
		return err
	}
	if !body.Empty() {
		return malformed(where, "trailing data after signature")
	}
	return nil
}

// parseTimeInfoV2 reads a GM/T 0031 timeInfo: a DER UTCTime or
// GeneralizedTime, or their text without a tag. Anything else (a time-stamp
// token, say) gives the zero time.
func parseTimeInfoV2(b []byte) time.Time {
	s := cryptobyte.String(b)
	if s.PeekASN1Tag(tagUTCTime) || s.PeekASN1Tag(tagGeneralizedTime) {
		t, err := readAnyTime(&s, "timeInfo")
		if err == nil && s.Empty() {
			return t
		}
		return time.Time{}
	}
	if t, ok := parseUTCTime(string(b)); ok {
		return t
	}
	if t, ok := parseGeneralizedTime(string(b)); ok {
		return t
	}
	return time.Time{}
}

// VerifySignature verifies a parsed signature over the document bytes data
// against trusted seal makers, running these checks in order and stopping
// at the first failure, which it returns as a *CheckError:
//
//  1. CheckSealMaker: the seal's maker signature verifies and the maker is
//     trusted (Seal.Verify).
//  2. CheckSealValidity: the signing time (timeInfo) lies within the seal's
//     validStart..validEnd, inclusive.
//  3. CheckSignerListed: the signer certificate is one the seal lists, by
//     DER (certListType 1) or by SM3 digest (certListType 2).
//  4. CheckSignature: the algorithm is SM2 with SM3, the signer certificate
//     was valid at the signing time, and its key's SM2 signature over the
//     TBS_Sign DER verifies.
//  5. CheckDataHash: SM3(data) equals dataHash.
//
// Whether the signer's certificate chains to a trusted department root is the
// caller's business (signing.VerifyDepartmentCertificate); no clock is read.
func VerifySignature(sig *Signature, data []byte, makerRoots []*smx509.Certificate) error {
	if sig == nil || sig.Seal == nil || len(sig.tbs) == 0 {
		return invalid("no parsed signature")
	}
	s := sig.Seal
	if err := s.Verify(makerRoots); err != nil {
		return fail(CheckSealMaker, err, nil)
	}
	switch {
	case sig.Time.IsZero():
		return fail(CheckSealValidity, ErrSealValidity, errors.New("signing time (timeInfo) is not a readable time"))
	case sig.Time.Before(s.ValidStart):
		return fail(CheckSealValidity, ErrSealValidity, fmt.Errorf("signed at %s, before the seal's validStart %s",
			sig.Time.Format(time.RFC3339), s.ValidStart.Format(time.RFC3339)))
	case sig.Time.After(s.ValidEnd):
		return fail(CheckSealValidity, ErrSealValidity, fmt.Errorf("signed at %s, after the seal's validEnd %s",
			sig.Time.Format(time.RFC3339), s.ValidEnd.Format(time.RFC3339)))
	}
	if !s.lists(sig.SignerCert) {
		return fail(CheckSignerListed, ErrSignerNotListed, fmt.Errorf("signer certificate %s is not among the seal's %d listed signers",
			signing.KeyID(sig.SignerCert), len(s.Certs)+len(s.CertDigests)))
	}
	if err := verifySigner(sig); err != nil {
		return fail(CheckSignature, ErrBadSignature, err)
	}
	h := sm3.Sum(data)
	if !bytes.Equal(h[:], sig.DataHash) {
		return fail(CheckDataHash, ErrDataHash, errors.New("SM3 of the document differs from the signed dataHash"))
	}
	return nil
}

func verifySigner(sig *Signature) error {
	if !sig.SignatureAlgorithm.Equal(OIDSM2WithSM3) {
		return fmt.Errorf("%w: signature algorithm %s, want %s", ErrUnsupported, sig.SignatureAlgorithm, OIDSM2WithSM3)
	}
	cert, err := smx509.ParseCertificate(sig.SignerCert)
	if err != nil {
		return fmt.Errorf("signer certificate: %w", err)
	}
	if sig.Time.Before(cert.NotBefore) || sig.Time.After(cert.NotAfter) {
		return fmt.Errorf("signer certificate not valid at the signing time %s", sig.Time.Format(time.RFC3339))
	}
	return verifyDER(cert, sig.Value, sig.tbs)
}

// fail builds a CheckError wrapping sentinel and, if given, cause.
func fail(check string, sentinel, cause error) *CheckError {
	if cause == nil {
		return &CheckError{Check: check, Reason: sentinel.Error(), Err: sentinel}
	}
	return &CheckError{Check: check, Reason: cause.Error(), Err: fmt.Errorf("%w: %w", sentinel, cause)}
}
