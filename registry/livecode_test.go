package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"zhengzhao/credential"
	"zhengzhao/registry"
	"zhengzhao/signing"
)

func TestLiveCode(t *testing.T) {
	w := newWebWorld(t)
	ctx := context.Background()
	lic := w.issueTo(t, registry.DemoEnterpriseName, registry.DemoEnterpriseCode)
	holder, citizen, clerk := w.actor(t, "enterprise"), w.actor(t, "citizen"), w.actor(t, "clerk1")

	if _, _, err := w.reg.LiveCode(ctx, citizen, lic.Identifier); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("another holder's live code: %v, want ErrNotFound", err)
	}
	if _, _, err := w.reg.LiveCode(ctx, clerk, lic.Identifier); !errors.Is(err, registry.ErrForbidden) {
		t.Errorf("a clerk's live code: %v, want ErrForbidden", err)
	}
	code, exp, err := w.reg.LiveCode(ctx, holder, lic.Identifier)
	if err != nil {
		t.Fatal(err)
	}
	if !registry.IsLiveCode(code) || len(code) > 250 {
		t.Errorf("live code %q (%d characters)", code, len(code))
	}
	if want := w.clock.now().Add(registry.LiveCodeLifetime); exp.After(want) || exp.Before(want.Add(-time.Second)) {
		t.Errorf("expires %v, want about %v", exp, want)
	}
	again, _, _ := w.reg.LiveCode(ctx, holder, lic.Identifier)
	if again == code {
		t.Error("two live codes made in the same second are identical: no nonce")
	}

	got, err := w.reg.CheckLiveCode(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	if got.License.Identifier != lic.Identifier || !got.Expires.Equal(exp) {
		t.Errorf("accepted %s until %v, want %s until %v", got.License.Identifier, got.Expires, lic.Identifier, exp)
	}

	refused := func(name, code, reason string) *registry.LiveCodeError {
		t.Helper()
		_, err := w.reg.CheckLiveCode(ctx, code)
		var le *registry.LiveCodeError
		if !errors.As(err, &le) || !errors.Is(err, registry.ErrLiveCode) || le.Reason != reason {
			t.Errorf("%s: %v, want a refusal for %s", name, err, reason)
			return nil
		}
		return le
	}
	// Signed by another key, or altered: refused as forged, naming no license.
	k, _ := signing.GenerateKey()
	foreign, _ := credential.EncodeLiveCode(signing.NewKeySigner(k), lic.Identifier, exp, []byte("abcdefgh"))
	if le := refused("foreign key", foreign, registry.LiveCodeForged); le != nil && le.License != nil {
		t.Error("a forged code was attributed to a license")
	}
	pc, _ := credential.ParseLiveCode(code)
	moved, _ := credential.EncodeLiveCode(signing.NewKeySigner(k), lic.Identifier, exp.Add(time.Hour), pc.Nonce)
	refused("moved expiry", moved, registry.LiveCodeForged)
	refused("garbage", credential.LivePrefix+"NOT A CODE", registry.LiveCodeMalformed)
	refused("static form", lic.Compact, registry.LiveCodeMalformed)

	// Within the skew allowance after its expiry a code is still accepted;
	// after it, the code is refused as expired (a screenshot).
	w.clock.add(registry.LiveCodeLifetime + registry.LiveCodeSkew - time.Second)
	if _, err := w.reg.CheckLiveCode(ctx, code); err != nil {
		t.Errorf("within the clock-skew allowance: %v", err)
	}
	w.clock.add(time.Second)
	le := refused("screenshot", code, registry.LiveCodeExpired)
	if le != nil && (le.License == nil || le.License.Identifier != lic.Identifier || !strings.Contains(le.Message, "过期")) {
		t.Errorf("expired refusal %+v: want the license and a Chinese message saying 过期", le)
	}

	// Uses are recorded for the holder, with or without purpose.
	if err := w.reg.RecordLiveUse(ctx, clerk, lic, "核验营业执照", item, "valid"); err != nil {
		t.Fatal(err)
	}
	if err := w.reg.RecordLiveUse(ctx, w.admin, lic, "", "", registry.LiveCodeExpired); err != nil {
		t.Fatal(err)
	}
	if err := w.reg.RecordLiveUse(ctx, clerk, lic, "核验", "no-such-item", "valid"); !hasField(err, "service_item") {
		t.Errorf("unknown service item: %v", err)
	}
	if err := w.reg.RecordLiveUse(ctx, holder, lic, "核验", item, "valid"); !errors.Is(err, registry.ErrForbidden) {
		t.Errorf("a holder recording a use: %v", err)
	}
	recs, err := w.reg.UsageRecords(ctx, holder)
	if err != nil || len(recs) != 2 {
		t.Fatalf("usage: %v, %d records, want 2", err, len(recs))
	}
	if r := recs[1]; r.Mode != registry.UseByLive || r.Purpose != "核验营业执照" || r.ServiceItem != item || r.Hall != clerk.Hall || r.Verdict != "valid" {
		t.Errorf("first record %+v", r)
	}
	if r := recs[0]; r.Mode != registry.UseByLive || r.Verdict != registry.LiveCodeExpired {
		t.Errorf("second record %+v", r)
	}
}
