//go:build fabric

package fabric

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"zhengzhao/ledger"
	"zhengzhao/ledger/fabric/fabrictest"
	"zhengzhao/ledger/fabric/wire"
	"zhengzhao/ledger/ledgertest"
	"zhengzhao/ledger/tlog"
	"zhengzhao/license"
	"zhengzhao/signing"
)

// network is the Fabric network the tests of this package share: the one
// $ZZ_FABRIC_CONNECTION names, or one TestMain starts with network/up.sh.
var network *fabrictest.Net

func TestMain(m *testing.M) {
	n, err := fabrictest.Shared(29000)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	network = n
	code := m.Run()
	if err := n.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// connect returns the Fabric settings of net; the caller sets Dir and
// Signer.
func connect(t testing.TB, net *fabrictest.Net) Config {
	t.Helper()
	conn, err := LoadConnection(net.Connection)
	if err != nil {
		t.Fatal(err)
	}
	c, err := conn.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.Config
}

func open(t testing.TB, cfg Config) *Ledger {
	t.Helper()
	l, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// publishing opens a ledger on the network's test log, which publishes its
// checkpoints (one log key per channel: every publishing test shares it).
func publishing(t testing.TB) *Ledger {
	t.Helper()
	key, err := network.LogKey()
	if err != nil {
		t.Fatal(err)
	}
	cfg := connect(t, network)
	cfg.Dir, cfg.Signer, cfg.Publish = network.LogDir(), key, true
	return open(t, cfg)
}

// unpublished opens a ledger with a log of its own that does not publish
// (another registry instance on the channel), reading from reader's peer.
func unpublished(t testing.TB, net *fabrictest.Net, reader string) *Ledger {
	t.Helper()
	k, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cfg := connect(t, net)
	cfg.Dir, cfg.Signer, cfg.Reader = t.TempDir(), signing.NewKeySigner(k), reader
	cfg.Publish = false
	return open(t, cfg)
}

// TestConformance runs the ledger conformance suite, the embedded ledger's
// vectors, against the chaincode on the real network. Each case gets a new
// Ledger on the same channel and test log; its departments have fresh USCCs.
func TestConformance(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledger.Ledger { return publishing(t) })
}

// TestConformanceUnpublished runs the suite on a second registry instance's
// ledger: a log of its own, not published, queries on Org2's peer while its
// departments belong to Org1.
func TestConformanceUnpublished(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledger.Ledger { return unpublished(t, network, "Org2MSP") })
}

// fixture is a department of Org1 registered through l.
func fixture(t *testing.T, l *Ledger) *ledgertest.Dept {
	t.Helper()
	d := ledgertest.NewWorld(t, time.Now()).NewDepartment("某市市场监督管理局")
	ledgertest.Register(t, l, d)
	return d
}

func anchor(t *testing.T, l ledger.Ledger, a ledger.Anchor) ledger.Receipt {
	t.Helper()
	rs, err := l.Anchor(context.Background(), []ledger.Anchor{a})
	if err != nil {
		t.Fatalf("Anchor %s: %v", a.Identifier, err)
	}
	return rs[0]
}

