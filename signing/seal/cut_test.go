package seal

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// A stamp made cut joins back to exactly the reference SES_Signature of
// its TBS_Sign and signature value, which verifies; with a signer that is
// not a digest signer the cut is found in the whole stamp; the cut leaves
// neither the seal nor the certificate in Stripped.
func TestSignCut(t *testing.T) {
	w := newWorld(t)
	big := newWorld(t)
	big.picture = Picture{Type: "PNG", Data: noisyPNG(t, 100), WidthMM: 42, HeightMM: 42}
	for _, w := range []*world{w, big} {
		s := w.seal(t)
		digest, err := NewStamper(w.deptKey, w.dept, s)
		if err != nil {
			t.Fatal(err)
		}
		whole, err := NewStamper(hashingOnly{w.deptKey}, w.dept, s)
		if err != nil {
			t.Fatal(err)
		}
		for i, info := range []string{"license:44-1.2.156.3005.2.11100000000013127D.001-000001-1", "", strings.Repeat("p", 300)} {
			at := signedAt.Add(time.Duration(i) * 1500 * time.Millisecond)
			for _, st := range []*Stamper{digest, whole} {
				c, err := st.SignCut(docHash(), at, info)
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(c.Stripped, w.dept.Raw) || len(c.Stripped) > 1024 {
					t.Fatalf("Stripped is %d bytes and holds the certificate", len(c.Stripped))
				}
				der := c.Join(s.Raw, w.dept.Raw)
				sig := parseSig(t, der)
				tbs, err := refEncodeTBS(s, docHash(), at, info)
				if err != nil {
					t.Fatal(err)
				}
				want, err := refMarshalSignature(tbs, w.dept.Raw, sig.Value)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(der, want) {
					t.Fatalf("seal of %d bytes, propertyInfo %q: the joined stamp differs from the reference encoding", len(s.Raw), info)
				}
				if err := VerifySignature(sig, document, w.roots()); err != nil {
					t.Fatal(err)
				}
				if k := cutKnown(der, s.Raw, w.dept.Raw); !bytes.Equal(k.Stripped, c.Stripped) || k.SealOffset != c.SealOffset || k.CertOffset != c.CertOffset {
					t.Errorf("cut made %+v, cut found %+v", c, k)
				}
			}
		}
		if _, err := digest.SignCut(docHash(), s.ValidEnd.Add(time.Hour), ""); err == nil {
			t.Error("a cut stamp after the seal ended")
		}
	}
	c := &CutSignature{Stripped: []byte{1, 2, 3}, SealOffset: 9, CertOffset: 1}
	if c.Join([]byte{7}, []byte{8}) != nil {
		t.Error("Join with an offset outside the signature")
	}
}
