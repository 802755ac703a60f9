package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"zhengzhao/ledger/logfile"
	"zhengzhao/license"
	"zhengzhao/registry"
)

// `zhengzhao admin`: the platform operator's commands on a data directory.
// Accounts and tokens need only the store, so they work while `serve` runs
// and without the key passphrase; departments need the keys and the ledger,
// which `serve` holds, so they want the server stopped (or the admin page).

type adminCommand struct {
	group, verb, usage, summary string
	run                         func(ctx context.Context, a *adminEnv, fs *flag.FlagSet, args []string) error
}

// adminEnv is what every admin command gets: where it writes, and who it
// acts as.
type adminEnv struct {
	stdout, stderr io.Writer
	actor          registry.Actor
	data           *string
	store          *string // --store URI; empty: SQLite in data
	asJSON         *bool
}

func adminCommands() []adminCommand {
	return []adminCommand{
		{"catalog", "list", "", "list the license types departments may issue (codes for --types)", adminCatalogList},
		{"department", "list", "", "list departments with their keys and seals", adminDeptList},
		{"department", "register", "--uscc USCC --name NAME --types CODE,CODE", "register a department: SM2 key, certificate, seal, on the ledger", adminDeptRegister},
		{"department", "rotate-key", "--uscc USCC", "give a department a new key, certificate and seal", adminDeptRotate},
		{"department", "seal", "--uscc USCC --out FILE.png", "write the picture of a department's active seal", adminDeptSeal},
		{"department", "revoke-key", "--uscc USCC --key KEYID --compromised-from RFC3339 [--reason key_compromise]", "declare a department key compromised from a time (a ledger event; the active key is replaced)", adminDeptRevokeKey},
		{"account", "list", "", "list web accounts", adminAccountList},
		{"account", "create", "--user NAME --name NAME --role ROLE [--department USCC] [--hall HALL] [--holder-code CODE --holder-code-type 111|001] [--password-file FILE]", "create a web account", adminAccountCreate},
		{"account", "disable", "--user NAME", "disable a web account and end its sessions", adminAccountDisable(true)},
		{"account", "enable", "--user NAME", "enable a disabled web account", adminAccountDisable(false)},
		{"account", "reset-password", "--user NAME [--password-file FILE]", "set a new password, end sessions, lift sign-in delays", adminResetPassword},
		{"token", "list", "", "list API tokens", adminTokenList},
		{"token", "create", "--name NAME --role admin|issuer|verifier [--department USCC] [--expires 90d|720h|2027-06-30]", "make an API token (the secret is printed once)", adminTokenCreate},
		{"token", "revoke", "--id ID", "revoke an API token at once", adminTokenRevoke},
	}
}

func printAdminUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: zhengzhao admin <group> <command> --data DIR [flags]   (… --help for its flags)")
	fmt.Fprintln(w, "\nAccounts and tokens work while `zhengzhao serve` runs; departments need it stopped")
	fmt.Fprintln(w, "(they open the keys and the ledger) and the key passphrase.")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range adminCommands() {
		fmt.Fprintf(w, "  %-10s %-15s %s\n", c.group, c.verb, c.summary)
	}
	fmt.Fprintf(w, "  %-26s %s\n", "reset-password", "same as account reset-password (the way back in for a locked-out admin)")
}

func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "reset-password" {
		args = append([]string{"account"}, args...)
	}
	if len(args) < 2 || strings.HasPrefix(args[0], "-") || strings.HasPrefix(args[1], "-") {
		printAdminUsage(stderr)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return flag.ErrHelp
		}
		return usagef("admin needs a group and a command")
	}
	for _, c := range adminCommands() {
		if c.group != args[0] || c.verb != args[1] {
			continue
		}
		fs := newFlags("admin "+c.group+" "+c.verb, "admin "+c.group+" "+c.verb+" --data DIR "+c.usage, stderr)
		env := &adminEnv{stdout: stdout, stderr: stderr, actor: cliActor()}
		env.data = fs.String("data", "", "data directory (required)")
		env.store = storeFlag(fs)
		env.asJSON = fs.Bool("json", false, "print JSON")
		return c.run(ctx, env, fs, args[2:])
	}
	printAdminUsage(stderr)
	return usagef("unknown admin command %q", strings.Join(args[:2], " "))
}

