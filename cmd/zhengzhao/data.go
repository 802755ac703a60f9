package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"zhengzhao/ledger"
	"zhengzhao/registry"
	"zhengzhao/render"
	"zhengzhao/server"
	"zhengzhao/signing"
)

// passphraseEnv names the environment variable that holds the passphrase
// protecting the private keys at rest.
const passphraseEnv = "ZHENGZHAO_PASSPHRASE"

// logOrigin names the embedded ledger's checkpoints.
const logOrigin = "zhengzhao.local/ledger"

// instance is a data directory opened: the platform keys, the embedded
// ledger and the registry. Only this command wires concrete types together.
type instance struct {
	platform *registry.Platform
	ledger   ledger.Ledger
	registry *registry.Service
}

func (in *instance) Close() error {
	return errors.Join(in.registry.Close(), in.ledger.Close())
}

func openInstance(ctx context.Context, dir string, passphrase []byte, logger *slog.Logger, create bool, lc *ledgerChoice) (*instance, error) {
	var (
		p   *registry.Platform
		err error
	)
	if create {
		p, err = registry.CreatePlatform(dir, passphrase, time.Now())
	} else {
		p, err = registry.LoadPlatform(dir, passphrase)
	}
	if err != nil {
		return nil, err
	}
	font, err := loadFont()
	if err != nil {
		return nil, err
	}
	l, origin, err := lc.open(ctx, dir, p)
	if err != nil {
		return nil, err
	}
	reg, err := registry.Open(ctx, registry.Config{
		Dir: dir, Platform: p, Ledger: l, LogOrigin: origin, Passphrase: passphrase, Font: font, Logger: logger,
	})
	if err != nil {
		l.Close()
		return nil, err
	}
	return &instance{platform: p, ledger: l, registry: reg}, nil
}

// fontEnv names the environment variable that may point at the CJK
// TrueType font seals and PDFs are drawn with.
const fontEnv = "ZHENGZHAO_FONT"

// loadFont reads $ZHENGZHAO_FONT, or else the Debian CJK font that
// render.FindFont finds; without one it says which package to install.
func loadFont() ([]byte, error) {
	if path := os.Getenv(fontEnv); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fontEnv, err)
		}
		return b, nil
	}
	b, err := render.FindFont()
	if err != nil {
		return nil, fmt.Errorf("%w (or set %s to a CJK TrueType .ttf file)", err, fontEnv)
	}
	return b, nil
}

func passphrase(file string) ([]byte, error) {
	p, err := signing.Passphrase(passphraseEnv, file)
	if err != nil {
		return nil, usagef("%v (set %s or pass --passphrase-file)", err, passphraseEnv)
	}
	return p, nil
}

// initResult is what `init --json` prints.
type initResult struct {
	AdminToken    string          `json:"admin_token"`
	VerifierToken string          `json:"verifier_token"`
	Departments   []initDeptToken `json:"departments"`
	// Accounts are the demo web accounts with their passwords.
	Accounts []registry.DemoLogin `json:"accounts,omitempty"`
}

type initDeptToken struct {
	USCC        string   `json:"uscc"`
	Name        string   `json:"name"`
	Types       []string `json:"types"`
	IssuerToken string   `json:"issuer_token"`
}

func runInit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("init", "init --data DIR [--demo] [--json] [--passphrase-file FILE]", stderr)
	dir := fs.String("data", "", "data directory to create (required)")
	demo := fs.Bool("demo", false, "add 5 demo departments with keys, certificates and tokens")
	asJSON := fs.Bool("json", false, "print the tokens as JSON")
	passFile := fs.String("passphrase-file", "", "file holding the key passphrase (default: $"+passphraseEnv+")")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return usagef("--data is required")
	}
	pass, err := passphrase(*passFile)
	if err != nil {
		return err
	}
	// The passphrase encrypts every private key at rest; demo data is
	// throwaway and keeps run-demo.sh's short one.
	if fe := registry.CheckKeyPassphrase(pass); fe != nil && !*demo {
		return usagef("key passphrase: %s", fe.Message)
	}
	res, err := initData(ctx, *dir, pass, *demo, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		return err
	}
	return printInit(stdout, res, *asJSON)
}

