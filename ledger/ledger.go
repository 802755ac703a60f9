package ledger

import (
	"context"
	"errors"
	"time"

	"zhengzhao/license"
)

// Sentinel errors callers branch on. Implementations wrap them with evidence.
var (
	// ErrNotFound: the license or department is not on the ledger.
	ErrNotFound = errors.New("ledger: not found")
	// ErrUnknownDepartment: the event names a department that was never registered.
	ErrUnknownDepartment = errors.New("ledger: unknown department")
	// ErrDuplicate: the department, key or license identifier is already on the ledger.
	ErrDuplicate = errors.New("ledger: already recorded")
	// ErrBadSignature: an anchor's SM2 signature does not verify with the department's key.
	ErrBadSignature = errors.New("ledger: signature does not verify")
	// ErrKeyNotValid: the key is unknown, outside its validity window or revoked.
	ErrKeyNotValid = errors.New("ledger: key not valid")
	// ErrFinal: the license is cancelled, revoked, withdrawn or superseded;
	// no status change may follow.
	ErrFinal = errors.New("ledger: license status is final")
	// ErrInvalidEvent: a malformed event (missing field, bad status transition …).
	ErrInvalidEvent = errors.New("ledger: invalid event")
	// ErrCorrupt: the stored log does not verify.
	ErrCorrupt = errors.New("ledger: log is corrupt")
	// ErrRollback: the log is shorter than, or not consistent with, a
	// checkpoint that was signed or seen for it: it was rolled back.
	ErrRollback = errors.New("ledger: log rolled back")
	// ErrUnavailable: the ledger could not be reached or did not commit; safe to retry.
	ErrUnavailable = errors.New("ledger: unavailable")
)

// Ledger is the append-only record of department facts, license anchors and
// status changes. Only identifiers, digests, statuses and department facts go
// in; never personal data. Every write returns once the event is durable.
type Ledger interface {
	// RegisterDepartment records a department and its first signing key.
	RegisterDepartment(ctx context.Context, d Department, k Key) (Receipt, error)
	// AddKey records an additional (rotated-in) key for a registered department.
	AddKey(ctx context.Context, k Key) (Receipt, error)
	// RevokeKey marks a key revoked from a point in time (for example the
	// suspected compromise time). Licenses anchored before that time stay valid.
	RevokeKey(ctx context.Context, r KeyRevocation) (Receipt, error)
	// Anchor records a batch of licenses. Each anchor's signature is checked
	// against its department's key. The batch is all-or-nothing.
	Anchor(ctx context.Context, anchors []Anchor) ([]Receipt, error)
	// SetStatus records a status change of an anchored license.
	SetStatus(ctx context.Context, c StatusChange) (Receipt, error)
	// AnchorType records a license type version of the catalog by its
	// digest: versions of one code in order from 1, each once.
	AnchorType(ctx context.Context, t TypeVersion) (Receipt, error)
	// AnchorRecordsHead records the head of a record chain (platform only).
	// Its sequence must be higher than the chain's last anchored head.
	AnchorRecordsHead(ctx context.Context, h RecordsHead) (Receipt, error)
	// License returns a license's anchor, current status and history.
	License(ctx context.Context, identifier string) (*LicenseState, error)
	// Department returns a department's facts and keys.
	Department(ctx context.Context, uscc string) (*DepartmentState, error)
	// Checkpoint returns the latest signed checkpoint.
	Checkpoint(ctx context.Context) (SignedCheckpoint, error)
	// InclusionProof proves the entry at index is in the tree of the given size.
	InclusionProof(ctx context.Context, index, treeSize uint64) ([][]byte, error)
	// ConsistencyProof proves the tree of size oldSize is a prefix of newSize.
	ConsistencyProof(ctx context.Context, oldSize, newSize uint64) ([][]byte, error)
	// Close releases the ledger.
	Close() error
}

// Department is a registered issuing department.
type Department struct {
	USCC string `json:"uscc"`
	Name string `json:"name"`
	// Types lists the license type codes this department may issue.
	Types []string `json:"types"`
}

// Key is a department's SM2 signing certificate with its validity.
type Key struct {
	Department string    `json:"department"` // USCC
	KeyID      string    `json:"key_id"`     // signing.KeyID(CertDER)
	CertDER    []byte    `json:"cert"`
	ValidFrom  time.Time `json:"valid_from"`
	ValidUntil time.Time `json:"valid_until"`
}

