package wire

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"zhengzhao/ledger"
	"zhengzhao/ledger/tlog"
)

// Code is the stable prefix of a chaincode error, telling the client which
// rule failed. The message after "CODE: " is for people.
type Code string

// Error codes. Each ledger sentinel has its own code, so a client maps a
// chaincode error back to it (Sentinel).
const (
	// CodeForbidden: the caller's org may not do this (ledger has no sentinel:
	// the embedded ledger has one operator; Sentinel gives ErrInvalidEvent).
	CodeForbidden Code = "ERR_FORBIDDEN"
	// CodeInvalid: malformed input or a broken rule, such as a status reason
	// that is not a code of license.Reasons (ledger.ErrInvalidEvent).
	CodeInvalid Code = "ERR_INVALID"
	// CodeDuplicate: already recorded (ledger.ErrDuplicate).
	CodeDuplicate Code = "ERR_DUPLICATE"
	// CodeNotFound: no such license, department, key or checkpoint (ledger.ErrNotFound).
	CodeNotFound Code = "ERR_NOT_FOUND"
	// CodeUnknownDepartment: the event names an unregistered department (ledger.ErrUnknownDepartment).
	CodeUnknownDepartment Code = "ERR_UNKNOWN_DEPARTMENT"
	// CodeKeyNotValid: the anchor's key is unknown, another department's,
	// outside its validity or revoked (ledger.ErrKeyNotValid).
	CodeKeyNotValid Code = "ERR_KEY_NOT_VALID"
	// CodeBadSignature: an SM2 signature (anchor or checkpoint) does not verify
	// (ledger.ErrBadSignature, tlog.ErrBadSignature, tlog.ErrUnknownKey).
	CodeBadSignature Code = "ERR_BAD_SIGNATURE"
	// CodeFinal: the license is cancelled, revoked, withdrawn or superseded;
	// no status change may follow (ledger.ErrFinal).
	CodeFinal Code = "ERR_FINAL"
	// CodeConsistency: a checkpoint is not an extension of the previous one
	// (tlog.ErrProof, or a smaller tree; Sentinel gives ledger.ErrCorrupt).
	CodeConsistency Code = "ERR_CONSISTENCY"
	// CodeInternal: the peer's state could not be read or written, or stored
	// data does not decode; retrying may help (ledger.ErrUnavailable).
	CodeInternal Code = "ERR_INTERNAL"
)

// Codes lists every code.
var Codes = []Code{
	CodeForbidden, CodeInvalid, CodeDuplicate, CodeNotFound, CodeUnknownDepartment,
	CodeKeyNotValid, CodeBadSignature, CodeFinal, CodeConsistency, CodeInternal,
}

// Error is a chaincode error: a Code and the error with the evidence. Its
// text, "CODE: detail", is what the client receives.
type Error struct {
	Code Code
	Err  error
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code and a message formatted as fmt.Errorf does.
func Errorf(code Code, format string, args ...any) error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// Classify wraps err in an *Error whose code fits the sentinel err wraps
// (CodeOf). An err that already is an *Error is returned unchanged; nil
// stays nil.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var ce *Error
	if errors.As(err, &ce) {
		return err
	}
	return &Error{Code: CodeOf(err), Err: err}
}

// CodeOf is the one table from sentinel errors to codes; an error wrapping
// none of them is CodeInternal.
func CodeOf(err error) Code {
	switch {
	case errors.Is(err, ledger.ErrFinal):
		return CodeFinal
	case errors.Is(err, ledger.ErrBadSignature), errors.Is(err, tlog.ErrBadSignature), errors.Is(err, tlog.ErrUnknownKey):
		return CodeBadSignature
	case errors.Is(err, ledger.ErrKeyNotValid):
		return CodeKeyNotValid
	case errors.Is(err, ledger.ErrUnknownDepartment):
		return CodeUnknownDepartment
	case errors.Is(err, ledger.ErrDuplicate):
		return CodeDuplicate
	case errors.Is(err, ledger.ErrNotFound):
		return CodeNotFound
	case errors.Is(err, tlog.ErrProof):
		return CodeConsistency
	case errors.Is(err, ledger.ErrInvalidEvent), errors.Is(err, tlog.ErrMalformed), errors.Is(err, tlog.ErrWrongOrigin):
		return CodeInvalid
	}
	return CodeInternal
}

// sentinels is the one table from codes to the ledger sentinels a client
// returns for them.
var sentinels = map[Code]error{
	CodeForbidden:         ledger.ErrInvalidEvent,
	CodeInvalid:           ledger.ErrInvalidEvent,
	CodeDuplicate:         ledger.ErrDuplicate,
	CodeNotFound:          ledger.ErrNotFound,
	CodeUnknownDepartment: ledger.ErrUnknownDepartment,
	CodeKeyNotValid:       ledger.ErrKeyNotValid,
	CodeBadSignature:      ledger.ErrBadSignature,
	CodeFinal:             ledger.ErrFinal,
	CodeConsistency:       ledger.ErrCorrupt,
	CodeInternal:          ledger.ErrUnavailable,
}

// Sentinel returns the ledger sentinel code stands for, or nil for a code
// this package does not define.
func Sentinel(code Code) error { return sentinels[code] }

var codeRE = regexp.MustCompile(`\b(ERR_[A-Z_]+): `)

// FindCode finds the first "ERR_…: detail" in text, as the chaincode's
// message arrives inside a gateway or peer error, and returns the code and
// the message from the code on; ok is false if there is none.
func FindCode(text string) (code Code, msg string, ok bool) {
	loc := codeRE.FindStringSubmatchIndex(text)
	if loc == nil {
		return "", "", false
	}
	return Code(text[loc[2]:loc[3]]), strings.TrimSpace(text[loc[2]:]), true
}
