package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"zhengzhao/license"
	"zhengzhao/registry"
)

// offSite reports why a redirect target leaves the site, or "". It is
// stricter than Go's URL parser, as browsers are: they drop tabs and line
// breaks anywhere in a URL and read a backslash as a slash.
func offSite(loc string) string {
	if loc == "" {
		return "empty Location"
	}
	browser := strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(loc)
	switch {
	case !strings.HasPrefix(browser, "/"):
		return "not a path"
	case strings.HasPrefix(browser, "//"):
		return "scheme-relative URL (another host)"
	case strings.ContainsFunc(loc, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return "control character"
	}
	if dec, err := url.PathUnescape(loc); err == nil && (strings.HasPrefix(dec, "//") || strings.HasPrefix(dec, "/\\")) {
		return "another host once percent-decoded"
	}
	return ""
}

var nextFieldRE = regexp.MustCompile(`name="next" value="([^"]*)"`)

// TestSafeRedirects: whatever next= holds, the sign-in page keeps and the
// redirect after sign-in goes only to a path on this site.
func TestSafeRedirects(t *testing.T) {
	e := newWebEnv(t)
	hostile := []string{
		"/\t/evil.example/",
		"/\n/evil.example/",
		"/\r\n/evil.example/",
		"//evil.example/",
		"///evil.example/",
		"/\\evil.example/",
		"\\/evil.example/",
		"/\\/evil.example/",
		"https://evil.example/",
		"https:evil.example",
		"http:/evil.example",
		"javascript:alert(1)",
		"evil.example",
		" //evil.example/",
		"\t//evil.example/",
		"/%2F/evil.example/",
		"/%2f%2fevil.example/",
		"/%5Cevil.example/",
		"/%5c%5cevil.example/",
		"/%09/evil.example/",
		"/%0a/evil.example/",
		"/%0D%0A/evil.example/",
		"/\u3000/evil.example/",
		"/\x00/evil.example/",
		"/\u202e/evil.example/",
	}
	for _, next := range hostile {
		t.Run(fmt.Sprintf("%q", next), func(t *testing.T) {
			page := e.client().get("/login?next=" + url.QueryEscape(next))
			m := nextFieldRE.FindStringSubmatch(page.body)
			if page.status != 200 || m == nil {
				t.Fatalf("sign-in page %d without a next field", page.status)
			}
			if kept := html.UnescapeString(m[1]); kept != "" && offSite(kept) != "" {
				t.Errorf("sign-in page keeps next=%q: %s", kept, offSite(kept))
			}
			w := e.client()
			a := w.form("/login", url.Values{"username": {"officer1"}, "password": {e.logins["officer1"].Password}, "next": {next}})
			if a.status != http.StatusSeeOther {
				t.Fatalf("sign-in: %d", a.status)
			}
			if loc := a.header.Get("Location"); offSite(loc) != "" || loc != "/console" {
				t.Errorf("redirected to %q, want the role's home /console", loc)
			}
		})
	}
	// The literal request of the red-team report, as a browser sends it.
	page := e.client().get("/login?next=/%09/evil.example/")
	if m := nextFieldRE.FindStringSubmatch(page.body); m == nil || m[1] != "" {
		t.Errorf("GET /login?next=/%%09/evil.example/ keeps next %q", m)
	}
	// A local target survives, with its query.
	local := "/console/licenses/" + e.licA.Identifier + "?issued=1"
	a := e.client().form("/login", url.Values{"username": {"officer1"}, "password": {e.logins["officer1"].Password}, "next": {local}})
	if loc := a.header.Get("Location"); loc != local {
		t.Errorf("local next: redirected to %q, want %q", loc, local)
	}
	// And the round trip: a page that needs sign-in sends there and back.
	anon := e.client()
	to := anon.get("/console/licenses/" + e.licA.Identifier).header.Get("Location")
	u, _ := url.Parse(to)
	back := anon.form("/login", url.Values{"username": {"officer1"}, "password": {e.logins["officer1"].Password}, "next": {u.Query().Get("next")}})
	if loc := back.header.Get("Location"); loc != "/console/licenses/"+e.licA.Identifier {
		t.Errorf("after sign-in: %q", loc)
	}
}

var dispositionRE = regexp.MustCompile(`^(attachment|inline); filename="([A-Za-z0-9._-]+)"; filename\*=UTF-8''([A-Za-z0-9!#$&+.^_` + "`" + `|~%-]+)$`)

// checkDisposition checks an RFC 6266 Content-Disposition and returns the
// UTF-8 file name it carries.
func checkDisposition(t *testing.T, h string, wantKind string) string {
	t.Helper()
	m := dispositionRE.FindStringSubmatch(h)
	if m == nil {
		t.Fatalf("Content-Disposition %q is not %s; filename=\"ascii\"; filename*=UTF-8''…", h, wantKind)
	}
	if m[1] != wantKind {
		t.Errorf("disposition %s, want %s", m[1], wantKind)
	}
	name, err := url.PathUnescape(m[3])
	if err != nil {
		t.Fatalf("filename* %q: %v", m[3], err)
	}
	// Go's own parser agrees (it prefers filename* and decodes it).
	if _, params, err := mime.ParseMediaType(h); err != nil || params["filename"] != name {
		t.Errorf("mime.ParseMediaType(%q) = %v, %v; want filename %q", h, params, err, name)
	}
	return name
}

// TestDownloadNames: every download names its file the RFC 6266 way and no
// license number goes into the header raw, even one built to break it.
func TestDownloadNames(t *testing.T) {
	e := newWebEnv(t)
	ctx := context.Background()
	dept := e.depts[0]
	typ, _ := e.reg.Catalog().Type(dept.Types[1]) // the demo enterprise holds its one 营业执照 already
	rec := typ.Example(dept.USCC, dept.Name)
	nasty := `7"; filename="evil.html` // quotes and a semicolon: allowed in a license number
	lic, err := e.reg.Issue(ctx, registry.Actor{Role: registry.RoleIssuer, Department: dept.USCC, Name: "test"},
		registry.IssueRequest{TypeCode: typ.Code, Holder: registry.DemoEnterpriseName, HolderCode: registry.DemoEnterpriseCode,
			Jurisdiction: rec.Jurisdiction, Number: nasty, Fields: rec.Fields})
	if err != nil {
		t.Fatal(err)
	}
	off, ent, admin := e.login("officer1"), e.login("enterprise"), e.login("admin")
	off.token, _ = e.reg.CreateToken(ctx, registry.Actor{Role: registry.RoleIssuer, Department: dept.USCC, Name: "o1"})
	base := lic.Record.Name + "-" + nasty
	tests := []struct {
		name string
		get  func() webAnswer
		kind string
		want string
	}{
		{"console PDF", func() webAnswer { return off.get("/console/licenses/" + lic.Identifier + "/pdf") }, "attachment", fileSafe(base) + ".pdf"},
		{"console QR", func() webAnswer { return off.get("/console/licenses/" + lic.Identifier + "/qr.png") }, "inline", fileSafe(base) + ".png"},
		{"wallet PDF", func() webAnswer { return ent.get("/wallet/licenses/" + lic.Identifier + "/pdf") }, "attachment", fileSafe(base) + ".pdf"},
		{"wallet QR", func() webAnswer { return ent.get("/wallet/licenses/" + lic.Identifier + "/qr.png") }, "inline", fileSafe(base) + ".png"},
		{"wallet credential", func() webAnswer { return ent.get("/wallet/licenses/" + lic.Identifier + "/credential.json") }, "attachment", fileSafe(base) + ".json"},
		{"wallet zip", func() webAnswer { return ent.get("/wallet/download") }, "attachment", ""},
		{"API PDF", func() webAnswer { return off.get("/api/v1/licenses/" + lic.Identifier + "/pdf") }, "attachment", lic.Identifier + ".pdf"},
		{"API QR", func() webAnswer { return off.get("/api/v1/licenses/" + lic.Identifier + "/qr.png") }, "inline", lic.Identifier + ".png"},
		{"import template CSV", func() webAnswer { return off.get("/console/import/template/" + typ.Code) }, "attachment", "import-" + typ.Code + ".csv"},
		{"report CSV", func() webAnswer { return admin.get("/admin/reports.csv") }, "attachment", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.get()
			if a.status != 200 {
				t.Fatalf("status %d", a.status)
			}
			h := a.header.Get("Content-Disposition")
			if len(a.header.Values("Content-Disposition")) != 1 {
				t.Fatalf("%d Content-Disposition headers", len(a.header.Values("Content-Disposition")))
			}
			name := checkDisposition(t, h, tt.kind)
			if tt.want != "" && name != tt.want {
				t.Errorf("file name %q, want %q", name, tt.want)
			}
			if strings.Contains(h, nasty) || strings.Contains(h, "evil.html\"") || strings.ContainsAny(h, "\r\n") {
				t.Errorf("the license number went into the header raw: %q", h)
			}
		})
	}
}

