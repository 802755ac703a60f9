package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"zhengzhao/registry"
)

// A several-instances bench with a missing or wrong setting is refused
// before anything starts, naming the flag.
func TestSeveralConfigCheck(t *testing.T) {
	good := severalConfig{instances: 2, store: "postgres://zz@127.0.0.1/zz", fabric: "/tmp/net/connection.json", n: 2000, conc: 4, batch: 500}
	if err := good.check(); err != nil {
		t.Fatalf("good config refused: %v", err)
	}
	tests := []struct {
		name string
		edit func(*severalConfig)
		want string
	}{
		{"no instances", func(c *severalConfig) { c.instances = 0 }, "--several"},
		{"sqlite store", func(c *severalConfig) { c.store = "registry.db" }, "--store"},
		{"no fabric", func(c *severalConfig) { c.fabric = "" }, "--fabric-config"},
		{"batch too big", func(c *severalConfig) { c.batch = 1001 }, "--batch"},
		{"no concurrency", func(c *severalConfig) { c.conc = 0 }, "--concurrency"},
		{"fewer licenses than batches", func(c *severalConfig) { c.n = 999 }, "--issue-n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.edit(&c)
			err := c.check()
			var ue usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want a usage error naming %s", err, tt.want)
			}
		})
	}
}

// The CPU of a group counts what its processes' children used once they
// ended: the bench sees the CPU of a PostgreSQL backend that has exited.
func TestReadGroupsCPU(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	self := map[string][]int{"self": {os.Getpid()}, "gone": {1 << 30}}
	before := readGroupsCPU(self)
	if _, ok := before["gone"]; ok {
		t.Fatal("a group without a live process has a CPU time")
	}
	child := exec.Command("sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done")
	if err := child.Run(); err != nil {
		t.Fatal(err)
	}
	used := child.ProcessState.UserTime() + child.ProcessState.SystemTime()
	got := readGroupsCPU(self)["self"] - before["self"]
	if got < used-2*clockTick {
		t.Fatalf("group CPU grew by %v while its child used %v", got, used)
	}
}

// Another instance gets the first one's platform keys and certificates and
// none of its own state: not its store, ledger, demo tokens nor its
// instance id (which names its one-active claims).
func TestCopyPlatform(t *testing.T) {
	from, to := t.TempDir(), t.TempDir()
	files := map[string]bool{ // path → copied
		"keys/platform-root.key.pem": true, "platform-root.crt.pem": true, "log.pub.pem": true,
		"registry.db": false, "registry.db-wal": false, registry.InstanceIDFile: false, "demo-tokens.json": false,
		registry.LedgerDir + "/log": false, fabricLogDir + "/state": false,
	}
	for p := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(from, p)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(from, p), []byte(p), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := copyPlatform(from, to); err != nil {
		t.Fatal(err)
	}
	for p, copied := range files {
		_, err := os.Stat(filepath.Join(to, p))
		if (err == nil) != copied {
			t.Errorf("%s: copied %v, want %v", p, err == nil, copied)
		}
	}
}
