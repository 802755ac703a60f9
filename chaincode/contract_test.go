package chaincode

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	mspproto "github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"zhengzhao/ledger"
	"zhengzhao/ledger/fabric/wire"
	"zhengzhao/ledger/ledgertest"
	"zhengzhao/ledger/tlog"
	"zhengzhao/license"
	"zhengzhao/signing"
)

// env is one peer's world state, the contract and a ledgertest World, with a
// transaction clock that moves one second per transaction.
type env struct {
	t     *testing.T
	fw    *fakeWorld
	c     *Contract
	world *ledgertest.World
	now   time.Time
	last  *fakeStub
}

func newEnv(t *testing.T) *env {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	return &env{t: t, fw: newFakeWorld(), c: NewContract(""), world: ledgertest.NewWorld(t, now), now: now}
}

type txFunc func(c *Contract, ctx contractapi.TransactionContextInterface) (string, error)

// call runs fn as one transaction of a client of msp and commits it if it
// succeeds.
func (e *env) call(msp string, fn txFunc) (string, error) {
	e.now = e.now.Add(time.Second)
	stub := e.fw.begin(e.now)
	e.last = stub
	out, err := fn(e.c, txContext(stub, msp))
	if err == nil {
		stub.commit()
	}
	return out, err
}

// callAt runs fn as a transaction with the given timestamp (a client's clock).
func (e *env) callAt(at time.Time, msp string, fn txFunc) (string, error) {
	stub := e.fw.begin(at)
	e.last = stub
	out, err := fn(e.c, txContext(stub, msp))
	if err == nil {
		stub.commit()
	}
	return out, err
}

func (e *env) must(msp string, fn txFunc) string {
	e.t.Helper()
	out, err := e.call(msp, fn)
	if err != nil {
		e.t.Fatalf("transaction by %s: %v", msp, err)
	}
	return out
}

func jsonArg(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func registerTx(t testing.TB, d *ledgertest.Dept, msp string) txFunc {
	return func(c *Contract, ctx contractapi.TransactionContextInterface) (string, error) {
		return c.RegisterDepartment(ctx, jsonArg(t, d.Department), jsonArg(t, d.Key), msp)
	}
}

func anchorTx(t testing.TB, anchors ...ledger.Anchor) txFunc {
	return func(c *Contract, ctx contractapi.TransactionContextInterface) (string, error) {
		return c.AnchorBatch(ctx, jsonArg(t, anchors))
	}
}

func statusTx(t testing.TB, a ledger.Anchor, s license.Status, reason string) txFunc {
	return func(c *Contract, ctx contractapi.TransactionContextInterface) (string, error) {
		return c.SetStatus(ctx, jsonArg(t, ledger.StatusChange{Identifier: a.Identifier, Issuer: a.Issuer, Status: s, Reason: reason}))
	}
}

func getLicenseTx(id string) txFunc {
	return func(c *Contract, ctx contractapi.TransactionContextInterface) (string, error) {
		return c.GetLicense(ctx, id)
	}
}

func wantCode(t *testing.T, what string, err error, code wire.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %s", what, code)
	}
	if !strings.HasPrefix(err.Error(), string(code)+": ") {
		t.Fatalf("%s: error %q, want code %s", what, err, code)
	}
	var ce *wire.Error
	if !errors.As(err, &ce) || ce.Code != code {
		t.Fatalf("%s: error %v is not an *wire.Error with code %s", what, err, code)
	}
}

