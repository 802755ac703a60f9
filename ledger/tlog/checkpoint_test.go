package tlog

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/smx509"

	"zhengzhao/signing"
)

var update = flag.Bool("update", false, "rewrite testdata/checkpoint.json with a newly signed note")

const testOrigin = "zhengzhao.test/ledger"

func newSigner(t testing.TB) signing.Signer {
	t.Helper()
	k, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return signing.NewKeySigner(k)
}

// checkpointVector is testdata/checkpoint.json: a note signed once with a
// key that is then thrown away, and the public key that verifies it.
type checkpointVector struct {
	Origin    string `json:"origin"`
	Size      uint64 `json:"size"`
	Root      string `json:"root"` // hex
	PublicKey string `json:"public_key"`
	KeyHash   string `json:"key_hash"` // hex
	Note      string `json:"note"`
}

func TestCheckpointVector(t *testing.T) {
	const path = "testdata/checkpoint.json"
	if *update {
		s := newSigner(t)
		root := make([]byte, HashSize)
		for i := range root {
			root[i] = byte(i)
		}
		cp := Checkpoint{Origin: "zhengzhao.example.gov.cn/ledger", Size: 1234567, Root: root}
		note, err := SignCheckpoint(cp, cp.Origin, s)
		if err != nil {
			t.Fatal(err)
		}
		der, err := smx509.MarshalPKIXPublicKey(s.Public())
		if err != nil {
			t.Fatal(err)
		}
		kh, _ := KeyHash(cp.Origin, s.Public())
		v := checkpointVector{
			Origin: cp.Origin, Size: cp.Size, Root: hex.EncodeToString(root),
			PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
			KeyHash:   hex.EncodeToString(kh[:]), Note: note,
		}
		b, _ := json.MarshalIndent(v, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v checkpointVector
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(v.PublicKey))
	anyPub, err := smx509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pub := anyPub.(*ecdsa.PublicKey)

	kh, err := KeyHash(v.Origin, pub)
	if err != nil || hex.EncodeToString(kh[:]) != v.KeyHash {
		t.Fatalf("KeyHash = %x, %v; want %s", kh, err, v.KeyHash)
	}
	cp, err := VerifyCheckpoint(v.Note, v.Origin, pub)
	if err != nil {
		t.Fatalf("VerifyCheckpoint: %v", err)
	}
	if cp.Origin != v.Origin || cp.Size != v.Size || hex.EncodeToString(cp.Root) != v.Root {
		t.Fatalf("checkpoint %+v does not match the vector", cp)
	}
	wantBody := v.Origin + "\n1234567\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
	if !strings.HasPrefix(v.Note, wantBody+"\n— "+v.Origin+" ") {
		t.Fatalf("note layout:\n%s", v.Note)
	}
	line := strings.TrimSuffix(strings.TrimPrefix(v.Note, wantBody+"\n— "+v.Origin+" "), "\n")
	raw, err := base64.StdEncoding.DecodeString(line)
	if err != nil || len(raw) != 4+signing.SignatureSize || !bytes.Equal(raw[:4], kh[:]) {
		t.Fatalf("signature line %q: want base64 of the key hash and 64 bytes", line)
	}
	// The signature is a plain SM2 signature over the body.
	if err := signing.Verify(pub, []byte(wantBody), raw[4:]); err != nil {
		t.Fatalf("signing.Verify of the note body: %v", err)
	}
}

func TestSignVerifyCheckpoint(t *testing.T) {
	s := newSigner(t)
	other := newSigner(t)
	root := LeafHash([]byte("x"))
	cp := Checkpoint{Origin: testOrigin, Size: 42, Root: root}
	note, err := SignCheckpoint(cp, testOrigin, s)
	if err != nil {
		t.Fatal(err)
	}
	otherNote, err := SignCheckpoint(cp, testOrigin, other)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := cp.Body()
	sigLine := strings.TrimPrefix(note, body+"\n")
	otherLine := strings.TrimPrefix(otherNote, body+"\n")
	foreign := "— witness.example/w1 " + base64.StdEncoding.EncodeToString(make([]byte, 68)) + "\n"
	flipped := []byte(note)
	// A base64 character of the signature, replaced by another base64
	// character (XOR could make it '@' or '*', which is malformed, not forged).
	if i := len(body) + len("\n— "+testOrigin+" ") + 10; flipped[i] == 'A' {
		flipped[i] = 'B'
	} else {
		flipped[i] = 'A'
	}
	wrongOriginNote, _ := SignCheckpoint(Checkpoint{Origin: "other.example/log", Size: 42, Root: root}, testOrigin, s)

	tests := []struct {
		name string
		note string
		pub  *ecdsa.PublicKey
		want error
	}{
		{"good", note, s.Public(), nil},
		{"with a foreign cosignature first", body + "\n" + foreign + sigLine, s.Public(), nil},
		{"two signers, ours second", body + "\n" + otherLine + sigLine, s.Public(), nil},
		{"wrong key", note, other.Public(), ErrUnknownKey},
		{"bad signature", string(flipped), s.Public(), nil}, // decided below
		{"body changed", strings.Replace(note, "\n42\n", "\n43\n", 1), s.Public(), ErrBadSignature},
		{"wrong origin", wrongOriginNote, s.Public(), ErrWrongOrigin},
		{"no signature", body + "\n", s.Public(), ErrMalformed},
		{"no blank line", body + sigLine, s.Public(), ErrMalformed},
		{"no final newline", strings.TrimSuffix(note, "\n"), s.Public(), ErrMalformed},
		{"hyphen not em dash", body + "\n- " + strings.TrimPrefix(sigLine, "— "), s.Public(), ErrMalformed},
		{"control character", strings.Replace(note, testOrigin+"\n", testOrigin+"\t\n", 1), s.Public(), ErrMalformed},
		{"not UTF-8", "\xff" + note, s.Public(), ErrMalformed},
		{"too long", strings.Repeat("a", MaxNoteSize) + note, s.Public(), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := VerifyCheckpoint(tt.note, testOrigin, tt.pub)
			if tt.name == "bad signature" {
				// Flipping a base64 character changes the key hash or the
				// signature, depending on where it lands: either refuses.
				if !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrUnknownKey) {
					t.Fatalf("VerifyCheckpoint: %v, want a refusal", err)
				}
				return
			}
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("VerifyCheckpoint: %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("VerifyCheckpoint: %v", err)
			}
			if got.Size != 42 || !bytes.Equal(got.Root, root) || got.Origin != testOrigin {
				t.Fatalf("VerifyCheckpoint = %+v", got)
			}
		})
	}
}

