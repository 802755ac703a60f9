package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"zhengzhao/ledger"
	"zhengzhao/ledger/embedded"
	"zhengzhao/ledger/fabric"
	"zhengzhao/license"
	"zhengzhao/registry"
	"zhengzhao/signing"
	"zhengzhao/verifier"
)

// Ledger kinds for --ledger.
const (
	ledgerEmbedded = "embedded"
	ledgerFabric   = "fabric"
)

// fabricLogOrigin names the checkpoints of an instance's log on Fabric.
const fabricLogOrigin = "zhengzhao.fabric/ledger"

// fabricLogDir is the local log of the Fabric ledger inside a data directory.
const fabricLogDir = "fabric-ledger"

// ledgerChoice is which ledger an instance opens: the embedded default, or
// Fabric through the connection settings in fabricConfig.
type ledgerChoice struct {
	kind         string
	fabricConfig string
	// noPublish keeps the Fabric ledger from publishing checkpoints even
	// if the settings would.
	noPublish bool
}

// ledgerFlags adds --ledger and --fabric-config to fs.
func ledgerFlags(fs *flag.FlagSet) *ledgerChoice {
	lc := &ledgerChoice{}
	fs.StringVar(&lc.kind, "ledger", ledgerEmbedded, "ledger: embedded (local, the default) or fabric")
	fs.StringVar(&lc.fabricConfig, "fabric-config", "", "with --ledger fabric: the connection settings (network/up.sh's connection.json; optional reader_msp, department_msp, departments, no_publish)")
	return lc
}

// check reports a bad combination of the ledger flags.
func (lc *ledgerChoice) check() error {
	switch lc.kind {
	case ledgerEmbedded, "":
		if lc.fabricConfig != "" {
			return usagef("--fabric-config needs --ledger fabric")
		}
	case ledgerFabric:
		if lc.fabricConfig == "" {
			return usagef("--ledger fabric needs --fabric-config FILE")
		}
	default:
		return usagef("--ledger: %q is neither %s nor %s", lc.kind, ledgerEmbedded, ledgerFabric)
	}
	return nil
}

// open opens the chosen ledger for data directory dir, checkpoints signed
// with the platform's log key, and returns it with its log origin.
func (lc *ledgerChoice) open(ctx context.Context, dir string, p *registry.Platform, logger *slog.Logger) (ledger.Ledger, string, error) {
	if lc == nil || lc.kind != ledgerFabric {
		l, err := embedded.New(ctx, embedded.Config{Dir: filepath.Join(dir, registry.LedgerDir), Signer: p.Log, Origin: logOrigin, Logger: logger})
		return l, logOrigin, err
	}
	conn, err := fabric.LoadConnection(lc.fabricConfig)
	if err != nil {
		return nil, "", err
	}
	c, err := conn.Connect()
	if err != nil {
		return nil, "", err
	}
	cfg := c.Config
	// Follow: the log is the channel's, the same on every instance of this
	// platform (docs/several-instances.md).
	cfg.Dir, cfg.Signer, cfg.Origin, cfg.Follow = filepath.Join(dir, fabricLogDir), p.Log, fabricLogOrigin, true
	if lc.noPublish {
		cfg.Publish = false
	}
	l, err := fabric.New(ctx, cfg)
	if err != nil {
		c.Close()
		return nil, "", err
	}
	return &fabricLedger{Ledger: l, conns: c}, fabricLogOrigin, nil
}

// fabricLedger is a Fabric ledger with the connections it was opened with.
type fabricLedger struct {
	*fabric.Ledger
	conns *fabric.Connected
}

// Close closes the ledger, then its connections.
func (f *fabricLedger) Close() error { return errors.Join(f.Ledger.Close(), f.conns.Close()) }

// fabricBench measures, through the Fabric network, anchored licenses per
// second (issuing through the registry: SM2 signing, seal, store and the
// anchor, batched) and online verifications per second (status and anchor
// read from the reader's peer).
func fabricBench(ctx context.Context, lc *ledgerChoice, n, conc int, emit func(figure)) error {
	w, note, err := newFabricBenchWorld(ctx, lc)
	if err != nil {
		return err
	}
	defer w.close()
	f, err := w.anchorFigure(ctx, n, conc)
	if err != nil {
		return err
	}
	f.Note += note
	emit(f)
	f, err = w.issueFigure(ctx, n, conc)
	if err != nil {
		return err
	}
	f.Name = "issue (fabric)"
	f.Note = fmt.Sprintf("%d concurrent issuers, registry + Fabric ledger, %d cores%s", conc, runtime.NumCPU(), note)
	emit(f)
	f, err = w.onlineVerifyFigure(ctx, 3*time.Second, 16)
	if err != nil {
		return err
	}
	emit(f)
	return nil
}

