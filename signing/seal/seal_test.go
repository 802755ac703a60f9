package seal

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"image"
	"image/png"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"zhengzhao/license"
	"zhengzhao/signing"
)

const (
	testUSCC  = "11310000002422290B"
	testUSCC2 = "11430000006122244L"
)

var (
	t0        = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sealStart = t0
	sealEnd   = t0.AddDate(3, 0, 0)
	signedAt  = t0.AddDate(1, 0, 0)
)

// world is a whole fake trust world: a platform root that makes seals, a
// second maker issued by the root, two departments, and a rogue root.
type world struct {
	rootKey   signing.Signer
	root      *smx509.Certificate
	makerKey  signing.Signer // a seal maker chained to root
	maker     *smx509.Certificate
	deptKey   signing.Signer
	dept      *smx509.Certificate
	otherKey  signing.Signer
	other     *smx509.Certificate // a department not listed in the seal
	rogueKey  signing.Signer
	rogueRoot *smx509.Certificate
	picture   Picture
}

func newSigner(t testing.TB) signing.Signer {
	t.Helper()
	k, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return signing.NewKeySigner(k)
}

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{rootKey: newSigner(t), makerKey: newSigner(t), deptKey: newSigner(t), otherKey: newSigner(t), rogueKey: newSigner(t)}
	var err error
	from, to := t0.AddDate(-1, 0, 0), t0.AddDate(10, 0, 0)
	if w.root, err = signing.NewRootCertificate(w.rootKey, "证照平台根", from, to); err != nil {
		t.Fatal(err)
	}
	if w.rogueRoot, err = signing.NewRootCertificate(w.rogueKey, "证照平台根", from, to); err != nil {
		t.Fatal(err)
	}
	if w.maker, err = signing.NewDepartmentCertificate(w.rootKey, w.root, w.makerKey.Public(), testUSCC2, "电子印章制作中心", from, to); err != nil {
		t.Fatal(err)
	}
	if w.dept, err = signing.NewDepartmentCertificate(w.rootKey, w.root, w.deptKey.Public(), testUSCC, "湖南省市场监督管理局", from, to); err != nil {
		t.Fatal(err)
	}
	if w.other, err = signing.NewDepartmentCertificate(w.rootKey, w.root, w.otherKey.Public(), testUSCC, "其他部门", from, to); err != nil {
		t.Fatal(err)
	}
	w.picture = Picture{Type: "PNG", Data: tinyPNG(t), WidthMM: 42, HeightMM: 42}
	return w
}

