package signing

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/pkcs"
	"github.com/emmansun/gmsm/pkcs8"
)

func TestEncryptDecryptPrivateKey(t *testing.T) {
	k := newTestKey(t)
	pass := []byte("correct horse battery staple")
	pemBytes, err := EncryptPrivateKey(k, pass)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(pemBytes, pass) {
		t.Fatal("PEM contains the passphrase")
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "ENCRYPTED PRIVATE KEY" {
		t.Fatalf("PEM block = %+v, want ENCRYPTED PRIVATE KEY", block)
	}
	if bytes.Contains(block.Bytes, k.D.Bytes()) {
		t.Fatal("DER contains the private scalar in clear")
	}

	got, err := DecryptPrivateKey(pemBytes, pass)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(k) {
		t.Fatal("decrypted key differs")
	}

	tests := []struct {
		name string
		pem  []byte
		pass []byte
		want error
	}{
		{"wrong passphrase", pemBytes, []byte("Correct horse battery staple"), ErrWrongPassphrase},
		{"passphrase prefix", pemBytes, pass[:len(pass)-1], ErrWrongPassphrase},
		{"empty passphrase", pemBytes, nil, ErrNoPassphrase},
		{"not PEM", []byte("hello"), pass, ErrMalformed},
		{"wrong PEM type", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: block.Bytes}), pass, ErrMalformed},
		{"truncated DER", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: block.Bytes[:len(block.Bytes)-1]}), pass, ErrMalformed},
		{"ciphertext not whole blocks", pemWithCiphertext(t, block.Bytes, func(c []byte) []byte { return c[:len(c)-1] }), pass, ErrMalformed},
		{"ciphertext altered", pemWithCiphertext(t, block.Bytes, func(c []byte) []byte { c[len(c)-20] ^= 1; return c }), pass, ErrWrongPassphrase},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecryptPrivateKey(tt.pem, tt.pass)
			if !errors.Is(err, tt.want) {
				t.Fatalf("DecryptPrivateKey = %v, want %v", err, tt.want)
			}
			if tt.pass != nil && strings.Contains(err.Error(), string(tt.pass)) {
				t.Error("error message contains the passphrase")
			}
		})
	}
}

// pemWithCiphertext re-encodes der with its encryptedData changed by f.
func pemWithCiphertext(t *testing.T, der []byte, f func([]byte) []byte) []byte {
	t.Helper()
	var info encryptedPrivateKeyInfo
	if _, err := asn1.Unmarshal(der, &info); err != nil {
		t.Fatal(err)
	}
	info.EncryptedData = f(bytes.Clone(info.EncryptedData))
	out, err := asn1.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: out})
}