// cliActor is who admin commands act as: the platform admin, named after
// the operating-system user who ran the command, for the logs and for the
// tokens' "created by".
func cliActor() registry.Actor {
	name := "?"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return registry.Actor{Role: registry.RoleAdmin, Name: "zhengzhao admin (" + name + ")"}
}

// parse parses the flags and checks --data.
func (a *adminEnv) parse(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *a.data == "" {
		return usagef("--data is required")
	}
	return nil
}

// directory opens the accounts and tokens of the data directory.
func (a *adminEnv) directory() (*registry.Directory, error) {
	if *a.store == "" {
		return registry.OpenDirectory(*a.data, nil, slog.New(slog.DiscardHandler))
	}
	st, err := openStore(context.Background(), *a.store, *a.data)
	if err != nil {
		return nil, err
	}
	return registry.NewDirectory(st, nil, slog.New(slog.DiscardHandler)), nil
}

// printJSON writes v as indented JSON.
func (a *adminEnv) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// instance opens the whole data directory (keys and ledger) for the
// department commands.
func (a *adminEnv) instance(ctx context.Context, passFile string) (*instance, error) {
	pass, err := passphrase(passFile)
	if err != nil {
		return nil, err
	}
	in, err := openInstance(ctx, instanceConfig{Dir: *a.data, Passphrase: pass, Store: *a.store})
	if errors.Is(err, logfile.ErrLocked) {
		return nil, fmt.Errorf("%w (is `zhengzhao serve` running on %s? stop it first, or use the admin page)", err, *a.data)
	}
	return in, err
}

func adminCatalogList(ctx context.Context, a *adminEnv, fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	types := license.DefaultCatalog().Types()
	if *a.asJSON {
		return a.printJSON(types)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CODE\tNAME\tHOLDER")
	for _, t := range types {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Code, t.Name, t.HolderKind)
	}
	return tw.Flush()
}

