package credential

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mr-tron/base58"

	"zhengzhao/signing"
)

// generic decodes a credential as encoding/json sees it, for editing.
func generic(t testing.TB, data []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func encode(t testing.TB, m map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func obj(m map[string]any, key string) map[string]any { return m[key].(map[string]any) }

// prettyReversed writes v as indented JSON with every object's members in
// reverse order: different bytes, same JCS form.
func prettyReversed(v any, indent string) string {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		slices.Reverse(keys)
		var b strings.Builder
		b.WriteString("{\n")
		for i, k := range keys {
			kb, _ := json.Marshal(k)
			fmt.Fprintf(&b, "%s  %s :  %s", indent, kb, prettyReversed(x[k], indent+"  "))
			if i < len(keys)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString(indent + "}")
		return b.String()
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = prettyReversed(e, indent+"  ")
		}
		return "[ " + strings.Join(parts, " ,\t") + " ]"
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// escapeNonASCII rewrites every non-ASCII character of the JSON text as a
// \u escape (a surrogate pair above U+FFFF) and every "/" as "\/".
func escapeNonASCII(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '/':
			b.WriteString(`\/`)
		case r < 0x80:
			b.WriteRune(r)
		case r < 0x10000:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		}
	}
	return b.String()
}

func TestVerifyProofTamper(t *testing.T) {
	signed := readTestdata(t, signedFile)
	key := vectorKey(t)
	other, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) func(t testing.TB) []byte {
		return func(t testing.TB) []byte {
			m := generic(t, signed)
			f(m)
			return encode(t, m)
		}
	}
	sig, err := base58.Decode(strings.TrimPrefix(loadVector(t).ProofValue, "z"))
	if err != nil {
		t.Fatal(err)
	}
	flipped := slices.Clone(sig)
	flipped[63] ^= 1

	tests := []struct {
		name       string
		doc        func(t testing.TB) []byte
		wrongKey   bool
		wantReason string // "" = must verify
	}{
		{name: "as stored", doc: func(testing.TB) []byte { return signed }},
		{name: "reordered and indented", doc: func(t testing.TB) []byte {
			return []byte(" \r\n" + prettyReversed(generic(t, signed), "") + "\n\t ")
		}},
		{name: "unicode and solidus escapes", doc: func(testing.TB) []byte { return []byte(escapeNonASCII(string(signed))) }},
		{name: "changed holder", wantReason: ReasonSignature, doc: edit(func(m map[string]any) {
			obj(m, "credentialSubject")["holder"] = "湖南麓山软件科技有限公同"
		})},
		{name: "changed type-specific field", wantReason: ReasonSignature, doc: edit(func(m map[string]any) {
			obj(obj(m, "credentialSubject"), "fields")["registeredCapital"] = "9000万元人民币"
		})},
		{name: "changed validUntil", wantReason: ReasonSignature, doc: edit(func(m map[string]any) {
			m["validUntil"] = "2099-12-31T15:59:59Z"
		})},
		{name: "changed status index", wantReason: ReasonSignature, doc: edit(func(m map[string]any) {
			m["credentialStatus"].([]any)[0].(map[string]any)["statusListIndex"] = "94568"
		})},
		{name: "dropped status entry", wantReason: ReasonSignature, doc: edit(func(m map[string]any) {
			m["credentialStatus"] = []any{}
		})},
		{name: "changed proof.created", wantReason: ReasonSignature, doc: edit(func(m map[string]any) {
			obj(m, "proof")["created"] = "2025-01-01T01:30:01Z"
		})},
		{name: "changed verificationMethod", wantReason: ReasonSignature, doc: edit(func(m map[string]any) {
			obj(m, "proof")["verificationMethod"] = "urn:uscc:11430000006122244L#0000000000000000"
		})},
		{name: "unknown member at top level", wantReason: ReasonSignature, doc: edit(func(m map[string]any) {
			m["evidence"] = []any{"none"}
		})},
		{name: "unknown member in subject", wantReason: ReasonSignature, doc: edit(func(m map[string]any) {
			obj(m, "credentialSubject")["remark"] = "x"
		})},
		{name: "unknown member in issuer", wantReason: ReasonSignature, doc: edit(func(m map[string]any) {
			obj(m, "issuer")["url"] = "https://example.org"
		})},
		{name: "unknown member in proof", wantReason: ReasonSignature, doc: edit(func(m map[string]any) {
			obj(m, "proof")["nonce"] = "1"
		})},
		{name: "extra context", wantReason: ReasonSignature, doc: edit(func(m map[string]any) {
			m["@context"] = append(m["@context"].([]any), "https://example.org/ctx")
		})},
		{name: "number added", wantReason: ReasonSignature, doc: edit(func(m map[string]any) {
			m["n"] = json.Number("1")
		})},
		{name: "signature bit flipped", wantReason: ReasonSignature, doc: edit(func(m map[string]any) {
			obj(m, "proof")["proofValue"] = "z" + base58.Encode(flipped)
		})},
		{name: "signature truncated", wantReason: ReasonEncoding, doc: edit(func(m map[string]any) {
			obj(m, "proof")["proofValue"] = "z" + base58.Encode(sig[:63])
		})},
		{name: "signature with extra byte", wantReason: ReasonEncoding, doc: edit(func(m map[string]any) {
			obj(m, "proof")["proofValue"] = "z" + base58.Encode(append(slices.Clone(sig), 0))
		})},
		{name: "proofValue base64url multibase", wantReason: ReasonEncoding, doc: edit(func(m map[string]any) {
			obj(m, "proof")["proofValue"] = "u" + base58.Encode(sig)
		})},
		{name: "proofValue not base58", wantReason: ReasonEncoding, doc: edit(func(m map[string]any) {
			obj(m, "proof")["proofValue"] = "z0OIl" + base58.Encode(sig)[5:]
		})},
		{name: "proofValue non-canonical leading 1", wantReason: ReasonEncoding, doc: edit(func(m map[string]any) {
			obj(m, "proof")["proofValue"] = "z1" + base58.Encode(sig)
		})},
		{name: "proofValue huge", wantReason: ReasonEncoding, doc: edit(func(m map[string]any) {
			obj(m, "proof")["proofValue"] = "z" + strings.Repeat("2", 100000)
		})},
		{name: "proofValue missing", wantReason: ReasonEncoding, doc: edit(func(m map[string]any) {
			delete(obj(m, "proof"), "proofValue")
		})},
		{name: "wrong cryptosuite", wantReason: ReasonCryptosuite, doc: edit(func(m map[string]any) {
			obj(m, "proof")["cryptosuite"] = "ecdsa-jcs-2019"
		})},
		{name: "cryptosuite missing", wantReason: ReasonCryptosuite, doc: edit(func(m map[string]any) {
			delete(obj(m, "proof"), "cryptosuite")
		})},
		{name: "wrong proof type", wantReason: ReasonType, doc: edit(func(m map[string]any) {
			obj(m, "proof")["type"] = "Ed25519Signature2020"
		})},
		{name: "wrong purpose", wantReason: ReasonPurpose, doc: edit(func(m map[string]any) {
			obj(m, "proof")["proofPurpose"] = "authentication"
		})},
		{name: "verificationMethod missing", wantReason: ReasonVerificationMethod, doc: edit(func(m map[string]any) {
			delete(obj(m, "proof"), "verificationMethod")
		})},
		{name: "other key", wrongKey: true, wantReason: ReasonSignature, doc: func(testing.TB) []byte { return signed }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.doc(t))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			pub := &key.PublicKey
			if tt.wrongKey {
				pub = &other.PublicKey
			}
			err = c.VerifyProof(pub)
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("VerifyProof: %v, want success", err)
				}
				checkHashes(t, tt.name, c, loadVector(t))
				return
			}
			if !errors.Is(err, ErrProof) {
				t.Fatalf("VerifyProof = %v, want ErrProof", err)
			}
			var pe *ProofError
			if !errors.As(err, &pe) || pe.Reason != tt.wantReason {
				t.Fatalf("VerifyProof = %v, want reason %q", err, tt.wantReason)
			}
			if tt.wantReason == ReasonSignature && !errors.Is(err, signing.ErrBadSignature) {
				t.Errorf("VerifyProof = %v, want it to wrap signing.ErrBadSignature", err)
			}
		})
	}
}

