package verifier

import (
	"context"
	"encoding/json"
	"time"

	"zhengzhao/ledger"
	"zhengzhao/license"
)

// Document is what issuing hands out and the verify command reads: a
// credential and, optionally, the ledger receipt that proves it was anchored.
type Document struct {
	// Credential is the credential JSON exactly as issued.
	Credential json.RawMessage `json:"credential"`
	// Receipt proves the license.anchored event is in the log.
	Receipt *ledger.Receipt `json:"receipt,omitempty"`
}

// OnlineLedger is the one ledger query an online verification needs.
// ledger.Ledger implementations satisfy it.
type OnlineLedger interface {
	// License returns a license's anchor and current status, or an error
	// wrapping ledger.ErrNotFound.
	License(ctx context.Context, identifier string) (*ledger.LicenseState, error)
}

// Policy is what this caller requires of a verification.
type Policy struct {
	// At is the time the license must be valid at. Required.
	At time.Time
	// Online, when set, is asked for the license's anchor and status; nil
	// means offline: status from the bundle, anchor from a receipt if any.
	Online OnlineLedger
	// Lists, when set (and Online is not), fetches a credential's status
	// list from the URL it names, instead of taking the bundle's copy: the
	// status is then as fresh as the list. A list that cannot be fetched,
	// or does not verify, gives "status unknown", never valid.
	Lists StatusListFetcher
}

// StatusListFetcher fetches a status list credential by its URL.
type StatusListFetcher interface {
	FetchStatusList(ctx context.Context, url string) ([]byte, error)
}

// Verdict is the overall outcome of a verification.
type Verdict string

// Verdicts, from best to worst.
const (
	// VerdictValid: every check passed.
	VerdictValid Verdict = "valid"
	// VerdictSuspended: authentic, but suspended (已暂停).
	VerdictSuspended Verdict = "suspended"
	// VerdictCancelled: authentic, but cancelled (已注销).
	VerdictCancelled Verdict = "cancelled"
	// VerdictRevoked: authentic, but revoked as a penalty (已吊销).
	VerdictRevoked Verdict = "revoked"
	// VerdictWithdrawn: authentic, but withdrawn as issued in error (已撤销).
	VerdictWithdrawn Verdict = "withdrawn"
	// VerdictSuperseded: authentic, but replaced by a newer version (已变更).
	VerdictSuperseded Verdict = "superseded"
	// VerdictExpired: authentic, but past its validUntil.
	VerdictExpired Verdict = "expired"
	// VerdictNotYetValid: authentic, but before its validFrom.
	VerdictNotYetValid Verdict = "not_yet_valid"
	// VerdictInvalid: malformed, tampered, wrongly signed or not anchored.
	VerdictInvalid Verdict = "invalid"
	// VerdictUnverifiable: the issuer is not in the trust bundle, the
	// online ledger could not be asked, or the signing key was declared
	// compromised and nothing proves the license was anchored before:
	// authenticity is unknown.
	VerdictUnverifiable Verdict = "unverifiable"
	// VerdictStatusUnknown (无法确认): authentic, but its current status
	// cannot be known: the trust bundle is past its valid_until, or the
	// status list is missing, unsigned or expired. Never valid.
	VerdictStatusUnknown Verdict = "status_unknown"
)

// Label is the verdict in Chinese, as window staff read it.
func (v Verdict) Label() string {
	switch v {
	case VerdictValid:
		return "有效"
	case VerdictSuspended:
		return "已暂停"
	case VerdictCancelled:
		return "已注销"
	case VerdictRevoked:
		return "已吊销"
	case VerdictWithdrawn:
		return "已撤销"
	case VerdictSuperseded:
		return "已变更"
	case VerdictExpired:
		return "已过期"
	case VerdictNotYetValid:
		return "尚未生效"
	case VerdictInvalid:
		return "无效"
	case VerdictStatusUnknown:
		return "无法确认"
	}
	return "无法核验"
}

// verdictOf is the verdict of a license that is authentic but not active.
func verdictOf(s license.Status) Verdict {
	switch s {
	case license.StatusSuspended:
		return VerdictSuspended
	case license.StatusCancelled:
		return VerdictCancelled
	case license.StatusRevoked:
		return VerdictRevoked
	case license.StatusWithdrawn:
		return VerdictWithdrawn
	case license.StatusSuperseded:
		return VerdictSuperseded
	}
	return VerdictInvalid
}

// CheckStatus is the outcome of one check.
type CheckStatus string

// Check outcomes. Skip means the check was not done, never that it passed.
const (
	CheckPass CheckStatus = "pass"
	CheckFail CheckStatus = "fail"
	CheckSkip CheckStatus = "skip"
)

// Check names, in the order Verify runs them.
const (
	NameFormat   = "format"
	NameIssuer   = "issuer"
	NameProof    = "proof"
	NameKey      = "key"
	NameType     = "type"
	NameValidity = "validity"
	NameStatus   = "status"
	NameAnchor   = "anchor"
	// NameSeal and NameFace are checked for a PDF only: the department's
	// electronic seal over the credential, and the identifier printed on
	// the page.
	NameSeal = "seal"
	NameFace = "face"
	// NameLive is added first by the platform when it checks a live code
	// (亮证码, ZZL1:) online: its signature and expiry.
	NameLive = "live_code"
)

