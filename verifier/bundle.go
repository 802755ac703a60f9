package verifier

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/gowebpki/jcs"
	"github.com/mr-tron/base58"

	"zhengzhao/license"
	"zhengzhao/signing"
)

// BundleVersion is the trust bundle format version this package reads and
// writes. Version 2 added the sequence, valid_until, status lists,
// previous checkpoints and compromised-key sets, and dropped the list of
// invalid licenses.
const BundleVersion = 2

// maxSignatureText bounds the bundle signature text: "z" and the base58btc
// of 64 bytes (at most 88 characters).
const maxSignatureText = 1 + 90

// MaxBundleSize bounds the trust bundle ParseBundle reads (16 MiB).
const MaxBundleSize = 16 << 20

// maxPreviousCheckpoints bounds Previous: the checkpoints of earlier bundles
// a receipt may still be proved against.
const maxPreviousCheckpoints = 256

// TrustBundle is what an offline verifier carries: the departments with
// their certificates, key validity and seals, every department's signed
// status lists, the log's key and latest checkpoint (and earlier ones
// proved consistent with it), and for each compromised key the licenses
// known to have been anchored before the compromise. The platform root
// signs it; the verifier takes that root from the operator (TrustedMaterial),
// never from the bundle.
//
// Read one with ParseBundle; that also indexes it for Verify. A bundle built
// in memory is trusted as given: call Prepare once before verifying with it,
// or Verify indexes it again on every call. Do not modify a bundle after
// ParseBundle or Prepare (nor a copy of it).
type TrustBundle struct {
	// Version is BundleVersion.
	Version int `json:"version"`
	// Sequence grows with every bundle the platform makes: an offline
	// verifier refuses a bundle older than one it holds.
	Sequence uint64 `json:"sequence"`
	// IssuedAt is when the platform made the bundle: offline status is
	// "as of" this time.
	IssuedAt time.Time `json:"issued_at"`
	// ValidUntil is when the bundle's status data stops counting: after it
	// no license verifies as valid offline with this bundle (the verdict
	// is VerdictStatusUnknown).
	ValidUntil time.Time `json:"valid_until"`
	// Roots are the platform root certificates (PEM); Roots[0] signs the bundle.
	Roots []string `json:"roots"`
	// Log names the transparency log and the key that signs its checkpoints.
	Log LogInfo `json:"log"`
	// Departments are the registered issuing departments.
	Departments []Department `json:"departments"`
	// StatusLists are every department's signed status lists
	// (docs/status-lists.md).
	StatusLists []BundleList `json:"status_lists"`
	// Checkpoint is the log's latest checkpoint, a C2SP signed note.
	Checkpoint string `json:"checkpoint"`
	// Previous are checkpoints of earlier bundles, each with a consistency
	// proof to Checkpoint: receipts made against them still verify.
	Previous []PriorCheckpoint `json:"previous_checkpoints,omitempty"`
	// Compromised lists, per compromised key, the licenses anchored before
	// the compromise, so that their QR codes and bare credentials still
	// verify offline.
	Compromised []CompromisedKey `json:"compromised,omitempty"`
	// Types are every version of every license type of the platform's
	// catalog, each with its definition and anchored digest. A bundle
	// without types (made before it carried them) names types from the
	// verifier's built-in catalog; with types, a credential of a type or
	// type version not listed is reported.
	Types []BundleType `json:"types,omitempty"`
	// Signature is "z" + base58btc of the 64-byte SM2 r‖s by Roots[0]'s key
	// over JCS of the bundle JSON without "signature".
	Signature string `json:"signature"`

	idx *index // set by ParseBundle and Prepare
}

// BundleList is one department status list as the bundle carries it.
type BundleList struct {
	// USCC and Number name the list: {public URL}/status/{USCC}/message/{Number}.
	USCC   string `json:"uscc"`
	Number int    `json:"number"`
	// Credential is the BitstringStatusListCredential, signed by the
	// department, exactly as the platform serves it.
	Credential json.RawMessage `json:"credential"`
}

