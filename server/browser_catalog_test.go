package server

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserAdminCatalog: the admin adds a license type in the catalog
// page's form; a broken pattern is refused with the field and the rule
// named in Chinese and the typed definition kept; the fixed one is added
// as version 1 and listed, anchored.
func TestBrowserAdminCatalog(t *testing.T) {
	e, b := startBrowser(t, 1280, 900)
	b.login("admin", e.logins["admin"].Password)
	def := `{
  "code": "11100000000013338W071",
  "name": "网络餐饮服务第三方平台备案凭证",
  "authority": "国家市场监督管理总局",
  "authorityUSCC": "11100000000013338W",
  "authorityUSCCSource": "real",
  "holderKind": "organization",
  "validityYears": 3,
  "fields": [
    {"key": "platformName", "label": "平台名称", "type": "string", "required": true, "example": "麓山外卖"},
    {"key": "filingNumber", "label": "备案编号", "type": "string", "required": true, "pattern": "WC[0-9{8}", "example": "WC20240001"}
  ]
}`
	b.do(chromedp.Navigate(b.base+"/admin/catalog"), ready(`textarea[name="definition"]`),
		chromedp.SetValue(chromedp.CSS(`textarea[name="definition"]`), def),
		chromedp.Click(chromedp.CSS(`#edit button.primary`)), ready(".catalog-errors"))
	got := b.text(".catalog-errors")
	for _, want := range []string{"fields[1].pattern", "备案编号", "正则表达式", "无法编译"} {
		if !strings.Contains(got, want) {
			t.Errorf("the refused definition's errors do not say %q:\n%s", want, got)
		}
	}
	kept, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS(`textarea[name="definition"]`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(kept, "WC[0-9{8}") {
		t.Errorf("the form lost what the admin typed: %q", kept)
	}
	b.shot("catalog-1-refused", 1280, 900)

	b.do(chromedp.SetValue(chromedp.CSS(`textarea[name="definition"]`), strings.Replace(def, "WC[0-9{8}", "WC[0-9]{8}", 1)),
		chromedp.Click(chromedp.CSS(`#edit button.primary`)), ready(".flash.ok"))
	if got := b.text(".flash.ok"); !strings.Contains(got, "网络餐饮服务第三方平台备案凭证") || !strings.Contains(got, "第 1 版") {
		t.Errorf("after adding, the page says %q", got)
	}
	if got := b.text("main"); !strings.Contains(got, "已上链") || !strings.Contains(got, "11100000000013338W071") {
		t.Errorf("the catalog page does not list the anchored new type")
	}
	b.do(chromedp.Navigate(b.base+"/admin/catalog?edit=11100000000013338W071#edit"), ready(`#edit textarea`))
	if got := b.text("#edit h2"); !strings.Contains(got, "新增版本") {
		t.Errorf("the edit form is headed %q", got)
	}
	b.shot("catalog-2-new-version-form", 1280, 900)
}

// catalogDef is a valid definition of a made-up type 11100000000013338W<serial>
// whose last field has the given label.
func catalogDef(serial, label string) string {
	return `{"code": "11100000000013338W` + serial + `", "name": "测试备案凭证` + serial + `", "authority": "国家市场监督管理总局",
	  "authorityUSCC": "11100000000013338W", "authorityUSCCSource": "real", "holderKind": "organization", "validityYears": 3,
	  "fields": [{"key": "filingNumber", "label": "备案编号", "type": "string", "required": true, "pattern": "WC[0-9]{8}", "example": "WC20240001"},
	             {"key": "remark", "label": "` + label + `", "type": "string"}]}`
}
