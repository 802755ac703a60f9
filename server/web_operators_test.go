package server

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// The admin makes an API token on the tokens page: the secret is shown once
// on the answer, works on the API, is listed without its secret, and stops
// working when revoked there.
func TestAdminTokensPage(t *testing.T) {
	e := newWebEnv(t)
	admin := e.login("admin")
	if a := e.login("officer1").get("/admin/tokens"); a.status != http.StatusForbidden {
		t.Errorf("officer on the tokens page: %d", a.status)
	}
	bad := admin.form("/admin/tokens", url.Values{"name": {"窗口系统"}, "role": {"issuer"}, "days": {"30"}})
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.body, `class="ferr"`) {
		t.Errorf("issuer token without a department: %d", bad.status)
	}
	if a := admin.form("/admin/tokens", url.Values{"name": {"x"}, "role": {"verifier"}, "days": {"9999"}}); a.status != http.StatusBadRequest {
		t.Errorf("token for 9999 days: %d", a.status)
	}
	a := admin.form("/admin/tokens", url.Values{"name": {"浦东市民中心窗口系统"}, "role": {"verifier"}, "days": {"30"}})
	if a.status != http.StatusCreated {
		t.Fatalf("create token: %d %s", a.status, a.body)
	}
	m := regexp.MustCompile(`id="new-token">(zz_[A-Za-z0-9_-]+)<`).FindStringSubmatch(a.body)
	if m == nil {
		t.Fatalf("the new token is not shown:\n%s", a.body)
	}
	secret := m[1]
	api := e.client()
	api.token = secret
	if got := api.do("POST", "/api/v1/verify", "application/json", e.licA.Credential); got.status != http.StatusOK {
		t.Fatalf("the new token on the API: %d %s", got.status, got.body)
	}
	list := admin.get("/admin/tokens")
	if strings.Contains(list.body, secret) || !strings.Contains(list.body, "浦东市民中心窗口系统") {
		t.Error("the token list shows the secret or misses the token")
	}
	id := regexp.MustCompile(`action="/admin/tokens/([0-9a-f]{16})/revoke"`).FindStringSubmatch(list.body)
	if id == nil {
		t.Fatal("no revoke button")
	}
	if r := admin.form("/admin/tokens/"+id[1]+"/revoke", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.status)
	}
	if got := api.do("POST", "/api/v1/verify", "application/json", e.licA.Credential); got.status != http.StatusUnauthorized {
		t.Errorf("a revoked token on the API: %d", got.status)
	}
	if r := admin.form("/admin/tokens/"+id[1]+"/revoke", url.Values{}); r.status != http.StatusConflict {
		t.Errorf("revoking twice: %d", r.status)
	}
}

// Every account changes its own password on one page; the admin resets
// another's on the users page.
func TestChangeAndResetPassword(t *testing.T) {
	e := newWebEnv(t)
	for _, user := range []string{"admin", "officer1", "clerk1", "citizen"} {
		if a := e.login(user).get("/account/password"); a.status != http.StatusOK || !strings.Contains(a.body, `name="old_password"`) {
			t.Errorf("%s: change-password page %d", user, a.status)
		}
	}
	if a := e.client().get("/account/password"); a.status != http.StatusSeeOther {
		t.Errorf("anonymous change-password page: %d", a.status)
	}

	citizen := e.login("citizen")
	other := e.login("citizen") // a second session, on another device
	old := e.logins["citizen"].Password
	fresh := "my new wallet passphrase"
	for _, tt := range []struct {
		name  string
		form  url.Values
		field string
	}{
		{"wrong current", url.Values{"old_password": {"not it at all"}, "password": {fresh}, "password_again": {fresh}}, "原密码不正确"},
		{"mismatch", url.Values{"old_password": {old}, "password": {fresh}, "password_again": {fresh + "x"}}, "不一致"},
		{"too short", url.Values{"old_password": {old}, "password": {"short"}, "password_again": {"short"}}, "密码至少"},
	} {
		if a := citizen.form("/account/password", tt.form); a.status != http.StatusBadRequest || !strings.Contains(a.body, tt.field) {
			t.Errorf("%s: %d, want 400 saying %q", tt.name, a.status, tt.field)
		}
	}
	a := citizen.form("/account/password", url.Values{"old_password": {old}, "password": {fresh}, "password_again": {fresh}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("change: %d %s", a.status, a.body)
	}
	if a := citizen.get("/wallet"); a.status != http.StatusOK {
		t.Errorf("the changing session ended: %d", a.status)
	}
	if a := other.get("/wallet"); a.status != http.StatusSeeOther {
		t.Errorf("the other session survived: %d", a.status)
	}
	if a := e.client().form("/login", url.Values{"username": {"citizen"}, "password": {fresh}}); a.status != http.StatusSeeOther {
		t.Errorf("sign-in with the new password: %d", a.status)
	}

	admin := e.login("admin")
	if a := admin.form("/admin/users/password", url.Values{"username": {"clerk1"}, "password": {"short"}}); a.status != http.StatusBadRequest {
		t.Errorf("reset to a short password: %d", a.status)
	}
	if a := admin.form("/admin/users/password", url.Values{"username": {"clerk1"}, "password": {"a reset passphrase 3"}}); a.status != http.StatusSeeOther {
		t.Fatalf("reset: %d %s", a.status, a.body)
	}
	if a := e.client().form("/login", url.Values{"username": {"clerk1"}, "password": {"a reset passphrase 3"}}); a.status != http.StatusSeeOther {
		t.Errorf("sign-in after the reset: %d", a.status)
	}
	if a := e.login("officer1").form("/admin/users/password", url.Values{"username": {"clerk1"}, "password": {"a reset passphrase 4"}}); a.status != http.StatusForbidden {
		t.Errorf("officer resetting: %d", a.status)
	}
}

// Wrong passwords from one address are throttled with a Retry-After; the
// account's owner at another address is not.
func TestLoginThrottledPerAddress(t *testing.T) {
	e := newWebEnv(t)
	stranger := e.client()
	var last webAnswer
	for range 6 {
		last = stranger.form("/login", url.Values{"username": {"admin"}, "password": {"wrong wrong wrong"}})
	}
	if last.status != http.StatusTooManyRequests || last.header.Get("Retry-After") == "" || !strings.Contains(last.body, "秒后再试") {
		t.Errorf("6th wrong password: %d Retry-After %q", last.status, last.header.Get("Retry-After"))
	}
	// httptest clients all come from 127.0.0.1; another address is told by
	// X-Real-IP only when the server trusts it, so use the registry's own
	// view: the same name from another client signs in.
	if _, _, err := e.reg.Login(t.Context(), "admin", e.logins["admin"].Password, "192.0.2.44"); err != nil {
		t.Errorf("admin from another address: %v", err)
	}
}