// TestInvoke goes through the contract API as the peer does: function name
// and string arguments in, the creator's MSP ID from its serialized identity,
// a status 500 with the coded message on error.
func TestInvoke(t *testing.T) {
	cc, err := contractapi.NewChaincode(NewContract(""))
	if err != nil {
		t.Fatalf("NewChaincode: %v", err)
	}
	e := newEnv(t)
	invoke := func(msp string, args ...string) *peer.Response {
		t.Helper()
		e.now = e.now.Add(time.Second)
		stub := e.fw.begin(e.now)
		stub.args, stub.creator = args, creator(t, msp)
		resp := cc.Invoke(stub)
		if resp.Status == 200 {
			stub.commit()
		}
		return resp
	}

	resp := invoke("Org1MSP", "org.hyperledger.fabric:GetMetadata")
	var md struct {
		Contracts map[string]struct {
			Transactions []struct{ Name string }
		}
	}
	if err := json.Unmarshal(resp.Payload, &md); err != nil {
		t.Fatalf("metadata: %v (%s)", err, resp.Message)
	}
	var names []string
	for _, tx := range md.Contracts["zhengzhao"].Transactions {
		names = append(names, tx.Name)
	}
	slices.Sort(names)
	want := wire.Functions
	if !slices.Equal(names, want) {
		t.Fatalf("transactions %v, want %v", names, want)
	}

	d := e.world.NewDepartment("某市市场监督管理局")
	dj, kj := jsonArg(t, d.Department), jsonArg(t, d.Key)
	if resp := invoke("Org1MSP", wire.FnRegisterDepartment, dj, kj, "Org1MSP"); resp.Status != 500 || !strings.HasPrefix(resp.Message, "ERR_FORBIDDEN: ") {
		t.Fatalf("RegisterDepartment by Org1: %d %q", resp.Status, resp.Message)
	}
	if resp := invoke("PlatformMSP", wire.FnRegisterDepartment, dj, kj, "Org1MSP"); resp.Status != 200 {
		t.Fatalf("RegisterDepartment: %d %q", resp.Status, resp.Message)
	}
	head := jsonArg(t, ledger.RecordsHead{Chain: "main", Seq: 1, Hash: make([]byte, ledger.HashSize)})
	if resp := invoke("Org1MSP", wire.FnAnchorRecordsHead, head); resp.Status != 500 || !strings.HasPrefix(resp.Message, "ERR_FORBIDDEN: ") {
		t.Fatalf("AnchorRecordsHead by Org1: %d %q", resp.Status, resp.Message)
	}
	if resp := invoke("PlatformMSP", wire.FnAnchorRecordsHead, head); resp.Status != 200 {
		t.Fatalf("AnchorRecordsHead: %d %q", resp.Status, resp.Message)
	}
	if resp := invoke("PlatformMSP", wire.FnAnchorRecordsHead, head); resp.Status != 500 || !strings.HasPrefix(resp.Message, "ERR_DUPLICATE: ") {
		t.Fatalf("AnchorRecordsHead again: %d %q", resp.Status, resp.Message)
	}
	a := d.Anchor()
	if resp := invoke("Org2MSP", wire.FnAnchorBatch, jsonArg(t, []ledger.Anchor{a})); resp.Status != 500 || !strings.HasPrefix(resp.Message, "ERR_FORBIDDEN: ") {
		t.Fatalf("AnchorBatch by Org2: %d %q", resp.Status, resp.Message)
	}
	if resp := invoke("Org1MSP", wire.FnAnchorBatch, jsonArg(t, []ledger.Anchor{a})); resp.Status != 200 {
		t.Fatalf("AnchorBatch: %d %q", resp.Status, resp.Message)
	}
	resp = invoke("Org2MSP", wire.FnGetLicense, a.Identifier)
	var li wire.LicenseInfo
	if err := json.Unmarshal(resp.Payload, &li); err != nil || li.Anchor.Identifier != a.Identifier || li.Status != license.StatusActive {
		t.Fatalf("GetLicense: %v %+v (%s)", err, li, resp.Message)
	}
}

