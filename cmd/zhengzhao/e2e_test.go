package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"zhengzhao/credential"
	"zhengzhao/internal/zhtext"
	"zhengzhao/license"
	"zhengzhao/signing"
)

// These tests build and start the real binary.

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "zhengzhao-e2e-")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "zhengzhao")
	out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const testPass = "e2e-passphrase"

// zz runs the binary and returns stdout, stderr and the exit code.
func zz(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), "ZHENGZHAO_PASSPHRASE="+testPass)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

type tokens struct {
	AdminToken    string `json:"admin_token"`
	VerifierToken string `json:"verifier_token"`
	Departments   []struct {
		USCC        string   `json:"uscc"`
		Name        string   `json:"name"`
		Types       []string `json:"types"`
		IssuerToken string   `json:"issuer_token"`
	} `json:"departments"`
}

func initDemo(t *testing.T, dir string) tokens {
	t.Helper()
	out, errOut, code := zz(t, "init", "--data", dir, "--demo", "--json")
	if code != 0 {
		t.Fatalf("init: exit %d: %s", code, errOut)
	}
	var tok tokens
	if err := json.Unmarshal([]byte(out), &tok); err != nil {
		t.Fatalf("init --json output %q: %v", out, err)
	}
	if len(tok.Departments) != 5 || tok.AdminToken == "" || tok.Departments[0].IssuerToken == "" {
		t.Fatalf("init --json = %+v", tok)
	}
	return tok
}

type serverProc struct {
	cmd  *exec.Cmd
	url  string
	logs *bytes.Buffer
}

func startServer(t *testing.T, dir string, extra ...string) *serverProc {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(binPath, append([]string{"serve", "--data", dir, "--addr", addr}, extra...)...)
	cmd.Env = append(os.Environ(), "ZHENGZHAO_PASSPHRASE="+testPass)
	logs := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProc{cmd: cmd, url: "http://" + addr, logs: logs}
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server did not come up: %s", logs)
	return nil
}

func (p *serverProc) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
	}
}

