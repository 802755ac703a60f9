package signing

// Interoperability with github.com/tjfoc/gmsm v1.4.1, an independent SM2
// implementation still run by many Chinese government systems. It is a test
// dependency only.

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	tjsm2 "github.com/tjfoc/gmsm/sm2"
	tjx509 "github.com/tjfoc/gmsm/x509"
)

const interopRounds = 50

func toTjfocPublic(pub *ecdsa.PublicKey) *tjsm2.PublicKey {
	return &tjsm2.PublicKey{Curve: tjsm2.P256Sm2(), X: pub.X, Y: pub.Y}
}

func fromTjfocPublic(pub *tjsm2.PublicKey) *ecdsa.PublicKey {
	return &ecdsa.PublicKey{Curve: sm2.P256(), X: pub.X, Y: pub.Y}
}

func TestTjfocVerifiesStandardVector(t *testing.T) {
	v := loadVector(t)
	pub := &tjsm2.PublicKey{Curve: tjsm2.P256Sm2(), X: mustInt(t, v.PX), Y: mustInt(t, v.PY)}
	if !tjsm2.Sm2Verify(pub, []byte(v.Message), []byte(v.UserID), mustInt(t, v.R), mustInt(t, v.S)) {
		t.Fatal("tjfoc rejects the GB/T 32918.5 vector (testdata is wrong?)")
	}
}

func TestInteropSignatures(t *testing.T) {
	for i := range interopRounds {
		msg := fmt.Appendf(nil, "电子证照 interop message %d", i)

		// Ours → tjfoc.
		k := newTestKey(t)
		sig, err := NewKeySigner(k).Sign(msg)
		if err != nil {
			t.Fatal(err)
		}
		der, err := RawToASN1(sig)
		if err != nil {
			t.Fatal(err)
		}
		tjPub := toTjfocPublic(&k.PublicKey)
		if !tjPub.Verify(msg, der) {
			t.Fatalf("round %d: tjfoc rejects our signature", i)
		}
		if tjPub.Verify(append(msg, '!'), der) {
			t.Fatalf("round %d: tjfoc accepts our signature on another message", i)
		}

		// tjfoc → ours.
		tk, err := tjsm2.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tder, err := tk.Sign(rand.Reader, msg, nil)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := ASN1ToRaw(tder)
		if err != nil {
			t.Fatalf("round %d: ASN1ToRaw(tjfoc signature): %v", i, err)
		}
		if err := Verify(fromTjfocPublic(&tk.PublicKey), msg, raw); err != nil {
			t.Fatalf("round %d: our Verify rejects a tjfoc signature: %v", i, err)
		}
		if err := Verify(fromTjfocPublic(&tk.PublicKey), append(msg, '!'), raw); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("round %d: tjfoc signature on another message: %v, want ErrBadSignature", i, err)
		}
	}
}

