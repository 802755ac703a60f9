package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"zhengzhao/credential"
	"zhengzhao/registry"
	"zhengzhao/render"
	"zhengzhao/signing"
	"zhengzhao/verifier"
)

// liveJSON fetches a fresh live code for a license from the wallet.
func liveJSON(t *testing.T, w *webClient, id string) liveCode {
	t.Helper()
	a := w.get("/wallet/licenses/" + id + "/live.json")
	var lc liveCode
	if a.status != http.StatusOK || json.Unmarshal([]byte(a.body), &lc) != nil {
		t.Fatalf("live.json: %d %s", a.status, a.body)
	}
	if a.header.Get("Cache-Control") != "no-store" {
		t.Errorf("live.json Cache-Control %q, want no-store", a.header.Get("Cache-Control"))
	}
	return lc
}

func TestWalletLiveCode(t *testing.T) {
	e := newWebEnv(t)
	holder, citizen := e.login("enterprise"), e.login("citizen")
	id := e.licA.Identifier

	page := holder.get("/wallet/licenses/" + id)
	if page.status != http.StatusOK || !strings.Contains(page.body, "亮证码") || !strings.Contains(page.body, `src="data:image/png;base64,`) ||
		!strings.Contains(page.body, `data-live="/wallet/licenses/`+id+`/live.json"`) || !strings.Contains(page.body, "秒后失效") {
		t.Fatalf("wallet license page: %d, no live code shown\n%s", page.status, page.body)
	}
	// The static QR stays for the PDF and full-screen view.
	if !strings.Contains(page.body, "/wallet/licenses/"+id+"/qr.png") {
		t.Error("the static QR code is no longer linked")
	}
	a, b := liveJSON(t, holder, id), liveJSON(t, holder, id)
	if a.Code == b.Code || !strings.HasPrefix(a.Code, credential.LivePrefix) || len(a.Code) >= 300 {
		t.Errorf("live codes %q and %q: want two different short ZZL1: codes", a.Code, b.Code)
	}
	if a.ExpiresIn < 55 || a.ExpiresIn > 60 || a.RefreshIn != 20 {
		t.Errorf("expires in %d s, refresh in %d s; want about 60 and 20", a.ExpiresIn, a.RefreshIn)
	}
	if r := citizen.get("/wallet/licenses/" + id + "/live.json"); r.status != http.StatusNotFound {
		t.Errorf("another holder's live code: %d, want 404", r.status)
	}
	if r := e.client().get("/wallet/licenses/" + id + "/live.json"); r.status == http.StatusOK {
		t.Error("a live code without signing in")
	}
}

