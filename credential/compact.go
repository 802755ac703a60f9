package credential

// The compact QR form of a license (docs/compact-qr.md), in the manner of the
// EU Digital COVID Certificate and ICAO VDS-NC:
//
//	"ZZ1:" + Base45(zlib(COSE_Sign1(CWT claims)))
//
// It carries only what a window clerk must see, signed by the department's
// SM2 key, and fits a QR code a phone camera reads.

import (
	"bytes"
	"compress/zlib"
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"

	"zhengzhao/internal/limits"
	"zhengzhao/license"
	"zhengzhao/signing"
)

const (
	// CompactPrefix starts every compact QR form; the digit is the format
	// version.
	CompactPrefix = "ZZ1:"
	// AlgSM2SM3 is the COSE algorithm value of SM2 signatures over SM3 with
	// the default user ID 1234567812345678, r‖s 64 bytes. COSE has no
	// registered value for SM2, so this is a private-use value (IANA COSE
	// Algorithms: integers below -65536); docs/compact-qr.md names it
	// "SM2-SM3".
	AlgSM2SM3 = -65537
	// MaxCompactLen is the longest compact form, in characters, that
	// ParseCompact accepts and EncodeCompact produces. The format aims at
	// 800 characters or fewer, which every catalog type's example meets.
	MaxCompactLen = 4096
)

// Limits ParseCompact enforces on outside input.
const (
	maxCompactName    = 200          // characters in a name claim, as in license records
	maxCompactCode    = 64           // characters in the masked holder code
	maxStatusIndex    = 1<<31 - 1    // fits an int everywhere
	maxNumericDate    = 253402300799 // 9999-12-31T23:59:59Z
	keyIDSize         = 8            // bytes of a kid: signing.KeyID, hex-decoded
	holderCodeVisible = 4            // characters MaskHolderCode leaves readable
	signatureLen      = signing.SignatureSize
)

// CBOR and COSE constants (RFC 8949, RFC 9052).
const (
	coseSign1TagNumber = 18           // the CBOR tag of COSE_Sign1
	coseSign1Tag       = 0xd2         // tag 18 in its one-byte form
	sigContext         = "Signature1" // Sig_structure context of COSE_Sign1
	emptyMap           = 0xa0         // the empty map: the unprotected header
	emptyBstr          = 0x40         // the empty byte string: external_aad
	sigStructureHead   = 0x84         // an array of 4: the Sig_structure
	textHead10         = 0x60 | 10    // a text string of 10 bytes: "Signature1"
	bstrMajor          = 0x40         // major type 2, byte string
	headerAlg          = 1            // COSE header label alg
	headerKid          = 4            // COSE header label kid
)

// CWT claim keys (RFC 8392 for 1, 4, 6; private negative keys for the rest,
// which take one byte each in CBOR). docs/compact-qr.md lists them.
const (
	claimIss         = 1  // iss: the issuing department's USCC
	claimExp         = 4  // exp: validUntil, seconds since the epoch
	claimIat         = 6  // iat: when the compact form was made
	claimIdentifier  = -1 // the license identifier (电子证照标识)
	claimTypeCode    = -2 // the license type code
	claimTypeName    = -3 // the license name (证照名称)
	claimHolder      = -4 // the holder's name (持证主体)
	claimHolderCode  = -5 // the holder's code, masked (MaskHolderCode)
	claimStatusIndex = -6 // the index in the department's status list
	claimIssuerName  = -7 // the issuing department's name
	claimStatusList  = -8 // the number of that status list, when it is not 0
)

// claimNames names each claim key in errors and in docs/compact-qr.md.
var claimNames = map[int64]string{
	claimIss:         "cwt.iss",
	claimExp:         "cwt.exp",
	claimIat:         "cwt.iat",
	claimIdentifier:  "cwt.identifier",
	claimTypeCode:    "cwt.typeCode",
	claimTypeName:    "cwt.typeName",
	claimHolder:      "cwt.holder",
	claimHolderCode:  "cwt.holderCode",
	claimStatusIndex: "cwt.statusIndex",
	claimIssuerName:  "cwt.issuerName",
	claimStatusList:  "cwt.statusList",
}