// TestKeyEncryptionParameters reads the PBES2 parameters back with
// encoding/asn1 alone, independently of the code that wrote them.
func TestKeyEncryptionParameters(t *testing.T) {
	pemBytes, err := EncryptPrivateKey(newTestKey(t), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	var info struct {
		Algorithm pkix.AlgorithmIdentifier
		Data      []byte
	}
	if _, err := asn1.Unmarshal(block.Bytes, &info); err != nil {
		t.Fatal(err)
	}
	var params struct {
		KDF    pkix.AlgorithmIdentifier
		Cipher pkix.AlgorithmIdentifier
	}
	if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &params); err != nil {
		t.Fatal(err)
	}
	var kdf struct {
		Salt       []byte
		Iterations int
		KeyLength  int `asn1:"optional"`
		PRF        pkix.AlgorithmIdentifier
	}
	if _, err := asn1.Unmarshal(params.KDF.Parameters.FullBytes, &kdf); err != nil {
		t.Fatal(err)
	}
	var iv []byte
	if _, err := asn1.Unmarshal(params.Cipher.Parameters.FullBytes, &iv); err != nil {
		t.Fatal(err)
	}

	checks := []struct {
		name      string
		got, want any
	}{
		{"scheme is PBES2", info.Algorithm.Algorithm.String(), "1.2.840.113549.1.5.13"},
		{"KDF is PBKDF2", params.KDF.Algorithm.String(), "1.2.840.113549.1.5.12"},
		{"PRF is hmacWithSM3", kdf.PRF.Algorithm.String(), "1.2.156.10197.1.401.2"},
		{"cipher is SM4-CBC", params.Cipher.Algorithm.String(), "1.2.156.10197.1.104.2"},
		{"iterations >= 100000", kdf.Iterations >= 100000, true},
		{"iterations = KeyIterations", kdf.Iterations, KeyIterations},
		{"salt is 16 bytes", len(kdf.Salt), 16},
		{"IV is 16 bytes", len(iv), 16},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestDecryptRejectsWeakOrUnknownSchemes(t *testing.T) {
	k := newTestKey(t)
	pass := []byte("pw")
	encode := func(enc pkcs.PBESEncrypter) []byte {
		der, err := pkcs8.MarshalPrivateKey(k, pass, enc)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der})
	}
	tests := []struct {
		name string
		pem  []byte
		want error
	}{
		{"ShangMi PBES OIDs accepted", encode(pkcs.NewSMPBESEncrypter(16, 1000)), nil},
		{"AES-256-CBC refused", encode(pkcs.NewPBESEncrypter(pkcs.AES256CBC, pkcs.NewPBKDF2Opts(pkcs.SM3, 16, 1000))), ErrMalformed},
		{"scrypt refused", encode(pkcs.NewPBESEncrypter(pkcs.SM4CBC, pkcs.NewScryptOpts(16, 1024, 8, 1))), ErrMalformed},
		{"absurd iteration count refused", withIterations(t, encode(keyEncrypter), maxKeyIterations+1), ErrMalformed},
		{"zero iteration count refused", withIterations(t, encode(keyEncrypter), 0), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecryptPrivateKey(tt.pem, pass)
			if !errors.Is(err, tt.want) {
				t.Fatalf("DecryptPrivateKey = %v, want %v", err, tt.want)
			}
			if err == nil && !got.Equal(k) {
				t.Error("decrypted key differs")
			}
		})
	}

	t.Run("ECDSA P-256 key refused", func(t *testing.T) {
		ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := pkcs8.MarshalPrivateKey(ec, pass, keyEncrypter)
		if err != nil {
			t.Fatal(err)
		}
		_, err = DecryptPrivateKey(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der}), pass)
		if !errors.Is(err, ErrNotSM2) {
			t.Fatalf("DecryptPrivateKey = %v, want ErrNotSM2", err)
		}
	})
}

// withIterations rewrites the PBKDF2 iteration count of an encrypted PEM key.
func withIterations(t testing.TB, pemBytes []byte, n int) []byte {
	t.Helper()
	block, _ := pem.Decode(pemBytes)
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: withIterationsDER(t, block.Bytes, n)})
}