// Receipts verify against checkpoints signed by the log key; the channel
// holds the latest one and refuses a checkpoint that does not extend it.
func TestReceiptsAndWitnessedCheckpoints(t *testing.T) {
	ctx := context.Background()
	l := publishing(t)
	d := fixture(t, l)
	r := anchor(t, l, d.Anchor())
	key, _ := network.LogKey()
	cp, err := tlog.VerifyCheckpoint(r.Checkpoint, DefaultOrigin, key.Public())
	if err != nil {
		t.Fatalf("receipt checkpoint: %v", err)
	}
	if err := tlog.VerifyInclusion(r.Entry, r.LogIndex, cp.Size, r.InclusionProof, cp.Root); err != nil {
		t.Fatalf("receipt inclusion: %v", err)
	}
	onChain, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	if onChain.Size < r.TreeSize {
		t.Fatalf("the channel's checkpoint has %d entries, the receipt's %d", onChain.Size, r.TreeSize)
	}

	// A fork: the same size plus one, other entries, signed with the right
	// key. The endorsers refuse it: it is not an extension.
	fork := tlog.NewTree()
	for i := uint64(0); i <= onChain.Size; i++ {
		fork.Append([]byte(fmt.Sprintf("forged entry %d", i)))
	}
	note, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: DefaultOrigin, Size: fork.Size(), Root: fork.Root()}, DefaultOrigin, key)
	if err != nil {
		t.Fatal(err)
	}
	proof, _ := fork.ConsistencyProof(onChain.Size, fork.Size())
	pj, _ := json.Marshal(proof)
	_, err = l.platform.submit(ctx, wire.FnPutCheckpoint, note, string(pj))
	var te *TxError
	if !errors.As(err, &te) || te.Code != wire.CodeConsistency || !errors.Is(err, ledger.ErrCorrupt) || te.TxID == "" {
		t.Fatalf("forked checkpoint: %v, want ERR_CONSISTENCY with a tx id", err)
	}
	// Smaller than the latest: refused too.
	old, _ := l.ConsistencyProof(ctx, 1, onChain.Size)
	oj, _ := json.Marshal(old)
	first, _ := tlog.SignCheckpoint(tlog.Checkpoint{Origin: DefaultOrigin, Size: 0, Root: tlog.EmptyRoot()}, DefaultOrigin, key)
	if _, err := l.platform.submit(ctx, wire.FnPutCheckpoint, first, string(oj)); !errors.Is(err, ledger.ErrCorrupt) {
		t.Fatalf("checkpoint of the empty tree after %d entries: %v, want ErrCorrupt", onChain.Size, err)
	}
	after, err := l.Checkpoint(ctx)
	if err != nil || after.Size < onChain.Size || (after.Size == onChain.Size && !bytes.Equal(after.Root, onChain.Root)) {
		t.Fatalf("after the refused checkpoints the channel holds %d/%x (%v), want %d/%x", after.Size, after.Root, err, onChain.Size, onChain.Root)
	}
}

