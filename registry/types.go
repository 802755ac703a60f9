package registry

import (
	"errors"
	"time"

	"zhengzhao/ledger"
	"zhengzhao/license"
	"zhengzhao/signing/seal"
)

// Sentinel errors the server maps to HTTP statuses.
var (
	// ErrNotFound: no such license, department or type.
	ErrNotFound = errors.New("registry: not found")
	// ErrForbidden: the actor may not do this (wrong role or another department).
	ErrForbidden = errors.New("registry: forbidden")
	// ErrUnauthenticated: no or unknown credentials.
	ErrUnauthenticated = errors.New("registry: unauthenticated")
	// ErrConflict: the request conflicts with the current state (already revoked, duplicate …).
	ErrConflict = errors.New("registry: conflict")
)

// Role is what an actor may do.
type Role string

// The roles of issue 2. Web roles (clerk, holder) come with the web pages.
const (
	RoleAdmin    Role = "admin"    // platform operator: departments, catalog, bundles
	RoleIssuer   Role = "issuer"   // department officer: issues and changes that department's licenses
	RoleVerifier Role = "verifier" // window staff: verifies
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleIssuer, RoleVerifier:
		return true
	}
	return false
}

// Actor is who asks: the server authenticates, the service authorizes.
type Actor struct {
	Account    int64  `json:"account,omitempty"` // the signed-in account's id; 0 for an API token
	Role       Role   `json:"role"`
	Department string `json:"department,omitempty"` // USCC, for issuers
	Name       string `json:"name"`
	Hall       string `json:"hall,omitempty"`        // service hall, for window clerks (verifiers)
	HolderCode string `json:"holder_code,omitempty"` // citizen ID or USCC, for holders
}

// Department is an issuing department with its keys.
type Department struct {
	USCC      string          `json:"uscc"`
	Name      string          `json:"name"`
	Types     []string        `json:"types"`
	CreatedAt time.Time       `json:"created_at"`
	Keys      []DepartmentKey `json:"keys"`
}

// DepartmentKey is one of a department's signing keys. The private key stays
// encrypted, in the store (KeyPEM) or, for keys made before, where KeyURI
// points; only the certificate travels.
type DepartmentKey struct {
	KeyID      string `json:"key_id"`
	Department string `json:"department"`
	KeyURI     string `json:"-"`
	// KeyPEM is the private key encrypted with the key passphrase
	// (signing.EncryptPrivateKey), so every instance on the store has it.
	KeyPEM           []byte     `json:"-"`
	CertDER          []byte     `json:"certificate"`
	ValidFrom        time.Time  `json:"valid_from"`
	ValidUntil       time.Time  `json:"valid_until"`
	Active           bool       `json:"active"`
	RevokedFrom      *time.Time `json:"revoked_from,omitempty"`
	RevocationReason string     `json:"revocation_reason,omitempty"`
}

// IssueRequest is what an officer submits to issue a license. Dates default
// to today and the type's default validity.
type IssueRequest struct {
	TypeCode     string            `json:"type"`
	Holder       string            `json:"holder"`
	HolderCode   string            `json:"holderCode"`
	Jurisdiction string            `json:"jurisdiction"`
	Number       string            `json:"number,omitempty"`     // 证照编号; default: the serial
	IssueDate    string            `json:"issueDate,omitempty"`  // YYYY-MM-DD
	ValidFrom    string            `json:"validFrom,omitempty"`  // YYYY-MM-DD
	ValidUntil   string            `json:"validUntil,omitempty"` // YYYY-MM-DD; "" = the type's default
	Fields       map[string]string `json:"fields"`
	// RequestKey makes the request idempotent per department: a second
	// request with the same key answers the first license.
	RequestKey string `json:"requestKey,omitempty"`
}

// License is a stored license: the record (personal data), the credential as
// handed out, its ledger receipt and its status.
type License struct {
	Identifier string `json:"id"`
	Department string `json:"department"`
	TypeCode   string `json:"type"`
	Serial     string `json:"serial"`
	// Version is the identifier's version segment: "001" for a first
	// issue, one more for each change or renewal.
	Version string         `json:"version"`
	Status  license.Status `json:"status"`
	// SupersededBy is the identifier of the version that replaced this one
	// (Status superseded).
	SupersededBy string `json:"superseded_by,omitempty"`
	// StatusReason is the code (license.Reasons) of the latest status
	// change; StatusNote its free-text note, kept only in the store.
	StatusReason string `json:"status_reason,omitempty"`
	StatusNote   string `json:"status_note,omitempty"`
	// StatusIndex is the license's status-list slot: list ×
	// StatusListSize + index within the list.
	StatusIndex int            `json:"status_index"`
	Record      license.Record `json:"record"`
	Credential  []byte         `json:"-"`
	Receipt     ledger.Receipt `json:"receipt"`
	IssuedAt    time.Time      `json:"issued_at"`
	RequestKey  string         `json:"-"`
	// Compact is the ZZ1: compact form, printed as the license's QR code.
	Compact string `json:"compact"`
	// SealSignature is the DER SES_Signature of the department's seal over
	// SM3 of Credential. The licenses IssueBatch returns leave it nil (Get
	// and PDF read it back): a batch does not build 40 KB a license it
	// only stores cut.
	SealSignature []byte         `json:"-"`
	History       []StatusRecord `json:"history,omitempty"`

	// sealCut is the seal signature as sign made it, without the seal and
	// sealCert, the certificate it was made with: what the store keeps.
	sealCut  *seal.CutSignature
	sealCert []byte
}

// StatusRecord is one status change as the registry saw it.
type StatusRecord struct {
	Status license.Status `json:"status"`
	Reason string         `json:"reason"` // a license.Reasons code
	Note   string         `json:"note,omitempty"`
	Actor  string         `json:"actor"`
	At     time.Time      `json:"at"`
}