// PriorCheckpoint is a checkpoint of an earlier bundle and the RFC 9162
// consistency proof from it to the bundle's checkpoint.
type PriorCheckpoint struct {
	Checkpoint string   `json:"checkpoint"`
	Proof      [][]byte `json:"proof"`
}

// CompromisedKey lists the licenses signed by a compromised key that the
// ledger anchored before the compromise: the first CompromiseDigestSize
// bytes of SM3 of each signature that may be shown (the credential's
// proofValue and the QR form's), sorted, concatenated.
type CompromisedKey struct {
	KeyID   string `json:"key_id"`
	Digests []byte `json:"digests"`
}

// CompromiseDigestSize is the size of one CompromisedKey digest: 12 bytes
// leave a forger holding the key 2^96 / n signatures to try per hit.
const CompromiseDigestSize = 12

// CompromiseDigest is the CompromisedKey digest of a 64-byte signature.
func CompromiseDigest(signature []byte) [CompromiseDigestSize]byte {
	sum := sm3.Sum(signature)
	return [CompromiseDigestSize]byte(sum[:CompromiseDigestSize])
}

// LogInfo identifies the transparency log.
type LogInfo struct {
	// Origin is the checkpoint origin line, e.g. "zhengzhao.example/log".
	Origin string `json:"origin"`
	// PublicKey is the PEM (PKIX "PUBLIC KEY") SM2 key that signs checkpoints.
	PublicKey string `json:"public_key"`
}

// Department is an issuing department as the bundle knows it.
type Department struct {
	// USCC is the department's unified social credit code.
	USCC string `json:"uscc"`
	// Name is the department's name.
	Name string `json:"name"`
	// Types lists the license type codes the department may issue.
	Types []string `json:"types"`
	// Keys are the department's signing keys, current and past.
	Keys []Key `json:"keys"`
	// Seals are the department's electronic seals (GB/T 38540 SESeal, made
	// by the platform), current and past: a sealed PDF is genuine only with
	// one of them.
	Seals []Seal `json:"seals,omitempty"`
}

// Seal is one department seal.
type Seal struct {
	// ID is the seal's esID.
	ID string `json:"id"`
	// DER is the SESeal.
	DER []byte `json:"der"`
}

// Key is one department signing key.
type Key struct {
	// KeyID is signing.KeyID of the certificate's DER.
	KeyID string `json:"key_id"`
	// Certificate is the PEM department certificate, issued by a root.
	Certificate string `json:"certificate"`
	// ValidFrom and ValidUntil bound when the key may sign (zero ValidUntil: no end).
	ValidFrom  time.Time `json:"valid_from"`
	ValidUntil time.Time `json:"valid_until"`
	// RevokedFrom, when set, ends the key's signing validity: a rotation
	// (RevocationReason license.ReasonKeyRotated) or a declared compromise
	// (any other reason). See docs/trust-bundle.md.
	RevokedFrom *time.Time `json:"revoked_from,omitempty"`
	// RevocationReason is a code of license.KeyReasons.
	RevocationReason string `json:"revocation_reason,omitempty"`
}

// Compromised reports whether the key's validity ended by a declared
// compromise rather than a rotation: then a signature's own time says
// nothing, and only a proven anchor time counts.
func (k *Key) Compromised() bool {
	return k.RevokedFrom != nil && k.RevocationReason != license.ReasonKeyRotated
}

// TrustedMaterial is what the operator trusts, given apart from any bundle:
// the platform root, named by the hex SM3 of its certificate's DER
// (RootFingerprint). It is compared with the bundle's signing root; a
// bundle never vouches for its own root.
type TrustedMaterial struct {
	RootFingerprint string
}

// BundleOption adjusts how ParseBundle reads a bundle.
type BundleOption func(*bundleOptions)

