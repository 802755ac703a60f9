package license

import "time"

// Status is the lifecycle state of an issued license. Its value is a stable
// English code (API, ledger, status lists); Label gives the Chinese a person
// reads.
type Status string

// License statuses. Cancelled (注销), revoked (吊销), withdrawn (撤销) and
// superseded (已变更) are final; suspended (暂停) is not. Expiry (已过期) is not
// a recorded status: it follows from the validity dates.
const (
	StatusActive     Status = "active"
	StatusSuspended  Status = "suspended"
	StatusCancelled  Status = "cancelled"
	StatusRevoked    Status = "revoked"
	StatusWithdrawn  Status = "withdrawn"
	StatusSuperseded Status = "superseded"
)

// statusInfo is what each status means to a person and to a status list.
var statusInfo = map[Status]struct {
	label string // what a person reads
	final bool
	code  uint8 // the value in a W3C status list with statusSize 3
}{
	StatusActive:     {"有效", false, 0},
	StatusSuspended:  {"已暂停", false, 1},
	StatusCancelled:  {"已注销", true, 2},
	StatusRevoked:    {"已吊销", true, 3},
	StatusWithdrawn:  {"已撤销", true, 4},
	StatusSuperseded: {"已变更", true, 5},
}

// Statuses lists every status in the order of their status-list values.
func Statuses() []Status {
	return []Status{StatusActive, StatusSuspended, StatusCancelled, StatusRevoked, StatusWithdrawn, StatusSuperseded}
}

// Valid reports whether s is one of the defined statuses.
func (s Status) Valid() bool {
	_, ok := statusInfo[s]
	return ok
}

// Final reports whether no status change may follow s.
func (s Status) Final() bool { return statusInfo[s].final }

// Label is the status in Chinese, as a clerk or a holder reads it.
func (s Status) Label() string {
	if i, ok := statusInfo[s]; ok {
		return i.label
	}
	return "未知状态"
}

// ListValue is the status's value in a status list (statusSize 3).
func (s Status) ListValue() uint8 { return statusInfo[s].code }

// StatusFromListValue is the status a status-list value stands for.
func StatusFromListValue(v uint8) (Status, bool) {
	for s, i := range statusInfo {
		if i.code == v {
			return s, true
		}
	}
	return "", false
}

// ChinaTime is China Standard Time: the zone dates on licenses are written
// in and times are shown to people in. China has kept UTC+8 without
// daylight saving since 1991, so a fixed zone gives the same instants as the
// tz database for every license date and needs no tzdata on the verifying
// machine.
var ChinaTime = time.FixedZone("CST", 8*60*60)
