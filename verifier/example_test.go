package verifier_test

import (
	"context"
	"fmt"
	"testing"

	"zhengzhao/verifier"
	"zhengzhao/verifier/verifiertest"
)

// exampleTB lets an example build a world: it panics where a test would fail.
type exampleTB struct{ testing.TB }

func (exampleTB) Helper() {}

func (exampleTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

func ExampleVerify() {
	// A fake trust world stands in for the platform: in an office the bundle
	// is a file the platform published and the input a credential someone shows.
	w := verifiertest.NewWorld(exampleTB{})
	lic := w.Issue(w.Departments[0], "11100000000013338W002")
	bundle, err := verifier.ParseBundle(w.SignedBundle(nil), verifier.WithRootFingerprint(w.RootFingerprint()))
	if err != nil {
		fmt.Println(err)
		return
	}

	r, err := verifier.Verify(context.Background(), lic.Document, bundle, verifier.Policy{At: verifiertest.Now})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Verdict, r.TypeName, r.IssuerName)
	for _, c := range r.Checks {
		fmt.Println(c.Name, c.Status)
	}
	// Output:
	// valid 食品经营许可证 长沙市市场监督管理局
	// format pass
	// issuer pass
	// proof pass
	// key pass
	// type pass
	// validity pass
	// status pass
	// anchor pass
}
