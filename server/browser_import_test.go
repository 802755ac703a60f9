package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// TestBrowserImportJob: an officer's import of a GBK file of 250 rows, 120
// of them bad, seen in Chromium: the job page counts rows, shows the first
// page of row errors in Chinese with their line and column, and pages
// through the rest.
func TestBrowserImportJob(t *testing.T) {
	e, b := startBrowser(t, 1280, 900)
	holders := make([]string, 250)
	for i := range holders {
		holders[i] = fmt.Sprintf("浏览器导入测试公司%03d", i)
		if i%2 == 1 && i < 240 {
			holders[i] = "BAD"
		}
	}
	file, err := simplifiedchinese.GBK.NewEncoder().Bytes(e.importCSV(holders...))
	if err != nil {
		t.Fatal(err)
	}
	off := e.login("officer1")
	a := off.upload("/console/import", map[string]string{"type": e.licA.TypeCode}, "file", "存量营业执照（GBK）.csv", file)
	if a.status != http.StatusSeeOther {
		t.Fatalf("import: %d %s", a.status, snippet(a.body))
	}
	job := a.header.Get("Location")
	if p := e.waitImport(off, job); p.Total != 250 || p.Failed != 120 || p.Issued != 130 {
		t.Fatalf("progress %+v", p)
	}

	b.login("officer1", e.logins["officer1"].Password)
	b.do(chromedp.Navigate(b.base+"/console/import"), ready(`input[type="file"]`))
	b.shot("import-01-upload", 1280, 900)
	b.do(chromedp.Navigate(b.base+job), ready("#error-pages"))
	counts := b.text(".counts")
	for _, want := range []string{"已处理 250 / 250 行", "新签发 130", "错误 120 行"} {
		if !strings.Contains(strings.Join(strings.Fields(counts), " "), want) {
			t.Errorf("job page counts %q, want %q", counts, want)
		}
	}
	if first := b.text("table.list tbody tr"); !strings.Contains(first, "3") || !strings.Contains(first, "持证主体代码") || !strings.Contains(first, "统一社会信用代码的校验位") {
		t.Errorf("first row error %q", first)
	}
	if nav := b.text("#error-pages"); !strings.Contains(nav, "第 1 / 2 页") || !strings.Contains(nav, "下一页") {
		t.Errorf("pages %q", nav)
	}
	b.shot("import-02-job", 1280, 900)
	b.do(chromedp.Click(chromedp.CSS(`#error-pages a`)), ready(`#error-pages`))
	if nav := b.text("#error-pages"); !strings.Contains(nav, "第 2 / 2 页") || !strings.Contains(nav, "上一页") {
		t.Errorf("second page %q", nav)
	}
	b.shot("import-03-job-page2", 1280, 900)
}
