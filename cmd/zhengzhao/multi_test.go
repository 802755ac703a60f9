//go:build fabric

package main

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"zhengzhao/ledger/fabric/fabrictest"
	"zhengzhao/registry"
)

// postgresEnv names the PostgreSQL server the test uses (a URI whose user
// may create databases); requirePostgresEnv=1 makes its absence a failure.
const (
	postgresEnv        = "ZZ_POSTGRES"
	requirePostgresEnv = "ZZ_REQUIRE_POSTGRES"
)

// freshDatabase creates a database of its own on $ZZ_POSTGRES and returns
// its URI; it is dropped when the test ends.
func freshDatabase(t *testing.T) string {
	t.Helper()
	base := os.Getenv(postgresEnv)
	if base == "" {
		if os.Getenv(requirePostgresEnv) == "1" {
			t.Fatalf("%s is not set and %s=1: start PostgreSQL (.ci/postgres.sh) and set %s", postgresEnv, requirePostgresEnv, postgresEnv)
		}
		t.Skipf("several instances need PostgreSQL: set %s to a postgres:// URI of a user that may create databases (see .ci/postgres.sh)", postgresEnv)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var b [6]byte
	rand.Read(b[:])
	name := "zz_multi_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database %s on %s: %v", name, postgresEnv, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err == nil {
			db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			db.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", postgresEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}

// freeAddr is a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// serveAt starts `zhengzhao serve` on addr and waits until it answers.
func serveAt(t *testing.T, dir, addr string, extra ...string) *serverProc {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"serve", "--data", dir, "--addr", addr}, extra...)...)
	cmd.Env = append(os.Environ(), "ZHENGZHAO_PASSPHRASE="+testPass)
	logs := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProc{cmd: cmd, url: "http://" + addr, logs: logs}
	t.Cleanup(func() { p.kill() })
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(p.url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if cmd.ProcessState != nil {
			break
		}
	}
	t.Fatalf("serve %s did not come up:\n%s", addr, logs)
	return nil
}

// copyKeys copies what a second instance needs from the first one's data
// directory — the platform's keys and certificates — and nothing of its
// own state (the store is PostgreSQL, the log is rebuilt from the channel).
func copyKeys(t *testing.T, from, to string) {
	t.Helper()
	if err := copyPlatform(from, to); err != nil {
		t.Fatal(err)
	}
}

