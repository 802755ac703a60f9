package server

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"zhengzhao/internal/zhtext"
	"zhengzhao/license"
	"zhengzhao/registry"
)

// browserPath finds Debian's Chromium; the browser test needs it.
func browserPath() string {
	for _, p := range []string{os.Getenv("ZZ_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	return ""
}

// browser drives one Chromium tab through the pages and saves a screenshot
// of each page it is asked to: in the test's artifact directory (go test
// -artifacts) and, when ZZ_SCREENSHOTS names a directory, there too.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (b *browser) shot(name string, width, height int64) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height)); err != nil {
		b.t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	dirs := []string{b.t.ArtifactDir()}
	if d := os.Getenv("ZZ_SCREENSHOTS"); d != "" {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, name+".png"), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
}

// ready waits until the page (after a click that navigates) has an
// element matching sel.
func ready(sel string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		for {
			_, err := chromedp.Poll[bool](`document.readyState === "complete" && document.querySelector(`+"`"+sel+"`"+`) !== null`)(ctx, t)
			if err == nil || ctx.Err() != nil {
				return chromedp.Void{}, err
			}
			// A navigation in the middle of the poll: ask the new page.
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// login signs out whoever is signed in and signs in as username.
func (b *browser) login(username, password string) {
	b.t.Helper()
	// Signed in, /login sends the browser to the role's home page.
	b.do(chromedp.Navigate(b.base+"/login"), ready(`input[name="username"], .who`))
	if strings.Contains(b.text("header"), "退出") {
		b.do(chromedp.Click(chromedp.CSS(".who button")), ready(`input[name="username"]`))
	}
	b.do(chromedp.SetValue(chromedp.CSS(`input[name="username"]`), username),
		chromedp.SetValue(chromedp.CSS(`input[name="password"]`), password),
		chromedp.Click(chromedp.CSS("button.primary")),
		ready(".who"))
}

// fetchBase64 fetches a same-origin URL in the page (with the session
// cookie) and returns the body, as a download would save it.
func (b *browser) fetch(path string) []byte {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	js := `fetch(` + "`" + path + "`" + `, {credentials: "same-origin"}).then(r => { if (!r.ok) throw new Error("HTTP " + r.status); return r.arrayBuffer(); })
		.then(buf => { let s = ""; const a = new Uint8Array(buf); for (let i = 0; i < a.length; i += 0x8000) s += String.fromCharCode.apply(null, a.subarray(i, i + 0x8000)); return btoa(s); })`
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("fetch %s: %v", path, err)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b.t.Fatal(err)
	}
	return raw
}

// startBrowser starts a web environment and a headless Chromium with a
// window of the given size, or skips the test without one (fails when
// ZZ_REQUIRE_BROWSER is set). Both end with the test.
func startBrowser(t *testing.T, width, height int) (*webEnv, *browser) {
	t.Helper()
	path := browserPath()
	if path == "" && os.Getenv("ZZ_REQUIRE_BROWSER") != "" {
		t.Fatal("ZZ_REQUIRE_BROWSER is set but no Chromium was found")
	}
	if path == "" {
		t.Skip("no Chromium (apt-get install chromium, or set ZZ_CHROMIUM)")
	}
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	e := newWebEnv(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(width, height), chromedp.Flag("lang", "zh-CN"))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // start the browser, without a timeout
		t.Fatalf("start Chromium: %v", err)
	}
	return e, &browser{t: t, ctx: ctx, base: e.srv.URL}
}

// TestBrowserStory is the issue's story in a real browser: the officer
// issues → the holder downloads the wallet and grants a use code → the clerk
// redeems it and sees 有效 → the officer revokes → the clerk verifies the
// holder's PDF again and sees 已吊销 → the officer changes a license (变更)
// and cancels another (注销) → the clerk sees 已变更 naming the current
// version and 已注销 → the holder sees both in the wallet, and both uses.
func TestBrowserStory(t *testing.T) {
	e, b := startBrowser(t, 1280, 900)
	ctx := b.ctx
	pw := func(u string) string { return e.logins[u].Password }

	// The officer picks the type and fills the form the catalog generates.
	b.login("officer1", pw("officer1"))
	b.shot("01-console-list", 1280, 900)
	b.do(chromedp.Navigate(b.base+"/console/issue"), ready(".card.type"))
	b.shot("02-console-types", 1280, 900)
	// A 食品经营许可证 for the demo enterprise (it holds its one 营业执照 already).
	b.do(chromedp.Click(chromedp.CSS(`a[href="/console/issue/`+e.depts[0].Types[1]+`"]`)), ready(`input[name="holder"]`))
	form := e.issueFormFor(1, registry.DemoEnterpriseName, registry.DemoEnterpriseCode)
	holderCode := form.Get("holderCode")
	form.Set("holderCode", "91430104MA4L3B5K27") // a wrong check character first
	var fill []chromedp.Action[chromedp.Void]
	for k := range form {
		fill = append(fill, chromedp.SetValue(chromedp.CSS(`[name="`+k+`"]`), form.Get(k)))
	}
	b.do(fill...)
	b.do(chromedp.Click(chromedp.CSS("button.primary")), ready(".has-err .ferr"))
	if msg := b.text(".has-err .ferr"); !strings.Contains(msg, "校验位") || zhtext.Check(msg) != nil {
		t.Errorf("field error: %q", msg)
	}
	b.shot("03-console-form-error", 1280, 900)
	b.do(chromedp.SetValue(chromedp.CSS(`[name="holderCode"]`), holderCode),
		chromedp.Click(chromedp.CSS("button.primary")), ready(".face"))
	if !strings.Contains(b.text(".flash.ok"), "签发成功") {
		t.Error("no success message")
	}
	b.shot("04-console-issued", 1280, 900)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(loc)
	id := strings.TrimPrefix(u.Path, "/console/licenses/")

	// The holder, on a phone: the wallet, the zip, the PDF, a use code.
	b.login("enterprise", pw("enterprise"))
	b.do(chromedp.Navigate(b.base+"/wallet"), ready(".wcard"))
	b.shot("05-wallet-phone", 390, 844)
	if zip := b.fetch("/wallet/download"); len(zip) < 1000 || string(zip[:2]) != "PK" {
		t.Fatalf("wallet zip: %d bytes", len(zip))
	}
	pdf := b.fetch("/wallet/licenses/" + id + "/pdf")
	pdfPath := filepath.Join(t.TempDir(), "license.pdf")
	if err := os.WriteFile(pdfPath, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.Navigate(b.base+"/wallet/licenses/"+id), ready(`select[name="service_item"]`))
	b.do(chromedp.SetValue(chromedp.CSS(`select[name="service_item"]`), "310100-SC-0001"),
		chromedp.SetValue(chromedp.CSS(`input[name="purpose"]`), "办理食品经营许可"),
		chromedp.Click(chromedp.CSS(`input[value="address"]`)),
		chromedp.Click(chromedp.CSS("button.primary")), ready("#use-code"))
	code := b.text("#use-code")
	b.shot("06-wallet-use-code-phone", 390, 844)
	b.do(chromedp.Navigate(b.base+"/wallet/licenses/"+id+"#qr"), ready(".qr-full img"))
	b.shot("07-wallet-qr-phone", 390, 844)

	// The clerk redeems the code: 有效, with only the granted field.
	b.login("clerk1", pw("clerk1"))
	b.do(chromedp.Navigate(b.base+"/window#code"), ready(`#code input[name="code"]`))
	b.shot("08-window", 1280, 900)
	b.do(chromedp.SetValue(chromedp.CSS(`#code select[name="service_item"]`), "310100-SC-0001"),
		chromedp.SetValue(chromedp.CSS(`#code input[name="purpose"]`), "核验营业执照"),
		chromedp.SetValue(chromedp.CSS(`#code input[name="code"]`), code),
		chromedp.Click(chromedp.CSS("#code button.primary")), ready(".verdict-label"))
	if v := b.text(".verdict-label"); v != "有效" {
		t.Errorf("redeemed: %q", v)
	}
	b.shot("09-window-valid", 1280, 900)

	// The officer revokes.
	b.login("officer1", pw("officer1"))
	b.do(chromedp.Navigate(b.base+"/console/licenses/"+id), ready(`select[name="reason"]`),
		chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
		chromedp.SetValue(chromedp.CSS(`select[name="reason"]`), "fraud"),
		chromedp.SetValue(chromedp.CSS(`input[name="note"]`), "提交虚假材料，案卷 2026-17"),
		chromedp.Click(chromedp.CSS(`button[value="revoked"]`)), ready(".flash.ok"))
	b.shot("10-console-revoked", 1280, 900)

	// The clerk verifies the holder's PDF again: 已吊销.
	b.login("clerk1", pw("clerk1"))
	b.do(chromedp.Navigate(b.base+"/window#show"), ready(`#show input[type="file"]`),
		chromedp.SetValue(chromedp.CSS(`#show select[name="service_item"]`), "310100-SC-0001"),
		chromedp.SetValue(chromedp.CSS(`#show input[name="purpose"]`), "再次核验营业执照"),
		chromedp.SetUploadFiles(chromedp.CSS(`#show input[type="file"]`), []string{pdfPath}),
		chromedp.Click(chromedp.CSS("#show button.primary")), ready(".verdict-label"))
	if v := b.text(".verdict-label"); v != "已吊销" {
		t.Errorf("PDF after revoke: %q", v)
	}
	b.shot("11-window-revoked-pdf", 1280, 1100)

	// The license over its life: the officer changes the enterprise's
	// 营业执照 (注册资本, 变更) and cancels (注销, with a reason code) a
	// food permit of a shop that closed; the clerk sees 已变更 naming the
	// current version for the old one and 已注销 for the cancelled one; the
	// holder's wallet shows both.
	closed := e.issueExample(0, 1, registry.DemoEnterpriseName, registry.DemoEnterpriseCode)
	b.login("enterprise", pw("enterprise"))
	oldPDF, closedPDF := filepath.Join(t.TempDir(), "old.pdf"), filepath.Join(t.TempDir(), "closed.pdf")
	for path, lic := range map[string]string{oldPDF: e.licA.Identifier, closedPDF: closed.Identifier} {
		if err := os.WriteFile(path, b.fetch("/wallet/licenses/"+lic+"/pdf"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b.login("officer1", pw("officer1"))
	versions := `form[action$="/versions"] `
	b.do(chromedp.Navigate(b.base+"/console/licenses/"+e.licA.Identifier), ready(versions+`input[name="fields.registeredCapital"]`),
		chromedp.SetValue(chromedp.CSS(versions+`input[name="fields.registeredCapital"]`), "300"),
		chromedp.SetValue(chromedp.CSS(versions+`input[name="note"]`), "股东增资"),
		chromedp.Click(chromedp.CSS(versions+`button[value="change"]`)), ready(".flash.ok"))
	loc, err = chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	u, _ = url.Parse(loc)
	current := strings.TrimPrefix(u.Path, "/console/licenses/")
	if !strings.Contains(current, ".002.") || !strings.Contains(b.text(".face"), "300") {
		t.Errorf("after the change the console shows %s:\n%s", current, b.text("main"))
	}
	b.shot("12-console-changed", 1280, 900)
	status := `form[action$="/status"] `
	b.do(chromedp.Navigate(b.base+"/console/licenses/"+closed.Identifier), ready(status+`select[name="reason"]`),
		chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
		chromedp.SetValue(chromedp.CSS(status+`select[name="reason"]`), "business_ended"),
		chromedp.SetValue(chromedp.CSS(status+`input[name="note"]`), "桃子湖店停止经营"),
		chromedp.Click(chromedp.CSS(status+`button[value="cancelled"]`)), ready(".flash.ok"))
	if got := b.text("main"); !strings.Contains(got, "已注销") || !strings.Contains(got, "停止经营") {
		t.Errorf("after the cancellation the console reads:\n%s", got)
	}
	b.shot("13-console-cancelled", 1280, 900)

	b.login("clerk1", pw("clerk1"))
	for _, tt := range []struct{ file, verdict, want, shot string }{
		{oldPDF, "已变更", current, "14-window-superseded-pdf"},
		{closedPDF, "已注销", "停止经营", "15-window-cancelled-pdf"},
	} {
		b.do(chromedp.Navigate(b.base+"/window#show"), ready(`#show input[type="file"]`),
			chromedp.SetValue(chromedp.CSS(`#show select[name="service_item"]`), "310100-SC-0001"),
			chromedp.SetValue(chromedp.CSS(`#show input[name="purpose"]`), "核验证照"),
			chromedp.SetUploadFiles(chromedp.CSS(`#show input[type="file"]`), []string{tt.file}),
			chromedp.Click(chromedp.CSS("#show button.primary")), ready(".verdict-label"))
		if v, page := b.text(".verdict-label"), b.text("#verdict"); v != tt.verdict || !strings.Contains(page, tt.want) {
			t.Errorf("window, %s: %q, want %s naming %s:\n%s", filepath.Base(tt.file), v, tt.verdict, tt.want, page)
		}
		if page := b.text("main"); len(zhtext.English(page)) > 0 {
			t.Errorf("window, %s: English on the page: %q", filepath.Base(tt.file), zhtext.English(page))
		}
		b.shot(tt.shot, 1280, 1100)
	}

	// The holder sees the uses, the change and the cancellation.
	b.login("enterprise", pw("enterprise"))
	b.do(chromedp.Navigate(b.base+"/wallet"), ready(".wcard"))
	cards := b.text(".cards")
	for _, want := range []string{"第 002 版", "第 001 版", "已变更", "变更为第 002 版", "已注销"} {
		if !strings.Contains(cards, want) {
			t.Errorf("wallet lacks %q:\n%s", want, cards)
		}
	}
	b.shot("16-wallet-versions-phone", 390, 1400)
	b.do(chromedp.Navigate(b.base+"/wallet/licenses/"+e.licA.Identifier), ready("#versions"))
	if got := b.text("#superseded"); !strings.Contains(got, current) {
		t.Errorf("the old version's page: %q, want it to name %s", got, current)
	}
	b.shot("17-wallet-old-version-phone", 390, 1100)
	b.do(chromedp.Navigate(b.base+"/wallet#usage"), ready("#usage"))
	usage := b.text("#usage + table")
	if !strings.Contains(usage, "核验营业执照") || !strings.Contains(usage, "再次核验营业执照") || !strings.Contains(usage, "核验证照") || strings.Count(usage, "长沙市政务服务中心") != 4 {
		t.Errorf("usage record:\n%s", usage)
	}
	b.shot("18-wallet-usage-phone", 390, 844)

	// The admin's pages.
	b.login("admin", pw("admin"))
	b.do(chromedp.Navigate(b.base+"/admin/reports"), ready(".chart svg"))
	b.shot("19-admin-reports", 1280, 900)
	b.do(chromedp.Navigate(b.base+"/admin"), ready("table.list"))
	b.shot("20-admin-departments", 1280, 900)

	// The admin declares the last department's key compromised since an
	// hour ago: asked to confirm, recorded, the key replaced.
	since := time.Now().In(license.ChinaTime).Add(-time.Hour).Format("2006-01-02T15:04")
	b.do(chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
		chromedp.Click(chromedp.CSS(`table.list tbody tr:last-child details.revoke-key summary`)),
		chromedp.SetValue(chromedp.CSS(`table.list tbody tr:last-child details.revoke-key input[name="compromised_from"]`), since),
		chromedp.Click(chromedp.CSS(`table.list tbody tr:last-child details.revoke-key button.danger`)), ready(".flash.ok"))
	if got := b.text("table.list tbody tr:last-child"); !strings.Contains(got, "起声明泄露") || strings.Count(got, "在用") < 2 {
		t.Errorf("after declaring the key compromised the department reads:\n%s", got)
	}
	b.shot("21-admin-key-compromised", 1280, 900)
	if err := ctx.Err(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}
