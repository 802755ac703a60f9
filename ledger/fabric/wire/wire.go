package wire

import (
	"bytes"
	"encoding/json"
	"strings"

	"zhengzhao/ledger"
)

// Chaincode function names. The chaincode's contract has exactly these
// transaction functions (its tests check Functions against it).
const (
	// FnRegisterDepartment records a department, its first key and its org. Platform org only.
	FnRegisterDepartment = "RegisterDepartment"
	// FnAddKey records another key of a department. Platform org only.
	FnAddKey = "AddKey"
	// FnRevokeKey records a key revocation (compromise or rotation). Platform org only.
	FnRevokeKey = "RevokeKey"
	// FnAnchorBatch records signed license anchors, all or nothing. The departments' org only.
	FnAnchorBatch = "AnchorBatch"
	// FnAnchorBatchCompact is FnAnchorBatch answering Count and Root instead of the entries.
	FnAnchorBatchCompact = "AnchorBatchCompact"
	// FnSetStatus records a status change of a license. The department's org only.
	FnSetStatus = "SetStatus"
	// FnAnchorType records a catalog type version (ledger.TypeVersion). Platform org only.
	FnAnchorType = "AnchorType"
	// FnSetLogKey records the registry log's checkpoint key, once. Platform org only.
	FnSetLogKey = "SetLogKey"
	// FnPutCheckpoint records a checkpoint consistent with the previous one. Platform org only.
	FnPutCheckpoint = "PutCheckpoint"
	// FnGetLicense answers LicenseInfo.
	FnGetLicense = "GetLicense"
	// FnGetDepartment answers DepartmentInfo.
	FnGetDepartment = "GetDepartment"
	// FnGetCheckpoint answers CheckpointRecord.
	FnGetCheckpoint = "GetCheckpoint"
	// FnGetLogKey answers LogKey.
	FnGetLogKey = "GetLogKey"
	// FnAnchorRecordsHead records the head of a record chain whose sequence
	// is after the last anchored one. Platform org only.
	FnAnchorRecordsHead = "AnchorRecordsHead"
)

// Functions lists every chaincode function, sorted.
var Functions = []string{
	FnAddKey, FnAnchorBatch, FnAnchorBatchCompact, FnAnchorRecordsHead, FnAnchorType, FnGetCheckpoint, FnGetDepartment, FnGetLicense,
	FnGetLogKey, FnPutCheckpoint, FnRegisterDepartment, FnRevokeKey, FnSetLogKey, FnSetStatus,
}

// Limits on input, so one proposal cannot make every endorser do unbounded
// work. The client refuses what the chaincode would.
const (
	// MaxBatch bounds the anchors of one AnchorBatch or AnchorBatchCompact call.
	MaxBatch = 1000
	// MaxArgSize bounds one JSON argument, in bytes.
	MaxArgSize = 4 << 20
	// MaxMSPIDLen bounds an MSP ID given to RegisterDepartment.
	MaxMSPIDLen = 128
)

// EventName is the chaincode event every write sets; its payload is the
// WriteResult JSON. A client building the Merkle log from committed blocks
// appends, for each valid transaction in block order, the entries of its
// event.
const EventName = "zhengzhao.entries"

// DefaultPlatformMSP is the platform org's MSP ID when none is configured.
const DefaultPlatformMSP = "PlatformMSP"

// Entry is one recorded event: its canonical bytes (ledger.Event.Canonical,
// RFC 8785 JSON) and where it was recorded, transaction id and position among
// that transaction's entries. The log index of an entry is not known to the
// chaincode: it is the entry's position in the log built from block order.
type Entry struct {
	TxID  string          `json:"tx"`
	Index int             `json:"i"`
	Event json.RawMessage `json:"event"`
}

// WriteResult is what every write returns and sets as the chaincode event
// EventName: the transaction id and the canonical bytes of the entries it
// recorded, in order.
type WriteResult struct {
	TxID    string            `json:"tx"`
	Entries []json.RawMessage `json:"entries,omitempty"`
	// Count and Root replace Entries in AnchorBatchCompact's result: the
	// number of entries and the RFC 6962 Merkle root of their canonical
	// bytes, which a client rebuilds from its anchors and the transaction
	// timestamp (an entry is {v, kind: license.anchored, at: the
	// timestamp, anchor}) and checks against Root.
	Count int    `json:"count,omitempty"`
	Root  []byte `json:"root,omitempty"`
}

// DepartmentInfo is what GetDepartment returns: ledger.DepartmentState
// (keys and revocations, each with its reason code), the org the department
// belongs to, and the department's entries.
type DepartmentInfo struct {
	ledger.DepartmentState
	MSP     string  `json:"msp"`
	Entries []Entry `json:"entries"`
}

// LicenseInfo is what GetLicense returns: ledger.LicenseState (its log_index
// fields are 0, see Entry) and the license's entries, one for each History
// element in the same order.
type LicenseInfo struct {
	ledger.LicenseState
	Entries []Entry `json:"entries"`
}

// CheckpointRecord is the latest accepted checkpoint and the transaction that
// recorded it.
type CheckpointRecord struct {
	ledger.SignedCheckpoint
	TxID string `json:"tx"`
}

// LogKey is the registry log's checkpoint key: the key name (the log's
// origin) and the SM2 public key as PKIX DER.
type LogKey struct {
	Origin    string `json:"origin"`
	PublicKey []byte `json:"public_key"`
}

// Marshal encodes v as JSON without HTML escaping, so canonical event bytes
// inside (json.RawMessage) are kept byte for byte. Results, events and
// arguments are encoded with it.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, Errorf(CodeInternal, "encode: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// DecodeArg decodes the JSON argument name strictly: at most MaxArgSize
// bytes, no unknown fields, nothing after the value. Its errors are
// *Error with CodeInvalid, wrapping ledger.ErrInvalidEvent.
func DecodeArg(name, s string, v any) error {
	if len(s) > MaxArgSize {
		return Errorf(CodeInvalid, "%w: argument %s: %d bytes, limit %d", ledger.ErrInvalidEvent, name, len(s), MaxArgSize)
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Errorf(CodeInvalid, "%w: argument %s: %w", ledger.ErrInvalidEvent, name, err)
	}
	if dec.More() {
		return Errorf(CodeInvalid, "%w: argument %s: data after the JSON value", ledger.ErrInvalidEvent, name)
	}
	return nil
}

// CheckMSPID checks an MSP ID given for a department: 1 to MaxMSPIDLen
// characters of A–Z a–z 0–9 . _ -.
func CheckMSPID(id string) error {
	if id == "" || len(id) > MaxMSPIDLen {
		return Errorf(CodeInvalid, "%w: argument msp: an MSP ID of 1 to %d characters is required", ledger.ErrInvalidEvent, MaxMSPIDLen)
	}
	for _, c := range id {
		ok := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return Errorf(CodeInvalid, "%w: argument msp: %q has a character other than A-Z a-z 0-9 . _ -", ledger.ErrInvalidEvent, id)
		}
	}
	return nil
}
