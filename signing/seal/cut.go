package seal

import (
	"bytes"
	"time"

	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// CutSignature is an SES_Signature without its two constant parts, the
// seal's DER (tens of kilobytes) and the signer's certificate: what a
// registry keeps of each license's seal signature, the seal and the
// certificate kept once. Join puts them back.
type CutSignature struct {
	// Stripped is the SES_Signature's DER without the seal and the
	// certificate.
	Stripped []byte
	// SealOffset is where the seal's DER goes back, in the DER with the
	// certificate back.
	SealOffset int
	// CertOffset is where the certificate goes back, in Stripped.
	CertOffset int
}

// Join returns the SES_Signature's DER: Stripped with certDER put back at
// CertOffset, then sealDER at SealOffset. It returns nil when an offset
// lies outside what it cuts into.
func (c *CutSignature) Join(sealDER, certDER []byte) []byte {
	if c.CertOffset < 0 || c.CertOffset > len(c.Stripped) || c.SealOffset < 0 || c.SealOffset > len(c.Stripped)+len(certDER) {
		return nil
	}
	withCert := make([]byte, 0, len(c.Stripped)+len(certDER)+len(sealDER))
	withCert = append(append(append(withCert, c.Stripped[:c.CertOffset]...), certDER...), c.Stripped[c.CertOffset:]...)
	out := make([]byte, 0, len(withCert)+len(sealDER))
	return append(append(append(out, withCert[:c.SealOffset]...), sealDER...), withCert[c.SealOffset:]...)
}

// SignCut is Sign, with the SES_Signature returned cut: the seal and the
// certificate are neither copied into it nor searched for in it.
func (st *Stamper) SignCut(dataHash []byte, at time.Time, propertyInfo string) (*CutSignature, error) {
	if st.digest == nil {
		der, err := st.Sign(dataHash, at, propertyInfo)
		if err != nil {
			return nil, err
		}
		return cutKnown(der, st.seal.Raw, st.cert.Raw), nil
	}
	tb, sig, err := st.signTBS(dataHash, at, propertyInfo)
	if err != nil {
		return nil, err
	}
	return tb.marshalCut(st.cert.Raw, sig)
}

// cutKnown cuts the seal, then the certificate, out of an SES_Signature
// made with them.
func cutKnown(der, sealDER, certDER []byte) *CutSignature {
	c := &CutSignature{Stripped: der, SealOffset: -1, CertOffset: -1}
	if i := bytes.Index(der, sealDER); i >= 0 {
		c.Stripped, c.SealOffset = append(bytes.Clone(der[:i]), der[i+len(sealDER):]...), i
	}
	if j := bytes.Index(c.Stripped, certDER); j >= 0 {
		c.Stripped, c.CertOffset = append(bytes.Clone(c.Stripped[:j]), c.Stripped[j+len(certDER):]...), j
	}
	return c
}

// marshalCut is marshalSignature with the seal and the certificate left
// out of the DER and their places noted.
func (t *tbsSign) marshalCut(certDER, sigDER []byte) (*CutSignature, error) {
	n := derLen(len(certDER)) + len(sigAlgDER) + derLen(len(sigDER)+1)
	for _, b := range t.parts() {
		n += len(b)
	}
	if derLen(n) > MaxSize {
		return nil, invalid("SES_Signature of %d bytes exceeds the %d-byte limit", derLen(n), MaxSize)
	}
	c := &CutSignature{}
	der := make([]byte, 0, derLen(n)-len(t.seal)-len(certDER))
	der = appendDERHead(der, casn1.SEQUENCE, n)
	der = append(append(der, t.head...), tbsVersion4...)
	c.SealOffset = len(der)
	der = append(der, t.tail...)
	der = appendDERHead(der, casn1.OCTET_STRING, len(certDER))
	c.CertOffset = len(der)
	der = append(der, sigAlgDER...)
	der = append(appendDERHead(der, casn1.BIT_STRING, len(sigDER)+1), 0) // no unused bits
	c.Stripped = append(der, sigDER...)
	return c, nil
}