// TestOtherDepartmentsLicenseIsNotFound: an officer asking for another
// department's license gets exactly what an unknown identifier gets.
func TestOtherDepartmentsLicenseIsNotFound(t *testing.T) {
	e := newWebEnv(t)
	ctx := context.Background()
	other := e.login("officer2")
	other.token, _ = e.reg.CreateToken(ctx, registry.Actor{Role: registry.RoleIssuer, Department: e.depts[1].USCC, Name: "o2"})
	theirs := e.licA.Identifier // department 0's
	id, _ := license.ParseIdentifier(theirs)
	unknownID, err := license.NewIdentifier(id.TypeCode, id.IssuerUSCC, id.Serial[:4]+"9999999", "001")
	if err != nil {
		t.Fatal(err)
	}
	unknown := unknownID.String()
	reason, _ := json.Marshal(map[string]string{"status": "suspended", "reason": "under_investigation"})
	for _, p := range []struct{ method, path, ct string }{
		{"GET", "/api/v1/licenses/%s", ""},
		{"GET", "/api/v1/licenses/%s/pdf", ""},
		{"GET", "/api/v1/licenses/%s/qr.png", ""},
		{"POST", "/api/v1/licenses/%s/status", "application/json"},
		{"GET", "/console/licenses/%s", ""},
		{"GET", "/console/licenses/%s/pdf", ""},
		{"GET", "/console/licenses/%s/qr.png", ""},
	} {
		t.Run(p.method+" "+p.path, func(t *testing.T) {
			send := func(lid string) webAnswer {
				var body []byte
				if p.method == "POST" {
					body = reason
				}
				return other.do(p.method, fmt.Sprintf(p.path, lid), p.ct, body)
			}
			hidden, missing := send(theirs), send(unknown)
			if hidden.status != http.StatusNotFound || missing.status != http.StatusNotFound {
				t.Fatalf("another department's: %d, unknown: %d; want 404 for both\n%s", hidden.status, missing.status, hidden.body)
			}
			if strings.ReplaceAll(hidden.body, theirs, "ID") != strings.ReplaceAll(missing.body, unknown, "ID") {
				t.Errorf("the answers differ:\n%s\n%s", hidden.body, missing.body)
			}
			if hidden.header.Get("Content-Type") != missing.header.Get("Content-Type") {
				t.Errorf("content types differ: %q, %q", hidden.header.Get("Content-Type"), missing.header.Get("Content-Type"))
			}
		})
	}
	if l, _ := e.reg.Get(ctx, theirs); l.Status != license.StatusActive {
		t.Errorf("the other department's license is %s now", l.Status)
	}
}

