package signing

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"github.com/emmansun/gmsm/pkcs"
	"github.com/emmansun/gmsm/pkcs8"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

const (
	// KeyIterations is the PBKDF2-HMAC-SM3 iteration count used for keys at rest.
	KeyIterations = 100_000
	// maxKeyIterations bounds the work a key file can ask of DecryptPrivateKey.
	maxKeyIterations = 10_000_000
	// saltSize is the PBKDF2 salt length in bytes.
	saltSize = 16
	// maxPassphraseFile bounds how much of a passphrase file is read.
	maxPassphraseFile = 4096

	pemEncryptedKey = "ENCRYPTED PRIVATE KEY"
)

var (
	// ErrWrongPassphrase means an encrypted key did not decrypt with the passphrase
	// given. (A corrupted ciphertext looks the same and gives this error too.)
	ErrWrongPassphrase = errors.New("signing: wrong passphrase")
	// ErrNoPassphrase means no passphrase was configured or the one given is empty.
	ErrNoPassphrase = errors.New("signing: no passphrase")
	// ErrMalformed means PEM or DER input could not be parsed.
	ErrMalformed = errors.New("signing: malformed input")
	// ErrUnsupportedKeyURI means a key URI names a scheme this build cannot open.
	ErrUnsupportedKeyURI = errors.New("signing: unsupported key URI")
)

// keyEncrypter is PBES2 (RFC 8018, OID 1.2.840.113549.1.5.13) with PBKDF2,
// hmacWithSM3 (1.2.156.10197.1.401.2) and SM4-CBC. The standard PBES2/PBKDF2
// OIDs are used rather than gmsm's ShangMi PBES OIDs, so the file is plain
// RFC 8018 for any reader that knows SM3 and SM4. (OpenSSL 3.0 reads the
// structure but has no hmacWithSM3 PRF for PBKDF2; tjfoc cannot read either form.)
var keyEncrypter = pkcs.NewPBESEncrypter(pkcs.SM4CBC, pkcs.NewPBKDF2Opts(pkcs.SM3, saltSize, KeyIterations))