// creator returns a serialized identity of msp, as the peer hands the
// chaincode: an MSP ID and a PEM certificate.
func creator(t *testing.T, msp string) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "User1@" + msp}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(&mspproto.SerializedIdentity{Mspid: msp, IdBytes: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPermissions checks who may do what: the platform org runs the trust
// list and the log, a department's org its licenses, nobody else.
func TestPermissions(t *testing.T) {
	e := newEnv(t)
	d1 := e.world.NewDepartment("某市市场监督管理局")
	d2 := e.world.NewDepartment("某区人力资源和社会保障局")
	_, err := e.call("Org1MSP", registerTx(t, d1, "Org1MSP"))
	wantCode(t, "department registered by a department org", err, wire.CodeForbidden)
	e.must("PlatformMSP", registerTx(t, d1, "Org1MSP"))
	e.must("PlatformMSP", registerTx(t, d2, "Org2MSP"))

	k2, _ := d1.NewKey(e.now, e.now.AddDate(1, 0, 0))
	a1, a2 := d1.Anchor(), d2.Anchor()
	tests := []struct {
		name string
		msp  string
		fn   txFunc
		want wire.Code
	}{
		{"AddKey by Org1", "Org1MSP", func(c *Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.AddKey(ctx, jsonArg(t, k2))
		}, wire.CodeForbidden},
		{"RevokeKey by Org1", "Org1MSP", func(c *Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.RevokeKey(ctx, jsonArg(t, ledger.KeyRevocation{Department: d1.Department.USCC, KeyID: d1.Key.KeyID, RevokedFrom: e.now}))
		}, wire.CodeForbidden},
		{"SetLogKey by Org1", "Org1MSP", func(c *Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.SetLogKey(ctx, "x", "o")
		}, wire.CodeForbidden},
		{"PutCheckpoint by Org1", "Org1MSP", func(c *Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.PutCheckpoint(ctx, "x", "")
		}, wire.CodeForbidden},
		{"Org1 license anchored by Org2", "Org2MSP", anchorTx(t, a1), wire.CodeForbidden},
		{"Org1 license anchored by the platform", "PlatformMSP", anchorTx(t, a1), wire.CodeForbidden},
		{"batch mixing Org2's and Org1's licenses, by Org2", "Org2MSP", anchorTx(t, a2, a1), wire.CodeForbidden},
		{"forged license by the right org", "Org1MSP", func() txFunc {
			forged := d1.Anchor()
			forged.DocumentHash[0] ^= 1
			return anchorTx(t, forged)
		}(), wire.CodeBadSignature},
		{"license signed by another department's key", "Org1MSP", anchorTx(t, d1.AnchorWith(d1.Key.KeyID, d2.Signer)), wire.CodeBadSignature},
		{"license of an unknown department", "Org1MSP", anchorTx(t, e.world.NewDepartment("未登记").Anchor()), wire.CodeUnknownDepartment},
		{"no anchors", "Org1MSP", anchorTx(t), wire.CodeInvalid},
		{"anchors not JSON", "Org1MSP", func(c *Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.AnchorBatch(ctx, "[{")
		}, wire.CodeInvalid},
		{"unknown field", "Org1MSP", func(c *Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.AnchorBatch(ctx, `[{"id":"x","holder_name":"张三"}]`)
		}, wire.CodeInvalid},
		{"bad MSP ID", "PlatformMSP", registerTx(t, e.world.NewDepartment("某部门"), "Org 1"), wire.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.fw.state)
			_, err := e.call(tt.msp, tt.fn)
			wantCode(t, tt.name, err, tt.want)
			if len(e.last.writes) != 0 && len(e.fw.state) != before {
				t.Fatalf("a refused transaction changed the state")
			}
		})
	}
	for _, a := range []ledger.Anchor{a1, a2} {
		if _, err := e.call("Org1MSP", getLicenseTx(a.Identifier)); err == nil {
			t.Fatalf("license %s of a refused transaction is on the ledger", a.Identifier)
		}
	}

	e.must("Org1MSP", anchorTx(t, a1))
	e.must("Org2MSP", anchorTx(t, a2))
	_, err = e.call("Org2MSP", statusTx(t, a1, license.StatusRevoked, "not mine"))
	wantCode(t, "Org2 revokes Org1's license", err, wire.CodeForbidden)
	_, err = e.call("PlatformMSP", statusTx(t, a1, license.StatusSuspended, ""))
	wantCode(t, "platform suspends Org1's license", err, wire.CodeForbidden)
	e.must("Org1MSP", statusTx(t, a1, license.StatusRevoked, "penalty"))
	_, err = e.call("Org1MSP", statusTx(t, a1, license.StatusActive, ""))
	wantCode(t, "resume a revoked license", err, wire.CodeFinal)
	_, err = e.call("Org1MSP", statusTx(t, d1.Anchor(), license.StatusRevoked, ""))
	wantCode(t, "revoke an unknown license", err, wire.CodeNotFound)

	// Anyone may read.
	var li wire.LicenseInfo
	if err := json.Unmarshal([]byte(e.must("Org2MSP", getLicenseTx(a1.Identifier))), &li); err != nil {
		t.Fatal(err)
	}
	if li.Status != license.StatusRevoked || li.Reason != "penalty" || len(li.History) != 2 || len(li.Entries) != 2 {
		t.Fatalf("license read by Org2 = %+v", li)
	}
	var di wire.DepartmentInfo
	if err := json.Unmarshal([]byte(e.must("Org2MSP", func(c *Contract, ctx contractapi.TransactionContextInterface) (string, error) {
		return c.GetDepartment(ctx, d1.Department.USCC)
	})), &di); err != nil {
		t.Fatal(err)
	}
	if di.MSP != "Org1MSP" || di.Department.USCC != d1.Department.USCC || len(di.Keys) != 1 {
		t.Fatalf("department = %+v", di)
	}
}