// syncBuffer is a log sink the server's goroutines may write to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestClientAbortIsNotAServerError: a client that hangs up halfway through
// its upload is logged as gone, not as a 500.
func TestClientAbortIsNotAServerError(t *testing.T) {
	var logs syncBuffer
	e := newWebEnvLogging(t, slog.New(slog.NewTextHandler(&logs, nil)))
	tok, _ := e.reg.CreateToken(context.Background(), registry.Actor{Role: registry.RoleVerifier, Name: "c1"})
	issuer, _ := e.reg.CreateToken(context.Background(), registry.Actor{Role: registry.RoleIssuer, Department: e.depts[0].USCC, Name: "o1"})
	clerk := e.login("clerk1")
	var cookies []string
	for _, c := range clerk.c.Jar.Cookies(mustURL(t, e.srv.URL)) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	csrf := clerk.csrf()
	ct, form := multipartBody(t, map[string]string{"csrf": csrf, "service_item": "310100-SC-0001", "purpose": "核验"}, "file", "x.pdf", bytes.Repeat([]byte("%PDF"), 50_000))
	host := strings.TrimPrefix(e.srv.URL, "http://")
	for _, tt := range []struct {
		name, head string
		body       []byte
		route      string
	}{
		{"API upload", "POST /api/v1/verify HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer " + tok +
			"\r\nContent-Type: application/pdf\r\nContent-Length: 200000\r\n\r\n", bytes.Repeat([]byte("%PDF"), 5000), "/api/v1/verify"},
		{"API JSON", "POST /api/v1/licenses/" + e.licA.Identifier + "/status HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer " + issuer +
			"\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n", []byte(`{"status":"suspended","reason":"`), "/api/v1/licenses/:id/status"},
		{"page upload", "POST /window/verify HTTP/1.1\r\nHost: " + host + "\r\nCookie: " + strings.Join(cookies, "; ") +
			"\r\nContent-Type: " + ct + "\r\nContent-Length: " + fmt.Sprint(len(form)) + "\r\n\r\n", form[:len(form)/2], "/window/verify"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			conn.Write([]byte(tt.head))
			conn.Write(tt.body)
			time.Sleep(50 * time.Millisecond)
			conn.Close()
			want := fmt.Sprintf(`msg=http method=POST route=%s status=499`, tt.route)
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(logs.String(), want) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			out := logs.String()
			if !strings.Contains(out, want) {
				t.Fatalf("no %q in the log:\n%s", want, out)
			}
			if !strings.Contains(out, `msg="client went away"`) {
				t.Errorf("the log does not say the client went away:\n%s", out)
			}
			for _, bad := range []string{"level=ERROR", "status=500", "csrf check failed"} {
				if strings.Contains(out, bad) {
					t.Errorf("the log has %q:\n%s", bad, out)
				}
			}
		})
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestUnknownAPIPathsAnswerJSON: any method on a path under /api/ that has
// no route gets the JSON 404, never the pages' HTML or CSRF check.
func TestUnknownAPIPathsAnswerJSON(t *testing.T) {
	e := newWebEnv(t)
	signedIn := e.login("officer1")
	for _, w := range []*webClient{e.client(), signedIn} {
		for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"} {
			for _, path := range []string{"/api/nothing", "/api/v1/nothing", "/api/v2/licenses", "/api/v1/licenses/x/nothing", "/api/"} {
				a := w.do(method, path, "application/json", []byte(`{}`))
				if a.status != http.StatusNotFound {
					t.Errorf("%s %s: %d, want 404\n%s", method, path, a.status, snippet(a.body))
					continue
				}
				if method == "HEAD" {
					continue
				}
				var body struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				}
				if !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") || json.Unmarshal([]byte(a.body), &body) != nil || body.Code != "not_found" || body.Message == "" {
					t.Errorf("%s %s: %q %s, want the JSON error body", method, path, a.header.Get("Content-Type"), snippet(a.body))
				}
			}
		}
	}
	// Pages keep their HTML 404.
	if a := signedIn.get("/no-such-page"); a.status != 404 || !strings.Contains(a.body, "没有这个页面") {
		t.Errorf("unknown page: %d", a.status)
	}
}

