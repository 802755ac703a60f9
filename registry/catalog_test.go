package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/piprate/json-gold/ld"

	"zhengzhao/credential"
	"zhengzhao/license"
	"zhengzhao/registry"
	"zhengzhao/verifier"
)

// filingType is a license type the admin defines: the catalog has no such
// type built in.
const filingType = `{
  "code": "11100000000013338W071",
  "name": "网络餐饮服务第三方平台备案凭证",
  "authority": "国家市场监督管理总局",
  "authorityUSCC": "11100000000013338W",
  "authorityUSCCSource": "real",
  "holderKind": "organization",
  "validityYears": 3,
  "maxValidityYears": 5,
  "fields": [
    {"key": "platformName", "label": "平台名称", "type": "string", "required": true, "maxLen": 100, "example": "麓山外卖"},
    {"key": "filingNumber", "label": "备案编号", "type": "string", "required": true, "pattern": "WC[0-9]{8}", "example": "WC20240001"},
    {"key": "serviceScope", "label": "服务范围", "type": "enum", "enum": ["全国", "省内"]},
    {"key": "remark", "label": "备注", "type": "string"}
  ]
}`

const filingCode = "11100000000013338W071"

// editType returns filingType changed by edit, as JSON.
func editType(t testing.TB, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(filingType), &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fields returns the field list of a type definition map.
func fieldsOf(m map[string]any) []any { return m["fields"].([]any) }

// filingDept registers a department that issues the admin's type.
func filingDept(t testing.TB, w *world) registry.Actor {
	t.Helper()
	uscc, err := license.CompleteUSCC("11310000002507031")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.reg.RegisterDepartment(context.Background(), w.admin, uscc, "上海市市场监督管理局网络交易监督管理处", []string{filingCode}); err != nil {
		t.Fatalf("RegisterDepartment with the admin's type: %v", err)
	}
	return registry.Actor{Role: registry.RoleIssuer, Department: uscc, Name: "officer"}
}

func issueFiling(t testing.TB, w *world, officer registry.Actor, fields map[string]string) *registry.License {
	t.Helper()
	lic, err := w.reg.Issue(context.Background(), officer, registry.IssueRequest{
		TypeCode: filingCode, Holder: "上海麓山网络科技有限公司", HolderCode: newHolderUSCC(t, holderSeq.Add(1)),
		Jurisdiction: "310000", Fields: fields,
	})
	if err != nil {
		t.Fatalf("issue of the admin's type: %v", err)
	}
	return lic
}

func TestAdminAddsTypeIssuesAndVerifiesOffline(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	before := w.treeSize()
	tv, err := w.reg.AddType(ctx, w.admin, []byte(filingType))
	if err != nil {
		t.Fatalf("AddType: %v", err)
	}
	if tv.Version != 1 || !tv.Anchored || len(tv.Digest) != 64 {
		t.Fatalf("AddType = version %d, anchored %v, digest %q; want version 1, anchored, a hex SM3 digest", tv.Version, tv.Anchored, tv.Digest)
	}
	if got := w.treeSize(); got != before+1 {
		t.Fatalf("ledger grew from %d to %d entries, want one catalog.type event", before, got)
	}
	if recs, _, err := w.reg.AuditRecords(ctx, w.admin, registry.RecordFilter{Action: registry.ActionCatalog}); err != nil || len(recs) != 1 || !strings.Contains(recs[0].Reason, "version 1") {
		t.Fatalf("catalog records %+v %v, want the admin's new type", recs, err)
	}

	officer := filingDept(t, w)
	lic := issueFiling(t, w, officer, map[string]string{"platformName": "麓山外卖", "filingNumber": "WC20240001", "serviceScope": "全国"})
	if lic.Record.TypeVersion != 1 || lic.Record.Name != "网络餐饮服务第三方平台备案凭证" {
		t.Fatalf("issued record: type version %d, name %q", lic.Record.TypeVersion, lic.Record.Name)
	}
	if lic.Record.ValidUntil == "" {
		t.Fatalf("the type's default validity of 3 years was not applied: %+v", lic.Record)
	}

	// A fresh bundle carries the admin's type; offline verification names it.
	b := w.bundle()
	var carried *verifier.BundleType
	for i := range b.Types {
		if b.Types[i].Code == filingCode {
			carried = &b.Types[i]
		}
	}
	if carried == nil || carried.Version != 1 || carried.Digest != tv.Digest || carried.Name != "网络餐饮服务第三方平台备案凭证" {
		t.Fatalf("bundle type = %+v, want version 1 with digest %s", carried, tv.Digest)
	}
	res, err := verifier.Verify(ctx, docOf(t, lic), b, verifier.Policy{At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Valid || res.TypeName != "网络餐饮服务第三方平台备案凭证" {
		t.Fatalf("offline verdict %s, type name %q; checks %+v", res.Verdict, res.TypeName, res.Checks)
	}

	// A bundle whose catalog lacks the type reports it, not a silent pass.
	var kept []verifier.BundleType
	for _, bt := range b.Types {
		if bt.Code != filingCode {
			kept = append(kept, bt)
		}
	}
	b2 := *w.bundle()
	b2.Types = kept
	if err := b2.Prepare(); err != nil {
		t.Fatal(err)
	}
	res, err = verifier.Verify(ctx, docOf(t, lic), &b2, verifier.Policy{At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Valid {
		t.Fatalf("a credential of a type the bundle does not list verified valid")
	}
	if c := checkNamed(res, verifier.NameType); c == nil || c.Status != verifier.CheckFail || !strings.Contains(c.Reason, filingCode) {
		t.Fatalf("type check = %+v, want a failure naming %s", c, filingCode)
	}

	// A bundle whose type definition was altered after signing is refused.
	b3 := *w.bundle()
	b3.Types = append([]verifier.BundleType(nil), b.Types...)
	for i := range b3.Types {
		if b3.Types[i].Code == filingCode {
			b3.Types[i].Definition = json.RawMessage(strings.Replace(string(b3.Types[i].Definition), "备案编号", "许可编号", 1))
		}
	}
	if err := b3.Prepare(); !errors.Is(err, verifier.ErrBundle) {
		t.Fatalf("a type definition not matching its digest: Prepare = %v, want ErrBundle", err)
	}
}

func checkNamed(r *verifier.Result, name string) *verifier.Check {
	for i := range r.Checks {
		if r.Checks[i].Name == name {
			return &r.Checks[i]
		}
	}
	return nil
}

func TestTypeVersionKeepsOldLicenses(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if _, err := w.reg.AddType(ctx, w.admin, []byte(filingType)); err != nil {
		t.Fatal(err)
	}
	officer := filingDept(t, w)
	old := issueFiling(t, w, officer, map[string]string{"platformName": "麓山外卖", "filingNumber": "WC20240001"})

	// Version 2: a new optional field and a relabelled one.
	v2 := editType(t, func(m map[string]any) {
		m["name"] = "网络餐饮服务平台备案凭证"
		f := fieldsOf(m)
		f[0].(map[string]any)["label"] = "平台名称（网站或应用）"
		m["fields"] = append(f, map[string]any{"key": "icpNumber", "label": "ICP 备案号", "type": "string"})
	})
	tv, err := w.reg.AddTypeVersion(ctx, w.admin, filingCode, v2)
	if err != nil {
		t.Fatalf("AddTypeVersion: %v", err)
	}
	if tv.Version != 2 {
		t.Fatalf("new version = %d, want 2", tv.Version)
	}
	cur := issueFiling(t, w, officer, map[string]string{"platformName": "麓山外卖", "filingNumber": "WC20240002", "icpNumber": "沪ICP备2024000001号"})
	if cur.Record.TypeVersion != 2 {
		t.Fatalf("a new issue has type version %d, want the latest, 2", cur.Record.TypeVersion)
	}

	// Reopened, the registry reads the catalog from its store.
	w.close()
	w.open()
	got, err := w.reg.Get(ctx, old.Identifier)
	if err != nil {
		t.Fatal(err)
	}
	if got.Record.TypeVersion != 1 {
		t.Fatalf("the license issued before the edit has type version %d, want 1", got.Record.TypeVersion)
	}
	if typ, _ := w.reg.Catalog().Type(filingCode); typ.Version != 2 || typ.Fields[0].Label != "平台名称（网站或应用）" {
		t.Fatalf("after reopening, the latest type = version %d, first label %q", typ.Version, typ.Fields[0].Label)
	}
	if v1, ok := w.reg.Catalog().TypeVersion(filingCode, 1); !ok || v1.Fields[0].Label != "平台名称" {
		t.Fatalf("after reopening, version 1 = %+v, %v", v1, ok)
	}
	// Offline, each license is named by its own type version.
	b := w.bundle()
	for _, c := range []struct {
		lic  *registry.License
		name string
	}{{got, "网络餐饮服务第三方平台备案凭证"}, {cur, "网络餐饮服务平台备案凭证"}} {
		res, err := verifier.Verify(ctx, docOf(t, c.lic), b, verifier.Policy{At: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Valid || res.TypeName != c.name {
			t.Fatalf("type version %d license: verdict %s, type name %q, want %q; checks %+v", c.lic.Record.TypeVersion, res.Verdict, res.TypeName, c.name, res.Checks)
		}
		// Its PDF is drawn with its own version's labels: the verifier
		// reads the face back against that version.
		if res := w.verifyPDF(c.lic.Identifier); !res.Valid || res.TypeName != c.name {
			t.Fatalf("PDF of the type version %d license: verdict %s, type name %q; checks %+v", c.lic.Record.TypeVersion, res.Verdict, res.TypeName, res.Checks)
		}
	}
}

func TestCatalogBadEditsRefused(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if _, err := w.reg.AddType(ctx, w.admin, []byte(filingType)); err != nil {
		t.Fatal(err)
	}
	officer := filingDept(t, w)
	issueFiling(t, w, officer, map[string]string{"platformName": "麓山外卖", "filingNumber": "WC20240001", "remark": "首次备案"})
	issueFiling(t, w, officer, map[string]string{"platformName": "岳麓到家", "filingNumber": "WC20240002"})

	bad := []struct {
		name        string
		version     bool // AddTypeVersion, else AddType
		def         []byte
		field, rule string
		says        []string // the Chinese message names the field and the rule
	}{
		{"broken pattern", true, editType(t, func(m map[string]any) {
			fieldsOf(m)[1].(map[string]any)["pattern"] = "WC[0-9{8}"
		}), "fields[1].pattern", "pattern", []string{"备案编号", "filingNumber", "正则表达式", "无法编译"}},
		{"removed field in use", true, editType(t, func(m map[string]any) {
			f := fieldsOf(m)
			m["fields"] = append(f[:3:3], map[string]any{"key": "note", "label": "说明", "type": "string"})
		}), "fields[3]", "in_use", []string{"备注", "remark", "1 份现有证照使用", "不能删除"}},
		{"removed required field in use", true, editType(t, func(m map[string]any) {
			m["fields"] = fieldsOf(m)[1:]
		}), "fields[0]", "in_use", []string{"平台名称", "platformName", "2 份现有证照使用", "不能删除"}},
		{"newly required, some licenses lack it", true, editType(t, func(m map[string]any) {
			fieldsOf(m)[3].(map[string]any)["required"] = true
		}), "fields.remark.required", "in_use", []string{"备注", "remark", "1 份现有证照中没有填写", "不能改为必填"}},
		{"not a type code", false, editType(t, func(m map[string]any) {
			m["code"] = "11100000000013338W07"
		}), "code", "length", []string{"类型代码", "21 位"}},
		{"type code of another authority", false, editType(t, func(m map[string]any) {
			m["code"] = "11100000000013338X071"
		}), "code", "check", []string{"类型代码", "统一社会信用代码"}},
		{"maximum validity below the default", true, editType(t, func(m map[string]any) {
			m["maxValidityYears"] = 2
		}), "maxValidityYears", "range", []string{"最长有效期", "默认有效期"}},
	}
	treeSize, versions := w.treeSize(), typeVersionCount(t, w)
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			var err error
			if b.version {
				_, err = w.reg.AddTypeVersion(ctx, w.admin, filingCode, b.def)
			} else {
				_, err = w.reg.AddType(ctx, w.admin, b.def)
			}
			fe := fieldError(err, b.field)
			if fe == nil {
				t.Fatalf("err = %v, want a FieldError on %s", err, b.field)
			}
			if fe.Rule != b.rule {
				t.Errorf("rule = %s, want %s (%s)", fe.Rule, b.rule, fe.Message)
			}
			for _, s := range b.says {
				if !strings.Contains(fe.Message, s) {
					t.Errorf("message %q does not say %q", fe.Message, s)
				}
			}
		})
	}
	if _, err := w.reg.AddType(ctx, w.admin, []byte(filingType)); !errors.Is(err, registry.ErrConflict) {
		t.Errorf("AddType of an existing code: %v, want ErrConflict", err)
	}
	if _, err := w.reg.AddType(ctx, officer, []byte(strings.Replace(filingType, "W071", "W072", 1))); !errors.Is(err, registry.ErrForbidden) {
		t.Errorf("AddType by an issuing officer: %v, want ErrForbidden", err)
	}
	if got := w.treeSize(); got != treeSize {
		t.Errorf("refused edits changed the ledger: %d entries, had %d", got, treeSize)
	}
	if got := typeVersionCount(t, w); got != versions {
		t.Errorf("refused edits changed the catalog: %d versions, had %d", got, versions)
	}
	if typ, _ := w.reg.Catalog().Type(filingCode); typ.Version != 1 {
		t.Errorf("latest version after refused edits = %d, want 1", typ.Version)
	}
}

func typeVersionCount(t *testing.T, w *world) int {
	tvs, err := w.reg.TypeVersions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(tvs)
}

// fieldError finds the *license.FieldError on field in a (joined) error.
func fieldError(err error, field string) *license.FieldError {
	var found *license.FieldError
	var walk func(error)
	walk = func(err error) {
		if fe, ok := err.(*license.FieldError); ok && fe.Field == field && found == nil {
			found = fe
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return found
}

// TestIssuedCredentialExpandsInJSONLDSafeMode expands a credential the
// registry issued, of the admin's type, with a JSON-LD 1.1 processor in
// safe mode; both contexts come from local documents (no network).
func TestIssuedCredentialExpandsInJSONLDSafeMode(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if _, err := w.reg.AddType(ctx, w.admin, []byte(filingType)); err != nil {
		t.Fatal(err)
	}
	lic := issueFiling(t, w, filingDept(t, w), map[string]string{"platformName": "麓山外卖", "filingNumber": "WC20240001", "serviceScope": "全国"})
	var doc map[string]any
	if err := json.Unmarshal(lic.Credential, &doc); err != nil {
		t.Fatal(err)
	}
	ctxs, _ := doc["@context"].([]any)
	zz := "http://127.0.0.1:8080" + credential.ContextPath // Config.PublicURL's default
	if len(ctxs) != 2 || ctxs[0] != credential.ContextV2 || ctxs[1] != zz {
		t.Fatalf("@context = %v, want [%s %s]", ctxs, credential.ContextV2, zz)
	}
	v2, err := os.ReadFile("../credential/testdata/contexts/credentials-v2.jsonld")
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string][]byte{credential.ContextV2: v2, zz: credential.ZhengzhaoContext()}
	opts := ld.NewJsonLdOptions("")
	opts.ProcessingMode = ld.JsonLd_1_1
	opts.SafeMode = true
	opts.DocumentLoader = loaderFunc(func(u string) (*ld.RemoteDocument, error) {
		b, ok := docs[u]
		if !ok {
			return nil, fmt.Errorf("no local document for %s", u)
		}
		d, err := ld.DocumentFromReader(bytes.NewReader(b))
		return &ld.RemoteDocument{DocumentURL: u, Document: d}, err
	})
	out, err := ld.NewJsonLdProcessor().Expand(doc, opts)
	if err != nil {
		t.Fatalf("safe-mode expansion of an issued credential: %v", err)
	}
	flat, _ := json.Marshal(out)
	for _, iri := range []string{"urn:zhengzhao:vocab:v1#ElectronicLicense", "urn:zhengzhao:vocab:v1#holderCode", "urn:zhengzhao:vocab:v1#typeVersion", "麓山外卖", "WC20240001"} {
		if !bytes.Contains(flat, []byte(iri)) {
			t.Errorf("expanded credential lacks %s", iri)
		}
	}
	// The signature still verifies: the context is part of what is signed.
	res, err := verifier.Verify(ctx, docOf(t, lic), w.bundle(), verifier.Policy{At: time.Now()})
	if err != nil || !res.Valid {
		t.Fatalf("verify: %v %+v", err, res)
	}
}

type loaderFunc func(string) (*ld.RemoteDocument, error)

func (f loaderFunc) LoadDocument(u string) (*ld.RemoteDocument, error) { return f(u) }

// BenchmarkAddTypeVersion measures a catalog edit end to end: parse and
// check the definition, count what issued licenses use, store it and
// anchor its digest (one fsynced ledger append). It reports the trust
// bundle's size and the part of it the catalog takes.
func BenchmarkAddTypeVersion(b *testing.B) {
	w := newWorld(b)
	ctx := context.Background()
	if _, err := w.reg.AddType(ctx, w.admin, []byte(filingType)); err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		def := editType(b, func(m map[string]any) {
			fieldsOf(m)[3].(map[string]any)["label"] = fmt.Sprintf("备注 %d", i)
		})
		if _, err := w.reg.AddTypeVersion(ctx, w.admin, filingCode, def); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	raw, err := w.reg.Bundle(ctx)
	if err != nil {
		b.Fatal(err)
	}
	types, err := json.Marshal(w.bundle().Types)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(raw.JSON)), "bundle-bytes")
	b.ReportMetric(float64(len(types)), "types-bytes")
	b.ReportMetric(float64(len(w.bundle().Types)), "type-versions")
}