func TestPlatformMSPConfigurable(t *testing.T) {
	e := newEnv(t)
	e.c = NewContract("GovMSP")
	d := e.world.NewDepartment("某市公安局")
	_, err := e.call("PlatformMSP", registerTx(t, d, "Org1MSP"))
	wantCode(t, "PlatformMSP when GovMSP is the platform", err, wire.CodeForbidden)
	e.must("GovMSP", registerTx(t, d, "Org1MSP"))
}

// TestStatusAfterKeyCompromise: a key revoked from a time before a license
// was anchored makes new anchors fail, yet the license can still be revoked.
func TestStatusAfterKeyCompromise(t *testing.T) {
	e := newEnv(t)
	d := e.world.NewDepartment("某市生态环境局")
	e.must("PlatformMSP", registerTx(t, d, "Org1MSP"))
	a := d.Anchor()
	e.must("Org1MSP", anchorTx(t, a))
	rev := ledger.KeyRevocation{Department: d.Department.USCC, KeyID: d.Key.KeyID, RevokedFrom: e.now.Add(-time.Hour), Reason: "key_compromise"}
	e.must("PlatformMSP", func(c *Contract, ctx contractapi.TransactionContextInterface) (string, error) {
		return c.RevokeKey(ctx, jsonArg(t, rev))
	})
	_, err := e.call("Org1MSP", anchorTx(t, d.Anchor()))
	wantCode(t, "anchor with the compromised key", err, wire.CodeKeyNotValid)
	_, err = e.call("Org1MSP", anchorTx(t, a))
	wantCode(t, "the old license again", err, wire.CodeDuplicate)
	e.must("Org1MSP", statusTx(t, a, license.StatusRevoked, "other"))
	var li wire.LicenseInfo
	if err := json.Unmarshal([]byte(e.must("Org1MSP", getLicenseTx(a.Identifier))), &li); err != nil {
		t.Fatal(err)
	}
	if li.Status != license.StatusRevoked {
		t.Fatalf("status %s, want revoked", li.Status)
	}
}

