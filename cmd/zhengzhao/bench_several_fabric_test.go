//go:build fabric

package main

import (
	"encoding/json"
	"testing"

	"zhengzhao/ledger/fabric/fabrictest"
)

// `zhengzhao bench --several 2` on a Fabric network and a PostgreSQL
// database of its own issues every license it was asked for through both
// instances and accounts for the CPU of every process of the system.
func TestBenchSeveral(t *testing.T) {
	store := freshDatabase(t)
	net, err := fabrictest.Start(32000)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { net.Stop() })
	out, errOut, code := zz(t, "bench", "--several", "2", "--store", store, "--ledger", "fabric", "--fabric-config", net.Connection,
		"--issue-n", "400", "--batch", "50", "--concurrency", "2", "--json")
	if code != 0 {
		t.Fatalf("bench --several: exit %d\n%s\n%s", code, out, errOut)
	}
	var r severalResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("bench --several --json: %v\n%s", err, out)
	}
	if r.Instances != 2 || r.Licenses != 400 || len(r.PerInstance) != 2 || r.Batches != 8 || r.PerSecond <= 0 {
		t.Fatalf("got %+v, want 400 licenses through 2 instances in 8 batches", r)
	}
	for _, in := range r.PerInstance {
		if in*r.Seconds < 199 || in*r.Seconds > 201 {
			t.Errorf("an instance issued %.0f licenses, want 200", in*r.Seconds)
		}
	}
	var sum float64
	for _, g := range []string{"serve", "peer", "orderer", "chaincode", "postgres"} {
		if r.CPU[g] <= 0 {
			t.Errorf("no CPU counted for %s: %v", g, r.CPU)
		}
		sum += r.CPU[g]
	}
	if d := r.CPU["total"] - sum; d > 0.01 || d < -0.01 || r.CoresBound <= 0 {
		t.Errorf("total %.1f µs a license, the groups sum to %.1f; bound %.0f/s", r.CPU["total"], sum, r.CoresBound)
	}
}
