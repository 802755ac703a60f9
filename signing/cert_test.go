package signing

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

const (
	testUSCC     = "11310000002422290B"
	testDeptName = "上海市市场监督管理局"
	testRootName = "证照平台根证书"
)

var (
	rootFrom = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rootTo   = rootFrom.AddDate(20, 0, 0)
	deptFrom = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	deptTo   = deptFrom.AddDate(2, 0, 0)
)

// testPKI is a whole fake trust world: a root and one department.
type testPKI struct {
	rootKey  *sm2.PrivateKey
	root     *smx509.Certificate
	rootSign Signer
	deptKey  *sm2.PrivateKey
	dept     *smx509.Certificate
}

func newTestPKI(t testing.TB) testPKI {
	t.Helper()
	var p testPKI
	p.rootKey = newTestKey(t)
	p.rootSign = NewKeySigner(p.rootKey)
	var err error
	p.root, err = NewRootCertificate(p.rootSign, testRootName, rootFrom, rootTo)
	if err != nil {
		t.Fatal(err)
	}
	p.deptKey = newTestKey(t)
	p.dept, err = NewDepartmentCertificate(p.rootSign, p.root, &p.deptKey.PublicKey, testUSCC, testDeptName, deptFrom, deptTo)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNewRootCertificate(t *testing.T) {
	p := newTestPKI(t)
	r := p.root
	if err := r.CheckSignatureFrom(r); err != nil {
		t.Fatalf("root does not verify itself: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"signature algorithm", r.SignatureAlgorithm, smx509.SM2WithSM3},
		{"CA", r.IsCA && r.BasicConstraintsValid, true},
		{"path length", r.MaxPathLen, 1},
		{"key usage", r.KeyUsage, smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign},
		{"subject key id length", len(r.SubjectKeyId), 20},
		{"CN", r.Subject.CommonName, testRootName},
		{"O", r.Subject.Organization[0], testRootName},
		{"C", r.Subject.Country[0], "CN"},
		{"not before", r.NotBefore.Equal(rootFrom), true},
		{"not after", r.NotAfter.Equal(rootTo), true},
		{"public key", p.rootKey.PublicKey.Equal(r.PublicKey), true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestNewDepartmentCertificate(t *testing.T) {
	p := newTestPKI(t)
	d := p.dept
	if err := d.CheckSignatureFrom(p.root); err != nil {
		t.Fatalf("department certificate does not verify from root: %v", err)
	}
	other, err := NewDepartmentCertificate(p.rootSign, p.root, &p.deptKey.PublicKey, testUSCC, testDeptName, deptFrom, deptTo)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"signature algorithm", d.SignatureAlgorithm, smx509.SM2WithSM3},
		{"not a CA", d.IsCA, false},
		{"basic constraints present", d.BasicConstraintsValid, true},
		{"key usage", d.KeyUsage, smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment},
		{"CN", d.Subject.CommonName, testDeptName},
		{"O", d.Subject.Organization[0], testDeptName},
		{"C", d.Subject.Country[0], "CN"},
		{"USCC", DepartmentUSCC(d), testUSCC},
		{"issuer", d.Issuer.CommonName, testRootName},
		{"authority key id", bytes.Equal(d.AuthorityKeyId, p.root.SubjectKeyId), true},
		{"serial positive", d.SerialNumber.Sign(), 1},
		{"serial at most 128 bits", d.SerialNumber.BitLen() <= 128, true},
		{"serials differ", d.SerialNumber.Cmp(other.SerialNumber) != 0, true},
		{"public key", p.deptKey.PublicKey.Equal(d.PublicKey), true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	// A signature by the department key verifies with the certificate's key.
	msg := []byte("license")
	sig, err := NewKeySigner(p.deptKey).Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(d.PublicKey.(*ecdsa.PublicKey), msg, sig); err != nil {
		t.Fatal(err)
	}
	if DepartmentUSCC(nil) != "" {
		t.Error("DepartmentUSCC(nil) is not empty")
	}
}

func TestNewCertificateArguments(t *testing.T) {
	p := newTestPKI(t)
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub := &p.deptKey.PublicKey
	strangerSigner := NewKeySigner(newTestKey(t))

	tests := []struct {
		name string
		make func() error
		want error
	}{
		{"root: empty name", func() error { _, err := NewRootCertificate(p.rootSign, "", rootFrom, rootTo); return err }, ErrCertificate},
		{"root: reversed validity", func() error { _, err := NewRootCertificate(p.rootSign, "r", rootTo, rootFrom); return err }, ErrCertificate},
		{"root: zero notBefore", func() error { _, err := NewRootCertificate(p.rootSign, "r", time.Time{}, rootTo); return err }, ErrCertificate},
		{"root: nil signer", func() error { _, err := NewRootCertificate(nil, "r", rootFrom, rootTo); return err }, ErrCertificate},
		{"dept: USCC too short", func() error {
			_, err := NewDepartmentCertificate(p.rootSign, p.root, pub, "1131000000242229", testDeptName, deptFrom, deptTo)
			return err
		}, ErrCertificate},
		{"dept: USCC bad character", func() error {
			_, err := NewDepartmentCertificate(p.rootSign, p.root, pub, "11310000002422290I", testDeptName, deptFrom, deptTo)
			return err
		}, ErrCertificate},
		{"dept: empty name", func() error {
			_, err := NewDepartmentCertificate(p.rootSign, p.root, pub, testUSCC, "", deptFrom, deptTo)
			return err
		}, ErrCertificate},
		{"dept: P-256 subject key", func() error {
			_, err := NewDepartmentCertificate(p.rootSign, p.root, &p256.PublicKey, testUSCC, testDeptName, deptFrom, deptTo)
			return err
		}, ErrNotSM2},
		{"dept: issuer is not a CA", func() error {
			_, err := NewDepartmentCertificate(NewKeySigner(p.deptKey), p.dept, pub, testUSCC, testDeptName, deptFrom, deptTo)
			return err
		}, ErrCertificate},
		{"dept: issuer key does not match issuer certificate", func() error {
			_, err := NewDepartmentCertificate(strangerSigner, p.root, pub, testUSCC, testDeptName, deptFrom, deptTo)
			return err
		}, ErrCertificate},
		{"dept: nil issuer certificate", func() error {
			_, err := NewDepartmentCertificate(p.rootSign, nil, pub, testUSCC, testDeptName, deptFrom, deptTo)
			return err
		}, ErrCertificate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.make(); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// reparse returns c with its DER changed by f, parsed again.
func reparse(t *testing.T, c *smx509.Certificate, f func([]byte) []byte) *smx509.Certificate {
	t.Helper()
	out, err := smx509.ParseCertificate(f(bytes.Clone(c.Raw)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVerifyDepartmentCertificate(t *testing.T) {
	p := newTestPKI(t)
	other := newTestPKI(t)
	mid := deptFrom.AddDate(1, 0, 0)

	tamperedUSCC := reparse(t, p.dept, func(b []byte) []byte {
		i := bytes.Index(b, []byte(testUSCC))
		b[i+len(testUSCC)-1] = 'C'
		return b
	})
	tamperedSig := reparse(t, p.dept, func(b []byte) []byte {
		b[len(b)-5] ^= 0x01
		return b
	})
	rootLeafKey := newTestKey(t)
	// A CA certificate presented as a department certificate.
	subCA, err := NewRootCertificate(NewKeySigner(rootLeafKey), "self-made", rootFrom, rootTo)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		cert       *smx509.Certificate
		roots      []*smx509.Certificate
		at         time.Time
		want       error
		wantReason smx509.InvalidReason // checked when not NotAuthorizedToSign (0)
	}{
		{"valid", p.dept, []*smx509.Certificate{p.root}, mid, nil, 0},
		{"valid on first day", p.dept, []*smx509.Certificate{p.root}, deptFrom, nil, 0},
		{"valid among several roots", p.dept, []*smx509.Certificate{other.root, p.root}, mid, nil, 0},
		{"expired", p.dept, []*smx509.Certificate{p.root}, deptTo.Add(time.Second), ErrCertificate, smx509.Expired},
		{"not yet valid", p.dept, []*smx509.Certificate{p.root}, deptFrom.Add(-time.Second), ErrCertificate, smx509.Expired},
		{"root expired", p.dept, []*smx509.Certificate{p.root}, rootTo.Add(time.Hour), ErrCertificate, smx509.Expired},
		{"tampered subject", tamperedUSCC, []*smx509.Certificate{p.root}, mid, ErrCertificate, 0},
		{"tampered signature", tamperedSig, []*smx509.Certificate{p.root}, mid, ErrCertificate, 0},
		{"wrong root", p.dept, []*smx509.Certificate{other.root}, mid, ErrCertificate, 0},
		{"no roots", p.dept, nil, mid, ErrCertificate, 0},
		{"zero time", p.dept, []*smx509.Certificate{p.root}, time.Time{}, ErrCertificate, 0},
		{"nil certificate", nil, []*smx509.Certificate{p.root}, mid, ErrCertificate, 0},
		{"CA as department", subCA, []*smx509.Certificate{subCA}, mid, ErrCertificate, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyDepartmentCertificate(tt.cert, tt.roots, tt.at)
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifyDepartmentCertificate = %v, want %v", err, tt.want)
			}
			if tt.wantReason != 0 {
				var invalid smx509.CertificateInvalidError
				if !errors.As(err, &invalid) || invalid.Reason != tt.wantReason {
					t.Fatalf("error %v is not CertificateInvalidError with reason %v", err, tt.wantReason)
				}
			}
		})
	}
}

func loadCertPEM(t *testing.T, path string) ([]byte, *smx509.Certificate) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCertificatePEM(data)
	if err != nil {
		t.Fatal(err)
	}
	return data, c
}

// TestKeyIDKnownAnswer: the expected ids are the first 8 bytes of
// `openssl x509 -in <file> -outform DER | openssl dgst -sm3`.
func TestKeyIDKnownAnswer(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"testdata/department.pem", "3dc7757e16eb0eff"},
		{"testdata/root.pem", "8180fce112e951b5"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, c := loadCertPEM(t, tt.file)
			if got := KeyID(c.Raw); got != tt.want {
				t.Errorf("KeyID = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestFixtureChain checks the stored certificates (made by this package,
// also accepted by `openssl verify -vfyopt distid:1234567812345678`).
func TestFixtureChain(t *testing.T) {
	_, root := loadCertPEM(t, "testdata/root.pem")
	_, dept := loadCertPEM(t, "testdata/department.pem")
	if got := DepartmentUSCC(dept); got != testUSCC {
		t.Errorf("DepartmentUSCC = %q, want %q", got, testUSCC)
	}
	tests := []struct {
		at   time.Time
		want error
	}{
		{time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), nil},
		{time.Date(2028, 6, 1, 0, 0, 0, 0, time.UTC), ErrCertificate},
		{time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC), ErrCertificate},
	}
	for _, tt := range tests {
		if err := VerifyDepartmentCertificate(dept, []*smx509.Certificate{root}, tt.at); !errors.Is(err, tt.want) {
			t.Errorf("at %s: %v, want %v", tt.at.Format(time.DateOnly), err, tt.want)
		}
	}
}

func TestCertificatePEM(t *testing.T) {
	p := newTestPKI(t)
	pemBytes := EncodeCertificatePEM(p.dept.Raw)
	got, err := ParseCertificatePEM(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(p.dept) {
		t.Fatal("PEM round trip changed the certificate")
	}

	// An ECDSA P-256 certificate from the standard library.
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "p256"},
		NotBefore: rootFrom, NotAfter: rootTo,
	}, &x509.Certificate{Subject: pkix.Name{CommonName: "p256"}}, &ecKey.PublicKey, ecKey)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"not PEM", p.dept.Raw, ErrMalformed},
		{"wrong type", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: p.dept.Raw}), ErrMalformed},
		{"truncated DER", EncodeCertificatePEM(p.dept.Raw[:len(p.dept.Raw)-1]), ErrMalformed},
		{"ECDSA P-256 certificate", EncodeCertificatePEM(ecDER), ErrNotSM2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseCertificatePEM(tt.in); !errors.Is(err, tt.want) {
				t.Fatalf("ParseCertificatePEM = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestPublicKeyDER(t *testing.T) {
	k := newTestKey(t)
	der, err := MarshalPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParsePublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(&k.PublicKey) {
		t.Fatal("public key round trip differs")
	}

	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := MarshalPublicKey(&ecKey.PublicKey); !errors.Is(err, ErrNotSM2) {
		t.Errorf("MarshalPublicKey(P-256) = %v, want ErrNotSM2", err)
	}
	if _, err := MarshalPublicKey(nil); !errors.Is(err, ErrNotSM2) {
		t.Errorf("MarshalPublicKey(nil) = %v, want ErrNotSM2", err)
	}
	p256DER, err := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		der  []byte
		want error
	}{
		{"P-256 key", p256DER, ErrNotSM2},
		{"empty", nil, ErrMalformed},
		{"truncated", der[:len(der)-1], ErrMalformed},
		{"trailing data", append(bytes.Clone(der), 0), ErrMalformed},
		{"point off the curve", func() []byte { b := bytes.Clone(der); b[len(b)-1] ^= 1; return b }(), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParsePublicKey(tt.der); !errors.Is(err, tt.want) {
				t.Fatalf("ParsePublicKey = %v, want %v", err, tt.want)
			}
		})
	}
}
