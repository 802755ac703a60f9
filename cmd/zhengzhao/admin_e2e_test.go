package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"zhengzhao/license"
	"zhengzhao/registry"
)

// webClient signs in to the web pages of a running server.
type webClient struct {
	t   *testing.T
	srv *serverProc
	c   *http.Client
}

func newWebClient(t *testing.T, srv *serverProc) *webClient {
	jar, _ := cookiejar.New(nil)
	return &webClient{t: t, srv: srv, c: &http.Client{Jar: jar}}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// get returns the status, final path and body of a page.
func (w *webClient) get(path string) (int, string, string) {
	w.t.Helper()
	resp, err := w.c.Get(w.srv.url + path)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Request.URL.Path, string(b)
}

// post submits a form from the page at from (for its CSRF token).
func (w *webClient) post(from, path string, form url.Values) (int, string, string) {
	w.t.Helper()
	_, _, page := w.get(from)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		w.t.Fatalf("no CSRF token on %s", from)
	}
	form.Set("csrf", m[1])
	resp, err := w.c.PostForm(w.srv.url+path, form)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Request.URL.Path, string(b)
}

func (w *webClient) login(user, password string) (int, string) {
	w.t.Helper()
	code, path, _ := w.post("/login", "/login", url.Values{"username": {user}, "password": {password}})
	return code, path
}

