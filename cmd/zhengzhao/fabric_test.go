//go:build fabric

package main

import (
	"context"
	"encoding/json"
	"fmt"
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
// a verifier reading from Org2's peer sees it revoked; the admin declares
// A's key compromised, Org2's peer learns it, and A issues on with a new key
// that verifies online and offline.
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
	r := runTour(t, srv, tok, dir)

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
	// The office pinned the platform root when the tour fetched its bundle.
	pin, err := loadTrust(r.trust)
	if err != nil || pin == nil {
		t.Fatalf("trust file %s: %v", r.trust, err)
	}
	raw, _ := os.ReadFile(r.bundle)
	tb, err := verifier.ParseBundle(raw, verifier.WithRootFingerprint(pin.RootFingerprint))
	if err != nil {
		t.Fatal(err)
	}
	var verdict verifier.Verdict
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		res, err := verifier.Verify(context.Background(), []byte(r.out), tb, verifier.Policy{At: time.Now(), Online: l2})
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

	// The admin declares department A's key compromised from now: a ledger
	// event the endorsers check, which Org2's peer learns; the registry
	// moves the department to a new key, which issues on. (Not backdated:
	// the department's status list was last signed, with this key, by the
	// revocation above, and the registry does not re-sign lists a
	// compromise makes suspect; a backdated compromise leaves them "status
	// unknown" until a bit changes.)
	ctx := context.Background()
	dept := tok.Departments[0]
	ds, err := l2.Department(ctx, dept.USCC)
	if err != nil || len(ds.Keys) != 1 {
		t.Fatalf("department %s on Org2's peer: %+v %v, want one key", dept.USCC, ds, err)
	}
	old := ds.Keys[0].KeyID
	from := time.Now().UTC().Truncate(time.Millisecond)
	req := fmt.Sprintf(`{"compromised_from":%q,"reason":"key_compromise"}`, from.Format(time.RFC3339Nano))
	status, body := srv.do(t, "POST", "/api/v1/departments/"+dept.USCC+"/keys/"+old+"/revoke", tok.AdminToken, []byte(req))
	if status != 200 {
		t.Fatalf("revoke key %s: %d %s", old, status, body)
	}
	var after struct {
		Keys []struct {
			KeyID  string `json:"key_id"`
			Active bool   `json:"active"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(body, &after); err != nil {
		t.Fatal(err)
	}
	var active string
	for _, k := range after.Keys {
		if k.Active {
			active = k.KeyID
		}
	}
	if active == "" || active == old {
		t.Fatalf("after the compromise the active key is %q (old %s): %s", active, old, body)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		ds, err = l2.Department(ctx, dept.USCC)
		if err == nil && len(ds.Revocations) == 1 && len(ds.Keys) == 2 || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || len(ds.Revocations) != 1 || len(ds.Keys) != 2 {
		t.Fatalf("department on Org2's peer after the compromise: %+v %v", ds, err)
	}
	if rv := ds.Revocations[0]; rv.KeyID != old || rv.Reason != "key_compromise" || !rv.RevokedFrom.Equal(from) {
		t.Fatalf("revocation on Org2's peer %+v, want %s key_compromise from %s", rv, old, from)
	}
	fresh, freshFile := issueExample(t, srv, dir, dept.Types[0], dept.IssuerToken)
	if v := srv.verifyOnline(t, tok.VerifierToken, fresh); v != "valid" {
		t.Fatalf("online verdict of a license issued after the compromise: %s", v)
	}
	srv.fetchBundle(t, r.bundle, r.trust) // held trust: the log must continue (consistency proof from Fabric)
	if out, _, code := zz(t, "verify", "--trust", r.trust, "--bundle", r.bundle, freshFile); code != 0 || !strings.Contains(out, "有效") {
		t.Fatalf("offline verify of a license signed with the new key: exit %d\n%s", code, out)
	}
	var cred struct {
		Credential struct {
			CredentialSubject struct{ Identifier string } `json:"credentialSubject"`
		} `json:"credential"`
	}
	json.Unmarshal([]byte(fresh), &cred)
	ls, err := l2.License(ctx, cred.Credential.CredentialSubject.Identifier)
	if err != nil || ls.Anchor.KeyID != active {
		t.Fatalf("the new license on Org2's peer: %+v %v, want anchored with key %s", ls, err, active)
	}
}
