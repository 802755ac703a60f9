package verifier_test

import (
	"context"
	"errors"
	"testing"

	"zhengzhao/credential"
	"zhengzhao/verifier"
	"zhengzhao/verifier/verifiertest"
)

// A live code (亮证码), typed or photographed, is never valid offline: the
// result says it can only be verified online and hands the code back.
func TestLiveCodeOnlyOnline(t *testing.T) {
	w := verifiertest.NewWorld(t)
	a := w.Departments[0]
	lic := w.Issue(a, a.Types[0])
	code, err := credential.EncodeLiveCode(w.Root, lic.Credential.Identifier(), verifiertest.Now, []byte("abcdefgh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, form string
		input      []byte
	}{{"text", verifier.FormLive, []byte(" " + code + "\n")}, {"photo", verifier.FormPhoto, qrPNG(t, code)}} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := verifier.Verify(context.Background(), tt.input, w.Bundle(nil), verifier.Policy{At: verifiertest.Now})
			if err != nil {
				t.Fatal(err)
			}
			var lc *verifier.LiveCodeInput
			if res.Valid || res.Form != tt.form || !errors.As(res.InputErr, &lc) || !errors.Is(res.InputErr, verifier.ErrLiveCode) || lc.Code != code {
				t.Fatalf("got valid=%v form=%s input error %v, want a refused live code", res.Valid, res.Form, res.InputErr)
			}
			if ch, _ := res.Check(verifier.NameFormat); ch.Status != verifier.CheckFail {
				t.Errorf("format check %+v, want fail", ch)
			}
			chineseReasons(t, res)
		})
	}
}
