package chaincode

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"zhengzhao/ledger"
	"zhengzhao/ledger/fabric/wire"
	"zhengzhao/ledger/ledgertest"
	"zhengzhao/ledger/tlog"
	"zhengzhao/signing"
)

// TestLedgerSuite runs the ledger conformance suite (the same vectors as the
// embedded ledger) against the chaincode, through ccLedger: a ledger.Ledger
// that, like a Fabric client would, submits each write as one transaction,
// sees only the error strings, builds the Merkle log from the entries of the
// committed transactions in order, and publishes a signed checkpoint with a
// consistency proof after every write.
func TestLedgerSuite(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledger.Ledger { return newCCLedger(t) })
}

const (
	testPlatform = "PlatformMSP"
	testDeptOrg  = "Org1MSP"
	testOrigin   = "zhengzhao.test/fabric"
)

type entryRef struct {
	tx string
	i  int
}

type ccLedger struct {
	mu     sync.Mutex
	c      *Contract
	w      *fakeWorld
	tree   *tlog.Tree
	index  map[entryRef]uint64
	signer signing.Signer
	lastAt time.Time
	closed bool
}

var _ ledger.Ledger = (*ccLedger)(nil)

func newCCLedger(t *testing.T) *ccLedger {
	t.Helper()
	k, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	l := &ccLedger{c: NewContract(""), w: newFakeWorld(), tree: tlog.NewTree(), index: map[entryRef]uint64{}, signer: signing.NewKeySigner(k)}
	der, err := signing.MarshalPublicKey(l.signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.submit(testPlatform, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return l.c.SetLogKey(ctx, b64(der), testOrigin)
	}); err != nil {
		t.Fatalf("SetLogKey: %v", err)
	}
	if err := l.publish(0); err != nil {
		t.Fatalf("first checkpoint: %v", err)
	}
	return l
}

// submit runs fn as one transaction and commits it if it succeeds. The
// transaction time is the wall clock, kept increasing.
func (l *ccLedger) submit(msp string, fn func(ctx contractapi.TransactionContextInterface) (string, error)) (string, error) {
	at := time.Now()
	if !at.After(l.lastAt) {
		at = l.lastAt.Add(time.Microsecond)
	}
	l.lastAt = at
	stub := l.w.begin(at)
	out, err := fn(txContext(stub, msp))
	if err != nil {
		return "", fromChaincode(err)
	}
	stub.commit()
	return out, nil
}

// fromChaincode maps a chaincode error, by its code prefix only, to the
// ledger sentinel a client returns (wire.Sentinel).
func fromChaincode(err error) error {
	msg := err.Error()
	code, _, _ := strings.Cut(msg, ":")
	sentinel := wire.Sentinel(wire.Code(code))
	if sentinel == nil {
		sentinel = ledger.ErrUnavailable
	}
	return fmt.Errorf("%w: chaincode: %s", sentinel, msg)
}

// write submits a write, appends its entries to the log, publishes a new
// checkpoint and returns the receipts.
func (l *ccLedger) write(msp string, fn func(ctx contractapi.TransactionContextInterface) (string, error)) ([]ledger.Receipt, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, fmt.Errorf("%w: closed", ledger.ErrUnavailable)
	}
	out, err := l.submit(msp, fn)
	if err != nil {
		return nil, err
	}
	var res wire.WriteResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		return nil, fmt.Errorf("%w: result: %w", ledger.ErrUnavailable, err)
	}
	old := l.tree.Size()
	first := old
	for i, e := range res.Entries {
		l.index[entryRef{res.TxID, i}] = l.tree.Append(e)
	}
	if err := l.publish(old); err != nil {
		return nil, err
	}
	cp, err := l.checkpoint()
	if err != nil {
		return nil, err
	}
	rs := make([]ledger.Receipt, len(res.Entries))
	for i, e := range res.Entries {
		p, err := l.tree.InclusionProof(first+uint64(i), cp.Size)
		if err != nil {
			return nil, err
		}
		rs[i] = ledger.Receipt{Entry: e, LogIndex: first + uint64(i), TreeSize: cp.Size, InclusionProof: p, Checkpoint: cp.Note}
	}
	return rs, nil
}

// publish signs a checkpoint of the tree and records it with the proof from
// the tree of size old.
func (l *ccLedger) publish(old uint64) error {
	note, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: testOrigin, Size: l.tree.Size(), Root: l.tree.Root()}, testOrigin, l.signer)
	if err != nil {
		return err
	}
	proof, err := l.tree.ConsistencyProof(old, l.tree.Size())
	if err != nil {
		return err
	}
	pj, _ := json.Marshal(proof)
	_, err = l.submit(testPlatform, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return l.c.PutCheckpoint(ctx, note, string(pj))
	})
	return err
}

