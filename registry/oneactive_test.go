package registry_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"zhengzhao/license"
	"zhengzhao/registry"
)

func TestDefaultCatalogOneActive(t *testing.T) {
	var got []string
	for _, typ := range license.DefaultCatalog().Types() {
		if typ.OneActive {
			got = append(got, typ.Name)
		}
	}
	slices.Sort(got)
	if strings.Join(got, ",") != "律师执业证,营业执照" {
		t.Fatalf("one-active types %v, want 营业执照 and 律师执业证", got)
	}
}

func TestOneActiveLicensePerHolder(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	officer := w.issuer(0)
	refused := func(what string, req registry.IssueRequest, actor registry.Actor, existing string) {
		t.Helper()
		size := w.treeSize()
		_, err := w.reg.Issue(ctx, actor, req)
		var oae *registry.OneActiveError
		if !errors.As(err, &oae) || !errors.Is(err, registry.ErrConflict) || oae.Existing != existing ||
			!strings.Contains(err.Error(), existing) || !strings.Contains(err.Error(), "变更") {
			t.Fatalf("%s: %v, want a conflict naming %s and pointing to 变更", what, err, existing)
		}
		if w.treeSize() != size {
			t.Fatalf("%s: the refused issue reached the ledger", what)
		}
	}
	req := w.request(0) // 营业执照 of a new company
	first, err := w.reg.Issue(ctx, officer, req)
	if err != nil {
		t.Fatal(err)
	}
	second := req
	second.Fields = map[string]string{}
	for k, v := range req.Fields {
		second.Fields[k] = v
	}
	second.Fields["address"] = "上海市徐汇区某路2号"
	refused("second 营业执照", second, officer, first.Identifier)

	// Suspended still counts; a new version is the one held.
	if _, err := w.reg.SetStatus(ctx, officer, first.Identifier, registry.StatusRequest{Status: license.StatusSuspended, Reason: "under_investigation"}); err != nil {
		t.Fatal(err)
	}
	refused("while the first is suspended", second, officer, first.Identifier)
	if _, err := w.reg.SetStatus(ctx, officer, first.Identifier, registry.StatusRequest{Status: license.StatusActive, Reason: "investigation_closed"}); err != nil {
		t.Fatal(err)
	}
	v2, err := w.reg.NewVersion(ctx, officer, first.Identifier, registry.VersionRequest{Kind: registry.VersionChange, Fields: map[string]string{"address": "上海市徐汇区某路2号"}})
	if err != nil {
		t.Fatalf("a new version of the one license: %v", err)
	}
	refused("after a new version", second, officer, v2.Identifier)

	// Once it is cancelled (final) the holder may be issued a new one.
	if _, err := w.reg.SetStatus(ctx, officer, v2.Identifier, registry.StatusRequest{Status: license.StatusCancelled, Reason: "holder_request"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.reg.Issue(ctx, officer, second); err != nil {
		t.Fatalf("issue after the first was cancelled: %v", err)
	}

	// Types without the rule: any number per holder.
	food := w.requestOf(0, 1)
	for range 2 {
		if _, err := w.reg.Issue(ctx, officer, food); err != nil {
			t.Fatalf("second 食品经营许可证: %v", err)
		}
	}
	// 律师执业证: one per citizen ID.
	lawyer := w.issuer(4)
	lreq := w.request(4)
	l1, err := w.reg.Issue(ctx, lawyer, lreq)
	if err != nil {
		t.Fatal(err)
	}
	refused("second 律师执业证", lreq, lawyer, l1.Identifier)
}

// Ten issues of a 营业执照 to one company at once: exactly one is made,
// the others are conflicts naming it.
func TestOneActiveConcurrentIssues(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	req := w.request(0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var made []string
	var errs []error
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := w.reg.Issue(ctx, w.issuer(0), req)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			made = append(made, l.Identifier)
		}()
	}
	wg.Wait()
	if len(made) != 1 {
		t.Fatalf("%d licenses made, want 1 (errors %v)", len(made), errs)
	}
	for _, err := range errs {
		var oae *registry.OneActiveError
		if !errors.As(err, &oae) || oae.Existing != made[0] {
			t.Fatalf("loser got %v, want a conflict naming %s", err, made[0])
		}
	}
	held, err := w.reg.List(ctx, registry.ListFilter{TypeCode: req.TypeCode, HolderCode: req.HolderCode})
	if err != nil || len(held) != 1 {
		t.Fatalf("the store holds %d licenses of the company, %v", len(held), err)
	}
}

// Two instances on one store and one ledger (as two `serve` processes on
// one PostgreSQL and one Fabric network), each with its own in-process
// locks, issue 营业执照 to the same companies at once, singly and in
// batches: every company ends with exactly one, and every refusal is a
// conflict.
func TestOneActiveAcrossInstances(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	second := w.secondInstance()
	const companies = 12
	reqs := make([]registry.IssueRequest, companies)
	for i := range reqs {
		reqs[i] = w.request(0)
	}
	var wg sync.WaitGroup
	for _, reg := range []*registry.Service{w.reg, second, w.reg, second} {
		wg.Go(func() {
			for _, req := range reqs {
				if _, err := reg.Issue(ctx, w.issuer(0), req); err != nil && !errors.Is(err, registry.ErrConflict) {
					t.Errorf("issue: %v, want a license or a conflict", err)
				}
			}
		})
		wg.Go(func() {
			for _, r := range reg.IssueBatch(ctx, w.issuer(0), reqs) {
				if r.Err != nil && !errors.Is(r.Err, registry.ErrConflict) {
					t.Errorf("batch: %v, want a license or a conflict", r.Err)
				}
			}
		})
	}
	wg.Wait()
	for _, req := range reqs {
		held, err := w.reg.List(ctx, registry.ListFilter{TypeCode: req.TypeCode, HolderCode: req.HolderCode})
		if err != nil || len(held) != 1 {
			t.Errorf("company %s holds %d licenses (%v), want 1", req.HolderCode, len(held), err)
		}
	}
}
