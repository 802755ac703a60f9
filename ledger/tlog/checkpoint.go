package tlog

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emmansun/gmsm/smx509"

	"zhengzhao/signing"
)

// SignatureTypeSM2 is the signed-note signature type byte Zhengzhao uses for
// SM2-with-SM3 signatures: 0x53, 'S'. It is a private value, not assigned by
// C2SP (see the package documentation).
const SignatureTypeSM2 = 0x53

// MaxNoteSize bounds a signed note; longer input is rejected unread.
const MaxNoteSize = 1 << 16

// maxSignatures bounds the signature lines of a note, as Go's sumdb/note does.
const maxSignatures = 100

// Errors a checkpoint can fail with.
var (
	// ErrMalformed means the note or checkpoint body breaks the C2SP format.
	ErrMalformed = errors.New("tlog: malformed checkpoint")
	// ErrUnknownKey means no signature line is from the expected key (name
	// and key hash).
	ErrUnknownKey = errors.New("tlog: checkpoint not signed by the expected key")
	// ErrBadSignature means the expected key's signature does not verify.
	ErrBadSignature = errors.New("tlog: checkpoint signature does not verify")
	// ErrWrongOrigin means the checkpoint names another log.
	ErrWrongOrigin = errors.New("tlog: checkpoint is for another log")
)

// Checkpoint is a log's signed statement of its size and root hash.
type Checkpoint struct {
	// Origin names the log, e.g. "zhengzhao.local/ledger".
	Origin string
	// Size is the number of leaves.
	Size uint64
	// Root is the RFC 6962 root hash of the first Size leaves.
	Root []byte
}

// Body returns the checkpoint's note text: origin, size and base64 root, each
// on its own line.
func (c Checkpoint) Body() (string, error) {
	if err := checkOrigin(c.Origin); err != nil {
		return "", err
	}
	if len(c.Root) != HashSize {
		return "", fmt.Errorf("%w: root is %d bytes, want %d", ErrMalformed, len(c.Root), HashSize)
	}
	return c.Origin + "\n" + strconv.FormatUint(c.Size, 10) + "\n" + base64.StdEncoding.EncodeToString(c.Root) + "\n", nil
}

// KeyHash returns the signed-note key hash of an SM2 key with the given name:
// the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x53 ‖ PKIX DER of pub).
func KeyHash(name string, pub *ecdsa.PublicKey) ([4]byte, error) {
	der, err := smx509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return [4]byte{}, fmt.Errorf("tlog: encode public key: %w", err)
	}
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', SignatureTypeSM2})
	h.Write(der)
	var kh [4]byte
	copy(kh[:], h.Sum(nil))
	return kh, nil
}

// SignCheckpoint signs cp with s as key name and returns the signed note.
// The name is normally the log's origin; VerifyCheckpoint expects that.
func SignCheckpoint(cp Checkpoint, name string, s signing.Signer) (string, error) {
	if err := checkKeyName(name); err != nil {
		return "", err
	}
	body, err := cp.Body()
	if err != nil {
		return "", err
	}
	kh, err := KeyHash(name, s.Public())
	if err != nil {
		return "", err
	}
	sig, err := s.Sign([]byte(body))
	if err != nil {
		return "", fmt.Errorf("tlog: sign checkpoint: %w", err)
	}
	if len(sig) != signing.SignatureSize {
		return "", fmt.Errorf("tlog: signer returned %d bytes, want %d", len(sig), signing.SignatureSize)
	}
	line := "— " + name + " " + base64.StdEncoding.EncodeToString(append(kh[:], sig...)) + "\n"
	return body + "\n" + line, nil
}

// ParseCheckpoint returns the checkpoint in a signed note after checking the
// note's format. It verifies NO signature: use it only to read a checkpoint
// whose signature is checked elsewhere (or not needed); VerifyCheckpoint is
// what trusts one.
func ParseCheckpoint(note string) (Checkpoint, error) {
	body, _, err := openNote(note)
	if err != nil {
		return Checkpoint{}, err
	}
	return parseBody(body)
}

// VerifyCheckpoint checks that note is a checkpoint of the log origin signed
// by pub under the key name origin, and returns it. Signature lines of other
// keys are ignored, as signed-note requires; the first line of the expected
// key decides.
func VerifyCheckpoint(note, origin string, pub *ecdsa.PublicKey) (Checkpoint, error) {
	body, sigs, err := openNote(note)
	if err != nil {
		return Checkpoint{}, err
	}
	kh, err := KeyHash(origin, pub)
	if err != nil {
		return Checkpoint{}, err
	}
	var sig []byte
	for _, s := range sigs {
		if s.name == origin && s.keyHash == kh {
			sig = s.sig
			break
		}
	}
	if sig == nil {
		return Checkpoint{}, fmt.Errorf("%w: no signature by %s+%x", ErrUnknownKey, origin, kh)
	}
	if err := signing.Verify(pub, []byte(body), sig); err != nil {
		return Checkpoint{}, fmt.Errorf("%w: key %s+%x: %w", ErrBadSignature, origin, kh, err)
	}
	cp, err := parseBody(body)
	if err != nil {
		return Checkpoint{}, err
	}
	if cp.Origin != origin {
		return Checkpoint{}, fmt.Errorf("%w: origin %q, want %q", ErrWrongOrigin, cp.Origin, origin)
	}
	return cp, nil
}