// TestRealFirstStart is the README's "Running it for real" with the real
// binary: init without demo data makes the first admin, who signs in; the
// admin CLI registers a department, an officer and API tokens while the
// server runs; the first license is issued; a locked-out admin gets back in
// with `admin reset-password`.
func TestRealFirstStart(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "data")
	writePW := func(name, pw string) string {
		f := filepath.Join(tmp, name)
		if err := os.WriteFile(f, []byte(pw+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	adminPW := "correct horse battery 9"

	// Bad first passwords change nothing; no terminal and no file is a usage error.
	for _, tt := range []struct{ pw, want string }{
		{"short", "password [length]"},
		{"password1234", "password [common]"},
		{"admin", "password [length]"},
	} {
		_, errOut, code := zz(t, "init", "--data", dir, "--admin-password-file", writePW("bad", tt.pw))
		if code != exitUsage || !strings.Contains(errOut, tt.want) {
			t.Errorf("init with password %q: exit %d, %q; want exit 2 naming %q", tt.pw, code, errOut, tt.want)
		}
		if registry.Initialized(dir) {
			t.Fatalf("init with password %q created the platform", tt.pw)
		}
	}
	if _, errOut, code := zz(t, "init", "--data", dir); code != exitUsage || !strings.Contains(errOut, "--admin-password-file") {
		t.Errorf("init without a terminal: exit %d, %q", code, errOut)
	}

	out, errOut, code := zz(t, "init", "--data", dir, "--admin-password-file", writePW("admin.pw", adminPW))
	if code != 0 {
		t.Fatalf("init: exit %d: %s", code, errOut)
	}
	if strings.Contains(out+errOut, adminPW) || strings.Contains(out, "zz_") {
		t.Errorf("init printed the password or a token:\n%s%s", out, errOut)
	}
	if !strings.Contains(out, `网页账号 "admin"`) {
		t.Errorf("init output does not name the admin account:\n%s", out)
	}

	// The first department, before the server holds the ledger.
	dept := registry.DemoDepartments(license.DefaultCatalog())[0]
	typ := dept.Types[0]
	if out, errOut, code := zz(t, "admin", "department", "register", "--data", dir, "--uscc", dept.USCC, "--name", dept.Name, "--types", typ); code != 0 {
		t.Fatalf("department register: exit %d: %s", code, errOut)
	} else if !strings.Contains(out, "registered") {
		t.Errorf("department register said %q", out)
	}
	if _, errOut, code := zz(t, "admin", "department", "register", "--data", dir, "--uscc", "91430104MA4L3B5K2X", "--name", "坏部门", "--types", typ); code != exitUsage || !strings.Contains(errOut, "uscc") {
		t.Errorf("department with a bad USCC: exit %d, %q", code, errOut)
	}
	sealPNG := filepath.Join(tmp, "seal.png")
	if _, errOut, code := zz(t, "admin", "department", "seal", "--data", dir, "--uscc", dept.USCC, "--out", sealPNG); code != 0 {
		t.Fatalf("department seal: exit %d: %s", code, errOut)
	}
	if b, _ := os.ReadFile(sealPNG); len(b) < 8 || string(b[1:4]) != "PNG" {
		t.Error("the seal picture is not a PNG")
	}

	srv := startServer(t, dir)
	// Department commands need the ledger the server holds: a clear refusal.
	if _, errOut, code := zz(t, "admin", "department", "list", "--data", dir); code == 0 || !strings.Contains(errOut, "stop it first") {
		t.Errorf("department list while serving: exit %d, %q", code, errOut)
	}

	// The first officer and API tokens, while the server runs.
	officerPW := "officer passphrase 42"
	if _, errOut, code := zz(t, "admin", "account", "create", "--data", dir, "--user", "officer1", "--name", "张三",
		"--role", "issuer", "--department", dept.USCC, "--password-file", writePW("officer.pw", officerPW)); code != 0 {
		t.Fatalf("account create: exit %d: %s", code, errOut)
	}
	if _, errOut, code := zz(t, "admin", "account", "create", "--data", dir, "--user", "officer2", "--name", "李四",
		"--role", "issuer", "--department", "91430104MA4L3B5K26", "--password-file", writePW("o2.pw", officerPW)); code != exitUsage || !strings.Contains(errOut, "department [unknown]") {
		t.Errorf("officer of an unknown department: exit %d, %q", code, errOut)
	}
	tokenJSON := func(args ...string) (string, string) {
		t.Helper()
		out, errOut, code := zz(t, append([]string{"admin", "token", "create", "--data", dir, "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("token create %v: exit %d: %s", args, code, errOut)
		}
		var r struct{ Token, ID string }
		if err := json.Unmarshal([]byte(out), &r); err != nil || !strings.HasPrefix(r.Token, "zz_") {
			t.Fatalf("token create output %q: %v", out, err)
		}
		return r.Token, r.ID
	}
	issuer, _ := tokenJSON("--name", "市监局业务系统", "--role", "issuer", "--department", dept.USCC, "--expires", "30d")
	verifierTok, verifierID := tokenJSON("--name", "窗口", "--role", "verifier", "--expires", "2h")
	if _, errOut, code := zz(t, "admin", "token", "create", "--data", dir, "--name", "x", "--role", "verifier", "--expires", "1000d"); code != exitUsage || !strings.Contains(errOut, "expires_at") {
		t.Errorf("token for 1000 days: exit %d, %q", code, errOut)
	}

	// The first license, issued with the department's token.
	licOut, _ := issueExample(t, srv, tmp, typ, issuer)
	if got := srv.verifyOnline(t, verifierTok, licOut); got != "valid" {
		t.Errorf("the first license verifies %q", got)
	}
	out, _, _ = zz(t, "admin", "token", "list", "--data", dir)
	if !strings.Contains(out, verifierID) || !strings.Contains(out, "市监局业务系统") {
		t.Errorf("token list:\n%s", out)
	}
	if _, errOut, code := zz(t, "admin", "token", "revoke", "--data", dir, "--id", verifierID); code != 0 {
		t.Fatalf("token revoke: %d %s", code, errOut)
	}
	if status, _ := srv.do(t, "POST", "/api/v1/verify", verifierTok, []byte(licOut)); status != http.StatusUnauthorized {
		t.Errorf("a revoked token answers %d", status)
	}

	// Sign-ins: the admin and the officer land on their pages.
	admin := newWebClient(t, srv)
	if code, path := admin.login("admin", adminPW); code != 200 || path != "/admin" {
		t.Fatalf("admin sign-in: %d at %s\n%s", code, path, srv.logs)
	}
	officer := newWebClient(t, srv)
	if code, path := officer.login("officer1", officerPW); code != 200 || path != "/console" {
		t.Fatalf("officer sign-in: %d at %s", code, path)
	}

	// A stranger throttles the admin's name from their address; a reset
	// from the CLI lets the admin back in at once.
	stranger := newWebClient(t, srv)
	throttled := false
	for range registry.MaxLoginFailures + 1 {
		if code, _ := stranger.login("admin", "wrong wrong wrong"); code == http.StatusTooManyRequests {
			throttled = true
		}
	}
	if !throttled {
		t.Error("wrong passwords were never throttled")
	}
	newPW := "back in after the reset 7"
	if _, errOut, code := zz(t, "admin", "reset-password", "--data", dir, "--user", "admin", "--password-file", writePW("new.pw", newPW)); code != 0 {
		t.Fatalf("reset-password: exit %d: %s", code, errOut)
	}
	if code, path, _ := admin.get("/admin"); path != "/login" {
		t.Errorf("the admin's session survived the reset: %d at %s", code, path)
	}
	if code, path := stranger.login("admin", newPW); code != 200 || path != "/admin" {
		t.Errorf("sign-in after the reset from the throttled address: %d at %s", code, path)
	}
	if _, errOut, code := zz(t, "admin", "reset-password", "--data", dir, "--user", "nobody", "--password-file", writePW("x.pw", newPW)); code != exitUsage || !strings.Contains(errOut, "not found") {
		t.Errorf("reset of an unknown account: exit %d, %q", code, errOut)
	}
	if strings.Contains(srv.logs.String(), adminPW) || strings.Contains(srv.logs.String(), newPW) {
		t.Error("a password is in the server's logs")
	}
}

// TestInitAsksOnTheTerminal runs init under a pseudo-terminal (util-linux
// script) with no password file: it asks twice, with echo off, and the
// password never shows in what the terminal displays.
func TestInitAsksOnTheTerminal(t *testing.T) {
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("no script(1) to give init a terminal")
	}
	dir := filepath.Join(t.TempDir(), "data")
	pw := "typed on the terminal 5"
	cmd := exec.Command(script, "-qec", binPath+" init --data "+dir, "/dev/null")
	cmd.Env = append(os.Environ(), "ZHENGZHAO_PASSPHRASE="+testPass)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Type each line once its prompt is up.
	for _, prompt := range []string{"not shown): ", "again: "} {
		for i := 0; i < 200 && !strings.Contains(out.String(), prompt); i++ {
			time.Sleep(50 * time.Millisecond)
		}
		io.WriteString(in, pw+"\r")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("init under a terminal: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), pw) {
		t.Errorf("the password was echoed:\n%s", out.String())
	}
	if !registry.Initialized(dir) || !strings.Contains(out.String(), `网页账号 "admin"`) {
		t.Fatalf("init under a terminal did not finish:\n%s", out.String())
	}
	srv := startServer(t, dir)
	if code, path := newWebClient(t, srv).login("admin", pw); code != 200 || path != "/admin" {
		t.Errorf("sign-in with the typed password: %d at %s", code, path)
	}
}

// lockedBuffer is a buffer a process writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