type bundleOptions struct {
	rootFingerprint string
	unsafeAnyRoot   bool
}

// WithRootFingerprint pins the platform root: ParseBundle refuses a bundle
// whose Roots[0] is not the certificate with this fingerprint (hex SM3 of the
// DER, as RootFingerprint returns).
func WithRootFingerprint(hexSM3 string) BundleOption {
	return func(o *bundleOptions) { o.rootFingerprint = strings.ToLower(strings.TrimSpace(hexSM3)) }
}

// WithTrustedMaterial pins the root of tm.
func WithTrustedMaterial(tm TrustedMaterial) BundleOption {
	return WithRootFingerprint(tm.RootFingerprint)
}

// UnsafeTrustBundleRoot accepts whatever root signed the bundle. Anyone can
// make a root and sign a bundle with it, so a result then proves nothing;
// it is for tests and for reading a bundle's contents, never for verifying.
func UnsafeTrustBundleRoot() BundleOption {
	return func(o *bundleOptions) { o.unsafeAnyRoot = true }
}

// RootFingerprint returns the hex SM3 of a root certificate's DER, the value
// WithRootFingerprint pins.
func RootFingerprint(certDER []byte) string {
	sum := sm3.Sum(certDER)
	return hex.EncodeToString(sum[:])
}

// Sign sets Version (when zero) and Signature, signing JCS of the bundle
// without "signature" with s, which must hold the key of Roots[0]. It returns
// the bundle's canonical JSON, what ParseBundle reads.
func (b *TrustBundle) Sign(s signing.Signer) ([]byte, error) {
	if b.Version == 0 {
		b.Version = BundleVersion
	}
	if len(b.Roots) == 0 {
		return nil, fmt.Errorf("%w: no root certificate", ErrBundle)
	}
	root, err := signing.ParseCertificatePEM([]byte(b.Roots[0]))
	if err != nil {
		return nil, fmt.Errorf("%w: roots[0]: %w", ErrBundle, err)
	}
	if !publicKeyEqual(root.PublicKey, s.Public()) {
		return nil, fmt.Errorf("%w: the signer's key is not the key of roots[0]", ErrBundle)
	}
	b.idx = nil
	b.Signature = ""
	raw, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	msg, err := signedBytes(raw)
	if err != nil {
		return nil, err
	}
	sig, err := s.Sign(msg)
	if err != nil {
		return nil, fmt.Errorf("verifier: sign trust bundle: %w", err)
	}
	b.Signature = "z" + base58.Encode(sig)
	out, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	out, err = jcs.Transform(out)
	if err != nil {
		return nil, fmt.Errorf("%w: canonical form: %w", ErrBundle, err)
	}
	return out, nil
}

// signedBytes returns JCS of the bundle JSON raw without its "signature"
// member: the bytes the bundle signature covers.
func signedBytes(raw []byte) ([]byte, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	delete(members, "signature")
	stripped, err := json.Marshal(members)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	out, err := jcs.Transform(stripped)
	if err != nil {
		return nil, fmt.Errorf("%w: canonical form: %w", ErrBundle, err)
	}
	return out, nil
}