// checkLabels are the check names as window staff read them.
var checkLabels = map[string]string{
	NameFormat: "格式", NameIssuer: "签发机构", NameProof: "数字签名", NameKey: "签名密钥",
	NameType: "证照类型", NameValidity: "有效期", NameStatus: "证照状态", NameAnchor: "上链存证",
	NameSeal: "电子印章", NameFace: "照面", NameLive: "亮证码",
}

// CheckLabel is a check's name in Chinese ("签名密钥" for "key"), or the
// name itself when it has none.
func CheckLabel(name string) string {
	if l, ok := checkLabels[name]; ok {
		return l
	}
	return name
}

// Forms of input Verify recognises by content.
const (
	FormCredential = "credential" // a bare credential JSON
	FormDocument   = "document"   // a credential with its ledger receipt
	FormPDF        = "pdf"        // a license PDF with the credential and seal attached
	FormCompact    = "compact"    // a ZZ1: compact form, as in the QR code
	FormPhoto      = "photo"      // a PNG or JPEG picture of the QR code
	FormLive       = "live"       // a ZZL1: live code (亮证码), checked online only
)

// Modes of a verification.
const (
	ModeOffline = "offline"
	ModeOnline  = "online"
)

// Check is one step of a verification.
type Check struct {
	// Name is one of the Name… constants.
	Name string `json:"name"`
	// Status is pass, fail or skip.
	Status CheckStatus `json:"status"`
	// Reason says why, for window staff.
	Reason string `json:"reason"`
	// Code is a stable English code of a failure, for machines, where the
	// check gives one (the face check: FaceMismatch, FaceOverlay, …).
	Code string `json:"code,omitempty"`
	// Field names the license field a failure is about, where the check
	// gives one (the face check: "holder", "validity", "fields.address", …).
	Field string `json:"field,omitempty"`
	// Detail is the technical cause of a failure in English, for logs and
	// machines (a parser's or the ledger's error); Reason says it in
	// Chinese.
	Detail string `json:"detail,omitempty"`
}

// Result is the outcome of a verification with every check that led to it.
type Result struct {
	// Verdict is the overall outcome; Valid is Verdict == VerdictValid.
	Verdict Verdict `json:"verdict"`
	Valid   bool    `json:"valid"`
	// Identifier, TypeCode and TypeName name the license as the credential
	// states them (they are not trustworthy unless Valid).
	Identifier string `json:"identifier,omitempty"`
	TypeCode   string `json:"type_code,omitempty"`
	TypeName   string `json:"type_name,omitempty"`
	// Issuer is the issuing department's USCC; IssuerName its name from the
	// trust bundle (or as the credential states it when the bundle does not
	// know the department).
	Issuer     string `json:"issuer,omitempty"`
	IssuerName string `json:"issuer_name,omitempty"`
	// Form is what the input was, one of the Form… constants.
	Form string `json:"form"`
	// Mode is "offline" or "online".
	Mode string `json:"mode"`
	// AsOf is when the status information is from: the bundle's IssuedAt
	// offline, Policy.At online.
	AsOf time.Time `json:"as_of"`
	// BundleSequence is the sequence of the trust bundle used (offline).
	BundleSequence uint64 `json:"bundle_sequence,omitempty"`
	// StaleDays, when the bundle was past its valid_until at Policy.At, is
	// by how many (started) days; the verdict is then VerdictStatusUnknown.
	StaleDays int `json:"stale_days,omitempty"`
	// AnchoredAt is when the ledger recorded the license, when known.
	AnchoredAt *time.Time `json:"anchored_at,omitempty"`
	// SupersededBy, when the verdict is superseded and the ledger was asked
	// (online), is the identifier of the version that replaced this one.
	// Offline the status list says only that a newer version exists.
	SupersededBy string `json:"superseded_by,omitempty"`
	// InputErr, when the input could not be read at all, says why; it
	// wraps ErrNotLicensePDF, ErrNoQRCode or ErrTooLarge for a PDF or a
	// picture that is not a license, so an API can answer with a clear error
	// rather than a verdict.
	InputErr error `json:"-"`
	// Checks lists every check in order: format, issuer, proof, key, type,
	// validity, status, anchor, and for a PDF seal and face.
	Checks []Check `json:"checks"`
}

// Check returns the check with the given name.
func (r *Result) Check(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// Err returns nil when the license is valid, else a *CheckError for the first
// failed check (it unwraps to ErrNotValid).
func (r *Result) Err() error {
	if r.Valid {
		return nil
	}
	for _, c := range r.Checks {
		if c.Status == CheckFail {
			return &CheckError{Check: c.Name, Reason: c.Reason, Detail: string(r.Verdict)}
		}
	}
	return &CheckError{Check: "verdict", Reason: "not valid", Detail: string(r.Verdict)}
}
