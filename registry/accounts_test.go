package registry_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"zhengzhao/ledger/embedded"
	"zhengzhao/license"
	"zhengzhao/registry"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// webWorld is a registry with the demo departments and accounts on a clock
// the test moves.
type webWorld struct {
	reg    *registry.Service
	clock  *clock
	admin  registry.Actor
	depts  []registry.DemoDepartment
	logins map[string]registry.DemoLogin
}

func newWebWorld(t *testing.T) *webWorld {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	p, err := registry.CreatePlatform(dir, pass, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	l, err := embedded.New(ctx, embedded.Config{Dir: filepath.Join(dir, registry.LedgerDir), Signer: p.Log, Origin: "test/ledger"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	c := &clock{t: time.Now()}
	reg, err := registry.Open(ctx, registry.Config{Dir: dir, Platform: p, Ledger: l, LogOrigin: "test/ledger", Passphrase: pass, Now: c.now, Font: testFont(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	w := &webWorld{reg: reg, clock: c, admin: registry.Actor{Role: registry.RoleAdmin, Name: "admin"}, logins: map[string]registry.DemoLogin{}}
	w.depts = registry.DemoDepartments(reg.Catalog())
	for _, d := range w.depts {
		if _, err := reg.RegisterDepartment(ctx, w.admin, d.USCC, d.Name, d.Types); err != nil {
			t.Fatal(err)
		}
	}
	logins, err := reg.CreateDemoAccounts(ctx, w.admin)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range logins {
		w.logins[l.Username] = l
	}
	return w
}

// actor signs in as a demo account and returns who it acts as.
func (w *webWorld) actor(t *testing.T, username string) registry.Actor {
	t.Helper()
	_, acct, err := w.reg.Login(context.Background(), username, w.logins[username].Password, "test")
	if err != nil {
		t.Fatalf("login %s: %v", username, err)
	}
	return acct.Actor()
}

// issueTo issues department 0's first type (营业执照) to a holder.
func (w *webWorld) issueTo(t *testing.T, holder, code string) *registry.License {
	t.Helper()
	typ, _ := w.reg.Catalog().Type(w.depts[0].Types[0])
	rec := typ.Example(w.depts[0].USCC, w.depts[0].Name)
	lic, err := w.reg.Issue(context.Background(), w.actor(t, "officer1"), registry.IssueRequest{
		TypeCode: typ.Code, Holder: holder, HolderCode: code, Jurisdiction: rec.Jurisdiction, Fields: rec.Fields,
	})
	if err != nil {
		t.Fatal(err)
	}
	return lic
}

func TestCreateAccountRules(t *testing.T) {
	w := newWebWorld(t)
	ctx := context.Background()
	good := registry.NewAccount{Username: "clerk9", Password: "long enough pw", Name: "王五", Role: registry.RoleVerifier, Hall: "静安区 1号窗口"}
	tests := []struct {
		name  string
		by    registry.Actor
		edit  func(n *registry.NewAccount)
		field string
		is    error
	}{
		{"not admin", registry.Actor{Role: registry.RoleIssuer, Department: w.depts[0].USCC}, nil, "", registry.ErrForbidden},
		{"short password", w.admin, func(n *registry.NewAccount) { n.Password = "short" }, "password", license.ErrInvalid},
		{"bad username", w.admin, func(n *registry.NewAccount) { n.Username = "a b<script>" }, "username", license.ErrInvalid},
		{"taken username", w.admin, func(n *registry.NewAccount) { n.Username = "clerk1" }, "username", registry.ErrConflict},
		{"clerk without hall", w.admin, func(n *registry.NewAccount) { n.Hall = " " }, "hall", license.ErrInvalid},
		{"officer of unknown department", w.admin, func(n *registry.NewAccount) { n.Role, n.Department = registry.RoleIssuer, "91430104MA4L3B5K26" }, "department", license.ErrInvalid},
		{"holder with bad ID", w.admin, func(n *registry.NewAccount) {
			n.Role, n.HolderCodeType, n.HolderCode = registry.RoleHolder, license.HolderCodeCitizenID, "430103198805061524"
		}, "holder_code", license.ErrInvalid},
		{"holder without code type", w.admin, func(n *registry.NewAccount) { n.Role, n.HolderCode = registry.RoleHolder, registry.DemoCitizenID }, "holder_code_type", license.ErrInvalid},
		{"unknown role", w.admin, func(n *registry.NewAccount) { n.Role = "root" }, "role", license.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := good
			if tt.edit != nil {
				tt.edit(&n)
			}
			before, _ := w.reg.Accounts(ctx, w.admin)
			_, err := w.reg.CreateAccount(ctx, tt.by, n)
			if !errors.Is(err, tt.is) {
				t.Fatalf("err %v, want %v", err, tt.is)
			}
			if tt.field != "" && !hasField(err, tt.field) {
				t.Errorf("err %v does not name field %s", err, tt.field)
			}
			after, _ := w.reg.Accounts(ctx, w.admin)
			if len(after) != len(before) {
				t.Error("a refused account was stored")
			}
		})
	}
	if _, err := w.reg.CreateAccount(ctx, w.admin, good); err != nil {
		t.Fatalf("good account: %v", err)
	}
}

func TestLoginSessionsAndThrottling(t *testing.T) {
	w := newWebWorld(t)
	ctx := context.Background()
	pw := w.logins["clerk1"].Password
	token, acct, err := w.reg.Login(ctx, "clerk1", pw, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if got := acct.Actor(); got.Role != registry.RoleVerifier || got.Hall == "" {
		t.Errorf("clerk actor %+v", got)
	}
	if got, err := w.reg.Session(ctx, token); err != nil || got.Username != "clerk1" {
		t.Fatalf("session: %v %v", got, err)
	}
	if _, err := w.reg.Session(ctx, token+"x"); !errors.Is(err, registry.ErrUnauthenticated) {
		t.Errorf("forged session: %v", err)
	}
	// Sessions expire.
	w.clock.add(registry.SessionLifetime)
	if _, err := w.reg.Session(ctx, token); !errors.Is(err, registry.ErrUnauthenticated) {
		t.Errorf("expired session: %v", err)
	}
	// Logout ends a session.
	token, _, _ = w.reg.Login(ctx, "clerk1", pw, "10.0.0.1")
	if err := w.reg.Logout(ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, err := w.reg.Session(ctx, token); !errors.Is(err, registry.ErrUnauthenticated) {
		t.Errorf("session after logout: %v", err)
	}
	// Wrong passwords and unknown users say the same thing.
	if _, _, err := w.reg.Login(ctx, "nobody", pw, "10.0.0.2"); !errors.Is(err, registry.ErrBadLogin) {
		t.Errorf("unknown user: %v", err)
	}
	for i := range registry.MaxLoginFailures {
		if _, _, err := w.reg.Login(ctx, "clerk2", "wrong password", "10.0.0.3"); !errors.Is(err, registry.ErrBadLogin) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	// From that address even the right password must now wait …
	_, _, err = w.reg.Login(ctx, "clerk2", w.logins["clerk2"].Password, "10.0.0.3")
	var te *registry.ThrottledError
	if !errors.As(err, &te) || te.RetryAfter != registry.LoginDelayBase {
		t.Fatalf("throttled login: %v", err)
	}
	// … while the owner at another address signs in at once.
	if _, _, err := w.reg.Login(ctx, "clerk2", w.logins["clerk2"].Password, "10.0.0.4"); err != nil {
		t.Errorf("owner at another address: %v", err)
	}
	w.clock.add(registry.LoginDelayBase)
	if _, _, err := w.reg.Login(ctx, "clerk2", w.logins["clerk2"].Password, "10.0.0.3"); err != nil {
		t.Errorf("after the delay: %v", err)
	}
}

func TestDisableAccount(t *testing.T) {
	w := newWebWorld(t)
	ctx := context.Background()
	token, acct, err := w.reg.Login(ctx, "citizen", w.logins["citizen"].Password, "t")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.reg.SetAccountDisabled(ctx, w.actor(t, "officer1"), acct.ID, true); !errors.Is(err, registry.ErrForbidden) {
		t.Errorf("officer disabling: %v", err)
	}
	admin := w.actor(t, "admin")
	self, _, _ := w.reg.Login(ctx, "admin", w.logins["admin"].Password, "t")
	me, _ := w.reg.Session(ctx, self)
	if _, err := w.reg.SetAccountDisabled(ctx, admin, me.ID, true); !errors.Is(err, registry.ErrConflict) {
		t.Errorf("admin disabling themself: %v", err)
	}
	if _, err := w.reg.SetAccountDisabled(ctx, admin, acct.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := w.reg.Session(ctx, token); !errors.Is(err, registry.ErrUnauthenticated) {
		t.Errorf("session of a disabled account: %v", err)
	}
	if _, _, err := w.reg.Login(ctx, "citizen", w.logins["citizen"].Password, "t"); !errors.Is(err, registry.ErrBadLogin) {
		t.Errorf("login of a disabled account: %v", err)
	}
	if _, err := w.reg.SetAccountDisabled(ctx, admin, acct.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.reg.Login(ctx, "citizen", w.logins["citizen"].Password, "t"); err != nil {
		t.Errorf("login after re-enabling: %v", err)
	}
}
