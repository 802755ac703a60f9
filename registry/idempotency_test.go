package registry_test

import (
	"context"
	"errors"
	"testing"

	"zhengzhao/registry"
)

func TestRequestKeyReusedWithAnotherRequest(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	req := w.request(0)
	req.RequestKey = "import-row-18"
	first, err := w.reg.Issue(ctx, w.issuer(0), req)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(*registry.IssueRequest)
		field  string // "" = the same request
	}{
		{"same request", func(*registry.IssueRequest) {}, ""},
		{"defaults spelled out", func(r *registry.IssueRequest) {
			r.IssueDate, r.ValidFrom, r.Number = first.Record.IssueDate, first.Record.ValidFrom, first.Record.Number
		}, ""},
		{"another holder", func(r *registry.IssueRequest) { r.Holder += "分公司" }, "holder"},
		{"another jurisdiction", func(r *registry.IssueRequest) { r.Jurisdiction = "430104" }, "jurisdiction"},
		{"another issue date", func(r *registry.IssueRequest) { r.IssueDate = "2020-01-02" }, "issueDate"},
		{"a field changed", func(r *registry.IssueRequest) { r.Fields["address"] += "1 号" }, "fields.address"},
		{"a field left out", func(r *registry.IssueRequest) { delete(r.Fields, "address") }, "fields.address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := w.treeSize()
			r := req
			r.Fields = maps(req.Fields)
			tt.mutate(&r)
			got, err := w.reg.Issue(ctx, w.issuer(0), r)
			if tt.field == "" {
				if err != nil || got.Identifier != first.Identifier {
					t.Fatalf("got %v, %v; want the first license %s", got, err, first.Identifier)
				}
				return
			}
			var kr *registry.KeyReuseError
			if !errors.As(err, &kr) || !errors.Is(err, registry.ErrKeyReused) || kr.Field != tt.field {
				t.Fatalf("err = %v, want ErrKeyReused naming %s", err, tt.field)
			}
			if w.treeSize() != before {
				t.Error("a refused request anchored something")
			}
		})
	}
}
