package server

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"zhengzhao/registry"
)

// TestBrowserServiceItems: the admin adds a service item in the browser by
// ticking the fields it may see; a clerk types a use code granted for
// another item and reads a refusal that names neither the license, its
// holder nor the item it was granted for.
func TestBrowserServiceItems(t *testing.T) {
	e, b := startBrowser(t, 1280, 900)
	pw := func(u string) string { return e.logins[u].Password }

	b.login("admin", pw("admin"))
	b.do(chromedp.Navigate(b.base+"/admin/items"), ready(`#new input[name="code"]`),
		chromedp.SetValue(chromedp.CSS(`#new input[name="code"]`), "310100-SC-0003"),
		chromedp.SetValue(chromedp.CSS(`#new input[name="name"]`), "食品经营许可变更"),
		chromedp.Click(chromedp.CSS(`#new input[name="f.`+bizLicense+`"][value="legalRepresentative"]`)),
		chromedp.Click(chromedp.CSS(`#new input[name="f.`+bizLicense+`"][value="address"]`)),
		chromedp.Click(chromedp.CSS(`#new input[name="f.11100000000013338W002"][value="premises"]`)),
		chromedp.Click(chromedp.CSS("#new button.primary")), ready(".flash.ok"))
	if row := b.text("#items"); !strings.Contains(row, "食品经营许可变更") || !strings.Contains(row, "营业执照：法定代表人、住所") || !strings.Contains(row, "食品经营许可证：经营场所") {
		t.Errorf("items table after adding: %s", row)
	}
	b.shot("items-01-admin-items", 1280, 1000)
	// The halls page: each hall with its clerks and items.
	b.do(chromedp.Navigate(b.base+"/admin/halls"), ready(".card.hall"))
	b.shot("items-03-admin-halls", 1280, 900)

	// A code the holder granted for 食品经营许可核发, typed for 药品零售企业开办.
	code, _, err := e.reg.GrantUseCode(context.Background(), registry.Actor{Role: registry.RoleHolder, HolderCode: registry.DemoEnterpriseCode},
		registry.UseCodeRequest{Identifier: e.licA.Identifier, Purpose: "办理食品经营许可", ServiceItem: "310100-SC-0001", Minutes: 10})
	if err != nil {
		t.Fatal(err)
	}
	b.login("clerk1", pw("clerk1"))
	b.do(chromedp.Navigate(b.base+"/window#code"), ready(`#code input[name="code"]`),
		chromedp.SetValue(chromedp.CSS(`#code select[name="service_item"]`), "310100-SC-0002"),
		chromedp.SetValue(chromedp.CSS(`#code input[name="purpose"]`), "核验营业执照"),
		chromedp.SetValue(chromedp.CSS(`#code input[name="code"]`), code),
		chromedp.Click(chromedp.CSS("#code button.primary")), ready(".flash.bad"))
	msg := b.text(".flash.bad")
	if !strings.Contains(msg, "用证码不存在、已失效或未授权用于所选办理事项") || strings.Contains(msg, "食品经营许可核发") {
		t.Errorf("refusal: %q", msg)
	}
	if page := b.text("main"); strings.Contains(page, registry.DemoEnterpriseName) || strings.Contains(page, e.licA.Identifier) {
		t.Errorf("the refusal page reveals the license or the grant:\n%s", page)
	}
	b.shot("items-02-window-refused", 1280, 900)
}