func adminDeptList(ctx context.Context, a *adminEnv, fs *flag.FlagSet, args []string) error {
	passFile := fs.String("passphrase-file", "", "file holding the key passphrase (default: $"+passphraseEnv+")")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	in, err := a.instance(ctx, *passFile)
	if err != nil {
		return err
	}
	defer in.Close()
	depts, err := in.registry.Departments(ctx)
	if err != nil {
		return err
	}
	if *a.asJSON {
		return a.printJSON(depts)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USCC\tNAME\tTYPES\tACTIVE KEY\tSEALS")
	for _, d := range depts {
		active := ""
		for _, k := range d.Keys {
			if k.Active {
				active = k.KeyID
			}
		}
		seals, err := in.registry.Seals(ctx, d.USCC)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", d.USCC, d.Name, strings.Join(d.Types, ","), active, len(seals))
	}
	return tw.Flush()
}

func adminDeptRegister(ctx context.Context, a *adminEnv, fs *flag.FlagSet, args []string) error {
	uscc := fs.String("uscc", "", "the department's unified social credit code (18 characters)")
	name := fs.String("name", "", "the department's name, as on its seal")
	types := fs.String("types", "", "license type codes it issues, comma-separated (zhengzhao admin catalog list)")
	passFile := fs.String("passphrase-file", "", "file holding the key passphrase (default: $"+passphraseEnv+")")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	in, err := a.instance(ctx, *passFile)
	if err != nil {
		return err
	}
	defer in.Close()
	var codes []string
	for _, c := range strings.Split(*types, ",") {
		if c = strings.TrimSpace(c); c != "" {
			codes = append(codes, c)
		}
	}
	d, err := in.registry.RegisterDepartment(ctx, a.actor, strings.ToUpper(strings.TrimSpace(*uscc)), strings.TrimSpace(*name), codes)
	if err != nil {
		return domainError(err)
	}
	if *a.asJSON {
		return a.printJSON(d)
	}
	fmt.Fprintf(a.stdout, "department %s (%s) registered: SM2 key %s, certificate and seal made, recorded on the ledger\n", d.Name, d.USCC, d.Keys[0].KeyID)
	return nil
}

func adminDeptRotate(ctx context.Context, a *adminEnv, fs *flag.FlagSet, args []string) error {
	uscc := fs.String("uscc", "", "the department's USCC")
	passFile := fs.String("passphrase-file", "", "file holding the key passphrase (default: $"+passphraseEnv+")")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	in, err := a.instance(ctx, *passFile)
	if err != nil {
		return err
	}
	defer in.Close()
	d, err := in.registry.RotateKey(ctx, a.actor, strings.ToUpper(strings.TrimSpace(*uscc)))
	if err != nil {
		return domainError(err)
	}
	for _, k := range d.Keys {
		if k.Active {
			fmt.Fprintf(a.stdout, "department %s has a new key %s and a new seal; licenses signed with the old key stay valid\n", d.USCC, k.KeyID)
		}
	}
	return nil
}

func adminDeptRevokeKey(ctx context.Context, a *adminEnv, fs *flag.FlagSet, args []string) error {
	uscc := fs.String("uscc", "", "the department's USCC")
	keyID := fs.String("key", "", "the key id (zhengzhao admin department list shows them)")
	from := fs.String("compromised-from", "", "when the compromise began, RFC 3339 (required; licenses anchored before stay valid)")
	reason := fs.String("reason", license.ReasonKeyCompromise, "reason code: key_compromise or department_closed")
	passFile := fs.String("passphrase-file", "", "file holding the key passphrase (default: $"+passphraseEnv+")")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	req, err := keyRevocation(*from, *reason)
	if err != nil {
		return err
	}
	in, err := a.instance(ctx, *passFile)
	if err != nil {
		return err
	}
	defer in.Close()
	d, err := in.registry.RevokeKey(ctx, a.actor, strings.ToUpper(strings.TrimSpace(*uscc)), strings.TrimSpace(*keyID), req)
	if err != nil {
		return domainError(err)
	}
	printRevoked(a.stdout, d, *keyID)
	return nil
}

// keyRevocation reads the revocation flags.
func keyRevocation(from, reason string) (registry.KeyRevocationRequest, error) {
	if from == "" {
		return registry.KeyRevocationRequest{}, usagef("--compromised-from is required: the earliest time the key may have been in other hands")
	}
	t, err := time.Parse(time.RFC3339, from)
	if err != nil {
		return registry.KeyRevocationRequest{}, usagef("--compromised-from: %v", err)
	}
	return registry.KeyRevocationRequest{From: t, Reason: reason}, nil
}

func printRevoked(w io.Writer, d *registry.Department, keyID string) {
	for _, k := range d.Keys {
		switch {
		case k.KeyID == keyID && k.RevokedFrom != nil:
			fmt.Fprintf(w, "密钥 %s 自 %s 起声明泄露（%s）。此后用它签名的证照、二维码一律无效；此前上链的证照仍然有效。\n",
				k.KeyID, k.RevokedFrom.In(license.ChinaTime).Format(time.DateTime), license.ReasonLabel(k.RevocationReason))
		case k.Active:
			fmt.Fprintf(w, "部门 %s 现用密钥：%s\n", d.USCC, k.KeyID)
		}
	}
}

func adminDeptSeal(ctx context.Context, a *adminEnv, fs *flag.FlagSet, args []string) error {
	uscc := fs.String("uscc", "", "the department's USCC")
	out := fs.String("out", "", "PNG file to write the active seal's picture to (required)")
	passFile := fs.String("passphrase-file", "", "file holding the key passphrase (default: $"+passphraseEnv+")")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out is required")
	}
	in, err := a.instance(ctx, *passFile)
	if err != nil {
		return err
	}
	defer in.Close()
	png, err := in.registry.SealPicture(ctx, strings.ToUpper(strings.TrimSpace(*uscc)))
	if err != nil {
		return domainError(err)
	}
	if err := os.WriteFile(*out, png, 0o644); err != nil {
		return err
	}
	seals, err := in.registry.Seals(ctx, strings.ToUpper(strings.TrimSpace(*uscc)))
	if err != nil {
		return err
	}
	for _, s := range seals {
		state := "retired"
		if s.Active {
			state = "active"
		}
		fmt.Fprintf(a.stdout, "seal %s  key %s  valid %s to %s  %s\n", s.ID, s.KeyID, s.ValidStart.Format(time.DateOnly), s.ValidEnd.Format(time.DateOnly), state)
	}
	fmt.Fprintf(a.stdout, "active seal picture written to %s\n", *out)
	return nil
}

