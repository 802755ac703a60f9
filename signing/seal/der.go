package seal

import (
	"encoding/asn1"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// This file holds the strict DER readers and writers shared by the seal and
// signature codecs. cryptobyte rejects indefinite and non-minimal lengths and
// non-minimal integers; the helpers below add the string alphabets, size
// limits and time forms the standards ask for, and name the field on error.

// OIDs used in seals and signatures (GB/T 33560).
var (
	// OIDSM2WithSM3 is the signature algorithm of every seal and signature
	// made here: SM2 signature with SM3, 1.2.156.10197.1.501.
	OIDSM2WithSM3 = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 501}
	// OIDSM3 is the SM3 hash algorithm, 1.2.156.10197.1.401. A certDigestList
	// entry whose type is "sm3" or this OID in dotted form is an SM3 digest.
	OIDSM3 = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401}
)

const (
	tagGeneralizedTime = casn1.GeneralizedTime
	tagUTCTime         = casn1.UTCTime
)

var (
	tagContext0     = casn1.Tag(0).ContextSpecific().Constructed() // [0] EXPLICIT
	tagContext0Prim = casn1.Tag(0).ContextSpecific()               // [0] IMPLICIT primitive
)

func readSequence(in *cryptobyte.String, where string) (cryptobyte.String, error) {
	var out cryptobyte.String
	if !in.ReadASN1(&out, casn1.SEQUENCE) {
		return nil, malformed(where, "want a SEQUENCE")
	}
	return out, nil
}

// readSequenceElement reads a SEQUENCE and returns both its full DER (for
// signatures) and its contents.
func readSequenceElement(in *cryptobyte.String, where string) (full []byte, body cryptobyte.String, err error) {
	var elem cryptobyte.String
	if !in.ReadASN1Element(&elem, casn1.SEQUENCE) {
		return nil, nil, malformed(where, "want a SEQUENCE")
	}
	full = elem
	if !elem.ReadASN1(&body, casn1.SEQUENCE) {
		return nil, nil, malformed(where, "want a SEQUENCE")
	}
	return full, body, nil
}

func readInt(in *cryptobyte.String, where string, lo, hi int64) (int64, error) {
	var v int64
	if !in.ReadASN1Integer(&v) {
		return 0, malformed(where, "want an INTEGER")
	}
	if v < lo || v > hi {
		return 0, malformed(where, "value %d outside %d..%d", v, lo, hi)
	}
	return v, nil
}

func readIA5(in *cryptobyte.String, where string, max int) (string, error) {
	var b []byte
	if !in.ReadASN1Bytes(&b, casn1.IA5String) {
		return "", malformed(where, "want an IA5String")
	}
	if len(b) > max {
		return "", malformed(where, "%d bytes exceeds the %d-byte limit", len(b), max)
	}
	if !isIA5(string(b)) {
		return "", malformed(where, "IA5String holds a non-ASCII byte")
	}
	return string(b), nil
}

func readUTF8(in *cryptobyte.String, where string, max int) (string, error) {
	var b []byte
	if !in.ReadASN1Bytes(&b, casn1.UTF8String) {
		return "", malformed(where, "want a UTF8String")
	}
	if len(b) > max {
		return "", malformed(where, "%d bytes exceeds the %d-byte limit", len(b), max)
	}
	if !utf8.Valid(b) {
		return "", malformed(where, "UTF8String is not valid UTF-8")
	}
	return string(b), nil
}

func readPrintable(in *cryptobyte.String, where string, max int) (string, error) {
	var b []byte
	if !in.ReadASN1Bytes(&b, casn1.PrintableString) {
		return "", malformed(where, "want a PrintableString")
	}
	if len(b) > max {
		return "", malformed(where, "%d bytes exceeds the %d-byte limit", len(b), max)
	}
	if !isPrintable(string(b)) {
		return "", malformed(where, "PrintableString holds a character outside its alphabet")
	}
	return string(b), nil
}

func readOctets(in *cryptobyte.String, where string, max int) ([]byte, error) {
	var b []byte
	if !in.ReadASN1Bytes(&b, casn1.OCTET_STRING) {
		return nil, malformed(where, "want an OCTET STRING")
	}
	if len(b) > max {
		return nil, malformed(where, "%d bytes exceeds the %d-byte limit", len(b), max)
	}
	return clone(b), nil
}

func readBits(in *cryptobyte.String, where string, max int) ([]byte, error) {
	var bs asn1.BitString
	if !in.ReadASN1BitString(&bs) {
		return nil, malformed(where, "want a BIT STRING")
	}
	if bs.BitLength%8 != 0 {
		return nil, malformed(where, "BIT STRING is not a whole number of bytes")
	}
	if len(bs.Bytes) > max {
		return nil, malformed(where, "%d bytes exceeds the %d-byte limit", len(bs.Bytes), max)
	}
	return clone(bs.Bytes), nil
}

