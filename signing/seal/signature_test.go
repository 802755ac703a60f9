package seal

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"

	"zhengzhao/signing"
)

var document = []byte("%PDF-1.7 营业执照 91310000000000000X")

func docHash() []byte {
	h := sm3.Sum(document)
	return h[:]
}

const testPropertyInfo = "license.pdf; bytes=0-end"

func (w *world) signature(t testing.TB, s *Seal) []byte {
	t.Helper()
	der, err := Sign(w.deptKey, w.dept, s, docHash(), signedAt, testPropertyInfo)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// v2Signature is a GM/T 0031-2014 SES_Signature built with encoding/asn1,
// its timeInfo the UTCTime text in a BIT STRING.
func (w *world) v2Signature(t testing.TB, at time.Time) []byte {
	t.Helper()
	tbs := mustMarshal(t, asnTBSV2{
		Version:      2,
		Seal:         asn1.RawValue{FullBytes: w.v2Seal(t)},
		TimeInfo:     bits([]byte(at.UTC().Format("060102150405Z"))),
		DataHash:     bits(docHash()),
		PropertyInfo: testPropertyInfo,
		Cert:         w.dept.Raw,
		Alg:          asn1.ObjectIdentifier(OIDSM2WithSM3),
	})
	return mustMarshal(t, asnSignatureV2{TBS: asn1.RawValue{FullBytes: tbs}, Sig: bits(signDER(t, w.deptKey, tbs))})
}

func parseSig(t testing.TB, der []byte) *Signature {
	t.Helper()
	sig, err := ParseSignature(der)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func TestSignRoundTrip(t *testing.T) {
	w := newWorld(t)
	s := w.seal(t)
	der := w.signature(t, s)
	sig := parseSig(t, der)
	if sig.Version != Version4 || !sig.Time.Equal(signedAt) || !bytes.Equal(sig.DataHash, docHash()) ||
		sig.PropertyInfo != testPropertyInfo || !bytes.Equal(sig.SignerCert, w.dept.Raw) ||
		!sig.SignatureAlgorithm.Equal(OIDSM2WithSM3) || sig.TimeStamp != nil || !bytes.Equal(sig.Raw, der) {
		t.Errorf("parsed signature: %+v", sig)
	}
	if !reflect.DeepEqual(sig.Seal, s) {
		t.Error("embedded seal differs from the seal signed with")
	}
	if _, err := signing.ASN1ToRaw(sig.Value); err != nil {
		t.Errorf("signature is not DER SEQUENCE{r, s}: %v", err)
	}
	// The layout, read independently with encoding/asn1.
	var outer struct {
		TBS struct {
			Version      int
			Seal         asn1.RawValue
			TimeInfo     time.Time `asn1:"generalized"`
			DataHash     asn1.BitString
			PropertyInfo string `asn1:"ia5"`
		}
		Cert []byte
		Alg  asn1.ObjectIdentifier
		Sig  asn1.BitString
	}
	if rest, err := asn1.Unmarshal(der, &outer); err != nil || len(rest) != 0 {
		t.Fatalf("encoding/asn1 cannot read SES_Signature: %v", err)
	}
	if outer.TBS.Version != 4 || !bytes.Equal(outer.TBS.Seal.FullBytes, s.Raw) || !outer.TBS.TimeInfo.Equal(signedAt) ||
		!bytes.Equal(outer.TBS.DataHash.Bytes, docHash()) || outer.TBS.PropertyInfo != testPropertyInfo {
		t.Errorf("encoding/asn1 reads %+v", outer.TBS)
	}
	if err := VerifySignature(sig, document, w.roots()); err != nil {
		t.Fatalf("VerifySignature: %v", err)
	}
}

func TestParseSignatureV2(t *testing.T) {
	w := newWorld(t)
	der := w.v2Signature(t, signedAt)
	sig := parseSig(t, der)
	if sig.Version != 2 || sig.Seal.Version != 2 || !sig.Time.Equal(signedAt) || string(sig.TimeInfo) != "270101000000Z" ||
		!bytes.Equal(sig.DataHash, docHash()) || sig.PropertyInfo != testPropertyInfo || !bytes.Equal(sig.SignerCert, w.dept.Raw) {
		t.Errorf("parsed v2 signature: %+v", sig)
	}
	if err := VerifySignature(sig, document, w.roots()); err != nil {
		t.Fatalf("VerifySignature v2: %v", err)
	}
	err := VerifySignature(sig, []byte("other"), w.roots())
	var ce *CheckError
	if !errors.As(err, &ce) || ce.Check != CheckDataHash {
		t.Errorf("v2 with other data: %v", err)
	}
	if _, err := Sign(w.deptKey, w.dept, sig.Seal, docHash(), signedAt, ""); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Sign with a v2 seal: %v, want ErrUnsupported", err)
	}
}

func TestParseTimeInfoV2(t *testing.T) {
	want := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	utc := mustMarshal(t, want)
	gen := mustMarshal(t, struct {
		T time.Time `asn1:"generalized"`
	}{want})[2:]
	tests := []struct {
		name string
		in   []byte
		want time.Time
	}{
		{"UTCTime text", []byte("270102030405Z"), want},
		{"GeneralizedTime text", []byte("20270102030405Z"), want},
		{"fractional", []byte("20270102030405.5Z"), want.Add(500 * time.Millisecond)},
		{"DER UTCTime", utc, want},
		{"DER GeneralizedTime", gen, want},
		{"1999", []byte("990102030405Z"), time.Date(1999, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"garbage", []byte{0x30, 0x03, 0x02, 0x01, 0x01}, time.Time{}},
		{"no zone", []byte("270102030405"), time.Time{}},
	}
	for _, tc := range tests {
		if got := parseTimeInfoV2(tc.in); !got.Equal(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestVerifySignatureChecks runs every check's failure, each expected to
// stop at its own check.
func TestVerifySignatureChecks(t *testing.T) {
	w := newWorld(t)
	good := w.seal(t)
	rogue, err := Make(w.rogueKey, w.rogueRoot, w.props())
	if err != nil {
		t.Fatal(err)
	}
	dp := w.props()
	dp.ListDigests = true
	digestSeal, err := Make(w.rootKey, w.root, dp)
	if err != nil {
		t.Fatal(err)
	}
	mustSign := func(signer signing.Signer, cert *smx509.Certificate, s *Seal, at time.Time) []byte {
		der, err := sign(signer, cert, s, docHash(), at, testPropertyInfo)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	// Re-sign: keep TBS_Sign, replace the signature value or the certificate.
	resign := func(der []byte, cert *smx509.Certificate, value []byte) []byte {
		sig := parseSig(t, der)
		out, err := marshalSignature(sig.tbs, cert.Raw, value)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	goodDER := w.signature(t, good)
	goodSig := parseSig(t, goodDER)
	flipped := bytes.Clone(goodSig.Value)
	flipped[len(flipped)-1] ^= 0x01 // last byte of s: still DER, wrong value

	tests := []struct {
		name  string
		der   []byte
		data  []byte
		roots []*smx509.Certificate
		check string // "" when it verifies
		want  error
	}{
		{"good", goodDER, document, w.roots(), "", nil},
		{"digest-listed signer", w.signature(t, digestSeal), document, w.roots(), "", nil},
		{"at validEnd", mustSign(w.deptKey, w.dept, good, sealEnd), document, w.roots(), "", nil},
		{"changed data", goodDER, append(bytes.Clone(document), ' '), w.roots(), CheckDataHash, ErrDataHash},
		{"no data", goodDER, nil, w.roots(), CheckDataHash, ErrDataHash},
		{"seal by rogue maker", mustSign(w.deptKey, w.dept, rogue, signedAt), document, w.roots(), CheckSealMaker, ErrSealMaker},
		{"untrusting verifier", goodDER, document, []*smx509.Certificate{w.rogueRoot}, CheckSealMaker, ErrSealMaker},
		{"expired seal", mustSign(w.deptKey, w.dept, good, sealEnd.Add(time.Second)), document, w.roots(), CheckSealValidity, ErrSealValidity},
		{"seal not yet valid", mustSign(w.deptKey, w.dept, good, sealStart.Add(-time.Hour)), document, w.roots(), CheckSealValidity, ErrSealValidity},
		{"signer not listed", mustSign(w.otherKey, w.other, good, signedAt), document, w.roots(), CheckSignerListed, ErrSignerNotListed},
		{"signer not in digest list", mustSign(w.otherKey, w.other, digestSeal, signedAt), document, w.roots(), CheckSignerListed, ErrSignerNotListed},
		{"changed signature", resign(goodDER, w.dept, flipped), document, w.roots(), CheckSignature, ErrBadSignature},
		{"signature over other bytes", resign(goodDER, w.dept, signDER(t, w.deptKey, []byte("other"))), document, w.roots(), CheckSignature, ErrBadSignature},
		{"signed by another key", resign(goodDER, w.dept, signDER(t, w.otherKey, goodSig.tbs)), document, w.roots(), CheckSignature, ErrBadSignature},
		{"signed after seal and certificate expired", mustSign(w.deptKey, w.dept, good, w.dept.NotAfter.Add(time.Hour)), document, w.roots(), CheckSealValidity, ErrSealValidity},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifySignature(parseSig(t, tc.der), tc.data, tc.roots)
			if tc.check == "" {
				if err != nil {
					t.Fatalf("VerifySignature: %v", err)
				}
				return
			}
			var ce *CheckError
			if !errors.As(err, &ce) {
				t.Fatalf("VerifySignature: %v, want a *CheckError", err)
			}
			if ce.Check != tc.check {
				t.Errorf("failed check %q (%v), want %q", ce.Check, err, tc.check)
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("error %v does not wrap %v", err, tc.want)
			}
		})
	}

	// The signer certificate must be valid at the signing time: a seal valid
	// longer than the certificate does not save it.
	long := w.props()
	long.ValidEnd = w.dept.NotAfter.AddDate(1, 0, 0)
	longSeal, err := Make(w.rootKey, w.root, long)
	if err != nil {
		t.Fatal(err)
	}
	err = VerifySignature(parseSig(t, mustSign(w.deptKey, w.dept, longSeal, w.dept.NotAfter.Add(time.Hour))), document, w.roots())
	var ce *CheckError
	if !errors.As(err, &ce) || ce.Check != CheckSignature {
		t.Errorf("signer certificate expired at signing: %v, want check %q", err, CheckSignature)
	}
	if err := VerifySignature(nil, document, w.roots()); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("VerifySignature(nil): %v", err)
	}
}

func TestSignRefuses(t *testing.T) {
	w := newWorld(t)
	s := w.seal(t)
	tests := []struct {
		name string
		sign func() error
		want []error
	}{
		{"signer not listed", func() error {
			_, err := Sign(w.otherKey, w.other, s, docHash(), signedAt, "")
			return err
		}, []error{ErrInvalidInput, ErrSignerNotListed}},
		{"after validEnd", func() error {
			_, err := Sign(w.deptKey, w.dept, s, docHash(), sealEnd.Add(time.Second), "")
			return err
		}, []error{ErrInvalidInput, ErrSealValidity}},
		{"key not the certificate's", func() error {
			_, err := Sign(w.otherKey, w.dept, s, docHash(), signedAt, "")
			return err
		}, []error{ErrInvalidInput}},
		{"short hash", func() error {
			_, err := Sign(w.deptKey, w.dept, s, docHash()[:20], signedAt, "")
			return err
		}, []error{ErrInvalidInput}},
		{"non-ASCII propertyInfo", func() error {
			_, err := Sign(w.deptKey, w.dept, s, docHash(), signedAt, "第1页")
			return err
		}, []error{ErrInvalidInput}},
		{"nil seal", func() error {
			_, err := Sign(w.deptKey, w.dept, nil, docHash(), signedAt, "")
			return err
		}, []error{ErrInvalidInput}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.sign()
			for _, want := range tc.want {
				if !errors.Is(err, want) {
					t.Errorf("Sign: %v, want %v", err, want)
				}
			}
		})
	}
}

// appendToSignature adds raw elements to the end of SES_Signature or of its
// TBS_Sign, re-signing TBS_Sign when it changes.
func (w *world) appendToSignature(t testing.TB, der, toTBS, toOuter []byte) []byte {
	t.Helper()
	sig := parseSig(t, der)
	tbs := sig.tbs
	if toTBS != nil {
		var body cryptobyte.String
		in := cryptobyte.String(sig.tbs)
		in.ReadASN1(&body, casn1.SEQUENCE)
		var b cryptobyte.Builder
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddBytes(body); b.AddBytes(toTBS) })
		tbs = b.BytesOrPanic()
	}
	out, err := marshalSignature(tbs, w.dept.Raw, signDER(t, w.deptKey, tbs))
	if err != nil {
		t.Fatal(err)
	}
	var body cryptobyte.String
	in := cryptobyte.String(out)
	in.ReadASN1(&body, casn1.SEQUENCE)
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddBytes(body); b.AddBytes(toOuter) })
	return b.BytesOrPanic()
}

