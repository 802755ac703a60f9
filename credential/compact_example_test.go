package credential_test

import (
	"encoding/json"
	"fmt"
	"log"
	"os"
	"time"

	"zhengzhao/credential"
	"zhengzhao/license"
	"zhengzhao/signing"
)

func ExampleEncodeCompact() {
	data, err := os.ReadFile("testdata/signed.json")
	if err != nil {
		log.Fatal(err)
	}
	c, err := credential.Parse(data)
	if err != nil {
		log.Fatal(err)
	}
	// keyID is signing.KeyID of the department certificate whose key signs.
	qr, err := credential.EncodeCompact(c, signing.NewKeySigner(exampleKey()), "5f2a9c07e1d3b468", time.Date(2025, 1, 1, 1, 30, 0, 0, time.UTC))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(qr[:4], len(qr) <= 800)
	// Output: ZZ1: true
}

func ExampleParseCompact() {
	data, err := os.ReadFile("testdata/compact-vector.json")
	if err != nil {
		log.Fatal(err)
	}
	var v struct{ Compact string }
	if err := json.Unmarshal(data, &v); err != nil {
		log.Fatal(err)
	}
	c, err := credential.ParseCompact(v.Compact)
	if err != nil {
		log.Fatal(err) // a *credential.FormatError naming the part, such as "cwt.holder"
	}
	// A verifier looks the key up by c.KeyID in its trust bundle and checks
	// that the certificate's USCC is c.Issuer.
	if err := c.VerifySignature(&exampleKey().PublicKey); err != nil {
		log.Fatal(err) // a *credential.ProofError
	}
	fmt.Println(c.TypeName, c.Holder, c.HolderCodeMasked)
	fmt.Println(c.Issuer, c.IssuerName, c.KeyID)
	fmt.Println(c.Expires.In(license.ChinaTime).Format(time.DateOnly), c.StatusList, c.StatusIndex)
	// Output:
	// 营业执照 湖南麓山软件科技有限公司 **************345A
	// 11430000006122244L 湖南省市场监督管理局 5f2a9c07e1d3b468
	// 2044-12-31 1 94567
}

func ExampleMaskHolderCode() {
	fmt.Println(credential.MaskHolderCode("430103198805061523"))
	// Output: **************1523
}