func readOID(in *cryptobyte.String, where string) (asn1.ObjectIdentifier, error) {
	var oid asn1.ObjectIdentifier
	if !in.ReadASN1ObjectIdentifier(&oid) {
		return nil, malformed(where, "want an OBJECT IDENTIFIER")
	}
	return oid, nil
}

// readGeneralizedTime reads a GeneralizedTime in UTC ("YYYYMMDDHHMMSSZ"),
// also accepting fractional seconds, which some producers write.
func readGeneralizedTime(in *cryptobyte.String, where string) (time.Time, error) {
	var b []byte
	if !in.ReadASN1Bytes(&b, tagGeneralizedTime) {
		return time.Time{}, malformed(where, "want a GeneralizedTime")
	}
	t, ok := parseGeneralizedTime(string(b))
	if !ok {
		return time.Time{}, malformed(where, "GeneralizedTime %q is not YYYYMMDDHHMMSS[.fff]Z", truncate(string(b)))
	}
	return t, nil
}

// readAnyTime reads a UTCTime or a GeneralizedTime (GM/T 0031 seals use
// UTCTime; some producers wrote GeneralizedTime there).
func readAnyTime(in *cryptobyte.String, where string) (time.Time, error) {
	if in.PeekASN1Tag(tagGeneralizedTime) {
		return readGeneralizedTime(in, where)
	}
	var b []byte
	if !in.ReadASN1Bytes(&b, tagUTCTime) {
		return time.Time{}, malformed(where, "want a UTCTime")
	}
	t, ok := parseUTCTime(string(b))
	if !ok {
		return time.Time{}, malformed(where, "UTCTime %q is not YYMMDDHHMMSSZ", truncate(string(b)))
	}
	return t, nil
}

func parseGeneralizedTime(s string) (time.Time, bool) {
	if len(s) < 15 || len(s) > 32 || s[len(s)-1] != 'Z' {
		return time.Time{}, false
	}
	layout := "20060102150405Z"
	if len(s) > 15 {
		if s[14] != '.' || len(s) == 16 {
			return time.Time{}, false
		}
		layout = "20060102150405." + strings.Repeat("9", len(s)-16) + "Z"
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

func parseUTCTime(s string) (time.Time, bool) {
	if len(s) != 13 || s[12] != 'Z' {
		return time.Time{}, false
	}
	t, err := time.Parse("060102150405Z", s)
	if err != nil {
		return time.Time{}, false
	}
	// RFC 5280 4.1.2.5.1: YY >= 50 is 19YY, YY < 50 is 20YY.
	if y := t.Year(); y >= 2050 {
		t = t.AddDate(-100, 0, 0)
	} else if y < 1950 {
		t = t.AddDate(100, 0, 0)
	}
	return t.UTC(), true
}

// readExtensions reads ExtensionDatas ::= SEQUENCE OF ExtData, where
// ExtData ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE,
// extnValue OCTET STRING }. No extension is understood here, so a critical
// one is refused.
func readExtensions(body cryptobyte.String, where string) (int, error) {
	n := 0
	for !body.Empty() {
		n++
		if n > maxExtensions {
			return 0, malformed(where, "more than %d extensions", maxExtensions)
		}
		w := where + ".ExtData"
		ext, err := readSequence(&body, w)
		if err != nil {
			return 0, err
		}
		oid, err := readOID(&ext, w+".extnID")
		if err != nil {
			return 0, err
		}
		// critical BOOLEAN DEFAULT FALSE: DER omits FALSE, but some
		// producers write it.
		var critical bool
		if ext.PeekASN1Tag(casn1.BOOLEAN) && !ext.ReadASN1Boolean(&critical) {
			return 0, malformed(w+".critical", "want a BOOLEAN")
		}
		if _, err := readOctets(&ext, w+".extnValue", maxExtensionSize); err != nil {
			return 0, err
		}
		if !ext.Empty() {
			return 0, malformed(w, "trailing data")
		}
		if critical {
			return 0, fmt.Errorf("%w: %s: critical extension %s", ErrUnsupported, w, oid)
		}
	}
	return n, nil
}

func addIA5(b *cryptobyte.Builder, s string) {
	b.AddASN1(casn1.IA5String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
}

func addUTF8(b *cryptobyte.Builder, s string) {
	b.AddASN1(casn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
}

func addPrintable(b *cryptobyte.Builder, s string) {
	b.AddASN1(casn1.PrintableString, func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
}

// addGeneralizedTime writes t in UTC to whole seconds, as DER requires.
func addGeneralizedTime(b *cryptobyte.Builder, t time.Time) {
	s := t.UTC().Format("20060102150405") + "Z"
	b.AddASN1(tagGeneralizedTime, func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
}

func isIA5(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte(" '()+,-./:=?", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
