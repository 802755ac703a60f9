package signing

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
)

const pemCertificate = "CERTIFICATE"

// ErrCertificate means a certificate could not be made or does not verify.
// Verification errors also wrap the smx509 error (for example
// smx509.CertificateInvalidError or smx509.UnknownAuthorityError), so callers
// can use errors.As for the detail.
var ErrCertificate = errors.New("signing: certificate invalid")

// NewRootCertificate returns the self-signed platform root: an SM2-with-SM3
// CA certificate (BasicConstraints CA with path length 1, KeyUsage
// CertSign|CRLSign, SubjectKeyId = first 20 bytes of SM3 over the public key)
// for subject CN=name, O=name, C=CN, valid from notBefore to notAfter, signed
// by s.
func NewRootCertificate(s Signer, name string, notBefore, notAfter time.Time) (*smx509.Certificate, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: root: nil signer", ErrCertificate)
	}
	if err := checkCertArgs(s.Public(), name, notBefore, notAfter); err != nil {
		return nil, fmt.Errorf("root: %w", err)
	}
	skid, err := subjectKeyID(s.Public())
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &smx509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{name}, Country: []string{"CN"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLen:            1,
		KeyUsage:              smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign,
		SubjectKeyId:          skid,
		SignatureAlgorithm:    smx509.SM2WithSM3,
	}
	return createCertificate(tmpl, tmpl, s.Public(), s)
}

// NewDepartmentCertificate returns a department's leaf certificate for pub,
// issued by issuer (whose certificate is issuerCert): SM2 with SM3, a random
// 128-bit serial, subject CN=name, O=name, serialNumber=uscc, C=CN, KeyUsage
// DigitalSignature|ContentCommitment, not a CA, valid from notBefore to
// notAfter. uscc must look like a unified social credit code (18 characters of
// the GB 32100 alphabet); the check character is license's business.
func NewDepartmentCertificate(issuer Signer, issuerCert *smx509.Certificate, pub *ecdsa.PublicKey, uscc, name string, notBefore, notAfter time.Time) (*smx509.Certificate, error) {
	if issuer == nil || issuerCert == nil {
		return nil, fmt.Errorf("%w: department: nil issuer", ErrCertificate)
	}
	if !issuerCert.IsCA || issuerCert.KeyUsage&smx509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("%w: department: issuer certificate is not a CA", ErrCertificate)
	}
	if !isSM2Key(issuer.Public()) {
		return nil, fmt.Errorf("department: issuer key: %w", ErrNotSM2)
	}
	if !issuer.Public().Equal(issuerCert.PublicKey) {
		return nil, fmt.Errorf("%w: department: issuer key does not match issuer certificate", ErrCertificate)
	}
	if err := checkUSCCShape(uscc); err != nil {
		return nil, err
	}
	if err := checkCertArgs(pub, name, notBefore, notAfter); err != nil {
		return nil, fmt.Errorf("department: %w", err)
	}
	skid, err := subjectKeyID(pub)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &smx509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:   name,
			Organization: []string{name},
			SerialNumber: uscc,
			Country:      []string{"CN"},
		},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		IsCA:                  false,
		KeyUsage:              smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment,
		SubjectKeyId:          skid,
		SignatureAlgorithm:    smx509.SM2WithSM3,
	}
	return createCertificate(tmpl, issuerCert, pub, issuer)
}

func createCertificate(tmpl, parent *smx509.Certificate, pub *ecdsa.PublicKey, s Signer) (*smx509.Certificate, error) {
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, parent, pub, CryptoSigner(s))
	if err != nil {
		return nil, fmt.Errorf("%w: create: %w", ErrCertificate, err)
	}
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: parse new certificate: %w", ErrCertificate, err)
	}
	return c, nil
}

func checkCertArgs(pub *ecdsa.PublicKey, name string, notBefore, notAfter time.Time) error {
	if !isSM2Key(pub) {
		return fmt.Errorf("%w: subject key", ErrNotSM2)
	}
	if name == "" {
		return fmt.Errorf("%w: empty subject name", ErrCertificate)
	}
	if notBefore.IsZero() || !notAfter.After(notBefore) {
		return fmt.Errorf("%w: validity %s to %s is empty", ErrCertificate, notBefore.Format(time.RFC3339), notAfter.Format(time.RFC3339))
	}
	return nil
}

// usccAlphabet is the GB 32100 character set: digits and capitals without I, O, S, V, Z.
const usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

func checkUSCCShape(uscc string) error {
	if len(uscc) != 18 {
		return fmt.Errorf("%w: USCC has %d characters, want 18", ErrCertificate, len(uscc))
	}
	for i := 0; i < len(uscc); i++ {
		if !containsByte(usccAlphabet, uscc[i]) {
			return fmt.Errorf("%w: USCC character %d is not in the GB 32100 alphabet", ErrCertificate, i+1)
		}
	}
	return nil
}

func containsByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}