// TestBackdatedProposal: a proposal timestamped before the key revocation
// its anchor depends on is refused, though the key was valid at that time.
func TestBackdatedProposal(t *testing.T) {
	e := newEnv(t)
	d := e.world.NewDepartment("某市交通运输局")
	e.must("PlatformMSP", registerTx(t, d, "Org1MSP"))
	rev := ledger.KeyRevocation{Department: d.Department.USCC, KeyID: d.Key.KeyID, RevokedFrom: e.now.Add(-time.Hour), Reason: "key_compromise"}
	e.must("PlatformMSP", func(c *Contract, ctx contractapi.TransactionContextInterface) (string, error) {
		return c.RevokeKey(ctx, jsonArg(t, rev))
	})
	_, err := e.callAt(e.now.Add(-2*time.Hour), "Org1MSP", anchorTx(t, d.Anchor()))
	wantCode(t, "anchor backdated to before the revocation", err, wire.CodeInvalid)
	_, err = e.callAt(e.now.Add(-2*time.Hour), "PlatformMSP", func(c *Contract, ctx contractapi.TransactionContextInterface) (string, error) {
		k, _ := d.NewKey(e.now.Add(-3*time.Hour), e.now.AddDate(1, 0, 0))
		return c.AddKey(ctx, jsonArg(t, k))
	})
	wantCode(t, "key added before the department's last event", err, wire.CodeInvalid)
}

// TestEntriesCanonical: what the chaincode stores, returns and emits are the
// canonical event bytes, byte for byte, even with characters JSON encoders
// like to escape; event times are the transaction timestamp.
// AnchorBatchCompact records exactly what AnchorBatch does, and answers
// the entries' count and Merkle root, which a client rebuilds from its
// anchors and the transaction time.
func TestAnchorBatchCompact(t *testing.T) {
	e := newEnv(t)
	d := e.world.NewDepartment("某市市场监督管理局")
	e.must("PlatformMSP", registerTx(t, d, "Org1MSP"))
	anchors := []ledger.Anchor{d.Anchor(), d.Anchor(), d.Anchor()}
	out := e.must("Org1MSP", func(c *Contract, ctx contractapi.TransactionContextInterface) (string, error) {
		return c.AnchorBatchCompact(ctx, jsonArg(t, anchors))
	})
	if string(e.last.payload) != out {
		t.Fatalf("event payload %s differs from the result %s", e.last.payload, out)
	}
	var res wire.WriteResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	tree := tlog.NewTree()
	for _, a := range anchors {
		b, err := ledger.Event{V: ledger.EventVersion, Kind: ledger.KindLicenseAnchored, At: e.now, Anchor: &a}.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		tree.Append(b)
	}
	if res.TxID != e.last.txID || len(res.Entries) != 0 || res.Count != 3 || !bytes.Equal(res.Root, tree.Root()) {
		t.Fatalf("compact result %s, want 3 entries with root %x", out, tree.Root())
	}
	for _, a := range anchors {
		var li wire.LicenseInfo
		if err := json.Unmarshal([]byte(e.must("Org2MSP", getLicenseTx(a.Identifier))), &li); err != nil {
			t.Fatal(err)
		}
		if li.Status != license.StatusActive || li.Entries[0].TxID != res.TxID {
			t.Fatalf("license %s after a compact batch: %+v", a.Identifier, li)
		}
	}
	// The same rules: a duplicate is refused.
	_, err := e.call("Org1MSP", func(c *Contract, ctx contractapi.TransactionContextInterface) (string, error) {
		return c.AnchorBatchCompact(ctx, jsonArg(t, anchors[:1]))
	})
	wantCode(t, "compact duplicate", err, wire.CodeDuplicate)
}

