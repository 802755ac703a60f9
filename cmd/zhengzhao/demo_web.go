package main

import (
	"context"

	"zhengzhao/registry"
)

// demoWeb creates the demo web accounts and issues the demo licenses
// (registry.DemoLicenses: consistent departments, holders and dates, one
// change and one cancellation), so that every page has something to show
// on first start.
func demoWeb(ctx context.Context, reg *registry.Service, admin registry.Actor) ([]registry.DemoLogin, error) {
	logins, err := reg.CreateDemoAccounts(ctx, admin)
	if err != nil {
		return nil, err
	}
	if _, err := reg.IssueDemoLicenses(ctx); err != nil {
		return nil, err
	}
	return logins, nil
}
