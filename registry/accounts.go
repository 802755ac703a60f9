package registry

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"zhengzhao/license"
)

// RoleHolder is a citizen or enterprise who holds licenses (持证). A holder
// account is bound to one holder code and sees only the licenses issued to it.
const RoleHolder Role = "holder"

// webSchema adds accounts, sessions, login throttling, use codes and the
// usage record. It is applied with the core schema on every open; every
// statement is idempotent.
const webSchema = `
CREATE TABLE IF NOT EXISTS accounts (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	username    TEXT NOT NULL UNIQUE,
	password    TEXT NOT NULL,          -- argon2id in PHC string form, never the password
	role        TEXT NOT NULL,
	uscc        TEXT NOT NULL DEFAULT '', -- department, for officers
	hall        TEXT NOT NULL DEFAULT '', -- service hall, for clerks
	holder_code TEXT NOT NULL DEFAULT '', -- citizen ID or USCC, for holders
	holder_code_type TEXT NOT NULL DEFAULT '',
	name        TEXT NOT NULL,
	created_at  TEXT NOT NULL,
	disabled    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sessions (
	hash       TEXT PRIMARY KEY,        -- hex SHA-256 of the session token
	account_id INTEGER NOT NULL REFERENCES accounts(id),
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS attempt_failures (
	key TEXT NOT NULL,                  -- "login:<username>", "ip:<addr>", "redeem:<account>"
	at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attempt_failures_key ON attempt_failures(key, at);
CREATE TABLE IF NOT EXISTS use_codes (
	hash         TEXT PRIMARY KEY,      -- hex SHA-256 of the code; the code itself is never stored
	id           TEXT NOT NULL UNIQUE,  -- public id, for listing and withdrawing
	identifier   TEXT NOT NULL REFERENCES licenses(identifier),
	holder_code  TEXT NOT NULL,
	fields       TEXT NOT NULL,         -- JSON array of field keys; empty = all
	purpose      TEXT NOT NULL,
	service_item TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	expires_at   TEXT NOT NULL,
	used_at      TEXT,
	used_by      TEXT,
	revoked_at   TEXT
);
CREATE INDEX IF NOT EXISTS use_codes_holder ON use_codes(holder_code, created_at);
CREATE TABLE IF NOT EXISTS usage (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	identifier   TEXT NOT NULL,
	holder_code  TEXT NOT NULL,
	uscc         TEXT NOT NULL,
	type_code    TEXT NOT NULL,
	mode         TEXT NOT NULL,
	actor        TEXT NOT NULL,
	hall         TEXT NOT NULL,
	purpose      TEXT NOT NULL,
	service_item TEXT NOT NULL,
	verdict      TEXT NOT NULL,
	at           TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_holder ON usage(holder_code, at);
CREATE INDEX IF NOT EXISTS usage_at ON usage(at);
CREATE TABLE IF NOT EXISTS login_throttle (
	key       TEXT PRIMARY KEY,         -- "pair:<user name>|<client>", "client:<client>", "change:<account id>"
	failures  INTEGER NOT NULL,         -- attempts counted (before their check) and not forgiven
	next_at   TEXT NOT NULL,            -- no attempt is checked before this time
	last_at   TEXT NOT NULL
);
`

