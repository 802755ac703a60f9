package credential

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"zhengzhao/signing"
)

// compactVector is testdata/compact-vector.json: the compact form of
// testdata/signed.json under the fixed key of testdata/vector.json. SM2
// signatures are randomized, so one encoding is stored and verified; the
// protected header, the claims and the Sig_structure are deterministic and
// rebuilt. docs/compact-qr.md quotes it.
type compactVector struct {
	Comment      string `json:"comment"`
	PrivateKey   string `json:"privateKey"` // hex d
	PublicKey    string `json:"publicKey"`  // hex 04‖x‖y
	Credential   string `json:"credential"` // the signed credential it is made from
	KeyID        string `json:"keyID"`
	IssuedAt     string `json:"issuedAt"`
	Protected    string `json:"protected"`    // hex, the protected header bstr's content
	Payload      string `json:"payload"`      // hex, the CWT claims map
	SigStructure string `json:"sigStructure"` // hex, the bytes SM2 signs
	Signature    string `json:"signature"`    // hex r‖s
	COSE         string `json:"cose"`         // hex, tag 18 COSE_Sign1 (what zlib compresses)
	Compact      string `json:"compact"`      // the QR text
}

const compactVectorFile = "testdata/compact-vector.json"

// compactVectorInput makes the deterministic parts of the vector and a fresh
// encoding.
func compactVectorInput(t *testing.T) (compactVector, string) {
	t.Helper()
	key := vectorKey(t)
	c := signedVector(t)
	_, keyID, err := ParseVerificationMethod(c.Proof.VerificationMethod)
	if err != nil {
		t.Fatal(err)
	}
	in := loadVector(t)
	at := mustTime(t, in.Created)
	qr, err := EncodeCompact(c, signing.NewKeySigner(key), keyID, at)
	if err != nil {
		t.Fatal(err)
	}
	sign1 := decodeSign1(t, qr)
	parsed, err := ParseCompact(qr)
	if err != nil {
		t.Fatal(err)
	}
	return compactVector{
		Comment:      "compact QR form (docs/compact-qr.md) of signed.json; regenerate with: go test ./credential -run TestCompactVector -update",
		PrivateKey:   vectorKeyHex,
		PublicKey:    publicKeyHex(key),
		Credential:   signedFile,
		KeyID:        keyID,
		IssuedAt:     at.UTC().Format(time.RFC3339),
		Protected:    hex.EncodeToString(sign1.Protected),
		Payload:      hex.EncodeToString(sign1.Payload),
		SigStructure: hex.EncodeToString(parsed.sigStructure),
	}, qr
}

