//go:build fabric

package fabric

import (
	"bytes"
	"context"
	"testing"
	"time"

	"zhengzhao/ledger"
	"zhengzhao/ledger/ledgertest"
	"zhengzhao/ledger/tlog"
	"zhengzhao/license"
	"zhengzhao/signing"
)

// follower opens a ledger that follows the channel with log key key in dir,
// reading from reader's peer.
func followerLedger(t *testing.T, key signing.Signer, dir, reader string) *Ledger {
	t.Helper()
	cfg := connect(t, network)
	cfg.Dir, cfg.Signer, cfg.Reader, cfg.Origin = dir, key, reader, "zhengzhao.test/follow"
	cfg.Publish, cfg.Follow = false, true
	return open(t, cfg)
}

// checkReceipt checks r against l's log: l holds r's entry at r's index,
// under l's current checkpoint.
func checkReceipt(t *testing.T, name string, l *Ledger, r ledger.Receipt) {
	t.Helper()
	ctx := context.Background()
	var cp ledger.SignedCheckpoint
	var err error
	for range 100 { // l may be a block behind the writer
		if cp, err = l.Checkpoint(ctx); err == nil && cp.Size > r.LogIndex {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || cp.Size <= r.LogIndex {
		t.Fatalf("%s: checkpoint %d (%v), want more than %d entries", name, cp.Size, err, r.LogIndex)
	}
	proof, err := l.InclusionProof(ctx, r.LogIndex, cp.Size)
	if err != nil {
		t.Fatalf("%s: inclusion proof: %v", name, err)
	}
	if err := tlog.VerifyInclusion(r.Entry, r.LogIndex, cp.Size, proof, cp.Root); err != nil {
		t.Fatalf("%s: the entry of the receipt is not at %d in this log: %v", name, r.LogIndex, err)
	}
	// The receipt's own checkpoint is a prefix of this log.
	rc, err := tlog.VerifyCheckpoint(r.Checkpoint, "zhengzhao.test/follow", l.cfg.Signer.Public())
	if err != nil {
		t.Fatalf("%s: receipt checkpoint: %v", name, err)
	}
	if rc.Size <= cp.Size {
		cons, err := l.ConsistencyProof(ctx, rc.Size, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.VerifyConsistency(rc.Size, cp.Size, cons, rc.Root, cp.Root); err != nil {
			t.Fatalf("%s: the receipt's checkpoint (%d) is not a prefix of this log (%d): %v", name, rc.Size, cp.Size, err)
		}
	}
}

// Several registry instances following one channel build one log: a
// receipt one of them returns proves inclusion in every other's log, at
// the same index; events an instance that does not follow wrote are in the
// log too; an instance restarted resumes from its cursor, and a new one
// rebuilds the same log from the channel's first block.
func TestFollowOneLog(t *testing.T) {
	ctx := context.Background()
	k, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	key := signing.NewKeySigner(k)
	dirA, dirB := t.TempDir(), t.TempDir()
	a := followerLedger(t, key, dirA, "Org1MSP")
	b := followerLedger(t, key, dirB, "Org2MSP")
	other := unpublished(t, network, "Org1MSP")

	d := fixture(t, a)
	ra := anchor(t, a, d.Anchor())
	ab := d.Anchor()
	rb := anchor(t, b, ab)
	ro := anchor(t, other, d.Anchor())
	rs, err := b.SetStatus(ctx, ledger.StatusChange{Identifier: ab.Identifier, Issuer: d.Department.USCC, Status: license.StatusRevoked, Reason: "penalty"})
	if err != nil {
		t.Fatalf("SetStatus through B: %v", err)
	}
	if ra.LogIndex == rb.LogIndex || rb.LogIndex >= rs.LogIndex {
		t.Fatalf("log indexes A %d, B %d, B's status %d: want distinct, in commit order", ra.LogIndex, rb.LogIndex, rs.LogIndex)
	}
	for _, c := range []struct {
		name string
		l    *Ledger
		r    ledger.Receipt
	}{
		{"A's receipt in B's log", b, ra},
		{"B's receipt in A's log", a, rb},
		{"B's status receipt in A's log", a, rs},
		{"A's receipt in A's log", a, ra},
	} {
		checkReceipt(t, c.name, c.l, c.r)
	}
	// The other instance's anchor (its own log) is in the followers' log:
	// A's License answer gives it an index there.
	ls := waitLicense(t, a, ledgerID(ro), func(s *ledger.LicenseState) bool { return len(s.History) > 0 })
	if ls.LogIndex == NotInLog {
		t.Fatalf("an anchor another instance wrote is not in the followed log: %+v", ls)
	}

	// B restarts: it resumes where its cursor says and agrees with A.
	cpA, err := a.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b2 := followerLedger(t, key, dirB, "Org2MSP")
	// A new instance with an empty directory rebuilds the log from block 0.
	c := followerLedger(t, key, t.TempDir(), "Org1MSP")
	for _, l := range []*Ledger{b2, c} {
		cp, err := l.Checkpoint(ctx)
		if err != nil || cp.Size < cpA.Size {
			t.Fatalf("checkpoint after reopen %d (%v), want at least %d", cp.Size, err, cpA.Size)
		}
		l.mu.RLock()
		root, err := l.log.tree.RootAt(cpA.Size)
		l.mu.RUnlock()
		if err != nil || !bytes.Equal(root, cpA.Root) {
			t.Fatalf("root at %d: %x (%v), want A's %x", cpA.Size, root, err, cpA.Root)
		}
	}
	rc := anchor(t, c, d.Anchor())
	checkReceipt(t, "the new instance's receipt in A's log", a, rc)
	checkReceipt(t, "the new instance's receipt in restarted B's log", b2, rc)
}

func ledgerID(r ledger.Receipt) string {
	e, err := ledger.ParseEvent(r.Entry)
	if err != nil || e.Anchor == nil {
		return ""
	}
	return e.Anchor.Identifier
}

// TestConformanceFollow runs the ledger conformance suite on instances that
// follow the channel: each case's ledger rebuilds the channel's log in a new
// directory.
func TestConformanceFollow(t *testing.T) {
	k, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	key := signing.NewKeySigner(k)
	ledgertest.Run(t, func(t *testing.T) ledger.Ledger { return followerLedger(t, key, t.TempDir(), "Org1MSP") })
}
