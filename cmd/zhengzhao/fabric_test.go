//go:build fabric

package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
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
}