// randomSerial returns a uniformly random positive serial below 2^128.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("%w: serial: %w", ErrCertificate, err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// subjectKeyID is the leftmost 160 bits of SM3 over the subjectPublicKey BIT
// STRING value (RFC 7093 method 1 with SM3 in place of SHA-256).
func subjectKeyID(pub *ecdsa.PublicKey) ([]byte, error) {
	der, err := MarshalPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("%w: subject public key: %w", ErrMalformed, err)
	}
	h := sm3.Sum(spki.PublicKey.Bytes)
	return h[:20], nil
}

// DepartmentUSCC returns the department's unified social credit code: the
// subject serialNumber attribute (OID 2.5.4.5) of c, or "" if absent.
func DepartmentUSCC(c *smx509.Certificate) string {
	if c == nil {
		return ""
	}
	return c.Subject.SerialNumber
}

// KeyID returns the key id of a signer certificate: lowercase hex of the first
// 8 bytes of SM3 over its DER.
func KeyID(certDER []byte) string {
	h := sm3.Sum(certDER)
	return hex.EncodeToString(h[:8])
}

// VerifyDepartmentCertificate checks that c is a department certificate that
// chains to one of roots at time at: signatures, validity periods, CA
// constraints, KeyUsage DigitalSignature on the leaf, SM2 throughout and a
// USCC in the subject. roots must not be empty (the system roots are never
// used) and at must not be zero. Failures wrap ErrCertificate and, where the
// chain check failed, the smx509 error.
func VerifyDepartmentCertificate(c *smx509.Certificate, roots []*smx509.Certificate, at time.Time) error {
	if c == nil {
		return fmt.Errorf("%w: nil certificate", ErrCertificate)
	}
	if len(roots) == 0 {
		return fmt.Errorf("%w: no trusted roots", ErrCertificate)
	}
	if at.IsZero() {
		return fmt.Errorf("%w: no verification time", ErrCertificate)
	}
	if c.SignatureAlgorithm != smx509.SM2WithSM3 || !isSM2Key(c.PublicKey) {
		return fmt.Errorf("%w: department certificate: %w", ErrCertificate, ErrNotSM2)
	}
	if c.IsCA {
		return fmt.Errorf("%w: department certificate is a CA", ErrCertificate)
	}
	if c.KeyUsage&smx509.KeyUsageDigitalSignature == 0 {
		return fmt.Errorf("%w: department certificate lacks KeyUsage digitalSignature", ErrCertificate)
	}
	if DepartmentUSCC(c) == "" {
		return fmt.Errorf("%w: department certificate has no USCC (subject serialNumber)", ErrCertificate)
	}
	pool := smx509.NewCertPool()
	for _, r := range roots {
		if r == nil {
			continue
		}
		if r.SignatureAlgorithm != smx509.SM2WithSM3 || !isSM2Key(r.PublicKey) {
			return fmt.Errorf("%w: root %q: %w", ErrCertificate, r.Subject.CommonName, ErrNotSM2)
		}
		pool.AddCert(r)
	}
	opts := smx509.VerifyOptions{
		Roots:       pool,
		CurrentTime: at,
		KeyUsages:   []smx509.ExtKeyUsage{smx509.ExtKeyUsageAny},
	}
	if _, err := c.Verify(opts); err != nil {
		return fmt.Errorf("%w: %w", ErrCertificate, err)
	}
	return nil
}

// EncodeCertificatePEM wraps certificate DER in a PEM "CERTIFICATE" block.
func EncodeCertificatePEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemCertificate, Bytes: der})
}

// ParseCertificatePEM parses the first PEM block of pemBytes, which must be a
// "CERTIFICATE" holding an SM2-with-SM3 certificate with an SM2 key. Anything
// else gives ErrMalformed or ErrNotSM2.
func ParseCertificatePEM(pemBytes []byte) (*smx509.Certificate, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block in certificate", ErrMalformed)
	}
	if block.Type != pemCertificate {
		return nil, fmt.Errorf("%w: PEM type %q, want %q", ErrMalformed, block.Type, pemCertificate)
	}
	c, err := smx509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate: %w", ErrMalformed, err)
	}
	if c.SignatureAlgorithm != smx509.SM2WithSM3 || !isSM2Key(c.PublicKey) {
		return nil, fmt.Errorf("certificate %q: %w", c.Subject.CommonName, ErrNotSM2)
	}
	return c, nil
}

// MarshalPublicKey returns the PKIX (SubjectPublicKeyInfo) DER of an SM2
// public key. A key on another curve gives ErrNotSM2.
func MarshalPublicKey(pub *ecdsa.PublicKey) ([]byte, error) {
	if !isSM2Key(pub) {
		return nil, fmt.Errorf("%w: marshal public key", ErrNotSM2)
	}
	der, err := smx509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("signing: marshal public key: %w", err)
	}
	return der, nil
}

// ParsePublicKey parses PKIX (SubjectPublicKeyInfo) DER holding an SM2 public
// key. Bad DER gives ErrMalformed; any other key type or curve gives ErrNotSM2.
func ParsePublicKey(der []byte) (*ecdsa.PublicKey, error) {
	key, err := smx509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: public key: %w", ErrMalformed, err)
	}
	pub, ok := key.(*ecdsa.PublicKey)
	if !ok || !isSM2Key(pub) {
		return nil, fmt.Errorf("%w: parsed public key is %T", ErrNotSM2, key)
	}
	return pub, nil
}