// Key compromise, reason codes and final statuses on the channel: the
// endorsers refuse, with their own codes, an anchor signed with a key after
// its declared compromise time, a free-text status reason and a change of a
// cancelled or withdrawn license; the revocation is on every org's peer;
// the witnessed checkpoints before and after are consistent (ledger/tlog).
func TestCompromiseAndFinalOnChannel(t *testing.T) {
	ctx := context.Background()
	l := publishing(t)
	key, err := network.LogKey()
	if err != nil {
		t.Fatal(err)
	}
	d := fixture(t, l)
	before := d.Anchor()
	anchor(t, l, before)
	cancelled, withdrawn := d.Anchor(), d.Anchor()
	anchor(t, l, cancelled)
	anchor(t, l, withdrawn)
	cp1, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}

	time.Sleep(2 * time.Millisecond)
	compromised := time.Now().UTC().Truncate(ledger.TimePrecision)
	rev := ledger.KeyRevocation{Department: d.Department.USCC, KeyID: d.Key.KeyID, RevokedFrom: compromised, Reason: license.ReasonKeyCompromise}
	if _, err := l.RevokeKey(ctx, rev); err != nil {
		t.Fatalf("RevokeKey: %v", err)
	}
	refused := func(what string, err error, code wire.Code, sentinel error) {
		t.Helper()
		var te *TxError
		if !errors.As(err, &te) || te.Code != code || te.Stage != StageEndorse || !errors.Is(err, sentinel) {
			t.Fatalf("%s: %v, want %s from the endorsers (%v)", what, err, code, sentinel)
		}
	}
	late := d.Anchor()
	_, err = l.Anchor(ctx, []ledger.Anchor{late})
	refused("anchor signed with the key after its compromise time", err, wire.CodeKeyNotValid, ledger.ErrKeyNotValid)
	_, err = l.SetStatus(ctx, ledger.StatusChange{Identifier: before.Identifier, Issuer: d.Department.USCC, Status: license.StatusSuspended, Reason: "经办人王某称持证人张三涉嫌造假"})
	refused("status change with a free-text reason", err, wire.CodeInvalid, ledger.ErrInvalidEvent)
	for _, c := range []ledger.StatusChange{
		{Identifier: cancelled.Identifier, Issuer: d.Department.USCC, Status: license.StatusCancelled, Reason: "holder_request"},
		{Identifier: withdrawn.Identifier, Issuer: d.Department.USCC, Status: license.StatusWithdrawn, Reason: "issued_in_error"},
	} {
		if _, err := l.SetStatus(ctx, c); err != nil {
			t.Fatalf("SetStatus %s: %v", c.Status, err)
		}
		_, err := l.SetStatus(ctx, ledger.StatusChange{Identifier: c.Identifier, Issuer: d.Department.USCC, Status: license.StatusActive, Reason: "holder_request"})
		refused(string(c.Status)+" then active", err, wire.CodeFinal, ledger.ErrFinal)
	}

	// Org2's peer has learned the compromise and the final statuses.
	r2 := unpublished(t, network, "Org2MSP")
	ds, err := r2.Department(ctx, d.Department.USCC)
	if err != nil {
		t.Fatalf("Department from Org2's peer: %v", err)
	}
	if len(ds.Revocations) != 1 || ds.Revocations[0].Reason != license.ReasonKeyCompromise || !ds.Revocations[0].RevokedFrom.Equal(compromised) {
		t.Fatalf("revocations on Org2's peer %+v, want key_compromise from %s", ds.Revocations, compromised)
	}
	for id, want := range map[string]license.Status{before.Identifier: license.StatusActive, cancelled.Identifier: license.StatusCancelled, withdrawn.Identifier: license.StatusWithdrawn} {
		ls, err := r2.License(ctx, id)
		if err != nil || ls.Status != want {
			t.Fatalf("license %s on Org2's peer: %v %v, want %s", id, ls, err, want)
		}
	}
	if _, err := r2.License(ctx, late.Identifier); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("the refused anchor is on the ledger: %v", err)
	}

	cp2, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	if cp2.Size != cp1.Size+3 { // the revocation and two status changes
		t.Fatalf("checkpoint grew from %d to %d entries, want 3 more", cp1.Size, cp2.Size)
	}
	for _, cp := range []ledger.SignedCheckpoint{cp1, cp2} {
		if _, err := tlog.VerifyCheckpoint(cp.Note, DefaultOrigin, key.Public()); err != nil {
			t.Fatalf("checkpoint %d: %v", cp.Size, err)
		}
	}
	proof, err := l.ConsistencyProof(ctx, cp1.Size, cp2.Size)
	if err != nil {
		t.Fatalf("ConsistencyProof: %v", err)
	}
	if err := tlog.VerifyConsistency(cp1.Size, cp2.Size, proof, cp1.Root, cp2.Root); err != nil {
		t.Fatalf("consistency %d→%d: %v", cp1.Size, cp2.Size, err)
	}
	if len(proof) > 0 {
		bad := append([][]byte(nil), proof...)
		bad[0] = bytes.Repeat([]byte{0xAA}, len(bad[0]))
		if err := tlog.VerifyConsistency(cp1.Size, cp2.Size, bad, cp1.Root, cp2.Root); err == nil {
			t.Fatal("a tampered consistency proof verifies")
		}
	}
}

// A license signed by another key than its department's is refused with
// the transaction id and the chaincode's code, and nothing is written.
func TestBadSignatureRefused(t *testing.T) {
	ctx := context.Background()
	l := publishing(t)
	d := fixture(t, l)
	other := ledgertest.NewWorld(t, time.Now()).NewDepartment("他部门")
	a := d.AnchorWith(d.Key.KeyID, other.Signer)
	_, err := l.Anchor(ctx, []ledger.Anchor{a})
	var te *TxError
	if !errors.As(err, &te) || te.Code != wire.CodeBadSignature || te.Stage != StageEndorse || te.TxID == "" || !errors.Is(err, ledger.ErrBadSignature) {
		t.Fatalf("Anchor with a bad signature: %v", err)
	}
	if _, err := l.License(ctx, a.Identifier); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("the refused license is on the ledger: %v", err)
	}
}