func adminAccountList(ctx context.Context, a *adminEnv, fs *flag.FlagSet, args []string) error {
	if err := a.parse(fs, args); err != nil {
		return err
	}
	d, err := a.directory()
	if err != nil {
		return err
	}
	defer d.Close()
	accts, err := d.Accounts(ctx, a.actor)
	if err != nil {
		return err
	}
	if *a.asJSON {
		return a.printJSON(accts)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tROLE\tNAME\tBOUND TO\tSTATE")
	for _, ac := range accts {
		state := "enabled"
		if ac.Disabled {
			state = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", ac.Username, ac.Role, ac.Name, ac.Department+ac.Hall+ac.HolderCode, state)
	}
	return tw.Flush()
}

func adminAccountCreate(ctx context.Context, a *adminEnv, fs *flag.FlagSet, args []string) error {
	var n registry.NewAccount
	fs.StringVar(&n.Username, "user", "", "user name to sign in with: 3 to 40 of a-z A-Z 0-9 . - _")
	fs.StringVar(&n.Name, "name", "", "the person's (or holder's) name, shown on pages and in records")
	role := fs.String("role", "", "admin, issuer (a department's officer), verifier (a window clerk) or holder")
	fs.StringVar(&n.Department, "department", "", "issuer: the department's USCC")
	fs.StringVar(&n.Hall, "hall", "", "verifier: the service hall")
	fs.StringVar(&n.HolderCode, "holder-code", "", "holder: citizen ID or USCC")
	fs.StringVar(&n.HolderCodeType, "holder-code-type", "", `holder: "111" citizen ID or "001" USCC`)
	pwFile := fs.String("password-file", "", "file holding the password (\"-\" reads standard input; default: asked on the terminal)")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	n.Role = registry.Role(*role)
	n.Department = strings.ToUpper(strings.TrimSpace(n.Department))
	n.HolderCode = strings.ToUpper(strings.TrimSpace(n.HolderCode))
	pw, err := newPassword(*pwFile, "password-file", "password for "+n.Username, a.stderr)
	if err != nil {
		return err
	}
	n.Password = pw
	d, err := a.directory()
	if err != nil {
		return err
	}
	defer d.Close()
	acct, err := d.CreateAccount(ctx, a.actor, n)
	if err != nil {
		return domainError(err)
	}
	if *a.asJSON {
		return a.printJSON(acct)
	}
	fmt.Fprintf(a.stdout, "web account %s (%s, %s) created; it signs in with the password you gave\n", acct.Username, acct.Role, acct.Name)
	return nil
}

func adminAccountDisable(disable bool) func(context.Context, *adminEnv, *flag.FlagSet, []string) error {
	return func(ctx context.Context, a *adminEnv, fs *flag.FlagSet, args []string) error {
		username := fs.String("user", "", "the account's user name")
		if err := a.parse(fs, args); err != nil {
			return err
		}
		d, err := a.directory()
		if err != nil {
			return err
		}
		defer d.Close()
		acct, err := d.Account(ctx, a.actor, *username)
		if err != nil {
			return domainError(err)
		}
		if _, err := d.SetAccountDisabled(ctx, a.actor, acct.ID, disable); err != nil {
			return domainError(err)
		}
		if disable {
			fmt.Fprintf(a.stdout, "account %s disabled; its sessions ended\n", acct.Username)
		} else {
			fmt.Fprintf(a.stdout, "account %s enabled\n", acct.Username)
		}
		return nil
	}
}

func adminResetPassword(ctx context.Context, a *adminEnv, fs *flag.FlagSet, args []string) error {
	username := fs.String("user", "", "the account's user name")
	pwFile := fs.String("password-file", "", "file holding the new password (\"-\" reads standard input; default: asked on the terminal)")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	if *username == "" {
		return usagef("--user is required")
	}
	d, err := a.directory()
	if err != nil {
		return err
	}
	defer d.Close()
	// Check the account exists before asking for a password.
	if _, err := d.Account(ctx, a.actor, *username); err != nil {
		return domainError(err)
	}
	pw, err := newPassword(*pwFile, "password-file", "new password for "+*username, a.stderr)
	if err != nil {
		return err
	}
	acct, err := d.ResetPassword(ctx, a.actor, *username, pw)
	if err != nil {
		return domainError(err)
	}
	fmt.Fprintf(a.stdout, "password of %s reset; its sessions ended and its sign-in delays lifted\n", acct.Username)
	if acct.Disabled {
		fmt.Fprintf(a.stdout, "note: %s is disabled; `zhengzhao admin account enable --user %s` lets it sign in\n", acct.Username, acct.Username)
	}
	return nil
}

func adminTokenList(ctx context.Context, a *adminEnv, fs *flag.FlagSet, args []string) error {
	if err := a.parse(fs, args); err != nil {
		return err
	}
	d, err := a.directory()
	if err != nil {
		return err
	}
	defer d.Close()
	toks, err := d.Tokens(ctx, a.actor)
	if err != nil {
		return err
	}
	if *a.asJSON {
		return a.printJSON(toks)
	}
	now := time.Now()
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tROLE\tDEPARTMENT\tNAME\tEXPIRES\tSTATE")
	for _, t := range toks {
		state := "active"
		switch {
		case !t.RevokedAt.IsZero():
			state = "revoked " + t.RevokedAt.Format(time.DateOnly)
		case !now.Before(t.ExpiresAt):
			state = "expired"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Role, t.Department, t.Name, t.ExpiresAt.Format(time.DateTime), state)
	}
	return tw.Flush()
}

func adminTokenCreate(ctx context.Context, a *adminEnv, fs *flag.FlagSet, args []string) error {
	var n registry.NewToken
	fs.StringVar(&n.Name, "name", "", "what or who uses the token (a system, an office)")
	role := fs.String("role", "", "admin, issuer or verifier")
	fs.StringVar(&n.Department, "department", "", "issuer: the department's USCC")
	expires := fs.String("expires", "90d", "lifetime (90d, 720h) or last day (2027-06-30, Beijing time); at most 732d")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	n.Role = registry.Role(*role)
	n.Department = strings.ToUpper(strings.TrimSpace(n.Department))
	at, err := parseExpiry(*expires, time.Now())
	if err != nil {
		return err
	}
	n.ExpiresAt = at
	d, err := a.directory()
	if err != nil {
		return err
	}
	defer d.Close()
	secret, tok, err := d.AddToken(ctx, a.actor, n)
	if err != nil {
		return domainError(err)
	}
	if *a.asJSON {
		return a.printJSON(struct {
			Secret string `json:"token"`
			*registry.Token
		}{secret, tok})
	}
	fmt.Fprintf(a.stdout, "token %s (%s) for %s, expires %s:\n%s\n", tok.ID, tok.Role, tok.Name, tok.ExpiresAt.Format(time.DateTime+" MST"), secret)
	fmt.Fprintln(a.stderr, "The token is shown once; only its hash is stored. Send it as `Authorization: Bearer <token>`.")
	return nil
}

func adminTokenRevoke(ctx context.Context, a *adminEnv, fs *flag.FlagSet, args []string) error {
	id := fs.String("id", "", "the token's id (token list)")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	d, err := a.directory()
	if err != nil {
		return err
	}
	defer d.Close()
	t, err := d.RevokeToken(ctx, a.actor, *id)
	if err != nil {
		return domainError(err)
	}
	fmt.Fprintf(a.stdout, "token %s (%s) revoked\n", t.ID, t.Name)
	return nil
}

// parseExpiry reads a lifetime ("90d", "720h") or a last day
// ("2027-06-30": the token works through that day, Beijing time).
func parseExpiry(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return time.Time{}, usagef("--expires %q: days must be a positive whole number", s)
		}
		return now.Add(time.Duration(n) * 24 * time.Hour), nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(d), nil
	}
	day, err := time.ParseInLocation(time.DateOnly, s, license.ChinaTime)
	if err != nil {
		return time.Time{}, usagef("--expires %q: give a lifetime (90d, 720h) or a last day (2027-06-30)", s)
	}
	return day.AddDate(0, 0, 1), nil
}

