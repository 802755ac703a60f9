package ledgertest

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"zhengzhao/ledger"
)

// testRecordsHead anchors record-chain heads: each one is in the log with
// its receipt, a head whose sequence does not grow is refused (ErrDuplicate),
// malformed heads are refused (ErrInvalidEvent), and chains are apart.
func testRecordsHead(t *testing.T, l ledger.Ledger, w *World) {
	ctx := context.Background()
	hash := func(b byte) []byte { return bytes.Repeat([]byte{b}, ledger.HashSize) }
	// Chain names of this run: runs sharing one Fabric network each start
	// their chains afresh.
	run := fmt.Sprintf("-%d", usccCounter.Add(1))
	mainChain, other := "main"+run, "hall"+run
	r, err := l.AnchorRecordsHead(ctx, ledger.RecordsHead{Chain: mainChain, Seq: 5, Hash: hash(1)})
	if err != nil {
		t.Fatalf("AnchorRecordsHead(seq 5): %v", err)
	}
	e := CheckReceipt(t, r)
	if e.Kind != ledger.KindRecordsHead || e.RecordsHead == nil || e.RecordsHead.Seq != 5 || !bytes.Equal(e.RecordsHead.Hash, hash(1)) {
		t.Fatalf("receipt entry is %+v, want the records head of seq 5", e)
	}
	_, err = l.AnchorRecordsHead(ctx, ledger.RecordsHead{Chain: mainChain, Seq: 5, Hash: hash(2)})
	wantErr(t, "same sequence again", err, ledger.ErrDuplicate)
	_, err = l.AnchorRecordsHead(ctx, ledger.RecordsHead{Chain: mainChain, Seq: 4, Hash: hash(2)})
	wantErr(t, "sequence going back", err, ledger.ErrDuplicate)
	if _, err := l.AnchorRecordsHead(ctx, ledger.RecordsHead{Chain: mainChain, Seq: 9, Hash: hash(3)}); err != nil {
		t.Fatalf("AnchorRecordsHead(seq 9): %v", err)
	}
	// Another chain has its own sequence.
	if _, err := l.AnchorRecordsHead(ctx, ledger.RecordsHead{Chain: other, Seq: 1, Hash: hash(4)}); err != nil {
		t.Fatalf("AnchorRecordsHead(other chain): %v", err)
	}
	for _, bad := range []ledger.RecordsHead{
		{Chain: "", Seq: 10, Hash: hash(1)},
		{Chain: "张三", Seq: 10, Hash: hash(1)},
		{Chain: mainChain, Seq: 10, Hash: hash(1)[:31]},
		{Chain: "other" + run, Seq: 0, Hash: hash(1)},
	} {
		_, err := l.AnchorRecordsHead(ctx, bad)
		wantErr(t, "malformed head", err, ledger.ErrInvalidEvent)
	}
	// The refused heads changed nothing: seq 10 on main is still accepted.
	if _, err := l.AnchorRecordsHead(ctx, ledger.RecordsHead{Chain: mainChain, Seq: 10, Hash: hash(5)}); err != nil {
		t.Fatalf("AnchorRecordsHead(seq 10): %v", err)
	}
}
