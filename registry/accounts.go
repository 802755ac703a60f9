package registry

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
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
	return fmt.Sprintf("失败次数过多，请 %d 秒后再试", int(e.RetryAfter.Seconds())+1)
}

// Unwrap returns ErrThrottled.
func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// Directory is the part of the registry that needs nothing but the store:
// web accounts, sessions, sign-in throttling and API tokens. A Service
// embeds one; `zhengzhao admin` opens one alone (OpenDirectory), so that
// accounts and tokens can be managed while the server runs and without the
// key passphrase.
type Directory struct {
	store directoryStore
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
	st, err := OpenSQLite(filepath.Join(dir, storeFile))
	if err != nil {
		return nil, err
	}
	return newDirectory(st, now, logger, true), nil
}

// NewDirectory is the accounts and tokens of a store (OpenPostgres); its
// Close closes the store.
func NewDirectory(st Store, now func() time.Time, logger *slog.Logger) *Directory {
	return newDirectory(st, now, logger, true)
}

func newDirectory(st directoryStore, now func() time.Time, logger *slog.Logger, owned bool) *Directory {
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
		add("username", "pattern", "用户名须为 3 至 40 个字母、数字或 .、-、_")
	}
	if err := CheckPassword(n.Username, n.Password); err != nil {
		errs = append(errs, err)
	}
	if n.Name == "" || utf8.RuneCountInString(n.Name) > 100 {
		add("name", "length", "请填写姓名或名称，最多 100 个字")
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
			add("department", "unknown", "制证员须属于已登记的部门（填写部门的统一社会信用代码）")
		}
	case RoleVerifier:
		if h := strings.TrimSpace(n.Hall); h == "" || utf8.RuneCountInString(h) > 100 {
			add("hall", "required", "窗口人员须填写所在服务大厅，最多 100 个字")
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
			add("holder_code_type", "enum", "持证主体代码类型须为 111（公民身份号码）或 001（统一社会信用代码）")
		}
	default:
		add("role", "enum", "角色须为平台管理员、制证员、窗口核验人员或持证人之一")
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
var ErrWrongPassword = &license.FieldError{Field: "old_password", Rule: "mismatch", Message: "当前密码不正确"}

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
		return &license.FieldError{Field: "password", Rule: "mismatch", Message: "新密码不能与当前密码相同"}
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
