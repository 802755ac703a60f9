package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"zhengzhao/registry"
)

// The business license type and two of its fields (A, B) and one it has
// but the test item does not allow.
const (
	bizLicense  = "11100000000013338W001" // 营业执照
	testItem    = "310100-TS-0001"
	testHall    = "静安区市民中心 测试窗口"
	clerkPass   = "quiet-window-2026-x"
	otherItemNm = "食品经营许可核发" // 310100-SC-0001, the item the holder's other code is for
)

// itemWorld is a web env with a new service item (营业执照: 法定代表人
// and 住所 only) made by the admin on the admin page, a hall that handles
// only that item, and a clerk of that hall, all set through the pages.
type itemWorld struct {
	*webEnv
	admin, clerk, holder *webClient
}

func newItemWorld(t *testing.T) *itemWorld {
	t.Helper()
	e := newWebEnv(t)
	w := &itemWorld{webEnv: e, admin: e.login("admin"), holder: e.login("enterprise")}
	a := w.admin.form("/admin/items", url.Values{"code": {testItem}, "name": {"测试事项：企业信息核验"},
		"f." + bizLicense: {"legalRepresentative", "address"}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("admin creates item: %d %s", a.status, snippet(a.body))
	}
	if a := w.admin.form("/admin/users", url.Values{"username": {"tclerk"}, "name": {"赵测试"}, "password": {clerkPass},
		"role": {"verifier"}, "hall": {testHall}}); a.status != http.StatusSeeOther {
		t.Fatalf("admin creates clerk: %d %s", a.status, snippet(a.body))
	}
	if a := w.admin.form("/admin/halls", url.Values{"hall": {testHall}, "items": {testItem}}); a.status != http.StatusSeeOther {
		t.Fatalf("admin sets hall: %d %s", a.status, snippet(a.body))
	}
	w.clerk = e.client()
	if a := w.clerk.form("/login", url.Values{"username": {"tclerk"}, "password": {clerkPass}}); a.status != http.StatusSeeOther {
		t.Fatalf("clerk login: %d", a.status)
	}
	return w
}

// grant has the enterprise grant a use code for its 营业执照 and item.
func (w *itemWorld) grant(item string) string {
	w.t.Helper()
	g := w.holder.form("/wallet/licenses/"+w.licA.Identifier+"/grant", url.Values{"service_item": {item}, "purpose": {"办理企业事项"}, "minutes": {"10"}})
	m := useCodeRE.FindStringSubmatch(g.body)
	if g.status != http.StatusOK || m == nil {
		w.t.Fatalf("grant for %s: %d %s", item, g.status, snippet(g.body))
	}
	return m[1]
}

// The clerk of the hall redeems a code for the item and sees the item's
// fields only; a code granted for another item, an unknown code and a used
// code are refused with one answer that names neither the license, its
// holder nor the item it was granted for; a clerk of a hall without the item
// is refused before any code is looked at.
func TestRedeemEnforcesServiceItem(t *testing.T) {
	w := newItemWorld(t)
	redeem := func(c *webClient, item, code string) webAnswer {
		return c.form("/window/redeem", url.Values{"service_item": {item}, "purpose": {"核验企业信息"}, "code": {code}})
	}
	// The window offers only the hall's items.
	if p := w.clerk.get("/window"); !strings.Contains(p.body, testItem) || strings.Contains(p.body, "310100-SC-0001") {
		t.Errorf("the window of %s offers other items than %s", testHall, testItem)
	}

	code := w.grant(testItem)
	r := redeem(w.clerk, testItem, code)
	if r.status != http.StatusOK || !strings.Contains(r.body, `<div class="verdict-label">有效</div>`) {
		t.Fatalf("redeem: %d %s", r.status, snippet(r.body))
	}
	for _, label := range []string{"<dt>法定代表人</dt>", "<dt>住所</dt>"} {
		if !strings.Contains(r.body, label) {
			t.Errorf("redeemed page lacks %s", label)
		}
	}
	for _, label := range []string{"<dt>经营范围</dt>", "<dt>注册资本</dt>", "<dt>成立日期</dt>"} {
		if strings.Contains(r.body, label) {
			t.Errorf("redeemed page shows %s, which the item does not allow", label)
		}
	}

	// Refusals: a code for another item, the spent code, a code that never
	// existed. One status, one body.
	other := w.grant("310100-SC-0001")
	refused := map[string]webAnswer{
		"for another item": redeem(w.clerk, testItem, other),
		"already used":     redeem(w.clerk, testItem, code),
		"never existed":    redeem(w.clerk, testItem, "2222-2222"),
	}
	want := refused["never existed"]
	for name, a := range refused {
		if a.status != http.StatusNotFound || !strings.Contains(a.body, "用证码不存在、已失效或未授权用于所选办理事项") {
			t.Errorf("%s: %d %s", name, a.status, snippet(a.body))
		}
		if a.body != want.body {
			t.Errorf("%s: the refusal differs from that of a code that never existed", name)
		}
		for _, secret := range []string{w.licA.Identifier, w.licA.Record.Holder, w.licA.Record.HolderCode, otherItemNm, "310100-SC-0001"} {
			if strings.Contains(a.body, secret) {
				t.Errorf("%s: the refusal reveals %q", name, secret)
			}
		}
	}
	// The refused code is still good for the item it was granted for.
	if r := redeem(w.login("clerk1"), "310100-SC-0001", other); r.status != http.StatusOK {
		t.Errorf("redeem for the granted item after a refusal: %d %s", r.status, snippet(r.body))
	}

	// A clerk of a hall that does not handle the item is refused at the
	// item, whatever the code.
	third := w.grant(testItem)
	r = redeem(w.login("clerk2"), testItem, third)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "不办理所选事项") || strings.Contains(r.body, w.licA.Identifier) {
		t.Errorf("clerk of another hall: %d %s", r.status, snippet(r.body))
	}
	// The holder's record names the refusal of the code for another item.
	recs, err := w.reg.UsageRecords(context.Background(), registry.Actor{Role: registry.RoleHolder, HolderCode: registry.DemoEnterpriseCode})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range recs {
		found = found || (r.Verdict == "refused:"+registry.UseCodeWrongItem && r.ServiceItem == testItem)
	}
	if !found {
		t.Errorf("no record of the refused attempt in %+v", recs)
	}
}

