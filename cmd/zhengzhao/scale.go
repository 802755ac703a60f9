package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"zhengzhao/internal/cputime"
	"zhengzhao/ledger/embedded"
	"zhengzhao/registry"
	"zhengzhao/verifier"
)

// scaleRow is one tenth of a scale run.
type scaleRow struct {
	Licenses      int     `json:"licenses"`
	IssuePerSec   float64 `json:"issue_per_sec"`
	HeapInUseMiB  float64 `json:"heap_in_use_mib"`
	BytesPerLicen float64 `json:"data_bytes_per_license"`
	// CPUPerLicense is the process's CPU time (all goroutines) per license
	// issued in this tenth, in µs; on a machine shared with other work it
	// is the steadier figure: cores / CPU time is the rate the cores could
	// give the registry alone. 0 where it cannot be read.
	CPUPerLicense float64 `json:"cpu_us_per_license"`
	// StorePerLicen is the registry store's share (tables and indexes).
	StorePerLicen float64 `json:"store_bytes_per_license"`
}

// scaleResult is what `zhengzhao bench --scale N` measures after the rows.
type scaleResult struct {
	Rows              []scaleRow `json:"rows"`
	StartupMS         float64    `json:"startup_ms"`
	StartupHeapMiB    float64    `json:"startup_heap_mib"`
	LedgerVerifyPerS  float64    `json:"ledger_verify_per_sec"`
	BundleBytes       int        `json:"bundle_bytes"`
	StatusListBytes   int        `json:"status_list_bytes"`
	StatusLists       int        `json:"status_lists"`
	DocumentVerifyPer float64    `json:"document_verify_per_sec"`
	LookupP99MS       float64    `json:"lookup_p99_ms"`
}

