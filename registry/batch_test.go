package registry_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"zhengzhao/registry"
)

// TestIssueBatch issues a batch with bad rows among good ones: each bad row
// gets its own error, the good ones are issued, anchored in one ledger
// append (one commit: consecutive entries under one checkpoint) and stored,
// and they verify offline and online.
func TestIssueBatch(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	good := func() registry.IssueRequest { return w.requestOf(0, 0) }
	if typ, _ := w.reg.Catalog().Type(good().TypeCode); !typ.OneActive {
		t.Fatalf("type %s is not one-active; the test needs one", typ.Code)
	}
	badCheck := good()
	badCheck.HolderCode = badCheck.HolderCode[:17] + flip(badCheck.HolderCode[17])
	unknownType := good()
	unknownType.TypeCode = "11100000000013338W999"
	first := good()
	sameHolder := good()
	sameHolder.HolderCode = first.HolderCode
	badDate := good()
	badDate.IssueDate = "2025-02-30"
	reqs := []registry.IssueRequest{good(), badCheck, first, unknownType, good(), sameHolder, badDate, good()}
	wantField := map[int]string{1: "holderCode", 3: "type", 6: "issueDate"}
	const sameHolderRow, firstRow = 5, 2

	before := w.treeSize()
	res := w.reg.IssueBatch(ctx, w.issuer(0), reqs)
	if len(res) != len(reqs) {
		t.Fatalf("%d results for %d requests", len(res), len(reqs))
	}
	var issued []*registry.License
	for i, r := range res {
		switch {
		case wantField[i] != "":
			if r.Err == nil || !hasField(r.Err, wantField[i]) || r.License != nil {
				t.Errorf("row %d: %v, want a field error naming %s", i, r.Err, wantField[i])
			}
		case i == sameHolderRow:
			var oa *registry.OneActiveError
			if !errors.As(r.Err, &oa) || !errors.Is(r.Err, registry.ErrConflict) || res[firstRow].License == nil || oa.Existing != res[firstRow].License.Identifier {
				t.Errorf("row %d (second license for one holder): %v, want a OneActiveError naming row %d's license", i, r.Err, firstRow)
			}
		default:
			if r.Err != nil || r.License == nil {
				t.Fatalf("row %d: %v", i, r.Err)
			}
			issued = append(issued, r.License)
		}
	}
	if len(issued) != 4 {
		t.Fatalf("%d licenses issued, want 4", len(issued))
	}
	if after := w.treeSize(); after != before+uint64(len(issued)) {
		t.Fatalf("ledger grew from %d to %d for %d licenses", before, after, len(issued))
	}
	lo := issued[0].Receipt.LogIndex
	for _, l := range issued {
		lo = min(lo, l.Receipt.LogIndex)
	}
	seen := map[uint64]bool{}
	for _, l := range issued {
		r := l.Receipt
		if r.TreeSize != issued[0].Receipt.TreeSize || r.Checkpoint != issued[0].Receipt.Checkpoint {
			t.Errorf("%s anchored under checkpoint of size %d, %s under %d: not one append", l.Identifier, r.TreeSize, issued[0].Identifier, issued[0].Receipt.TreeSize)
		}
		if r.LogIndex < lo || r.LogIndex >= lo+uint64(len(issued)) || seen[r.LogIndex] {
			t.Errorf("%s at entry %d: the batch's entries are not consecutive", l.Identifier, r.LogIndex)
		}
		seen[r.LogIndex] = true
		got, err := w.reg.Get(ctx, l.Identifier)
		if err != nil {
			t.Fatalf("stored: %v", err)
		}
		off, on := w.verdicts(got)
		if !off.Valid || !on.Valid {
			t.Errorf("%s verifies offline %s, online %s", l.Identifier, off.Verdict, on.Verdict)
		}
	}
	if ls, _ := w.reg.List(ctx, registry.ListFilter{}); len(ls) != len(issued) {
		t.Errorf("store holds %d licenses, want %d", len(ls), len(issued))
	}
	// The holder the batch gave a license now holds one: a later issue
	// names it.
	var oa *registry.OneActiveError
	if _, err := w.reg.Issue(ctx, w.issuer(0), sameHolder); !errors.As(err, &oa) || oa.Existing != res[firstRow].License.Identifier {
		t.Errorf("a later issue to the batch's holder: %v", err)
	}
}

// TestIssueBatchIdempotent re-runs a batch with request keys: the second
// run answers the same licenses and issues nothing; a key repeated in a
// batch answers one license; a key reused for another request is refused.
func TestIssueBatchIdempotent(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	var reqs []registry.IssueRequest
	for i := range 5 {
		r := w.requestOf(0, 0)
		r.RequestKey = fmt.Sprintf("import-row-%d", i)
		reqs = append(reqs, r)
	}
	reqs = append(reqs, reqs[1]) // the same row twice in one batch
	first := w.reg.IssueBatch(ctx, w.issuer(0), reqs)
	for i, r := range first {
		if r.Err != nil {
			t.Fatalf("row %d: %v", i, r.Err)
		}
	}
	if first[5].License.Identifier != first[1].License.Identifier {
		t.Errorf("a key repeated in one batch issued %s and %s", first[1].License.Identifier, first[5].License.Identifier)
	}
	size := w.treeSize()
	stored, _ := w.reg.List(ctx, registry.ListFilter{})

	reused := reqs[2]
	reused.Holder = reused.Holder + "（分公司）"
	again := w.reg.IssueBatch(ctx, w.issuer(0), append(reqs, reused))
	for i := range reqs {
		if again[i].Err != nil || again[i].License.Identifier != first[i].License.Identifier {
			t.Errorf("re-run row %d: %v, want %s again", i, again[i].Err, first[i].License.Identifier)
		}
	}
	var kr *registry.KeyReuseError
	if err := again[len(reqs)].Err; !errors.As(err, &kr) || kr.Field != "holder" {
		t.Errorf("a key reused for another holder: %v, want a KeyReuseError on holder", err)
	}
	if got := w.treeSize(); got != size {
		t.Errorf("the re-run grew the ledger from %d to %d", size, got)
	}
	if ls, _ := w.reg.List(ctx, registry.ListFilter{}); len(ls) != len(stored) {
		t.Errorf("the re-run stored %d licenses, there were %d", len(ls), len(stored))
	}
}

// TestIssueBatchRefusedActor: an actor who may not issue gets the refusal
// on every row and nothing changes.
func TestIssueBatchRefusedActor(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	before := w.treeSize()
	res := w.reg.IssueBatch(ctx, registry.Actor{Role: registry.RoleVerifier, Name: "window"}, []registry.IssueRequest{w.requestOf(0, 0), w.requestOf(0, 0)})
	for i, r := range res {
		if !errors.Is(r.Err, registry.ErrForbidden) || r.License != nil {
			t.Errorf("row %d: %v, want ErrForbidden", i, r.Err)
		}
	}
	if w.treeSize() != before {
		t.Error("the ledger grew")
	}
	if ls, _ := w.reg.List(ctx, registry.ListFilter{}); len(ls) != 0 {
		t.Errorf("store holds %d licenses", len(ls))
	}
}
