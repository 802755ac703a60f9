package chaincode

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fakeWorld is the committed world state of one peer.
type fakeWorld struct {
	state map[string][]byte
	txs   int
}

func newFakeWorld() *fakeWorld { return &fakeWorld{state: map[string][]byte{}} }

// fakeStub is one transaction on a fakeWorld: reads see the committed state
// (as on Fabric, not the transaction's own writes); writes are buffered until
// commit. Only the methods the chaincode uses are implemented; the embedded
// nil interface makes any other call panic.
type fakeStub struct {
	shim.ChaincodeStubInterface
	w       *fakeWorld
	txID    string
	ts      *timestamppb.Timestamp
	writes  map[string][]byte
	event   string
	payload []byte
	// For calls through the contract API's Invoke.
	args    []string
	creator []byte
}

func (w *fakeWorld) begin(at time.Time) *fakeStub {
	w.txs++
	return &fakeStub{w: w, txID: fmt.Sprintf("tx%06d", w.txs), ts: timestamppb.New(at), writes: map[string][]byte{}}
}

func (s *fakeStub) GetState(key string) ([]byte, error) {
	if v, ok := s.w.state[key]; ok {
		return bytes.Clone(v), nil
	}
	return nil, nil
}

func (s *fakeStub) PutState(key string, value []byte) error {
	// Fabric's own checks on simple keys.
	if key == "" || !utf8.ValidString(key) || key[0] == 0 {
		return fmt.Errorf("invalid key %q", key)
	}
	if len(value) == 0 {
		return fmt.Errorf("empty value for %q (Fabric treats it as a delete)", key)
	}
	s.writes[key] = bytes.Clone(value)
	return nil
}

func (s *fakeStub) GetMultipleStates(keys ...string) ([][]byte, error) {
	out := make([][]byte, len(keys))
	for i, k := range keys {
		v, err := s.GetState(k)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// StartWriteBatch changes nothing here: writes are buffered anyway.
func (s *fakeStub) StartWriteBatch() {}

func (s *fakeStub) GetTxID() string                                 { return s.txID }
func (s *fakeStub) GetTxTimestamp() (*timestamppb.Timestamp, error) { return s.ts, nil }

func (s *fakeStub) SetEvent(name string, payload []byte) error {
	s.event, s.payload = name, bytes.Clone(payload)
	return nil
}

func (s *fakeStub) GetFunctionAndParameters() (string, []string) {
	if len(s.args) == 0 {
		return "", nil
	}
	return s.args[0], s.args[1:]
}

func (s *fakeStub) GetCreator() ([]byte, error) { return s.creator, nil }

// commit applies the buffered writes.
func (s *fakeStub) commit() { maps.Copy(s.w.state, s.writes) }

// writeSet returns the writes in key order, for comparing endorsements.
func (s *fakeStub) writeSet() string {
	var b bytes.Buffer
	for _, k := range slices.Sorted(maps.Keys(s.writes)) {
		fmt.Fprintf(&b, "%s=%s\n", k, s.writes[k])
	}
	return b.String()
}

// fakeID is the creator's identity; only the MSP ID is used.
type fakeID struct {
	cid.ClientIdentity
	msp string
}

func (f fakeID) GetMSPID() (string, error) { return f.msp, nil }

func txContext(stub *fakeStub, msp string) *contractapi.TransactionContext {
	ctx := &contractapi.TransactionContext{}
	ctx.SetStub(stub)
	ctx.SetClientIdentity(fakeID{msp: msp})
	return ctx
}
