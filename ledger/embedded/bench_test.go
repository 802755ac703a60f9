package embedded

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"zhengzhao/internal/cputime"
	"zhengzhao/ledger"
	"zhengzhao/ledger/ledgertest"
	"zhengzhao/signing"
)

// benchSizes are the ledger sizes BenchmarkOpen measures: 100,000 anchored
// licenses, or the sizes in ZZ_BENCH_LICENSES (comma-separated).
func benchSizes() []int {
	env := os.Getenv("ZZ_BENCH_LICENSES")
	if env == "" {
		return []int{100_000}
	}
	var out []int
	for _, s := range strings.Split(env, ",") {
		n, err := strconv.Atoi(s)
		if err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

// benchLedger returns the config of a ledger with n anchored licenses. With
// ZZ_BENCH_DIR set it is built once there and reused (also by other
// versions of this package, to compare them on the same log).
func benchLedger(b *testing.B, n int) Config {
	b.Helper()
	root := os.Getenv("ZZ_BENCH_DIR")
	if root == "" {
		root = b.TempDir()
	}
	dir := filepath.Join(root, fmt.Sprintf("ledger-%d", n))
	keyPath := filepath.Join(dir, "bench-key.pem")
	pass := []byte("bench")
	if pem, err := os.ReadFile(keyPath); err == nil {
		k, err := signing.DecryptPrivateKey(pem, pass)
		if err != nil {
			b.Fatal(err)
		}
		return Config{Dir: dir, Signer: signing.NewKeySigner(k)}
	}
	os.RemoveAll(dir)
	k, err := signing.GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{Dir: dir, Signer: signing.NewKeySigner(k)}
	l, err := New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	d := ledgertest.NewWorld(b, time.Now()).NewDepartment("某市市场监督管理局")
	ledgertest.Register(b, l, d)
	const batch = 1000
	anchors := make([]ledger.Anchor, 0, batch)
	for done := 0; done < n; done += batch {
		anchors = anchors[:0]
		for range min(batch, n-done) {
			anchors = append(anchors, d.Anchor())
		}
		if _, err := l.Anchor(context.Background(), anchors); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	if err := signing.WriteKeyFile(keyPath, k, pass); err != nil {
		b.Fatal(err)
	}
	return cfg
}

func heapInUse() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse) / (1 << 20)
}

// BenchmarkOpen measures opening (serve's start-up) a ledger of anchored
// licenses, and the heap in use once it is open.
func BenchmarkOpen(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("licenses=%d", n), func(b *testing.B) {
			cfg := benchLedger(b, n)
			var heap float64
			b.ResetTimer()
			for b.Loop() {
				l, err := New(context.Background(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				heap = heapInUse()
				l.Close()
				b.StartTimer()
			}
			b.ReportMetric(heap, "heap-MiB")
		})
	}
}

// BenchmarkAnchorBatch measures licenses anchored per second in calls of
// 1,000 (a batch import).
func BenchmarkAnchorBatch(b *testing.B) {
	f := newFixture(b)
	const batch = 1000
	anchors := make([]ledger.Anchor, batch)
	b.ResetTimer()
	n := 0
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		for i := range anchors {
			anchors[i] = f.dept.Anchor()
		}
		b.StartTimer()
		before := cputime.Process()
		if _, err := f.l.Anchor(context.Background(), anchors); err != nil {
			b.Fatal(err)
		}
		cpu += cputime.Process() - before
		n += batch
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "licenses/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(n), "cpu-µs/license")
}

// BenchmarkVerify measures the full re-check of `zhengzhao ledger verify`
// on the ledgers of BenchmarkOpen, in entries per second.
func BenchmarkVerify(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("licenses=%d", n), func(b *testing.B) {
			cfg := benchLedger(b, n)
			var entries uint64
			for b.Loop() {
				rep, err := Verify(context.Background(), cfg.Dir, "", cfg.Signer.Public(), nil)
				if err != nil {
					b.Fatal(err)
				}
				entries += rep.Checkpoint.Size
			}
			b.ReportMetric(float64(entries)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}