func TestParseSignatureOptionalFields(t *testing.T) {
	w := newWorld(t)
	der := w.signature(t, w.seal(t))
	ts := []byte("a time-stamp token")
	bitTS := mustMarshal(t, bits(ts))
	explicitTS := append([]byte{0xA0, byte(len(bitTS))}, bitTS...)
	implicitTS := append([]byte{0x80, byte(len(ts) + 1), 0}, ts...)
	ext := mustMarshal(t, []asnExtData{{ID: asn1.ObjectIdentifier{1, 2, 3}, Value: []byte{1}}})
	critical := mustMarshal(t, []asnExtData{{ID: asn1.ObjectIdentifier{1, 2, 3}, Critical: true, Value: []byte{1}}})
	explicitExt := append([]byte{0xA0, byte(len(ext))}, ext...)
	explicitCritical := append([]byte{0xA0, byte(len(critical))}, critical...)

	tests := []struct {
		name      string
		der       []byte
		want      error
		timeStamp []byte
		ext       int
	}{
		{"timeStamp [0] EXPLICIT", w.appendToSignature(t, der, nil, explicitTS), nil, ts, 0},
		{"timeStamp [0] IMPLICIT", w.appendToSignature(t, der, nil, implicitTS), nil, ts, 0},
		{"timeStamp untagged", w.appendToSignature(t, der, nil, bitTS), nil, ts, 0},
		{"extDatas [0]", w.appendToSignature(t, der, explicitExt, nil), nil, nil, 1},
		{"extDatas untagged", w.appendToSignature(t, der, ext, nil), nil, nil, 1},
		{"critical extDatas", w.appendToSignature(t, der, explicitCritical, nil), ErrUnsupported, nil, 0},
		{"junk after timeStamp", w.appendToSignature(t, der, nil, append(bytes.Clone(explicitTS), 0x05, 0x00)), ErrMalformed, nil, 0},
		{"junk in TBS_Sign", w.appendToSignature(t, der, []byte{0x05, 0x00}, nil), ErrMalformed, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sig, err := ParseSignature(tc.der)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("ParseSignature: %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(sig.TimeStamp, tc.timeStamp) || sig.Extensions != tc.ext {
				t.Errorf("timeStamp %q, %d extensions", sig.TimeStamp, sig.Extensions)
			}
			if err := VerifySignature(sig, document, w.roots()); err != nil {
				t.Errorf("VerifySignature: %v", err)
			}
		})
	}
}

