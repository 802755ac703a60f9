package credential

import (
	"errors"
	"strings"
)

// ErrFormat is wrapped by every error about the shape of a credential: the
// bytes given to Parse, or the values given to New. Callers test it with
// errors.Is and get the details with errors.As(err, **FormatError).
var ErrFormat = errors.New("credential: bad format")

// ErrProof is wrapped by every error about the Data Integrity proof. Callers
// test it with errors.Is and get the details with errors.As(err, **ProofError).
var ErrProof = errors.New("credential: proof does not verify")

// Rules carried by FormatError.Rule. They are short stable tokens that
// callers and the HTTP layer may switch on.
const (
	RuleSize      = "size"      // the input is larger than MaxSize
	RuleSyntax    = "syntax"    // not RFC 8259 JSON
	RuleTrailing  = "trailing"  // non-whitespace bytes after the one JSON object
	RuleDuplicate = "duplicate" // a member name occurs twice in one object
	RuleDepth     = "depth"     // nesting deeper than maxDepth
	RuleEncoding  = "encoding"  // invalid UTF-8 or a lone UTF-16 surrogate escape
	RuleNumber    = "number"    // a number outside the IEEE 754 double range (no JCS form)
	RuleType      = "type"      // a JSON value of the wrong kind (string, array, object ...)
	RuleRequired  = "required"  // a required member is missing or empty
	RuleValue     = "value"     // a member has a value the credential model does not allow
	RuleDate      = "date"      // a date or date-time that does not parse
)

// FormatError says which member of a credential is wrong and by which rule.
// It wraps ErrFormat, and Err when a lower layer (license validation) said why.
type FormatError struct {
	// Field is the JSON path of the member, for example
	// "credentialSubject.fields.address" or "credentialStatus[1].type";
	// empty for the document as a whole.
	Field string
	// Rule is one of the Rule… constants.
	Rule string
	// Detail is a short human readable explanation; it never quotes more
	// than a few bytes of the input.
	Detail string
	// Err is the underlying cause, if any.
	Err error
}

func (e *FormatError) Error() string {
	var b strings.Builder
	b.WriteString("credential: ")
	if e.Field == "" {
		b.WriteString("document")
	} else {
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Rule)
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns ErrFormat and the underlying cause, if any.
func (e *FormatError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrFormat, e.Err}
	}
	return []error{ErrFormat}
}

// Reasons carried by ProofError.Reason.
const (
	ReasonMissing            = "missing"            // no proof, or proof is not an object
	ReasonType               = "type"               // proof.type is not DataIntegrityProof
	ReasonCryptosuite        = "cryptosuite"        // proof.cryptosuite is not sm2-jcs-2026
	ReasonPurpose            = "purpose"            // proof.proofPurpose is not assertionMethod
	ReasonVerificationMethod = "verificationMethod" // proof.verificationMethod missing
	ReasonEncoding           = "encoding"           // proofValue is not "z" + base58btc of 64 bytes
	ReasonSignature          = "signature"          // the SM2 signature does not verify
)

// ProofError says why a proof was rejected. It wraps ErrProof, and Err when
// a lower layer said why (signing.ErrBadSignature for a bad signature).
type ProofError struct {
	// Reason is one of the Reason… constants.
	Reason string
	// Detail is a short human readable explanation.
	Detail string
	// Err is the underlying cause, if any.
	Err error
}

func (e *ProofError) Error() string {
	var b strings.Builder
	b.WriteString("credential: proof: ")
	b.WriteString(e.Reason)
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns ErrProof and the underlying cause, if any.
func (e *ProofError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrProof, e.Err}
	}
	return []error{ErrProof}
}

func formatErr(field, rule, detail string) *FormatError {
	return &FormatError{Field: field, Rule: rule, Detail: detail}
}

func proofErr(reason, detail string) *ProofError {
	return &ProofError{Reason: reason, Detail: detail}
}
