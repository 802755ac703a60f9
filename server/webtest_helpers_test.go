package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zhengzhao/ledger/embedded"
	"zhengzhao/license"
	"zhengzhao/registry"
	"zhengzhao/render"
)

// webFontOnce reads the CJK font once for the web tests.
var webFontOnce = sync.OnceValues(render.FindFont)

func webFont(t *testing.T) []byte {
	t.Helper()
	f, err := webFontOnce()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// webEnv is a server with the demo departments and accounts, a license for
// each demo holder, and a signed-in browser-like client per role.
type webEnv struct {
	t       *testing.T
	dir     string // the data directory (platform keys under passphrase "web-test")
	srv     *httptest.Server
	s       *Server
	reg     *registry.Service
	ledger  *embedded.Ledger
	depts   []*registry.Department
	logins  map[string]registry.DemoLogin
	clients map[string]*webClient
	// licA is the enterprise's 营业执照 (department 0), licB the citizen's
	// 出生医学证明 (department 2).
	licA, licB *registry.License
	// jsonHolder is the USCC issueJSON issues to, one company per test.
	jsonHolder string
}

// webClient is a cookie-keeping client that does not follow redirects and
// may carry a bearer token for the API.
type webClient struct {
	t     *testing.T
	base  string
	c     *http.Client
	token string
}

type webAnswer struct {
	status int
	body   string
	header http.Header
}

func (w *webClient) do(method, path string, contentType string, body []byte) webAnswer {
	w.t.Helper()
	req, err := http.NewRequest(method, w.base+path, bytes.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if w.token != "" {
		req.Header.Set("Authorization", "Bearer "+w.token)
	}
	resp, err := w.c.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return webAnswer{resp.StatusCode, string(b), resp.Header}
}

func (w *webClient) get(path string) webAnswer { return w.do("GET", path, "", nil) }

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf fetches a page with a form and returns its CSRF token.
func (w *webClient) csrf() string {
	w.t.Helper()
	for _, p := range []string{"/login", "/wallet", "/console", "/window", "/admin"} {
		if m := csrfRE.FindStringSubmatch(w.get(p).body); m != nil {
			return m[1]
		}
	}
	w.t.Fatal("no page with a CSRF token")
	return ""
}

// form posts url-encoded values with the client's CSRF token.
func (w *webClient) form(path string, v url.Values) webAnswer {
	w.t.Helper()
	v = cloneValues(v)
	if v.Get("csrf") == "" {
		v.Set("csrf", w.csrf())
	}
	return w.do("POST", path, "application/x-www-form-urlencoded", []byte(v.Encode()))
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string{}, vs...)
	}
	return out
}

