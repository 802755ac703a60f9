package credential

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm2"

	"zhengzhao/license"
)

// FuzzParseCompact feeds ParseCompact arbitrary text. Properties: no panic;
// every error is a *FormatError wrapping ErrFormat; whatever it accepts is
// within the limits, and VerifySignature on it returns a *ProofError or nil,
// never panics.
//
// Run it with a count, not a duration: go test ./credential -run '^$'
// -fuzz FuzzParseCompact -fuzztime 200000x (a time-limited run can hit Go
// issue 75804).
func FuzzParseCompact(f *testing.F) {
	v := loadCompactVector(f).Compact
	f.Add(v)
	f.Add(strings.Replace(v, "ZZ1:", "ZZ1:0", 1))
	f.Add(v[:len(v)-3])
	f.Add("ZZ1:")
	f.Add("ZZ1:GGW")
	f.Add("ZZ1:" + string(appendBase45(nil, []byte{0x78, 0xda, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})))
	key := vectorKey(f)
	f.Fuzz(func(t *testing.T, s string) { checkParseCompact(t, s, key) })
}

// FuzzParseCompactCOSE fuzzes what lies under zlib, which FuzzParseCompact
// rarely reaches past the checksum: the bytes are compressed and encoded
// before ParseCompact sees them. The properties are FuzzParseCompact's.
func FuzzParseCompactCOSE(f *testing.F) {
	v := loadCompactVector(f)
	cose := mustHex(f, v.COSE)
	f.Add(cose)
	f.Add(cose[1:])
	f.Add(append(bytes.Clone(cose), 0))
	f.Add(bytes.Replace(cose, []byte{0x3a, 0x00, 0x01, 0x00, 0x00}, []byte{0x26, 0, 0, 0, 0}, 1))
	f.Add(bytes.Replace(cose, []byte("**************345A"), []byte("91430100MA4L12345A"), 1))
	key := vectorKey(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxCompactInflated {
			return
		}
		s := wrapCompact(t, data)
		if len(s) > MaxCompactLen {
			return
		}
		checkParseCompact(t, s, key)
	})
}

// checkParseCompact checks the fuzz properties for one input.
func checkParseCompact(t *testing.T, s string, key *sm2.PrivateKey) {
	c, err := ParseCompact(s)
	if err != nil {
		var fe *FormatError
		if !errors.Is(err, ErrFormat) || !errors.As(err, &fe) {
			t.Fatalf("error %v is not a *FormatError wrapping ErrFormat", err)
		}
		return
	}
	if c == nil {
		t.Fatal("nil Compact without an error")
	}
	if len(s) > MaxCompactLen || !strings.HasPrefix(s, CompactPrefix) {
		t.Fatalf("accepted %d characters / prefix %.4q", len(s), s)
	}
	if license.ValidateUSCC(c.Issuer) != nil {
		t.Fatalf("accepted issuer %q", c.Issuer)
	}
	if id, err := license.ParseIdentifier(c.Identifier); err != nil || id.IssuerUSCC != c.Issuer || id.TypeCode != c.TypeCode {
		t.Fatalf("accepted identifier %q (issuer %q, type %q): %v", c.Identifier, c.Issuer, c.TypeCode, err)
	}
	for name, text := range map[string]string{"typeName": c.TypeName, "holder": c.Holder, "issuerName": c.IssuerName} {
		if utf8.RuneCountInString(text) > maxCompactName || !utf8.ValidString(text) {
			t.Fatalf("accepted %s of %d characters", name, utf8.RuneCountInString(text))
		}
	}
	if c.TypeName == "" || c.Holder == "" || c.HolderCodeMasked == "" {
		t.Fatal("accepted an empty required claim")
	}
	if utf8.RuneCountInString(strings.TrimLeft(c.HolderCodeMasked, "*")) > holderCodeVisible {
		t.Fatalf("accepted holder code %q", c.HolderCodeMasked)
	}
	if c.StatusIndex < 0 || c.StatusIndex >= ListSize || c.StatusList < 0 || c.StatusList > maxListNumber {
		t.Fatalf("accepted status list %d, index %d", c.StatusList, c.StatusIndex)
	}
	if c.IssuedAt.Unix() < 0 || c.IssuedAt.Unix() > maxNumericDate || (c.Expires != nil && (c.Expires.Unix() < 0 || c.Expires.Unix() > maxNumericDate)) {
		t.Fatalf("accepted times %v, %v", c.IssuedAt, c.Expires)
	}
	if c.Alg != AlgSM2SM3 || len(c.KeyID) != 16 || len(c.signature) != signatureLen {
		t.Fatalf("accepted alg %d, kid %q, %d-byte signature", c.Alg, c.KeyID, len(c.signature))
	}
	if !bytes.HasPrefix(c.sigStructure, []byte("\x84\x6aSignature1")) {
		t.Fatalf("Sig_structure %x", c.sigStructure)
	}
	if err := c.VerifySignature(&key.PublicKey); err != nil {
		var pe *ProofError
		if !errors.As(err, &pe) || !errors.Is(err, ErrProof) {
			t.Fatalf("VerifySignature error %v is not a *ProofError", err)
		}
	}
}

// FuzzBase45 checks that decoding is the exact inverse of encoding: a text
// that decodes is the one encoding of its bytes.
func FuzzBase45(f *testing.F) {
	for _, s := range []string{"BB8", "%69 VD92EX0", "UJCLQE7W581", "QED8WEX0", "GGW", "FGW", "U5", "V5", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := decodeBase45(s)
		if err != nil {
			if !errors.Is(err, errBase45) {
				t.Fatalf("error %v does not wrap errBase45", err)
			}
			return
		}
		if got := string(appendBase45(nil, b)); got != s {
			t.Fatalf("decode(%q) = %x, which encodes as %q", s, b, got)
		}
	})
}
