package license

// Status is the lifecycle state of an issued license.
type Status string

// License statuses. Revocation (注销/吊销) is final; suspension (暂停) is not.
const (
	StatusActive    Status = "active"
	StatusSuspended Status = "suspended"
	StatusRevoked   Status = "revoked"
)

// Valid reports whether s is one of the defined statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusActive, StatusSuspended, StatusRevoked:
		return true
	}
	return false
}