// TestCSRFTokenOnlyFromBodyOrHeader: the token in the query string does not
// count; in the form body or the X-CSRF-Token header it does.
func TestCSRFTokenOnlyFromBodyOrHeader(t *testing.T) {
	e := newWebEnv(t)
	off := e.login("officer1")
	tok := off.csrf()
	form := []byte(e.issueForm("查询串公司").Encode())
	before := e.treeSize()
	a := off.do("POST", "/console/issue/"+e.licA.TypeCode+"?csrf="+url.QueryEscape(tok), "application/x-www-form-urlencoded", form)
	if a.status != http.StatusForbidden || !strings.Contains(a.body, "CSRF") {
		t.Fatalf("token in the query: %d, want 403", a.status)
	}
	ct, mp := multipartBody(t, map[string]string{"holder": "x"}, "", "", nil)
	if a := off.do("POST", "/console/import?csrf="+url.QueryEscape(tok), ct, mp); a.status != http.StatusForbidden {
		t.Errorf("multipart with the token in the query: %d, want 403", a.status)
	}
	if e.treeSize() != before {
		t.Fatal("a request without a valid token issued a license")
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/console/issue/"+e.licA.TypeCode, bytes.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", tok)
	resp, err := off.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("token in the header: %d, want 303", resp.StatusCode)
	}
	if a := off.form("/console/issue/"+e.licA.TypeCode, e.issueForm("表单公司")); a.status != http.StatusSeeOther {
		t.Errorf("token in the form: %d, want 303", a.status)
	}
}