type noteSig struct {
	name    string
	keyHash [4]byte
	sig     []byte
}

// openNote splits a signed note into its text and signature lines, checking
// the signed-note format but no signature.
func openNote(note string) (string, []noteSig, error) {
	if len(note) > MaxNoteSize {
		return "", nil, fmt.Errorf("%w: note is %d bytes, limit %d", ErrMalformed, len(note), MaxNoteSize)
	}
	if !utf8.ValidString(note) {
		return "", nil, fmt.Errorf("%w: note is not UTF-8", ErrMalformed)
	}
	for i := 0; i < len(note); i++ {
		if c := note[i]; c < 0x20 && c != '\n' {
			return "", nil, fmt.Errorf("%w: control character 0x%02x at byte %d", ErrMalformed, c, i)
		}
	}
	split := strings.LastIndex(note, "\n\n")
	if split < 0 {
		return "", nil, fmt.Errorf("%w: no blank line before the signatures", ErrMalformed)
	}
	body, block := note[:split+1], note[split+2:]
	if block == "" || !strings.HasSuffix(block, "\n") {
		return "", nil, fmt.Errorf("%w: signature block missing or not ending in a newline", ErrMalformed)
	}
	lines := strings.Split(block[:len(block)-1], "\n")
	if len(lines) > maxSignatures {
		return "", nil, fmt.Errorf("%w: %d signature lines, limit %d", ErrMalformed, len(lines), maxSignatures)
	}
	sigs := make([]noteSig, 0, len(lines))
	for i, line := range lines {
		rest, ok := strings.CutPrefix(line, "— ")
		if !ok {
			return "", nil, fmt.Errorf("%w: signature line %d does not start with an em dash and a space", ErrMalformed, i+1)
		}
		name, b64, ok := strings.Cut(rest, " ")
		if !ok {
			return "", nil, fmt.Errorf("%w: signature line %d has no signature", ErrMalformed, i+1)
		}
		if err := checkKeyName(name); err != nil {
			return "", nil, fmt.Errorf("signature line %d: %w", i+1, err)
		}
		raw, err := base64.StdEncoding.Strict().DecodeString(b64)
		if err != nil || len(raw) < 5 {
			return "", nil, fmt.Errorf("%w: signature line %d: bad base64 signature", ErrMalformed, i+1)
		}
		s := noteSig{name: name, sig: raw[4:]}
		copy(s.keyHash[:], raw[:4])
		sigs = append(sigs, s)
	}
	return body, sigs, nil
}

// parseBody parses a checkpoint body. Extension lines after the root are
// allowed by tlog-checkpoint and ignored; empty lines are not.
func parseBody(body string) (Checkpoint, error) {
	if !strings.HasSuffix(body, "\n") {
		return Checkpoint{}, fmt.Errorf("%w: body does not end in a newline", ErrMalformed)
	}
	lines := strings.Split(body[:len(body)-1], "\n")
	if len(lines) < 3 {
		return Checkpoint{}, fmt.Errorf("%w: body has %d lines, want at least 3", ErrMalformed, len(lines))
	}
	for i, l := range lines[3:] {
		if l == "" {
			return Checkpoint{}, fmt.Errorf("%w: empty extension line %d", ErrMalformed, i+1)
		}
	}
	if err := checkOrigin(lines[0]); err != nil {
		return Checkpoint{}, err
	}
	size, err := parseSize(lines[1])
	if err != nil {
		return Checkpoint{}, err
	}
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != HashSize || base64.StdEncoding.EncodeToString(root) != lines[2] {
		return Checkpoint{}, fmt.Errorf("%w: root hash is not the base64 of %d bytes", ErrMalformed, HashSize)
	}
	return Checkpoint{Origin: lines[0], Size: size, Root: root}, nil
}

// parseSize parses a decimal tree size with no sign and no leading zeros.
func parseSize(s string) (uint64, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%w: tree size %q is not a decimal number", ErrMalformed, s)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: tree size %q: %w", ErrMalformed, s, err)
	}
	return n, nil
}

// checkOrigin checks a checkpoint origin line: non-empty UTF-8 without
// control characters.
func checkOrigin(o string) error {
	if o == "" {
		return fmt.Errorf("%w: empty origin", ErrMalformed)
	}
	if !utf8.ValidString(o) {
		return fmt.Errorf("%w: origin is not UTF-8", ErrMalformed)
	}
	for _, r := range o {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: origin contains a control character", ErrMalformed)
		}
	}
	return nil
}

// checkKeyName checks a signed-note key name: non-empty UTF-8 with no Unicode
// space and no '+'.
func checkKeyName(name string) error {
	if name == "" || !utf8.ValidString(name) {
		return fmt.Errorf("%w: key name is empty or not UTF-8", ErrMalformed)
	}
	if strings.ContainsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || r == '+' || r < 0x20 }) {
		return fmt.Errorf("%w: key name %q contains a space, '+' or a control character", ErrMalformed, name)
	}
	return nil
}

// CheckKeyName reports whether name can name a signing key in a signed note
// (non-empty UTF-8, no spaces, no '+'); an origin used as key name must pass.
func CheckKeyName(name string) error { return checkKeyName(name) }
