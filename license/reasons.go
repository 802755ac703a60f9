package license

import (
	"fmt"
	"slices"
)

// Reason is a reason code from the fixed catalog Reasons: what goes on the
// ledger, in the trust bundle and in status lists. Free text (a name, an ID
// number) never does; it stays in the registry store as a note.
type Reason struct {
	// Code is the stable English code.
	Code string `json:"code"`
	// Label is the Chinese a person reads.
	Label string `json:"label"`
	// Statuses are the statuses this reason may lead to.
	Statuses []Status `json:"statuses"`
}

// ReasonKeyCompromise and ReasonKeyRotated are the reasons a signing key's
// validity ends early: a declared compromise, or a rotation to a new key.
const (
	ReasonKeyCompromise = "key_compromise"
	ReasonKeyRotated    = "key_rotated"
)

var reasons = []Reason{
	{"holder_request", "持证主体申请", []Status{StatusCancelled, StatusSuspended, StatusActive}},
	{"deregistered", "主体已注销登记", []Status{StatusCancelled}},
	{"deceased", "持证人死亡", []Status{StatusCancelled}},
	{"business_ended", "停止经营", []Status{StatusCancelled}},
	{"penalty", "行政处罚", []Status{StatusRevoked, StatusSuspended}},
	{"illegal_operation", "违法经营", []Status{StatusRevoked, StatusSuspended}},
	{"issued_in_error", "核发错误", []Status{StatusWithdrawn}},
	{"fraud", "以欺骗等不正当手段取得", []Status{StatusWithdrawn, StatusRevoked}},
	{"under_investigation", "立案调查", []Status{StatusSuspended}},
	{"rectification", "责令整改", []Status{StatusSuspended}},
	{"rectified", "整改完成", []Status{StatusActive}},
	{"investigation_closed", "调查结束", []Status{StatusActive}},
	{"changed", "证照变更", []Status{StatusSuperseded}},
	{"renewed", "证照延续", []Status{StatusSuperseded}},
	{"other", "其他", []Status{StatusSuspended, StatusActive, StatusCancelled, StatusRevoked, StatusWithdrawn}},
}

// keyReasons are the reasons a department key's validity ends.
var keyReasons = []Reason{
	{ReasonKeyCompromise, "密钥泄露", nil},
	{ReasonKeyRotated, "密钥轮换", nil},
	{"department_closed", "部门撤并", nil},
}

// Reasons returns the catalog of status-change reasons.
func Reasons() []Reason { return slices.Clone(reasons) }

// KeyReasons returns the catalog of key revocation reasons.
func KeyReasons() []Reason { return slices.Clone(keyReasons) }

// LookupReason returns the status-change reason with the code.
func LookupReason(code string) (Reason, bool) {
	for _, r := range reasons {
		if r.Code == code {
			return r, true
		}
	}
	return Reason{}, false
}

// ReasonLabel is the Chinese label of a status-change or key reason code, or
// the code itself when it is unknown.
func ReasonLabel(code string) string {
	for _, r := range append(reasons[:len(reasons):len(reasons)], keyReasons...) {
		if r.Code == code {
			return r.Label
		}
	}
	return code
}

// CheckStatusReason checks that code is a catalog reason that may lead to
// status. The error is a *FieldError on field "reason".
func CheckStatusReason(status Status, code string) error {
	r, ok := LookupReason(code)
	if !ok {
		return &FieldError{Field: "reason", Rule: "enum", Message: fmt.Sprintf("原因代码 %q 不在原因目录中", code)}
	}
	if !slices.Contains(r.Statuses, status) {
		return &FieldError{Field: "reason", Rule: "enum", Message: fmt.Sprintf("原因“%s”（%s）不能用于%s", r.Label, r.Code, status.Label())}
	}
	return nil
}

// CheckKeyReason checks that code is a key revocation reason.
func CheckKeyReason(code string) error {
	for _, r := range keyReasons {
		if r.Code == code {
			return nil
		}
	}
	return &FieldError{Field: "reason", Rule: "enum", Message: fmt.Sprintf("密钥撤销原因代码 %q 不在原因目录中", code)}
}