func TestVerifyLiveCode(t *testing.T) {
	e := newWebEnv(t)
	ctx := context.Background()
	holder, clerk := e.login("enterprise"), e.login("clerk1")
	id := e.licA.Identifier
	api := e.client()
	api.token, _ = e.reg.CreateToken(ctx, registry.Actor{Role: registry.RoleVerifier, Name: "窗口接口"})

	p, err := registry.LoadPlatform(e.dir, []byte("web-test"))
	if err != nil {
		t.Fatal(err)
	}
	// A screenshot: a genuine code whose minute has passed.
	old, err := credential.EncodeLiveCode(p.Root, id, time.Now().Add(-2*time.Minute), []byte("oldoldol"))
	if err != nil {
		t.Fatal(err)
	}
	k, _ := signing.GenerateKey()
	foreign, _ := credential.EncodeLiveCode(signing.NewKeySigner(k), id, time.Now().Add(time.Minute), []byte("foreign!"))
	fresh := liveJSON(t, holder, id).Code
	tampered := []byte(fresh)
	tampered[len(tampered)-5] ^= 1 // stays in the Base45 alphabet or breaks it: either way not this platform's
	if tampered[len(tampered)-5] == fresh[len(fresh)-5] {
		t.Fatal("no change")
	}

	window := func(code string) webAnswer {
		return clerk.form("/window/verify", url.Values{"service_item": {"310100-SC-0001"}, "purpose": {"核验营业执照"}, "payload": {code}})
	}
	verify := func(body []byte, query string) verifier.Result {
		t.Helper()
		a := api.do("POST", "/api/v1/verify"+query, "", body)
		var r verifier.Result
		if a.status != http.StatusOK || json.Unmarshal([]byte(a.body), &r) != nil {
			t.Fatalf("API verify: %d %s", a.status, a.body)
		}
		return r
	}

	// Accepted on the window page: the license's verdict, and a check that
	// says the live code verified and until when.
	w := window(fresh)
	if w.status != http.StatusOK || !strings.Contains(w.body, `<div class="verdict-label">有效</div>`) || !strings.Contains(w.body, "亮证码经平台签名核验通过，有效至") {
		t.Fatalf("window, fresh live code: %d\n%s", w.status, w.body)
	}
	// Accepted by the API, typed and photographed.
	for name, body := range map[string][]byte{"text": []byte(fresh), "photo": qrPicture(t, fresh)} {
		r := verify(body, "?purpose="+url.QueryEscape("核验营业执照")+"&service_item=310100-SC-0001")
		ch, _ := r.Check(checkLive)
		if !r.Valid || r.Verdict != verifier.VerdictValid || r.Identifier != id || ch.Status != verifier.CheckPass || !strings.Contains(ch.Reason, "有效至") {
			t.Errorf("API, %s: verdict %s, live check %+v", name, r.Verdict, ch)
		}
		if ch, _ := r.Check(verifier.NameProof); ch.Status != verifier.CheckPass {
			t.Errorf("API, %s: the license's own proof was not checked: %+v", name, ch)
		}
	}

	// A screenshot of an old code: refused as expired, never 有效.
	w = window(old)
	if w.status != http.StatusOK || strings.Contains(w.body, `<div class="verdict-label">有效</div>`) || !strings.Contains(w.body, "过期") || !strings.Contains(w.body, "截图") {
		t.Errorf("window, old live code: %d\n%s", w.status, w.body)
	}
	if r := verify([]byte(old), ""); r.Valid || r.Verdict != verifier.VerdictUnverifiable || !strings.Contains(r.Checks[0].Reason, "expired") {
		t.Errorf("API, old live code: %+v", r)
	}
	// Foreign-signed or tampered: 无效.
	for name, code := range map[string]string{"foreign": foreign, "tampered": string(tampered)} {
		if w := window(code); !strings.Contains(w.body, `<div class="verdict-label">无效</div>`) {
			t.Errorf("window, %s live code: %d\n%s", name, w.status, w.body)
		}
		if r := verify([]byte(code), ""); r.Valid || r.Verdict != verifier.VerdictInvalid {
			t.Errorf("API, %s live code: verdict %s", name, r.Verdict)
		}
	}
	// A bad purpose over the API is a 400 naming the field.
	if a := api.do("POST", "/api/v1/verify?purpose=x", "", []byte(fresh)); a.status != http.StatusBadRequest || !strings.Contains(a.body, `"purpose"`) {
		t.Errorf("bad purpose: %d %s", a.status, a.body)
	}

	// Every verification of a genuine code is a use the holder sees: the
	// window's and the API's accepted ones, both refused screenshots. Forged
	// codes name no license authentically and are nobody's use.
	recs, err := e.reg.UsageRecords(ctx, registry.Actor{Role: registry.RoleHolder, HolderCode: registry.DemoEnterpriseCode})
	if err != nil {
		t.Fatal(err)
	}
	var verdicts []string
	for _, r := range recs {
		if r.Mode != registry.UseByLive {
			t.Errorf("record %+v: mode %s, want %s", r, r.Mode, registry.UseByLive)
		}
		verdicts = append(verdicts, r.Verdict)
	}
	if got := strings.Join(verdicts, ","); got != "live_code_expired,live_code_expired,valid,valid,valid" {
		t.Errorf("usage verdicts newest first: %s", got)
	}
	if r := recs[len(recs)-1]; r.Purpose != "核验营业执照" || r.ServiceItem != "310100-SC-0001" || r.Hall == "" {
		t.Errorf("window's record %+v: want the clerk's purpose, item and hall", r)
	}
	if page := holder.get("/wallet"); !strings.Contains(page.body, "亮证码核验") {
		t.Error("the wallet's usage record does not show 亮证码核验")
	}
}

func qrPicture(t *testing.T, text string) []byte {
	t.Helper()
	png, err := render.QRPNG(text, 400)
	if err != nil {
		t.Fatal(err)
	}
	return png
}

// Twenty clerks' windows redeem one single-use code at once: one gets the
// license, the other nineteen a refusal, none a 500.
func TestRedeemUseCodeRace(t *testing.T) {
	e := newWebEnv(t)
	holder := e.login("enterprise")
	g := holder.form("/wallet/licenses/"+e.licA.Identifier+"/grant", url.Values{"service_item": {"310100-SC-0001"}, "purpose": {"办理食品经营许可"}, "minutes": {"10"}})
	m := useCodeRE.FindStringSubmatch(g.body)
	if g.status != http.StatusOK || m == nil {
		t.Fatalf("grant: %d\n%s", g.status, g.body)
	}
	const n = 20
	clerk := e.login("clerk1")
	form := url.Values{"service_item": {"310100-SC-0001"}, "purpose": {"核验营业执照"}, "code": {m[1]}, "csrf": {clerk.csrf()}}
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			statuses[i] = clerk.form("/window/redeem", form).status
		})
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	// The losers get the one refusal (404) that tells nothing of the code,
	// or 429 once the refusals use up this clerk's allowance.
	if count[http.StatusOK] != 1 || count[http.StatusNotFound]+count[http.StatusTooManyRequests] != n-1 {
		t.Errorf("statuses %v, want one 200 and %d 404 or 429", count, n-1)
	}
}