// TestMetricsAccess: /metrics is not public by default; with a token it
// answers only to the token; MetricsHandler serves a separate address.
func TestMetricsAccess(t *testing.T) {
	e := newWebEnv(t)
	if a := e.client().get("/metrics"); a.status != http.StatusNotFound || strings.Contains(a.body, "zhengzhao_") {
		t.Errorf("default /metrics: %d, want 404 and no metrics", a.status)
	}
	if a := e.login("admin").get("/metrics"); a.status != http.StatusNotFound {
		t.Errorf("default /metrics for the admin's session: %d, want 404", a.status)
	}
	rec := httptest.NewRecorder()
	e.s.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "zhengzhao_http_request_duration_seconds") {
		t.Errorf("MetricsHandler: %d", rec.Code)
	}

	s, err := New(Config{Registry: e.reg, Ledger: e.ledger, MetricsToken: "s3cret-metrics-token"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, tt := range []struct {
		auth string
		want int
	}{
		{"", 401},
		{"Bearer wrong", 401},
		{"Bearer s3cret-metrics-tok", 401},
		{"Basic czNjcmV0LW1ldHJpY3MtdG9rZW4=", 401},
		{"Bearer s3cret-metrics-token", 200},
	} {
		req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("Authorization %q: %d, want %d", tt.auth, resp.StatusCode, tt.want)
		}
		if (tt.want == 200) != strings.Contains(buf.String(), "zhengzhao_http_request_duration_seconds") {
			t.Errorf("Authorization %q: metrics shown = %v", tt.auth, tt.want == 200)
		}
	}
	q, _ := http.Get(srv.URL + "/metrics?token=s3cret-metrics-token")
	if q != nil {
		q.Body.Close()
		if q.StatusCode != 401 {
			t.Errorf("token in the query: %d, want 401", q.StatusCode)
		}
	}
}

// apiIssuer is a client with department 0's issuer token.
func (e *webEnv) apiIssuer() *webClient {
	e.t.Helper()
	w := e.client()
	var err error
	if w.token, err = e.reg.CreateToken(context.Background(), registry.Actor{Role: registry.RoleIssuer, Department: e.depts[0].USCC, Name: "o1"}); err != nil {
		e.t.Fatal(err)
	}
	return w
}

// issueJSON is a valid issue request body for department 0's first type,
// with raw JSON members spliced in before the last brace.
func (e *webEnv) issueJSON(extra string) []byte {
	typ, _ := e.reg.Catalog().Type(e.depts[0].Types[0])
	rec := typ.Example(e.depts[0].USCC, e.depts[0].Name)
	if e.jsonHolder == "" {
		e.jsonHolder = freshUSCC(e.t) // one company per test: a body sent twice stays the same
	}
	b, _ := json.Marshal(registry.IssueRequest{TypeCode: typ.Code, Holder: "长沙示例有限公司", HolderCode: e.jsonHolder, Jurisdiction: rec.Jurisdiction, Fields: rec.Fields})
	if extra != "" {
		b = append(b[:len(b)-1], []byte(","+extra+"}")...)
	}
	return b
}

type apiErr struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
	Errors  []struct {
		Field, Rule string
	} `json:"errors"`
}

