package main

import (
	"context"
	"fmt"

	"zhengzhao/license"
	"zhengzhao/registry"
)

// demoWeb creates the demo web accounts and issues each demo holder a few
// licenses from the catalog examples, so that every page has something to
// show on first start.
func demoWeb(ctx context.Context, reg *registry.Service, admin registry.Actor) ([]registry.DemoLogin, error) {
	logins, err := reg.CreateDemoAccounts(ctx, admin)
	if err != nil {
		return nil, err
	}
	depts, err := reg.Departments(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range depts {
		officer := registry.Actor{Role: registry.RoleIssuer, Department: d.USCC, Name: d.Name + " 制证员 (demo)"}
		for _, code := range d.Types {
			typ, _ := reg.Catalog().Type(code)
			holder, holderCode := registry.DemoEnterpriseName, registry.DemoEnterpriseCode
			if typ.HolderKind == license.HolderCitizen {
				holder, holderCode = registry.DemoCitizenName, registry.DemoCitizenID
			}
			rec := typ.Example(d.USCC, d.Name)
			if _, err := reg.Issue(ctx, officer, registry.IssueRequest{
				TypeCode: code, Holder: holder, HolderCode: holderCode, Jurisdiction: rec.Jurisdiction, Fields: rec.Fields,
				RequestKey: "demo-" + code,
			}); err != nil {
				return nil, fmt.Errorf("demo license %s: %w", typ.Name, err)
			}
		}
	}
	return logins, nil
}
