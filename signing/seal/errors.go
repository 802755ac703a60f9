package seal

import (
	"errors"
	"fmt"
)

// Limits on what the parsers accept. They keep a hostile seal or signature
// from costing much memory or time; real seals are far below them.
const (
	// MaxSize is the largest SESeal or SES_Signature DER accepted (4 MiB).
	MaxSize = 4 << 20
	// MaxPictureSize is the largest seal picture accepted (2 MiB).
	MaxPictureSize = 2 << 20

	maxCerts         = 32       // entries in certList
	maxCertSize      = 64 << 10 // one certificate DER
	maxDigestSize    = 64       // one certificate digest, dataHash
	maxStringSize    = 1 << 10  // Vid, esID, name, picture type, digest type
	maxPropertyInfo  = 64 << 10 // TBS_Sign propertyInfo
	maxExtensions    = 32       // entries in ExtensionDatas
	maxExtensionSize = 64 << 10 // one extnValue
	maxSignatureSize = 256      // DER SM2 signature in a BIT STRING
	maxTimeStamp     = 64 << 10 // SES_Signature timeStamp
	maxPictureMM     = 1000     // picture width or height in millimetres
)

var (
	// ErrMalformed means DER input is truncated, oversized, has trailing
	// bytes, or does not follow the structure of GB/T 38540 or GM/T 0031.
	// The wrapping error names the structure and field.
	ErrMalformed = errors.New("seal: malformed")
	// ErrUnsupported means well-formed input that this package does not
	// handle: an unknown version, a signature algorithm other than SM2 with
	// SM3, a critical extension.
	ErrUnsupported = errors.New("seal: unsupported")
	// ErrInvalidInput means an argument to Make or Sign is unusable.
	ErrInvalidInput = errors.New("seal: invalid input")

	// ErrSealMaker means the seal's maker signature does not verify or the
	// maker is not trusted.
	ErrSealMaker = errors.New("seal: seal not made by a trusted seal maker")
	// ErrSealValidity means the signing time lies outside the seal's
	// validity period.
	ErrSealValidity = errors.New("seal: signing time outside the seal's validity")
	// ErrSignerNotListed means the signer certificate is not one of the
	// seal's listed signer certificates.
	ErrSignerNotListed = errors.New("seal: signer certificate not listed in the seal")
	// ErrBadSignature means the signer's signature over TBS_Sign does not
	// verify.
	ErrBadSignature = errors.New("seal: signature does not verify")
	// ErrDataHash means the document's SM3 digest differs from dataHash.
	ErrDataHash = errors.New("seal: document digest does not match")
)

// The checks VerifySignature runs, in order. CheckError.Check is one of them.
const (
	CheckSealMaker    = "seal-maker"    // maker's signature on the seal, maker trusted
	CheckSealValidity = "seal-validity" // timeInfo within validStart..validEnd
	CheckSignerListed = "signer-listed" // signer certificate listed in the seal
	CheckSignature    = "signature"     // SM2 signature over TBS_Sign
	CheckDataHash     = "data-hash"     // SM3(document) equals dataHash
)

// CheckError is the error VerifySignature returns: which check failed and
// why. It wraps the check's sentinel (ErrSealMaker, ErrSealValidity,
// ErrSignerNotListed, ErrBadSignature, ErrDataHash) and the underlying cause.
type CheckError struct {
	Check  string // one of the Check… constants
	Reason string // what was wrong, for people
	Err    error  // the sentinel, possibly wrapping the cause
}

func (e *CheckError) Error() string {
	return fmt.Sprintf("seal: check %s failed: %s", e.Check, e.Reason)
}

// Unwrap returns the wrapped sentinel (and through it the cause).
func (e *CheckError) Unwrap() error { return e.Err }

func malformed(where, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformed, where, fmt.Sprintf(format, args...))
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidInput, fmt.Sprintf(format, args...))
}
