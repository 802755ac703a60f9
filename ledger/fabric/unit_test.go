package fabric

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	gwproto "github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"zhengzhao/ledger"
	"zhengzhao/ledger/fabric/wire"
	"zhengzhao/ledger/logfile"
	"zhengzhao/ledger/tlog"
	"zhengzhao/signing"
)

func newSigner(t testing.TB) signing.Signer {
	t.Helper()
	k, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return signing.NewKeySigner(k)
}

// fakeID is an identity of an MSP; Validate only looks at the MSP ID.
type fakeID struct{ msp string }

func (f fakeID) MspID() string       { return f.msp }
func (f fakeID) Credentials() []byte { return nil }

var _ identity.Identity = fakeID{}

func fakeOrg(msp string) *Org {
	return &Org{MSPID: msp, Conn: &grpc.ClientConn{}, Identity: fakeID{msp}, Sign: func([]byte) ([]byte, error) { return nil, nil }}
}

func TestConfigValidate(t *testing.T) {
	s := newSigner(t)
	base := func() Config {
		return Config{Channel: "zhengzhao", Chaincode: "zhengzhao", Platform: fakeOrg("PlatformMSP"), Orgs: []*Org{fakeOrg("Org1MSP")}, Dir: "x", Signer: s}
	}
	tests := []struct {
		name string
		edit func(*Config)
		ok   bool
	}{
		{"minimal", func(*Config) {}, true},
		{"publish", func(c *Config) { c.Publish = true }, true},
		{"reader platform", func(c *Config) { c.Reader = "PlatformMSP" }, true},
		{"no channel", func(c *Config) { c.Channel = "" }, false},
		{"no chaincode", func(c *Config) { c.Chaincode = "" }, false},
		{"no orgs", func(c *Config) { c.Platform, c.Orgs = nil, nil }, false},
		{"no dir", func(c *Config) { c.Dir = "" }, false},
		{"no signer", func(c *Config) { c.Signer = nil }, false},
		{"publish without platform", func(c *Config) { c.Platform, c.Publish = nil, true }, false},
		{"batch too big", func(c *Config) { c.BatchSize = wire.MaxBatch + 1 }, false},
		{"unknown reader", func(c *Config) { c.Reader = "Org9MSP" }, false},
		{"identity of another org", func(c *Config) { c.Orgs[0].Identity = fakeID{"Org2MSP"} }, false},
		{"org twice", func(c *Config) { c.Orgs = append(c.Orgs, fakeOrg("Org1MSP")) }, false},
		{"two orgs without DepartmentOrg", func(c *Config) { c.Orgs = append(c.Orgs, fakeOrg("Org2MSP")) }, false},
		{"two orgs with DepartmentOrg", func(c *Config) {
			c.Orgs = append(c.Orgs, fakeOrg("Org2MSP"))
			c.DepartmentOrg = func(string) string { return "Org1MSP" }
		}, true},
		{"bad origin", func(c *Config) { c.Origin = "a b" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.edit(&c)
			err := c.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Fatalf("Validate() = %v, want ErrConfig", err)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	grpcErr := func(code codes.Code, msg string, details ...string) error {
		st := status.New(code, msg)
		for _, d := range details {
			st, _ = st.WithDetails(&gwproto.ErrorDetail{Address: "127.0.0.1:27251", MspId: "Org1MSP", Message: d})
		}
		return st.Err()
	}
	tests := []struct {
		name      string
		err       error
		want      error
		code      wire.Code
		retry     bool
		verdict   bool
		forbidden bool
	}{
		{"bad signature in details", grpcErr(codes.Aborted, "failed to endorse transaction", "chaincode response 500, ERR_BAD_SIGNATURE: license x: field signature"), ledger.ErrBadSignature, "ERR_BAD_SIGNATURE", false, true, false},
		{"duplicate in message", grpcErr(codes.Unknown, "evaluate call to endorser returned error: chaincode response 500, ERR_DUPLICATE: license x is already anchored"), ledger.ErrDuplicate, "ERR_DUPLICATE", false, true, false},
		{"not found", grpcErr(codes.Unknown, "chaincode response 500, ERR_NOT_FOUND: license x"), ledger.ErrNotFound, "ERR_NOT_FOUND", false, true, false},
		{"unknown department", grpcErr(codes.Aborted, "x", "ERR_UNKNOWN_DEPARTMENT: license x: field issuer"), ledger.ErrUnknownDepartment, "ERR_UNKNOWN_DEPARTMENT", false, true, false},
		{"key not valid", grpcErr(codes.Aborted, "x", "ERR_KEY_NOT_VALID: key"), ledger.ErrKeyNotValid, "ERR_KEY_NOT_VALID", false, true, false},
		{"final", grpcErr(codes.Aborted, "x", "ERR_FINAL: license x"), ledger.ErrFinal, "ERR_FINAL", false, true, false},
		{"invalid", grpcErr(codes.Aborted, "x", "ERR_INVALID: field id"), ledger.ErrInvalidEvent, "ERR_INVALID", false, true, false},
		{"consistency", grpcErr(codes.Aborted, "x", "ERR_CONSISTENCY: not an extension"), ledger.ErrCorrupt, "ERR_CONSISTENCY", false, true, false},
		{"forbidden", grpcErr(codes.Aborted, "x", "ERR_FORBIDDEN: department belongs to Org1MSP"), ledger.ErrInvalidEvent, "ERR_FORBIDDEN", false, true, true},
		{"internal", grpcErr(codes.Aborted, "x", "ERR_INTERNAL: read dept/x"), ledger.ErrUnavailable, "ERR_INTERNAL", true, false, false},
		{"no peers yet", grpcErr(codes.FailedPrecondition, "no combination of peers can be derived which satisfy the endorsement policy"), ledger.ErrUnavailable, "", true, false, false},
		{"peer down", grpcErr(codes.Unavailable, "connection refused"), ledger.ErrUnavailable, "", true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := classify(wire.FnAnchorBatch, "tx1", StageEndorse, tt.err)
			if !errors.Is(e, tt.want) || e.Code != tt.code || e.TxID != "tx1" {
				t.Fatalf("classify = %#v (%v), want %v code %q", e, e, tt.want, tt.code)
			}
			if e.retryable() != tt.retry || e.verdict() != tt.verdict || errors.Is(e, ErrForbidden) != tt.forbidden {
				t.Fatalf("retryable %v verdict %v forbidden %v, want %v %v %v", e.retryable(), e.verdict(), errors.Is(e, ErrForbidden), tt.retry, tt.verdict, tt.forbidden)
			}
			if !errors.Is(e, tt.err) {
				t.Fatalf("the gateway error is not kept: %v", e)
			}
		})
	}
	ce := classify(wire.FnSetStatus, "", StageCommit, &client.CommitError{TransactionID: "tx2", Code: peer.TxValidationCode_MVCC_READ_CONFLICT})
	if ce.TxID != "tx2" || ce.Validation != "MVCC_READ_CONFLICT" || !errors.Is(ce, ledger.ErrUnavailable) {
		t.Fatalf("commit error: %#v", ce)
	}
}

func TestRetryRules(t *testing.T) {
	if !retryableValidation(peer.TxValidationCode_MVCC_READ_CONFLICT) || !retryableValidation(peer.TxValidationCode_PHANTOM_READ_CONFLICT) {
		t.Fatal("MVCC conflicts must be retried")
	}
	for _, c := range []peer.TxValidationCode{peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE, peer.TxValidationCode_DUPLICATE_TXID, peer.TxValidationCode_BAD_PAYLOAD} {
		if retryableValidation(c) {
			t.Fatalf("%s must not be retried with a new proposal", c)
		}
	}
	if !transient(status.Error(codes.Unavailable, "x")) || !transient(context.DeadlineExceeded) || transient(status.Error(codes.PermissionDenied, "x")) {
		t.Fatal("transient misclassifies")
	}
}

func TestOffender(t *testing.T) {
	batch := []*anchorReq{{anchors: make([]ledger.Anchor, 2)}, {anchors: make([]ledger.Anchor, 1)}, {anchors: make([]ledger.Anchor, 3)}}
	tests := []struct {
		detail string
		want   int
	}{
		{"ERR_BAD_SIGNATURE: event 0 of 6: license x", 0},
		{"ERR_BAD_SIGNATURE: event 1 of 6: license x", 0},
		{"ERR_DUPLICATE: event 2 of 6: license x is already anchored", 1},
		{"ERR_INVALID: event 5 of 6: field id", 2},
		{"ERR_INVALID: event 5 of 7: field id", -1}, // not this batch
		{"ERR_FORBIDDEN: department x belongs to org Org1MSP", -1},
	}
	for _, tt := range tests {
		if got := offender(&TxError{Detail: tt.detail}, batch); got != tt.want {
			t.Errorf("offender(%q) = %d, want %d", tt.detail, got, tt.want)
		}
	}
}

// The local log survives a reopen (indexes, checkpoint), cuts a torn tail,
// and refuses to open with another key or a damaged entry.
func TestLocalLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := newSigner(t)
	lg, err := openLog(ctx, dir, DefaultOrigin, s)
	if err != nil {
		t.Fatal(err)
	}
	if lg.cp.Size != 0 {
		t.Fatalf("new log has size %d", lg.cp.Size)
	}
	e1 := mustEvent(t, "1")
	e2 := mustEvent(t, "2")
	e3 := mustEvent(t, "3")
	firsts, err := lg.appendGroups([][][]byte{{e1, e2}, {e3}})
	if err != nil {
		t.Fatal(err)
	}
	if firsts[0] != 0 || firsts[1] != 2 || lg.cp.Size != 3 || lg.lookup(e3) != 2 || lg.lookup([]byte("x")) != NotInLog {
		t.Fatalf("after append: firsts %v size %d", firsts, lg.cp.Size)
	}
	root := lg.cp.Root
	lg.close()
	// A torn write after the last checkpoint is cut off on open.
	f, _ := os.OpenFile(filepath.Join(dir, logFile), os.O_WRONLY|os.O_APPEND, 0)
	rec, _ := logfile.AppendRecord(nil, logfile.TypeEntry, mustEvent(t, "4"))
	f.Write(rec[:len(rec)-5])
	f.Close()
	lg, err = openLog(ctx, dir, DefaultOrigin, s)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if lg.cp.Size != 3 || string(lg.cp.Root) != string(root) || lg.lookup(e1) != 0 {
		t.Fatalf("reopened log: size %d", lg.cp.Size)
	}
	if _, err := tlog.VerifyCheckpoint(lg.cp.Note, DefaultOrigin, s.Public()); err != nil {
		t.Fatal(err)
	}
	lg.close()
	if _, err := openLog(ctx, dir, DefaultOrigin, newSigner(t)); !errors.Is(err, ledger.ErrCorrupt) {
		t.Fatalf("open with another key: %v, want ErrCorrupt", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, logFile))
	b[len(logfile.Magic)+logfile.HeaderSize+3] ^= 1 // inside the first entry
	os.WriteFile(filepath.Join(dir, logFile), b, 0o600)
	var ce *logfile.CorruptError
	if _, err := openLog(ctx, dir, DefaultOrigin, s); !errors.As(err, &ce) || ce.Index != 0 {
		t.Fatalf("open a damaged log: %v, want a CorruptError at entry 0", err)
	}
}

func mustEvent(t *testing.T, serial string) []byte {
	t.Helper()
	e := ledger.Event{V: ledger.EventVersion, Kind: ledger.KindLicenseStatus, At: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC),
		Status: &ledger.StatusChange{Identifier: "1.2.156.3005.2.x." + serial, Issuer: "x", Status: "revoked"}}
	b, err := e.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