// Account is a person who signs in to the web pages.
type Account struct {
	ID       int64  `json:"id"`       // store id
	Username string `json:"username"` // what the person signs in with
	Name     string `json:"name"`     // the person's or holder's name, shown on pages and in usage records
	Role     Role   `json:"role"`     // admin, issuer (officer), verifier (clerk) or holder
	// Department is the officer's department USCC.
	Department string `json:"department,omitempty"`
	// Hall is the clerk's service hall.
	Hall string `json:"hall,omitempty"`
	// HolderCode and HolderCodeType identify a holder: a citizen ID ("111")
	// or a USCC ("001").
	HolderCode     string    `json:"holder_code,omitempty"`
	HolderCodeType string    `json:"holder_code_type,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	Disabled       bool      `json:"disabled"` // a disabled account cannot sign in
}

// Actor is who the account acts as.
func (a *Account) Actor() Actor {
	return Actor{Account: a.ID, Role: a.Role, Department: a.Department, Name: a.Name + " (" + a.Username + ")", Hall: a.Hall, HolderCode: a.HolderCode}
}

// NewAccount is what the platform admin fills in to create an account.
type NewAccount struct {
	Username       string `json:"username"`                   // 3 to 40 of a-z A-Z 0-9 . - _
	Password       string `json:"password"`                   // must pass CheckPassword
	Name           string `json:"name"`                       // at most 100 characters
	Role           Role   `json:"role"`                       // admin, issuer, verifier or holder
	Department     string `json:"department,omitempty"`       // officers: a registered department's USCC
	Hall           string `json:"hall,omitempty"`             // clerks: the service hall
	HolderCode     string `json:"holder_code,omitempty"`      // holders: citizen ID or USCC
	HolderCodeType string `json:"holder_code_type,omitempty"` // holders: "111" citizen ID, "001" USCC
}

// Password, session and sign-in rules.
const (
	// MinPasswordLen is the shortest password accepted, in characters.
	MinPasswordLen = MinPasswordChars
	// SessionLifetime is how long a session lasts after sign-in.
	SessionLifetime = 12 * time.Hour
	// MaxLoginFailures sign-ins for one user name from one client address
	// are checked without delay; after that each attempt from that address
	// must wait twice as long as the one before (LoginDelayBase, doubling, at
	// most MaxLoginDelay). Other addresses are not slowed: a stranger can
	// slow an account down from their own address but not lock its owner
	// out.
	MaxLoginFailures = 5
	// MaxClientLoginFailures is the same allowance for one client address
	// across all user names (password spraying), set higher because a whole
	// service hall may share one address.
	MaxClientLoginFailures = 50
	// LoginDelayBase is the first delay once the allowance is used up.
	LoginDelayBase = time.Second
	// MaxLoginDelay caps the growing delay.
	MaxLoginDelay = 15 * time.Minute
	// LoginMemory: failures are forgotten when no attempt came for this long.
	LoginMemory = 24 * time.Hour
)

// ErrThrottled: too many failed attempts; wait before trying again.
var ErrThrottled = errors.New("registry: too many failed attempts")

// ThrottledError says how long to wait. It unwraps to ErrThrottled.
type ThrottledError struct {
	RetryAfter time.Duration
}

// Error says how long to wait, in seconds.
func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed attempts; try again in %d seconds", int(e.RetryAfter.Seconds())+1)
}

// Unwrap returns ErrThrottled.
func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// Directory is the part of the registry that needs nothing but the store:
// web accounts, sessions, sign-in throttling and API tokens. A Service
// embeds one; `zhengzhao admin` opens one alone (OpenDirectory), so that
// accounts and tokens can be managed while the server runs and without the
// key passphrase.
type Directory struct {
	store *store
	now   func() time.Time
	log   *slog.Logger
	owned bool // Close closes the store
}

// OpenDirectory opens the accounts and tokens of the data directory dir. now
// and logger may be nil (time.Now, no logs).
func OpenDirectory(dir string, now func() time.Time, logger *slog.Logger) (*Directory, error) {
	if !Initialized(dir) {
		return nil, ErrNotInitialized
	}
	st, err := openStore(filepath.Join(dir, storeFile))
	if err != nil {
		return nil, err
	}
	return newDirectory(st, now, logger, true), nil
}

func newDirectory(st *store, now func() time.Time, logger *slog.Logger, owned bool) *Directory {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Directory{store: st, now: now, log: logger, owned: owned}
}

// Close closes a directory opened with OpenDirectory.
func (d *Directory) Close() error {
	if d.owned {
		return d.store.Close()
	}
	return nil
}

// CreateAccount makes a web account. Only the platform admin may. The
// password must pass CheckPassword and is stored as an argon2id hash.
func (d *Directory) CreateAccount(ctx context.Context, by Actor, n NewAccount) (*Account, error) {
	if by.Role != RoleAdmin {
		return nil, fmt.Errorf("%w: only the platform admin creates accounts", ErrForbidden)
	}
	if err := d.validateAccount(ctx, &n); err != nil {
		return nil, err
	}
	hash, err := hashPassword(n.Password)
	if err != nil {
		return nil, err
	}
	acct := &Account{
		Username: n.Username, Name: n.Name, Role: n.Role, Department: n.Department, Hall: n.Hall,
		HolderCode: n.HolderCode, HolderCodeType: n.HolderCodeType, CreatedAt: d.now(),
	}
	if err := d.store.insertAccount(ctx, acct, hash); err != nil {
		return nil, err
	}
	d.log.Info("account created", "account", acct.ID, "role", acct.Role)
	return acct, nil
}

// CheckNewAccount reports what CreateAccount would refuse in n, without
// creating anything (`zhengzhao init` checks the first admin before it
// creates the platform). Departments are not checked.
func CheckNewAccount(n NewAccount) error {
	d := &Directory{}
	return d.validateAccount(context.Background(), &n)
}

func (d *Directory) validateAccount(ctx context.Context, n *NewAccount) error {
	n.Username = strings.TrimSpace(n.Username)
	n.Name = strings.TrimSpace(n.Name)
	var errs []error
	add := func(field, rule, msg string) {
		errs = append(errs, &license.FieldError{Field: field, Rule: rule, Message: msg})
	}
	if !validUsername(n.Username) {
		add("username", "pattern", "user name: 3 to 40 letters, digits, '.', '-' or '_'")
	}
	if err := CheckPassword(n.Username, n.Password); err != nil {
		errs = append(errs, err)
	}
	if n.Name == "" || utf8.RuneCountInString(n.Name) > 100 {
		add("name", "length", "name is required, at most 100 characters")
	} else if fe := license.CheckText("name", n.Name, false); fe != nil {
		errs = append(errs, fe)
	}
	switch n.Role {
	case RoleAdmin:
	case RoleIssuer:
		if d.store == nil {
			break
		}
		ok, err := d.store.departmentExists(ctx, n.Department)
		if err != nil {
			return err
		}
		if !ok {
			add("department", "unknown", "an officer needs a registered department (USCC)")
		}
	case RoleVerifier:
		if h := strings.TrimSpace(n.Hall); h == "" || utf8.RuneCountInString(h) > 100 {
			add("hall", "required", "a clerk needs a service hall, at most 100 characters")
		}
		n.Hall = strings.TrimSpace(n.Hall)
	case RoleHolder:
		switch n.HolderCodeType {
		case license.HolderCodeCitizenID:
			if err := license.ValidateCitizenID(n.HolderCode); err != nil {
				add("holder_code", "check", err.Error())
			}
		case license.HolderCodeUSCC:
			if err := license.ValidateUSCC(n.HolderCode); err != nil {
				add("holder_code", "check", err.Error())
			}
		default:
			add("holder_code_type", "enum", `holder code type must be "111" (citizen ID) or "001" (USCC)`)
		}
	default:
		add("role", "enum", "role must be admin, issuer, verifier or holder")
	}
	if n.Role != RoleIssuer {
		n.Department = ""
	}
	if n.Role != RoleVerifier {
		n.Hall = ""
	}
	if n.Role != RoleHolder {
		n.HolderCode, n.HolderCodeType = "", ""
	}
	return errors.Join(errs...)
}

func validUsername(u string) bool {
	if len(u) < 3 || len(u) > 40 {
		return false
	}
	for _, c := range u {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Accounts lists every account. Only the platform admin may.
func (d *Directory) Accounts(ctx context.Context, by Actor) ([]*Account, error) {
	if by.Role != RoleAdmin {
		return nil, fmt.Errorf("%w: only the platform admin lists accounts", ErrForbidden)
	}
	return d.store.accounts(ctx)
}

// Account finds an account by user name. Only the platform admin may.
func (d *Directory) Account(ctx context.Context, by Actor, username string) (*Account, error) {
	if by.Role != RoleAdmin {
		return nil, fmt.Errorf("%w: only the platform admin looks up accounts", ErrForbidden)
	}
	a, _, err := d.store.accountByUsername(ctx, strings.TrimSpace(username))
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("account %q: %w", username, ErrNotFound)
	}
	return a, err
}

// SetAccountDisabled disables or re-enables an account. Only the platform
// admin may, not for their own account, and not for the last enabled admin.
// Disabling ends the account's sessions.
func (d *Directory) SetAccountDisabled(ctx context.Context, by Actor, id int64, disabled bool) (*Account, error) {
	if by.Role != RoleAdmin {
		return nil, fmt.Errorf("%w: only the platform admin disables accounts", ErrForbidden)
	}
	acct, err := d.store.accountByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if disabled && by.Name == acct.Actor().Name {
		return nil, fmt.Errorf("%w: an admin cannot disable their own account", ErrConflict)
	}
	if err := d.store.setDisabled(ctx, id, disabled); err != nil {
		return nil, err
	}
	acct.Disabled = disabled
	d.log.Info("account disabled", "account", id, "disabled", disabled)
	return acct, nil
}

// ResetPassword sets a new password for the account username, ends its
// sessions and forgets its failed sign-ins. Only the platform admin may;
// `zhengzhao admin reset-password` is the way back in for a locked-out or
// forgotten admin.
func (d *Directory) ResetPassword(ctx context.Context, by Actor, username, password string) (*Account, error) {
	if by.Role != RoleAdmin {
		return nil, fmt.Errorf("%w: only the platform admin resets passwords", ErrForbidden)
	}
	acct, err := d.Account(ctx, by, username)
	if err != nil {
		return nil, err
	}
	if err := CheckPassword(acct.Username, password); err != nil {
		return nil, err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return nil, err
	}
	if err := d.store.setPassword(ctx, acct.ID, hash, ""); err != nil {
		return nil, err
	}
	if err := d.store.forgetLoginFailures(ctx, strings.ToLower(acct.Username)); err != nil {
		return nil, err
	}
	d.log.Info("password reset", "account", acct.ID)
	return acct, nil
}

// ErrWrongPassword: the current password given to ChangePassword is wrong.
// It is also a *license.FieldError on "old_password".
var ErrWrongPassword = &license.FieldError{Field: "old_password", Rule: "mismatch", Message: "the current password is wrong"}

// ChangePassword sets a new password for the account signed in with the
// session token, after checking its current password (wrong guesses are
// throttled like sign-ins). The account's other sessions end; this one
// stays.
func (d *Directory) ChangePassword(ctx context.Context, session, old, password string) error {
	acct, err := d.Session(ctx, session)
	if err != nil {
		return err
	}
	_, hash, err := d.store.accountByUsername(ctx, acct.Username)
	if err != nil {
		return err
	}
	now := d.now()
	keys := []throttleKey{{"change:" + strconv.FormatInt(acct.ID, 10), MaxLoginFailures}}
	if err := d.store.takeAttempt(ctx, keys, now); err != nil {
		return err
	}
	if !checkPassword(hash, old) {
		d.log.Info("password change refused", "account", acct.ID)
		return ErrWrongPassword
	}
	if err := d.store.forgiveAttempt(ctx, keys); err != nil {
		return err
	}
	if old == password {
		return &license.FieldError{Field: "password", Rule: "mismatch", Message: "password: the new password is the current one"}
	}
	if err := CheckPassword(acct.Username, password); err != nil {
		return err
	}
	newHash, err := hashPassword(password)
	if err != nil {
		return err
	}
	if err := d.store.setPassword(ctx, acct.ID, newHash, tokenHash(session)); err != nil {
		return err
	}
	d.log.Info("password changed", "account", acct.ID)
	return nil
}

// ErrBadLogin: the user name or password is wrong (which one is not said).
var ErrBadLogin = fmt.Errorf("%w: wrong user name or password", ErrUnauthenticated)

// Login checks a user name and password and opens a session. client names
// where the attempt comes from (an IP address). Every attempt is counted in
// the store before the password is checked, in one transaction, against the
// user name from this client (MaxLoginFailures) and the client alone
// (MaxClientLoginFailures); past those allowances attempts must wait a
// growing delay, and one that comes too early gets a *ThrottledError
// without its password being checked. A right password forgives its own
// attempt. The session token is returned once; only its hash is stored.
func (d *Directory) Login(ctx context.Context, username, password, client string) (string, *Account, error) {
	now := d.now()
	keys := loginKeys(username, client)
	if err := d.store.takeAttempt(ctx, keys, now); err != nil {
		return "", nil, err
	}
	acct, hash, err := d.store.accountByUsername(ctx, strings.TrimSpace(username))
	if errors.Is(err, ErrNotFound) {
		// Spend the same time as a real check, so timing does not tell
		// which user names exist.
		_ = checkPassword(dummyHash(), password)
	} else if err != nil {
		return "", nil, err
	}
	if acct == nil || acct.Disabled || !checkPassword(hash, password) {
		d.log.Info("login failed")
		return "", nil, ErrBadLogin
	}
	if err := d.store.forgiveAttempt(ctx, keys); err != nil {
		return "", nil, err
	}
	// Housekeeping on every sign-in: expired sessions and forgotten
	// failures are of no use.
	if err := d.store.prune(ctx, now, now.Add(-max(LoginMemory, RedeemWindow))); err != nil {
		return "", nil, err
	}
	token, err := randomToken("zzs_")
	if err != nil {
		return "", nil, err
	}
	if err := d.store.insertSession(ctx, tokenHash(token), acct.ID, now, now.Add(SessionLifetime)); err != nil {
		return "", nil, err
	}
	d.log.Info("login", "account", acct.ID, "role", acct.Role)
	return token, acct, nil
}

// throttleKey is one count of attempts and how many of them go undelayed.
type throttleKey struct {
	key  string
	free int
}

// loginKeys: the user name from this client, and the client alone. User
// names are compared without case; an IPv6 client counts as its /64 (one
// subscriber line holds a whole /64, so single addresses would give an
// attacker 2^64 fresh allowances); both parts are cut to a sane length so
// that a hostile attempt cannot store megabytes.
func loginKeys(username, client string) []throttleKey {
	user := strings.ToLower(strings.TrimSpace(username))
	if len(user) > 100 {
		user = user[:100]
	}
	if a, err := netip.ParseAddr(client); err == nil && a.Is6() && !a.Is4In6() {
		p, _ := a.WithZone("").Prefix(64)
		client = p.String()
	}
	if len(client) > 100 {
		client = client[:100]
	}
	return []throttleKey{
		{"pair:" + user + "|" + client, MaxLoginFailures},
		{"client:" + client, MaxClientLoginFailures},
	}
}

// loginDelay is how long the attempt after the n-th must wait.
func loginDelay(n, free int) time.Duration {
	if n < free {
		return 0
	}
	shift := n - free
	if shift > 20 {
		return MaxLoginDelay
	}
	return min(LoginDelayBase<<shift, MaxLoginDelay)
}

// throttled answers a *ThrottledError when key has max failures within window.
func (s *Service) throttled(ctx context.Context, key string, max int, window time.Duration, now time.Time) error {
	n, oldest, err := s.store.failures(ctx, key, now.Add(-window))
	if err != nil {
		return err
	}
	if n >= max {
		return &ThrottledError{RetryAfter: oldest.Add(window).Sub(now)}
	}
	return nil
}

// Session returns the account a session token stands for, or
// ErrUnauthenticated when the token is unknown, expired or its account
// disabled.
func (d *Directory) Session(ctx context.Context, token string) (*Account, error) {
	if token == "" {
		return nil, ErrUnauthenticated
	}
	acct, expires, err := d.store.session(ctx, tokenHash(token))
	if err != nil {
		return nil, err
	}
	if !d.now().Before(expires) || acct.Disabled {
		return nil, fmt.Errorf("%w: session expired", ErrUnauthenticated)
	}
	return acct, nil
}

// Logout ends a session. Ending an unknown session is not an error.
func (d *Directory) Logout(ctx context.Context, token string) error {
	return d.store.deleteSession(ctx, tokenHash(token))
}

func randomToken(prefix string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// argon2id parameters: the OWASP minimum (19 MiB, 2 passes, 1 lane), which
// keeps a sign-in near 30 ms on this class of machine.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// hashPassword returns the argon2id hash of password in PHC string form.
func hashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// checkPassword reports whether password matches a PHC argon2id hash, using
// the parameters stored in the hash.
func checkPassword(phc, password string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<20 || t > 16 || p == 0 {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when the user name does not exist. Made on
// first use, not at start-up: an argon2id hash costs ~100 ms and 20 MB,
// which every command (a cold `zhengzhao verify`) would otherwise pay.
var dummyHash = sync.OnceValue(func() string {
	h, err := hashPassword("not a real password, only for timing")
	if err != nil {
		panic(err)
	}
	return h
})

// Store: accounts, sessions, failures.

const accountColumns = `id, username, name, role, uscc, hall, holder_code, holder_code_type, created_at, disabled`

func scanAccount(row interface{ Scan(...any) error }, extra ...any) (*Account, error) {
	var a Account
	var role, created string
	dest := append([]any{&a.ID, &a.Username, &a.Name, &role, &a.Department, &a.Hall, &a.HolderCode, &a.HolderCodeType, &created, &a.Disabled}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	a.Role, a.CreatedAt = Role(role), parseTime(created)
	return &a, nil
}

func (s *store) insertAccount(ctx context.Context, a *Account, hash string) error {
	res, err := s.db.ExecContext(ctx, `INSERT INTO accounts (username, password, role, uscc, hall, holder_code, holder_code_type, name, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(username) DO NOTHING`,
		a.Username, hash, string(a.Role), a.Department, a.Hall, a.HolderCode, a.HolderCodeType, a.Name, sortableTime(a.CreatedAt))
	if err != nil {
		return fmt.Errorf("registry: insert account: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &conflictField{field: "username", msg: fmt.Sprintf("user name %q is taken", a.Username)}
	}
	a.ID, err = res.LastInsertId()
	return err
}

// conflictField is a conflict that names the field at fault: it is both an
// ErrConflict and a *license.FieldError.
type conflictField struct{ field, msg string }

func (e *conflictField) Error() string { return e.msg }
func (e *conflictField) Unwrap() []error {
	return []error{ErrConflict, &license.FieldError{Field: e.field, Rule: "unique", Message: e.msg}}
}

func (s *store) accounts(ctx context.Context) ([]*Account, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+accountColumns+` FROM accounts ORDER BY role, username`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (s *store) accountByUsername(ctx context.Context, username string) (*Account, string, error) {
	var hash string
	a, err := scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountColumns+`, password FROM accounts WHERE username = ?`, username), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", ErrNotFound
	}
	return a, hash, err
}

func (s *store) accountByID(ctx context.Context, id int64) (*Account, error) {
	a, err := scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("account %d: %w", id, ErrNotFound)
	}
	return a, err
}

func (s *store) setDisabled(ctx context.Context, id int64, disabled bool) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// The last enabled admin stays enabled, in the same statement, so two
	// admins cannot disable each other at once.
	res, err := tx.ExecContext(ctx, `UPDATE accounts SET disabled = ? WHERE id = ?
		AND NOT (? AND role = 'admin' AND (SELECT COUNT(*) FROM accounts WHERE role = 'admin' AND disabled = 0 AND id <> ?) = 0)`,
		disabled, id, disabled, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: the last enabled admin account cannot be disabled", ErrConflict)
	}
	if disabled {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = ?`, id); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// setPassword stores a new password hash for an account and ends its
// sessions but the one whose hash is keep.
func (s *store) setPassword(ctx context.Context, id int64, hash, keep string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE accounts SET password = ? WHERE id = ?`, hash, id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = ? AND hash <> ?`, id, keep); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *store) departmentExists(ctx context.Context, uscc string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM departments WHERE uscc = ?`, uscc).Scan(&n)
	return n > 0, err
}

// takeAttempt counts one attempt against every key in one transaction, or
// none when any key asks the attempt to wait: then it answers a
// *ThrottledError and the attempt must not be checked. Counting before
// checking is what bounds parallel attempts: the n-th concurrent attempt
// sees the n-1 before it.
func (s *store) takeAttempt(ctx context.Context, keys []throttleKey, now time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	counts := make([]int, len(keys))
	var wait time.Duration
	for i, k := range keys {
		var n int
		var next, last string
		err := tx.QueryRowContext(ctx, `SELECT failures, next_at, last_at FROM login_throttle WHERE key = ?`, k.key).Scan(&n, &next, &last)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("registry: read throttle: %w", err)
		case parseTime(last).Before(now.Add(-LoginMemory)):
			n = 0 // forgotten
		default:
			wait = max(wait, parseTime(next).Sub(now))
		}
		counts[i] = n
	}
	if wait > 0 {
		return &ThrottledError{RetryAfter: wait}
	}
	for i, k := range keys {
		n := counts[i] + 1
		if _, err := tx.ExecContext(ctx, `INSERT INTO login_throttle (key, failures, next_at, last_at) VALUES (?, ?, ?, ?)
			ON CONFLICT(key) DO UPDATE SET failures = excluded.failures, next_at = excluded.next_at, last_at = excluded.last_at`,
			k.key, n, sortableTime(now.Add(loginDelay(n, k.free))), sortableTime(now)); err != nil {
			return fmt.Errorf("registry: count attempt: %w", err)
		}
	}
	return tx.Commit()
}

// forgiveAttempt undoes a successful attempt: the first key (the user name
// from this client) starts over, the others give back the one attempt.
func (s *store) forgiveAttempt(ctx context.Context, keys []throttleKey) error {
	for i, k := range keys {
		q := `UPDATE login_throttle SET failures = MAX(failures - 1, 0) WHERE key = ?`
		if i == 0 {
			q = `DELETE FROM login_throttle WHERE key = ?`
		}
		if _, err := s.db.ExecContext(ctx, q, k.key); err != nil {
			return err
		}
	}
	return nil
}

// forgetLoginFailures forgets the failed sign-ins of a user name from every
// client.
func (s *store) forgetLoginFailures(ctx context.Context, user string) error {
	prefix := "pair:" + user + "|"
	_, err := s.db.ExecContext(ctx, `DELETE FROM login_throttle WHERE substr(key, 1, ?) = ?`, len(prefix), prefix)
	return err
}

// prune deletes sessions expired by now and failures and throttles from
// before before.
func (s *store) prune(ctx context.Context, now, before time.Time) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, sortableTime(now)); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM login_throttle WHERE last_at < ?`, sortableTime(before)); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `DELETE FROM attempt_failures WHERE at < ?`, sortableTime(before))
	return err
}