// TestAPIRejectsBadText: names and free text with control, bidi-override or
// zero-width characters, invalid UTF-8 or lone surrogates, and repeated
// JSON members are 400s naming the field, and nothing is issued or changed.
func TestAPIRejectsBadText(t *testing.T) {
	e := newWebEnv(t)
	w := e.apiIssuer()
	ex := string(e.issueJSON(""))
	holderRE := regexp.MustCompile(`"holder":"[^"]*"`)
	withHolder := func(raw string) []byte { return []byte(holderRE.ReplaceAllString(ex, `"holder":`+raw)) }
	addrRE := regexp.MustCompile(`"address":"[^"]*"`)
	withAddress := func(raw string) []byte { return []byte(addrRE.ReplaceAllString(ex, `"address":`+raw)) }
	tests := []struct {
		name        string
		path        string
		body        []byte
		code, field string
		rule        string // the errors[] rule, when the record validation answers
	}{
		{"duplicate holder", "/api/v1/licenses", e.issueJSON(`"holder":"另一家公司"`), "duplicate_key", "holder", ""},
		{"duplicate type-specific field", "/api/v1/licenses", []byte(strings.Replace(ex, `"fields":{`, `"fields":{"address":"甲","address":"乙",`, 1)), "duplicate_key", "fields.address", ""},
		{"duplicate in status change", "/api/v1/licenses/" + e.licA.Identifier + "/status", []byte(`{"status":"suspended","reason":"核查","status":"revoked"}`), "duplicate_key", "status", ""},
		{"invalid UTF-8 in holder", "/api/v1/licenses", withHolder("\"长沙\xff公司\""), "invalid_text", "holder", ""},
		{"lone high surrogate", "/api/v1/licenses", withHolder(`"长沙\ud800公司"`), "invalid_text", "holder", ""},
		{"lone low surrogate", "/api/v1/licenses", withHolder(`"\udc00长沙公司"`), "invalid_text", "holder", ""},
		{"right-to-left override", "/api/v1/licenses", withHolder(`"长沙\u202e司公限有"`), "invalid", "holder", "bidi"},
		{"isolate", "/api/v1/licenses", withHolder(`"长沙\u2067公司"`), "invalid", "holder", "bidi"},
		{"zero-width space", "/api/v1/licenses", withHolder(`"长沙\u200b公司"`), "invalid", "holder", "invisible"},
		{"byte order mark", "/api/v1/licenses", withHolder(`"\ufeff长沙公司"`), "invalid", "holder", "invisible"},
		{"newline in a name", "/api/v1/licenses", withHolder(`"长沙\n公司"`), "invalid", "holder", "control"},
		{"NUL in a field value", "/api/v1/licenses", withAddress(`"长沙\u0000岳麓"`), "invalid", "fields.address", "control"},
		{"zero-width joiner in a field value", "/api/v1/licenses", withAddress(`"长沙\u200d岳麓"`), "invalid", "fields.address", "invisible"},
		{"NUL in a status reason", "/api/v1/licenses/" + e.licA.Identifier + "/status", []byte(`{"status":"suspended","reason":"under_investigation\u0000"}`), "invalid", "reason", "control"},
		{"NUL in a status note", "/api/v1/licenses/" + e.licA.Identifier + "/status", []byte(`{"status":"suspended","reason":"under_investigation","note":"核查\u0000"}`), "invalid", "note", "control"},
		{"override in a status note", "/api/v1/licenses/" + e.licA.Identifier + "/status", []byte(`{"status":"suspended","reason":"under_investigation","note":"\u202e查核"}`), "invalid", "note", "bidi"},
		{"zero-width space in a status note", "/api/v1/licenses/" + e.licA.Identifier + "/status", []byte(`{"status":"suspended","reason":"under_investigation","note":"案卷\u200b12"}`), "invalid", "note", "invisible"},
		{"issue date 1900", "/api/v1/licenses", e.issueJSON(`"issueDate":"1900-01-01"`), "invalid", "issueDate", "range"},
		{"issue date 9999", "/api/v1/licenses", e.issueJSON(`"issueDate":"9999-01-01"`), "invalid", "issueDate", "range"},
		{"validUntil 9999 on an open-ended type", "/api/v1/licenses", e.issueJSON(`"validUntil":"9999-12-31"`), "invalid", "validUntil", "range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.treeSize()
			a := w.do("POST", tt.path, "application/json", tt.body)
			if a.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400\n%s", a.status, a.body)
			}
			var got apiErr
			if err := json.Unmarshal([]byte(a.body), &got); err != nil {
				t.Fatalf("body %s: %v", a.body, err)
			}
			if got.Code != tt.code || got.Field != tt.field || got.Message == "" {
				t.Errorf("got code %q field %q, want %q %q\n%s", got.Code, got.Field, tt.code, tt.field, a.body)
			}
			if tt.rule != "" && !slices.ContainsFunc(got.Errors, func(fe struct{ Field, Rule string }) bool { return fe.Field == tt.field && fe.Rule == tt.rule }) {
				t.Errorf("errors %v lack %s/%s", got.Errors, tt.field, tt.rule)
			}
			if e.treeSize() != before {
				t.Error("the ledger changed")
			}
		})
	}
	if l, _ := e.reg.Get(context.Background(), e.licA.Identifier); l.Status != license.StatusActive {
		t.Errorf("license A is %s after refused status changes", l.Status)
	}
	// The same request without the bad text goes through.
	if a := w.do("POST", "/api/v1/licenses", "application/json", e.issueJSON("")); a.status != http.StatusCreated {
		t.Errorf("clean request: %d %s", a.status, a.body)
	}
}