// Lookups by duty and window verification show only the item's fields and
// refuse a license type the item does not use; lookups are throttled.
func TestDutyAndVerifyEnforceServiceItem(t *testing.T) {
	w := newItemWorld(t)
	duty := func(code string) webAnswer {
		return w.clerk.form("/window/duty", url.Values{"service_item": {testItem}, "purpose": {"依职能核验企业信息"}, "holder_code": {code}})
	}
	d := duty(registry.DemoEnterpriseCode)
	if d.status != http.StatusOK || !strings.Contains(d.body, "<dt>住所</dt>") || strings.Contains(d.body, "<dt>经营范围</dt>") {
		t.Errorf("duty lookup: %d %s", d.status, snippet(d.body))
	}
	v := w.clerk.form("/window/verify", url.Values{"service_item": {testItem}, "purpose": {"扫码核验"}, "payload": {w.licA.Compact}})
	if v.status != http.StatusOK || !strings.Contains(v.body, "<dt>法定代表人</dt>") || strings.Contains(v.body, "<dt>经营范围</dt>") {
		t.Errorf("verify: %d %s", v.status, snippet(v.body))
	}
	// The citizen's birth certificate is not a license this item uses.
	v = w.clerk.form("/window/verify", url.Values{"service_item": {testItem}, "purpose": {"扫码核验"}, "payload": {w.licB.Compact}})
	if v.status != http.StatusForbidden || !strings.Contains(v.body, "不在办理事项") || strings.Contains(v.body, w.licB.Record.Holder) {
		t.Errorf("verify of a type outside the item: %d %s", v.status, snippet(v.body))
	}

	// One lookup is made; the rest of the allowance, then 429.
	for i := 1; i < registry.MaxDutyLookups; i++ {
		if a := duty(registry.DemoCitizenID); a.status != http.StatusOK {
			t.Fatalf("lookup %d: %d %s", i+1, a.status, snippet(a.body))
		}
	}
	a := duty(registry.DemoEnterpriseCode)
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" || !strings.Contains(a.body, "依职能查询过于频繁") {
		t.Errorf("lookup beyond the throttle: %d %s", a.status, snippet(a.body))
	}
	// Another clerk is not slowed by this one.
	if a := w.login("clerk1").form("/window/duty", url.Values{"service_item": {"310100-SC-0001"}, "purpose": {"依职能核验"}, "holder_code": {registry.DemoEnterpriseCode}}); a.status != http.StatusOK {
		t.Errorf("another clerk: %d", a.status)
	}
}

