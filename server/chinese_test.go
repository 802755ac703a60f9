package server

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"zhengzhao/internal/zhtext"
	"zhengzhao/registry"
)

var (
	scriptRE = regexp.MustCompile(`(?is)<(script|style)\b.*?</(script|style)>`)
	tagRE    = regexp.MustCompile(`(?s)<[^>]*>`)
)

// visibleText is what a person reads on an HTML page: the text between the
// tags, with scripts and styles dropped, one line a text node.
func visibleText(page string) []string {
	page = scriptRE.ReplaceAllString(page, "\n")
	var out []string
	for _, s := range strings.Split(tagRE.ReplaceAllString(page, "\n"), "\n") {
		if s = strings.TrimSpace(html.UnescapeString(s)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// assertChinesePage fails when a page has English prose where a Chinese
// reader reads, naming the line.
func assertChinesePage(t *testing.T, name string, a webAnswer) {
	t.Helper()
	if !strings.Contains(a.header.Get("Content-Type"), "text/html") {
		t.Errorf("%s: %d %s, want an HTML page\n%s", name, a.status, a.header.Get("Content-Type"), snippet(a.body))
		return
	}
	han := false
	for _, line := range visibleText(a.body) {
		if e := zhtext.English(line); len(e) > 0 {
			t.Errorf("%s (%d): English %q on the page in %q", name, a.status, e, line)
		}
		han = han || zhtext.HasHan(line)
	}
	if !han {
		t.Errorf("%s: no Chinese on the page", name)
	}
}

// page fetches path as a browser does, asking for HTML.
func (w *webClient) page(method, path, contentType string, body io.Reader, size int64) webAnswer {
	w.t.Helper()
	req, err := http.NewRequest(method, w.base+path, body)
	if err != nil {
		w.t.Fatal(err)
	}
	req.ContentLength = size
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := w.c.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return webAnswer{resp.StatusCode, string(b), resp.Header}
}

// Every page a person reads after bad input, a refusal or a verification
// is Chinese: form errors, 403, 404 and 413 pages, the window's verdicts
// and check reasons. The JSON API keeps its English codes but says in
// Chinese what is wrong.
func TestPagesSpeakChinese(t *testing.T) {
	e := newWebEnv(t)
	off, clerk, holder := e.login("officer1"), e.login("clerk1"), e.login("enterprise")
	typeA := e.depts[0].Types[0]
	pdf := holder.get("/wallet/licenses/" + e.licA.Identifier + "/pdf")
	if pdf.status != http.StatusOK {
		t.Fatalf("PDF: %d", pdf.status)
	}
	doc := holder.get("/wallet/licenses/" + e.licA.Identifier + "/credential.json")
	tampered := strings.Replace(doc.body, registry.DemoEnterpriseName, "张三有限公司", 1)
	verify := func(name string, file []byte) webAnswer {
		return clerk.upload("/window/verify", map[string]string{"service_item": "310100-SC-0001", "purpose": "核验"}, "file", name, file)
	}
	huge := bytes.Repeat([]byte("x"), MaxUpload+128<<10)

	pages := []struct {
		name       string
		send       func() webAnswer
		wantStatus int
		want       string
	}{
		{"404 page", func() webAnswer { return off.page("GET", "/no/such/page", "", nil, 0) }, 404, "未找到"},
		{"403 page", func() webAnswer { return off.page("GET", "/admin", "", nil, 0) }, 403, "无权"},
		{"413 page over the body limit", func() webAnswer {
			return off.page("POST", "/console/import", "application/octet-stream", bytes.NewReader(huge), int64(len(huge)))
		}, 413, "MiB"},
		{"413 page over the upload limit", func() webAnswer {
			return clerk.upload("/window/verify", map[string]string{"service_item": "310100-SC-0001", "purpose": "核验"}, "file", "big.pdf", huge[:MaxUpload+1])
		}, 413, "10 MiB"},
		{"bad USCC check character", func() webAnswer {
			return off.form("/console/issue/"+typeA, with(e.issueForm("甲"), "holderCode", "91430104MA4L3B5K27"))
		}, 400, "校验位"},
		{"required field left empty", func() webAnswer {
			return off.form("/console/issue/"+typeA, with(e.issueForm("甲"), "fields.legalRepresentative", ""))
		}, 400, "请填写法定代表人"},
		{"bad citizen ID", func() webAnswer {
			return off.form("/console/issue/"+typeA, with(e.issueForm("甲"), "holderCode", "12345"))
		}, 400, "统一社会信用代码须为 18 位"},
		{"bad date", func() webAnswer {
			return off.form("/console/issue/"+typeA, with(e.issueForm("甲"), "fields.establishedDate", "2019-02-30"))
		}, 400, "真实日期"},
		{"redeem without purpose", func() webAnswer {
			return clerk.form("/window/redeem", url.Values{"service_item": {"310100-SC-0001"}, "code": {"2222-2222"}})
		}, 400, "用证事由"},
		{"use code lifetime out of range", func() webAnswer {
			return holder.form("/wallet/licenses/"+e.licA.Identifier+"/grant", url.Values{"service_item": {"310100-SC-0001"}, "purpose": {"办理"}, "minutes": {"90"}})
		}, 400, "分钟"},
		{"password too short", func() webAnswer {
			return holder.form("/account/password", url.Values{"old_password": {e.logins["enterprise"].Password}, "password": {"short"}, "password_again": {"short"}})
		}, 400, "密码至少"},
		{"window: valid PDF", func() webAnswer { return verify("l.pdf", []byte(pdf.body)) }, 200, "有效"},
		{"window: tampered credential", func() webAnswer { return verify("c.json", []byte(tampered)) }, 200, "无效"},
		{"window: truncated JSON", func() webAnswer { return verify("c.json", []byte(doc.body[:len(doc.body)/2])) }, 200, "无效"},
		{"window: not a license PDF", func() webAnswer { return verify("x.pdf", []byte("%PDF-1.4\n%%EOF\n")) }, 200, "不是本平台的电子证照 PDF"},
		{"window: picture without a QR code", func() webAnswer { return verify("p.png", blankPNG(t)) }, 200, "未找到二维码"},
	}
	for _, tt := range pages {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.send()
			if a.status != tt.wantStatus || !strings.Contains(a.body, tt.want) {
				t.Fatalf("%d, want %d saying %q\n%s", a.status, tt.wantStatus, tt.want, snippet(a.body))
			}
			assertChinesePage(t, tt.name, a)
		})
	}

	api := e.client()
	officerAPI := e.client()
	tok, err := e.reg.CreateToken(context.Background(), registry.Actor{Role: registry.RoleIssuer, Department: e.depts[0].USCC, Name: "o1"})
	if err != nil {
		t.Fatal(err)
	}
	officerAPI.token = tok
	clerkAPI := e.client()
	if clerkAPI.token, err = e.reg.CreateToken(context.Background(), registry.Actor{Role: registry.RoleVerifier, Name: "c1"}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		send   func() webAnswer
		status int
		code   string
	}{
		{"no such endpoint", func() webAnswer { return api.get("/api/v1/nothing") }, 404, "not_found"},
		{"no token", func() webAnswer { return api.do("POST", "/api/v1/licenses", "application/json", []byte(`{}`)) }, 401, "unauthenticated"},
		{"malformed JSON", func() webAnswer {
			return officerAPI.do("POST", "/api/v1/licenses", "application/json", []byte(`{"type":`))
		}, 400, "malformed_json"},
		{"a field of the wrong kind", func() webAnswer {
			return officerAPI.do("POST", "/api/v1/licenses", "application/json", []byte(`{"type":1}`))
		}, 400, "malformed_json"},
		{"a bad holder code", func() webAnswer {
			return officerAPI.do("POST", "/api/v1/licenses", "application/json", []byte(`{"type":"`+typeA+`","holder":"甲","holderCode":"91430104MA4L3B5K27","jurisdiction":"430100","fields":{}}`))
		}, 400, "invalid"},
		{"another department's license", func() webAnswer {
			return officerAPI.do("POST", "/api/v1/licenses/"+e.licB.Identifier+"/versions", "application/json", []byte(`{"kind":"change","fields":{"x":"y"}}`))
		}, 0, ""},
		{"body over the limit", func() webAnswer { return api.do("POST", "/api/v1/verify", "application/octet-stream", huge) }, 413, "too_large"},
		{"verify a PDF that is not a license", func() webAnswer {
			return clerkAPI.do("POST", "/api/v1/verify", "application/pdf", []byte("%PDF-1.4\n%%EOF\n"))
		}, 422, "not_license_pdf"},
		{"verify a picture without a QR code", func() webAnswer { return clerkAPI.do("POST", "/api/v1/verify", "image/png", blankPNG(t)) }, 422, "no_qr_code"},
	} {
		a := tt.send()
		var body struct{ Code, Message string }
		if err := json.Unmarshal([]byte(a.body), &body); err != nil || (tt.status != 0 && a.status != tt.status) || a.status < 400 || (tt.code != "" && body.Code != tt.code) {
			t.Errorf("%s: %d %s, want %d with code %q", tt.name, a.status, a.body, tt.status, tt.code)
			continue
		}
		if err := zhtext.Check(body.Message); err != nil {
			t.Errorf("%s: API message for a person: %v (code %s)", tt.name, err, body.Code)
		}
	}
}
