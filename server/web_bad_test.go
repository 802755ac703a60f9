package server

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"zhengzhao/license"
	"zhengzhao/registry"
	"zhengzhao/verifier"
)

// TestWebBadInput: every bad input gets a clear answer and changes nothing.
func TestWebBadInput(t *testing.T) {
	e := newWebEnv(t)
	off := e.login("officer1")
	typeA := e.licA.TypeCode
	other := e.login("officer2")
	big := bytes.Repeat([]byte("x"), MaxUpload+1)
	tests := []struct {
		name   string
		send   func() webAnswer
		status int
		want   []string // in the body
	}{
		{"missing CSRF", func() webAnswer {
			return off.do("POST", "/console/issue/"+typeA, "application/x-www-form-urlencoded", []byte(e.issueForm("甲").Encode()))
		}, 403, []string{"CSRF"}},
		{"CSRF of another session", func() webAnswer {
			return off.form("/console/issue/"+typeA, with(e.issueForm("甲"), "csrf", other.csrf()))
		}, 403, []string{"CSRF"}},
		{"upload over 10 MiB", func() webAnswer {
			return e.login("clerk1").upload("/window/verify", map[string]string{"service_item": "310100-SC-0001", "purpose": "核验"}, "file", "big.pdf", big)
		}, 413, []string{"10 MiB"}},
		{"CSV with a wrong header", func() webAnswer {
			return off.upload("/console/import", map[string]string{"type": typeA}, "file", "x.csv", []byte("name,code\n甲,1\n"))
		}, 400, []string{"表头", "表头第 1 列「name」不是「营业执照」的字段", "持证主体,持证主体代码,管辖属地编码,证照编号,颁发日期,有效期起,有效期止,"}},
		{"field error shown next to the field", func() webAnswer {
			return off.form("/console/issue/"+typeA, with(e.issueForm("甲"), "holderCode", "91430104MA4L3B5K27"))
		}, 400, []string{`class="has-err"`, "持证主体代码", `<span class="ferr" role="alert">统一社会信用代码的校验位是 7，按 GB 32100 计算应为`}},
		{"HTML in a re-shown field is escaped", func() webAnswer {
			return off.form("/console/issue/"+typeA, with(e.issueForm("甲"), "jurisdiction", `"><script>alert(1)</script>`))
		}, 400, []string{"&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"}},
		{"window action without purpose", func() webAnswer {
			return e.login("clerk1").form("/window/redeem", url.Values{"service_item": {"310100-SC-0001"}, "code": {"2222-2222"}})
		}, 400, []string{"用证事由"}},
		{"a picture without a QR code", func() webAnswer {
			return e.login("clerk1").upload("/window/verify", map[string]string{"service_item": "310100-SC-0001", "purpose": "核验"}, "file", "photo.png", blankPNG(t))
		}, 200, []string{"无法核验", "未找到二维码"}},
		{"a PDF that is not a license", func() webAnswer {
			return e.login("clerk1").upload("/window/verify", map[string]string{"service_item": "310100-SC-0001", "purpose": "核验"}, "file", "x.pdf", []byte("%PDF-1.4\n%%EOF\n"))
		}, 200, []string{"无法核验", "不是本平台的电子证照 PDF"}},
		{"unknown use code", func() webAnswer {
			return e.login("clerk1").form("/window/redeem", url.Values{"service_item": {"310100-SC-0001"}, "purpose": {"核验"}, "code": {"2222-2222"}})
		}, 404, []string{"用证码不存在"}},
		{"use code lifetime out of range", func() webAnswer {
			return e.login("enterprise").form("/wallet/licenses/"+e.licA.Identifier+"/grant", url.Values{"service_item": {"310100-SC-0001"}, "purpose": {"办理"}, "minutes": {"90"}})
		}, 400, []string{"用证码有效时长须为 5 至 60 分钟"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.treeSize()
			got := tt.send()
			if got.status != tt.status {
				t.Fatalf("status %d, want %d\n%s", got.status, tt.status, snippet(got.body))
			}
			for _, w := range tt.want {
				if !strings.Contains(got.body, w) {
					t.Errorf("body lacks %q\n%s", w, got.body)
				}
			}
			if strings.Contains(got.body, "<script>alert") {
				t.Error("unescaped HTML in the page")
			}
			if e.treeSize() != before {
				t.Error("the ledger changed on bad input")
			}
		})
	}
}