// get fetches path from srv and returns the status, body and ETag.
func get(t *testing.T, srv *serverProc, path string) (int, []byte, string) {
	t.Helper()
	resp, err := http.Get(srv.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header.Get("ETag")
}

// Three `zhengzhao serve` processes on one PostgreSQL database and one
// Fabric network, with no sticky sessions: a license issued on A is revoked
// on B and verified on C at once, online, and offline with one bundle from
// any instance; a receipt from C verifies with a bundle from A; a user signs
// in on A, goes on on B (a form A served is posted to B) and is signed out
// everywhere; the three serve the same trust bundle and status list, byte
// for byte.
func TestSeveralInstances(t *testing.T) {
	store := freshDatabase(t)
	net, err := fabrictest.Start(27000)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { net.Stop() })
	base := t.TempDir()
	dirA, dirB, dirC := filepath.Join(base, "a"), filepath.Join(base, "b"), filepath.Join(base, "c")
	addrA, addrB, addrC := freeAddr(t), freeAddr(t), freeAddr(t)
	// One public URL, as behind a load balancer: the status list URLs in
	// credentials and lists must not depend on the instance that signed.
	common := []string{"--ledger", "fabric", "--fabric-config", net.Connection, "--store", store, "--public-url", "http://" + addrA}
	a := serveAt(t, dirA, addrA, append([]string{"--demo"}, common...)...)
	var tok struct {
		tokens
		Accounts []registry.DemoLogin `json:"accounts"`
	}
	raw, err := os.ReadFile(filepath.Join(dirA, "demo-tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &tok); err != nil || len(tok.Departments) == 0 {
		t.Fatalf("demo tokens: %v %s", err, raw)
	}
	copyKeys(t, dirA, dirB)
	copyKeys(t, dirA, dirC)
	b := serveAt(t, dirB, addrB, common...)
	c := serveAt(t, dirC, addrC, common...)
	all := map[string]*serverProc{"A": a, "B": b, "C": c}

	// Issue on A, revoke on B, verify on C: online at once.
	dept := tok.Departments[0]
	work := t.TempDir()
	out, licFile := issueExample(t, a, work, dept.Types[0], dept.IssuerToken)
	var doc struct {
		Credential struct {
			CredentialSubject struct{ Identifier string } `json:"credentialSubject"`
			CredentialStatus  []struct {
				StatusListCredential string `json:"statusListCredential"`
			} `json:"credentialStatus"`
		} `json:"credential"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Credential.CredentialStatus) == 0 {
		t.Fatalf("issue output: %v\n%s", err, out)
	}
	id := doc.Credential.CredentialSubject.Identifier
	if v := c.verifyOnline(t, tok.VerifierToken, out); v != "valid" {
		t.Fatalf("C's online verdict on A's new license: %s", v)
	}
	if status, body := b.do(t, "POST", "/api/v1/licenses/"+id+"/status", dept.IssuerToken, []byte(`{"status":"revoked","reason":"fraud"}`)); status != 200 {
		t.Fatalf("revoke on B: %d %s\n%s", status, body, b.logs)
	}
	if v := c.verifyOnline(t, tok.VerifierToken, out); v != "revoked" {
		t.Fatalf("C's online verdict right after B revoked: %s, want revoked", v)
	}

	// Offline: A's receipt with one bundle from C, then from B: revoked.
	bundleFile, trust := filepath.Join(work, "bundle.json"), filepath.Join(work, "trust.json")
	offline := func(srv *serverProc, file, want string, code int) {
		t.Helper()
		var stdout string
		var got int
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(300 * time.Millisecond) {
			srv.fetchBundle(t, bundleFile, trust)
			stdout, _, got = zz(t, "verify", "--trust", trust, "--bundle", bundleFile, file)
			if got == code && strings.Contains(stdout, want) || time.Now().After(deadline) {
				break
			}
		}
		if got != code || !strings.Contains(stdout, want) {
			t.Fatalf("offline verify of %s with the bundle of %s: exit %d, want %d and %s\n%s", filepath.Base(file), srv.url, got, code, want, stdout)
		}
	}
	offline(c, licFile, "已吊销", 1)
	offline(b, licFile, "已吊销", 1)
	// A license issued on C verifies offline with A's bundle, and C's
	// receipt continues the log A's bundle holds (the trust file refuses a
	// fork or a rollback across the three).
	work2 := t.TempDir()
	_, licFile2 := issueExample(t, c, work2, dept.Types[0], dept.IssuerToken)
	offline(a, licFile2, "有效", 0)
	offline(b, licFile2, "有效", 0)
	offline(c, licFile, "已吊销", 1)

	// The same bundle and status list from every instance, byte for byte.
	listURL, err := url.Parse(doc.Credential.CredentialStatus[0].StatusListCredential)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/bundle", listURL.Path} {
		var bodies map[string][]byte
		var etags map[string]string
		agree := false
		for deadline := time.Now().Add(10 * time.Second); !agree && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			bodies, etags = map[string][]byte{}, map[string]string{}
			for name, srv := range all {
				status, body, etag := get(t, srv, path)
				if status != 200 {
					t.Fatalf("GET %s from %s: %d %s", path, name, status, body)
				}
				bodies[name], etags[name] = body, etag
			}
			agree = bytes.Equal(bodies["A"], bodies["B"]) && bytes.Equal(bodies["B"], bodies["C"]) &&
				etags["A"] != "" && etags["A"] == etags["B"] && etags["B"] == etags["C"]
		}
		if !agree {
			t.Fatalf("GET %s: the instances serve different bytes: ETags %v, %d/%d/%d bytes", path, etags, len(bodies["A"]), len(bodies["B"]), len(bodies["C"]))
		}
	}

	// Sign in on A, go on on B: the session and the form token are shared.
	var officer registry.DemoLogin
	for _, acc := range tok.Accounts {
		if acc.Role == registry.RoleIssuer && acc.Department == dept.USCC {
			officer = acc
		}
	}
	if officer.Username == "" {
		t.Fatalf("no demo officer of %s in %+v", dept.USCC, tok.Accounts)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	onA, onB, onC := newWebClient(t, a), newWebClient(t, b), newWebClient(t, c)
	onA.c, onB.c, onC.c = browser, browser, browser // cookies are per host, not per port
	if code, path := onA.login(officer.Username, officer.Password); code != 200 || path != "/console" {
		t.Fatalf("sign in on A: %d %s", code, path)
	}
	code, path, page := onB.get("/console")
	if code != 200 || path != "/console" || !strings.Contains(page, id) {
		t.Fatalf("the console on B with A's session: %d %s (license %s listed: %v)", code, path, id, strings.Contains(page, id))
	}
	_, _, pageA := onA.get("/console")
	m := csrfField.FindStringSubmatch(pageA)
	if m == nil {
		t.Fatal("no CSRF token on A's console")
	}
	signedIn := jar.Cookies(&url.URL{Scheme: "http", Host: addrC})
	resp, err := browser.PostForm(b.url+"/logout", url.Values{"csrf": {m[1]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/login" {
		t.Fatalf("sign out on B with A's form: %d %s", resp.StatusCode, resp.Request.URL.Path)
	}
	// The old session cookie, replayed on C, no longer signs anyone in.
	replay, _ := cookiejar.New(nil)
	replay.SetCookies(&url.URL{Scheme: "http", Host: addrC}, signedIn)
	onC.c = &http.Client{Jar: replay}
	if _, path, _ := onC.get("/console"); path != "/login" {
		t.Fatalf("the console on C with the session signed out on B: %s, want /login", path)
	}
}