func generateCompactVector(t *testing.T) {
	v, qr := compactVectorInput(t)
	// Keep the stored encoding while its signed bytes are unchanged.
	if b, err := os.ReadFile(compactVectorFile); err == nil {
		var old compactVector
		if json.Unmarshal(b, &old) == nil && old.SigStructure == v.SigStructure {
			if c, err := ParseCompact(old.Compact); err == nil && c.VerifySignature(&vectorKey(t).PublicKey) == nil {
				qr = old.Compact
			}
		}
	}
	c, err := ParseCompact(qr)
	if err != nil {
		t.Fatal(err)
	}
	v.Signature = hex.EncodeToString(c.signature)
	v.COSE = hex.EncodeToString(inflateCompact(t, qr))
	v.Compact = qr
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(compactVectorFile, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", compactVectorFile)
}

func loadCompactVector(t testing.TB) compactVector {
	t.Helper()
	var v compactVector
	if err := json.Unmarshal(readTestdata(t, compactVectorFile), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestCompactVector checks the stored vector: the deterministic parts are
// rebuilt and compared byte for byte, and the stored encoding parses,
// carries them and verifies.
func TestCompactVector(t *testing.T) {
	if *update {
		generateCompactVector(t)
	}
	v := loadCompactVector(t)
	want, _ := compactVectorInput(t)
	for _, ck := range []struct{ name, got, want string }{
		{"privateKey", v.PrivateKey, want.PrivateKey},
		{"publicKey", v.PublicKey, want.PublicKey},
		{"keyID", v.KeyID, want.KeyID},
		{"issuedAt", v.IssuedAt, want.IssuedAt},
		{"protected", v.Protected, want.Protected},
		{"payload", v.Payload, want.Payload},
		{"sigStructure", v.SigStructure, want.SigStructure},
	} {
		if ck.got != ck.want {
			t.Errorf("%s = %s, rebuilt %s", ck.name, ck.got, ck.want)
		}
	}

	c, err := ParseCompact(v.Compact)
	if err != nil {
		t.Fatalf("stored compact form: %v", err)
	}
	pub, err := sm2.NewPublicKey(mustHex(t, v.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.VerifySignature(pub); err != nil {
		t.Errorf("stored compact form: %v", err)
	}
	if got := hex.EncodeToString(c.sigStructure); got != v.SigStructure {
		t.Errorf("stored compact form: Sig_structure %s, want %s", got, v.SigStructure)
	}
	if got := hex.EncodeToString(c.signature); got != v.Signature {
		t.Errorf("stored compact form: signature %s, want %s", got, v.Signature)
	}
	if got := hex.EncodeToString(inflateCompact(t, v.Compact)); got != v.COSE {
		t.Errorf("stored compact form inflates to %s, want cose %s", got, v.COSE)
	}
	// The COSE_Sign1 is the protected header, an empty unprotected header,
	// the payload and the signature, in that order.
	sign1 := decodeSign1(t, v.Compact)
	if !bytes.Equal(sign1.Protected, mustHex(t, v.Protected)) || !bytes.Equal(sign1.Payload, mustHex(t, v.Payload)) {
		t.Errorf("stored compact form does not carry the vector's protected header and payload")
	}
	if got, want := appendSigStructure(nil, mustHex(t, v.Protected), mustHex(t, v.Payload)), mustHex(t, v.SigStructure); !bytes.Equal(got, want) {
		t.Errorf("Sig_structure of protected and payload = %x, want %x", got, want)
	}

	s := signedVector(t)
	for _, ck := range []struct{ name, got, want string }{
		{"Issuer", c.Issuer, "11430000006122244L"},
		{"IssuerName", c.IssuerName, s.Issuer.Name},
		{"Identifier", c.Identifier, s.Identifier()},
		{"TypeCode", c.TypeCode, s.CredentialSubject.TypeCode},
		{"TypeName", c.TypeName, s.CredentialSubject.Name},
		{"Holder", c.Holder, s.CredentialSubject.Holder},
		{"HolderCodeMasked", c.HolderCodeMasked, "**************345A"},
		{"KeyID", c.KeyID, v.KeyID},
		{"IssuedAt", c.IssuedAt.Format(time.RFC3339), v.IssuedAt},
		{"Expires", c.Expires.Format(timeLayout), s.ValidUntil},
	} {
		if ck.got != ck.want {
			t.Errorf("stored compact form: %s = %q, want %q", ck.name, ck.got, ck.want)
		}
	}
	// signed.json's entry is index 94567 of list 1.
	if c.StatusIndex != 94567 || c.StatusList != 1 {
		t.Errorf("StatusIndex, StatusList = %d, %d; want 94567, 1", c.StatusIndex, c.StatusList)
	}
}

// TestCompactSpecQuotesVector keeps docs/compact-qr.md in step with the
// vector.
func TestCompactSpecQuotesVector(t *testing.T) {
	spec := string(readTestdata(t, "../docs/compact-qr.md"))
	v := loadCompactVector(t)
	for name, want := range map[string]string{
		"compact":   v.Compact,
		"keyID":     v.KeyID,
		"protected": v.Protected,
		"payload":   v.Payload,
		"signature": v.Signature,
		"private":   v.PrivateKey,
		"alg":       "-65537",
		"prefix":    CompactPrefix,
	} {
		if !strings.Contains(spec, want) {
			t.Errorf("docs/compact-qr.md does not quote the vector's %s %.60q", name, want)
		}
	}
}
