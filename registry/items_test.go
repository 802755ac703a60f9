package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"zhengzhao/license"
	"zhengzhao/registry"
)

const bizType = "11100000000013338W001" // 营业执照

func itemReq(code string, fields ...string) registry.ServiceItemRequest {
	return registry.ServiceItemRequest{Code: code, Name: "企业信息核验", Licenses: []registry.ItemLicense{{Type: bizType, Fields: fields}}}
}

// Bad service items are refused naming the field and the rule in Chinese,
// and nothing is stored.
func TestServiceItemValidation(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	twice := itemReq("310100-TS-0001", "address")
	twice.Licenses = append(twice.Licenses, twice.Licenses[0])
	tests := []struct {
		name        string
		req         registry.ServiceItemRequest
		field, rule string
		says        string
	}{
		{"a field the type lacks", itemReq("310100-TS-0001", "address", "motherName"), "licenses[0].fields", "unknown_field", "营业执照」没有字段“motherName”"},
		{"unknown type", registry.ServiceItemRequest{Code: "310100-TS-0001", Name: "核验", Licenses: []registry.ItemLicense{{Type: "x", Fields: []string{"a"}}}}, "licenses[0].type", "unknown", "未知的证照类型“x”"},
		{"code without division", itemReq("SC-0001", "address"), "code", "pattern", "6 位行政区划代码"},
		{"code in lower case", itemReq("310100-sc-0001", "address"), "code", "pattern", "310100-sc-0001"},
		{"no name", registry.ServiceItemRequest{Code: "310100-TS-0001", Licenses: itemReq("", "address").Licenses}, "name", "length", "事项名称"},
		{"no types", registry.ServiceItemRequest{Code: "310100-TS-0001", Name: "核验"}, "licenses", "required", "至少选择一种证照类型"},
		{"no fields", itemReq("310100-TS-0001"), "licenses[0].fields", "required", "至少选择一个可见字段"},
		{"a type twice", twice, "licenses[1].type", "duplicate", "重复"},
	}
	for _, tt := range tests {
		_, err := w.reg.CreateServiceItem(ctx, w.admin, tt.req)
		var fe *license.FieldError
		found := false
		for _, e := range flatten(err) {
			if errors.As(e, &fe) && fe.Field == tt.field && fe.Rule == tt.rule && strings.Contains(fe.Message, tt.says) {
				found = true
			}
		}
		if !errors.Is(err, license.ErrInvalid) || !found {
			t.Errorf("%s: %v, want %s/%s saying %q", tt.name, err, tt.field, tt.rule, tt.says)
		}
	}
	if _, err := w.reg.CurrentServiceItem(ctx, "310100-TS-0001"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("a refused item was stored: %v", err)
	}
	_, err := w.reg.CreateServiceItem(ctx, w.admin, itemReq("310100-SC-0001", "address"))
	var ce *registry.ItemConflictError
	if !errors.As(err, &ce) || ce.Field != "code" || ce.Rule != "duplicate" || !errors.Is(err, registry.ErrConflict) {
		t.Errorf("duplicate code: %v", err)
	}
	if _, err := w.reg.CreateServiceItem(ctx, registry.Actor{Role: registry.RoleIssuer, Department: w.depts[0].USCC}, itemReq("310100-TS-0002", "address")); !errors.Is(err, registry.ErrForbidden) {
		t.Errorf("officer creates an item: %v", err)
	}
	// A good item is made, and only it is in the record log: the refused
	// ones are not.
	if _, err := w.reg.CreateServiceItem(ctx, w.admin, itemReq("310100-TS-0003", "address")); err != nil {
		t.Fatal(err)
	}
	recs, _, err := w.reg.AuditRecords(ctx, w.admin, registry.RecordFilter{Action: registry.ActionServiceItem})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Actor.Role != registry.RoleAdmin || !strings.Contains(recs[0].Reason, "310100-TS-0003") {
		t.Errorf("service item records %+v, want one naming 310100-TS-0003", recs)
	}
}

