package verifier

import "errors"

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrUsage: Verify was called wrongly (nil bundle, zero Policy.At). Bad
	// input never gives an error; it gives a Result with the failing check.
	ErrUsage = errors.New("verifier: bad usage")
	// ErrBundle: a trust bundle is malformed or inconsistent.
	ErrBundle = errors.New("verifier: invalid trust bundle")
	// ErrBundleSignature: a trust bundle's signature does not verify with its
	// first root certificate.
	ErrBundleSignature = errors.New("verifier: trust bundle signature does not verify")
	// ErrUntrustedRoot: a trust bundle is signed by a root other than the
	// pinned one.
	ErrUntrustedRoot = errors.New("verifier: trust bundle signed by an untrusted root")
	// ErrNoTrustAnchor: no platform root is pinned. A bundle signed by any
	// root would otherwise be accepted; pin the root's fingerprint once
	// (zhengzhao bundle --root-fingerprint HEX).
	ErrNoTrustAnchor = errors.New("verifier: no platform root pinned: pin the root's fingerprint (zhengzhao bundle --server URL --root-fingerprint HEX, or zhengzhao verify --root-fingerprint HEX)")
	// ErrNotValid: a license did not verify as valid. Every *CheckError
	// unwraps to it.
	ErrNotValid = errors.New("verifier: license is not valid")
	// ErrNotLicensePDF: the file is not a Zhengzhao license PDF (not a PDF,
	// no embedded credential.json, or no identifier drawn on the page).
	ErrNotLicensePDF = errors.New("not a Zhengzhao license PDF")
	// ErrTooLarge: the PDF is over one of the limits of internal/limits
	// (size, objects, streams, inflated bytes, attachments); the error
	// wraps a *limits.ExceededError that names the limit.
	ErrTooLarge = errors.New("verifier: PDF too large")
	// ErrNoQRCode: a picture holds no readable QR code.
	ErrNoQRCode = errors.New("no QR code found")
	// ErrLiveCode: the input is a live code (亮证码, ZZL1:) from a wallet
	// screen. Only the platform can check it, online; a Result's InputErr
	// is then a *LiveCodeInput.
	ErrLiveCode = errors.New("a live code (ZZL1:) can only be verified online")
)

// LiveCodeInput is the InputErr of a verification whose input (text or a
// picture of the QR code) is a live code: Code is its text, for the
// platform to check online. It unwraps to ErrLiveCode.
type LiveCodeInput struct{ Code string }

// Error says the code can only be checked online.
func (e *LiveCodeInput) Error() string { return ErrLiveCode.Error() }

// Unwrap returns ErrLiveCode.
func (e *LiveCodeInput) Unwrap() error { return ErrLiveCode }

// CheckError carries the evidence of one failed check, in the manner of
// crypto/x509's CertificateInvalidError. Result.Err returns one.
type CheckError struct {
	// Check names the check that failed ("format", "issuer", "proof", "key",
	// "type", "validity", "status", "anchor").
	Check string
	// Reason is the check's reason, readable by window staff.
	Reason string
	// Detail is the overall verdict the failure led to.
	Detail string
}

// Error returns "verifier: <check>: <reason> (<detail>)".
func (e *CheckError) Error() string {
	s := "verifier: " + e.Check + ": " + e.Reason
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// Unwrap returns ErrNotValid.
func (e *CheckError) Unwrap() error { return ErrNotValid }