func TestSignature(t *testing.T) {
	c := signedVector(t)
	got, err := c.Signature()
	if err != nil {
		t.Fatal(err)
	}
	want, err := base58.Decode(strings.TrimPrefix(loadVector(t).ProofValue, "z"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) || len(got) != 64 {
		t.Errorf("Signature() = %x, want %x", got, want)
	}

	unsigned, err := New(vectorInput().Record, vectorInput().IssuerName, nil)
	if err != nil {
		t.Fatal(err)
	}
	var pe *ProofError
	if _, err := unsigned.Signature(); !errors.As(err, &pe) || pe.Reason != ReasonMissing {
		t.Errorf("unsigned Signature() error = %v, want reason %q", err, ReasonMissing)
	}
	if _, _, err := unsigned.Hashes(); !errors.As(err, &pe) || pe.Reason != ReasonMissing {
		t.Errorf("unsigned Hashes() error = %v, want reason %q", err, ReasonMissing)
	}
	if err := unsigned.VerifyProof(&vectorKey(t).PublicKey); !errors.As(err, &pe) || pe.Reason != ReasonMissing {
		t.Errorf("unsigned VerifyProof() error = %v, want reason %q", err, ReasonMissing)
	}
}

// TestHashesCoverParsedDocument: the proof functions see the document as
// parsed, not later edits of the exported fields; Sign brings them in.
func TestHashesCoverParsedDocument(t *testing.T) {
	c := signedVector(t)
	key := vectorKey(t)
	c.CredentialSubject.Holder = "someone else"
	if err := c.VerifyProof(&key.PublicKey); err != nil {
		t.Fatalf("VerifyProof after editing fields: %v, want the parsed document to verify", err)
	}
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	edited, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := edited.VerifyProof(&key.PublicKey); !errors.Is(err, ErrProof) {
		t.Fatalf("VerifyProof of the edited bytes = %v, want ErrProof", err)
	}
	if err := c.Sign(signing.NewKeySigner(key), c.Proof.VerificationMethod, mustTime(t, c.Proof.Created)); err != nil {
		t.Fatal(err)
	}
	if err := c.VerifyProof(&key.PublicKey); err != nil {
		t.Fatalf("VerifyProof after re-signing: %v", err)
	}
	if _, dh, _ := c.Hashes(); bytes.Equal(dh, mustHex(t, loadVector(t).DocumentHash)) {
		t.Errorf("documentHash after re-signing an edited credential is unchanged")
	}
}