func flatten(err error) []error {
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range u.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// Items, their versions and halls survive a restart; the eight defaults are
// seeded once and an admin's version of one is not overwritten.
func TestServiceItemsPersist(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	items, err := w.reg.ListServiceItems(ctx)
	if err != nil || len(items) != 8 {
		t.Fatalf("seeded items: %d %v", len(items), err)
	}
	if _, err := w.reg.CreateServiceItem(ctx, w.admin, itemReq("310100-TS-0001", "address", "legalRepresentative")); err != nil {
		t.Fatal(err)
	}
	v2, err := w.reg.UpdateServiceItem(ctx, w.admin, "310100-SC-0001", itemReq("", "address"))
	if err != nil || v2.Version != 2 {
		t.Fatalf("new version: %+v %v", v2, err)
	}
	if _, err := w.reg.UpdateServiceItem(ctx, w.admin, "310100-NO-0001", itemReq("", "address")); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("version of an unknown item: %v", err)
	}
	if _, err := w.reg.SetServiceHall(ctx, w.admin, "测试大厅", []string{"310100-TS-0001", "310100-SC-0001"}); err != nil {
		t.Fatal(err)
	}
	w.close()
	w.open()
	items, _ = w.reg.ListServiceItems(ctx)
	if len(items) != 9 {
		t.Errorf("after restart %d items, want 9", len(items))
	}
	cur, err := w.reg.CurrentServiceItem(ctx, "310100-SC-0001")
	if err != nil || cur.Version != 2 || len(cur.Licenses) != 1 || len(cur.Licenses[0].Fields) != 1 || cur.CreatedBy != "admin" {
		t.Errorf("SC-0001 after restart: %+v %v", cur, err)
	}
	vs, _ := w.reg.ServiceItemVersions(ctx, "310100-SC-0001")
	if len(vs) != 2 || vs[0].CreatedBy != "系统预置" || len(vs[0].Licenses) != 2 {
		t.Errorf("versions %+v", vs)
	}
	clerk := registry.Actor{Role: registry.RoleVerifier, Name: "王 (w1)", Hall: "测试大厅"}
	got, err := w.reg.HallItems(ctx, clerk)
	if err != nil || len(got) != 2 {
		t.Fatalf("hall items after restart: %+v %v", got, err)
	}
	if _, err := w.reg.ClerkItem(ctx, clerk, "310100-WJ-0001"); !hasField(err, "service_item") {
		t.Errorf("item of another hall: %v", err)
	}
	if _, err := w.reg.ClerkItem(ctx, registry.Actor{Role: registry.RoleVerifier, Name: "x", Hall: "无此大厅"}, "310100-SC-0001"); !hasField(err, "service_item") {
		t.Errorf("clerk of an unconfigured hall: %v", err)
	}
	if _, err := w.reg.SetServiceHall(ctx, w.admin, "测试大厅", []string{"310100-XX-0001"}); !hasField(err, "items") {
		t.Errorf("hall with an unknown item: %v", err)
	}
}

// Lookups by duty: MaxDutyLookups in the window, then 429-worthy
// ThrottledError with the wait; the window slides.
func TestDutyLookupThrottle(t *testing.T) {
	w := newWebWorld(t)
	ctx := context.Background()
	clerk := w.actor(t, "clerk1")
	for i := range registry.MaxDutyLookups {
		if _, err := w.reg.LookupByDuty(ctx, clerk, registry.DemoEnterpriseCode, item, "依职能核验"); err != nil {
			t.Fatalf("lookup %d: %v", i+1, err)
		}
		w.clock.add(time.Second)
	}
	_, err := w.reg.LookupByDuty(ctx, clerk, registry.DemoEnterpriseCode, item, "依职能核验")
	var te *registry.ThrottledError
	if !errors.As(err, &te) || te.RetryAfter <= 0 || te.RetryAfter > registry.DutyLookupWindow {
		t.Fatalf("lookup beyond the bound: %v", err)
	}
	// Another clerk is not slowed.
	if _, err := w.reg.LookupByDuty(ctx, w.actor(t, "clerk2"), registry.DemoEnterpriseCode, item, "依职能核验"); err != nil {
		t.Errorf("another clerk: %v", err)
	}
	w.clock.add(te.RetryAfter + time.Second)
	if _, err := w.reg.LookupByDuty(ctx, clerk, registry.DemoEnterpriseCode, item, "依职能核验"); err != nil {
		t.Errorf("after the wait: %v", err)
	}
}

// BenchmarkClerkItem is what every window action pays to enforce the
// 用证清单: the item and the clerk's hall from the store, and the fields the
// item lets the clerk see of a license.
func BenchmarkClerkItem(b *testing.B) {
	w := newWorld(b)
	ctx := context.Background()
	items, _ := w.reg.ListServiceItems(ctx)
	var codes []string
	for _, it := range items {
		codes = append(codes, it.Code)
	}
	if _, err := w.reg.SetServiceHall(ctx, w.admin, "基准大厅", codes); err != nil {
		b.Fatal(err)
	}
	lic, err := w.reg.Issue(ctx, w.issuer(0), w.request(0))
	if err != nil {
		b.Fatal(err)
	}
	clerk := registry.Actor{Role: registry.RoleVerifier, Name: "基准", Hall: "基准大厅"}
	b.ReportAllocs()
	for b.Loop() {
		it, err := w.reg.ClerkItem(ctx, clerk, "310100-SC-0001")
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := it.Visible(lic, nil); !ok {
			b.Fatal("not visible")
		}
	}
}