// EncryptPrivateKey encodes k as a PEM "ENCRYPTED PRIVATE KEY" (PKCS#8,
// PBES2 with PBKDF2-HMAC-SM3, KeyIterations rounds, 16-byte salt, SM4-CBC).
func EncryptPrivateKey(k *sm2.PrivateKey, passphrase []byte) ([]byte, error) {
	if k == nil {
		return nil, errors.New("signing: encrypt private key: nil key")
	}
	if len(passphrase) == 0 {
		return nil, fmt.Errorf("%w: refusing to write an unencrypted private key", ErrNoPassphrase)
	}
	der, err := pkcs8.MarshalPrivateKey(k, passphrase, keyEncrypter)
	if err != nil {
		return nil, fmt.Errorf("signing: encrypt private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemEncryptedKey, Bytes: der}), nil
}

// encryptedPrivateKeyInfo is RFC 5958 EncryptedPrivateKeyInfo.
type encryptedPrivateKeyInfo struct {
	EncryptionAlgorithm pkix.AlgorithmIdentifier
	EncryptedData       []byte
}

// pbkdf2Params is the PBKDF2-params of RFC 8018, with the salt as an OCTET STRING.
type pbkdf2Params struct {
	Salt           []byte
	IterationCount int
	KeyLength      int                      `asn1:"optional"`
	PRF            pkix.AlgorithmIdentifier `asn1:"optional"`
}

var (
	oidPBES2   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidSMPBES  = asn1.ObjectIdentifier{1, 2, 156, 10197, 6, 4, 1, 5, 2}
	oidPBKDF2  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidSMPBKDF = asn1.ObjectIdentifier{1, 2, 156, 10197, 6, 4, 1, 5, 1}
	oidSM4CBC  = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 104, 2}
)

// parseKeyEncryption checks that info uses a scheme this package accepts
// (PBES2 or ShangMi PBES, PBKDF2 with at most maxKeyIterations rounds, SM4-CBC
// with a 16-byte IV) before any decryption runs. gmsm would panic on some
// malformed inputs (a short IV, a ciphertext that is not whole blocks) and
// would spend unbounded time on a huge iteration count.
func parseKeyEncryption(info encryptedPrivateKeyInfo) (pkcs.PBES2Params, error) {
	var params pkcs.PBES2Params
	alg := info.EncryptionAlgorithm
	if !alg.Algorithm.Equal(oidPBES2) && !alg.Algorithm.Equal(oidSMPBES) {
		return params, fmt.Errorf("%w: key encryption %v, want PBES2", ErrMalformed, alg.Algorithm)
	}
	if rest, err := asn1.Unmarshal(alg.Parameters.FullBytes, &params); err != nil || len(rest) != 0 {
		return params, fmt.Errorf("%w: PBES2 parameters", ErrMalformed)
	}
	kdfOID := params.KeyDerivationFunc.Algorithm
	if !kdfOID.Equal(oidPBKDF2) && !kdfOID.Equal(oidSMPBKDF) {
		return params, fmt.Errorf("%w: key derivation %v, want PBKDF2", ErrMalformed, kdfOID)
	}
	var kdf pbkdf2Params
	if rest, err := asn1.Unmarshal(params.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil || len(rest) != 0 {
		return params, fmt.Errorf("%w: PBKDF2 parameters", ErrMalformed)
	}
	if kdf.IterationCount < 1 || kdf.IterationCount > maxKeyIterations {
		return params, fmt.Errorf("%w: PBKDF2 iteration count %d outside [1, %d]", ErrMalformed, kdf.IterationCount, maxKeyIterations)
	}
	if !params.EncryptionScheme.Algorithm.Equal(oidSM4CBC) {
		return params, fmt.Errorf("%w: key cipher %v, want SM4-CBC", ErrMalformed, params.EncryptionScheme.Algorithm)
	}
	var iv []byte
	if rest, err := asn1.Unmarshal(params.EncryptionScheme.Parameters.FullBytes, &iv); err != nil || len(rest) != 0 || len(iv) != sm4BlockSize {
		return params, fmt.Errorf("%w: SM4-CBC IV", ErrMalformed)
	}
	if n := len(info.EncryptedData); n == 0 || n%sm4BlockSize != 0 {
		return params, fmt.Errorf("%w: encrypted key length %d is not whole SM4 blocks", ErrMalformed, n)
	}
	return params, nil
}

const sm4BlockSize = 16

// DecryptPrivateKey decodes a PEM "ENCRYPTED PRIVATE KEY" written by
// EncryptPrivateKey and returns the SM2 key. It accepts PKCS#8 PBES2 (or
// ShangMi PBES) with PBKDF2 and SM4-CBC only. A passphrase that does not
// decrypt the key gives ErrWrongPassphrase; input that is not such a PEM gives
// ErrMalformed; a key that is not SM2 gives ErrNotSM2.
func DecryptPrivateKey(pemBytes, passphrase []byte) (*sm2.PrivateKey, error) {
	if len(passphrase) == 0 {
		return nil, fmt.Errorf("%w: decrypt private key", ErrNoPassphrase)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block in private key", ErrMalformed)
	}
	if block.Type != pemEncryptedKey {
		return nil, fmt.Errorf("%w: PEM type %q, want %q", ErrMalformed, block.Type, pemEncryptedKey)
	}
	var info encryptedPrivateKeyInfo
	if rest, err := asn1.Unmarshal(block.Bytes, &info); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: EncryptedPrivateKeyInfo", ErrMalformed)
	}
	params, err := parseKeyEncryption(info)
	if err != nil {
		return nil, err
	}
	plain, _, err := params.Decrypt(passphrase, info.EncryptedData)
	if errors.Is(err, pkcs.ErrPBEDecryption) {
		return nil, ErrWrongPassphrase
	}
	if err != nil {
		return nil, fmt.Errorf("%w: decrypt private key: %w", ErrMalformed, err)
	}
	// A wrong passphrase can still give valid padding (about 1 in 256); the
	// garbage then fails to parse as PKCS#8.
	key, err := smx509.ParsePKCS8PrivateKey(plain)
	clear(plain)
	if err != nil {
		return nil, ErrWrongPassphrase
	}
	k, ok := key.(*sm2.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: private key type %T", ErrNotSM2, key)
	}
	return k, nil
}

// Passphrase returns the key passphrase. A non-empty file path wins: the file
// is read (at most 4 KiB) and one trailing newline is removed. Otherwise the
// environment variable envVar is used. An empty result gives ErrNoPassphrase,
// naming the file or the variable but never the content.
func Passphrase(envVar, file string) ([]byte, error) {
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("signing: passphrase file: %w", err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxPassphraseFile+1))
		if err != nil {
			return nil, fmt.Errorf("signing: passphrase file %s: %w", file, err)
		}
		if len(b) > maxPassphraseFile {
			return nil, fmt.Errorf("signing: passphrase file %s is larger than %d bytes", file, maxPassphraseFile)
		}
		b = trimOneNewline(b)
		if len(b) == 0 {
			return nil, fmt.Errorf("%w: passphrase file %s is empty", ErrNoPassphrase, file)
		}
		return b, nil
	}
	if envVar != "" {
		if v := os.Getenv(envVar); v != "" {
			return []byte(v), nil
		}
	}
	return nil, fmt.Errorf("%w: set environment variable %q or a passphrase file", ErrNoPassphrase, envVar)
}

