// Command smoke exercises a running Zhengzhao Fabric network (network/up.sh)
// through the Fabric Gateway: the platform registers a department of Org1
// and the log key, Org1 anchors a signed license (a forged one is refused),
// Org2 may not revoke it, Org1 revokes it, Org2's peer reads it back,
// resuming is refused (revocation is final), and two checkpoints of the log
// are published, the second with a consistency proof.
//
//	smoke [-connection /tmp/zhengzhao-fabric-net/connection.json]
package main

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/hash"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	gwproto "github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"zhengzhao/ledger"
	"zhengzhao/ledger/fabric/wire"
	"zhengzhao/ledger/tlog"
	"zhengzhao/license"
	"zhengzhao/signing"
)

// Connection is network/up.sh's connection.json.
type Connection struct {
	Channel     string `json:"channel"`
	Chaincode   string `json:"chaincode"`
	PlatformMSP string `json:"platform_msp"`
	Orgs        []Org  `json:"orgs"`
}

// Org is one org's peer and identities in connection.json.
type Org struct {
	MSPID       string `json:"msp_id"`
	PeerAddress string `json:"peer_address"`
	TLSRootCert string `json:"tls_root_cert"`
	ServerName  string `json:"server_name_override"`
	ClientCert  string `json:"client_cert"`
	ClientKey   string `json:"client_key"`
	AdminCert   string `json:"admin_cert"`
	AdminKey    string `json:"admin_key"`
}

const typeCode = "11100000000013338W011"

func main() {
	path := flag.String("connection", "/tmp/zhengzhao-fabric-net/connection.json", "connection settings written by network/up.sh")
	flag.Parse()
	if err := run(*path); err != nil {
		fmt.Fprintf(os.Stderr, "smoke: FAIL: %v\n", err)
		os.Exit(1)
	}
	fmt.Println("smoke: PASS")
}

type step struct{ start time.Time }

func begin(what string) step {
	fmt.Printf("smoke: %s ... ", what)
	return step{time.Now()}
}

func (s step) done(result string) {
	fmt.Printf("%s (%d ms)\n", result, time.Since(s.start).Milliseconds())
}

