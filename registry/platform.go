package registry

import (
	"crypto/ecdsa"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"zhengzhao/signing"
	"zhengzhao/verifier"
)

// Platform holds the platform's own keys: the root CA that certifies
// departments and signs trust bundles, and the log key that signs ledger
// checkpoints. Both private keys are encrypted at rest under Dir/keys.
type Platform struct {
	Root     signing.Signer
	RootCert *smx509.Certificate
	Log      signing.Signer
}

// Files inside a data directory.
const (
	rootKeyFile  = "keys/platform-root.key.pem"
	rootCertFile = "platform-root.crt.pem"
	logKeyFile   = "keys/log.key.pem"
	logPubFile   = "log.pub.pem"
	storeFile    = "registry.db"
	// LedgerDir is the embedded ledger's directory inside a data directory.
	LedgerDir = "ledger"
)

// ErrNotInitialized: the data directory has no platform keys yet.
var ErrNotInitialized = errors.New("registry: data directory not initialized (run zhengzhao init)")

// Initialized reports whether dir already holds a platform.
func Initialized(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, rootCertFile))
	return err == nil
}

// CreatePlatform makes the platform root key and certificate and the log key
// in dir. It refuses to overwrite an existing platform.
func CreatePlatform(dir string, passphrase []byte, now time.Time) (*Platform, error) {
	if Initialized(dir) {
		return nil, fmt.Errorf("registry: %s already holds a platform", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o700); err != nil {
		return nil, err
	}
	rootKey, err := signing.GenerateKey()
	if err != nil {
		return nil, err
	}
	root := signing.NewKeySigner(rootKey)
	cert, err := signing.NewRootCertificate(root, "证照平台根证书 Zhengzhao Platform Root CA", now.Add(-time.Hour), now.AddDate(20, 0, 0))
	if err != nil {
		return nil, fmt.Errorf("registry: root certificate: %w", err)
	}
	logKey, err := signing.GenerateKey()
	if err != nil {
		return nil, err
	}
	if err := signing.WriteKeyFile(filepath.Join(dir, rootKeyFile), rootKey, passphrase); err != nil {
		return nil, err
	}
	if err := signing.WriteKeyFile(filepath.Join(dir, logKeyFile), logKey, passphrase); err != nil {
		return nil, err
	}
	logPub, err := signing.MarshalPublicKey(&logKey.PublicKey)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(dir, logPubFile), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: logPub}), 0o644); err != nil {
		return nil, err
	}
	// The root certificate is written last: its presence marks the platform complete.
	if err := writeFileAtomic(filepath.Join(dir, rootCertFile), signing.EncodeCertificatePEM(cert.Raw), 0o644); err != nil {
		return nil, err
	}
	return &Platform{Root: root, RootCert: cert, Log: signing.NewKeySigner(logKey)}, nil
}

// LoadPlatform opens the platform keys in dir with the passphrase.
func LoadPlatform(dir string, passphrase []byte) (*Platform, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, rootCertFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotInitialized
	}
	if err != nil {
		return nil, err
	}
	cert, err := signing.ParseCertificatePEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("registry: platform root certificate: %w", err)
	}
	root, err := signing.OpenSigner("file:"+filepath.Join(dir, rootKeyFile), passphrase)
	if err != nil {
		return nil, fmt.Errorf("registry: platform root key: %w", err)
	}
	logSigner, err := signing.OpenSigner("file:"+filepath.Join(dir, logKeyFile), passphrase)
	if err != nil {
		return nil, fmt.Errorf("registry: log key: %w", err)
	}
	return &Platform{Root: root, RootCert: cert, Log: logSigner}, nil
}

// LogPublicKey reads the log's public key from dir; checking the ledger
// needs no passphrase.
func LogPublicKey(dir string) (*ecdsa.PublicKey, error) {
	b, err := os.ReadFile(filepath.Join(dir, logPubFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotInitialized
	}
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("registry: %s is not a PEM public key", logPubFile)
	}
	return signing.ParsePublicKey(blk.Bytes)
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Trust returns what an office pins and compares: the platform root's
// fingerprint (hex SM3 of its DER), the root certificate PEM, and the log
// origin.
func (s *Service) Trust() (fingerprint, rootPEM, logOrigin string) {
	der := s.cfg.Platform.RootCert.Raw
	return verifier.RootFingerprint(der), string(signing.EncodeCertificatePEM(der)), s.cfg.LogOrigin
}