func tinyPNG(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewNRGBA(image.Rect(0, 0, 2, 2))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func (w *world) props() Properties {
	return Properties{
		ID:         "11310000002422290B0001",
		Name:       "湖南省市场监督管理局",
		Signers:    []*smx509.Certificate{w.dept},
		CreateDate: t0,
		ValidStart: sealStart,
		ValidEnd:   sealEnd,
		Picture:    w.picture,
	}
}

func (w *world) seal(t testing.TB) *Seal {
	t.Helper()
	s, err := Make(w.rootKey, w.root, w.props())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (w *world) roots() []*smx509.Certificate { return []*smx509.Certificate{w.root} }

// Independent encodings with encoding/asn1, after GB/T 38540-2020 and
// GM/T 0031-2014, to cross-check the cryptobyte codec.
type (
	asnHeader struct {
		ID      string `asn1:"ia5"`
		Version int
		Vid     string `asn1:"ia5"`
	}
	asnPropertyV4 struct {
		Type         int
		Name         string `asn1:"utf8"`
		CertListType int
		CertList     asn1.RawValue
		CreateDate   time.Time `asn1:"generalized"`
		ValidStart   time.Time `asn1:"generalized"`
		ValidEnd     time.Time `asn1:"generalized"`
	}
	asnPropertyV2 struct {
		Type       int
		Name       string `asn1:"utf8"`
		CertList   [][]byte
		CreateDate time.Time `asn1:"utc"`
		ValidStart time.Time `asn1:"utc"`
		ValidEnd   time.Time `asn1:"utc"`
	}
	asnPicture struct {
		Type   string `asn1:"ia5"`
		Data   []byte
		Width  int
		Height int
	}
	asnExtData struct {
		ID       asn1.ObjectIdentifier
		Critical bool `asn1:"optional"`
		Value    []byte
	}
	asnSealInfo[P any] struct {
		Header   asnHeader
		ESID     string `asn1:"ia5"`
		Property P
		Picture  asnPicture
		Ext      []asnExtData `asn1:"optional,omitempty"`
	}
	asnSealV4 struct {
		Info asn1.RawValue
		Cert []byte
		Alg  asn1.ObjectIdentifier
		Sig  asn1.BitString
	}
	asnSignInfoV2 struct {
		Cert []byte
		Alg  asn1.ObjectIdentifier
		Sig  asn1.BitString
	}
	asnSealV2 struct {
		Info asn1.RawValue
		Sign asnSignInfoV2
	}
	asnTBSV2 struct {
		Version      int
		Seal         asn1.RawValue
		TimeInfo     asn1.BitString
		DataHash     asn1.BitString
		PropertyInfo string `asn1:"ia5"`
		Cert         []byte
		Alg          asn1.ObjectIdentifier
	}
	asnSignatureV2 struct {
		TBS asn1.RawValue
		Sig asn1.BitString
	}
)

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func certList(t testing.TB, certs ...[]byte) asn1.RawValue {
	t.Helper()
	var rv asn1.RawValue
	if _, err := asn1.Unmarshal(mustMarshal(t, certs), &rv); err != nil {
		t.Fatal(err)
	}
	return rv
}

func bits(b []byte) asn1.BitString { return asn1.BitString{Bytes: b, BitLength: 8 * len(b)} }

// signDER signs msg and returns the DER SM2 signature.
func signDER(t testing.TB, s signing.Signer, msg []byte) []byte {
	t.Helper()
	raw, err := s.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	der, err := signing.RawToASN1(raw)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// v4SealInfo is a v4 SES_SealInfo built with encoding/asn1; edit changes it
// before it is marshalled.
func (w *world) v4SealInfo(t testing.TB, edit func(*asnSealInfo[asnPropertyV4])) []byte {
	t.Helper()
	info := asnSealInfo[asnPropertyV4]{
		Header: asnHeader{ID: "ES", Version: 4, Vid: DefaultVendorID},
		ESID:   "11310000002422290B0001",
		Property: asnPropertyV4{
			Type: 1, Name: "湖南省市场监督管理局", CertListType: 1, CertList: certList(t, w.dept.Raw),
			CreateDate: t0, ValidStart: sealStart, ValidEnd: sealEnd,
		},
		Picture: asnPicture{Type: "PNG", Data: w.picture.Data, Width: 42, Height: 42},
	}
	if edit != nil {
		edit(&info)
	}
	return mustMarshal(t, info)
}

// v4Seal wraps a SES_SealInfo into a SESeal signed by the root.
func (w *world) v4Seal(t testing.TB, info []byte) []byte {
	t.Helper()
	return mustMarshal(t, asnSealV4{
		Info: asn1.RawValue{FullBytes: info},
		Cert: w.root.Raw,
		Alg:  asn1.ObjectIdentifier(OIDSM2WithSM3),
		Sig:  bits(signDER(t, w.rootKey, info)),
	})
}

// v2Seal is a GM/T 0031-2014 seal built with encoding/asn1, signed by the
// root over SEQUENCE { sealInfo, cert, signatureAlgorithm }.
func (w *world) v2Seal(t testing.TB) []byte {
	t.Helper()
	info := mustMarshal(t, asnSealInfo[asnPropertyV2]{
		Header: asnHeader{ID: "ES", Version: 2, Vid: "OLDVENDOR"},
		ESID:   "v2-seal-0001",
		Property: asnPropertyV2{
			Type: 1, Name: "湖南省市场监督管理局", CertList: [][]byte{w.dept.Raw},
			CreateDate: t0, ValidStart: sealStart, ValidEnd: sealEnd,
		},
		Picture: asnPicture{Type: "PNG", Data: w.picture.Data, Width: 40, Height: 40},
	})
	tbs := mustMarshal(t, struct {
		Info asn1.RawValue
		Cert []byte
		Alg  asn1.ObjectIdentifier
	}{asn1.RawValue{FullBytes: info}, w.root.Raw, asn1.ObjectIdentifier(OIDSM2WithSM3)})
	return mustMarshal(t, asnSealV2{
		Info: asn1.RawValue{FullBytes: info},
		Sign: asnSignInfoV2{Cert: w.root.Raw, Alg: asn1.ObjectIdentifier(OIDSM2WithSM3), Sig: bits(signDER(t, w.rootKey, tbs))},
	})
}

func TestMakeRoundTrip(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name   string
		edit   func(*Properties)
		digest bool
	}{
		{name: "certs", edit: func(*Properties) {}},
		{name: "two signers", edit: func(p *Properties) { p.Signers = append(p.Signers, w.other) }},
		{name: "digests", edit: func(p *Properties) { p.ListDigests = true }, digest: true},
		{name: "local times and nanoseconds", edit: func(p *Properties) {
			cst := license.ChinaTime
			p.CreateDate = t0.In(cst).Add(999 * time.Millisecond)
			p.ValidStart = sealStart.In(cst)
			p.ValidEnd = sealEnd.In(cst)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := w.props()
			tc.edit(&p)
			s, err := Make(w.rootKey, w.root, p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseSeal(s.Raw)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, s) {
				t.Errorf("ParseSeal(Make()) differs:\n got %+v\nwant %+v", got, s)
			}
			if got.Version != Version4 || got.VendorID != DefaultVendorID || got.ID != p.ID || got.Name != p.Name || got.Type != TypeOrganization {
				t.Errorf("header or property: %+v", got)
			}
			if !got.CreateDate.Equal(t0) || !got.ValidStart.Equal(sealStart) || !got.ValidEnd.Equal(sealEnd) || got.CreateDate.Location() != time.UTC {
				t.Errorf("times: %v %v %v", got.CreateDate, got.ValidStart, got.ValidEnd)
			}
			if !reflect.DeepEqual(got.Picture, w.picture) || !bytes.Equal(got.MakerCert, w.root.Raw) {
				t.Errorf("picture or maker certificate differ")
			}
			if tc.digest {
				d := sm3.Sum(w.dept.Raw)
				if got.CertListType != CertListDigests || len(got.Certs) != 0 || len(got.CertDigests) != 1 ||
					got.CertDigests[0].Type != CertDigestTypeSM3 || !bytes.Equal(got.CertDigests[0].Value, d[:]) {
					t.Errorf("cert digests: %+v", got.CertDigests)
				}
			} else if got.CertListType != CertListCerts || len(got.Certs) != len(p.Signers) || !bytes.Equal(got.Certs[0], w.dept.Raw) {
				t.Errorf("certs: type %d, %d certs", got.CertListType, len(got.Certs))
			}
			for _, c := range p.Signers {
				if !got.lists(c.Raw) {
					t.Errorf("signer %s not listed", c.Subject.CommonName)
				}
			}
			if got.lists(w.root.Raw) {
				t.Error("root listed as a signer")
			}
			if err := got.Verify(w.roots()); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

// TestMakeMatchesEncodingASN1 checks the cryptobyte encoder against an
// independent encoding/asn1 one, byte for byte.
func TestMakeMatchesEncodingASN1(t *testing.T) {
	w := newWorld(t)
	s := w.seal(t)
	want := w.v4SealInfo(t, nil)
	if !bytes.Equal(s.sealInfo, want) {
		t.Fatalf("SES_SealInfo differs from encoding/asn1:\n got %x\nwant %x", s.sealInfo, want)
	}
	var outer asnSealV4
	rest, err := asn1.Unmarshal(s.Raw, &outer)
	if err != nil || len(rest) != 0 {
		t.Fatalf("encoding/asn1 cannot read SESeal: %v", err)
	}
	if !bytes.Equal(outer.Cert, w.root.Raw) || !outer.Alg.Equal(OIDSM2WithSM3) || !bytes.Equal(outer.Sig.Bytes, s.SignedValue) {
		t.Error("SESeal fields differ")
	}
	if _, err := signing.ASN1ToRaw(outer.Sig.Bytes); err != nil {
		t.Errorf("maker signature is not DER SEQUENCE{r, s}: %v", err)
	}
}

func TestParseSealV2(t *testing.T) {
	w := newWorld(t)
	der := w.v2Seal(t)
	s, err := ParseSeal(der)
	if err != nil {
		t.Fatal(err)
	}
	want := &Seal{
		Version: 2, VendorID: "OLDVENDOR", ID: "v2-seal-0001", Type: 1, Name: "湖南省市场监督管理局",
		CertListType: CertListCerts, Certs: [][]byte{w.dept.Raw},
		CreateDate: t0, ValidStart: sealStart, ValidEnd: sealEnd,
		Picture:   Picture{Type: "PNG", Data: w.picture.Data, WidthMM: 40, HeightMM: 40},
		MakerCert: w.root.Raw, SignatureAlgorithm: OIDSM2WithSM3,
	}
	s2 := *s
	s2.SignedValue, s2.Raw, s2.sealInfo = nil, nil, nil
	if !reflect.DeepEqual(&s2, want) {
		t.Errorf("got  %+v\nwant %+v", &s2, want)
	}
	if !bytes.Equal(s.Raw, der) {
		t.Error("Raw is not the input")
	}
	if err := s.Verify(w.roots()); err != nil {
		t.Errorf("Verify v2: %v", err)
	}
	if err := s.Verify([]*smx509.Certificate{w.rogueRoot}); !errors.Is(err, ErrSealMaker) {
		t.Errorf("Verify v2 with rogue root: %v, want ErrSealMaker", err)
	}
}

func TestSealVerify(t *testing.T) {
	w := newWorld(t)
	chained, err := Make(w.makerKey, w.maker, w.props())
	if err != nil {
		t.Fatal(err)
	}
	rogue, err := Make(w.rogueKey, w.rogueRoot, w.props())
	if err != nil {
		t.Fatal(err)
	}
	good := w.seal(t)
	// The maker signed only the SES_SealInfo: change the picture and re-parse.
	tampered := bytes.Clone(good.Raw)
	i := bytes.Index(tampered, w.picture.Data)
	tampered[i+len(w.picture.Data)-1] ^= 1
	badPicture, err := ParseSeal(tampered)
	if err != nil {
		t.Fatal(err)
	}
	// A maker that signed the GM/T 0031 form of the message is accepted too.
	info := w.v4SealInfo(t, nil)
	seqForm := mustMarshal(t, struct {
		Info asn1.RawValue
		Cert []byte
		Alg  asn1.ObjectIdentifier
	}{asn1.RawValue{FullBytes: info}, w.root.Raw, asn1.ObjectIdentifier(OIDSM2WithSM3)})
	seqSigned, err := ParseSeal(mustMarshal(t, asnSealV4{Info: asn1.RawValue{FullBytes: info}, Cert: w.root.Raw,
		Alg: asn1.ObjectIdentifier(OIDSM2WithSM3), Sig: bits(signDER(t, w.rootKey, seqForm))}))
	if err != nil {
		t.Fatal(err)
	}
	otherAlg, err := ParseSeal(mustMarshal(t, asnSealV4{Info: asn1.RawValue{FullBytes: info}, Cert: w.root.Raw,
		Alg: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}, Sig: bits(signDER(t, w.rootKey, info))}))
	if err != nil {
		t.Fatal(err)
	}
	// Made before the maker's certificate was valid.
	early := w.props()
	early.CreateDate = t0.AddDate(-5, 0, 0)
	earlySeal, err := Make(w.rootKey, w.root, early)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		seal  *Seal
		roots []*smx509.Certificate
		ok    bool
	}{
		{"root is the maker", good, w.roots(), true},
		{"maker chains to root", chained, w.roots(), true},
		{"maker signed SEQUENCE form", seqSigned, w.roots(), true},
		{"several roots", good, []*smx509.Certificate{w.rogueRoot, nil, w.root}, true},
		{"rogue maker", rogue, w.roots(), false},
		{"no roots", good, nil, false},
		{"tampered picture", badPicture, w.roots(), false},
		{"other algorithm", otherAlg, w.roots(), false},
		{"made before maker certificate", earlySeal, w.roots(), false},
		{"chained maker, only rogue root", chained, []*smx509.Certificate{w.rogueRoot}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.seal.Verify(tc.roots)
			if tc.ok && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrSealMaker) {
				t.Fatalf("Verify: %v, want ErrSealMaker", err)
			}
		})
	}
}

func TestMakeRefuses(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name string
		edit func(*Properties)
	}{
		{"no ID", func(p *Properties) { p.ID = "" }},
		{"non-ASCII ID", func(p *Properties) { p.ID = "印章1" }},
		{"no name", func(p *Properties) { p.Name = "" }},
		{"bad UTF-8 name", func(p *Properties) { p.Name = "\xff" }},
		{"no signers", func(p *Properties) { p.Signers = nil }},
		{"nil signer", func(p *Properties) { p.Signers = []*smx509.Certificate{nil} }},
		{"no create date", func(p *Properties) { p.CreateDate = time.Time{} }},
		{"empty validity", func(p *Properties) { p.ValidEnd = p.ValidStart }},
		{"GIF", func(p *Properties) { p.Picture.Type = "GIF" }},
		{"not a PNG", func(p *Properties) { p.Picture.Data = []byte("GIF89a") }},
		{"huge picture", func(p *Properties) {
			p.Picture.Data = append(bytes.Clone(w.picture.Data), make([]byte, MaxPictureSize)...)
		}},
		{"zero size", func(p *Properties) { p.Picture.WidthMM = 0 }},
		{"negative type", func(p *Properties) { p.Type = -1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := w.props()
			tc.edit(&p)
			if _, err := Make(w.rootKey, w.root, p); !errors.Is(err, ErrInvalidInput) {
				t.Errorf("Make: %v, want ErrInvalidInput", err)
			}
		})
	}
	if _, err := Make(w.deptKey, w.root, w.props()); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("Make with a key not matching the maker certificate: %v", err)
	}
	if _, err := Make(nil, nil, w.props()); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("Make(nil): %v", err)
	}
}

