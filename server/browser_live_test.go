package server

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"zhengzhao/registry"
	"zhengzhao/verifier"
)

// TestBrowserLiveCode opens a license in the holder's wallet on a phone-sized
// screen: the 亮证码 is there, counts down, is a QR code of a live code the
// platform accepts, and is replaced by a new one within LiveCodeRefresh.
func TestBrowserLiveCode(t *testing.T) {
	e, b := startBrowser(t, 430, 932)
	b.login("enterprise", e.logins["enterprise"].Password)
	b.do(chromedp.Navigate(b.base+"/wallet/licenses/"+e.licA.Identifier), ready("#live-img"))

	src := func() string {
		t.Helper()
		s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById("live-img").src`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// The picture on screen is a live code the platform accepts for this license.
	shown := func() string {
		t.Helper()
		png, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(src(), "data:image/png;base64,"))
		if err != nil {
			t.Fatalf("live code picture: %v", err)
		}
		code, err := verifier.DecodeQR(png)
		if err != nil {
			t.Fatalf("no QR code in the live code picture: %v", err)
		}
		chk, err := e.reg.CheckLiveCode(context.Background(), code)
		if err != nil || chk.License.Identifier != e.licA.Identifier {
			t.Fatalf("the code on screen (%s) is not accepted for %s: %v", code, e.licA.Identifier, err)
		}
		return code
	}
	firstSrc, first := src(), shown()
	left := func() int {
		n, err := strconv.Atoi(strings.TrimSpace(b.text("#live-left")))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	l1 := left()
	time.Sleep(2100 * time.Millisecond)
	if l2 := left(); l2 >= l1 || l1 > 60 {
		t.Errorf("countdown %d then %d seconds: not counting down", l1, l2)
	}
	b.shot("liveqr-wallet-license", 430, 932)

	// Within the refresh period the page shows a new code.
	deadline := time.Now().Add(registry.LiveCodeRefresh + 10*time.Second)
	for src() == firstSrc {
		if time.Now().After(deadline) {
			t.Fatalf("no new live code within %v", registry.LiveCodeRefresh+10*time.Second)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if second := shown(); second == first {
		t.Error("the refreshed code is the first one")
	}
	if l := left(); l < 50 {
		t.Errorf("after the refresh the countdown shows %d seconds, want about 60", l)
	}
}
