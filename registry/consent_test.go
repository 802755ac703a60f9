package registry_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"zhengzhao/license"
	"zhengzhao/registry"
)

const item = "310100-SC-0001" // 食品经营许可核发: uses 营业执照

func TestUseCodeLifecycle(t *testing.T) {
	w := newWebWorld(t)
	ctx := context.Background()
	lic := w.issueTo(t, registry.DemoEnterpriseName, registry.DemoEnterpriseCode)
	other := w.issueTo(t, "另一家公司", "91310000MA1K4XXX09")
	holder, citizen, clerk := w.actor(t, "enterprise"), w.actor(t, "citizen"), w.actor(t, "clerk1")
	grant := func(req registry.UseCodeRequest) (string, error) {
		code, _, err := w.reg.GrantUseCode(ctx, holder, req)
		return code, err
	}
	good := registry.UseCodeRequest{Identifier: lic.Identifier, Fields: []string{"address"}, Purpose: "办理食品经营许可", ServiceItem: item, Minutes: 10}

	bad := []struct {
		name  string
		edit  func(r *registry.UseCodeRequest)
		field string
		is    error
	}{
		{"another holder's license", func(r *registry.UseCodeRequest) { r.Identifier = other.Identifier }, "", registry.ErrNotFound},
		{"lifetime too short", func(r *registry.UseCodeRequest) { r.Minutes = 4 }, "minutes", license.ErrInvalid},
		{"lifetime too long", func(r *registry.UseCodeRequest) { r.Minutes = 61 }, "minutes", license.ErrInvalid},
		{"no purpose", func(r *registry.UseCodeRequest) { r.Purpose = " " }, "purpose", license.ErrInvalid},
		{"unknown service item", func(r *registry.UseCodeRequest) { r.ServiceItem = "x" }, "service_item", license.ErrInvalid},
		{"unknown field", func(r *registry.UseCodeRequest) { r.Fields = []string{"colour"} }, "fields", license.ErrInvalid},
	}
	for _, tt := range bad {
		r := good
		tt.edit(&r)
		_, err := grant(r)
		if !errors.Is(err, tt.is) || (tt.field != "" && !hasField(err, tt.field)) {
			t.Errorf("%s: %v, want %v on %s", tt.name, err, tt.is, tt.field)
		}
	}
	if _, _, err := w.reg.GrantUseCode(ctx, citizen, good); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("citizen granting for the enterprise's license: %v", err)
	}
	if _, _, err := w.reg.GrantUseCode(ctx, clerk, good); !errors.Is(err, registry.ErrForbidden) {
		t.Errorf("clerk granting: %v", err)
	}
	if codes, _ := w.reg.UseCodes(ctx, holder); len(codes) != 0 {
		t.Fatalf("refused grants were stored: %d", len(codes))
	}

	code, err := grant(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(code) != 9 || code[4] != '-' {
		t.Errorf("code %q is not XXXX-XXXX", code)
	}
	// Redeeming needs a purpose and the service item, and the right item.
	if _, err := w.reg.RedeemUseCode(ctx, clerk, code, "", item); !hasField(err, "purpose") {
		t.Errorf("redeem without purpose: %v", err)
	}
	if _, err := w.reg.RedeemUseCode(ctx, clerk, code, "核验", ""); !hasField(err, "service_item") {
		t.Errorf("redeem without service item: %v", err)
	}
	var ue *registry.UseCodeError
	if _, err := w.reg.RedeemUseCode(ctx, clerk, code, "核验", "310100-WJ-0001"); !errors.As(err, &ue) || ue.Reason != registry.UseCodeWrongItem {
		t.Errorf("redeem for another item: %v", err)
	}
	refusal := ue.Error()
	if _, err := w.reg.RedeemUseCode(ctx, holder, code, "核验", item); !errors.Is(err, registry.ErrForbidden) {
		t.Errorf("holder redeeming: %v", err)
	}
	// Lower case and spaces are fine; only the granted field is disclosed.
	typed := code[:2] + " " + code[2:]
	red, err := w.reg.RedeemUseCode(ctx, clerk, typed, "核验营业执照", item)
	if err != nil {
		t.Fatal(err)
	}
	if red.License.Identifier != lic.Identifier || len(red.Fields) != 1 || red.Fields["address"] == "" {
		t.Errorf("redemption %s fields %v", red.License.Identifier, red.Fields)
	}
	if _, err := w.reg.RedeemUseCode(ctx, clerk, code, "核验", item); !errors.As(err, &ue) || ue.Reason != registry.UseCodeUsed || ue.Error() != refusal {
		t.Errorf("second redemption: %v", err)
	}

	// Expired and withdrawn codes.
	expiring, _ := grant(good)
	w.clock.add(11 * time.Minute)
	if _, err := w.reg.RedeemUseCode(ctx, clerk, expiring, "核验", item); !errors.As(err, &ue) || ue.Reason != registry.UseCodeExpired || ue.Error() != refusal {
		t.Errorf("expired code: %v", err)
	}
	withdrawn, u, _ := w.reg.GrantUseCode(ctx, holder, good)
	if err := w.reg.RevokeUseCode(ctx, citizen, u.ID); err == nil {
		t.Error("another holder withdrew the code")
	}
	if err := w.reg.RevokeUseCode(ctx, holder, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.reg.RedeemUseCode(ctx, clerk, withdrawn, "核验", item); !errors.As(err, &ue) || ue.Reason != registry.UseCodeRevoked || ue.Error() != refusal {
		t.Errorf("withdrawn code: %v", err)
	}

	// Guessing is throttled: every refusal counts (the expired and the
	// withdrawn code above; the two before the clock moved 11 minutes are out
	// of the window), unknown codes like the others, and all read the same.
	for range registry.MaxRedeemFailures - 2 {
		if _, err := w.reg.RedeemUseCode(ctx, clerk, "2222-2222", "核验", item); !errors.As(err, &ue) || ue.Reason != registry.UseCodeUnknown || ue.Error() != refusal {
			t.Fatalf("unknown code: %v", err)
		}
	}
	if _, err := w.reg.RedeemUseCode(ctx, clerk, "2222-2223", "核验", item); !errors.Is(err, registry.ErrThrottled) {
		t.Errorf("after %d refused codes: %v", registry.MaxRedeemFailures, err)
	}

	// The holder sees the one use and the refused attempts on their codes
	// with the reason; the other holder sees none.
	recs, err := w.reg.UsageRecords(ctx, holder)
	if err != nil {
		t.Fatal(err)
	}
	var used []registry.UsageRecord
	var refused []string
	for _, r := range recs {
		if v, ok := strings.CutPrefix(r.Verdict, "refused:"); ok {
			refused = append(refused, v)
		} else {
			used = append(used, r)
		}
	}
	slices.Sort(refused)
	if want := []string{registry.UseCodeExpired, registry.UseCodeRevoked, registry.UseCodeUsed, registry.UseCodeWrongItem}; !slices.Equal(refused, want) {
		t.Errorf("refused attempts recorded %v, want %v", refused, want)
	}
	if len(used) != 1 {
		t.Fatalf("uses %+v", used)
	}
	if r := used[0]; r.Mode != registry.UseByCode || r.Hall != clerk.Hall || r.Purpose != "核验营业执照" || r.ServiceItem != item || r.Identifier != lic.Identifier {
		t.Errorf("usage record %+v", r)
	}
	if recs, _ := w.reg.UsageRecords(ctx, citizen); len(recs) != 0 {
		t.Errorf("citizen sees %d uses of another holder", len(recs))
	}
}

func TestLookupByDutyAndReport(t *testing.T) {
	w := newWebWorld(t)
	ctx := context.Background()
	lic := w.issueTo(t, registry.DemoEnterpriseName, registry.DemoEnterpriseCode)
	clerk := w.actor(t, "clerk2")
	if _, err := w.reg.LookupByDuty(ctx, clerk, registry.DemoEnterpriseCode, item, ""); !hasField(err, "purpose") {
		t.Errorf("no purpose: %v", err)
	}
	if _, err := w.reg.LookupByDuty(ctx, clerk, registry.DemoEnterpriseCode, "", "核验"); !hasField(err, "service_item") {
		t.Errorf("no item: %v", err)
	}
	if _, err := w.reg.LookupByDuty(ctx, w.actor(t, "enterprise"), registry.DemoEnterpriseCode, item, "核验"); !errors.Is(err, registry.ErrForbidden) {
		t.Errorf("holder looking up by duty: %v", err)
	}
	// An item that does not use 营业执照 finds nothing.
	if got, err := w.reg.LookupByDuty(ctx, clerk, registry.DemoEnterpriseCode, "310100-WJ-0001", "新生儿登记"); err != nil || len(got) != 0 {
		t.Errorf("other item: %v %d", err, len(got))
	}
	got, err := w.reg.LookupByDuty(ctx, clerk, registry.DemoEnterpriseCode, item, "依职能核验")
	if err != nil || len(got) != 1 || got[0].License.Identifier != lic.Identifier {
		t.Fatalf("lookup: %v %v", err, got)
	}
	if _, err := w.reg.SetStatus(ctx, w.actor(t, "officer1"), lic.Identifier, registry.StatusRequest{Status: license.StatusRevoked, Reason: "penalty"}); err != nil {
		t.Fatal(err)
	}
	rows, err := w.reg.Report(ctx, w.admin, w.clock.now(), w.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("report rows %+v", rows)
	}
	want := registry.ReportRow{Day: w.clock.now().In(license.ChinaTime).Format(time.DateOnly), Department: w.depts[0].USCC, TypeCode: lic.TypeCode, Issued: 1, Revoked: 1, Verified: 1}
	if rows[0] != want {
		t.Errorf("report %+v, want %+v", rows[0], want)
	}
	// Officers see their own department only; clerks see none.
	if rows, _ := w.reg.Report(ctx, w.actor(t, "officer2"), w.clock.now(), w.clock.now()); len(rows) != 0 {
		t.Errorf("officer of another department sees %+v", rows)
	}
	if _, err := w.reg.Report(ctx, clerk, w.clock.now(), w.clock.now()); !errors.Is(err, registry.ErrForbidden) {
		t.Errorf("clerk report: %v", err)
	}
}

// One single-use code redeemed by 20 clerks at once: exactly one gets the
// license, every other the refusal (reason "used"), none an internal error,
// and the holder's record shows one use and the nineteen refused attempts.
func TestUseCodeConcurrentRedemption(t *testing.T) {
	w := newWebWorld(t)
	ctx := context.Background()
	lic := w.issueTo(t, registry.DemoEnterpriseName, registry.DemoEnterpriseCode)
	holder, clerk := w.actor(t, "enterprise"), w.actor(t, "clerk1")
	code, _, err := w.reg.GrantUseCode(ctx, holder, registry.UseCodeRequest{Identifier: lic.Identifier, Purpose: "办理食品经营许可", ServiceItem: item, Minutes: 10})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		c := clerk // 20 clerks of the same hall
		c.Name = fmt.Sprintf("%s %d", clerk.Name, i)
		go func() {
			<-start
			_, err := w.reg.RedeemUseCode(ctx, c, code, "核验营业执照", item)
			errs <- err
		}()
	}
	close(start)
	wins, used := 0, 0
	for range n {
		err := <-errs
		var ue *registry.UseCodeError
		switch {
		case err == nil:
			wins++
		case errors.As(err, &ue) && ue.Reason == registry.UseCodeUsed && errors.Is(err, registry.ErrUseCode):
			used++
		default:
			t.Errorf("redemption failed otherwise: %v", err)
		}
	}
	if wins != 1 || used != n-1 {
		t.Errorf("%d redemptions succeeded and %d were refused as used, want 1 and %d", wins, used, n-1)
	}
	recs, err := w.reg.UsageRecords(ctx, holder)
	uses := 0
	for _, r := range recs {
		if !strings.HasPrefix(r.Verdict, "refused:") {
			uses++
		}
	}
	if err != nil || uses != 1 || len(recs) != n {
		t.Errorf("usage record after the race: %d uses of %d records (%v), want 1 of %d", uses, len(recs), err, n)
	}
}