func initData(ctx context.Context, dir string, pass []byte, demo bool, logger *slog.Logger, lc *ledgerChoice) (*initResult, error) {
	if registry.Initialized(dir) {
		return nil, usagef("%s is already initialized", dir)
	}
	in, err := openInstance(ctx, dir, pass, logger, true, lc)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	admin := registry.Actor{Role: registry.RoleAdmin, Name: "platform admin"}
	res := &initResult{Departments: []initDeptToken{}}
	if res.AdminToken, err = in.registry.CreateToken(ctx, admin); err != nil {
		return nil, err
	}
	if res.VerifierToken, err = in.registry.CreateToken(ctx, registry.Actor{Role: registry.RoleVerifier, Name: "service hall window"}); err != nil {
		return nil, err
	}
	if !demo {
		return res, nil
	}
	for _, d := range registry.DemoDepartments(in.registry.Catalog()) {
		dept, err := in.registry.RegisterDepartment(ctx, admin, d.USCC, d.Name, d.Types)
		if err != nil {
			return nil, fmt.Errorf("demo department %s: %w", d.Name, err)
		}
		tok, err := in.registry.CreateToken(ctx, registry.Actor{Role: registry.RoleIssuer, Department: dept.USCC, Name: dept.Name + " officer"})
		if err != nil {
			return nil, err
		}
		res.Departments = append(res.Departments, initDeptToken{USCC: dept.USCC, Name: dept.Name, Types: dept.Types, IssuerToken: tok})
	}
	if res.Accounts, err = demoWeb(ctx, in.registry, admin); err != nil {
		return nil, err
	}
	return res, nil
}

func printInit(w io.Writer, res *initResult, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(res)
	}
	fmt.Fprintf(w, "admin token:    %s\nverifier token: %s\n", res.AdminToken, res.VerifierToken)
	for _, d := range res.Departments {
		fmt.Fprintf(w, "issuer token for %s (%s): %s\n", d.Name, d.USCC, d.IssuerToken)
	}
	for _, a := range res.Accounts {
		fmt.Fprintf(w, "web account %-10s password %s  (%s, %s)\n", a.Username, a.Password, a.Role, a.Name)
	}
	fmt.Fprintln(w, "Tokens and passwords are shown once; only their hashes are stored.")
	return nil
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "serve --data DIR [--addr 127.0.0.1:8080] [--demo] [--passphrase-file FILE] [--metrics-listen ADDR] [--metrics-token-file FILE] [--ledger fabric --fabric-config FILE]", stderr)
	dir := fs.String("data", "", "data directory (required)")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	demo := fs.Bool("demo", false, "initialize DIR with demo departments first if it is empty; tokens go to DIR/demo-tokens.json")
	passFile := fs.String("passphrase-file", "", "file holding the key passphrase (default: $"+passphraseEnv+")")
	lc := ledgerFlags(fs)
	mc := metricsFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return usagef("--data is required")
	}
	if err := lc.check(); err != nil {
		return err
	}
	metricsToken, err := mc.token()
	if err != nil {
		return err
	}
	pass, err := passphrase(*passFile)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if *demo && !registry.Initialized(*dir) {
		res, err := initData(ctx, *dir, pass, true, logger, lc)
		if err != nil {
			return err
		}
		b, _ := json.MarshalIndent(res, "", "  ")
		tokens := filepath.Join(*dir, "demo-tokens.json")
		if err := os.WriteFile(tokens, b, 0o600); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "demo data created; tokens in %s\n", tokens)
	}
	in, err := openInstance(ctx, *dir, pass, logger, false, lc)
	if err != nil {
		return err
	}
	defer in.Close()
	srv, err := server.New(server.Config{Registry: in.registry, Ledger: in.ledger, Logger: logger, MetricsToken: metricsToken})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "zhengzhao serving on http://%s (data %s)\n", *addr, *dir)
	logger.Info("serving", "addr", *addr, "metrics_listen", *mc.listen, "metrics_token", metricsToken != "")
	return mc.serve(ctx, srv, *addr)
}