// Department A belongs to Org1. A client of Org2 may neither anchor nor
// revoke its licenses: the chaincode refuses (ERR_FORBIDDEN) and nothing
// is written. Org1 revokes; a reader on Org2's peer sees it revoked.
func TestCrossOrg(t *testing.T) {
	ctx := context.Background()
	l := publishing(t)
	d := fixture(t, l)
	issued := d.Anchor()
	anchor(t, l, issued)

	cfg := connect(t, network)
	var org2 *Org
	for _, o := range cfg.Orgs {
		if o.MSPID == "Org2MSP" {
			org2 = o
		}
	}
	c, err := newOrgClient(org2, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	forged := d.Anchor() // correctly signed, but submitted by Org2
	_, err = c.submit(ctx, wire.FnAnchorBatch, jsonArg([]ledger.Anchor{forged}))
	if !errors.Is(err, ErrForbidden) || !errors.Is(err, ledger.ErrInvalidEvent) {
		t.Fatalf("Org2 anchoring a license of an Org1 department: %v, want ErrForbidden", err)
	}
	revoke := ledger.StatusChange{Identifier: issued.Identifier, Issuer: d.Department.USCC, Status: license.StatusRevoked, Reason: "penalty"}
	_, err = c.submit(ctx, wire.FnSetStatus, jsonArg(revoke))
	if !errors.Is(err, ErrForbidden) {
		t.Fatalf("Org2 revoking a license of an Org1 department: %v, want ErrForbidden", err)
	}
	if _, err := l.License(ctx, forged.Identifier); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("Org2's anchor is on the ledger: %v", err)
	}
	// An instance with only Org2's client cannot route Org1's licenses.
	only2 := connect(t, network)
	only2.Platform, only2.Orgs, only2.Publish, only2.Reader = nil, []*Org{org2}, false, ""
	only2.Dir, only2.Signer = t.TempDir(), l.cfg.Signer
	l2 := open(t, only2)
	if _, err := l2.SetStatus(ctx, revoke); !errors.Is(err, ErrNoOrg) {
		t.Fatalf("SetStatus through an instance without Org1's client: %v, want ErrNoOrg", err)
	}
	ls, err := l.License(ctx, issued.Identifier)
	if err != nil || ls.Status != license.StatusActive || len(ls.History) != 1 {
		t.Fatalf("after Org2's attempts the license is %+v (%v), want active with no change", ls, err)
	}

	if _, err := l.SetStatus(ctx, revoke); err != nil {
		t.Fatalf("Org1 revokes: %v", err)
	}
	reader2 := unpublished(t, network, "Org2MSP")
	got := waitLicense(t, reader2, issued.Identifier, func(ls *ledger.LicenseState) bool { return ls.Status == license.StatusRevoked })
	if got.Reason != revoke.Reason || got.History[1].LogIndex != NotInLog {
		t.Fatalf("read on Org2's peer: %+v", got)
	}
}

// waitLicense reads a license from l until ok accepts it (a peer may be
// behind), or fails after a minute.
func waitLicense(t *testing.T, l *Ledger, id string, ok func(*ledger.LicenseState) bool) *ledger.LicenseState {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ls, err := l.License(context.Background(), id)
		if err == nil && ok(ls) {
			return ls
		}
		if time.Now().After(deadline) {
			t.Fatalf("license %s on %s's peer: %+v, %v", id, l.reader.msp, ls, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// With Org2's peer stopped, Org1 still issues (the policy needs the platform
// and one department org); restarted, Org2's peer catches up.
func TestPeerDownAndCatchUp(t *testing.T) {
	l := publishing(t)
	d := fixture(t, l)
	restart, err := network.StopNode("peer0.org2")
	if err != nil {
		t.Fatal(err)
	}
	restarted := false
	defer func() {
		if !restarted {
			restart()
		}
	}()
	var ids []string
	for range 3 {
		a := d.Anchor()
		anchor(t, l, a)
		ids = append(ids, a.Identifier)
	}
	if err := restart(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	reader2 := unpublished(t, network, "Org2MSP")
	for _, id := range ids {
		waitLicense(t, reader2, id, func(*ledger.LicenseState) bool { return true })
	}
	// And it endorses again: anchors keep committing with it back.
	anchor(t, l, d.Anchor())
}

// With three Raft orderers, one stopped, submits still commit.
func TestRaftOrdererDown(t *testing.T) {
	net, err := fabrictest.Start(31000, "--raft", "3")
	if err != nil {
		t.Fatal(err)
	}
	defer net.Stop()
	l := unpublished(t, net, "")
	d := fixture(t, l)
	anchor(t, l, d.Anchor())
	if _, err := net.StopNode("orderer0"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		anchor(t, l, d.Anchor())
	}
}