func TestInteropPublicKeyDER(t *testing.T) {
	k := newTestKey(t)
	der, err := MarshalPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := tjx509.ParseSm2PublicKey(der)
	if err != nil {
		t.Fatalf("tjfoc cannot parse our public key: %v", err)
	}
	if tp.X.Cmp(k.X) != 0 || tp.Y.Cmp(k.Y) != 0 {
		t.Fatal("tjfoc parsed a different point")
	}

	tk, err := tjsm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tder, err := tjx509.MarshalSm2PublicKey(&tk.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(tder)
	if err != nil {
		t.Fatalf("cannot parse tjfoc public key: %v", err)
	}
	if !pub.Equal(fromTjfocPublic(&tk.PublicKey)) {
		t.Fatal("parsed a different point from tjfoc DER")
	}
}

func TestInteropOurCertificatesInTjfoc(t *testing.T) {
	p := newTestPKI(t)
	root, err := tjx509.ParseCertificate(p.root.Raw)
	if err != nil {
		t.Fatalf("tjfoc cannot parse our root: %v", err)
	}
	dept, err := tjx509.ParseCertificate(p.dept.Raw)
	if err != nil {
		t.Fatalf("tjfoc cannot parse our department certificate: %v", err)
	}
	if err := root.CheckSignatureFrom(root); err != nil {
		t.Errorf("tjfoc: root self-signature: %v", err)
	}
	if err := dept.CheckSignatureFrom(root); err != nil {
		t.Errorf("tjfoc: department signature from root: %v", err)
	}
	pool := tjx509.NewCertPool()
	pool.AddCert(root)
	chains, err := dept.Verify(tjx509.VerifyOptions{
		Roots:       pool,
		CurrentTime: deptFrom.AddDate(1, 0, 0),
		KeyUsages:   []tjx509.ExtKeyUsage{tjx509.ExtKeyUsageAny},
	})
	if err != nil {
		t.Fatalf("tjfoc chain verification: %v", err)
	}
	if len(chains) != 1 || len(chains[0]) != 2 {
		t.Errorf("tjfoc chains = %d, want one chain of 2", len(chains))
	}
	if got := dept.Subject.SerialNumber; got != testUSCC {
		t.Errorf("tjfoc reads USCC %q, want %q", got, testUSCC)
	}
	if dept.Subject.CommonName != testDeptName {
		t.Errorf("tjfoc reads CN %q, want %q", dept.Subject.CommonName, testDeptName)
	}
}

func TestInteropTjfocCertificatesInOurs(t *testing.T) {
	rootKey, err := tjsm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	deptKey, err := tjsm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rootTmpl := &tjx509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tjfoc 根证书", Country: []string{"CN"}},
		NotBefore:             rootFrom,
		NotAfter:              rootTo,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLen:            1,
		KeyUsage:              tjx509.KeyUsageCertSign | tjx509.KeyUsageCRLSign,
		SubjectKeyId:          []byte{1, 2, 3, 4},
		SignatureAlgorithm:    tjx509.SM2WithSM3,
	}
	rootDER, err := tjx509.CreateCertificate(rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	deptTmpl := &tjx509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject: pkix.Name{
			CommonName: testDeptName, Organization: []string{testDeptName},
			SerialNumber: testUSCC, Country: []string{"CN"},
		},
		NotBefore:             deptFrom,
		NotAfter:              deptTo,
		BasicConstraintsValid: true,
		KeyUsage:              tjx509.KeyUsageDigitalSignature | tjx509.KeyUsageContentCommitment,
		SignatureAlgorithm:    tjx509.SM2WithSM3,
	}
	deptDER, err := tjx509.CreateCertificate(deptTmpl, rootTmpl, &deptKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}

	root, err := ParseCertificatePEM(EncodeCertificatePEM(rootDER))
	if err != nil {
		t.Fatalf("cannot parse tjfoc root: %v", err)
	}
	dept, err := ParseCertificatePEM(EncodeCertificatePEM(deptDER))
	if err != nil {
		t.Fatalf("cannot parse tjfoc department certificate: %v", err)
	}
	if err := dept.CheckSignatureFrom(root); err != nil {
		t.Fatalf("smx509: tjfoc department signature from tjfoc root: %v", err)
	}
	if got := DepartmentUSCC(dept); got != testUSCC {
		t.Errorf("DepartmentUSCC = %q, want %q", got, testUSCC)
	}
	roots := []*smx509.Certificate{root}
	tests := []struct {
		name string
		at   time.Time
		want error
	}{
		{"valid", deptFrom.AddDate(1, 0, 0), nil},
		{"expired", deptTo.AddDate(0, 0, 1), ErrCertificate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := VerifyDepartmentCertificate(dept, roots, tt.at); !errors.Is(err, tt.want) {
				t.Fatalf("VerifyDepartmentCertificate = %v, want %v", err, tt.want)
			}
		})
	}

	// A tjfoc signature by the department key verifies against the
	// certificate's key with our Verify.
	msg := []byte("license body")
	der, err := deptKey.Sign(rand.Reader, msg, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := ASN1ToRaw(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(dept.PublicKey.(*ecdsa.PublicKey), msg, raw); err != nil {
		t.Fatalf("Verify(tjfoc signature, key from tjfoc certificate) = %v", err)
	}
}