// multipartBody builds a multipart form with one file.
func multipartBody(t *testing.T, fields map[string]string, fileField, fileName string, file []byte) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if fileField != "" {
		fw, _ := mw.CreateFormFile(fileField, fileName)
		fw.Write(file)
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func (w *webClient) upload(path string, fields map[string]string, fileField, fileName string, file []byte) webAnswer {
	w.t.Helper()
	f := map[string]string{"csrf": w.csrf()}
	for k, v := range fields {
		f[k] = v
	}
	ct, body := multipartBody(w.t, f, fileField, fileName, file)
	return w.do("POST", path, ct, body)
}

func newWebEnv(t *testing.T) *webEnv {
	t.Helper()
	return newWebEnvLogging(t, slog.New(slog.DiscardHandler))
}

// newWebEnvLogging is newWebEnv with the registry and server logging to logger.
func newWebEnvLogging(t *testing.T, logger *slog.Logger) *webEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	pass := []byte("web-test")
	p, err := registry.CreatePlatform(dir, pass, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	l, err := embedded.New(ctx, embedded.Config{Dir: filepath.Join(dir, registry.LedgerDir), Signer: p.Log, Origin: "test/ledger"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	reg, err := registry.Open(ctx, registry.Config{Dir: dir, Platform: p, Ledger: l, LogOrigin: "test/ledger", Passphrase: pass, Logger: logger, Font: webFont(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	admin := registry.Actor{Role: registry.RoleAdmin, Name: "admin"}
	for _, d := range registry.DemoDepartments(reg.Catalog()) {
		if _, err := reg.RegisterDepartment(ctx, admin, d.USCC, d.Name, d.Types); err != nil {
			t.Fatal(err)
		}
	}
	e := &webEnv{t: t, dir: dir, reg: reg, ledger: l, logins: map[string]registry.DemoLogin{}, clients: map[string]*webClient{}}
	all, _ := reg.Departments(ctx)
	for _, d := range registry.DemoDepartments(reg.Catalog()) { // in the demo's order, as officer1… are
		for _, r := range all {
			if r.USCC == d.USCC {
				e.depts = append(e.depts, r)
			}
		}
	}
	logins, err := reg.CreateDemoAccounts(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	for _, lg := range logins {
		e.logins[lg.Username] = lg
	}
	e.s, err = New(Config{Registry: reg, Ledger: l, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.s.Handler())
	t.Cleanup(e.srv.Close)
	e.licA = e.issueExample(0, 0, registry.DemoEnterpriseName, registry.DemoEnterpriseCode)
	e.licB = e.issueExample(2, 0, registry.DemoCitizenName, registry.DemoCitizenID)
	return e
}

// issueExample issues department d's type i from the catalog example to a holder.
func (e *webEnv) issueExample(d, i int, holder, code string) *registry.License {
	e.t.Helper()
	dept := e.depts[d]
	typ, _ := e.reg.Catalog().Type(dept.Types[i])
	rec := typ.Example(dept.USCC, dept.Name)
	lic, err := e.reg.Issue(context.Background(), registry.Actor{Role: registry.RoleIssuer, Department: dept.USCC, Name: "test"},
		registry.IssueRequest{TypeCode: typ.Code, Holder: holder, HolderCode: code, Jurisdiction: rec.Jurisdiction, Fields: rec.Fields})
	if err != nil {
		e.t.Fatal(err)
	}
	return lic
}

// client returns a new anonymous client.
func (e *webEnv) client() *webClient {
	jar, _ := cookiejar.New(nil)
	return &webClient{t: e.t, base: e.srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// login returns a client signed in as a demo account.
func (e *webEnv) login(username string) *webClient {
	e.t.Helper()
	w := e.client()
	a := w.form("/login", url.Values{"username": {username}, "password": {e.logins[username].Password}})
	if a.status != http.StatusSeeOther {
		e.t.Fatalf("login %s: %d %s", username, a.status, a.body)
	}
	return w
}

func (e *webEnv) treeSize() uint64 {
	cp, err := e.ledger.Checkpoint(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return cp.Size
}

// holderSeq numbers the companies freshUSCC makes up.
var holderSeq atomic.Int64

// freshUSCC is the valid USCC of a company no test has issued to yet: a
// company may hold only one 营业执照.
func freshUSCC(t testing.TB) string {
	code, err := license.CompleteUSCC(fmt.Sprintf("91310000%09d", holderSeq.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// issueForm is a valid console form for department 0's first type (营业执照)
// for a new company.
func (e *webEnv) issueForm(holder string) url.Values {
	return e.issueFormFor(0, holder, freshUSCC(e.t))
}

// issueFormFor is a valid console form for department 0's type k.
func (e *webEnv) issueFormFor(k int, holder, holderCode string) url.Values {
	typ, _ := e.reg.Catalog().Type(e.depts[0].Types[k])
	rec := typ.Example(e.depts[0].USCC, e.depts[0].Name)
	v := url.Values{"holder": {holder}, "holderCode": {holderCode}, "jurisdiction": {rec.Jurisdiction}}
	for k, val := range rec.Fields {
		v.Set("fields."+k, val)
	}
	return v
}

// importCSV is a CSV for department 0's first type with the given holders;
// a holder named "BAD" gets an invalid holder code.
func (e *webEnv) importCSV(holders ...string) []byte {
	typ, _ := e.reg.Catalog().Type(e.depts[0].Types[0])
	rec := typ.Example(e.depts[0].USCC, e.depts[0].Name)
	var b strings.Builder
	b.WriteString(strings.Join(importHeader(typ), ",") + "\n")
	for _, h := range holders {
		code := freshUSCC(e.t)
		if h == "BAD" {
			code = code[:17] + string("0123456789"[(strings.IndexByte("0123456789", code[17])+1)%10])
		}
		row := []string{h, code, rec.Jurisdiction, "", "", "", ""}
		for _, f := range typ.Fields {
			row = append(row, `"`+strings.ReplaceAll(rec.Fields[f.Key], `"`, `""`)+`"`)
		}
		b.WriteString(strings.Join(row, ",") + "\n")
	}
	return []byte(b.String())
}

// waitImport polls a job until it finishes.
func (e *webEnv) waitImport(w *webClient, jobPath string) importProgress {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		a := w.get(jobPath + "/progress")
		var p importProgress
		if err := json.Unmarshal([]byte(a.body), &p); err != nil {
			e.t.Fatalf("progress %d %s", a.status, a.body)
		}
		if p.Finished {
			return p
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatal("import did not finish")
	return importProgress{}
}
