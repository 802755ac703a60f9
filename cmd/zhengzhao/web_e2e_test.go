package main

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"zhengzhao/registry"
)

// TestServeDemoWeb starts the real binary with `serve --demo` (the README's
// run command), reads the demo accounts from demo-tokens.json, signs in as
// the enterprise holder and finds its demo licenses in the wallet; metrics
// (behind a token and on an address of their own) and the OpenAPI document
// are served too.
func TestServeDemoWeb(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "zz-data")
	tokenFile := filepath.Join(t.TempDir(), "metrics-token")
	if err := os.WriteFile(tokenFile, []byte("metrics-e2e-token-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := l.Addr().String()
	l.Close()
	srv := startServer(t, dir, "--demo", "--metrics-listen", metricsAddr, "--metrics-token-file", tokenFile)
	// The first start says what it does and where the passwords are.
	for _, want := range []string{"首次启动：正在", "demo-tokens.json", "  enterprise  持证人"} {
		if !strings.Contains(srv.logs.String(), want) {
			t.Errorf("serve --demo did not say %q:\n%s", want, srv.logs)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "demo-tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	var demo struct {
		Accounts []struct{ Username, Password, Role string } `json:"accounts"`
	}
	if err := json.Unmarshal(b, &demo); err != nil {
		t.Fatal(err)
	}
	roles := map[string]int{}
	password := ""
	for _, a := range demo.Accounts {
		roles[a.Role]++
		if a.Username == "enterprise" {
			password = a.Password
		}
	}
	if roles["admin"] != 1 || roles["issuer"] != 5 || roles["verifier"] != 2 || roles["holder"] != 2 || password == "" {
		t.Fatalf("demo accounts by role %v", roles)
	}

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(path string) (int, string) {
		resp, err := c.Get(srv.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	_, login := get("/login")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(login)
	if m == nil {
		t.Fatalf("no CSRF token on the sign-in page:\n%s", login)
	}
	resp, err := c.PostForm(srv.url+"/login", url.Values{"csrf": {m[1]}, "username": {"enterprise"}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	wallet, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/wallet" {
		t.Fatalf("sign-in landed on %s with %d", resp.Request.URL.Path, resp.StatusCode)
	}
	if n := strings.Count(string(wallet), `class="wcard `); n < 3 {
		t.Errorf("the enterprise's wallet shows %d licenses, want the demo ones (营业执照, 食品经营许可证, …)", n)
	}
	// /metrics: not public on the main address, for the token's bearer
	// there, and on the address of its own.
	if code, body := get("/metrics"); code != 401 || strings.Contains(body, "zhengzhao_http_request_duration_seconds") {
		t.Errorf("/metrics without the token: %d", code)
	}
	req, _ := http.NewRequest("GET", srv.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer metrics-e2e-token-0123456789")
	for name, r := range map[string]*http.Request{"with the token": req, "on --metrics-listen": mustRequest(t, "http://"+metricsAddr+"/metrics")} {
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), "zhengzhao_http_request_duration_seconds") {
			t.Errorf("/metrics %s: %d", name, resp.StatusCode)
		}
	}
	if code, body := get("/api/v1/openapi.json"); code != 200 || !strings.Contains(body, `"openapi"`) {
		t.Errorf("openapi.json: %d", code)
	}
}

func mustRequest(t *testing.T, u string) *http.Request {
	t.Helper()
	r, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestServeRefusesAWeakMetricsToken: a short metrics token stops serve
// before it opens anything, with a usage error naming the flag.
func TestServeRefusesAWeakMetricsToken(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "metrics-token")
	if err := os.WriteFile(tokenFile, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := zz(t, "serve", "--data", t.TempDir(), "--metrics-token-file", tokenFile)
	if code != 2 || !strings.Contains(stderr, "--metrics-token-file") {
		t.Errorf("exit %d, stderr %q; want 2 naming --metrics-token-file", code, stderr)
	}
}

// TestInitRefusesAWeakKeyPassphrase: `init` without --demo applies the
// key-passphrase policy before it creates anything.
func TestInitRefusesAWeakKeyPassphrase(t *testing.T) {
	for _, weak := range []string{"x", "demo-only", "password1234", "qwertyuiopas"} {
		dir := filepath.Join(t.TempDir(), "data")
		cmd := exec.Command(binPath, "init", "--data", dir)
		cmd.Env = append(os.Environ(), "ZHENGZHAO_PASSPHRASE="+weak)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), "key passphrase") {
			t.Errorf("passphrase %q: %v, stderr %q; want exit 2 naming the key passphrase", weak, err, stderr.String())
		}
		if registry.Initialized(dir) {
			t.Errorf("passphrase %q: the data directory was initialized", weak)
		}
	}
}