func TestEntriesCanonical(t *testing.T) {
	e := newEnv(t)
	d := e.world.NewDepartment("某市<卫生&健康>委员会")
	e.must("PlatformMSP", registerTx(t, d, "Org1MSP"))
	a := d.Anchor()
	e.must("Org1MSP", anchorTx(t, a))
	out := e.must("Org1MSP", statusTx(t, a, license.StatusSuspended, "under_investigation"))
	txTime := e.now
	if e.last.event != wire.EventName {
		t.Fatalf("event %q, want %q", e.last.event, wire.EventName)
	}
	if string(e.last.payload) != out {
		t.Fatalf("event payload %s differs from the result %s", e.last.payload, out)
	}
	var res wire.WriteResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.TxID != e.last.txID || len(res.Entries) != 1 {
		t.Fatalf("result %+v", res)
	}
	ev, err := ledger.ParseEvent(res.Entries[0])
	if err != nil {
		t.Fatalf("entry is not canonical: %v\n%s", err, res.Entries[0])
	}
	if !ev.At.Equal(txTime) || ev.Status.Reason != "under_investigation" {
		t.Fatalf("event %+v, want the reason and the tx time %v", ev, txTime)
	}
	var li wire.LicenseInfo
	if err := json.Unmarshal([]byte(e.must("Org2MSP", getLicenseTx(a.Identifier))), &li); err != nil {
		t.Fatal(err)
	}
	for _, en := range li.Entries {
		if _, err := ledger.ParseEvent(en.Event); err != nil {
			t.Fatalf("stored entry is not canonical: %v", err)
		}
	}
	if string(li.Entries[1].Event) != string(res.Entries[0]) {
		t.Fatalf("stored entry differs from the returned one")
	}
	for k, v := range e.fw.state {
		if strings.Contains(string(v), "张三") || strings.HasPrefix(k, "hist/") {
			t.Fatalf("unexpected state %s", k)
		}
	}
}

// TestDeterministic: two endorsers running the same proposals write the same
// bytes.
func TestDeterministic(t *testing.T) {
	world := ledgertest.NewWorld(t, time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	d := world.NewDepartment("某县农业农村局")
	k2, _ := d.NewKey(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC))
	batch := []ledger.Anchor{d.Anchor(), d.Anchor(), d.Anchor()}
	txs := []struct {
		msp string
		fn  txFunc
	}{
		{"PlatformMSP", registerTx(t, d, "Org1MSP")},
		{"PlatformMSP", func(c *Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.AddKey(ctx, jsonArg(t, k2))
		}},
		{"Org1MSP", anchorTx(t, batch...)},
		{"Org1MSP", statusTx(t, batch[1], license.StatusSuspended, "other")},
	}
	var runs [2][]string
	for r := range runs {
		e := newEnv(t)
		for _, tx := range txs {
			out := e.must(tx.msp, tx.fn)
			runs[r] = append(runs[r], out+"\n"+e.last.writeSet())
		}
	}
	for i := range txs {
		if runs[0][i] != runs[1][i] {
			t.Fatalf("transaction %d: endorsers disagree:\n%s\n---\n%s", i, runs[0][i], runs[1][i])
		}
	}
}