func with(v url.Values, k, val string) url.Values {
	v = cloneValues(v)
	v.Set(k, val)
	return v
}

// TestHTMLEscapedEverywhere issues a license whose holder is HTML and looks
// at every page that shows it.
func TestHTMLEscapedEverywhere(t *testing.T) {
	e := newWebEnv(t)
	evil := `<script>alert("x")</script><img src=x onerror=alert(2)>`
	lic := e.issueExample(0, 1, evil, registry.DemoEnterpriseCode)
	off, ent, clerk := e.login("officer1"), e.login("enterprise"), e.login("clerk1")
	doc, _ := json.Marshal(documentOf(lic).Document)
	pages := map[string]webAnswer{
		"console list":    off.get("/console"),
		"console license": off.get("/console/licenses/" + lic.Identifier),
		"wallet":          ent.get("/wallet"),
		"wallet license":  ent.get("/wallet/licenses/" + lic.Identifier),
		"window verify":   clerk.form("/window/verify", url.Values{"service_item": {"310100-SC-0001"}, "purpose": {"<b>核验</b>"}, "payload": {string(doc)}}),
		"window duty":     clerk.form("/window/duty", url.Values{"service_item": {"310100-SC-0001"}, "purpose": {"依职能"}, "holder_code": {registry.DemoEnterpriseCode}}),
	}
	for name, p := range pages {
		if p.status != 200 {
			t.Errorf("%s: %d", name, p.status)
			continue
		}
		if strings.Contains(p.body, "<script>alert") || strings.Contains(p.body, "<img src=x") || strings.Contains(p.body, "<b>核验") {
			t.Errorf("%s shows raw HTML", name)
		}
		if !strings.Contains(p.body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
			t.Errorf("%s does not show the escaped holder name", name)
		}
	}
	if got := ent.get("/wallet").body; !strings.Contains(got, "&lt;b&gt;核验&lt;/b&gt;") {
		t.Error("the usage record does not show the escaped purpose")
	}
}

// TestImportRowsAndRerun: a bad row never stops the good ones, the error
// names the row and the field, and a re-run issues nothing twice.
func TestImportRowsAndRerun(t *testing.T) {
	e := newWebEnv(t)
	off := e.login("officer1")
	file := e.importCSV("甲公司", "BAD", "乙公司", "丙公司")
	run := func() (importProgress, string) {
		a := off.upload("/console/import", map[string]string{"type": e.licA.TypeCode}, "file", "import.csv", file)
		if a.status != http.StatusSeeOther {
			t.Fatalf("import: %d %s", a.status, snippet(a.body))
		}
		job := a.header.Get("Location")
		return e.waitImport(off, job), job
	}
	p, job := run()
	if p.Total != 4 || p.Issued != 3 || p.Failed != 1 || p.Existing != 0 {
		t.Fatalf("first run %+v", p)
	}
	page := off.get(job).body
	if !strings.Contains(page, "<td>3</td><td>持证主体代码</td><td>统一社会信用代码的校验位是") {
		t.Errorf("error report does not name line 3, 持证主体代码 and the rule in Chinese:\n%s", page)
	}
	if csv := off.get(job + "/errors.csv").body; !strings.HasPrefix(csv, "\xef\xbb\xbf行号,列,错误,字段,规则\n") || !strings.Contains(csv, "\n3,持证主体代码,统一社会信用代码的校验位是") {
		t.Errorf("errors.csv: %s", csv)
	}
	size := e.treeSize()
	p, _ = run()
	if p.Issued != 0 || p.Existing != 3 || p.Failed != 1 {
		t.Errorf("re-run %+v", p)
	}
	if e.treeSize() != size {
		t.Error("the re-run anchored something")
	}
	lics, _ := e.reg.List(context.Background(), registry.ListFilter{Department: e.depts[0].USCC, Limit: 1000})
	if len(lics) != 4 { // licA and three rows
		t.Errorf("%d licenses, want 4", len(lics))
	}
}