// withIterationsDER rewrites the PBKDF2 iteration count of an
// EncryptedPrivateKeyInfo DER.
func withIterationsDER(t testing.TB, der []byte, n int) []byte {
	t.Helper()
	var info encryptedPrivateKeyInfo
	if _, err := asn1.Unmarshal(der, &info); err != nil {
		t.Fatal(err)
	}
	var params pkcs.PBES2Params
	if _, err := asn1.Unmarshal(info.EncryptionAlgorithm.Parameters.FullBytes, &params); err != nil {
		t.Fatal(err)
	}
	var kdf pbkdf2Params
	if _, err := asn1.Unmarshal(params.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil {
		t.Fatal(err)
	}
	kdf.IterationCount = n
	var err error
	if params.KeyDerivationFunc.Parameters.FullBytes, err = asn1.Marshal(kdf); err != nil {
		t.Fatal(err)
	}
	if info.EncryptionAlgorithm.Parameters.FullBytes, err = asn1.Marshal(params); err != nil {
		t.Fatal(err)
	}
	out, err := asn1.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEncryptPrivateKeyRefusesEmptyPassphrase(t *testing.T) {
	if _, err := EncryptPrivateKey(newTestKey(t), nil); !errors.Is(err, ErrNoPassphrase) {
		t.Fatalf("EncryptPrivateKey(no passphrase) = %v, want ErrNoPassphrase", err)
	}
}

func TestPassphrase(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const env = "ZHENGZHAO_TEST_PASSPHRASE"
	withNL := write("nl", "from file\n")
	withCRLF := write("crlf", "from file\r\n")
	twoNL := write("two", "from file\n\n")
	plain := write("plain", "from file")
	empty := write("empty", "")
	onlyNL := write("onlynl", "\n")
	huge := write("huge", strings.Repeat("x", maxPassphraseFile+1))

	tests := []struct {
		name    string
		envVal  string
		envVar  string
		file    string
		want    string
		wantErr error
	}{
		{"file wins over env", "from env", env, withNL, "from file", nil},
		{"CRLF trimmed", "", env, withCRLF, "from file", nil},
		{"only one newline trimmed", "", env, twoNL, "from file\n", nil},
		{"no newline", "", env, plain, "from file", nil},
		{"env when no file", "from env", env, "", "from env", nil},
		{"empty file does not fall back", "from env", env, empty, "", ErrNoPassphrase},
		{"newline only", "", env, onlyNL, "", ErrNoPassphrase},
		{"neither", "", env, "", "", ErrNoPassphrase},
		{"no env var name", "", "", "", "", ErrNoPassphrase},
		{"missing file", "from env", env, filepath.Join(dir, "missing"), "", fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(env, tt.envVal)
			got, err := Passphrase(tt.envVar, tt.file)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Passphrase = %v, want %v", err, tt.wantErr)
			}
			if string(got) != tt.want {
				t.Errorf("Passphrase = %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("oversized file", func(t *testing.T) {
		if _, err := Passphrase(env, huge); err == nil {
			t.Fatal("Passphrase accepted an oversized file")
		}
	})
	t.Run("error names the variable", func(t *testing.T) {
		t.Setenv(env, "")
		_, err := Passphrase(env, "")
		if err == nil || !strings.Contains(err.Error(), env) {
			t.Fatalf("error %v does not name %s", err, env)
		}
	})
}

func TestWriteKeyFileAndOpenSigner(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "department.key.pem")
	k := newTestKey(t)
	pass := []byte("s3cret")
	if err := WriteKeyFile(path, k, pass); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("mode = %v, want 0600", got)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key (temp file left behind?)", len(entries))
	}
	if err := WriteKeyFile(path, newTestKey(t), pass); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second WriteKeyFile = %v, want fs.ErrExist", err)
	}

	tests := []struct {
		name string
		uri  string
		pass []byte
		want error
	}{
		{"file: absolute", "file:" + path, pass, nil},
		{"file:// absolute", "file://" + path, pass, nil},
		{"wrong passphrase", "file:" + path, []byte("nope"), ErrWrongPassphrase},
		{"missing file", "file:" + filepath.Join(dir, "none.pem"), pass, fs.ErrNotExist},
		{"unknown scheme", "pkcs11:token=zz;object=dept", pass, ErrUnsupportedKeyURI},
		{"hsm scheme", "hsm:slot-0", pass, ErrUnsupportedKeyURI},
		{"no scheme", path, pass, ErrUnsupportedKeyURI},
		{"empty", "", pass, ErrUnsupportedKeyURI},
		{"file with host", "file://example.com" + path, pass, ErrUnsupportedKeyURI},
		{"file without path", "file:", pass, ErrUnsupportedKeyURI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := OpenSigner(tt.uri, tt.pass)
			if !errors.Is(err, tt.want) {
				t.Fatalf("OpenSigner(%q) = %v, want %v", tt.uri, err, tt.want)
			}
			if err != nil {
				return
			}
			if !s.Public().Equal(&k.PublicKey) {
				t.Fatal("opened a different key")
			}
			sig, err := s.Sign([]byte("x"))
			if err != nil {
				t.Fatal(err)
			}
			if err := Verify(&k.PublicKey, []byte("x"), sig); err != nil {
				t.Fatal(err)
			}
		})
	}
}