func TestCheckpoints(t *testing.T) {
	e := newEnv(t)
	k, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s := signing.NewKeySigner(k)
	const origin = "zhengzhao.test/log"
	tree := tlog.NewTree()
	note := func(size uint64, signer signing.Signer) string {
		t.Helper()
		root, err := tree.RootAt(size)
		if err != nil {
			t.Fatal(err)
		}
		n, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: origin, Size: size, Root: root}, origin, signer)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	proof := func(a, b uint64) string {
		t.Helper()
		p, err := tree.ConsistencyProof(a, b)
		if err != nil {
			t.Fatal(err)
		}
		return jsonArg(t, p)
	}
	put := func(msp, note, proof string) error {
		_, err := e.call(msp, func(c *Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.PutCheckpoint(ctx, note, proof)
		})
		return err
	}
	for i := range 10 {
		tree.Append([]byte{byte(i)})
	}

	wantCode(t, "checkpoint before the log key", put("PlatformMSP", note(3, s), ""), wire.CodeNotFound)
	_, err = e.call("PlatformMSP", func(c *Contract, ctx contractapi.TransactionContextInterface) (string, error) {
		return c.GetCheckpoint(ctx)
	})
	wantCode(t, "GetCheckpoint before any", err, wire.CodeNotFound)

	pubDER, err := signing.MarshalPublicKey(s.Public())
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := "-----BEGIN PUBLIC KEY-----\n" + b64(pubDER) + "\n-----END PUBLIC KEY-----\n"
	setKey := func(msp, key, origin string) error {
		_, err := e.call(msp, func(c *Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.SetLogKey(ctx, key, origin)
		})
		return err
	}
	wantCode(t, "log key that is not a key", setKey("PlatformMSP", "bm90IGEga2V5", origin), wire.CodeInvalid)
	wantCode(t, "origin with a space", setKey("PlatformMSP", pubPEM, "a b"), wire.CodeInvalid)
	if err := setKey("PlatformMSP", pubPEM, origin); err != nil {
		t.Fatalf("SetLogKey: %v", err)
	}
	wantCode(t, "second log key", setKey("PlatformMSP", pubPEM, origin), wire.CodeDuplicate)

	other, _ := signing.GenerateKey()
	wantCode(t, "checkpoint signed by another key", put("PlatformMSP", note(3, signing.NewKeySigner(other)), ""), wire.CodeBadSignature)
	wantCode(t, "malformed note", put("PlatformMSP", "zhengzhao.test/log\n3\n", ""), wire.CodeInvalid)
	if err := put("PlatformMSP", note(3, s), ""); err != nil {
		t.Fatalf("first checkpoint: %v", err)
	}
	wantCode(t, "same checkpoint again", put("PlatformMSP", note(3, s), proof(3, 3)), wire.CodeDuplicate)
	wantCode(t, "smaller tree", put("PlatformMSP", note(2, s), "[]"), wire.CodeConsistency)
	wantCode(t, "no proof", put("PlatformMSP", note(7, s), ""), wire.CodeConsistency)
	wantCode(t, "proof for other sizes", put("PlatformMSP", note(7, s), proof(4, 7)), wire.CodeConsistency)
	wantCode(t, "proof not JSON", put("PlatformMSP", note(7, s), "[1"), wire.CodeInvalid)

	// A fork: a different tree of size 8 whose first 3 leaves differ.
	fork := tlog.NewTree()
	for i := range 8 {
		fork.Append([]byte{byte(i + 100)})
	}
	fp, _ := fork.ConsistencyProof(3, 8)
	forkNote, _ := tlog.SignCheckpoint(tlog.Checkpoint{Origin: origin, Size: 8, Root: fork.Root()}, origin, s)
	wantCode(t, "forked log", put("PlatformMSP", forkNote, jsonArg(t, fp)), wire.CodeConsistency)

	if err := put("PlatformMSP", note(7, s), proof(3, 7)); err != nil {
		t.Fatalf("consistent checkpoint: %v", err)
	}
	note10 := note(10, s)
	if err := put("PlatformMSP", note10, proof(7, 10)); err != nil {
		t.Fatalf("consistent checkpoint: %v", err)
	}
	var cr wire.CheckpointRecord
	if err := json.Unmarshal([]byte(e.must("Org2MSP", func(c *Contract, ctx contractapi.TransactionContextInterface) (string, error) {
		return c.GetCheckpoint(ctx)
	})), &cr); err != nil {
		t.Fatal(err)
	}
	if cr.Size != 10 || cr.Note != note10 || cr.TxID == "" {
		t.Fatalf("latest checkpoint = %+v", cr)
	}
	if _, err := tlog.VerifyCheckpoint(cr.Note, origin, s.Public()); err != nil {
		t.Fatalf("stored checkpoint: %v", err)
	}
}