// newFabricBenchWorld is newBenchWorld on the Fabric ledger, with a
// department of a fresh USCC (the channel outlives the bench). If the
// channel's log key is another log's, the bench's ledger does not publish.
func newFabricBenchWorld(ctx context.Context, lc *ledgerChoice) (*benchWorld, string, error) {
	pass := []byte("bench-only-passphrase")
	logger := slog.New(slog.DiscardHandler)
	open := func(lc *ledgerChoice) (*benchWorld, error) {
		dir, err := os.MkdirTemp("", "zhengzhao-bench-")
		if err != nil {
			return nil, err
		}
		w := &benchWorld{dir: dir}
		if _, err := initData(ctx, dir, pass, false, logger, lc); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		if w.in, err = openInstance(ctx, instanceConfig{Dir: dir, Passphrase: pass, Logger: logger, Ledger: lc}); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		return w, nil
	}
	note := ""
	w, err := open(lc)
	if errors.Is(err, fabric.ErrLogKey) {
		nl := *lc
		nl.noPublish = true
		note = "; checkpoints not published (the channel's log key is another instance's)"
		w, err = open(&nl)
	}
	if err != nil {
		return nil, "", err
	}
	admin := registry.Actor{Role: registry.RoleAdmin, Name: "bench"}
	demo := registry.DemoDepartments(w.in.registry.Catalog())[0]
	uscc, err := freshUSCC()
	if err != nil {
		w.close()
		return nil, "", err
	}
	dept, err := w.in.registry.RegisterDepartment(ctx, admin, uscc, demo.Name, demo.Types)
	if err != nil {
		w.close()
		return nil, "", fmt.Errorf("bench department: %w", err)
	}
	w.issuer = registry.Actor{Role: registry.RoleIssuer, Department: dept.USCC, Name: "bench"}
	w.typ = dept.Types[0]
	lic, err := w.in.registry.Issue(ctx, w.issuer, w.request())
	if err != nil {
		w.close()
		return nil, "", err
	}
	if w.doc, err = json.Marshal(verifier.Document{Credential: lic.Credential}); err != nil {
		w.close()
		return nil, "", err
	}
	raw, err := w.in.registry.Bundle(ctx)
	if err == nil {
		fp, _, _ := w.in.registry.Trust()
		w.bundle, err = verifier.ParseBundle(raw.JSON, verifier.WithRootFingerprint(fp))
	}
	if err != nil {
		w.close()
		return nil, "", err
	}
	return w, note, nil
}

// anchorFigure anchors n licenses signed beforehand, one per Anchor call
// from c goroutines, straight into the ledger (no registry work), and
// reports anchored licenses/s: what the ledger and the network sustain.
func (w *benchWorld) anchorFigure(ctx context.Context, n, c int) (figure, error) {
	now := time.Now()
	uscc, err := freshUSCC()
	if err != nil {
		return figure{}, err
	}
	demo := registry.DemoDepartments(w.in.registry.Catalog())[0]
	key, err := signing.GenerateKey()
	if err != nil {
		return figure{}, err
	}
	s := signing.NewKeySigner(key)
	p := w.in.platform
	cert, err := signing.NewDepartmentCertificate(p.Root, p.RootCert, s.Public(), uscc, demo.Name, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	if err != nil {
		return figure{}, err
	}
	k := ledger.Key{Department: uscc, KeyID: signing.KeyID(cert.Raw), CertDER: cert.Raw, ValidFrom: now.Add(-time.Hour), ValidUntil: now.AddDate(1, 0, 0)}
	if _, err := w.in.ledger.RegisterDepartment(ctx, ledger.Department{USCC: uscc, Name: demo.Name, Types: demo.Types}, k); err != nil {
		return figure{}, fmt.Errorf("bench department: %w", err)
	}
	anchors := make([]ledger.Anchor, n)
	for i := range anchors {
		id, err := license.NewIdentifier(demo.Types[0], uscc, fmt.Sprintf("%d", 20260000000+i), "001")
		if err != nil {
			return figure{}, err
		}
		ph, dh := make([]byte, ledger.HashSize), make([]byte, ledger.HashSize)
		rand.Read(ph)
		rand.Read(dh)
		sig, err := s.Sign(append(append([]byte(nil), ph...), dh...))
		if err != nil {
			return figure{}, err
		}
		anchors[i] = ledger.Anchor{Identifier: id.String(), Issuer: uscc, TypeCode: demo.Types[0], KeyID: k.KeyID,
			ProofHash: ph, DocumentHash: dh, Signature: sig, ValidFrom: now.Truncate(time.Second)}
	}
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				if _, err := w.in.ledger.Anchor(ctx, anchors[i:i+1]); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return figure{}, fmt.Errorf("bench anchor: %w", firstErr)
	}
	el := time.Since(start)
	return figure{Name: "anchor (fabric)", OpsPerSec: float64(n) / el.Seconds(), N: n,
		Note: fmt.Sprintf("%d concurrent Anchor calls of one signed license each, batched into AnchorBatchCompact transactions", c)}, nil
}

// onlineVerifyFigure verifies the bench license online from c goroutines for
// d and reports verifications/s.
func (w *benchWorld) onlineVerifyFigure(ctx context.Context, d time.Duration, c int) (figure, error) {
	var count atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(d)
	for range c {
		wg.Go(func() {
			for time.Now().Before(stop) {
				res, err := verifier.Verify(ctx, w.doc, w.bundle, verifier.Policy{At: time.Now(), Online: w.in.ledger})
				if err == nil && !res.Valid {
					err = fmt.Errorf("bench license does not verify online: %s", res.Verdict)
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				count.Add(1)
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return figure{}, fmt.Errorf("bench online verify: %w", firstErr)
	}
	el := time.Since(start)
	return figure{Name: "verify-online", OpsPerSec: float64(count.Load()) / el.Seconds(), N: int(count.Load()),
		Note: fmt.Sprintf("%d concurrent, full Verify with status and anchor from the reader's peer", c)}, nil
}

// freshUSCC returns a valid USCC (GB 32100) with a random body.
func freshUSCC() (string, error) {
	const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000_000))
	if err != nil {
		return "", err
	}
	prefix := fmt.Sprintf("91310000%09d", n.Int64())
	for _, c := range alphabet {
		if s := prefix + string(c); license.ValidateUSCC(s) == nil {
			return s, nil
		}
	}
	return "", fmt.Errorf("no check character for %s", prefix)
}