func TestParseCheckpoint(t *testing.T) {
	sig := "— k " + base64.StdEncoding.EncodeToString(make([]byte, 68)) + "\n"
	root := base64.StdEncoding.EncodeToString(make([]byte, 32))
	tests := []struct {
		name string
		body string
		ok   bool
	}{
		{"good", "o\n5\n" + root + "\n", true},
		{"extension line", "o\n5\n" + root + "\next\n", true},
		{"size zero", "o\n0\n" + root + "\n", true},
		{"max size", "o\n18446744073709551615\n" + root + "\n", true},
		{"size overflow", "o\n18446744073709551616\n" + root + "\n", false},
		{"leading zero", "o\n05\n" + root + "\n", false},
		{"signed size", "o\n+5\n" + root + "\n", false},
		{"empty origin", "\n5\n" + root + "\n", false},
		{"short root", "o\n5\n" + base64.StdEncoding.EncodeToString(make([]byte, 31)) + "\n", false},
		{"unpadded root", "o\n5\n" + strings.TrimRight(root, "=") + "\n", false},
		{"missing root", "o\n5\n", false},
		{"empty extension line", "o\n5\n" + root + "\n\nx\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCheckpoint(tt.body + "\n" + sig)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseCheckpoint: %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseCheckpoint: %v, want ErrMalformed", err)
			}
		})
	}
}

func TestSignCheckpointRejects(t *testing.T) {
	s := newSigner(t)
	root := make([]byte, HashSize)
	tests := []struct {
		name string
		cp   Checkpoint
		key  string
	}{
		{"key name with space", Checkpoint{Origin: "o", Root: root}, "a b"},
		{"key name with plus", Checkpoint{Origin: "o", Root: root}, "a+b"},
		{"empty key name", Checkpoint{Origin: "o", Root: root}, ""},
		{"origin with newline", Checkpoint{Origin: "o\nx", Root: root}, "o"},
		{"empty origin", Checkpoint{Root: root}, "o"},
		{"short root", Checkpoint{Origin: "o", Root: root[:5]}, "o"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := SignCheckpoint(tt.cp, tt.key, s); !errors.Is(err, ErrMalformed) {
				t.Fatalf("SignCheckpoint: %v, want ErrMalformed", err)
			}
		})
	}
}