// Compact is a parsed compact QR form. ParseCompact checks its shape; only
// VerifySignature checks that the issuer signed it.
type Compact struct {
	// Issuer is the issuing department's USCC (CWT iss).
	Issuer string
	// IssuerName is the issuing department's name; empty if absent.
	IssuerName string
	// Identifier is the license identifier (电子证照标识).
	Identifier string
	// TypeCode and TypeName are the license type code and name (证照名称).
	TypeCode, TypeName string
	// Holder is the holder's name (持证主体).
	Holder string
	// HolderCodeMasked is the holder's code as MaskHolderCode leaves it.
	HolderCodeMasked string
	// IssuedAt is when the compact form was made (CWT iat), in UTC.
	IssuedAt time.Time
	// Expires is the credential's validUntil (CWT exp), in UTC; nil for a
	// license without an end date (长期).
	Expires *time.Time
	// StatusList and StatusIndex name the license's entry in its
	// department's status lists: list number StatusList (the n of
	// /status/{uscc}/message/{n}), entry StatusIndex.
	StatusList, StatusIndex int
	// KeyID is the signing key's id, 16 lower-case hex digits as made by
	// signing.KeyID: the caller looks the key up by it.
	KeyID string
	// Alg is the COSE algorithm of the signature, always AlgSM2SM3.
	Alg int

	sigStructure []byte // the COSE Sig_structure: the bytes that were signed
	signature    []byte // r‖s
}

// Signature returns the 64-byte SM2 signature r‖s of the compact form.
func (c *Compact) Signature() []byte { return bytes.Clone(c.signature) }

// coseSign1 is the COSE_Sign1 array (RFC 9052 §4.2) inside tag 18.
type coseSign1 struct {
	_           struct{} `cbor:",toarray"`
	Protected   []byte
	Unprotected cbor.RawMessage
	Payload     []byte
	Signature   []byte
}

// protectedHeader is the protected header map, as written.
type protectedHeader struct {
	Alg int64  `cbor:"1,keyasint"`
	Kid []byte `cbor:"4,keyasint"`
}

// protectedHeaderIn is the protected header map, as read: a nil Alg is
// absent.
type protectedHeaderIn struct {
	Alg *int64 `cbor:"1,keyasint"`
	Kid []byte `cbor:"4,keyasint"`
}

// cwtClaims is the CWT claims map (RFC 8392). Decoding into a struct rather
// than a map keeps ParseCompact cheap next to the SM2 verification. A nil
// pointer or an empty string is an absent claim.
type cwtClaims struct {
	Iss         string  `cbor:"1,keyasint"`
	Exp         *int64  `cbor:"4,keyasint,omitempty"`
	Iat         *int64  `cbor:"6,keyasint"`
	Identifier  string  `cbor:"-1,keyasint"`
	TypeCode    string  `cbor:"-2,keyasint"`
	TypeName    string  `cbor:"-3,keyasint"`
	Holder      string  `cbor:"-4,keyasint"`
	HolderCode  string  `cbor:"-5,keyasint"`
	StatusIndex *int64  `cbor:"-6,keyasint"`
	IssuerName  *string `cbor:"-7,keyasint,omitempty"`
	// StatusList is only written when it is not 0.
	StatusList *int64 `cbor:"-8,keyasint,omitempty"`
}

var (
	// encMode writes RFC 8949 §4.2.1 Core Deterministic Encoding.
	encMode = mustEncMode(cbor.CoreDetEncOptions())
	// decMode reads outside input: definite lengths, no tags (tag 18 is
	// checked by hand before decoding), no duplicate map keys, valid UTF-8,
	// and small limits on nesting and sizes, checked over the whole input
	// before anything is decoded.
	decMode = mustDecMode(cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   4,
		MaxArrayElements:  16,
		MaxMapPairs:       16,
		UTF8:              cbor.UTF8RejectInvalid,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
	})
)

