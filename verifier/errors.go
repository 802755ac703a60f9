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
	// ErrNotValid: a license did not verify as valid. Every *CheckError
	// unwraps to it.
	ErrNotValid = errors.New("verifier: license is not valid")
	// ErrNotLicensePDF: the file is not a Zhengzhao license PDF (not a PDF,
	// no embedded credential.json, or no identifier drawn on the page).
	ErrNotLicensePDF = errors.New("not a Zhengzhao license PDF")
	// ErrTooLarge: the PDF is larger than MaxPDFSize.
	ErrTooLarge = errors.New("verifier: PDF too large")
	// ErrNoQRCode: a picture holds no readable QR code.
	ErrNoQRCode = errors.New("no QR code found")
)

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