func (l *ccLedger) read(fn func(ctx contractapi.TransactionContextInterface) (string, error), v any) error {
	if l.closed {
		return fmt.Errorf("%w: closed", ledger.ErrUnavailable)
	}
	out, err := l.submit(testDeptOrg, fn)
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(out), v)
}

func (l *ccLedger) single(rs []ledger.Receipt, err error) (ledger.Receipt, error) {
	if err != nil {
		return ledger.Receipt{}, err
	}
	return rs[0], nil
}

func (l *ccLedger) RegisterDepartment(_ context.Context, d ledger.Department, k ledger.Key) (ledger.Receipt, error) {
	dj, _ := json.Marshal(d)
	kj, _ := json.Marshal(k)
	return l.single(l.write(testPlatform, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return l.c.RegisterDepartment(ctx, string(dj), string(kj), testDeptOrg)
	}))
}

func (l *ccLedger) AddKey(_ context.Context, k ledger.Key) (ledger.Receipt, error) {
	kj, _ := json.Marshal(k)
	return l.single(l.write(testPlatform, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return l.c.AddKey(ctx, string(kj))
	}))
}

func (l *ccLedger) RevokeKey(_ context.Context, r ledger.KeyRevocation) (ledger.Receipt, error) {
	rj, _ := json.Marshal(r)
	return l.single(l.write(testPlatform, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return l.c.RevokeKey(ctx, string(rj))
	}))
}

func (l *ccLedger) Anchor(_ context.Context, anchors []ledger.Anchor) ([]ledger.Receipt, error) {
	aj, _ := json.Marshal(anchors)
	return l.write(testDeptOrg, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return l.c.AnchorBatch(ctx, string(aj))
	})
}

func (l *ccLedger) SetStatus(_ context.Context, c ledger.StatusChange) (ledger.Receipt, error) {
	cj, _ := json.Marshal(c)
	return l.single(l.write(testDeptOrg, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return l.c.SetStatus(ctx, string(cj))
	}))
}

func (l *ccLedger) AnchorType(_ context.Context, t ledger.TypeVersion) (ledger.Receipt, error) {
	tj, _ := json.Marshal(t)
	return l.single(l.write(testPlatform, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return l.c.AnchorType(ctx, string(tj))
	}))
}

func (l *ccLedger) AnchorRecordsHead(_ context.Context, h ledger.RecordsHead) (ledger.Receipt, error) {
	hj, _ := json.Marshal(h)
	return l.single(l.write(testPlatform, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return l.c.AnchorRecordsHead(ctx, string(hj))
	}))
}

func (l *ccLedger) License(_ context.Context, id string) (*ledger.LicenseState, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var li wire.LicenseInfo
	if err := l.read(func(ctx contractapi.TransactionContextInterface) (string, error) { return l.c.GetLicense(ctx, id) }, &li); err != nil {
		return nil, err
	}
	if len(li.Entries) != len(li.History) {
		return nil, fmt.Errorf("%d entries for %d history events", len(li.Entries), len(li.History))
	}
	for i, e := range li.Entries {
		idx, ok := l.index[entryRef{e.TxID, e.Index}]
		if !ok {
			return nil, fmt.Errorf("entry %s/%d is not in the log", e.TxID, e.Index)
		}
		li.History[i].LogIndex = idx
	}
	li.LogIndex = li.History[0].LogIndex
	return &li.LicenseState, nil
}

func (l *ccLedger) Department(_ context.Context, uscc string) (*ledger.DepartmentState, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var di wire.DepartmentInfo
	if err := l.read(func(ctx contractapi.TransactionContextInterface) (string, error) { return l.c.GetDepartment(ctx, uscc) }, &di); err != nil {
		return nil, err
	}
	return &di.DepartmentState, nil
}

func (l *ccLedger) Checkpoint(context.Context) (ledger.SignedCheckpoint, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.checkpoint()
}

func (l *ccLedger) checkpoint() (ledger.SignedCheckpoint, error) {
	var cr wire.CheckpointRecord
	if err := l.read(func(ctx contractapi.TransactionContextInterface) (string, error) { return l.c.GetCheckpoint(ctx) }, &cr); err != nil {
		return ledger.SignedCheckpoint{}, err
	}
	return cr.SignedCheckpoint, nil
}

func (l *ccLedger) InclusionProof(_ context.Context, index, size uint64) ([][]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, err := l.tree.InclusionProof(index, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ledger.ErrNotFound, err)
	}
	return p, nil
}

func (l *ccLedger) ConsistencyProof(_ context.Context, oldSize, newSize uint64) ([][]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, err := l.tree.ConsistencyProof(oldSize, newSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ledger.ErrNotFound, err)
	}
	return p, nil
}

func (l *ccLedger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	return nil
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
