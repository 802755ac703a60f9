package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"zhengzhao/credential"
	"zhengzhao/license"
	"zhengzhao/registry"
)

const apiFilingType = `{
  "code": "11100000000013338W071",
  "name": "网络餐饮服务第三方平台备案凭证",
  "authority": "国家市场监督管理总局",
  "authorityUSCC": "11100000000013338W",
  "authorityUSCCSource": "real",
  "holderKind": "organization",
  "validityYears": 3,
  "fields": [
    {"key": "platformName", "label": "平台名称", "type": "string", "required": true, "example": "麓山外卖"},
    {"key": "filingNumber", "label": "备案编号", "type": "string", "required": true, "pattern": "WC[0-9]{8}", "example": "WC20240001"},
    {"key": "remark", "label": "备注", "type": "string"}
  ]
}`

type apiErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
	Errors  []struct {
		Field, Rule, Message string
	} `json:"errors"`
}

func TestCatalogAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	// Only the admin adds types: an issuing officer and a window clerk get
	// 403, no token 401; nothing reaches the ledger.
	size := e.treeSize()
	for _, tok := range []string{e.issuers[0], e.verifier} {
		if a := e.do("POST", "/api/v1/catalog/types", tok, []byte(apiFilingType)); a.status != 403 {
			t.Fatalf("non-admin POST /catalog/types: %d %s, want 403", a.status, a.body)
		}
	}
	if a := e.do("POST", "/api/v1/catalog/types", "", []byte(apiFilingType)); a.status != 401 {
		t.Fatalf("anonymous POST /catalog/types: %d, want 401", a.status)
	}
	if got := e.treeSize(); got != size {
		t.Fatalf("refused requests changed the ledger: %d entries, had %d", got, size)
	}

	a := e.do("POST", "/api/v1/catalog/types", e.admin, []byte(apiFilingType))
	if a.status != 201 {
		t.Fatalf("admin POST /catalog/types: %d %s", a.status, a.body)
	}
	var added struct {
		Code       string          `json:"code"`
		Version    int             `json:"version"`
		Digest     string          `json:"digest"`
		Anchored   bool            `json:"anchored"`
		Definition json.RawMessage `json:"definition"`
	}
	a.decode(t, &added)
	if added.Version != 1 || !added.Anchored || len(added.Digest) != 64 || len(added.Definition) == 0 {
		t.Fatalf("added = %+v", added)
	}
	if got := e.treeSize(); got != size+1 {
		t.Fatalf("ledger has %d entries after adding a type, want %d", got, size+1)
	}
	// The public type list now offers it, and the example endpoint works.
	if a := e.do("GET", "/api/v1/types/11100000000013338W071/example", "", nil); a.status != 200 {
		t.Fatalf("example of the new type: %d %s", a.status, a.body)
	}

	// Issue one with a remark, so the field is in use.
	uscc, _ := license.CompleteUSCC("11310000002507031")
	admin := registry.Actor{Role: registry.RoleAdmin, Name: "admin"}
	if _, err := e.reg.RegisterDepartment(ctx, admin, uscc, "上海市市场监督管理局网络交易监督管理处", []string{"11100000000013338W071"}); err != nil {
		t.Fatal(err)
	}
	officer, _ := e.reg.CreateToken(ctx, registry.Actor{Role: registry.RoleIssuer, Department: uscc, Name: "officer"})
	holder, _ := license.CompleteUSCC("91310000000000421")
	req := `{"type": "11100000000013338W071", "holder": "上海麓山网络科技有限公司", "holderCode": "` + holder + `", "jurisdiction": "310000",
		"fields": {"platformName": "麓山外卖", "filingNumber": "WC20240001", "remark": "首次备案"}}`
	if a := e.do("POST", "/api/v1/licenses", officer, []byte(req)); a.status != 201 {
		t.Fatalf("issue of the admin's type: %d %s", a.status, a.body)
	}

	bad := []struct {
		name, path, body string
		status           int
		field, rule      string
		says             []string
	}{
		{"broken pattern", "/api/v1/catalog/types/11100000000013338W071/versions",
			strings.Replace(apiFilingType, `WC[0-9]{8}`, `WC[0-9{8}`, 1), 400, "fields[1].pattern", "pattern", []string{"备案编号", "无法编译"}},
		{"removed field in use", "/api/v1/catalog/types/11100000000013338W071/versions",
			strings.Replace(apiFilingType, `,
    {"key": "remark", "label": "备注", "type": "string"}`, "", 1), 400, "fields[2]", "in_use", []string{"备注", "remark", "不能删除"}},
		{"invalid type code", "/api/v1/catalog/types",
			strings.Replace(apiFilingType, `11100000000013338W071`, `11100000000013338W07A`, 1), 400, "code", "charset", []string{"类型代码", "3 位数字"}},
		{"existing code as a new type", "/api/v1/catalog/types", apiFilingType, 409, "", "", []string{"已存在"}},
		{"version of an unknown type", "/api/v1/catalog/types/11100000000013338W072/versions",
			strings.Replace(apiFilingType, `W071`, `W072`, 1), 404, "", "", nil},
	}
	size = e.treeSize()
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			a := e.do("POST", b.path, e.admin, []byte(b.body))
			if a.status != b.status {
				t.Fatalf("%d %s, want %d", a.status, a.body, b.status)
			}
			var eb apiErrorBody
			a.decode(t, &eb)
			msg := eb.Message
			if b.field != "" {
				found := false
				for _, fe := range eb.Errors {
					if fe.Field == b.field && fe.Rule == b.rule {
						found, msg = true, fe.Message
					}
				}
				if !found {
					t.Fatalf("errors %+v lack field %s rule %s", eb.Errors, b.field, b.rule)
				}
			}
			for _, s := range b.says {
				if !strings.Contains(msg, s) {
					t.Errorf("message %q does not say %q", msg, s)
				}
			}
		})
	}
	if got := e.treeSize(); got != size {
		t.Fatalf("refused edits changed the ledger: %d entries, had %d", got, size)
	}

	// A valid new version: 201, version 2, both versions listed.
	v2 := strings.Replace(apiFilingType, `"label": "备注"`, `"label": "备注说明"`, 1)
	if a := e.do("POST", "/api/v1/catalog/types/11100000000013338W071/versions", e.admin, []byte(v2)); a.status != 201 {
		t.Fatalf("new version: %d %s", a.status, a.body)
	}
	var list []struct {
		Code    string `json:"code"`
		Version int    `json:"version"`
	}
	e.do("GET", "/api/v1/catalog/types", "", nil).decode(t, &list)
	var versions []int
	for _, tv := range list {
		if tv.Code == "11100000000013338W071" {
			versions = append(versions, tv.Version)
		}
	}
	if len(versions) != 2 || versions[0] != 1 || versions[1] != 2 {
		t.Fatalf("listed versions of the new type = %v, want [1 2]", versions)
	}
}

func TestJSONLDContextServed(t *testing.T) {
	e := newEnv(t)
	resp, body := e.getWith(credential.ContextPath, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/ld+json" {
		t.Fatalf("GET %s: %d %s", credential.ContextPath, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !bytes.Equal(body, credential.ZhengzhaoContext()) {
		t.Fatalf("served context differs from the embedded one")
	}
	var doc struct {
		Context map[string]any `json:"@context"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Context["ElectronicLicense"] == nil {
		t.Fatalf("served context does not define ElectronicLicense: %v", err)
	}
}
