package fabric

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"zhengzhao/ledger"
	"zhengzhao/ledger/fabric/wire"
)

// ErrForbidden means the chaincode refused the caller's org (ERR_FORBIDDEN):
// not the platform org, or not the org of the license's department. It
// comes wrapped together with ledger.ErrInvalidEvent: nothing was written
// and retrying will not help.
var ErrForbidden = errors.New("fabric: the caller's org may not do this")

// ErrNoOrg means this ledger has no client of the org a call needs.
var ErrNoOrg = errors.New("fabric: no client of the org this needs")

// Stage names where a transaction failed.
type Stage string

// Stages of a transaction.
const (
	// StageEndorse: collecting endorsements (the chaincode's verdict comes here).
	StageEndorse Stage = "endorse"
	// StageSubmit: handing the endorsed transaction to the orderer.
	StageSubmit Stage = "submit"
	// StageCommitStatus: waiting to learn whether it committed.
	StageCommitStatus Stage = "commit status"
	// StageCommit: it was ordered but recorded invalid (Validation says why).
	StageCommit Stage = "commit"
	// StageEvaluate: a query.
	StageEvaluate Stage = "evaluate"
	// StageResult: the answer of a committed transaction or a query.
	StageResult Stage = "result"
)

// TxError is a transaction or query that failed: the chaincode function, the
// transaction id, the stage, the chaincode's error code or the commit's
// validation code, and the ledger sentinel it maps to. errors.Is matches the
// sentinel (and ErrForbidden); errors.As reaches the gateway's error.
type TxError struct {
	// Fn is the chaincode function.
	Fn string
	// TxID is the transaction id ("" for a query).
	TxID string
	// Stage is where it failed.
	Stage Stage
	// Code is the chaincode's error code (ERR_…), if it gave one.
	Code wire.Code
	// Validation is the commit's validation code (for example
	// MVCC_READ_CONFLICT) when Stage is StageCommit.
	Validation string
	// Sentinel is the ledger error callers branch on.
	Sentinel error
	// Detail is the peers' message or the gateway's error text.
	Detail string
	// Cause is the gateway or gRPC error, if any.
	Cause error
}

// Error names the function, transaction, stage and detail.
func (e *TxError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %s", e.Sentinel, e.Fn)
	if e.TxID != "" {
		fmt.Fprintf(&b, " tx %s", e.TxID)
	}
	fmt.Fprintf(&b, ": %s", e.Stage)
	if e.Validation != "" {
		fmt.Fprintf(&b, ": %s", e.Validation)
	}
	if e.Detail != "" {
		fmt.Fprintf(&b, ": %s", e.Detail)
	}
	return b.String()
}

// Unwrap returns the sentinel, ErrForbidden for ERR_FORBIDDEN, and the cause.
func (e *TxError) Unwrap() []error {
	errs := []error{e.Sentinel}
	if e.Code == wire.CodeForbidden {
		errs = append(errs, ErrForbidden)
	}
	if e.Cause != nil {
		errs = append(errs, e.Cause)
	}
	return errs
}

// retryable reports whether the failure left nothing written and may pass
// when tried again: the ledger could not be reached, or a commit lost an
// MVCC race. Rule violations are never retried.
func (e *TxError) retryable() bool {
	return errors.Is(e.Sentinel, ledger.ErrUnavailable) && e.Code != wire.CodeForbidden
}

// chaincodeMessage finds the chaincode's "ERR_…: detail" message in a
// gateway error: the peers' error details first, then the status message.
func chaincodeMessage(err error) (code wire.Code, msg string) {
	var texts []string
	if st, ok := status.FromError(err); ok {
		for _, d := range st.Details() {
			if ed, ok := d.(interface{ GetMessage() string }); ok {
				texts = append(texts, ed.GetMessage())
			}
		}
		texts = append(texts, st.Message())
	}
	texts = append(texts, err.Error())
	for _, t := range texts {
		if code, msg, ok := wire.FindCode(t); ok {
			return code, msg
		}
	}
	return "", ""
}

// classify maps a gateway error of stage to a *TxError.
func classify(fn, txID string, stage Stage, err error) *TxError {
	e := &TxError{Fn: fn, TxID: txID, Stage: stage, Cause: err, Sentinel: ledger.ErrUnavailable}
	var ce *client.CommitError
	if errors.As(err, &ce) {
		e.TxID = ce.TransactionID
		e.Validation = ce.Code.String()
		e.Detail = "the transaction was not applied"
		return e
	}
	var te *client.TransactionError
	if errors.As(err, &te) && te.TransactionID != "" {
		e.TxID = te.TransactionID
	}
	if code, msg := chaincodeMessage(err); code != "" {
		e.Code, e.Detail = code, msg
		if s := wire.Sentinel(code); s != nil {
			e.Sentinel = s
		}
		return e
	}
	e.Detail = gatewayText(err)
	return e
}

// gatewayText is an error's text with the peers' details on one line.
func gatewayText(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return err.Error()
	}
	msg := st.Code().String() + ": " + st.Message()
	for _, d := range st.Details() {
		if ed, ok := d.(interface {
			GetMspId() string
			GetAddress() string
			GetMessage() string
		}); ok {
			msg += fmt.Sprintf(" [%s %s: %s]", ed.GetMspId(), ed.GetAddress(), ed.GetMessage())
		}
	}
	return msg
}

// transient reports whether a gRPC error of the submit or commit status
// stage means only that the answer did not arrive, so the same signed
// transaction may be sent again, or its status asked again, safely.
func transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
		return true
	}
	return false
}

// retryableValidation reports whether a commit validation code means the
// transaction lost a race and changed nothing, so a new proposal is safe.
func retryableValidation(c peer.TxValidationCode) bool {
	return c == peer.TxValidationCode_MVCC_READ_CONFLICT || c == peer.TxValidationCode_PHANTOM_READ_CONFLICT
}