// ParseBundle reads a signed trust bundle strictly and indexes it for Verify.
// The platform root must be pinned (WithRootFingerprint or
// WithTrustedMaterial): without a pin it refuses with ErrNoTrustAnchor. It
// refuses data over MaxBundleSize, anything but one JSON object with known
// members and no duplicates, a signature that does not verify with Roots[0]
// (which must be the pinned CA), a department certificate that does not
// parse, does not match its key id or does not chain to the roots, a
// checkpoint that does not verify with the log key, an earlier checkpoint
// not proved consistent with it, and a status list that is not signed by a
// key of its department that was valid when it signed.
func ParseBundle(data []byte, opts ...BundleOption) (*TrustBundle, error) {
	var o bundleOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.rootFingerprint == "" && !o.unsafeAnyRoot {
		return nil, ErrNoTrustAnchor
	}
	if len(data) > MaxBundleSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrBundle, len(data), MaxBundleSize)
	}
	b := new(TrustBundle)
	if err := jsonv2.Unmarshal(data, b, jsonv2.RejectUnknownMembers(true)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	if b.Version != BundleVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrBundle, b.Version, BundleVersion)
	}
	if len(b.Roots) == 0 {
		return nil, fmt.Errorf("%w: no root certificate", ErrBundle)
	}
	root, err := signing.ParseCertificatePEM([]byte(b.Roots[0]))
	if err != nil {
		return nil, fmt.Errorf("%w: roots[0]: %w", ErrBundle, err)
	}
	if !root.BasicConstraintsValid || !root.IsCA {
		return nil, fmt.Errorf("%w: roots[0] is not a CA certificate", ErrBundle)
	}
	if !o.unsafeAnyRoot && subtle.ConstantTimeCompare([]byte(RootFingerprint(root.Raw)), []byte(o.rootFingerprint)) != 1 {
		return nil, fmt.Errorf("%w: the bundle is signed by root %s, not the pinned %s", ErrUntrustedRoot, RootFingerprint(root.Raw), o.rootFingerprint)
	}
	if len(b.Roots) > 1 {
		return nil, fmt.Errorf("%w: %d roots: a bundle carries only the pinned root", ErrBundle, len(b.Roots))
	}
	if err := verifyBundleSignature(data, b.Signature, root.PublicKey); err != nil {
		return nil, err
	}
	if b.IssuedAt.IsZero() || b.ValidUntil.IsZero() || !b.ValidUntil.After(b.IssuedAt) {
		return nil, fmt.Errorf("%w: issued_at and a later valid_until are required", ErrBundle)
	}
	idx := newIndex(b)
	if len(idx.problems) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrBundle, errors.Join(idx.problems...))
	}
	b.idx = idx
	return b, nil
}

// Prepare checks and indexes a bundle built in memory (its signature is not
// checked: the caller trusts it as given), so that Verify does not index it
// on every call. It gives the errors ParseBundle would, but for the
// signature. Call it before sharing the bundle between goroutines.
func (b *TrustBundle) Prepare() error {
	idx := newIndex(b)
	if len(idx.problems) > 0 {
		return fmt.Errorf("%w: %w", ErrBundle, errors.Join(idx.problems...))
	}
	b.idx = idx
	return nil
}

func verifyBundleSignature(data []byte, signature string, rootKey any) error {
	pub, ok := rootKey.(*ecdsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: roots[0] key is not SM2", ErrBundleSignature)
	}
	if !strings.HasPrefix(signature, "z") {
		return fmt.Errorf("%w: signature is not multibase base58btc", ErrBundleSignature)
	}
	if len(signature) > maxSignatureText { // base58 decoding is quadratic
		return fmt.Errorf("%w: signature is %d characters, too long", ErrBundleSignature, len(signature))
	}
	sig, err := base58.Decode(signature[1:])
	if err != nil {
		return fmt.Errorf("%w: signature: %w", ErrBundleSignature, err)
	}
	msg, err := signedBytes(data)
	if err != nil {
		return err
	}
	if err := signing.Verify(pub, msg, sig); err != nil {
		return fmt.Errorf("%w: %w", ErrBundleSignature, err)
	}
	return nil
}

// parsePublicKeyPEM reads a PEM "PUBLIC KEY" (PKIX) SM2 key.
func parsePublicKeyPEM(s string) (*ecdsa.PublicKey, error) {
	block, rest := pem.Decode([]byte(s))
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM PUBLIC KEY")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("trailing data after the PEM block")
	}
	return signing.ParsePublicKey(block.Bytes)
}

func publicKeyEqual(a any, b *ecdsa.PublicKey) bool {
	pa, ok := a.(*ecdsa.PublicKey)
	if !ok || pa == nil || b == nil {
		return false
	}
	return pa.Equal(b)
}