func mustEncMode(o cbor.EncOptions) cbor.EncMode {
	m, err := o.EncMode()
	if err != nil {
		panic(err)
	}
	return m
}

func mustDecMode(o cbor.DecOptions) cbor.DecMode {
	m, err := o.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}

// MaskHolderCode hides all but the last 4 characters of a holder's code
// (citizen ID or USCC) behind '*': "430103198805061523" becomes
// "**************1523". A code of 4 characters or fewer is masked entirely.
func MaskHolderCode(code string) string {
	n := utf8.RuneCountInString(code)
	if n <= holderCodeVisible {
		return strings.Repeat("*", n)
	}
	i := 0
	for skip := n - holderCodeVisible; skip > 0; skip-- {
		_, size := utf8.DecodeRuneInString(code[i:])
		i += size
	}
	return strings.Repeat("*", n-holderCodeVisible) + code[i:]
}

// EncodeCompact returns the compact QR form of the signed credential c,
// signed with s, the key keyID names (16 lower-case hex digits, as made by
// signing.KeyID of the department certificate). The claims come from c:
// iss from issuer.id, the identifier, type code and name, holder and masked
// holder code from credentialSubject, the status indexes from the one
// revocation and one suspension entry of credentialStatus, exp from
// validUntil, and iat = issuedAt. The claims pass ParseCompact's checks
// before anything is signed, and the rest of what it checks (header,
// signature size, inflated and total size) is checked as it is written, so
// EncodeCompact never hands out a form a verifier rejects.
func EncodeCompact(c *Credential, s signing.Signer, keyID string, issuedAt time.Time) (string, error) {
	if c == nil {
		return "", errors.New("credential: encode compact: no credential")
	}
	if s == nil {
		return "", errors.New("credential: encode compact: no signer")
	}
	if c.Proof == nil || c.Proof.ProofValue == "" {
		return "", formatErr("proof", RuleRequired, "sign the credential before making its compact form")
	}
	kid, err := decodeKeyID(keyID)
	if err != nil {
		return "", err
	}
	if issuedAt.IsZero() {
		return "", formatErr("cwt.iat", RuleRequired, "")
	}
	iss, ok := strings.CutPrefix(c.Issuer.ID, IssuerPrefix)
	if !ok {
		return "", formatErr("issuer.id", RuleValue, "want "+IssuerPrefix+"<USCC>")
	}
	list, index, ferr := compactStatus(c.CredentialStatus)
	if ferr != nil {
		return "", ferr
	}
	subj := &c.CredentialSubject
	iat := issuedAt.Unix()
	claims := cwtClaims{
		Iss:         iss,
		Iat:         &iat,
		Identifier:  c.Identifier(),
		TypeCode:    subj.TypeCode,
		TypeName:    subj.Name,
		Holder:      subj.Holder,
		HolderCode:  MaskHolderCode(subj.HolderCode),
		StatusIndex: &index,
	}
	if c.Issuer.Name != "" {
		claims.IssuerName = &c.Issuer.Name
	}
	if list != 0 {
		claims.StatusList = &list
	}
	if c.ValidUntil != "" {
		until, err := time.Parse(timeLayout, c.ValidUntil)
		if err != nil {
			return "", &FormatError{Field: "validUntil", Rule: RuleDate, Err: err}
		}
		exp := until.Unix()
		claims.Exp = &exp
	}

	protected := appendProtected(make([]byte, 0, protectedLen), kid)
	payload, err := encMode.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("credential: encode compact: claims: %w", err)
	}
	if ferr := new(Compact).readClaims(payload); ferr != nil {
		return "", ferr
	}
	toSign := appendSigStructure(make([]byte, 0, 24+len(protected)+len(payload)), protected, payload)
	sig, err := s.Sign(toSign)
	if err != nil {
		return "", fmt.Errorf("credential: encode compact: sign: %w", err)
	}
	if len(sig) != signatureLen {
		return "", fmt.Errorf("credential: encode compact: signer returned %d bytes, want %d", len(sig), signatureLen)
	}
	msg := appendSign1(make([]byte, 0, 16+len(protected)+len(payload)+len(sig)), protected, payload, sig)
	// What ParseCompact checks of what was written: the claims (above,
	// before signing), the protected header and the signature (written
	// here from a checked kid and a 64-byte r‖s), and the sizes (below).
	if len(msg) > limits.CompactInflated {
		return "", formatErr("zlib", RuleSize, fmt.Sprintf("inflates to more than %d bytes", limits.CompactInflated))
	}
	z, err := deflate(msg)
	if err != nil {
		return "", fmt.Errorf("credential: encode compact: zlib: %w", err)
	}
	n := len(CompactPrefix) + base45EncodedLen(len(z))
	if n > MaxCompactLen {
		return "", formatErr("", RuleSize, fmt.Sprintf("%d characters, at most %d", n, MaxCompactLen))
	}
	out := make([]byte, 0, n)
	out = appendBase45(append(out, CompactPrefix...), z)
	return string(out), nil
}