func run(path string) error {
	total := time.Now()
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var conn Connection
	if err := json.Unmarshal(raw, &conn); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	orgs := map[string]Org{}
	for _, o := range conn.Orgs {
		orgs[o.MSPID] = o
	}
	s := begin("connect gateways (platform admin, Org1 User1, Org2 User1)")
	platform, err := connect(conn, orgs[conn.PlatformMSP], true)
	if err != nil {
		return err
	}
	org1, err := connect(conn, orgs["Org1MSP"], false)
	if err != nil {
		return err
	}
	org2, err := connect(conn, orgs["Org2MSP"], false)
	if err != nil {
		return err
	}
	s.done("ok")

	// An SM2 trust world: platform root, one department, its key.
	now := time.Now()
	root, err := newSigner()
	if err != nil {
		return err
	}
	rootCert, err := signing.NewRootCertificate(root, "Zhengzhao Smoke Root", now.Add(-48*time.Hour), now.AddDate(10, 0, 0))
	if err != nil {
		return err
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000_000))
	uscc := newUSCC(n.Uint64())
	dept := ledger.Department{USCC: uscc, Name: "某市市场监督管理局", Types: []string{typeCode}}
	deptSigner, err := newSigner()
	if err != nil {
		return err
	}
	cert, err := signing.NewDepartmentCertificate(root, rootCert, deptSigner.Public(), uscc, dept.Name, now.Add(-24*time.Hour), now.AddDate(1, 0, 0))
	if err != nil {
		return err
	}
	key := ledger.Key{Department: uscc, KeyID: signing.KeyID(cert.Raw), CertDER: cert.Raw, ValidFrom: now.Add(-24 * time.Hour), ValidUntil: now.AddDate(1, 0, 0)}

	var log [][]byte // the registry's Merkle log, as far as this run goes
	appendEntries := func(res []byte) error {
		var wr wire.WriteResult
		if err := json.Unmarshal(res, &wr); err != nil {
			return err
		}
		for _, e := range wr.Entries {
			log = append(log, e)
		}
		return nil
	}

	s = begin("platform registers department " + uscc + " for Org1MSP")
	res, err := submitRetry(platform, wire.FnRegisterDepartment, js(dept), js(key), "Org1MSP")
	if err != nil {
		return err
	}
	if err := appendEntries(res); err != nil {
		return err
	}
	s.done("ok")

	s = begin("Org2 tries to register a department (platform only)")
	if err := wantRefused(submit(org2, wire.FnRegisterDepartment, js(dept), js(key), "Org2MSP")); err != nil {
		return err
	}
	s.done("refused")

	anchor, err := newAnchor(dept, key.KeyID, deptSigner, "2026000001", now)
	if err != nil {
		return err
	}
	s = begin("Org1 anchors signed license " + anchor.Identifier)
	res, err = submitRetry(org1, wire.FnAnchorBatch, js([]ledger.Anchor{anchor}))
	if err != nil {
		return err
	}
	if err := appendEntries(res); err != nil {
		return err
	}
	s.done("ok")

	forged, err := newAnchor(dept, key.KeyID, root, "2026000002", now) // signed by the wrong key
	if err != nil {
		return err
	}
	s = begin("Org1 tries to anchor a forged license")
	if err := want(submit(org1, wire.FnAnchorBatch, js([]ledger.Anchor{forged})))(wire.CodeBadSignature); err != nil {
		return err
	}
	s.done("refused")

	revoke := ledger.StatusChange{Identifier: anchor.Identifier, Issuer: uscc, Status: license.StatusRevoked, Reason: "illegal_operation"}
	s = begin("Org2 tries to revoke Org1's license")
	if err := wantRefused(submit(org2, wire.FnSetStatus, js(revoke))); err != nil {
		return err
	}
	s.done("refused")

	// Checkpoints: the log key, then a signed checkpoint of the entries so far.
	logKey, err := newSigner()
	if err != nil {
		return err
	}
	const origin = "zhengzhao.smoke/log"
	checkpoints := true
	s = begin("platform sets the log key")
	der, _ := signing.MarshalPublicKey(logKey.Public())
	if _, err := submit(platform, wire.FnSetLogKey, "-----BEGIN PUBLIC KEY-----\n"+b64(der)+"\n-----END PUBLIC KEY-----\n", origin); err != nil {
		if !strings.Contains(errText(err), string(wire.CodeDuplicate)) {
			return err
		}
		checkpoints = false
		s.done("already set by an earlier run; skipping checkpoints")
	} else {
		s.done("ok")
	}
	tree := tlog.NewTree()
	published := uint64(0)
	publish := func() error {
		for _, e := range log[tree.Size():] {
			tree.Append(e)
		}
		note, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: origin, Size: tree.Size(), Root: tree.Root()}, origin, logKey)
		if err != nil {
			return err
		}
		proof, err := tree.ConsistencyProof(published, tree.Size())
		if err != nil {
			return err
		}
		if _, err := submit(platform, wire.FnPutCheckpoint, note, js(proof)); err != nil {
			return err
		}
		published = tree.Size()
		return nil
	}
	if checkpoints {
		s = begin("platform publishes checkpoint 1")
		if err := publish(); err != nil {
			return err
		}
		s.done(fmt.Sprintf("size %d", published))
	}

	s = begin("Org1 revokes its license")
	res, err = submit(org1, wire.FnSetStatus, js(revoke))
	if err != nil {
		return err
	}
	if err := appendEntries(res); err != nil {
		return err
	}
	s.done("ok")

	// Each peer commits blocks on its own: the submit above returned when
	// Org1's peer had committed the revocation; Org2's peer may be a block
	// behind for a few milliseconds, so read until it has it.
	s = begin("Org2's peer reads the license")
	var li wire.LicenseInfo
	attempts := 0
	for deadline := time.Now().Add(10 * time.Second); ; {
		attempts++
		res, err = org2.EvaluateTransaction(wire.FnGetLicense, anchor.Identifier)
		if err != nil {
			return fmt.Errorf("GetLicense: %s", errText(err))
		}
		if err := json.Unmarshal(res, &li); err != nil {
			return err
		}
		if li.Status == license.StatusRevoked || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if li.Status != license.StatusRevoked || li.Reason != revoke.Reason || len(li.History) != 2 {
		return fmt.Errorf("license read from Org2's peer: %s", res)
	}
	s.done(fmt.Sprintf("status %s (%s), history %s→%s, read %d time(s)", li.Status, li.Reason, li.History[0].Status, li.History[1].Status, attempts))

	s = begin("Org1 tries to resume the revoked license")
	resume := revoke
	resume.Status, resume.Reason = license.StatusActive, ""
	if err := want(submit(org1, wire.FnSetStatus, js(resume)))(wire.CodeFinal); err != nil {
		return err
	}
	s.done("refused")

	if checkpoints {
		s = begin("platform publishes checkpoint 2 with a consistency proof")
		if err := publish(); err != nil {
			return err
		}
		s.done(fmt.Sprintf("size %d", published))
		s = begin("platform publishes a forked checkpoint")
		fork := tlog.NewTree()
		for _, e := range log {
			fork.Append(append([]byte("x"), e...))
		}
		fork.Append([]byte("y"))
		note, _ := tlog.SignCheckpoint(tlog.Checkpoint{Origin: origin, Size: fork.Size(), Root: fork.Root()}, origin, logKey)
		p, _ := fork.ConsistencyProof(published, fork.Size())
		if err := want(submit(platform, wire.FnPutCheckpoint, note, js(p)))(wire.CodeConsistency); err != nil {
			return err
		}
		s.done("refused")
		s = begin("Org2's peer reads the latest checkpoint")
		var cr wire.CheckpointRecord
		for deadline := time.Now().Add(10 * time.Second); ; {
			res, err = org2.EvaluateTransaction(wire.FnGetCheckpoint)
			if err != nil {
				return fmt.Errorf("GetCheckpoint: %s", errText(err))
			}
			if err := json.Unmarshal(res, &cr); err != nil {
				return err
			}
			if cr.Size == published || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if _, err := tlog.VerifyCheckpoint(cr.Note, origin, logKey.Public()); err != nil || cr.Size != published {
			return fmt.Errorf("checkpoint from Org2's peer: %v %s", err, res)
		}
		s.done(fmt.Sprintf("size %d, signature ok", cr.Size))
	}
	fmt.Printf("smoke: total %d ms\n", time.Since(total).Milliseconds())
	return nil
}

func connect(conn Connection, o Org, admin bool) (*client.Contract, error) {
	if o.MSPID == "" {
		return nil, fmt.Errorf("connection.json lacks an org")
	}
	certFile, keyFile := o.ClientCert, o.ClientKey
	if admin {
		certFile, keyFile = o.AdminCert, o.AdminKey
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	cert, err := identity.CertificateFromPEM(certPEM)
	if err != nil {
		return nil, err
	}
	id, err := identity.NewX509Identity(o.MSPID, cert)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	key, err := identity.PrivateKeyFromPEM(keyPEM)
	if err != nil {
		return nil, err
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(o.TLSRootCert)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s: no certificate", o.TLSRootCert)
	}
	cc, err := grpc.NewClient(o.PeerAddress, grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(pool, o.ServerName)))
	if err != nil {
		return nil, err
	}
	gw, err := client.Connect(id, client.WithSign(sign), client.WithHash(hash.SHA256), client.WithClientConnection(cc),
		client.WithEvaluateTimeout(10*time.Second), client.WithEndorseTimeout(30*time.Second),
		client.WithSubmitTimeout(10*time.Second), client.WithCommitStatusTimeout(60*time.Second))
	if err != nil {
		return nil, err
	}
	return gw.GetNetwork(conn.Channel).GetContract(conn.Chaincode), nil
}

func submit(c *client.Contract, fn string, args ...string) ([]byte, error) {
	res, err := c.SubmitTransaction(fn, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", fn, errText(err))
	}
	return res, nil
}

// submitRetry retries while gossip has not yet shown the gateway peers of
// every org the endorsement policy needs (right after up.sh).
func submitRetry(c *client.Contract, fn string, args ...string) ([]byte, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := submit(c, fn, args...)
		if err == nil || time.Now().After(deadline) || !strings.Contains(err.Error(), "no combination of peers") {
			return res, err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// errText is the error with the peers' messages the gateway attaches.
func errText(err error) string {
	msg := err.Error()
	if st, ok := status.FromError(err); ok {
		for _, d := range st.Details() {
			if ed, ok := d.(*gwproto.ErrorDetail); ok {
				msg += fmt.Sprintf(" [%s %s: %s]", ed.GetMspId(), ed.GetAddress(), ed.GetMessage())
			}
		}
	}
	return msg
}

func wantRefused(_ []byte, err error) error {
	return want(nil, err)(wire.CodeForbidden)
}

func want(_ []byte, err error) func(wire.Code) error {
	return func(code wire.Code) error {
		if err == nil {
			return fmt.Errorf("accepted, want %s", code)
		}
		if !strings.Contains(err.Error(), string(code)+":") {
			return fmt.Errorf("want %s, got %v", code, err)
		}
		fmt.Printf("[%s] ", firstLine(err.Error(), string(code)))
		return nil
	}
}

func firstLine(msg, code string) string {
	i := strings.Index(msg, code)
	msg = msg[i:]
	if j := strings.IndexAny(msg, "]\n"); j > 0 {
		msg = msg[:j]
	}
	if len(msg) > 160 {
		msg = msg[:160] + "…"
	}
	return msg
}

func newAnchor(d ledger.Department, keyID string, s signing.Signer, serial string, now time.Time) (ledger.Anchor, error) {
	id, err := license.NewIdentifier(typeCode, d.USCC, serial, "001")
	if err != nil {
		return ledger.Anchor{}, err
	}
	ph, dh := make([]byte, ledger.HashSize), make([]byte, ledger.HashSize)
	rand.Read(ph)
	rand.Read(dh)
	sig, err := s.Sign(append(append([]byte(nil), ph...), dh...))
	if err != nil {
		return ledger.Anchor{}, err
	}
	return ledger.Anchor{Identifier: id.String(), Issuer: d.USCC, TypeCode: typeCode, KeyID: keyID, ProofHash: ph, DocumentHash: dh,
		Signature: sig, ValidFrom: now.Truncate(time.Second), ValidUntil: now.AddDate(5, 0, 0).Truncate(time.Second)}, nil
}

func newSigner() (signing.Signer, error) {
	k, err := signing.GenerateKey()
	if err != nil {
		return nil, err
	}
	return signing.NewKeySigner(k), nil
}

// newUSCC returns a valid unified social credit code (GB 32100) derived from n.
func newUSCC(n uint64) string {
	const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	body := fmt.Sprintf("11110000%09d", n%1_000_000_000)
	sum, w := 0, 1
	for i := 0; i < 17; i++ {
		sum += strings.IndexByte(alphabet, body[i]) * w
		w = w * 3 % 31
	}
	return body + string(alphabet[(31-sum%31)%31])
}

func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
