package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestServeDemoWeb starts the real binary with `serve --demo` (the README's
// run command), reads the demo accounts from demo-tokens.json, signs in as
// the enterprise holder and finds its demo licenses in the wallet; metrics
// and the OpenAPI document are served too.
func TestServeDemoWeb(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "zz-data")
	srv := startServer(t, dir, "--demo")
	// The first start says what it does and where the passwords are.
	for _, want := range []string{"First start: creating demo data", "demo-tokens.json", "  enterprise  holder"} {
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
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "zhengzhao_http_request_duration_seconds") {
		t.Errorf("/metrics: %d", code)
	}
	if code, body := get("/api/v1/openapi.json"); code != 200 || !strings.Contains(body, `"openapi"`) {
		t.Errorf("openapi.json: %d", code)
	}
}
