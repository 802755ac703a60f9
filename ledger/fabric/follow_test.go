package fabric

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"zhengzhao/ledger"
	"zhengzhao/ledger/fabric/wire"
	"zhengzhao/ledger/ledgertest"
)

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeTx is one transaction of a block as the follower reads it.
type fakeTx struct {
	id        string
	valid     bool
	config    bool // a config transaction, not an endorser one
	chaincode string
	args      [][]byte
	event     *wire.WriteResult
	ts        time.Time
}

func (tx fakeTx) envelope(t *testing.T) []byte {
	t.Helper()
	typ := common.HeaderType_ENDORSER_TRANSACTION
	if tx.config {
		typ = common.HeaderType_CONFIG
	}
	ch := &common.ChannelHeader{Type: int32(typ), TxId: tx.id, Timestamp: timestamppb.New(tx.ts)}
	var events []byte
	if tx.event != nil {
		payload, _ := json.Marshal(tx.event)
		events = mustMarshal(t, &peer.ChaincodeEvent{ChaincodeId: tx.chaincode, TxId: tx.id, EventName: wire.EventName, Payload: payload})
	}
	cca := mustMarshal(t, &peer.ChaincodeAction{ChaincodeId: &peer.ChaincodeID{Name: tx.chaincode}, Events: events})
	prp := mustMarshal(t, &peer.ProposalResponsePayload{Extension: cca})
	cis := mustMarshal(t, &peer.ChaincodeInvocationSpec{ChaincodeSpec: &peer.ChaincodeSpec{Input: &peer.ChaincodeInput{Args: tx.args}}})
	cpp := mustMarshal(t, &peer.ChaincodeProposalPayload{Input: cis})
	cap := mustMarshal(t, &peer.ChaincodeActionPayload{ChaincodeProposalPayload: cpp, Action: &peer.ChaincodeEndorsedAction{ProposalResponsePayload: prp}})
	txb := mustMarshal(t, &peer.Transaction{Actions: []*peer.TransactionAction{{Payload: cap}}})
	pl := mustMarshal(t, &common.Payload{Header: &common.Header{ChannelHeader: mustMarshal(t, ch)}, Data: txb})
	return mustMarshal(t, &common.Envelope{Payload: pl})
}

func fakeBlock(t *testing.T, n uint64, txs ...fakeTx) *common.Block {
	t.Helper()
	b := &common.Block{Header: &common.BlockHeader{Number: n}, Data: &common.BlockData{}, Metadata: &common.BlockMetadata{Metadata: make([][]byte, 5)}}
	filter := make([]byte, len(txs))
	for i, tx := range txs {
		b.Data.Data = append(b.Data.Data, tx.envelope(t))
		filter[i] = byte(peer.TxValidationCode_MVCC_READ_CONFLICT)
		if tx.valid {
			filter[i] = byte(peer.TxValidationCode_VALID)
		}
	}
	b.Metadata.Metadata[common.BlockMetadataIndex_TRANSACTIONS_FILTER] = filter
	return b
}

// The follower takes, in block order, the entries of each valid
// transaction of the chaincode: from its event, or rebuilt from an
// AnchorBatchCompact's anchors and timestamp and checked against the
// event's root. Invalid transactions, config transactions and other
// chaincodes' events add nothing; a compact event whose root does not
// match its anchors stops the follower as corrupt.
func TestBlockEntries(t *testing.T) {
	d := ledgertest.NewWorld(t, time.Now()).NewDepartment("某市市场监督管理局")
	ts := time.Date(2026, 12, 7, 8, 0, 0, 123456789, time.UTC)
	anchors := []ledger.Anchor{d.Anchor(), d.Anchor()}
	compact, root, err := rebuildAnchors(ts, anchors)
	if err != nil {
		t.Fatal(err)
	}
	aj, _ := json.Marshal(anchors)
	single, _, err := rebuildAnchors(ts.Add(-time.Second), []ledger.Anchor{d.Anchor()})
	if err != nil {
		t.Fatal(err)
	}
	full := &wire.WriteResult{TxID: "t1", Entries: []json.RawMessage{single[0]}}
	b := fakeBlock(t, 7,
		fakeTx{id: "t0", valid: false, chaincode: "zhengzhao", event: full, ts: ts},
		fakeTx{id: "t1", valid: true, chaincode: "zhengzhao", event: full, ts: ts},
		fakeTx{id: "cfg", valid: true, config: true, ts: ts},
		fakeTx{id: "t2", valid: true, chaincode: "othercc", event: full, ts: ts},
		fakeTx{id: "t3", valid: true, chaincode: "zhengzhao", args: [][]byte{[]byte(wire.FnAnchorBatchCompact), aj}, event: &wire.WriteResult{TxID: "t3", Count: 2, Root: root}, ts: ts},
		fakeTx{id: "t4", valid: true, chaincode: "zhengzhao", ts: ts}, // PutCheckpoint: no event
	)
	got, err := blockEntries(b, "zhengzhao")
	if err != nil {
		t.Fatal(err)
	}
	want := []blockTx{{id: "t1", entries: [][]byte{single[0]}}, {id: "t3", entries: compact}}
	if len(got) != len(want) {
		t.Fatalf("got %d transactions with entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].id != want[i].id || len(got[i].entries) != len(want[i].entries) {
			t.Fatalf("tx %d: got %s with %d entries, want %s with %d", i, got[i].id, len(got[i].entries), want[i].id, len(want[i].entries))
		}
		for j := range want[i].entries {
			if string(got[i].entries[j]) != string(want[i].entries[j]) {
				t.Errorf("tx %s entry %d:\n got %s\nwant %s", want[i].id, j, got[i].entries[j], want[i].entries[j])
			}
		}
	}

	for _, c := range []struct {
		name string
		tx   fakeTx
	}{
		{"root of other entries", fakeTx{id: "x", valid: true, chaincode: "zhengzhao", args: [][]byte{[]byte(wire.FnAnchorBatchCompact), aj}, event: &wire.WriteResult{Count: 2, Root: make([]byte, 32)}, ts: ts}},
		{"another timestamp", fakeTx{id: "x", valid: true, chaincode: "zhengzhao", args: [][]byte{[]byte(wire.FnAnchorBatchCompact), aj}, event: &wire.WriteResult{Count: 2, Root: root}, ts: ts.Add(time.Millisecond)}},
		{"count without anchors", fakeTx{id: "x", valid: true, chaincode: "zhengzhao", args: [][]byte{[]byte(wire.FnSetStatus), []byte("{}")}, event: &wire.WriteResult{Count: 1, Root: root}, ts: ts}},
		{"an entry that is not an event", fakeTx{id: "x", valid: true, chaincode: "zhengzhao", event: &wire.WriteResult{Entries: []json.RawMessage{json.RawMessage(`{"v":1}`)}}, ts: ts}},
	} {
		_, err := blockEntries(fakeBlock(t, 8, c.tx), "zhengzhao")
		var ce *corruptError
		if !errors.As(err, &ce) || !errors.Is(err, ledger.ErrCorrupt) {
			t.Errorf("%s: %v, want a corrupt error", c.name, err)
		}
	}
}
