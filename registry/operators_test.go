package registry_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"zhengzhao/license"
	"zhengzhao/registry"
)

// A burst of wrong passwords from one address gets at most the allowance
// checked; the rest are refused unchecked. The owner elsewhere is not
// slowed.
func TestParallelWrongPasswordsAreBounded(t *testing.T) {
	w := newWebWorld(t)
	ctx := context.Background()
	const n = 100
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, _, errs[i] = w.reg.Login(ctx, "admin", "wrong password!", "203.0.113.9") })
	}
	wg.Wait()
	checked, throttled := 0, 0
	for i, err := range errs {
		switch {
		case errors.Is(err, registry.ErrBadLogin):
			checked++
		case errors.Is(err, registry.ErrThrottled):
			throttled++
		default:
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	t.Logf("%d parallel wrong passwords: %d checked, %d throttled unchecked", n, checked, throttled)
	if checked > registry.MaxLoginFailures || checked+throttled != n {
		t.Errorf("%d of %d parallel wrong passwords were checked, %d throttled; the allowance is %d", checked, n, throttled, registry.MaxLoginFailures)
	}
	// The right password from the attacker's address waits too …
	if _, _, err := w.reg.Login(ctx, "admin", w.logins["admin"].Password, "203.0.113.9"); !errors.Is(err, registry.ErrThrottled) {
		t.Errorf("right password from the throttled address: %v", err)
	}
	// … but from the admin's own address it signs in.
	if _, _, err := w.reg.Login(ctx, "admin", w.logins["admin"].Password, "198.51.100.7"); err != nil {
		t.Errorf("admin from another address: %v", err)
	}
}

// An IPv6 client counts as its /64: hopping between addresses of one line
// does not buy fresh attempts.
func TestLoginIPv6CountsPer64(t *testing.T) {
	w := newWebWorld(t)
	ctx := context.Background()
	for i := range registry.MaxLoginFailures {
		client := fmt.Sprintf("2001:db8:1:2::%x", i+1)
		if _, _, err := w.reg.Login(ctx, "clerk1", "wrong password!", client); !errors.Is(err, registry.ErrBadLogin) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if _, _, err := w.reg.Login(ctx, "clerk1", "wrong password!", "2001:db8:1:2:ffff::9"); !errors.Is(err, registry.ErrThrottled) {
		t.Errorf("another address of the same /64: %v", err)
	}
	if _, _, err := w.reg.Login(ctx, "clerk1", w.logins["clerk1"].Password, "2001:db8:1:3::1"); err != nil {
		t.Errorf("the next /64: %v", err)
	}
}

// Past the allowance the delay doubles with every attempt, up to the cap,
// and a long pause forgets it all.
func TestLoginDelaysGrow(t *testing.T) {
	w := newWebWorld(t)
	ctx := context.Background()
	checked := 0
	var waited []time.Duration // waited[c]: the wait before attempt c+1 could be checked
	for checked < registry.MaxLoginFailures+14 {
		_, _, err := w.reg.Login(ctx, "clerk1", "wrong password!", "192.0.2.1")
		var te *registry.ThrottledError
		if errors.As(err, &te) {
			if len(waited) != checked+1 {
				waited = append(waited, te.RetryAfter)
			}
			w.clock.add(te.RetryAfter)
			continue
		}
		if !errors.Is(err, registry.ErrBadLogin) {
			t.Fatalf("attempt %d: %v", checked+1, err)
		}
		checked++
		if len(waited) < checked {
			waited = append(waited, 0)
		}
	}
	for c, got := range waited {
		want := time.Duration(0)
		if c >= registry.MaxLoginFailures {
			want = min(registry.LoginDelayBase<<(c-registry.MaxLoginFailures), registry.MaxLoginDelay)
		}
		if got != want {
			t.Errorf("wait after %d failures = %v, want %v", c, got, want)
		}
	}
	if last := waited[len(waited)-1]; last != registry.MaxLoginDelay {
		t.Errorf("last wait %v, want the cap %v", last, registry.MaxLoginDelay)
	}
	w.clock.add(registry.LoginMemory + time.Minute)
	for i := range registry.MaxLoginFailures - 1 {
		if _, _, err := w.reg.Login(ctx, "clerk1", "wrong password!", "192.0.2.1"); !errors.Is(err, registry.ErrBadLogin) {
			t.Fatalf("attempt %d after a day's pause: %v", i, err)
		}
	}
}

func TestResetAndChangePassword(t *testing.T) {
	w := newWebWorld(t)
	ctx := context.Background()
	old := w.logins["officer1"].Password
	// Lock the officer's address out and open two sessions.
	s1, _, err := w.reg.Login(ctx, "officer1", old, "10.1.1.1")
	if err != nil {
		t.Fatal(err)
	}
	s2, _, _ := w.reg.Login(ctx, "officer1", old, "10.1.1.2")
	for range registry.MaxLoginFailures + 1 {
		w.reg.Login(ctx, "officer1", "wrong password!", "10.1.1.3")
	}

	// Changing needs the current password, a good new one, and ends the
	// other sessions only.
	fresh := "a fresh passphrase 7"
	for _, tt := range []struct {
		name, old, new, field string
	}{
		{"wrong current", "not my password", fresh, "old_password"},
		{"too short", old, "short", "password"},
		{"user name", old, "officer1", "password"},
		{"same as before", old, old, "password"},
	} {
		err := w.reg.ChangePassword(ctx, s1, tt.old, tt.new)
		if !errors.Is(err, license.ErrInvalid) || !hasField(err, tt.field) {
			t.Errorf("%s: err %v, want a field error on %s", tt.name, err, tt.field)
		}
	}
	if err := w.reg.ChangePassword(ctx, "zzs_forged", old, fresh); !errors.Is(err, registry.ErrUnauthenticated) {
		t.Errorf("forged session: %v", err)
	}
	if err := w.reg.ChangePassword(ctx, s1, old, fresh); err != nil {
		t.Fatal(err)
	}
	if _, err := w.reg.Session(ctx, s1); err != nil {
		t.Errorf("the session that changed the password ended: %v", err)
	}
	if _, err := w.reg.Session(ctx, s2); !errors.Is(err, registry.ErrUnauthenticated) {
		t.Errorf("another session survived the change: %v", err)
	}
	if _, _, err := w.reg.Login(ctx, "officer1", old, "10.1.1.1"); !errors.Is(err, registry.ErrBadLogin) {
		t.Errorf("old password after the change: %v", err)
	}

	// A reset is the admin's: it forgets throttles and ends every session.
	if _, err := w.reg.ResetPassword(ctx, w.actor(t, "officer2"), "officer1", "another good passphrase"); !errors.Is(err, registry.ErrForbidden) {
		t.Errorf("officer resetting: %v", err)
	}
	if _, err := w.reg.ResetPassword(ctx, w.admin, "officer1", "aaaaaaaaaaaaaaa"); !hasField(err, "password") {
		t.Errorf("reset to a repeated character: %v", err)
	}
	if _, err := w.reg.ResetPassword(ctx, w.admin, "nobody", "another good passphrase"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("reset of an unknown account: %v", err)
	}
	if _, _, err := w.reg.Login(ctx, "officer1", fresh, "10.1.1.3"); !errors.Is(err, registry.ErrThrottled) {
		t.Fatalf("address should be throttled before the reset: %v", err)
	}
	if _, err := w.reg.ResetPassword(ctx, w.admin, "officer1", "another good passphrase"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.reg.Session(ctx, s1); !errors.Is(err, registry.ErrUnauthenticated) {
		t.Errorf("a session survived the reset: %v", err)
	}
	if _, _, err := w.reg.Login(ctx, "officer1", "another good passphrase", "10.1.1.3"); err != nil {
		t.Errorf("sign-in after the reset from the throttled address: %v", err)
	}
}

func TestLastAdminStaysEnabled(t *testing.T) {
	w := newWebWorld(t)
	ctx := context.Background()
	admin, err := w.reg.Account(ctx, w.admin, "admin")
	if err != nil {
		t.Fatal(err)
	}
	cli := registry.Actor{Role: registry.RoleAdmin, Name: "zhengzhao admin (cli)"}
	if _, err := w.reg.SetAccountDisabled(ctx, cli, admin.ID, true); !errors.Is(err, registry.ErrConflict) {
		t.Errorf("disabling the only admin: %v", err)
	}
	second, err := w.reg.CreateAccount(ctx, cli, registry.NewAccount{Username: "admin2", Password: "second admin passphrase", Name: "副管理员", Role: registry.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.reg.SetAccountDisabled(ctx, cli, admin.ID, true); err != nil {
		t.Errorf("disabling one of two admins: %v", err)
	}
	if _, err := w.reg.SetAccountDisabled(ctx, cli, second.ID, true); !errors.Is(err, registry.ErrConflict) {
		t.Errorf("disabling the last enabled admin: %v", err)
	}
}

func TestAPITokens(t *testing.T) {
	w := newWebWorld(t)
	ctx := context.Background()
	now := w.clock.now()
	good := registry.NewToken{Name: "窗口系统", Role: registry.RoleVerifier, ExpiresAt: now.Add(30 * 24 * time.Hour)}
	for _, tt := range []struct {
		name  string
		by    registry.Actor
		edit  func(n *registry.NewToken)
		field string
		is    error
	}{
		{"not admin", w.actor(t, "officer1"), nil, "", registry.ErrForbidden},
		{"no name", w.admin, func(n *registry.NewToken) { n.Name = " " }, "name", license.ErrInvalid},
		{"holder role", w.admin, func(n *registry.NewToken) { n.Role = registry.RoleHolder }, "role", license.ErrInvalid},
		{"issuer without department", w.admin, func(n *registry.NewToken) { n.Role = registry.RoleIssuer }, "department", license.ErrInvalid},
		{"expired already", w.admin, func(n *registry.NewToken) { n.ExpiresAt = now.Add(-time.Second) }, "expires_at", license.ErrInvalid},
		{"too long", w.admin, func(n *registry.NewToken) { n.ExpiresAt = now.Add(registry.MaxTokenLifetime + time.Hour) }, "expires_at", license.ErrInvalid},
	} {
		n := good
		if tt.edit != nil {
			tt.edit(&n)
		}
		before, _ := w.reg.Tokens(ctx, w.admin)
		_, _, err := w.reg.AddToken(ctx, tt.by, n)
		if !errors.Is(err, tt.is) || (tt.field != "" && !hasField(err, tt.field)) {
			t.Errorf("%s: err %v, want %v on %q", tt.name, err, tt.is, tt.field)
		}
		if after, _ := w.reg.Tokens(ctx, w.admin); len(after) != len(before) {
			t.Errorf("%s: a refused token was stored", tt.name)
		}
	}

	secret, tok, err := w.reg.AddToken(ctx, w.admin, registry.NewToken{Name: "市监局业务系统", Role: registry.RoleIssuer, Department: w.depts[0].USCC, ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	a, err := w.reg.Authenticate(ctx, secret)
	if err != nil || a.Role != registry.RoleIssuer || a.Department != w.depts[0].USCC {
		t.Fatalf("authenticate: %+v %v", a, err)
	}
	list, _ := w.reg.Tokens(ctx, w.admin)
	if len(list) != 1 || list[0].ID != tok.ID || !list[0].Active(now) || list[0].CreatedBy != w.admin.Name {
		t.Errorf("tokens = %+v", list)
	}
	// Expired tokens are refused.
	w.clock.add(time.Hour)
	if _, err := w.reg.Authenticate(ctx, secret); !errors.Is(err, registry.ErrUnauthenticated) {
		t.Errorf("expired token: %v", err)
	}
	// Revoked tokens are refused at once; revoking twice is a conflict.
	secret2, tok2, err := w.reg.AddToken(ctx, w.admin, good)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.reg.RevokeToken(ctx, w.actor(t, "clerk1"), tok2.ID); !errors.Is(err, registry.ErrForbidden) {
		t.Errorf("clerk revoking: %v", err)
	}
	if _, err := w.reg.RevokeToken(ctx, w.admin, tok2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.reg.Authenticate(ctx, secret2); !errors.Is(err, registry.ErrUnauthenticated) {
		t.Errorf("revoked token: %v", err)
	}
	if _, err := w.reg.RevokeToken(ctx, w.admin, tok2.ID); !errors.Is(err, registry.ErrConflict) {
		t.Errorf("revoking twice: %v", err)
	}
	if _, err := w.reg.RevokeToken(ctx, w.admin, "0123456789abcdef"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("revoking an unknown token: %v", err)
	}
}

// A store made before tokens expired gets an expiry for its old tokens on
// open, and the directory alone (no ledger, no keys) manages accounts.
func TestOpenDirectoryMigratesOldTokens(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.sqliteOnly()
	db, err := sql.Open("sqlite", filepath.Join(w.dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	// Back to a store from before versioned migrations (without the base
	// schema's migration: the checks of that time run again), with an old
	// token as the version before stored it.
	if _, err := db.Exec(`DELETE FROM schema_migrations WHERE version = 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO tokens (hash, role, uscc, name, created_at, expires_at) VALUES ('00ff', 'admin', '', 'old admin', '2026-01-01T00:00:00Z', '')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	d, err := registry.OpenDirectory(w.dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	admin := registry.Actor{Role: registry.RoleAdmin, Name: "cli"}
	list, err := d.Tokens(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	var old *registry.Token
	for _, tk := range list {
		if tk.Name == "old admin" {
			old = tk
		}
	}
	if old == nil || old.ExpiresAt.IsZero() || old.ExpiresAt.After(time.Now().Add(registry.DefaultTokenLifetime)) {
		t.Fatalf("old token after open: %+v", old)
	}
	if _, err := d.CreateAccount(ctx, admin, registry.NewAccount{Username: "officer", Password: "stamp the seal 2026", Name: "制证员", Role: registry.RoleIssuer, Department: w.depts[0].USCC}); err != nil {
		t.Errorf("officer through the directory alone: %v", err)
	}
	if _, err := registry.OpenDirectory(t.TempDir(), nil, nil); !errors.Is(err, registry.ErrNotInitialized) {
		t.Errorf("directory of an empty folder: %v", err)
	}
}