// The service item API: the admin creates and versions items; bad items are
// refused naming the field and the rule and change nothing; other roles may
// read but not write.
func TestServiceItemAPI(t *testing.T) {
	e := newWebEnv(t)
	ctx := context.Background()
	token := func(r registry.Role) *webClient {
		tok, err := e.reg.CreateToken(ctx, registry.Actor{Role: r, Name: string(r) + "-api", Department: e.depts[0].USCC})
		if err != nil {
			t.Fatal(err)
		}
		c := e.client()
		c.token = tok
		return c
	}
	admin, issuer, verifier := token(registry.RoleAdmin), token(registry.RoleIssuer), token(registry.RoleVerifier)
	body := func(code, typ string, fields ...string) []byte {
		b, _ := json.Marshal(map[string]any{"code": code, "name": "营业执照核验", "licenses": []map[string]any{{"type": typ, "fields": fields}}})
		return b
	}
	post := func(c *webClient, b []byte) webAnswer {
		return c.do("POST", "/api/v1/service-items", "application/json", b)
	}

	a := post(admin, body(testItem, bizLicense, "address", "legalRepresentative"))
	if a.status != http.StatusCreated {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	var it registry.ServiceItem
	json.Unmarshal([]byte(a.body), &it)
	if it.Version != 1 || len(it.Licenses) != 1 || strings.Join(it.Licenses[0].Fields, ",") != "legalRepresentative,address" {
		t.Errorf("created %+v", it)
	}

	bad := []struct {
		name        string
		body        []byte
		status      int
		field, rule string
		mentions    string
	}{
		{"a field the type lacks", body("310100-TS-0002", bizLicense, "address", "motherName"), 400, "licenses[0].fields", "unknown_field", "motherName"},
		{"unknown license type", body("310100-TS-0002", "11100000000013338W999", "address"), 400, "licenses[0].type", "unknown", "11100000000013338W999"},
		{"bad code format", body("SC-0001", bizLicense, "address"), 400, "code", "pattern", "310100-SC-0001"},
		{"duplicate code", body(testItem, bizLicense, "address"), 409, "code", "duplicate", testItem},
		{"no fields", body("310100-TS-0002", bizLicense), 400, "licenses[0].fields", "required", "营业执照"},
	}
	for _, tt := range bad {
		a := post(admin, tt.body)
		var got struct {
			Code, Message, Field string
			Errors               []struct{ Field, Rule, Message string }
		}
		json.Unmarshal([]byte(a.body), &got)
		ok := a.status == tt.status && got.Field == tt.field && strings.Contains(got.Message, tt.mentions)
		ruleOK := false
		for _, fe := range got.Errors {
			ruleOK = ruleOK || (fe.Field == tt.field && fe.Rule == tt.rule)
		}
		if !ok || !ruleOK {
			t.Errorf("%s: %d %s", tt.name, a.status, a.body)
		}
	}
	list := verifier.get("/api/v1/service-items")
	if list.status != http.StatusOK || strings.Contains(list.body, "310100-TS-0002") || !strings.Contains(list.body, testItem) || !strings.Contains(list.body, "310100-SC-0001") {
		t.Errorf("list after refusals: %d %s", list.status, snippet(list.body))
	}

	// A new version; other roles may not write.
	put := func(c *webClient, b []byte) webAnswer {
		return c.do("PUT", "/api/v1/service-items/"+testItem, "application/json", b)
	}
	if a := put(admin, body("", bizLicense, "address")); a.status != http.StatusOK || !strings.Contains(a.body, `"version":2`) {
		t.Errorf("new version: %d %s", a.status, a.body)
	}
	if a := put(admin, body("310100-TS-0009", bizLicense, "address")); a.status != http.StatusBadRequest {
		t.Errorf("version under another code: %d %s", a.status, a.body)
	}
	for name, c := range map[string]*webClient{"issuer": issuer, "verifier": verifier} {
		if a := post(c, body("310100-TS-0003", bizLicense, "address")); a.status != http.StatusForbidden {
			t.Errorf("%s creates: %d", name, a.status)
		}
		if a := put(c, body("", bizLicense, "address", "businessScope")); a.status != http.StatusForbidden {
			t.Errorf("%s versions: %d", name, a.status)
		}
	}
	g := issuer.get("/api/v1/service-items/" + testItem)
	var doc struct {
		Version  int
		Versions []registry.ServiceItem
	}
	json.Unmarshal([]byte(g.body), &doc)
	if g.status != http.StatusOK || doc.Version != 2 || len(doc.Versions) != 2 || len(doc.Versions[1].Licenses[0].Fields) != 1 {
		t.Errorf("item with versions: %d %s", g.status, g.body)
	}

	// Halls: the admin binds a hall to items; an unknown item is refused.
	hall := "/api/v1/service-halls/" + url.PathEscape(testHall)
	if a := admin.do("PUT", hall, "application/json", []byte(`{"items":["`+testItem+`","310100-XX-0404"]}`)); a.status != http.StatusBadRequest || !strings.Contains(a.body, "310100-XX-0404") {
		t.Errorf("hall with an unknown item: %d %s", a.status, a.body)
	}
	if a := admin.do("PUT", hall, "application/json", []byte(`{"items":["`+testItem+`"]}`)); a.status != http.StatusOK || !strings.Contains(a.body, testHall) {
		t.Errorf("set hall: %d %s", a.status, a.body)
	}
	if a := verifier.do("PUT", hall, "application/json", []byte(`{"items":[]}`)); a.status != http.StatusForbidden {
		t.Errorf("verifier sets hall: %d", a.status)
	}
	if a := admin.get("/api/v1/service-halls"); a.status != http.StatusOK || !strings.Contains(a.body, testHall) {
		t.Errorf("halls: %d %s", a.status, a.body)
	}
}

// The admin pages: only the admin may open or post them; a bad item is
// shown again with the error at the field.
func TestServiceItemPages(t *testing.T) {
	e := newWebEnv(t)
	for _, u := range []string{"clerk1", "officer1", "enterprise"} {
		c := e.login(u)
		if a := c.form("/admin/items", url.Values{"code": {testItem}, "name": {"越权事项"}, "f." + bizLicense: {"address"}}); a.status != http.StatusForbidden {
			t.Errorf("%s posts an item: %d", u, a.status)
		}
		if a := c.form("/admin/halls", url.Values{"hall": {testHall}, "items": {"310100-SC-0001"}}); a.status != http.StatusForbidden {
			t.Errorf("%s sets a hall: %d", u, a.status)
		}
	}
	admin := e.login("admin")
	a := admin.form("/admin/items", url.Values{"code": {testItem}, "name": {"测试事项"}, "f." + bizLicense: {"address", "colour"}})
	if a.status != http.StatusBadRequest || !strings.Contains(a.body, "没有字段“colour”") {
		t.Errorf("item with a field the type lacks: %d %s", a.status, snippet(a.body))
	}
	if l := admin.get("/admin/items"); strings.Contains(l.body, testItem) || !strings.Contains(l.body, "食品经营许可核发") {
		t.Error("a refused item was stored, or the defaults are missing")
	}
	if a := admin.form("/admin/items", url.Values{"code": {"310100-SC-0001"}, "name": {"重复"}, "f." + bizLicense: {"address"}}); a.status != http.StatusConflict || !strings.Contains(a.body, "已存在") {
		t.Errorf("duplicate code: %d %s", a.status, snippet(a.body))
	}
	if a := admin.form("/admin/items/310100-SC-0001", url.Values{"name": {"食品经营许可核发"}, "f." + bizLicense: {"address"}}); a.status != http.StatusSeeOther {
		t.Errorf("new version on the page: %d %s", a.status, snippet(a.body))
	}
	if p := admin.get("/admin/items/310100-SC-0001"); !strings.Contains(p.body, "v2") || !strings.Contains(p.body, "系统预置") {
		t.Errorf("item page lacks its versions: %s", snippet(p.body))
	}
}