func TestParseSignatureMalformed(t *testing.T) {
	w := newWorld(t)
	good := w.signature(t, w.seal(t))
	v2 := w.v2Signature(t, signedAt)
	// A v4 TBS_Sign holding a v2 seal.
	mixedTBS := mustMarshal(t, struct {
		Version      int
		Seal         asn1.RawValue
		TimeInfo     time.Time `asn1:"generalized"`
		DataHash     asn1.BitString
		PropertyInfo string `asn1:"ia5"`
	}{4, asn1.RawValue{FullBytes: w.v2Seal(t)}, signedAt, bits(docHash()), ""})
	mixed, err := marshalSignature(mixedTBS, w.dept.Raw, signDER(t, w.deptKey, mixedTBS))
	if err != nil {
		t.Fatal(err)
	}
	badVersion := bytes.Clone(good)
	// TBS_Sign.version is the first INTEGER: 02 01 04.
	i := bytes.Index(badVersion, []byte{0x02, 0x01, 0x04})
	badVersion[i+2] = 7

	tests := []struct {
		name string
		der  []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"trailing byte", append(bytes.Clone(good), 0), ErrMalformed},
		{"trailing v2", append(bytes.Clone(v2), 0), ErrMalformed},
		{"oversized", make([]byte, MaxSize+1), ErrMalformed},
		{"a seal, not a signature", w.seal(t).Raw, ErrMalformed},
		{"v4 signature with v2 seal", mixed, ErrMalformed},
		{"version 7", badVersion, ErrUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseSignature(tc.der); !errors.Is(err, tc.want) {
				t.Fatalf("ParseSignature: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestParseSignatureTruncated(t *testing.T) {
	w := newWorld(t)
	for name, der := range map[string][]byte{"v4": w.signature(t, w.seal(t)), "v2": w.v2Signature(t, signedAt)} {
		for n := 0; n < len(der); n++ {
			if _, err := ParseSignature(der[:n]); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s: ParseSignature of %d/%d bytes: %v, want ErrMalformed", name, n, len(der), err)
			}
		}
	}
}
