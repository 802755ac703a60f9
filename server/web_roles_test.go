package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"zhengzhao/license"
	"zhengzhao/registry"
)

// The roles every route is tried as. officer is department 0's officer
// (who issued licA), officerOther department 1's; holder owns licA,
// holderOther (the citizen) owns licB.
const (
	anon = iota
	admin
	officerOther
	officer
	clerk
	holderOther
	holder
	nRoles
)

var roleNames = [nRoles]string{"anonymous", "admin", "officer of another department", "officer", "clerk", "other holder", "holder"}

// TestEveryRouteEveryRole tries every route of the server as every role and
// anonymous, and fails when a route has no row. Roles are checked on the
// server: a refused request never changes the ledger. Routes that change
// state come after the reads they would disturb; within a row the allowed
// role goes last.
func TestEveryRouteEveryRole(t *testing.T) {
	e := newWebEnv(t)
	ctx := context.Background()
	clients := [nRoles]*webClient{anon: e.client(), admin: e.login("admin"), officerOther: e.login("officer2"),
		officer: e.login("officer1"), clerk: e.login("clerk1"), holderOther: e.login("citizen"), holder: e.login("enterprise")}
	// API tokens for the roles that have them, so the JSON API is in the same table.
	tok := func(a registry.Actor) string {
		s, err := e.reg.CreateToken(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	clients[admin].token = tok(registry.Actor{Role: registry.RoleAdmin, Name: "admin"})
	clients[officer].token = tok(registry.Actor{Role: registry.RoleIssuer, Department: e.depts[0].USCC, Name: "o1"})
	clients[officerOther].token = tok(registry.Actor{Role: registry.RoleIssuer, Department: e.depts[1].USCC, Name: "o2"})
	clients[clerk].token = tok(registry.Actor{Role: registry.RoleVerifier, Name: "c1"})

	a, b := e.licA.Identifier, e.licB.Identifier
	// A permit of department 0 that only the last role (the officer) changes.
	permit := e.issueExample(0, 1, "版本测试有限公司", freshUSCC(t)).Identifier
	permit2 := e.issueExample(0, 1, "网页变更有限公司", freshUSCC(t)).Identifier
	typeA := e.licA.TypeCode
	holderActor := registry.Actor{Role: registry.RoleHolder, HolderCode: registry.DemoEnterpriseCode}
	code, _, err := e.reg.GrantUseCode(ctx, holderActor, registry.UseCodeRequest{Identifier: a, Purpose: "办理许可", ServiceItem: "310100-SC-0001", Minutes: 30})
	if err != nil {
		t.Fatal(err)
	}
	_, toWithdraw, err := e.reg.GrantUseCode(ctx, holderActor, registry.UseCodeRequest{Identifier: a, Purpose: "办理许可", ServiceItem: "310100-SC-0001", Minutes: 30})
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(documentOf(e.licA).Document)
	window := url.Values{"service_item": {"310100-SC-0001"}, "purpose": {"核验营业执照"}}
	with := func(v url.Values, k, val string) url.Values {
		v = cloneValues(v)
		v.Set(k, val)
		return v
	}
	var job string // set by the import row, read by the job rows
	var failed int // failed sign-ins so far

	type req struct {
		method, route string // route: the pattern, as the router has it
		path          func() string
		send          func(w *webClient, path string) webAnswer
		want          [nRoles]int
	}
	get := func(w *webClient, p string) webAnswer { return w.get(p) }
	post := func(v url.Values) func(w *webClient, p string) webAnswer {
		return func(w *webClient, p string) webAnswer { return w.form(p, v) }
	}
	postJSON := func(body []byte) func(w *webClient, p string) webAnswer {
		return func(w *webClient, p string) webAnswer { return w.do("POST", p, "application/json", body) }
	}
	fixed := func(p string) func() string { return func() string { return p } }
	// Page statuses: anonymous GETs are sent to sign in (303), anonymous
	// POSTs get 401, other roles 403.
	only := func(role, ok int, anonStatus int) [nRoles]int {
		var w [nRoles]int
		for r := range w {
			w[r] = http.StatusForbidden
		}
		w[anon], w[role] = anonStatus, ok
		return w
	}
	all := func(s int) [nRoles]int {
		var w [nRoles]int
		for r := range w {
			w[r] = s
		}
		return w
	}
	officers := func(ok, other, anonStatus int) [nRoles]int {
		w := only(officer, ok, anonStatus)
		w[officerOther] = other
		return w
	}
	holders := func(ok, other int) [nRoles]int {
		w := only(holder, ok, http.StatusSeeOther)
		w[holderOther] = other
		return w
	}
	csv := e.importCSV("甲公司", "BAD", "乙公司")
	routes := []req{
		{"GET", "/", fixed("/"), get, all(http.StatusSeeOther)},
		{"GET", "/login", fixed("/login"), get, func() [nRoles]int { w := all(http.StatusSeeOther); w[anon] = 200; return w }()},
		{"POST", "/login", fixed("/login"), func(w *webClient, p string) webAnswer {
			failed++ // another user name each time, so throttling does not start
			return w.form(p, url.Values{"username": {"nobody" + strings.Repeat("x", failed)}, "password": {"wrong password"}})
		}, all(http.StatusUnauthorized)},
		{"GET", "/assets/*", fixed("/assets/style.css"), get, all(200)},
		{"GET", "/metrics", fixed("/metrics"), get, all(http.StatusNotFound)}, // not public: a token or an address of its own (TestMetricsAccess)
		{"GET", "/healthz", fixed("/healthz"), get, all(200)},
		{"RouteNotFound", "/*", fixed("/no-such-page"), get, all(404)},
		{"GET", "/api/v1/departments/:uscc/seal.png", fixed("/api/v1/departments/" + e.depts[0].USCC + "/seal.png"), get, all(200)},
		{"GET", "/api/v1/licenses/:id/pdf", fixed("/api/v1/licenses/" + a + "/pdf"), get, [nRoles]int{401, 200, 404, 200, 403, 401, 401}},
		{"GET", "/api/v1/licenses/:id/qr.png", fixed("/api/v1/licenses/" + a + "/qr.png"), get, [nRoles]int{401, 200, 404, 200, 403, 401, 401}},

		// The JSON API: bearer tokens (holders and anonymous have none).
		{"GET", "/api/v1/openapi.json", fixed("/api/v1/openapi.json"), get, all(200)},
		{"GET", "/api/v1/types", fixed("/api/v1/types"), get, all(200)},
		{"GET", "/api/v1/types/:code/example", fixed("/api/v1/types/" + typeA + "/example"), get, all(200)},
		{"GET", "/api/v1/bundle", fixed("/api/v1/bundle"), get, all(200)},
		{"GET", "/api/v1/trust", fixed("/api/v1/trust"), get, all(200)},
		{"GET", "/api/v1/reasons", fixed("/api/v1/reasons"), get, all(200)},
		{"GET", "/api/v1/log/consistency", fixed("/api/v1/log/consistency?from=1&to=2"), get, all(200)},
		{"GET", "/status/:uscc/message/:n", fixed("/status/" + e.depts[0].USCC + "/message/0"), get, all(200)},
		{"GET", "/api/v1/licenses/:id", fixed("/api/v1/licenses/" + a), get, [nRoles]int{401, 200, 404, 200, 403, 401, 401}},
		{"POST", "/api/v1/verify", fixed("/api/v1/verify"), postJSON(doc), [nRoles]int{401, 200, 200, 200, 200, 401, 401}},
		{"POST", "/api/v1/licenses", fixed("/api/v1/licenses"), func(w *webClient, p string) webAnswer {
			ex := e.s.reg.Catalog()
			typ, _ := ex.Type(typeA)
			rec := typ.Example(e.depts[0].USCC, e.depts[0].Name)
			body, _ := json.Marshal(registry.IssueRequest{TypeCode: typeA, Holder: rec.Holder, HolderCode: freshUSCC(t), Jurisdiction: rec.Jurisdiction, Fields: rec.Fields})
			return w.do("POST", p, "application/json", body)
		}, [nRoles]int{401, 403, 403, 201, 403, 401, 401}},
		{"POST", "/api/v1/import", fixed("/api/v1/import"), func(w *webClient, p string) webAnswer {
			typ, _ := e.s.reg.Catalog().Type(typeA)
			rec := typ.Example(e.depts[0].USCC, e.depts[0].Name)
			body, _ := json.Marshal(importBatchRequest{Type: typeA, Rows: []importBatchRow{{Row: 2, Request: registry.IssueRequest{Holder: rec.Holder, HolderCode: freshUSCC(t), Jurisdiction: rec.Jurisdiction, Fields: rec.Fields}}}})
			return w.do("POST", p, "application/json", body)
		}, [nRoles]int{401, 403, 403, 200, 403, 401, 401}},

		// Department console.
		{"GET", "/console", fixed("/console"), get, officers(200, 200, 303)},
		{"GET", "/console/issue", fixed("/console/issue"), get, officers(200, 200, 303)},
		{"GET", "/console/issue/:type", fixed("/console/issue/" + typeA), get, officers(200, 404, 303)},
		{"POST", "/console/issue/:type", fixed("/console/issue/" + typeA), post(e.issueForm("网页签发有限公司")), officers(303, 404, 401)},
		{"GET", "/console/licenses/:id", fixed("/console/licenses/" + a), get, officers(200, 404, 303)},
		{"GET", "/console/licenses/:id/pdf", fixed("/console/licenses/" + a + "/pdf"), get, officers(200, 404, 303)},
		{"GET", "/console/licenses/:id/qr.png", fixed("/console/licenses/" + a + "/qr.png"), get, officers(200, 404, 303)},
		{"GET", "/console/import", fixed("/console/import"), get, officers(200, 200, 303)},
		{"GET", "/console/import/template/:type", fixed("/console/import/template/" + typeA), get, officers(200, 404, 303)},
		{"POST", "/console/import", fixed("/console/import"), func(w *webClient, p string) webAnswer {
			ans := w.upload(p, map[string]string{"type": typeA}, "file", "import.csv", csv)
			if ans.status == http.StatusSeeOther {
				job = ans.header.Get("Location")
				e.waitImport(w, job)
			}
			return ans
		}, officers(303, 400, 401)},
		{"GET", "/console/import/:job", func() string { return job }, get, officers(200, 404, 303)},
		{"GET", "/console/import/:job/progress", func() string { return job + "/progress" }, get, officers(200, 404, 303)},
		{"GET", "/console/import/:job/errors.csv", func() string { return job + "/errors.csv" }, get, officers(200, 404, 303)},

		// Window.
		{"GET", "/window", fixed("/window"), get, only(clerk, 200, 303)},
		{"POST", "/window/verify", fixed("/window/verify"), post(with(window, "payload", string(doc))), only(clerk, 200, 401)},
		{"POST", "/window/duty", fixed("/window/duty"), post(with(window, "holder_code", registry.DemoEnterpriseCode)), only(clerk, 200, 401)},
		{"POST", "/window/redeem", fixed("/window/redeem"), post(with(window, "code", code)), only(clerk, 200, 401)},

		// Wallet.
		{"GET", "/wallet", fixed("/wallet"), get, holders(200, 200)},
		{"GET", "/wallet/licenses/:id", fixed("/wallet/licenses/" + a), get, holders(200, 404)},
		{"GET", "/wallet/licenses/:id/credential.json", fixed("/wallet/licenses/" + a + "/credential.json"), get, holders(200, 404)},
		{"GET", "/wallet/licenses/:id/pdf", fixed("/wallet/licenses/" + a + "/pdf"), get, holders(200, 404)},
		{"GET", "/wallet/licenses/:id/qr.png", fixed("/wallet/licenses/" + a + "/qr.png"), get, holders(200, 404)},
		{"GET", "/wallet/licenses/:id/live.json", fixed("/wallet/licenses/" + a + "/live.json"), get, holders(200, 404)},
		{"GET", "/wallet/download", fixed("/wallet/download"), get, holders(200, 200)},
		{"GET", "/wallet/records", fixed("/wallet/records"), get, holders(200, 200)},
		{"GET", "/wallet/records.csv", fixed("/wallet/records.csv"), get, holders(200, 200)},
		{"GET", "/wallet/records.pdf", fixed("/wallet/records.pdf"), get, holders(200, 200)},
		{"GET", "/wallet/records.json", fixed("/wallet/records.json"), get, holders(200, 200)},
		{"POST", "/wallet/licenses/:id/grant", fixed("/wallet/licenses/" + a + "/grant"), post(url.Values{"service_item": {"310100-SC-0001"}, "purpose": {"办理许可"}, "minutes": {"10"}}), func() [nRoles]int {
			w := holders(200, 404)
			w[anon] = 401
			return w
		}()},
		{"POST", "/wallet/codes/:id/revoke", fixed("/wallet/codes/" + toWithdraw.ID + "/revoke"), post(nil), func() [nRoles]int {
			w := holders(303, 404)
			w[anon] = 401
			return w
		}()},

		// Admin.
		{"GET", "/admin", fixed("/admin"), get, only(admin, 200, 303)},
		{"GET", "/admin/catalog", fixed("/admin/catalog"), get, only(admin, 200, 303)},
		{"GET", "/contexts/zhengzhao/v1", fixed("/contexts/zhengzhao/v1"), get, all(200)},
		{"GET", "/api/v1/catalog/types", fixed("/api/v1/catalog/types"), get, all(200)},
		{"POST", "/api/v1/catalog/types", fixed("/api/v1/catalog/types"), postJSON([]byte(catalogDef("072", "备注"))), [nRoles]int{401, 201, 403, 403, 403, 401, 401}},
		{"POST", "/api/v1/catalog/types/:code/versions", fixed("/api/v1/catalog/types/11100000000013338W072/versions"), postJSON([]byte(catalogDef("072", "备注说明"))), [nRoles]int{401, 201, 403, 403, 403, 401, 401}},
		{"POST", "/admin/catalog/types", fixed("/admin/catalog/types"), post(url.Values{"definition": {catalogDef("073", "备注")}}), only(admin, 303, 401)},
		{"POST", "/admin/catalog/types/:code/versions", fixed("/admin/catalog/types/11100000000013338W073/versions"), post(url.Values{"definition": {catalogDef("073", "备注说明")}}), only(admin, 303, 401)},
		{"GET", "/admin/users", fixed("/admin/users"), get, only(admin, 200, 303)},
		{"GET", "/admin/reports", fixed("/admin/reports"), get, only(admin, 200, 303)},
		{"GET", "/admin/reports.csv", fixed("/admin/reports.csv"), get, only(admin, 200, 303)},
		{"GET", "/admin/audit", fixed("/admin/audit"), get, only(admin, 200, 303)},
		{"POST", "/admin/users", fixed("/admin/users"), post(url.Values{"username": {"clerk9"}, "password": {"a long password"}, "name": {"王五"}, "role": {"verifier"}, "hall": {"静安区 1号窗口"}}), only(admin, 303, 401)},
		{"POST", "/admin/users/:id/disabled", func() string { return "/admin/users/" + fmt.Sprint(accountID(t, e, "clerk2")) + "/disabled" }, post(url.Values{"disabled": {"1"}}), only(admin, 303, 401)},
		{"POST", "/admin/users/password", fixed("/admin/users/password"), post(url.Values{"username": {"clerk2"}, "password": {"a reset passphrase"}}), only(admin, 303, 401)},
		{"GET", "/admin/tokens", fixed("/admin/tokens"), get, only(admin, 200, 303)},
		{"POST", "/admin/tokens", fixed("/admin/tokens"), post(url.Values{"name": {"窗口系统"}, "role": {"verifier"}, "days": {"30"}}), only(admin, 201, 401)},
		{"POST", "/admin/tokens/:id/revoke", func() string {
			_, tk, err := e.reg.AddToken(ctx, registry.Actor{Role: registry.RoleAdmin, Name: "t"}, registry.NewToken{Name: "t", Role: registry.RoleVerifier, ExpiresAt: time.Now().Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			return "/admin/tokens/" + tk.ID + "/revoke"
		}, post(nil), only(admin, 303, 401)},
		{"GET", "/account/password", fixed("/account/password"), get, func() [nRoles]int { w := all(200); w[anon] = 303; return w }()},
		{"POST", "/account/password", fixed("/account/password"), post(url.Values{"old_password": {"not the password"}, "password": {"a new passphrase"}, "password_again": {"a new passphrase"}}), func() [nRoles]int { w := all(400); w[anon] = 401; return w }()},
		// The 用证清单: items readable with any token, written by the admin only.
		{"GET", "/api/v1/service-items", fixed("/api/v1/service-items"), get, [nRoles]int{401, 200, 200, 200, 200, 401, 401}},
		{"GET", "/api/v1/service-items/:code", fixed("/api/v1/service-items/310100-SC-0001"), get, [nRoles]int{401, 200, 200, 200, 200, 401, 401}},
		{"POST", "/api/v1/service-items", fixed("/api/v1/service-items"), postJSON([]byte(`{"code":"310100-RT-0001","name":"角色测试事项","licenses":[{"type":"` + typeA + `","fields":["address"]}]}`)), [nRoles]int{401, 201, 403, 403, 403, 401, 401}},
		{"PUT", "/api/v1/service-items/:code", fixed("/api/v1/service-items/310100-RT-0001"), func(w *webClient, p string) webAnswer {
			return w.do("PUT", p, "application/json", []byte(`{"name":"角色测试事项","licenses":[{"type":"`+typeA+`","fields":["address"]}]}`))
		}, [nRoles]int{401, 200, 403, 403, 403, 401, 401}},
		{"GET", "/api/v1/service-halls", fixed("/api/v1/service-halls"), get, [nRoles]int{401, 200, 403, 403, 403, 401, 401}},
		{"PUT", "/api/v1/service-halls/:name", fixed("/api/v1/service-halls/" + url.PathEscape("角色测试大厅")), func(w *webClient, p string) webAnswer {
			return w.do("PUT", p, "application/json", []byte(`{"items":["310100-RT-0001"]}`))
		}, [nRoles]int{401, 200, 403, 403, 403, 401, 401}},
		{"GET", "/admin/items", fixed("/admin/items"), get, only(admin, 200, 303)},
		{"GET", "/admin/items/:code", fixed("/admin/items/310100-SC-0001"), get, only(admin, 200, 303)},
		{"POST", "/admin/items", fixed("/admin/items"), post(url.Values{"code": {"310100-RT-0002"}, "name": {"页面角色测试"}, "f." + typeA: {"address"}}), only(admin, 303, 401)},
		{"POST", "/admin/items/:code", fixed("/admin/items/310100-RT-0002"), post(url.Values{"name": {"页面角色测试"}, "f." + typeA: {"address", "businessScope"}}), only(admin, 303, 401)},
		{"GET", "/admin/halls", fixed("/admin/halls"), get, only(admin, 200, 303)},
		{"POST", "/admin/halls", fixed("/admin/halls"), post(url.Values{"hall": {"角色测试大厅"}, "items": {"310100-RT-0002"}}), only(admin, 303, 401)},
		{"POST", "/admin/departments", fixed("/admin/departments"), post(url.Values{"uscc": {withCheck("11310000MB2F00099")}, "name": {"上海市数据局"}, "types": {e.reg.Catalog().Types()[len(e.reg.Catalog().Types())-1].Code}}), only(admin, 303, 401)},

		{"POST", "/api/v1/departments/:uscc/keys", fixed("/api/v1/departments/" + e.depts[1].USCC + "/keys"), postJSON(nil), [nRoles]int{401, 201, 403, 403, 403, 401, 401}},
		{"POST", "/admin/departments/:uscc/rotate", fixed("/admin/departments/" + e.depts[2].USCC + "/rotate"), post(nil), only(admin, 303, 401)},
		{"POST", "/admin/departments/:uscc/keys/:keyid/revoke", fixed("/admin/departments/" + e.depts[4].USCC + "/keys/" + e.depts[4].Keys[0].KeyID + "/revoke"),
			post(url.Values{"compromised_from": {time.Now().In(license.ChinaTime).Add(-time.Hour).Format("2006-01-02T15:04")}, "reason": {"key_compromise"}}), only(admin, 303, 401)},
		{"POST", "/api/v1/departments/:uscc/keys/:keyid/revoke", fixed("/api/v1/departments/" + e.depts[3].USCC + "/keys/" + e.depts[3].Keys[0].KeyID + "/revoke"),
			postJSON([]byte(`{"reason":"key_compromise"}`)), [nRoles]int{401, 200, 403, 403, 403, 401, 401}},

		// State changes last: a new version, a status change, then signing out.
		{"POST", "/api/v1/licenses/:id/versions", fixed("/api/v1/licenses/" + permit + "/versions"), postJSON([]byte(`{"kind":"change","fields":{"premises":"上海市静安区某路8号"}}`)), [nRoles]int{401, 403, 404, 201, 403, 401, 401}},
		{"POST", "/api/v1/licenses/:id/status", fixed("/api/v1/licenses/" + b + "/status"), postJSON([]byte(`{"status":"suspended","reason":"under_investigation"}`)), [nRoles]int{401, 403, 404, 404, 403, 401, 401}},
		{"POST", "/console/licenses/:id/versions", fixed("/console/licenses/" + permit2 + "/versions"), post(url.Values{"kind": {"change"}, "holder": {"网页变更有限公司"}, "fields.premises": {"上海市静安区某路9号"}}), officers(303, 404, 401)},
		{"POST", "/console/licenses/:id/status", fixed("/console/licenses/" + a + "/status"), post(url.Values{"status": {"suspended"}, "reason": {"under_investigation"}}), officers(303, 404, 401)},
		{"POST", "/logout", fixed("/logout"), post(nil), all(http.StatusSeeOther)},
	}

	order := [nRoles]int{anon, admin, officerOther, clerk, holderOther, holder, officer}
	covered := map[string]bool{}
	for _, r := range routes {
		covered[r.method+" "+r.route] = true
		for _, who := range order {
			before := e.treeSize()
			p := r.path()
			got := r.send(clients[who], p)
			if got.status != r.want[who] {
				t.Errorf("%s %s as %s: %d, want %d\n%s", r.method, p, roleNames[who], got.status, r.want[who], snippet(got.body))
			}
			if got.status >= 300 && got.status != http.StatusSeeOther && e.treeSize() != before {
				t.Errorf("%s %s as %s: refused (%d) but the ledger grew", r.method, p, roleNames[who], got.status)
			}
			if got.status == http.StatusForbidden && strings.Contains(got.header.Get("Content-Type"), "text/html") && !strings.Contains(got.body, "无权") {
				t.Errorf("%s %s as %s: 403 page does not say why", r.method, p, roleNames[who])
			}
		}
	}
	for _, ri := range e.s.echo.Router().Routes() {
		if !covered[ri.Method+" "+ri.Path] && !strings.HasPrefix(ri.Name, "echo_route_") {
			t.Errorf("route %s %s has no row in the role table", ri.Method, ri.Path)
		}
	}
	// The holder-only views never showed the other holder's license.
	for _, p := range []string{"/wallet", "/wallet/download"} {
		w := e.login("citizen")
		if body := w.get(p).body; strings.Contains(body, a) || strings.Contains(body, registry.DemoEnterpriseCode) {
			t.Errorf("%s of the citizen shows the enterprise's license", p)
		}
	}
}

func snippet(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// withCheck completes a 17-character USCC prefix with its check character.
func withCheck(prefix string) string {
	const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	sum := 0
	w := 1
	for i := 0; i < 17; i++ {
		sum += strings.IndexByte(alphabet, prefix[i]) * w
		w = w * 3 % 31
	}
	return prefix + string(alphabet[(31-sum%31)%31])
}

// accountID finds a demo account's id.
func accountID(t *testing.T, e *webEnv, username string) int64 {
	accts, err := e.reg.Accounts(context.Background(), registry.Actor{Role: registry.RoleAdmin, Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accts {
		if a.Username == username {
			return a.ID
		}
	}
	t.Fatalf("no account %s", username)
	return 0
}
