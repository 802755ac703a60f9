package server

import (
	"archive/zip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"zhengzhao/registry"
)

// A holder with more than 1000 licenses gets every one of them in the
// wallet zip (the store pages at 1000; before, the rest were dropped), and
// the manifest lists them all.
func TestWalletZipManyLicenses(t *testing.T) {
	e := newWebEnv(t)
	const extra = 1010 // with licA, 1011: past one store page of 1000
	dept := e.depts[0]
	typ, _ := e.reg.Catalog().Type(dept.Types[1]) // a company holds one 营业执照, any number of permits
	rec := typ.Example(dept.USCC, dept.Name)
	officer := registry.Actor{Role: registry.RoleIssuer, Department: dept.USCC, Name: "test"}
	var wg sync.WaitGroup
	errs := make(chan error, extra)
	jobs := make(chan int)
	for range 16 {
		wg.Go(func() {
			for range jobs {
				_, err := e.reg.Issue(context.Background(), officer, registry.IssueRequest{
					TypeCode: typ.Code, Holder: registry.DemoEnterpriseName, HolderCode: registry.DemoEnterpriseCode,
					Jurisdiction: rec.Jurisdiction, Fields: rec.Fields})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range extra {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	ent := e.login("enterprise")
	if page := ent.get("/wallet").body; !strings.Contains(page, `id="wallet-truncated"`) {
		t.Error("the wallet page does not say it lists only the newest licenses")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "wallet.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var status int
	var size int64
	peak := peakHeap(func() {
		resp, err := ent.c.Get(ent.base + "/wallet/download")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		status = resp.StatusCode
		size, err = io.Copy(f, resp.Body)
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("wallet zip of %d licenses: %d bytes; peak heap %.1f MiB above the start", extra+1, size, float64(peak)/(1<<20))
	if status != http.StatusOK {
		t.Fatalf("download: %d", status)
	}
	if peak > 256<<20 {
		t.Errorf("the download grew the heap by %d MiB, want at most 256", peak>>20)
	}
	zr, err := zip.NewReader(f, size)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	names := map[string]bool{}
	var manifest walletManifest
	for _, f := range zr.File {
		if names[f.Name] {
			t.Errorf("%s appears twice", f.Name)
		}
		names[f.Name] = true
		counts[strings.SplitN(f.Name, "/", 2)[0]]++
		if f.Name == "manifest.json" {
			rc, _ := f.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			if err := json.Unmarshal(b, &manifest); err != nil {
				t.Fatal(err)
			}
		}
	}
	if counts["licenses"] != extra+1 || counts["pdf"] != extra+1 || counts["qr"] != 2*(extra+1) {
		t.Errorf("zip holds %v, want %d licenses, PDFs and QR codes", counts, extra+1)
	}
	if manifest.Licenses != extra+1 || len(manifest.Identifiers) != extra+1 {
		t.Errorf("manifest lists %d (%d identifiers), want %d", manifest.Licenses, len(manifest.Identifiers), extra+1)
	}
}

// peakHeap runs f and returns the most the heap in use grew over its start
// meanwhile, sampled every 20 ms.
func peakHeap(f func()) uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	start, peak := m.HeapInuse, m.HeapInuse
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			}
		}
	}()
	f()
	close(done)
	<-sampled
	return peak - start
}