// protectedLen is the length of the protected header appendProtected
// writes.
const protectedLen = 1 + 1 + 5 + 1 + 1 + keyIDSize

// appendProtected appends the protected header {1: AlgSM2SM3, 4: kid} in
// CBOR core deterministic encoding (RFC 8949 §4.2.1): a map of two pairs,
// keys in order, alg -65537 as a negative integer with a 4-byte argument
// (major type 1, 65536), kid an 8-byte byte string.
func appendProtected(dst, kid []byte) []byte {
	const (
		map2      = 0xa0 | 2
		negUint32 = 0x20 | 26 // major type 1 with a 4-byte argument
		alg       = -1 - AlgSM2SM3
	)
	dst = append(dst, map2, headerAlg, negUint32, byte(alg>>24&0xff), byte(alg>>16&0xff), byte(alg>>8&0xff), byte(alg&0xff))
	dst = append(appendBstrHead(append(dst, headerKid), len(kid)), kid...)
	return dst
}

// appendSign1 appends the tagged COSE_Sign1 (RFC 9052 §4.2)
// 18([protected, {}, payload, signature]) in CBOR.
func appendSign1(dst, protected, payload, sig []byte) []byte {
	const array4 = 0x80 | 4
	dst = append(dst, coseSign1Tag, array4)
	dst = append(appendBstrHead(dst, len(protected)), protected...)
	dst = append(dst, emptyMap)
	dst = append(appendBstrHead(dst, len(payload)), payload...)
	return append(appendBstrHead(dst, len(sig)), sig...)
}

// zlibWriters keeps compressors for reuse: a new one at the best level
// allocates some 800 KiB.
var zlibWriters sync.Pool

// smallDeflate is compressSmall; a test swaps it for a broken encoder.
var smallDeflate = compressSmall