// domainError turns a refused input into a usage error (exit 2) that names
// each field and rule; other errors pass as they are.
func domainError(err error) error {
	if fes := fieldErrors(err); len(fes) > 0 {
		var b strings.Builder
		for i, fe := range fes {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%s [%s]: %s", fe.Field, fe.Rule, fe.Message)
		}
		return usageError{errors.New(b.String())}
	}
	if errors.Is(err, registry.ErrNotFound) || errors.Is(err, registry.ErrConflict) {
		return usageError{err}
	}
	return err
}

// fieldErrors flattens a (joined) error into the field errors it carries.
func fieldErrors(err error) []*license.FieldError {
	var out []*license.FieldError
	var walk func(error)
	walk = func(err error) {
		if fe, ok := err.(*license.FieldError); ok {
			out = append(out, fe)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// maxPasswordFile bounds what is read as a password.
const maxPasswordFile = 4096

// newPassword reads a password from file ("-": standard input), or asks on
// the terminal twice with echo off. It is never printed or logged.
func newPassword(file, flagName, what string, stderr io.Writer) (string, error) {
	if file != "" {
		var r io.Reader = os.Stdin
		if file != "-" {
			f, err := os.Open(file)
			if err != nil {
				return "", usagef("password file: %v", err)
			}
			defer f.Close()
			r = f
		}
		b, err := io.ReadAll(io.LimitReader(r, maxPasswordFile+1))
		if err != nil {
			return "", usagef("password file: %v", err)
		}
		if len(b) > maxPasswordFile {
			return "", usagef("password file: longer than %d bytes", maxPasswordFile)
		}
		// One line; a trailing newline is not part of the password.
		line, _, _ := bufio.NewReader(bytes.NewReader(b)).ReadLine()
		if len(line) == 0 {
			return "", usagef("password file %s is empty", file)
		}
		return string(line), nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", usagef("no terminal to ask the %s on: pass --%s FILE (or - for standard input)", what, flagName)
	}
	fmt.Fprintf(stderr, "%s (at least %d characters, not shown): ", what, registry.MinPasswordLen)
	p1, err := term.ReadPassword(fd)
	fmt.Fprintln(stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(stderr, "again: ")
	p2, err := term.ReadPassword(fd)
	fmt.Fprintln(stderr)
	if err != nil {
		return "", err
	}
	if !bytes.Equal(p1, p2) {
		return "", usagef("the two passwords differ")
	}
	return string(p1), nil
}
