package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zhengzhao/license"
	"zhengzhao/registry"
	"zhengzhao/signing"
	"zhengzhao/verifier"
)

// figure is one line of `zhengzhao bench`.
type figure struct {
	Name      string  `json:"name"`
	OpsPerSec float64 `json:"ops_per_sec,omitempty"`
	N         int     `json:"n,omitempty"`
	// Value and Unit carry a size rather than a rate (bytes, characters).
	Value int    `json:"value,omitempty"`
	Unit  string `json:"unit,omitempty"`
	// OfSM2Verify is a verification rate as a fraction of sm2-verify's.
	OfSM2Verify float64 `json:"of_sm2_verify,omitempty"`
	Note        string  `json:"note,omitempty"`
}

// against sets f's rate as a fraction of the sm2-verify figure and says so
// in its note.
func (f figure) against(sm2 figure) figure {
	if f.OpsPerSec > 0 && sm2.OpsPerSec > 0 {
		f.OfSM2Verify = f.OpsPerSec / sm2.OpsPerSec
		f.Note += fmt.Sprintf("; %.0f %% of sm2-verify", 100*f.OfSM2Verify)
	}
	return f
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", "bench [--json] [--issue-n N] [--concurrency C] [--scale N [--batch B] [--store URI]] [--ledger fabric --fabric-config FILE] [--several K --store URI --ledger fabric --fabric-config FILE [--batch B] [--keep]]", stderr)
	scale := fs.Int("scale", 0, "instead: issue N licenses into a fresh data directory and measure, per tenth, issue rate, heap and bytes a license; then start-up, ledger verify, bundle and list bytes, document-verify and lookup p99")
	several := fs.Int("several", 0, "instead: start K `serve` instances on one PostgreSQL (--store, empty) and one Fabric network (--fabric-config), issue --issue-n licenses into all at once through POST /api/v1/import (--batch rows a call, --concurrency calls in flight per instance) and report licenses/s and the CPU of every process a license")
	keep := fs.Bool("keep", false, "with --several: keep the instances' data directories and logs")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	issueN := fs.Int("issue-n", 20000, "licenses to issue in the issue figure")
	conc := fs.Int("concurrency", 64, "concurrent issuers in the issue figure")
	batch := fs.Int("batch", 0, "with --scale: issue with IssueBatch calls of this many requests (each of the concurrent issuers); 0 issues one license a call; with --several: rows a POST /api/v1/import (default 500)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	traceFile := fs.String("trace", "", "write an execution trace of the whole run to this file (go tool trace): where goroutines wait and cores stand idle")
	lc := ledgerFlags(fs)
	store := fs.String("store", "", "with --scale: the registry store of the run, an empty database ("+storeUsage+")")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := lc.check(); err != nil {
		return err
	}
	if *store != "" && *scale == 0 && *several == 0 {
		return usagef("--store needs --scale or --several")
	}
	stopProfiles, err := startProfiles(*cpuProfile, *traceFile)
	defer stopProfiles()
	if err != nil {
		return err
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
		if f.Unit != "" {
			fmt.Fprintf(stdout, "%-18s %12d %s%s\n", f.Name, f.Value, f.Unit, note)
			return
		}
		fmt.Fprintf(stdout, "%-18s %12.0f ops/s  n=%d%s\n", f.Name, f.OpsPerSec, f.N, note)
	}

	if *several > 0 {
		if lc.kind != ledgerFabric {
			return usagef("--several needs --ledger fabric --fabric-config FILE")
		}
		b, c := *batch, *conc
		if b == 0 {
			b = 500
		}
		if !flagSet(fs, "concurrency") {
			c = 4
		}
		return runSeveral(ctx, severalConfig{instances: *several, store: *store, fabric: lc.fabricConfig, n: *issueN,
			conc: c, batch: b, keep: *keep}, *asJSON, stdout, stderr)
	}
	if *scale > 0 {
		return runScale(ctx, *scale, *conc, *batch, *asJSON, stdout, *store)
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
	sm2 := benchFigure("sm2-verify", "one core", func() error { return signing.Verify(&key.PublicKey, msg, sig) })
	emit(sm2)
	emit(benchFigure("credential-verify", "one core, full offline Verify of the credential; its anchor needs the receipt", func() error {
		return mustBeValid(verifier.Verify(ctx, w.cred, w.bundle, verifier.Policy{At: time.Now()}))
	}).against(sm2))
	emit(benchFigure("document-verify", "one core, full offline Verify of the credential with its ledger receipt", func() error {
		return mustBeValid(verifier.Verify(ctx, w.doc, w.bundle, verifier.Policy{At: time.Now()}))
	}).against(sm2))
	emit(benchFigure("qr-verify", "one core, offline Verify of the ZZ1 payload", func() error {
		return mustBeValid(verifier.Verify(ctx, []byte(w.compact), w.bundle, verifier.Policy{At: time.Now()}))
	}).against(sm2))
	emit(benchFigure("pdf-render", "one core, the license PDF with seal, QR and attachments", func() error {
		_, err := w.in.registry.PDF(ctx, w.id)
		return err
	}))
	emit(benchFigure("pdf-verify", "one core, offline Verify of the license PDF", func() error {
		return mustBeValid(verifier.Verify(ctx, w.pdf, w.bundle, verifier.Policy{At: time.Now()}))
	}))
	runtime.GOMAXPROCS(prev)
	sizes, err := w.sizeFigures(ctx)
	if err != nil {
		return err
	}
	for _, f := range sizes {
		emit(f)
	}

	f, err := w.issueFigure(ctx, *issueN, *conc)
	if err != nil {
		return err
	}
	emit(f)
	return nil
}

// mustBeValid turns a verification that is not valid into an error.
func mustBeValid(res *verifier.Result, err error) error {
	if err == nil && !res.Valid {
		err = fmt.Errorf("bench license does not verify: %s %v", res.Verdict, res.Err())
	}
	return err
}

// sizeFigures issues one license of every type the demo departments issue,
// with the catalog's example record, and reports the largest PDF and the
// longest QR payload.
func (w *benchWorld) sizeFigures(ctx context.Context) ([]figure, error) {
	var maxPDF, maxQR int
	var pdfType, qrType string
	for _, d := range registry.DemoDepartments(w.in.registry.Catalog()) {
		issuer := registry.Actor{Role: registry.RoleIssuer, Department: d.USCC, Name: "bench"}
		for _, code := range d.Types {
			typ, _ := w.in.registry.Catalog().Type(code)
			rec := typ.Example(d.USCC, "")
			req := registry.IssueRequest{TypeCode: code, Holder: rec.Holder, HolderCode: rec.HolderCode, Jurisdiction: rec.Jurisdiction, Fields: rec.Fields}
			if typ.OneActive { // the demo holders hold theirs already
				req.HolderCode = w.nextHolderCode(typ.HolderKind)
			}
			lic, err := w.in.registry.Issue(ctx, issuer, req)
			if err != nil {
				return nil, fmt.Errorf("bench: issue %s: %w", typ.Name, err)
			}
			pdf, err := w.in.registry.PDF(ctx, lic.Identifier)
			if err != nil {
				return nil, err
			}
			if len(pdf) > maxPDF {
				maxPDF, pdfType = len(pdf), typ.Name
			}
			if len(lic.Compact) > maxQR {
				maxQR, qrType = len(lic.Compact), typ.Name
			}
		}
	}
	return []figure{
		{Name: "pdf-size-max", Value: maxPDF, Unit: "bytes", Note: "largest license PDF of the catalog's examples (" + pdfType + ")"},
		{Name: "qr-payload-max", Value: maxQR, Unit: "characters", Note: "longest ZZ1 payload of the catalog's examples (" + qrType + ")"},
	}, nil
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
	dir     string
	in      *instance
	issuer  registry.Actor
	typ     string
	id      string // the bench license
	cred    []byte // its credential
	doc     []byte // its credential with receipt
	pdf     []byte
	compact string
	bundle  *verifier.TrustBundle
	holders atomic.Int64 // companies made up for one-active types
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
	in, err := openInstance(ctx, instanceConfig{Dir: dir, Passphrase: pass})
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
	w.id, w.compact, w.cred = lic.Identifier, lic.Compact, lic.Credential
	if w.pdf, err = in.registry.PDF(ctx, lic.Identifier); err != nil {
		w.close()
		return nil, err
	}
	raw, err := in.registry.Bundle(ctx)
	if err != nil {
		w.close()
		return nil, err
	}
	fp, _, _ := in.registry.Trust()
	if w.bundle, err = verifier.ParseBundle(raw.JSON, verifier.WithRootFingerprint(fp)); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func (w *benchWorld) request() registry.IssueRequest {
	typ, _ := w.in.registry.Catalog().Type(w.typ)
	rec := typ.Example(w.issuer.Department, "")
	req := registry.IssueRequest{TypeCode: typ.Code, Holder: rec.Holder, HolderCode: rec.HolderCode,
		Jurisdiction: rec.Jurisdiction, Fields: rec.Fields}
	if typ.OneActive { // a holder holds one: each bench license goes to another
		req.HolderCode = w.nextHolderCode(typ.HolderKind)
	}
	return req
}

// nextHolderCode is a holder code no license of the bench has used.
func (w *benchWorld) nextHolderCode(kind license.HolderKind) string {
	n := w.holders.Add(1)
	if kind == license.HolderOrganization {
		code, _ := license.CompleteUSCC(fmt.Sprintf("91310000%09d", n))
		return code
	}
	born := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(n/1000))
	code, _ := license.CompleteCitizenID("310101" + born.Format("20060102") + fmt.Sprintf("%03d", n%1000))
	return code
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