// deflate compresses data into one zlib stream: compressSmall's, checked,
// or compress/zlib's at the best compression level.
func deflate(data []byte) ([]byte, error) {
	// compressSmall (deflate.go) takes every input of a real compact
	// form: smaller output, about 4 times faster. Larger ones come here.
	// Its output is inflated back (~2.5 µs) before it is used: a stream
	// that does not give the input back, which would be a bug of that
	// hand-written encoder, goes the slow way instead of into a QR code.
	if z := smallDeflate(data); z != nil {
		if back, ferr := inflate(z); ferr == nil && bytes.Equal(back, data) {
			return z, nil
		}
	}
	var buf bytes.Buffer
	zw, ok := zlibWriters.Get().(*zlib.Writer)
	if ok {
		zw.Reset(&buf)
	} else {
		var err error
		if zw, err = zlib.NewWriterLevel(&buf, zlib.BestCompression); err != nil {
			return nil, err
		}
	}
	defer zlibWriters.Put(zw)
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decodeKeyID decodes a key id made by signing.KeyID.
func decodeKeyID(keyID string) ([]byte, error) {
	if len(keyID) != 2*keyIDSize || strings.Trim(keyID, "0123456789abcdef") != "" {
		return nil, formatErr("cose.protected.kid", RuleValue, "key id must be 16 lower-case hex digits")
	}
	return hex.DecodeString(keyID)
}

// compactStatus returns the status list number and index of a credential:
// it must have exactly one status entry, as the registry gives every
// license.
func compactStatus(status []StatusListEntry) (list, index int64, ferr *FormatError) {
	if len(status) == 0 {
		return 0, 0, formatErr("credentialStatus", RuleRequired, "")
	}
	if len(status) != 1 {
		return 0, 0, formatErr("credentialStatus", RuleValue, fmt.Sprintf("%d entries: the compact form carries exactly one", len(status)))
	}
	e := status[0]
	if err := e.Validate(); err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			fe.Field = joinPath("credentialStatus[0]", fe.Field)
			return 0, 0, fe
		}
		return 0, 0, &FormatError{Field: "credentialStatus[0]", Rule: RuleValue, Err: err}
	}
	_, n, perr := parseListURL(e.StatusListCredential, "credentialStatus[0].statusListCredential")
	if perr != nil {
		return 0, 0, perr
	}
	i, _ := e.Index()
	return int64(n), int64(i), nil
}

// ParseCompact reads a compact QR form from outside input, strictly: the
// prefix, Base45 over its alphabet only, at most MaxCompactLen characters,
// a zlib stream that inflates to at most 64 KiB with nothing after it, and
// one well-formed CBOR item within small limits: tag 18 over a COSE_Sign1
// whose protected header is exactly {alg: AlgSM2SM3, kid: 8 bytes}, whose
// unprotected header is empty, whose payload is a CWT claims map with every
// required claim of the right type and no unknown ones, and whose signature
// is 64 bytes. It does not check the signature: see VerifySignature. Only
// the COSE content is signed: two texts may carry the same signed content
// (zlib streams differ), so never use the text as an identifier.
//
// Every error is a *FormatError wrapping ErrFormat whose Field names the part
// that is wrong: "prefix", "base45", "zlib", "cose", "cose.protected.alg",
// "cwt.holder" and so on.
func ParseCompact(s string) (*Compact, error) {
	if len(s) > MaxCompactLen {
		return nil, formatErr("", RuleSize, fmt.Sprintf("%d characters, at most %d", len(s), MaxCompactLen))
	}
	body, ok := strings.CutPrefix(s, CompactPrefix)
	if !ok {
		return nil, formatErr("prefix", RuleValue, "want "+CompactPrefix)
	}
	compressed, err := decodeBase45(body)
	if err != nil {
		return nil, &FormatError{Field: "base45", Rule: RuleEncoding, Err: err}
	}
	msg, ferr := inflate(compressed)
	if ferr != nil {
		return nil, ferr
	}
	if len(msg) == 0 || msg[0] != coseSign1Tag {
		return nil, formatErr("cose", RuleType, "want CBOR tag 18 (COSE_Sign1), first byte 0xd2")
	}
	var sign1 coseSign1
	if err := decMode.Unmarshal(msg[1:], &sign1); err != nil {
		return nil, cborErr("cose", err)
	}
	c := &Compact{}
	if ferr := c.readProtected(sign1.Protected); ferr != nil {
		return nil, ferr
	}
	if !bytes.Equal(sign1.Unprotected, []byte{emptyMap}) {
		return nil, formatErr("cose.unprotected", RuleValue, "want an empty map")
	}
	if ferr := c.readClaims(sign1.Payload); ferr != nil {
		return nil, ferr
	}
	if len(sign1.Signature) != signatureLen {
		return nil, formatErr("cose.signature", RuleValue, fmt.Sprintf("%d bytes, want %d (r‖s)", len(sign1.Signature), signatureLen))
	}
	c.signature = sign1.Signature
	c.sigStructure = appendSigStructure(make([]byte, 0, 24+len(sign1.Protected)+len(sign1.Payload)), sign1.Protected, sign1.Payload)
	return c, nil
}

