//go:build fabric

package fabric_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"zhengzhao/ledger"
	"zhengzhao/ledger/fabric"
	"zhengzhao/ledger/fabric/fabrictest"
	"zhengzhao/ledger/ledgertest"
	"zhengzhao/signing"
)

// network is the Fabric network every test of this package uses: the one
// $ZZ_FABRIC_CONNECTION names, or one TestMain starts with network/up.sh.
var network *fabrictest.Net

func TestMain(m *testing.M) {
	n, err := fabrictest.Start()
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

// connect returns the Fabric settings of the test network; the caller sets
// Dir and Signer.
func connect(t testing.TB) fabric.Config {
	t.Helper()
	conn, err := fabric.LoadConnection(network.Connection)
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

// publishing opens a ledger on the network's test log, which publishes its
// checkpoints (one log key per channel: every publishing test shares it).
func publishing(t testing.TB) *fabric.Ledger {
	t.Helper()
	key, err := network.LogKey()
	if err != nil {
		t.Fatal(err)
	}
	cfg := connect(t)
	cfg.Dir, cfg.Signer, cfg.Publish = network.LogDir(), key, true
	l, err := fabric.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("fabric.New: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// TestConformance runs the ledger conformance suite, the embedded ledger's
// vectors, against the chaincode on the real network. Each case gets a new
// Ledger on the same channel and test log; its departments have fresh USCCs.
func TestConformance(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledger.Ledger { return publishing(t) })
}

// TestConformanceUnpublished runs the suite on a ledger with a log of its
// own that does not publish checkpoints (a second registry instance on the
// channel).
func TestConformanceUnpublished(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledger.Ledger {
		k, err := signing.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		cfg := connect(t)
		cfg.Dir, cfg.Signer, cfg.Publish = t.TempDir(), signing.NewKeySigner(k), false
		l, err := fabric.New(context.Background(), cfg)
		if err != nil {
			t.Fatalf("fabric.New: %v", err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	})
}
