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
	store    registry.Store
	registry *registry.Service
}

func (in *instance) Close() error {
	return errors.Join(in.registry.Close(), in.store.Close(), in.ledger.Close())
}

// instanceConfig is what openInstance needs; zero values are the defaults.
type instanceConfig struct {
	Dir        string
	Passphrase []byte
	Logger     *slog.Logger // nil: discard
	Create     bool         // create the platform (init) rather than load it
	Ledger     *ledgerChoice
	// Store is the --store URI; empty means SQLite in Dir.
	Store string
	// PublicURL is where verifiers reach the platform (status list URLs in
	// credentials); StatusValidity how long lists and bundles are valid.
	PublicURL      string
	StatusValidity time.Duration
}

func openInstance(ctx context.Context, c instanceConfig) (*instance, error) {
	dir, passphrase, logger, create, lc := c.Dir, c.Passphrase, c.Logger, c.Create, c.Ledger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
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
	l, origin, err := lc.open(ctx, dir, p, logger)
	if err != nil {
		return nil, err
	}
	st, err := openStore(ctx, c.Store, dir)
	if err != nil {
		l.Close()
		return nil, err
	}
	reg, err := registry.Open(ctx, registry.Config{
		Dir: dir, Store: st, Platform: p, Ledger: l, LogOrigin: origin, Passphrase: passphrase, Font: font, Logger: logger,
		PublicURL: c.PublicURL, StatusListValidity: c.StatusValidity,
	})
	if err != nil {
		st.Close()
		l.Close()
		return nil, err
	}
	return &instance{platform: p, ledger: l, store: st, registry: reg}, nil
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
	// Data is the data directory.
	Data string `json:"data"`
	// RootFingerprint is the platform root's fingerprint (hex SM3 of its
	// certificate): publish it; offices pin it to trust the bundles.
	RootFingerprint string `json:"root_fingerprint"`
	// AdminAccount is the first admin's web user name (without --demo).
	AdminAccount string `json:"admin_account,omitempty"`
	// AdminToken and VerifierToken are demo API tokens.
	AdminToken    string          `json:"admin_token,omitempty"`
	VerifierToken string          `json:"verifier_token,omitempty"`
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
	fs := newFlags("init", "init --data DIR [--admin-user admin] [--admin-password-file FILE] [--passphrase-file FILE] [--json] | init --data DIR --demo", stderr)
	dir := fs.String("data", "", "data directory to create (required)")
	demo := fs.Bool("demo", false, "add 5 demo departments, demo web accounts with printed passwords, demo licenses and tokens")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	passFile := fs.String("passphrase-file", "", "file holding the key passphrase (default: $"+passphraseEnv+")")
	adminUser := fs.String("admin-user", "admin", "user name of the first admin web account")
	adminName := fs.String("admin-name", "平台管理员", "the first admin's name, shown on the pages")
	adminPW := fs.String("admin-password-file", "", "file holding the first admin's password (\"-\" reads standard input; default: asked on the terminal)")
	store := storeFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return usagef("--data is required")
	}
	if registry.Initialized(*dir) {
		return usagef("%s is already initialized", *dir)
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
	var first *registry.NewAccount
	if !*demo {
		first = &registry.NewAccount{Username: *adminUser, Name: *adminName, Role: registry.RoleAdmin}
		if first.Password, err = newPassword(*adminPW, "admin-password-file", "password of the first admin "+*adminUser, stderr); err != nil {
			return err
		}
		// Refuse a bad account before anything is created.
		if err := registry.CheckNewAccount(*first); err != nil {
			return domainError(err)
		}
	}
	res, err := initDataAdmin(ctx, *dir, pass, *demo, first, slog.New(slog.DiscardHandler), nil, *store)
	if err != nil {
		return err
	}
	return printInit(stdout, res, *asJSON)
}

// initData makes a data directory, with the demo data if demo.
func initData(ctx context.Context, dir string, pass []byte, demo bool, logger *slog.Logger, lc *ledgerChoice) (*initResult, error) {
	return initDataAdmin(ctx, dir, pass, demo, nil, logger, lc, "")
}