var useCodeRE = regexp.MustCompile(`id="use-code">([0-9A-Z]{4}-[0-9A-Z]{4})<`)

// TestConsentFlowOnPages walks the whole story through the pages: the
// officer issues, the holder grants a code limited to one field, the clerk
// redeems it (有效) and cannot redeem it again, the officer revokes, the
// clerk verifies the credential again (已吊销), and the holder sees both
// uses; the wallet zip verifies offline.
func TestConsentFlowOnPages(t *testing.T) {
	e := newWebEnv(t)
	off, ent, clerk := e.login("officer1"), e.login("enterprise"), e.login("clerk1")
	// The demo enterprise holds its one 营业执照 (licA): a permit, then.
	a := off.form("/console/issue/"+e.depts[0].Types[1], e.issueFormFor(1, registry.DemoEnterpriseName, registry.DemoEnterpriseCode))
	if a.status != http.StatusSeeOther {
		t.Fatalf("issue: %d %s", a.status, snippet(a.body))
	}
	id := strings.TrimSuffix(strings.TrimPrefix(a.header.Get("Location"), "/console/licenses/"), "?issued=1")
	if !strings.Contains(off.get(a.header.Get("Location")).body, "签发成功") {
		t.Error("no success message after issuing")
	}
	g := ent.form("/wallet/licenses/"+id+"/grant", url.Values{"service_item": {"310100-SC-0001"}, "purpose": {"办理食品经营许可"}, "minutes": {"10"}, "fields": {"address"}})
	m := useCodeRE.FindStringSubmatch(g.body)
	if g.status != 200 || m == nil {
		t.Fatalf("grant: %d %s", g.status, snippet(g.body))
	}
	redeem := url.Values{"service_item": {"310100-SC-0001"}, "purpose": {"核验营业执照"}, "code": {strings.ToLower(m[1])}}
	r := clerk.form("/window/redeem", redeem)
	if r.status != 200 || !strings.Contains(r.body, `<div class="verdict-label">有效</div>`) {
		t.Fatalf("redeem: %d %s", r.status, snippet(r.body))
	}
	if !strings.Contains(r.body, "<dt>住所</dt>") || strings.Contains(r.body, "<dt>法定代表人</dt>") {
		t.Error("the redeemed page does not show exactly the granted field")
	}
	if again := clerk.form("/window/redeem", redeem); again.status != http.StatusNotFound || !strings.Contains(again.body, "用证码不存在、已失效") {
		t.Errorf("second redemption: %d", again.status)
	}
	pdf := ent.get("/wallet/licenses/" + id + "/pdf")
	if pdf.status != 200 || !strings.HasPrefix(pdf.body, "%PDF-") {
		t.Fatalf("holder's PDF: %d", pdf.status)
	}
	verifyPDF := func(purpose string) webAnswer {
		return clerk.upload("/window/verify", map[string]string{"service_item": "310100-SC-0001", "purpose": purpose}, "file", "license.pdf", []byte(pdf.body))
	}
	if v := verifyPDF("核验纸质证照"); !strings.Contains(v.body, `<div class="verdict-label">有效</div>`) || !strings.Contains(v.body, "电子印章") {
		t.Errorf("PDF before revoke: %d %s", v.status, snippet(v.body))
	}
	// The other forms a holder shows: the ZZ1: text pasted, the QR code as a picture.
	lic, err := e.reg.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if v := clerk.form("/window/verify", url.Values{"service_item": {"310100-SC-0001"}, "purpose": {"扫码核验"}, "payload": {lic.Compact}}); !strings.Contains(v.body, `<div class="verdict-label">有效</div>`) || !strings.Contains(v.body, "<dt>住所</dt>") {
		t.Errorf("pasted ZZ1: %d %s", v.status, snippet(v.body))
	}
	qr := ent.get("/wallet/licenses/" + id + "/qr.png")
	if v := clerk.upload("/window/verify", map[string]string{"service_item": "310100-SC-0001", "purpose": "扫码核验"}, "file", "photo.png", []byte(qr.body)); !strings.Contains(v.body, `<div class="verdict-label">有效</div>`) {
		t.Errorf("QR picture: %d %s", v.status, snippet(v.body))
	}
	if s := off.form("/console/licenses/"+id+"/status", url.Values{"status": {"revoked"}}); s.status != 400 || !strings.Contains(s.body, "reason") {
		t.Errorf("revoke without reason: %d", s.status)
	}
	if s := off.form("/console/licenses/"+id+"/status", url.Values{"status": {"revoked"}, "reason": {"fraud"}}); s.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", s.status, snippet(s.body))
	}
	v := verifyPDF("再次核验")
	if !strings.Contains(v.body, `<div class="verdict-label">已吊销</div>`) {
		t.Errorf("verify after revoke: %d %s", v.status, snippet(v.body))
	}
	w := ent.get("/wallet").body
	// Five uses and the refused second redemption.
	if strings.Count(w, "长沙市政务服务中心") != 6 || !strings.Contains(w, "核验营业执照") || !strings.Contains(w, "再次核验") {
		t.Errorf("the usage record does not show both uses:\n%s", w)
	}

	// The wallet zip: README, bundle, every credential; each verifies offline.
	z := ent.get("/wallet/download")
	zr, err := zip.NewReader(strings.NewReader(z.body), int64(len(z.body)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	fp, _, _ := e.s.reg.Trust()
	bundle, err := verifier.ParseBundle(files["bundle.json"], verifier.WithRootFingerprint(fp))
	if err != nil {
		t.Fatalf("bundle in the zip: %v", err)
	}
	if !bytes.Contains(files["README.txt"], []byte("zhengzhao verify")) {
		t.Error("README does not say how to verify")
	}
	var verdicts []verifier.Verdict
	for name, b := range files {
		if strings.HasPrefix(name, "licenses/") || strings.HasPrefix(name, "pdf/") || strings.HasSuffix(name, ".png") {
			res, err := verifier.Verify(context.Background(), b, bundle, verifier.Policy{At: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			verdicts = append(verdicts, res.Verdict)
		}
	}
	slices.Sort(verdicts)
	want := []verifier.Verdict{verifier.VerdictRevoked, verifier.VerdictRevoked, verifier.VerdictRevoked, verifier.VerdictValid, verifier.VerdictValid, verifier.VerdictValid}
	if slices.Sort(want); !slices.Equal(verdicts, want) {
		t.Errorf("zip verdicts %v, want %v", verdicts, want)
	}
}

func TestVerdictLabels(t *testing.T) {
	tests := []struct {
		v    verifier.Verdict
		want string
	}{
		{verifier.VerdictValid, "有效"},
		{verifier.VerdictSuspended, "已暂停"},
		{verifier.VerdictRevoked, "已吊销"},
		{verifier.VerdictCancelled, "已注销"},
		{verifier.VerdictWithdrawn, "已撤销"},
		{verifier.VerdictSuperseded, "已变更"},
		{verifier.VerdictExpired, "已过期"},
		{verifier.VerdictInvalid, "无效"},
		{verifier.VerdictStatusUnknown, "无法确认"},
		{verifier.VerdictUnverifiable, "无法核验"},
	}
	for _, tt := range tests {
		if got, _ := verdictLabel(tt.v); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.v, got, tt.want)
		}
	}
	// A cancellation is 已注销 whatever its note says; the label comes from
	// the status, never from free text.
	if got := statusLabel(license.StatusCancelled, "deregistered"); got != "已注销（主体已注销登记）" {
		t.Errorf("statusLabel: %s", got)
	}
	if got := statusLabel(license.StatusRevoked, "penalty"); got != "已吊销（行政处罚）" {
		t.Errorf("statusLabel: %s", got)
	}
}

// blankPNG is a picture with no QR code in it.
func blankPNG(t *testing.T) []byte {
	img := image.NewGray(image.Rect(0, 0, 64, 64))
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