// zlibReaders keeps inflaters for reuse: a new one allocates its window and
// tables, which costs more than the rest of ParseCompact.
var zlibReaders sync.Pool

// inflate decompresses one zlib stream of at most limits.CompactInflated bytes,
// reading no more than that however large the stream claims to be, and
// rejects bytes after the stream.
func inflate(data []byte) ([]byte, *FormatError) {
	br := bytes.NewReader(data) // an io.ByteReader: flate reads no further than the stream
	var zr io.ReadCloser
	var err error
	if r, ok := zlibReaders.Get().(io.ReadCloser); ok {
		zr = r
		err = r.(zlib.Resetter).Reset(br, nil)
	} else {
		zr, err = zlib.NewReader(br)
	}
	if err != nil {
		if zr != nil {
			zlibReaders.Put(zr)
		}
		return nil, &FormatError{Field: "zlib", Rule: RuleEncoding, Err: err}
	}
	defer zlibReaders.Put(zr)
	out := make([]byte, 0, 4*len(data))
	out, err = readAll(io.LimitReader(zr, limits.CompactInflated+1), out)
	switch {
	case err != nil:
		return nil, &FormatError{Field: "zlib", Rule: RuleEncoding, Err: err}
	case len(out) > limits.CompactInflated:
		return nil, formatErr("zlib", RuleSize, fmt.Sprintf("inflates to more than %d bytes", limits.CompactInflated))
	case br.Len() != 0:
		return nil, formatErr("zlib", RuleTrailing, fmt.Sprintf("%d bytes after the zlib stream", br.Len()))
	}
	return out, nil
}