// runScale issues n licenses into a fresh data directory, one tenth at a
// time, from conc goroutines (each with IssueBatch calls of batch requests
// when batch > 0, else one Issue at a time), and measures what grows with n.
func runScale(ctx context.Context, n, conc, batch int, asJSON bool, stdout io.Writer, store string) error {
	dir, err := os.MkdirTemp("", "zhengzhao-scale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	pass := []byte("bench-only-passphrase")
	res, err := initDataAdmin(ctx, dir, pass, true, nil, nil, nil, store)
	if err != nil {
		return err
	}
	in, err := openInstance(ctx, instanceConfig{Dir: dir, Passphrase: pass, Store: store})
	if err != nil {
		return err
	}
	d := res.Departments[0]
	w := &benchWorld{dir: dir, in: in, issuer: registry.Actor{Role: registry.RoleIssuer, Department: d.USCC, Name: "scale"}, typ: d.Types[0]}
	var out scaleResult
	var ids []string
	var idsMu sync.Mutex
	issued := 0
	for tenth := 1; tenth <= 10; tenth++ {
		target := n * tenth / 10
		todo := target - issued
		var next atomic.Int64
		var firstErr error
		var once sync.Once
		var wg sync.WaitGroup
		start, cpu := time.Now(), cputime.Process()
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				keep := func(lic *registry.License) {
					idsMu.Lock()
					if len(ids) < 100_000 { // a sample for the lookups
						ids = append(ids, lic.Identifier)
					}
					idsMu.Unlock()
				}
				if batch > 0 {
					for {
						hi := next.Add(int64(batch))
						lo := hi - int64(batch)
						if lo >= int64(todo) {
							return
						}
						reqs := make([]registry.IssueRequest, min(hi, int64(todo))-lo)
						for i := range reqs {
							reqs[i] = w.request()
						}
						for _, r := range in.registry.IssueBatch(ctx, w.issuer, reqs) {
							if r.Err != nil {
								once.Do(func() { firstErr = r.Err })
								return
							}
							keep(r.License)
						}
					}
				}
				for next.Add(1) <= int64(todo) {
					lic, err := in.registry.Issue(ctx, w.issuer, w.request())
					if err != nil {
						once.Do(func() { firstErr = err })
						return
					}
					keep(lic)
				}
			}()
		}
		wg.Wait()
		if firstErr != nil {
			in.Close()
			return firstErr
		}
		took, cpu := time.Since(start), cputime.Process()-cpu
		issued = target
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		size := dirSize(dir)
		storeSize, err := registry.StoreBytes(ctx, in.store)
		if err != nil {
			in.Close()
			return err
		}
		if store != "" {
			size += storeSize // not in dir
		}
		row := scaleRow{Licenses: issued, IssuePerSec: float64(todo) / took.Seconds(), HeapInUseMiB: float64(ms.HeapInuse) / (1 << 20),
			BytesPerLicen: float64(size) / float64(issued), StorePerLicen: float64(storeSize) / float64(issued),
			CPUPerLicense: float64(cpu.Microseconds()) / float64(todo)}
		out.Rows = append(out.Rows, row)
		if !asJSON {
			fmt.Fprintf(stdout, "%9d licenses  %7.0f issued/s  heap %6.1f MiB  %6.0f data bytes a license (store %5.0f)  %5.0f CPU µs a license\n",
				row.Licenses, row.IssuePerSec, row.HeapInUseMiB, row.BytesPerLicen, row.StorePerLicen, row.CPUPerLicense)
		}
	}
	if err := in.Close(); err != nil {
		return err
	}

	// Start-up: open the data directory again, as `serve` does.
	runtime.GC()
	start := time.Now()
	in, err = openInstance(ctx, instanceConfig{Dir: dir, Passphrase: pass, Store: store})
	if err != nil {
		return err
	}
	defer in.Close()
	out.StartupMS = float64(time.Since(start).Microseconds()) / 1000
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	out.StartupHeapMiB = float64(ms.HeapInuse) / (1 << 20)

	// The whole log re-checked, as `zhengzhao ledger verify` does.
	logKey, err := registry.LogPublicKey(dir)
	if err != nil {
		return err
	}
	start = time.Now()
	rep, err := embedded.Verify(ctx, filepath.Join(dir, registry.LedgerDir), logOrigin, logKey, nil)
	if err != nil {
		return err
	}
	out.LedgerVerifyPerS = float64(rep.Checkpoint.Size) / time.Since(start).Seconds()

	b, err := in.registry.Bundle(ctx)
	if err != nil {
		return err
	}
	out.BundleBytes = len(b.JSON)
	var tb struct {
		StatusLists []json.RawMessage `json:"status_lists"`
	}
	if err := json.Unmarshal(b.JSON, &tb); err != nil {
		return err
	}
	for _, l := range tb.StatusLists {
		out.StatusListBytes += len(l)
	}
	out.StatusLists = len(tb.StatusLists)

	// A document verified offline at this size, and online lookups.
	lic, err := in.registry.Get(ctx, ids[len(ids)-1])
	if err != nil {
		return err
	}
	doc, err := json.Marshal(verifier.Document{Credential: lic.Credential, Receipt: &lic.Receipt})
	if err != nil {
		return err
	}
	fp, _, _ := in.registry.Trust()
	bundle, err := verifier.ParseBundle(b.JSON, verifier.WithRootFingerprint(fp))
	if err != nil {
		return err
	}
	f := benchFigure("document-verify", "", func() error {
		return mustBeValid(verifier.Verify(ctx, doc, bundle, verifier.Policy{At: time.Now()}))
	})
	out.DocumentVerifyPer = f.OpsPerSec
	lat := make([]time.Duration, 0, 2000)
	for range cap(lat) {
		id := ids[rand.IntN(len(ids))]
		t0 := time.Now()
		if _, err := in.ledger.License(ctx, id); err != nil {
			return err
		}
		if _, err := in.registry.Get(ctx, id); err != nil {
			return err
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	out.LookupP99MS = float64(lat[len(lat)*99/100].Microseconds()) / 1000

	if asJSON {
		return json.NewEncoder(stdout).Encode(out)
	}
	fmt.Fprintf(stdout, "start-up %.0f ms (heap %.1f MiB)  ledger verify %.0f entries/s\n", out.StartupMS, out.StartupHeapMiB, out.LedgerVerifyPerS)
	fmt.Fprintf(stdout, "bundle %d bytes, of which %d status lists %d bytes\n", out.BundleBytes, out.StatusLists, out.StatusListBytes)
	fmt.Fprintf(stdout, "document-verify %.0f/s  lookup (ledger + store) p99 %.2f ms\n", out.DocumentVerifyPer, out.LookupP99MS)
	return nil
}

// dirSize is the bytes of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
