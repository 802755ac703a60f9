package chaincode

import (
	"errors"
	"fmt"

	"zhengzhao/ledger"
	"zhengzhao/ledger/tlog"
)

// Code is the stable prefix of a chaincode error, telling the client which
// rule failed. The message after "CODE: " is for people.
type Code string

// Error codes. Each ledger sentinel has its own code, so a Fabric client can
// map a chaincode error back to it (see README.md).
const (
	// CodeForbidden: the caller's org may not do this (ledger has no sentinel:
	// the embedded ledger has one operator).
	CodeForbidden Code = "ERR_FORBIDDEN"
	// CodeInvalid: malformed input or a broken rule (ledger.ErrInvalidEvent).
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
	// CodeFinal: the license is revoked; revocation is final (ledger.ErrFinal).
	CodeFinal Code = "ERR_FINAL"
	// CodeConsistency: a checkpoint is not an extension of the previous one
	// (tlog.ErrProof, or a smaller tree).
	CodeConsistency Code = "ERR_CONSISTENCY"
	// CodeInternal: the peer's state could not be read or written, or stored
	// data does not decode; retrying may help.
	CodeInternal Code = "ERR_INTERNAL"
)

// Error is a chaincode error: a Code and the error with the evidence.
type Error struct {
	Code Code
	Err  error
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// fail returns an *Error with code and a formatted message.
func fail(code Code, format string, args ...any) error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// classify wraps err in an *Error whose code fits the sentinel err wraps. An
// err that already is an *Error is returned unchanged; nil stays nil.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var ce *Error
	if errors.As(err, &ce) {
		return err
	}
	return &Error{Code: codeOf(err), Err: err}
}

// codeOf is the one table from sentinel errors to codes.
func codeOf(err error) Code {
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
