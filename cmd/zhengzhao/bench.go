package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zhengzhao/registry"
	"zhengzhao/signing"
	"zhengzhao/verifier"
)

// figure is one line of `zhengzhao bench`.
type figure struct {
	Name      string  `json:"name"`
	OpsPerSec float64 `json:"ops_per_sec"`
	N         int     `json:"n"`
	Note      string  `json:"note,omitempty"`
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", "bench [--json] [--issue-n N] [--concurrency C] [--ledger fabric --fabric-config FILE]", stderr)
	asJSON := fs.Bool("json", false, "one JSON object per line")
	issueN := fs.Int("issue-n", 20000, "licenses to issue in the issue figure")
	conc := fs.Int("concurrency", 64, "concurrent issuers in the issue figure")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	lc := ledgerFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := lc.check(); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return usageError{err}
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	emit := func(f figure) {
		if *asJSON {
			b, _ := json.Marshal(f)
			fmt.Fprintln(stdout, string(b))
			return
		}
		note := ""
		if f.Note != "" {
			note = "  (" + f.Note + ")"
		}
		fmt.Fprintf(stdout, "%-18s %12.0f ops/s  n=%d%s\n", f.Name, f.OpsPerSec, f.N, note)
	}

	if lc.kind == ledgerFabric {
		return fabricBench(ctx, lc, *issueN, *conc, emit)
	}
	w, err := newBenchWorld(ctx)
	if err != nil {
		return err
	}
	defer w.close()

	key, err := signing.GenerateKey()
	if err != nil {
		return err
	}
	signer := signing.NewKeySigner(key)
	msg := make([]byte, 64)
	sig, err := signer.Sign(msg)
	if err != nil {
		return err
	}
	// Per-core figures run on one goroutine with GOMAXPROCS=1.
	prev := runtime.GOMAXPROCS(1)
	emit(benchFigure("sm2-sign", "one core", func() error { _, err := signer.Sign(msg); return err }))
	emit(benchFigure("sm2-verify", "one core", func() error { return signing.Verify(&key.PublicKey, msg, sig) }))
	emit(benchFigure("credential-verify", "one core, full offline Verify with receipt", func() error {
		res, err := verifier.Verify(ctx, w.doc, w.bundle, verifier.Policy{At: time.Now()})
		if err == nil && !res.Valid {
			err = fmt.Errorf("bench license does not verify: %s", res.Verdict)
		}
		return err
	}))
	runtime.GOMAXPROCS(prev)

	f, err := w.issueFigure(ctx, *issueN, *conc)
	if err != nil {
		return err
	}
	emit(f)
	return nil
}

// benchFigure runs op under testing.Benchmark and reports ops/s.
func benchFigure(name, note string, op func() error) figure {
	var failed atomic.Value
	r := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			if err := op(); err != nil {
				failed.Store(err)
				b.FailNow()
			}
		}
	})
	if err, _ := failed.Load().(error); err != nil {
		return figure{Name: name, Note: "failed: " + err.Error()}
	}
	return figure{Name: name, OpsPerSec: float64(r.N) / r.T.Seconds(), N: r.N, Note: note}
}

// benchWorld is a throwaway data directory with demo departments, one issued
// license with its receipt, and the trust bundle.
type benchWorld struct {
	dir    string
	in     *instance
	issuer registry.Actor
	typ    string
	doc    []byte
	bundle *verifier.TrustBundle
}

func newBenchWorld(ctx context.Context) (*benchWorld, error) {
	dir, err := os.MkdirTemp("", "zhengzhao-bench-")
	if err != nil {
		return nil, err
	}
	pass := []byte("bench-only-passphrase")
	res, err := initData(ctx, dir, pass, true, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	in, err := openInstance(ctx, dir, pass, slog.New(slog.DiscardHandler), false, nil)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	w := &benchWorld{dir: dir, in: in}
	d := res.Departments[0]
	w.issuer = registry.Actor{Role: registry.RoleIssuer, Department: d.USCC, Name: "bench"}
	w.typ = d.Types[0]
	lic, err := in.registry.Issue(ctx, w.issuer, w.request())
	if err != nil {
		w.close()
		return nil, err
	}
	w.doc, err = json.Marshal(verifier.Document{Credential: lic.Credential, Receipt: &lic.Receipt})
	if err != nil {
		w.close()
		return nil, err
	}
	raw, err := in.registry.Bundle(ctx)
	if err != nil {
		w.close()
		return nil, err
	}
	if w.bundle, err = verifier.ParseBundle(raw); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func (w *benchWorld) request() registry.IssueRequest {
	typ, _ := w.in.registry.Catalog().Type(w.typ)
	rec := typ.Example(w.issuer.Department, "")
	return registry.IssueRequest{TypeCode: typ.Code, Holder: rec.Holder, HolderCode: rec.HolderCode,
		Jurisdiction: rec.Jurisdiction, Fields: rec.Fields}
}

// issueFigure issues n licenses from c goroutines through the registry and
// the embedded ledger (fsync included) and reports licenses/s.
func (w *benchWorld) issueFigure(ctx context.Context, n, c int) (figure, error) {
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for g := 0; g < c; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				if _, err := w.in.registry.Issue(ctx, w.issuer, w.request()); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return figure{}, fmt.Errorf("bench issue: %w", firstErr)
	}
	el := time.Since(start)
	return figure{Name: "issue", OpsPerSec: float64(n) / el.Seconds(), N: n,
		Note: fmt.Sprintf("%d concurrent, %d cores, registry + embedded ledger", c, runtime.NumCPU())}, nil
}

func (w *benchWorld) close() {
	if w.in != nil {
		w.in.Close()
	}
	os.RemoveAll(w.dir)
}