// KeyRevocation revokes a department key from a point in time.
type KeyRevocation struct {
	Department  string    `json:"department"`
	KeyID       string    `json:"key_id"`
	RevokedFrom time.Time `json:"revoked_from"`
	// Reason is a code of license.KeyReasons (key_compromise, key_rotated …).
	Reason string `json:"reason"`
}

// Anchor is what the ledger keeps of an issued license: no personal data,
// only the identifier, digests and the issuer's signature over them.
type Anchor struct {
	Identifier string `json:"id"`
	Issuer     string `json:"issuer"` // department USCC
	TypeCode   string `json:"type"`
	KeyID      string `json:"key_id"`
	// ProofHash is SM3(JCS(proof options)); DocumentHash is SM3(JCS(credential
	// without proof)). Signature is the 64-byte SM2 r‖s over ProofHash‖DocumentHash,
	// i.e. exactly the credential's sm2-jcs-2026 proofValue.
	ProofHash    []byte    `json:"proof_hash"`
	DocumentHash []byte    `json:"document_hash"`
	Signature    []byte    `json:"signature"`
	ValidFrom    time.Time `json:"valid_from"`
	ValidUntil   time.Time `json:"valid_until,omitzero"` // zero: no end (长期)
	// Predecessor is set when the license is a new version (变更 or 延续)
	// of an anchored one, which it supersedes; nil for a first version.
	// Entries made before versions existed have none.
	Predecessor *Predecessor `json:"predecessor,omitempty"`
}

// Predecessor names the version a new version supersedes: its identifier,
// its document digest (Anchor.DocumentHash, so the link is to exactly that
// document) and why it is superseded — a code of license.Reasons that leads
// to superseded ("changed" or "renewed").
type Predecessor struct {
	Identifier   string `json:"id"`
	DocumentHash []byte `json:"document_hash"`
	Reason       string `json:"reason"`
}

// StatusChange suspends, resumes (back to active), cancels, revokes or
// withdraws a license. Reason is a code of license.Reasons, never free text:
// the ledger holds no personal data.
type StatusChange struct {
	Identifier string         `json:"id"`
	Issuer     string         `json:"issuer"`
	Status     license.Status `json:"status"`
	Reason     string         `json:"reason"`
}

// TypeVersion is what the ledger keeps of one version of a license type
// of the catalog: its code, its version number and the SM3 digest of the
// JCS form of its definition (license.Type.MarshalDefinition). Nothing else:
// the definition itself travels in the trust bundle.
type TypeVersion struct {
	Code    string `json:"code"`
	Version int    `json:"version"`
	Digest  []byte `json:"digest"`
}

// RecordsHead is the head of one of the registry's hash-chained record logs
// (docs/records.md): the chain's name, the sequence number of its last record
// and that record's chain hash. It holds no personal data.
type RecordsHead struct {
	Chain string `json:"chain"`
	Seq   uint64 `json:"seq"`
	Hash  []byte `json:"hash"` // HashSize bytes (SM3)
}

// Receipt proves an event is in the log: its canonical entry bytes, its
// index, and an inclusion proof against the signed checkpoint it came with.
type Receipt struct {
	Entry          []byte   `json:"entry"` // canonical JSON of the Event
	LogIndex       uint64   `json:"log_index"`
	TreeSize       uint64   `json:"tree_size"`
	InclusionProof [][]byte `json:"inclusion_proof"`
	Checkpoint     string   `json:"checkpoint"` // C2SP signed note
}

// SignedCheckpoint is a checkpoint as a C2SP signed note plus its parsed values.
type SignedCheckpoint struct {
	Note string `json:"note"`
	Size uint64 `json:"size"`
	Root []byte `json:"root"`
}

// StatusEvent is one status change in a license's history.
type StatusEvent struct {
	Status   license.Status `json:"status"`
	Reason   string         `json:"reason,omitempty"`
	At       time.Time      `json:"at"`
	LogIndex uint64         `json:"log_index"`
}

// LicenseState is what the ledger knows about one license.
type LicenseState struct {
	Anchor     Anchor         `json:"anchor"`
	AnchoredAt time.Time      `json:"anchored_at"`
	LogIndex   uint64         `json:"log_index"`
	Status     license.Status `json:"status"`
	Reason     string         `json:"reason,omitempty"`
	History    []StatusEvent  `json:"history"`
	// SupersededBy is the identifier of the version that superseded this
	// one, when Status is superseded.
	SupersededBy string `json:"superseded_by,omitempty"`
}

// DepartmentState is what the ledger knows about one department.
type DepartmentState struct {
	Department  Department      `json:"department"`
	Keys        []Key           `json:"keys"`
	Revocations []KeyRevocation `json:"revocations,omitempty"`
}
