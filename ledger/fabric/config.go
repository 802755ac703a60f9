package fabric

import (
	"errors"
	"fmt"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"google.golang.org/grpc"

	"zhengzhao/ledger/fabric/wire"
	"zhengzhao/ledger/tlog"
	"zhengzhao/signing"
)

// DefaultOrigin is the log origin (and checkpoint key name) when
// Config.Origin is empty.
const DefaultOrigin = "zhengzhao.fabric/ledger"

// ErrConfig means a Config is not usable.
var ErrConfig = errors.New("fabric: invalid config")

// Org is one organisation's client: a gRPC connection to a peer of the org
// (its Fabric Gateway) and the signing identity of a client of that org.
// The connection is the caller's; Close does not close it.
type Org struct {
	// MSPID is the org's MSP ID; it must be the identity's.
	MSPID string
	// Conn is a connection to a peer of the org (grpc.NewClient).
	Conn grpc.ClientConnInterface
	// Identity is the client's X.509 identity (identity.NewX509Identity).
	Identity identity.Identity
	// Sign signs with the identity's private key (identity.NewPrivateKeySign).
	Sign identity.Sign
}

// Timeouts bound each stage of a transaction. Zero values take the defaults.
type Timeouts struct {
	// Endorse bounds collecting endorsements (default 30 s).
	Endorse time.Duration
	// Submit bounds handing the endorsed transaction to the orderer (default 10 s).
	Submit time.Duration
	// CommitStatus bounds waiting for the commit (default 60 s).
	CommitStatus time.Duration
	// Evaluate bounds a query (default 10 s).
	Evaluate time.Duration
}

func (t Timeouts) withDefaults() Timeouts {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Endorse, 30*time.Second)
	def(&t.Submit, 10*time.Second)
	def(&t.CommitStatus, 60*time.Second)
	def(&t.Evaluate, 10*time.Second)
	return t
}

// Config configures a Fabric ledger.
type Config struct {
	// Channel and Chaincode name where the Zhengzhao chaincode runs.
	Channel   string
	Chaincode string

	// Platform is the platform org's client. It submits RegisterDepartment,
	// AddKey, RevokeKey, SetLogKey and PutCheckpoint; without it those
	// calls fail with ErrNoOrg and checkpoints are not published.
	Platform *Org
	// Orgs are department orgs' clients. An anchor or status change of a
	// department goes through the client of the org it was registered
	// with; without one the call fails with ErrNoOrg.
	Orgs []*Org
	// Reader is the MSP ID of the client whose peer answers License,
	// Department and Checkpoint: the caller's own peer. Empty means the
	// first of Orgs, or Platform when there are none.
	Reader string
	// DepartmentOrg gives the MSP ID of the org a department being
	// registered belongs to (whose clients may anchor its licenses). Nil
	// means the MSP ID of the only element of Orgs.
	DepartmentOrg func(uscc string) string

	// Dir is the directory of this instance's local log (see the package
	// documentation); it is created if missing.
	Dir string
	// Signer signs the log's checkpoints. It must stay the same for the
	// life of the log; with Publish it must be the key recorded on the
	// channel (SetLogKey), which New records if none is.
	Signer signing.Signer
	// Origin names the log in its checkpoints; empty means DefaultOrigin.
	Origin string
	// Publish makes the ledger push each new checkpoint to the chaincode
	// (PutCheckpoint, with a consistency proof from the previous one), so
	// the endorsing orgs witness the log. It needs Platform. One log per
	// channel can be published.
	Publish bool
	// Follow makes the log the channel's: the ledger reads every block of
	// the channel (from the Reader's peer) and appends, in block order, the
	// entries of each valid transaction of the chaincode, whoever wrote it;
	// a write returns once its entries are in the log. Every instance that
	// follows one channel with the same Signer and Origin builds the same
	// log, so their receipts, checkpoints and proofs are interchangeable and
	// all of them may publish (see the package documentation).
	Follow bool

	// Timeouts bound each transaction stage.
	Timeouts Timeouts
	// BatchSize bounds the anchors coalesced into one transaction (1 to
	// wire.MaxBatch; 0 means wire.MaxBatch).
	BatchSize int
	// BatchDelay is how long the first anchor of a batch waits for others
	// to join it (0 means 20 ms; negative means no waiting).
	BatchDelay time.Duration
	// InFlight bounds the anchor transactions in flight at once (0 means 4).
	InFlight int
	// Retries bounds the retries of a transaction that failed in a way
	// that is safe to retry (0 means 5; negative means none).
	Retries int
	// RetryDelay is the first pause before a retry, doubled each time (0
	// means 100 ms).
	RetryDelay time.Duration
}

// Validate reports what is missing or malformed in c.
func (c Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...)
	}
	switch {
	case c.Channel == "":
		return bad("Channel is required")
	case c.Chaincode == "":
		return bad("Chaincode is required")
	case c.Platform == nil && len(c.Orgs) == 0:
		return bad("at least one of Platform and Orgs is required")
	case c.Dir == "":
		return bad("Dir is required")
	case c.Signer == nil:
		return bad("Signer is required")
	case c.Publish && c.Platform == nil:
		return bad("Publish needs Platform (only the platform org may publish checkpoints)")
	case c.BatchSize < 0 || c.BatchSize > wire.MaxBatch:
		return bad("BatchSize %d is outside 0..%d", c.BatchSize, wire.MaxBatch)
	case c.InFlight < 0:
		return bad("InFlight %d is negative", c.InFlight)
	}
	if c.Origin != "" {
		if err := tlog.CheckKeyName(c.Origin); err != nil {
			return bad("Origin: %w", err)
		}
	}
	seen := map[string]bool{}
	orgs := c.Orgs
	if c.Platform != nil {
		orgs = append([]*Org{c.Platform}, orgs...)
	}
	for i, o := range orgs {
		switch {
		case o == nil:
			return bad("Orgs[%d] is nil", i)
		case o.MSPID == "":
			return bad("an org has no MSPID")
		case o.Conn == nil || o.Identity == nil || o.Sign == nil:
			return bad("org %s: Conn, Identity and Sign are required", o.MSPID)
		case o.Identity.MspID() != o.MSPID:
			return bad("org %s: the identity is of %s", o.MSPID, o.Identity.MspID())
		case seen[o.MSPID] && (c.Platform == nil || o != c.Platform):
			return bad("org %s is listed twice", o.MSPID)
		}
		seen[o.MSPID] = true
	}
	if c.Reader != "" && !seen[c.Reader] {
		return bad("Reader %s is not one of the orgs", c.Reader)
	}
	if c.DepartmentOrg == nil && len(c.Orgs) > 1 {
		return bad("DepartmentOrg is required with more than one department org")
	}
	return nil
}

func (c Config) origin() string {
	if c.Origin == "" {
		return DefaultOrigin
	}
	return c.Origin
}
