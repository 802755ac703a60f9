//go:build fabric

package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"zhengzhao/ledger/fabric"
	"zhengzhao/ledger/fabric/fabrictest"
	"zhengzhao/signing"
	"zhengzhao/verifier"
)

// Zhengzhao on Fabric, through the binary: serve --ledger fabric on a
// network of its own; issue; verify online (status from the peer) and
// offline (bundle and receipt); revoke through department A's org (Org1);
// a verifier reading from Org2's peer sees it revoked.
func TestFabricTour(t *testing.T) {
	net, err := fabrictest.Start(30000)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { net.Stop() })
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	srv := startServer(t, data, "--demo", "--ledger", "fabric", "--fabric-config", net.Connection)
	var tok tokens
	b, err := os.ReadFile(filepath.Join(data, "demo-tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &tok); err != nil || len(tok.Departments) == 0 {
		t.Fatalf("demo tokens: %v %s", err, b)
	}
	dept := tok.Departments[0]

	_, example := srv.do(t, "GET", "/api/v1/types/"+dept.Types[0]+"/example", "", nil)
	reqFile := filepath.Join(dir, "request.json")
	os.WriteFile(reqFile, example, 0o644)
	out, errOut, code := zz(t, "issue", "--server", srv.url, "--token", dept.IssuerToken, "--request", reqFile)
	if code != 0 {
		t.Fatalf("issue on Fabric: exit %d: %s\n%s", code, errOut, srv.logs)
	}
	licFile := filepath.Join(dir, "license.json")
	os.WriteFile(licFile, []byte(out), 0o644)
	var doc struct {
		Credential struct {
			CredentialSubject struct{ Identifier string } `json:"credentialSubject"`
		} `json:"credential"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	id := doc.Credential.CredentialSubject.Identifier

	verifyOnline := func() string {
		status, body := srv.do(t, "POST", "/api/v1/verify", tok.VerifierToken, []byte(out))
		if status != 200 {
			t.Fatalf("verify: %d %s", status, body)
		}
		var r struct{ Verdict string }
		json.Unmarshal(body, &r)
		return r.Verdict
	}
	if v := verifyOnline(); v != "valid" {
		t.Fatalf("online verdict on Fabric: %s", v)
	}
	bundle := filepath.Join(dir, "bundle.json")
	if _, e, c := zz(t, "bundle", "--server", srv.url, "--out", bundle); c != 0 {
		t.Fatalf("bundle: exit %d: %s", c, e)
	}
	stdout, _, code := zz(t, "verify", "--bundle", bundle, licFile)
	if code != 0 || !strings.Contains(stdout, "有效") {
		t.Fatalf("offline verify (receipt of the Fabric ledger's log): exit %d\n%s", code, stdout)
	}

	status, body := srv.do(t, "POST", "/api/v1/licenses/"+id+"/status", dept.IssuerToken, []byte(`{"status":"revoked","reason":"吊销：提交虚假材料"}`))
	if status != 200 {
		t.Fatalf("revoke on Fabric: %d %s", status, body)
	}
	if v := verifyOnline(); v != "revoked" {
		t.Fatalf("online verdict after revoke: %s", v)
	}

	// A verifier of department B's org, connected to Org2's peer.
	conn, err := fabric.LoadConnection(net.Connection)
	if err != nil {
		t.Fatal(err)
	}
	c, err := conn.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	k, _ := signing.GenerateKey()
	cfg := c.Config
	cfg.Reader, cfg.Publish, cfg.Dir, cfg.Signer = "Org2MSP", false, t.TempDir(), signing.NewKeySigner(k)
	l2, err := fabric.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	raw, _ := os.ReadFile(bundle)
	tb, err := verifier.ParseBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	var verdict verifier.Verdict
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		res, err := verifier.Verify(context.Background(), []byte(out), tb, verifier.Policy{At: time.Now(), Online: l2})
		if err != nil {
			t.Fatal(err)
		}
		verdict = res.Verdict
		if verdict == "revoked" || time.Now().After(deadline) {
			break
		}
	}
	if verdict != "revoked" {
		t.Fatalf("verdict from Org2's peer: %s, want revoked", verdict)
	}
}