// initDataAdmin makes a data directory: the platform, and then either the
// demo data or the first admin web account (when first is not nil).
func initDataAdmin(ctx context.Context, dir string, pass []byte, demo bool, first *registry.NewAccount, logger *slog.Logger, lc *ledgerChoice, store string) (*initResult, error) {
	if registry.Initialized(dir) {
		return nil, usagef("%s is already initialized", dir)
	}
	in, err := openInstance(ctx, instanceConfig{Dir: dir, Passphrase: pass, Logger: logger, Create: true, Ledger: lc, Store: store})
	if err != nil {
		return nil, err
	}
	defer in.Close()
	admin := registry.Actor{Role: registry.RoleAdmin, Name: "zhengzhao init"}
	fp, _, _ := in.registry.Trust()
	res := &initResult{Data: dir, RootFingerprint: fp, Departments: []initDeptToken{}}
	if first != nil {
		acct, err := in.registry.CreateAccount(ctx, admin, *first)
		if err != nil {
			return nil, domainError(err)
		}
		res.AdminAccount = acct.Username
	}
	if !demo {
		return res, nil
	}
	if res.AdminToken, err = in.registry.CreateToken(ctx, registry.Actor{Role: registry.RoleAdmin, Name: "demo admin"}); err != nil {
		return nil, err
	}
	if res.VerifierToken, err = in.registry.CreateToken(ctx, registry.Actor{Role: registry.RoleVerifier, Name: "demo service hall window"}); err != nil {
		return nil, err
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
	if res.AdminAccount != "" {
		fmt.Fprintf(w, "平台已在 %s 创建：根密钥和根证书、日志密钥、账本、数据库。\n", res.Data)
		fmt.Fprintf(w, "平台根证书指纹（请公布；核验单位用 zhengzhao bundle --root-fingerprint 固定它）：\n  %s\n", res.RootFingerprint)
		fmt.Fprintf(w, "已用您给的密码创建网页账号 %q（平台管理员）；密码只以 argon2id 摘要保存。\n", res.AdminAccount)
		fmt.Fprintf(w, "下一步：\n  zhengzhao serve --data %s          然后在 http://127.0.0.1:8080/login 登录\n", res.Data)
		fmt.Fprintf(w, "  zhengzhao admin department register --data %s --uscc USCC --name NAME --types CODE,…\n", res.Data)
		fmt.Fprintf(w, "  zhengzhao admin --help                  账号、API 令牌、重置密码\n")
		return nil
	}
	fmt.Fprintf(w, "平台管理员令牌：%s\n窗口核验令牌：  %s\n", res.AdminToken, res.VerifierToken)
	for _, d := range res.Departments {
		fmt.Fprintf(w, "%s（%s）制证令牌：%s\n", d.Name, d.USCC, d.IssuerToken)
	}
	for _, a := range res.Accounts {
		fmt.Fprintf(w, "网页账号 %-10s 密码 %s（%s，%s）\n", a.Username, a.Password, a.Role.Label(), a.Name)
	}
	fmt.Fprintln(w, "令牌和密码只显示这一次；平台只保存其摘要。")
	return nil
}

// printDemoAccounts says what the demo's first start made and where the
// passwords are (in the file, not on the screen, where logs may keep them).
func printDemoAccounts(w io.Writer, res *initResult, file string, took time.Duration) {
	fmt.Fprintf(w, "演示数据已创建（用时 %.0f 秒）。网页账号如下（密码和 API 令牌在 %s 中）：\n", took.Seconds(), file)
	for _, a := range res.Accounts {
		fmt.Fprintf(w, "  %-11s %s，%s\n", a.Username, a.Role.Label(), a.Name)
	}
	fmt.Fprintf(w, "查看密码：jq -r '.accounts[] | select(.username==\"admin\") | .password' %s\n", file)
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "serve --data DIR [--store URI] [--addr 127.0.0.1:8080] [--demo] [--passphrase-file FILE] [--metrics-listen ADDR] [--metrics-token-file FILE] [--ledger fabric --fabric-config FILE]", stderr)
	dir := fs.String("data", "", "data directory (required)")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	demo := fs.Bool("demo", false, "initialize DIR with demo departments first if it is empty; tokens go to DIR/demo-tokens.json")
	passFile := fs.String("passphrase-file", "", "file holding the key passphrase (default: $"+passphraseEnv+")")
	publicURL := fs.String("public-url", "", "where verifiers reach this platform; status list URLs in credentials start with it (default http://ADDR)")
	validity := fs.Duration("status-validity", 24*time.Hour, "how long a signed status list and trust bundle are valid")
	store := storeFlag(fs)
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
	if *validity < time.Minute || *validity > 7*24*time.Hour {
		return usagef("--status-validity must be between 1m and 168h")
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
		fmt.Fprintf(stdout, "首次启动：正在 %s 中创建演示数据（平台根密钥，5 个部门及其 SM2 密钥、\n"+
			"证书和电子印章，演示网页账号和证照），需要几秒钟……\n", *dir)
		started := time.Now()
		res, err := initDataAdmin(ctx, *dir, pass, true, nil, logger, lc, *store)
		if err != nil {
			return err
		}
		b, _ := json.MarshalIndent(res, "", "  ")
		tokens := filepath.Join(*dir, "demo-tokens.json")
		if err := os.WriteFile(tokens, b, 0o600); err != nil {
			return err
		}
		printDemoAccounts(stdout, res, tokens, time.Since(started))
	} else if *demo {
		fmt.Fprintf(stdout, "%s 中已有演示数据；网页账号、密码和 API 令牌在 %s 中\n", *dir, filepath.Join(*dir, "demo-tokens.json"))
	}
	public := *publicURL
	if public == "" {
		public = "http://" + *addr
	}
	in, err := openInstance(ctx, instanceConfig{Dir: *dir, Passphrase: pass, Logger: logger, Ledger: lc, Store: *store, PublicURL: public, StatusValidity: *validity})
	if err != nil {
		return err
	}
	defer in.Close()
	csrfKey, err := in.registry.SharedKey(ctx, "csrf")
	if err != nil {
		return err
	}
	srv, err := server.New(server.Config{Registry: in.registry, Ledger: in.ledger, Logger: logger, MetricsToken: metricsToken, CSRFKey: csrfKey})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "zhengzhao 已在 http://%s 提供服务（数据目录 %s）\n", *addr, *dir)
	logger.Info("serving", "addr", *addr, "metrics_listen", *mc.listen, "metrics_token", metricsToken != "")
	return mc.serve(ctx, srv, *addr)
}