func (s *store) insertSession(ctx context.Context, hash string, account int64, created, expires time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions (hash, account_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		hash, account, sortableTime(created), sortableTime(expires))
	return err
}

func (s *store) session(ctx context.Context, hash string) (*Account, time.Time, error) {
	var expires string
	a, err := scanAccount(s.db.QueryRowContext(ctx, `SELECT a.id, a.username, a.name, a.role, a.uscc, a.hall, a.holder_code, a.holder_code_type, a.created_at, a.disabled, s.expires_at
		FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.hash = ?`, hash), &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, ErrUnauthenticated
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	return a, parseTime(expires), nil
}

func (s *store) deleteSession(ctx context.Context, hash string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
	return err
}

func (s *store) addFailure(ctx context.Context, key string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO attempt_failures (key, at) VALUES (?, ?)`, key, sortableTime(at))
	return err
}

// failures counts key's failures since since and returns the oldest of them.
func (s *store) failures(ctx context.Context, key string, since time.Time) (int, time.Time, error) {
	var n int
	var oldest sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), MIN(at) FROM attempt_failures WHERE key = ? AND at > ?`, key, sortableTime(since)).Scan(&n, &oldest)
	return n, parseTime(oldest.String), err
}

// sortableTime formats t in UTC with a fixed width, so that stored times
// compare correctly as strings in SQL.
func sortableTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z07:00") }