func TestParseSealMalformed(t *testing.T) {
	w := newWorld(t)
	good := w.seal(t).Raw
	v2 := w.v2Seal(t)
	tooMany := make([][]byte, maxCerts+1)
	for i := range tooMany {
		tooMany[i] = []byte{1}
	}
	tests := []struct {
		name string
		der  []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"not a SEQUENCE", []byte{0x04, 0x00}, ErrMalformed},
		{"trailing byte", append(bytes.Clone(good), 0), ErrMalformed},
		{"trailing v2", append(bytes.Clone(v2), 0x30, 0x00), ErrMalformed},
		{"oversized", make([]byte, MaxSize+1), ErrMalformed},
		{"indefinite length", append([]byte{0x30, 0x80}, append(bytes.Clone(good[4:]), 0, 0)...), ErrMalformed},
		{"header ID", w.v4Seal(t, w.v4SealInfo(t, func(i *asnSealInfo[asnPropertyV4]) { i.Header.ID = "XS" })), ErrMalformed},
		{"version 5", w.v4Seal(t, w.v4SealInfo(t, func(i *asnSealInfo[asnPropertyV4]) { i.Header.Version = 5 })), ErrUnsupported},
		{"version 0", w.v4Seal(t, w.v4SealInfo(t, func(i *asnSealInfo[asnPropertyV4]) { i.Header.Version = 0 })), ErrUnsupported},
		{"certListType 3", w.v4Seal(t, w.v4SealInfo(t, func(i *asnSealInfo[asnPropertyV4]) { i.Property.CertListType = 3 })), ErrMalformed},
		{"empty certList", w.v4Seal(t, w.v4SealInfo(t, func(i *asnSealInfo[asnPropertyV4]) { i.Property.CertList = certList(t) })), ErrMalformed},
		{"too many certs", w.v4Seal(t, w.v4SealInfo(t, func(i *asnSealInfo[asnPropertyV4]) { i.Property.CertList = certList(t, tooMany...) })), ErrMalformed},
		{"digest list as certs", w.v4Seal(t, w.v4SealInfo(t, func(i *asnSealInfo[asnPropertyV4]) { i.Property.CertListType = 2 })), ErrMalformed},
		{"non-ASCII esID", w.v4Seal(t, bytes.Replace(w.v4SealInfo(t, func(i *asnSealInfo[asnPropertyV4]) { i.ESID = "seal~X" }), []byte("~X"), []byte{0xC3, 0xA9}, 1)), ErrMalformed},
		{"picture too large", w.v4Seal(t, w.v4SealInfo(t, func(i *asnSealInfo[asnPropertyV4]) { i.Picture.Data = make([]byte, MaxPictureSize+1) })), ErrMalformed},
		{"picture width", w.v4Seal(t, w.v4SealInfo(t, func(i *asnSealInfo[asnPropertyV4]) { i.Picture.Width = -1 })), ErrMalformed},
		{"critical extension", w.v4Seal(t, w.v4SealInfo(t, func(i *asnSealInfo[asnPropertyV4]) {
			i.Ext = []asnExtData{{ID: asn1.ObjectIdentifier{1, 2, 3}, Critical: true, Value: []byte{1}}}
		})), ErrUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSeal(tc.der)
			if !errors.Is(err, tc.want) {
				t.Fatalf("ParseSeal: %v, want %v", err, tc.want)
			}
		})
	}

	// A non-critical extension is read and counted.
	ext := w.v4Seal(t, w.v4SealInfo(t, func(i *asnSealInfo[asnPropertyV4]) {
		i.Ext = []asnExtData{{ID: asn1.ObjectIdentifier{1, 2, 3}, Value: []byte{1}}}
	}))
	s, err := ParseSeal(ext)
	if err != nil || s.Extensions != 1 {
		t.Fatalf("non-critical extension: %v, %d extensions", err, s.Extensions)
	}
	if err := s.Verify(w.roots()); err != nil {
		t.Errorf("Verify with extension: %v", err)
	}
}

// TestParseSealErrorNamesField checks errors say where the problem is.
func TestParseSealErrorNamesField(t *testing.T) {
	w := newWorld(t)
	der := w.v4Seal(t, w.v4SealInfo(t, func(i *asnSealInfo[asnPropertyV4]) { i.Property.CertListType = 9 }))
	_, err := ParseSeal(der)
	if err == nil || !strings.Contains(err.Error(), "SESeal.esealInfo.property.certListType") {
		t.Errorf("error %q does not name the field", err)
	}
}

// TestParseSealTruncated checks every proper prefix of valid seals fails
// cleanly.
func TestParseSealTruncated(t *testing.T) {
	w := newWorld(t)
	for name, der := range map[string][]byte{"v4": w.seal(t).Raw, "v2": w.v2Seal(t)} {
		for n := 0; n < len(der); n++ {
			if _, err := ParseSeal(der[:n]); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s: ParseSeal of %d/%d bytes: %v, want ErrMalformed", name, n, len(der), err)
			}
		}
	}
}
