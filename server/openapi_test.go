package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"zhengzhao/registry"
)

// TestOpenAPIMatchesRoutes: the document served at /api/v1/openapi.json
// names exactly the /api/v1 routes the server has, method by method.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newWebEnv(t)
	a := e.client().get("/api/v1/openapi.json")
	if a.status != 200 {
		t.Fatalf("openapi.json: %d", a.status)
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal([]byte(a.body), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi version %q", doc.OpenAPI)
	}
	var documented []string
	for p, ops := range doc.Paths {
		for m := range ops {
			documented = append(documented, strings.ToUpper(m)+" "+p)
		}
	}
	param := regexp.MustCompile(`:([a-zA-Z]+)`)
	var served []string
	for _, r := range e.s.echo.Router().Routes() {
		if strings.HasPrefix(r.Path, "/api/v1/") {
			served = append(served, r.Method+" "+param.ReplaceAllString(r.Path, "{$1}"))
		}
	}
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Errorf("OpenAPI paths differ from the routes:\n documented %v\n served     %v", documented, served)
	}
}

// TestMetrics: issues and verifications by verdict are counted, and every
// request is timed by its route pattern.
func TestMetrics(t *testing.T) {
	e := newWebEnv(t)
	off, clerk := e.login("officer1"), e.login("clerk1")
	if a := off.form("/console/issue/"+e.licA.TypeCode, e.issueForm("甲公司")); a.status != 303 {
		t.Fatalf("issue: %d", a.status)
	}
	clerk.form("/window/verify", map[string][]string{"service_item": {"310100-SC-0001"}, "purpose": {"核验"}, "payload": {"not a credential"}})
	rec := httptest.NewRecorder()
	e.s.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	m := rec.Body.String()
	for _, want := range []string{
		"zhengzhao_licenses_issued_total 1",
		`zhengzhao_verifications_total{verdict="invalid"} 1`,
		`zhengzhao_http_request_duration_seconds_count{method="POST",route="/console/issue/:type",status="303"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestLogsCarryNoPersonalData runs the consent story with logging on and
// looks for holder names, holder codes, use codes and passwords in the log.
func TestLogsCarryNoPersonalData(t *testing.T) {
	var buf bytes.Buffer
	e := newWebEnvLogging(t, slog.New(slog.NewJSONHandler(&buf, nil)))
	ent, clerk := e.login("enterprise"), e.login("clerk1")
	e.login("citizen")
	g := ent.form("/wallet/licenses/"+e.licA.Identifier+"/grant", url.Values{"service_item": {"310100-SC-0001"}, "purpose": {"办理食品经营许可"}, "minutes": {"10"}})
	m := useCodeRE.FindStringSubmatch(g.body)
	if m == nil {
		t.Fatalf("grant: %d", g.status)
	}
	clerk.form("/window/redeem", url.Values{"service_item": {"310100-SC-0001"}, "purpose": {"核验"}, "code": {m[1]}})
	clerk.form("/window/duty?holder_code="+registry.DemoCitizenID, url.Values{"service_item": {"310100-WJ-0001"}, "purpose": {"登记"}, "holder_code": {registry.DemoCitizenID}})
	log := buf.String()
	if !strings.Contains(log, `"msg":"use code redeemed"`) || !strings.Contains(log, `"route":"/window/redeem"`) {
		t.Fatalf("the log lacks the expected lines:\n%s", log)
	}
	for _, secret := range []string{registry.DemoEnterpriseCode, registry.DemoEnterpriseName, registry.DemoCitizenID, registry.DemoCitizenName,
		m[1], e.logins["enterprise"].Password, e.logins["clerk1"].Password, "长沙市政务服务中心"} {
		if strings.Contains(log, secret) {
			t.Errorf("the log contains %q", secret)
		}
	}
}