func (p *serverProc) do(t *testing.T, method, path, token string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, p.url+path, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// exampleSeq numbers the companies freshHolder makes up.
var exampleSeq atomic.Int64

// freshHolder returns an example issue request with the holder's USCC
// replaced by one no test has used: a company may hold only one 营业执照.
// A citizen's request is returned as it is.
func freshHolder(t testing.TB, example []byte) []byte {
	t.Helper()
	var req map[string]any
	if err := json.Unmarshal(example, &req); err != nil {
		t.Fatalf("example: %v", err)
	}
	if code, _ := req["holderCode"].(string); license.ValidateUSCC(code) != nil {
		return example
	}
	code, err := license.CompleteUSCC(fmt.Sprintf("91330000%09d", exampleSeq.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	req["holderCode"] = code
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// issueExample issues the example license of type typ with `zhengzhao
// issue` and returns its output and the file it is saved in.
func issueExample(t *testing.T, srv *serverProc, dir, typ, token string) (string, string) {
	t.Helper()
	status, example := srv.do(t, "GET", "/api/v1/types/"+typ+"/example", "", nil)
	if status != 200 {
		t.Fatalf("example: %d %s", status, example)
	}
	reqFile := filepath.Join(dir, "request.json")
	os.WriteFile(reqFile, freshHolder(t, example), 0o644)
	out, errOut, code := zz(t, "issue", "--server", srv.url, "--token", token, "--request", reqFile)
	if code != 0 {
		t.Fatalf("issue: exit %d: %s\n%s", code, errOut, srv.logs)
	}
	licFile := filepath.Join(dir, "license.json")
	os.WriteFile(licFile, []byte(out), 0o644)
	return out, licFile
}

// verifyOnline posts doc to the server's verify endpoint and returns the verdict.
func (p *serverProc) verifyOnline(t *testing.T, token, doc string) string {
	t.Helper()
	status, body := p.do(t, "POST", "/api/v1/verify", token, []byte(doc))
	if status != 200 {
		t.Fatalf("verify: %d %s", status, body)
	}
	var r struct{ Verdict string }
	json.Unmarshal(body, &r)
	return r.Verdict
}

// rootFingerprint is the platform root's fingerprint the server publishes.
func (p *serverProc) rootFingerprint(t *testing.T) string {
	t.Helper()
	status, body := p.do(t, "GET", "/api/v1/trust", "", nil)
	var tr struct {
		RootFingerprint string `json:"root_fingerprint"`
	}
	if status != 200 || json.Unmarshal(body, &tr) != nil || len(tr.RootFingerprint) != 64 {
		t.Fatalf("GET /api/v1/trust: %d %s", status, body)
	}
	return tr.RootFingerprint
}

// fetchBundle saves the server's trust bundle with `zhengzhao bundle`,
// pinning the root in the trust file (the first time) and checking the
// bundle continues the one held (later times).
func (p *serverProc) fetchBundle(t *testing.T, file, trust string) {
	t.Helper()
	args := []string{"bundle", "--server", p.url, "--out", file, "--trust", trust}
	if _, err := os.Stat(trust); err != nil {
		args = append(args, "--root-fingerprint", p.rootFingerprint(t))
	}
	if _, e, c := zz(t, args...); c != 0 {
		t.Fatalf("bundle: exit %d: %s", c, e)
	}
}

// tourResult is what runTour leaves behind.
type tourResult struct {
	out, licFile, bundle, trust string
}

// runTour is the README's tour against a running server: issue with the
// first department's token, verify online and offline, revoke, verify
// again (online at once, offline with a fresh bundle).
func runTour(t *testing.T, srv *serverProc, tok tokens, dir string) tourResult {
	t.Helper()
	dept := tok.Departments[0]
	out, licFile := issueExample(t, srv, dir, dept.Types[0], dept.IssuerToken)
	var doc struct {
		Credential struct {
			CredentialSubject struct{ Identifier string } `json:"credentialSubject"`
		} `json:"credential"`
		Receipt *json.RawMessage `json:"receipt"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Receipt == nil {
		t.Fatalf("issue output is not {credential, receipt}: %v\n%s", err, out)
	}
	id := doc.Credential.CredentialSubject.Identifier

	verifyOnline := func() string { return srv.verifyOnline(t, tok.VerifierToken, out) }
	bundle, trust := filepath.Join(dir, "bundle.json"), filepath.Join(dir, "trust.json")
	fetchBundle := func() { srv.fetchBundle(t, bundle, trust) }
	if v := verifyOnline(); v != "valid" {
		t.Fatalf("online verdict %s", v)
	}
	fetchBundle()
	stdout, _, code := zz(t, "verify", "--trust", trust, "--bundle", bundle, licFile)
	if code != 0 || !strings.Contains(stdout, "有效") {
		t.Fatalf("offline verify: exit %d\n%s", code, stdout)
	}
	chineseOutput(t, "verify", stdout)
	// The holder's PDF and QR code verify offline too, the PDF with its seal.
	pdfFile, qrFile := filepath.Join(dir, "license.pdf"), filepath.Join(dir, "qr.png")
	for file, path := range map[string]string{pdfFile: "/pdf", qrFile: "/qr.png"} {
		status, body := srv.do(t, "GET", "/api/v1/licenses/"+id+path, dept.IssuerToken, nil)
		if status != 200 {
			t.Fatalf("GET %s: %d %s", path, status, body)
		}
		os.WriteFile(file, body, 0o644)
	}
	stdout, _, code = zz(t, "verify", "--trust", trust, "--bundle", bundle, pdfFile, qrFile)
	if code != 0 || strings.Count(stdout, "有效 VALID") != 2 || !strings.Contains(stdout, "[通过] 电子印章：") || !strings.Contains(stdout, "[通过] 照面：") {
		t.Fatalf("offline verify of the PDF and the QR picture: exit %d\n%s", code, stdout)
	}
	chineseOutput(t, "verify PDF and QR", stdout)
	// A live code (亮证码) from a wallet screen is never valid offline.
	liveKey, _ := signing.GenerateKey()
	live, err := credential.EncodeLiveCode(signing.NewKeySigner(liveKey), id, time.Now().Add(time.Minute), []byte("abcdefgh"))
	if err != nil {
		t.Fatal(err)
	}
	liveFile := filepath.Join(dir, "live.txt")
	os.WriteFile(liveFile, []byte(live), 0o644)
	stdout, stderr, code := zz(t, "verify", "--trust", trust, "--bundle", bundle, liveFile)
	if code != 2 || strings.Contains(stdout, "有效 VALID") || !strings.Contains(stderr, "只能在线核验") {
		t.Fatalf("offline verify of a live code: exit %d, want 2 and 只能在线核验\n%s\n%s", code, stdout, stderr)
	}
	chineseOutput(t, "verify a live code", stdout+stderr)
	if status, body := srv.do(t, "GET", "/api/v1/departments/"+dept.USCC+"/seal.png", "", nil); status != 200 || !bytes.HasPrefix(body, []byte("\x89PNG")) {
		t.Fatalf("seal picture: %d", status)
	}

	status, body := srv.do(t, "POST", "/api/v1/licenses/"+id+"/status", dept.IssuerToken, []byte(`{"status":"revoked","reason":"fraud","note":"提交虚假材料，案卷 2026-17"}`))
	if status != 200 {
		t.Fatalf("revoke: %d %s", status, body)
	}
	if v := verifyOnline(); v != "revoked" {
		t.Fatalf("online verdict after revoke %s", v)
	}
	// The old bundle does not know yet; the status list the credential names
	// does, and so does a fresh bundle.
	if out, _, code := zz(t, "verify", "--trust", trust, "--bundle", bundle, "--fetch-status", licFile); code != 1 || !strings.Contains(out, "已吊销") {
		t.Fatalf("verify with the status list fetched: exit %d, want 1 (revoked)\n%s", code, out)
	}
	fetchBundle()
	stdout, _, code = zz(t, "verify", "--trust", trust, "--bundle", bundle, "--json", licFile)
	if code != 1 {
		t.Fatalf("offline verify of a revoked license: exit %d, want 1\n%s", code, stdout)
	}
	var results []struct {
		Result struct{ Verdict string } `json:"result"`
	}
	if err := json.Unmarshal([]byte(stdout), &results); err != nil || results[0].Result.Verdict != "revoked" {
		t.Fatalf("verify --json: %v %s", err, stdout)
	}
	stdout, _, code = zz(t, "verify", "--trust", trust, "--bundle", bundle, pdfFile)
	if code != 1 || !strings.Contains(stdout, "已吊销") {
		t.Fatalf("offline verify of the revoked license's PDF: exit %d\n%s", code, stdout)
	}
	chineseOutput(t, "verify a revoked PDF", stdout)
	// A picture without a QR code is unreadable input: exit 2, and why.
	_, sealPNG := srv.do(t, "GET", "/api/v1/departments/"+dept.USCC+"/seal.png", "", nil)
	sealFile := filepath.Join(dir, "seal.png")
	os.WriteFile(sealFile, sealPNG, 0o644)
	stdout, _, code = zz(t, "verify", "--trust", trust, "--bundle", bundle, sealFile)
	if code != 2 || !strings.Contains(stdout, "图片中找不到可读的二维码") {
		t.Errorf("verify of a non-license: exit %d, want 2\n%s", code, stdout)
	}
	chineseOutput(t, "verify a picture without a QR code", stdout)
	return tourResult{out: out, licFile: licFile, bundle: bundle, trust: trust}
}

// The README's tour, through the binary: issue, verify online and offline,
// revoke, verify again.
func TestTour(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	tok := initDemo(t, data)
	srv := startServer(t, data)

	r := runTour(t, srv, tok, dir)
	bundle, licFile, trust := r.bundle, r.licFile, r.trust
	// Bad usage and unreadable input: exit 2.
	if _, _, code := zz(t, "verify", "--trust", trust, "--bundle", bundle, filepath.Join(dir, "missing.json")); code != 2 {
		t.Errorf("missing file: exit %d, want 2", code)
	}
	if _, _, code := zz(t, "verify", licFile); code != 2 {
		t.Errorf("no bundle: exit %d, want 2", code)
	}
	// No pinned root: refused, and told how to pin.
	noPin := filepath.Join(dir, "no-such-trust.json")
	if _, e, code := zz(t, "verify", "--trust", noPin, "--bundle", bundle, licFile); code != 2 || !strings.Contains(e, "--root-fingerprint") {
		t.Errorf("verify with no pinned root: exit %d, want 2 and how to pin\n%s", code, e)
	}
	// Another root pinned than the one that signed the bundle: refused.
	other := strings.Repeat("ab", 32)
	if _, e, code := zz(t, "verify", "--trust", noPin, "--root-fingerprint", other, "--bundle", bundle, licFile); code != 2 || !strings.Contains(e, "固定的平台根证书") {
		t.Errorf("verify against another pinned root: exit %d, want 2\n%s", code, e)
	}
	// A bundle past its valid_until: "无法确认", exit 3, never 有效.
	var b struct {
		ValidUntil time.Time `json:"valid_until"`
	}
	raw, _ := os.ReadFile(bundle)
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	late := b.ValidUntil.Add(49 * time.Hour).Format(time.RFC3339)
	if out, _, code := zz(t, "verify", "--trust", trust, "--bundle", bundle, "--at", late, r.licFile); code != 1 {
		// The tour revoked the license: revocation is final, old data proves it.
		t.Errorf("revoked license with an expired bundle: exit %d, want 1\n%s", code, out)
	}
	fresh, _ := issueExample(t, srv, dir, tok.Departments[0].Types[0], tok.Departments[0].IssuerToken)
	freshFile := filepath.Join(dir, "fresh.json")
	os.WriteFile(freshFile, []byte(fresh), 0o644)
	older := filepath.Join(dir, "older-bundle.json")
	os.WriteFile(older, raw, 0o644)
	time.Sleep(1100 * time.Millisecond) // a cached bundle looks at the ledger once a second
	srv.fetchBundle(t, bundle, trust)
	if out, _, code := zz(t, "verify", "--trust", trust, "--bundle", bundle, "--at", late, freshFile); code != 3 || !strings.Contains(out, "无法确认（状态数据已过期 3 天）") {
		t.Errorf("active license with an expired bundle: exit %d, want 3 and 无法确认\n%s", code, out)
	}
	// An older bundle than one already accepted: refused.
	if _, e, code := zz(t, "verify", "--trust", trust, "--bundle", older, freshFile); code != 2 || !strings.Contains(e, "比已接受的") {
		t.Errorf("verify with an older bundle: exit %d, want 2\n%s", code, e)
	}
	if out, _, code := zz(t, "verify", "--trust", trust, "--bundle", bundle, freshFile); code != 0 || !strings.Contains(out, "信任包第") {
		t.Errorf("verify with the newest bundle: exit %d\n%s", code, out)
	}
	// Every command answers --help.
	for _, c := range []string{"init", "serve", "issue", "bundle", "verify", "ledger", "bench"} {
		if _, e, code := zz(t, c, "--help"); code != 0 || !strings.Contains(e, "Usage") {
			t.Errorf("%s --help: exit %d %q", c, code, e)
		}
	}
}

// Kill the server with SIGKILL during concurrent issues; after a restart
// every license whose issue answered 201 is in the store and on the ledger,
// and the ledger verifies.
func TestCrashLosesNoAcknowledgedLicense(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	tok := initDemo(t, data)
	srv := startServer(t, data)
	dept := tok.Departments[0]
	_, example := srv.do(t, "GET", "/api/v1/types/"+dept.Types[0]+"/example", "", nil)
	// Every request is for another company (one 营业执照 each), made up front.
	bodies := make(chan []byte, 4096)
	for range cap(bodies) {
		bodies <- freshHolder(t, example)
	}

	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	client := &http.Client{Timeout: 10 * time.Second}
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				var body []byte
				select {
				case body = <-bodies:
				default:
					return // enough
				}
				req, _ := http.NewRequestWithContext(ctx, "POST", srv.url+"/api/v1/licenses", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+dept.IssuerToken)
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					continue
				}
				var d struct{ ID string }
				if json.Unmarshal(b, &d) == nil && d.ID != "" {
					mu.Lock()
					acked = append(acked, d.ID)
					mu.Unlock()
				}
			}
		}()
	}
	// Let issues run, then kill mid-flight.
	for {
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 300 {
			break
		}
	}
	srv.cmd.Process.Signal(syscall.SIGKILL)
	srv.cmd.Wait()
	cancel()
	wg.Wait()
	t.Logf("%d licenses acknowledged before SIGKILL", len(acked))

	if out, errOut, code := zz(t, "ledger", "verify", "--data", data); code != 0 {
		t.Fatalf("ledger verify after crash: exit %d\n%s%s", code, out, errOut)
	}
	srv2 := startServer(t, data)
	for _, id := range acked {
		status, body := srv2.do(t, "GET", "/api/v1/licenses/"+id, tok.AdminToken, nil)
		if status != 200 {
			t.Fatalf("acknowledged license %s lost from the store: %d %s", id, status, body)
		}
		var d struct {
			Credential json.RawMessage `json:"credential"`
			Receipt    json.RawMessage `json:"receipt"`
		}
		json.Unmarshal(body, &d)
		doc, _ := json.Marshal(d)
		status, body = srv2.do(t, "POST", "/api/v1/verify", tok.VerifierToken, doc)
		var r struct {
			Verdict string
			Checks  []struct{ Name, Status, Reason string }
		}
		json.Unmarshal(body, &r)
		if status != 200 || r.Verdict != "valid" {
			t.Fatalf("acknowledged license %s does not verify online after restart: %d %s", id, status, body)
		}
	}
	// Issuing goes on after the restart.
	if status, body := srv2.do(t, "POST", "/api/v1/licenses", dept.IssuerToken, freshHolder(t, example)); status != 201 {
		t.Fatalf("issue after restart: %d %s", status, body)
	}
	srv2.kill()
	if out, errOut, code := zz(t, "ledger", "verify", "--data", data); code != 0 {
		t.Fatalf("ledger verify after restart: exit %d\n%s%s", code, out, errOut)
	}
}

// TestBench runs `zhengzhao bench --json` and checks it reports every figure
// with a rate or a size, the verification figures against sm2-verify, and
// no figure that failed. (The rates themselves are for the closing note,
// not for a test.)
func TestBench(t *testing.T) {
	if testing.Short() {
		t.Skip("bench takes about 15 s")
	}
	out, errOut, code := zz(t, "bench", "--json", "--issue-n", "200", "--concurrency", "8")
	if code != 0 {
		t.Fatalf("bench: exit %d: %s", code, errOut)
	}
	got := map[string]figure{}
	for line := range strings.Lines(out) {
		var f figure
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("bench --json line %q: %v", line, err)
		}
		if strings.HasPrefix(f.Note, "failed") {
			t.Errorf("%s: %s", f.Name, f.Note)
		}
		got[f.Name] = f
	}
	for _, name := range []string{"sm2-sign", "sm2-verify", "credential-verify", "document-verify", "qr-verify", "pdf-render", "pdf-verify", "issue"} {
		if f, ok := got[name]; !ok || f.OpsPerSec <= 0 || f.N <= 0 {
			t.Errorf("%s: %+v, want a rate", name, f)
		}
	}
	for _, name := range []string{"credential-verify", "document-verify", "qr-verify"} {
		if f := got[name]; f.OfSM2Verify <= 0 {
			t.Errorf("%s: no share of sm2-verify: %+v", name, f)
		}
	}
	for _, name := range []string{"pdf-size-max", "qr-payload-max"} {
		if f, ok := got[name]; !ok || f.Value <= 0 || f.Unit == "" {
			t.Errorf("%s: %+v, want a size", name, f)
		}
	}
}

// chineseOutput fails when the human output of a command, which a window
// clerk reads, has English prose in it (file paths, codes and the
// upper-case verdict code are not prose).
func chineseOutput(t *testing.T, what, out string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if e := zhtext.English(line); len(e) > 0 {
			t.Errorf("%s: English %q in %q", what, e, line)
		}
	}
	if !zhtext.HasHan(out) {
		t.Errorf("%s: no Chinese in the output:\n%s", what, out)
	}
}