// readAll is io.ReadAll into a buffer the caller sized.
func readAll(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// readProtected checks the protected header: exactly alg AlgSM2SM3 and an
// 8-byte kid.
func (c *Compact) readProtected(protected []byte) *FormatError {
	const field = "cose.protected"
	if len(protected) == 0 {
		return formatErr(field, RuleRequired, "empty; want {1: alg, 4: kid}")
	}
	var h protectedHeaderIn
	if err := decMode.Unmarshal(protected, &h); err != nil {
		var typ *cbor.UnmarshalTypeError
		if errors.As(err, &typ) && strings.HasSuffix(typ.StructFieldName, ".1") {
			return &FormatError{Field: field + ".alg", Rule: RuleValue, Detail: fmt.Sprintf("want %d (SM2-SM3)", AlgSM2SM3), Err: err}
		}
		if errors.As(err, &typ) && strings.HasSuffix(typ.StructFieldName, ".4") {
			return &FormatError{Field: field + ".kid", Rule: RuleType, Detail: "want a byte string", Err: err}
		}
		var unknown *cbor.UnknownFieldError
		if errors.As(err, &unknown) {
			return &FormatError{Field: field, Rule: RuleValue, Detail: "header parameters other than alg and kid", Err: err}
		}
		return cborErr(field, err)
	}
	switch {
	case h.Alg == nil:
		return formatErr(field+".alg", RuleRequired, "")
	case *h.Alg != AlgSM2SM3:
		return formatErr(field+".alg", RuleValue, fmt.Sprintf("want %d (SM2-SM3)", AlgSM2SM3))
	case h.Kid == nil:
		return formatErr(field+".kid", RuleRequired, "")
	case len(h.Kid) != keyIDSize:
		return formatErr(field+".kid", RuleValue, fmt.Sprintf("%d bytes, want %d", len(h.Kid), keyIDSize))
	}
	c.Alg = AlgSM2SM3
	c.KeyID = hex.EncodeToString(h.Kid)
	return nil
}

// readClaims checks the CWT claims and fills c.
func (c *Compact) readClaims(payload []byte) *FormatError {
	var m cwtClaims
	if err := decMode.Unmarshal(payload, &m); err != nil {
		var typ *cbor.UnmarshalTypeError
		if errors.As(err, &typ) {
			// The library names the field by its key: "credential.cwtClaims.-4".
			name := typ.StructFieldName[strings.LastIndexByte(typ.StructFieldName, '.')+1:]
			if key, err2 := strconv.ParseInt(name, 10, 64); err2 == nil && claimNames[key] != "" {
				return &FormatError{Field: claimNames[key], Rule: RuleType, Err: err}
			}
		}
		var unknown *cbor.UnknownFieldError
		if errors.As(err, &unknown) {
			return &FormatError{Field: "cose.payload", Rule: RuleValue, Detail: "unknown claim key", Err: err}
		}
		return cborErr("cose.payload", err)
	}
	text := []textClaim{
		{claimIss, m.Iss, 18},
		{claimIdentifier, m.Identifier, 256},
		{claimTypeCode, m.TypeCode, 21},
		{claimTypeName, m.TypeName, maxCompactName},
		{claimHolder, m.Holder, maxCompactName},
		{claimHolderCode, m.HolderCode, maxCompactCode},
	}
	if m.IssuerName != nil {
		text = append(text, textClaim{claimIssuerName, *m.IssuerName, maxCompactName})
	}
	for _, tc := range text {
		switch {
		case tc.value == "":
			return formatErr(claimNames[tc.key], RuleRequired, "")
		case len(tc.value) > tc.maxChars && utf8.RuneCountInString(tc.value) > tc.maxChars:
			return formatErr(claimNames[tc.key], RuleSize, fmt.Sprintf("more than %d characters", tc.maxChars))
		}
	}
	c.Issuer, c.Identifier, c.TypeCode, c.TypeName = m.Iss, m.Identifier, m.TypeCode, m.TypeName
	c.Holder, c.HolderCodeMasked = m.Holder, m.HolderCode
	if m.IssuerName != nil {
		c.IssuerName = *m.IssuerName
	}

	if err := license.ValidateUSCC(c.Issuer); err != nil {
		return &FormatError{Field: claimNames[claimIss], Rule: RuleValue, Err: err}
	}
	id, err := license.ParseIdentifier(c.Identifier)
	if err != nil {
		return &FormatError{Field: claimNames[claimIdentifier], Rule: RuleValue, Err: err}
	}
	if id.IssuerUSCC != c.Issuer {
		return formatErr(claimNames[claimIdentifier], RuleValue, "names another issuer than iss")
	}
	if id.TypeCode != c.TypeCode {
		return formatErr(claimNames[claimTypeCode], RuleValue, "differs from the type code in the identifier")
	}
	// Only the last 4 characters may show; the rest are '*'.
	if utf8.RuneCountInString(strings.TrimLeft(c.HolderCodeMasked, "*")) > holderCodeVisible {
		return formatErr(claimNames[claimHolderCode], RuleValue, "more than the last 4 characters unmasked")
	}

	if m.Iat == nil {
		return formatErr(claimNames[claimIat], RuleRequired, "")
	}
	if ferr := checkRange(claimIat, *m.Iat, maxNumericDate); ferr != nil {
		return ferr
	}
	c.IssuedAt = time.Unix(*m.Iat, 0).UTC()
	if m.Exp != nil {
		if ferr := checkRange(claimExp, *m.Exp, maxNumericDate); ferr != nil {
			return ferr
		}
		t := time.Unix(*m.Exp, 0).UTC()
		c.Expires = &t
	}
	if m.StatusIndex == nil {
		return formatErr(claimNames[claimStatusIndex], RuleRequired, "")
	}
	if ferr := checkRange(claimStatusIndex, *m.StatusIndex, maxStatusIndex); ferr != nil {
		return ferr
	}
	if *m.StatusIndex >= ListSize {
		return formatErr(claimNames[claimStatusIndex], RuleValue, fmt.Sprintf("more than %d", ListSize-1))
	}
	c.StatusIndex = int(*m.StatusIndex)
	if m.StatusList != nil {
		if ferr := checkRange(claimStatusList, *m.StatusList, maxListNumber); ferr != nil {
			return ferr
		}
		if *m.StatusList == 0 {
			return formatErr(claimNames[claimStatusList], RuleValue, "list 0 is written by leaving the claim out")
		}
		c.StatusList = int(*m.StatusList)
	}
	return nil
}

// textClaim is a text claim to check: present, and at most maxChars
// characters long.
type textClaim struct {
	key      int64
	value    string
	maxChars int
}

// checkRange checks that an integer claim is in [0, maxValue].
func checkRange(key, n, maxValue int64) *FormatError {
	switch {
	case n < 0:
		return formatErr(claimNames[key], RuleValue, "negative")
	case n > maxValue:
		return formatErr(claimNames[key], RuleValue, fmt.Sprintf("more than %d", maxValue))
	}
	return nil
}

// appendSigStructure appends the COSE Sig_structure (RFC 9052 §4.4) of a
// COSE_Sign1 with empty external_aad:
// ["Signature1", protected, h”, payload], in CBOR.
func appendSigStructure(dst, protected, payload []byte) []byte {
	dst = append(dst, sigStructureHead, textHead10)
	dst = append(dst, sigContext...)
	dst = append(appendBstrHead(dst, len(protected)), protected...)
	dst = append(dst, emptyBstr)
	return append(appendBstrHead(dst, len(payload)), payload...)
}

// appendBstrHead appends the head of a CBOR byte string of n bytes in its
// shortest form.
func appendBstrHead(dst []byte, n int) []byte {
	switch {
	case n < 24:
		return append(dst, bstrMajor|byte(n))
	case n <= 0xff:
		return append(dst, bstrMajor|24, byte(n))
	case n <= 0xffff:
		return append(dst, bstrMajor|25, byte(n>>8), byte(n))
	default:
		return append(dst, bstrMajor|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// cborErr turns a CBOR decoding error into a FormatError with the closest
// rule.
func cborErr(field string, err error) *FormatError {
	var (
		dup      *cbor.DupMapKeyError
		extra    *cbor.ExtraneousDataError
		depth    *cbor.MaxNestedLevelError
		arrays   *cbor.MaxArrayElementsError
		pairs    *cbor.MaxMapPairsError
		typ      *cbor.UnmarshalTypeError
		semantic *cbor.SemanticError
	)
	rule := RuleSyntax
	switch {
	case errors.As(err, &dup):
		rule = RuleDuplicate
	case errors.As(err, &extra):
		rule = RuleTrailing
	case errors.As(err, &depth):
		rule = RuleDepth
	case errors.As(err, &arrays), errors.As(err, &pairs):
		rule = RuleSize
	case errors.As(err, &typ):
		rule = RuleType
	case errors.As(err, &semantic):
		rule = RuleEncoding
	}
	return &FormatError{Field: field, Rule: rule, Err: err}
}

// VerifySignature checks the COSE signature: an SM2 signature over SM3 with
// the default user ID (AlgSM2SM3) of the Sig_structure, under pub. The
// caller chooses pub: the certified key of the department Issuer names whose
// id is KeyID, from a trust bundle. Every failure is a *ProofError wrapping
// ErrProof; a bad signature also wraps signing.ErrBadSignature.
func (c *Compact) VerifySignature(pub *ecdsa.PublicKey) error {
	if c == nil || len(c.signature) != signatureLen || len(c.sigStructure) == 0 {
		return proofErr(ReasonMissing, "not a parsed compact form")
	}
	if err := signing.Verify(pub, c.sigStructure, c.signature); err != nil {
		return &ProofError{Reason: ReasonSignature, Err: err}
	}
	return nil
}
