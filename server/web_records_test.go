package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"zhengzhao/registry"
	"zhengzhao/verifier"
)

// A verification over the API leaves a record the holder reads on their
// 用证记录 page and in the CSV; the other holder does not see it.
func TestAPIVerifyIsInTheHoldersRecords(t *testing.T) {
	e := newWebEnv(t)
	ctx := context.Background()
	tok, err := e.reg.CreateToken(ctx, registry.Actor{Role: registry.RoleVerifier, Name: "街道服务中心接口"})
	if err != nil {
		t.Fatal(err)
	}
	api := e.client()
	api.token = tok
	a := api.do("POST", "/api/v1/verify?purpose="+url.QueryEscape("核对营业执照")+"&service_item=310100-SC-0001", "application/json", e.licA.Credential)
	if a.status != http.StatusOK {
		t.Fatalf("verify: %d %s", a.status, a.body)
	}
	holder := e.login("enterprise")
	page := holder.get("/wallet/records")
	if page.status != http.StatusOK || !strings.Contains(page.body, "接口核验") || !strings.Contains(page.body, "街道服务中心接口") || !strings.Contains(page.body, "核对营业执照") {
		t.Fatalf("holder's records page: %d\n%s", page.status, page.body)
	}
	other := e.login("citizen").get("/wallet/records")
	if other.status != http.StatusOK || strings.Contains(other.body, "街道服务中心接口") || strings.Contains(other.body, e.licA.Identifier) {
		t.Fatalf("the citizen sees the enterprise's records: %d", other.status)
	}
	c := holder.get("/wallet/records.csv")
	if c.status != http.StatusOK || !strings.HasPrefix(c.body, "\uFEFF序号,时间,操作") {
		t.Fatalf("CSV: %d %.200q", c.status, c.body)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(c.body, "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	last := rows[len(rows)-1]
	if last[2] != "接口核验" || last[5] != "核对营业执照" || last[7] != "有效" {
		t.Fatalf("last CSV row %q", last)
	}
	p := holder.get("/wallet/records.pdf")
	if p.status != http.StatusOK || p.header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("PDF: %d %s", p.status, p.header.Get("Content-Type"))
	}
	js, err := verifier.ExtractAttachment([]byte(p.body), registry.AttachmentRecords)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(js, []byte(registry.RecordsExportFormat)) {
		t.Fatalf("the PDF's export: %.200s", js)
	}
}

// The audit page is the admin's: everyone else gets 403; the admin filters
// by actor, action, license and time, and runs the chain check.
func TestAuditPage(t *testing.T) {
	e := newWebEnv(t)
	for _, u := range []string{"officer1", "clerk1", "enterprise"} {
		if a := e.login(u).get("/admin/audit"); a.status != http.StatusForbidden {
			t.Errorf("%s: /admin/audit answered %d, want 403", u, a.status)
		}
	}
	if a := e.client().get("/admin/audit"); a.status != http.StatusSeeOther {
		t.Errorf("signed out: /admin/audit answered %d, want a redirect to sign in", a.status)
	}
	adminActor := registry.Actor{Account: 1, Role: registry.RoleAdmin, Name: "平台管理员 (admin)"}
	if _, err := e.reg.CreateAccount(context.Background(), adminActor, registry.NewAccount{Username: "clerk9", Password: "Zz-audit-2026-pw", Name: "赵九", Role: registry.RoleVerifier, Hall: "静安区市民中心"}); err != nil {
		t.Fatal(err)
	}
	row := func(action string) string { return `<span class="muted mono">` + action + `</span>` }
	admin := e.login("admin")
	all := admin.get("/admin/audit")
	if all.status != http.StatusOK || !strings.Contains(all.body, row(registry.ActionIssue)) || !strings.Contains(all.body, row(registry.ActionAccountNew)) {
		t.Fatalf("audit page: %d\n%s", all.status, all.body)
	}
	byLicense := admin.get("/admin/audit?license=" + url.QueryEscape(e.licB.Identifier))
	if !strings.Contains(byLicense.body, "共 1 条") || !strings.Contains(byLicense.body, e.licB.Identifier) {
		t.Fatalf("filtered by license:\n%s", byLicense.body)
	}
	if a := admin.get("/admin/audit?action=account.&actor=" + url.QueryEscape("平台管理员")); !strings.Contains(a.body, "共 1 条") || !strings.Contains(a.body, "clerk9") || strings.Contains(a.body, row(registry.ActionIssue)) {
		t.Fatalf("filtered by action and actor:\n%s", a.body)
	}
	if a := admin.get("/admin/audit?from=2000-01-01&to=2000-01-02"); !strings.Contains(a.body, "没有符合条件的记录") {
		t.Fatalf("filtered by time:\n%s", a.body)
	}
	if a := admin.get("/admin/audit?from=2000-13-01"); a.status != http.StatusBadRequest || !strings.Contains(a.body, "起始日期") {
		t.Fatalf("bad date: %d", a.status)
	}
	if a := admin.get("/admin/audit?check=1"); !strings.Contains(a.body, "记录链校验通过") {
		t.Fatalf("chain check:\n%s", a.body)
	}
}
