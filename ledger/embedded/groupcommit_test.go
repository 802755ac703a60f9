package embedded

import (
	"context"
	"errors"
	"sync"
	"testing"

	"zhengzhao/ledger"
	"zhengzhao/ledger/tlog"
)

// TestGroupCommitDurable anchors from many goroutines at once, in single
// and multi-anchor calls, then reopens the ledger: every acknowledged anchor
// is there, and every receipt handed out proves its entry against the
// reopened ledger's checkpoint. The calls share fsyncs.
func TestGroupCommitDurable(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const callers = 40
	calls := make([][]ledger.Anchor, callers)
	for i := range calls {
		n := 1 + i%3
		if i == 0 {
			n = parallelVerifyMin + 5 // verified on several goroutines
		}
		for range n {
			calls[i] = append(calls[i], f.dept.Anchor())
		}
	}
	before := f.l.syncs.Load()
	receipts := make([][]ledger.Receipt, callers)
	errs := make([]error, callers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			<-start
			receipts[i], errs[i] = f.l.Anchor(ctx, calls[i])
		})
	}
	close(start)
	wg.Wait()
	total := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if len(receipts[i]) != len(calls[i]) {
			t.Fatalf("call %d: %d receipts for %d anchors", i, len(receipts[i]), len(calls[i]))
		}
		total += len(calls[i])
	}
	if syncs := f.l.syncs.Load() - before; syncs >= callers {
		t.Fatalf("%d fsyncs for %d concurrent calls; commits are not grouped", syncs, callers)
	}
	if err := f.l.Close(); err != nil {
		t.Fatal(err)
	}

	l := open(t, f.cfg)
	cp, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	for i, rs := range receipts {
		for j, r := range rs {
			id := calls[i][j].Identifier
			st, err := l.License(ctx, id)
			if err != nil {
				t.Fatalf("after reopening, anchor %s: %v", id, err)
			}
			if st.LogIndex != r.LogIndex || seen[r.LogIndex] {
				t.Fatalf("anchor %s at entry %d, receipt says %d (or the entry is given twice)", id, st.LogIndex, r.LogIndex)
			}
			seen[r.LogIndex] = true
			proof, err := l.InclusionProof(ctx, r.LogIndex, cp.Size)
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.VerifyInclusion(r.Entry, r.LogIndex, cp.Size, proof, cp.Root); err != nil {
				t.Fatalf("receipt of %s does not prove against the reopened ledger: %v", id, err)
			}
		}
	}
	if len(seen) != total {
		t.Fatalf("%d entries for %d anchors", len(seen), total)
	}
}

// TestPreverifiedSignatureStillChecked: a signature the caller's goroutine
// could not check (a forged one) is refused by the writer, and a call that
// mixes it with good anchors commits none of them.
func TestPreverifiedSignatureStillChecked(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	good, bad := f.dept.Anchor(), f.dept.Anchor()
	bad.Signature = append([]byte(nil), good.Signature...)
	if _, err := f.l.Anchor(ctx, []ledger.Anchor{good, bad}); !errors.Is(err, ledger.ErrBadSignature) {
		t.Fatalf("a forged signature: %v, want ErrBadSignature", err)
	}
	if _, err := f.l.License(ctx, good.Identifier); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("the good anchor of a refused call is on the ledger: %v", err)
	}
	if _, err := f.l.Anchor(ctx, []ledger.Anchor{good}); err != nil {
		t.Fatalf("the good anchor alone: %v", err)
	}
	f.l.checked.mu.Lock()
	n := len(f.l.checked.m)
	f.l.checked.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d verified signatures kept after their calls returned", n)
	}
}
