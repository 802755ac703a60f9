package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"zhengzhao/license"
	"zhengzhao/registry"
	"zhengzhao/verifier"
)

// An officer changes the enterprise's 营业执照 through the API: the new
// version is 002, the old one answers superseded naming it, online
// verification of the old one says which version counts, and neither a
// second version of the old one nor a second 营业执照 is made.
func TestAPIVersions(t *testing.T) {
	e := newWebEnv(t)
	ctx := context.Background()
	token := func(a registry.Actor) *webClient {
		s, err := e.reg.CreateToken(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		w := e.client()
		w.token = s
		return w
	}
	off := token(registry.Actor{Role: registry.RoleIssuer, Department: e.depts[0].USCC, Name: "o1"})
	clerk := token(registry.Actor{Role: registry.RoleVerifier, Name: "c1"})
	old := e.licA.Identifier
	path := "/api/v1/licenses/" + old + "/versions"

	a := off.do("POST", path, "application/json", []byte(`{"kind":"change","fields":{"address":"上海市静安区新址1号"},"note":"迁址"}`))
	if a.status != http.StatusCreated {
		t.Fatalf("new version: %d %s", a.status, a.body)
	}
	var doc licenseDocument
	if err := json.Unmarshal([]byte(a.body), &doc); err != nil {
		t.Fatal(err)
	}
	id, _ := license.ParseIdentifier(old)
	next, _ := id.Next()
	if doc.ID != next.String() || doc.Version != "002" || doc.Status != license.StatusActive {
		t.Fatalf("new version %s (version %s, %s), want %s", doc.ID, doc.Version, doc.Status, next)
	}

	var got licenseDocument
	json.Unmarshal([]byte(off.get("/api/v1/licenses/"+old).body), &got)
	if got.Status != license.StatusSuperseded || got.SupersededBy != doc.ID || got.StatusReason != "changed" {
		t.Fatalf("old version answers %s (%s) by %q", got.Status, got.StatusReason, got.SupersededBy)
	}

	v := clerk.do("POST", "/api/v1/verify", "application/json", []byte(e.licA.Credential))
	var res verifier.Result
	if err := json.Unmarshal([]byte(v.body), &res); err != nil || v.status != http.StatusOK {
		t.Fatalf("verify: %d %s", v.status, v.body)
	}
	c, _ := res.Check("status")
	if res.Verdict != verifier.VerdictSuperseded || res.SupersededBy != doc.ID || !strings.Contains(c.Reason, "以 "+doc.ID+" 为准") {
		t.Fatalf("online verification of the old version: %s by %q, %q", res.Verdict, res.SupersededBy, c.Reason)
	}

	for _, tt := range []struct {
		name   string
		path   string
		body   string
		status int
		field  string
		want   string
	}{
		{"version of the superseded one", path, `{"kind":"change","fields":{"address":"上海市静安区另址2号"}}`, 409, "", "以 " + doc.ID + " 为准"},
		{"field breaks its type's rule", "/api/v1/licenses/" + doc.ID + "/versions", `{"kind":"change","fields":{"registeredCapital":"很多"}}`, 400, "fields.registeredCapital", "注册资本"},
		{"unknown member", "/api/v1/licenses/" + doc.ID + "/versions", `{"kind":"change","validity":"x"}`, 400, "validity", ""},
		{"second 营业执照", "/api/v1/licenses", func() string {
			typ, _ := e.reg.Catalog().Type(e.licA.TypeCode)
			rec := typ.Example(e.depts[0].USCC, e.depts[0].Name)
			b, _ := json.Marshal(registry.IssueRequest{TypeCode: typ.Code, Holder: registry.DemoEnterpriseName, HolderCode: registry.DemoEnterpriseCode, Jurisdiction: rec.Jurisdiction, Fields: rec.Fields})
			return string(b)
		}(), 409, "", doc.ID},
	} {
		before := e.treeSize()
		a := off.do("POST", tt.path, "application/json", []byte(tt.body))
		var body struct{ Code, Message, Field string }
		json.Unmarshal([]byte(a.body), &body)
		if a.status != tt.status || body.Field != tt.field || !strings.Contains(body.Message, tt.want) {
			t.Errorf("%s: %d %s, want %d field %q saying %q", tt.name, a.status, a.body, tt.status, tt.field, tt.want)
		}
		if e.treeSize() != before {
			t.Errorf("%s: refused, but the ledger grew", tt.name)
		}
	}
}

// The console's 变更 form: a bad field is named in Chinese and changes
// nothing; a change leads to the new version's page; the old page points to
// it and offers no form any more.
func TestConsoleVersionForm(t *testing.T) {
	e := newWebEnv(t)
	off := e.login("officer1")
	old := e.issueExample(0, 1, "网页变更有限公司", freshUSCC(t))
	page := "/console/licenses/" + old.Identifier
	if body := off.get(page).body; !strings.Contains(body, `action="/console/licenses/`+old.Identifier+`/versions"`) || !strings.Contains(body, "延续") {
		t.Fatal("the license page has no 变更/延续 form")
	}
	form := func(field, value string) url.Values {
		v := url.Values{"kind": {"change"}, "holder": {old.Record.Holder}}
		for k, val := range old.Record.Fields {
			v.Set("fields."+k, val)
		}
		v.Set(field, value)
		return v
	}
	before := e.treeSize()
	a := off.form(page+"/versions", form("fields.mainBusiness", "网吧"))
	if a.status != http.StatusBadRequest || !strings.Contains(a.body, "主体业态") || e.treeSize() != before {
		t.Fatalf("bad field: %d, names 主体业态: %v", a.status, strings.Contains(a.body, "主体业态"))
	}
	a = off.form(page+"/versions", form("fields.premises", "上海市静安区某路9号"))
	if a.status != http.StatusSeeOther {
		t.Fatalf("change: %d %s", a.status, snippet(a.body))
	}
	next := strings.TrimSuffix(strings.TrimPrefix(a.header.Get("Location"), "/console/licenses/"), "?versioned=1")
	if body := off.get(a.header.Get("Location")).body; !strings.Contains(body, "上海市静安区某路9号") || !strings.Contains(body, "新版本已签发") {
		t.Fatal("the new version's page does not show the change")
	}
	body := off.get(page).body
	if !strings.Contains(body, "以 <a href=\"/console/licenses/"+next) || strings.Contains(body, "/versions\"") {
		t.Fatal("the old version's page does not point to the new one, or still offers the form")
	}
	if a := off.form(page+"/versions", form("fields.premises", "又一处")); a.status != http.StatusConflict || !strings.Contains(a.body, next) {
		t.Fatalf("a version of the old one: %d", a.status)
	}
}

// A CSV import with two rows for one company issues the first and reports
// the second on its row, naming the license the company holds.
func TestImportOneActivePerRow(t *testing.T) {
	e := newWebEnv(t)
	off := e.login("officer1")
	lines := strings.Split(string(e.importCSV("甲公司", "甲公司（重复）")), "\n")
	first, second := strings.Split(lines[1], ","), strings.Split(lines[2], ",")
	second[1] = first[1] // the same USCC
	lines[2] = strings.Join(second, ",")
	a := off.upload("/console/import", map[string]string{"type": e.licA.TypeCode}, "file", "import.csv", []byte(strings.Join(lines, "\n")))
	if a.status != http.StatusSeeOther {
		t.Fatalf("import: %d %s", a.status, snippet(a.body))
	}
	job := a.header.Get("Location")
	if p := e.waitImport(off, job); p.Issued != 1 || p.Failed != 1 {
		t.Fatalf("import %+v, want 1 issued and 1 failed", p)
	}
	held, err := e.reg.List(context.Background(), registry.ListFilter{HolderCode: first[1]})
	if err != nil || len(held) != 1 {
		t.Fatalf("the company holds %d licenses, %v", len(held), err)
	}
	if csv := off.get(job + "/errors.csv").body; !strings.Contains(csv, held[0].Identifier) || !strings.Contains(csv, "变更") {
		t.Fatalf("errors.csv does not name %s: %s", held[0].Identifier, csv)
	}
}