// TestWebRejectsBadText: the pages say what is wrong in Chinese, next to
// the field.
func TestWebRejectsBadText(t *testing.T) {
	e := newWebEnv(t)
	off := e.login("officer1")
	before := e.treeSize()
	for _, tt := range []struct {
		name, field, value, want string
	}{
		{"override in the holder", "holder", "长沙\u202e司公限有", "改变文字方向的控制符"},
		{"zero-width space in the holder", "holder", "长沙\u200b公司", "零宽字符"},
		{"BOM in a field", "fields.address", "\ufeff长沙岳麓", "零宽字符"},
		{"invalid UTF-8 in a field", "fields.address", "长沙\xff岳麓", "不是有效的 UTF-8"},
		{"tab in the holder", "holder", "长沙\t公司", "控制字符"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := off.form("/console/issue/"+e.licA.TypeCode, with(e.issueForm("长沙示例有限公司"), tt.field, tt.value))
			if a.status != http.StatusBadRequest || !strings.Contains(a.body, tt.want) {
				t.Errorf("status %d, want 400 with %q\n%s", a.status, tt.want, snippet(a.body))
			}
		})
	}
	a := off.form("/console/licenses/"+e.licA.Identifier+"/status", url.Values{"status": {"suspended"}, "reason": {"under_investigation"}, "note": {"核查\x00"}})
	if a.status != http.StatusBadRequest || !strings.Contains(a.body, "备注含有控制字符") {
		t.Errorf("NUL in the note: %d\n%s", a.status, snippet(a.body))
	}
	a = off.form("/console/licenses/"+e.licA.Identifier+"/status", url.Values{"status": {"suspended"}, "reason": {"under_investigation"}, "note": {"\u202e查核"}})
	if a.status != http.StatusBadRequest || !strings.Contains(a.body, "备注含有改变文字方向") {
		t.Errorf("override in the note: %d\n%s", a.status, snippet(a.body))
	}
	if l, _ := e.reg.Get(context.Background(), e.licA.Identifier); l.Status != license.StatusActive || e.treeSize() != before {
		t.Errorf("refused forms changed something: status %s", l.Status)
	}
	// A multi-line textarea arrives with CRLF line breaks and is accepted.
	typ, _ := e.reg.Catalog().Type(e.licA.TypeCode)
	multiline := false
	for _, f := range typ.Fields {
		if f.Type == license.FieldString && f.MaxLen > 300 { // shown as a textarea
			multiline = true
			if a := off.form("/console/issue/"+e.licA.TypeCode, with(e.issueForm("多行公司"), "fields."+f.Key, "第一行\r\n第二行")); a.status != http.StatusSeeOther {
				t.Errorf("CRLF in %s: %d\n%s", f.Key, a.status, snippet(a.body))
			}
			break
		}
	}
	if !multiline {
		t.Fatalf("type %s has no textarea field", typ.Code)
	}
}

// TestIdempotencyKeyReusedWithAnotherBody: the same key and body answer the
// first license; another body under the key is a 422 naming what differs.
func TestIdempotencyKeyReusedWithAnotherBody(t *testing.T) {
	e := newWebEnv(t)
	w := e.apiIssuer()
	send := func(body []byte) webAnswer {
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/licenses", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+w.token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "order-4711")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		return webAnswer{resp.StatusCode, buf.String(), resp.Header}
	}
	idOf := func(a webAnswer) string {
		var d struct{ ID string }
		json.Unmarshal([]byte(a.body), &d)
		return d.ID
	}
	first := send(e.issueJSON(""))
	if first.status != http.StatusCreated {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	again := send(e.issueJSON(""))
	if again.status != http.StatusCreated || idOf(again) != idOf(first) {
		t.Fatalf("same body again: %d %s, want the first license %s", again.status, idOf(again), idOf(first))
	}
	before := e.treeSize()
	other := send([]byte(strings.Replace(string(e.issueJSON("")), "长沙示例有限公司", "另一家有限公司", 1)))
	if other.status != http.StatusUnprocessableEntity {
		t.Fatalf("another body: %d %s, want 422", other.status, other.body)
	}
	var got apiErr
	json.Unmarshal([]byte(other.body), &got)
	if got.Code != "idempotency_key_reused" || got.Field != "holder" || !strings.Contains(got.Message, "Idempotency-Key") {
		t.Errorf("422 body %s", other.body)
	}
	if e.treeSize() != before {
		t.Error("the refused request changed the ledger")
	}
}