func trimOneNewline(b []byte) []byte {
	if bytes.HasSuffix(b, []byte("\r\n")) {
		return b[:len(b)-2]
	}
	if bytes.HasSuffix(b, []byte("\n")) {
		return b[:len(b)-1]
	}
	return b
}

// WriteKeyFile encrypts key with EncryptPrivateKey and writes it to path with
// mode 0600, atomically: a temporary file in the same directory is written and
// fsynced, then linked into place, then the directory is fsynced. It never
// replaces an existing file (the error wraps fs.ErrExist): a private key is
// not something to overwrite by accident.
func WriteKeyFile(path string, key *sm2.PrivateKey, passphrase []byte) error {
	data, err := EncryptPrivateKey(key, passphrase)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".key-*.tmp")
	if err != nil {
		return fmt.Errorf("signing: write key file: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	if err := writeSync(tmp, data); err != nil {
		return fmt.Errorf("signing: write key file %s: %w", path, err)
	}
	// Link, unlike rename, fails if path exists, so an existing key survives.
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("signing: write key file %s: %w", path, fs.ErrExist)
		}
		return fmt.Errorf("signing: write key file: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("signing: write key file %s: sync directory: %w", path, err)
	}
	return nil
}

func writeSync(f *os.File, data []byte) error {
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// OpenSigner opens the signing key named by uri:
//
//   - "file:/path/key.pem" (or "file:///path/key.pem", or "file:key.pem" for a
//     relative path): an encrypted PEM key written by WriteKeyFile, decrypted
//     with passphrase.
//
// Any other scheme gives ErrUnsupportedKeyURI. Hardware modules plug in here.
func OpenSigner(uri string, passphrase []byte) (Signer, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrUnsupportedKeyURI, uri, err)
	}
	switch u.Scheme {
	case "file":
		path, err := filePath(u)
		if err != nil {
			return nil, err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("signing: open key: %w", err)
		}
		k, err := DecryptPrivateKey(data, passphrase)
		if err != nil {
			return nil, fmt.Errorf("signing: open key %s: %w", path, err)
		}
		return NewKeySigner(k), nil
	default:
		return nil, fmt.Errorf("%w: %q (want file:/path/key.pem)", ErrUnsupportedKeyURI, uri)
	}
}

func filePath(u *url.URL) (string, error) {
	if u.Host != "" && u.Host != "localhost" {
		return "", fmt.Errorf("%w: file URI with host %q", ErrUnsupportedKeyURI, u.Host)
	}
	p := u.Path
	if u.Opaque != "" {
		p = u.Opaque
	}
	if p == "" {
		return "", fmt.Errorf("%w: file URI without a path", ErrUnsupportedKeyURI)
	}
	return p, nil
}
