package credential_test

import (
	"encoding/hex"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"zhengzhao/credential"
	"zhengzhao/license"
	"zhengzhao/signing"
)

// exampleKey is the fixed key of testdata/vector.json. Real keys come from
// signing.GenerateKey and live encrypted (signing.EncryptPrivateKey).
func exampleKey() *sm2.PrivateKey {
	d, _ := hex.DecodeString("3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8")
	k, err := sm2.NewPrivateKey(d)
	if err != nil {
		log.Fatal(err)
	}
	return k
}

func ExampleCredential_Sign() {
	rec := license.Record{
		Name:           "营业执照",
		TypeCode:       "11100000000013338W011",
		Number:         "20230000403",
		Identifier:     "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
		Holder:         "湖南麓山软件科技有限公司",
		HolderCode:     "91430100MA4L12345A",
		HolderCodeType: "001",
		Issuer:         "湖南省市场监督管理局",
		IssuerCode:     "11430000006122244L",
		IssueDate:      "2025-01-01",
		ValidFrom:      "2025-01-01",
		Jurisdiction:   "430000",
		Fields:         map[string]string{"legalRepresentative": "张三"},
	}
	c, err := credential.New(rec, "湖南省市场监督管理局", nil)
	if err != nil {
		log.Fatal(err)
	}
	key := exampleKey()
	vm := credential.VerificationMethod(rec.IssuerCode, "5f2a9c07e1d3b468")
	if err := c.Sign(signing.NewKeySigner(key), vm, time.Date(2025, 1, 1, 9, 30, 0, 0, time.UTC)); err != nil {
		log.Fatal(err)
	}
	stored, err := c.Marshal() // the JCS bytes to store and hand out
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.ID)
	fmt.Println(c.ValidFrom, c.ValidUntil == "")
	fmt.Println(c.Proof.Cryptosuite, c.Proof.Created)
	back, err := credential.Parse(stored)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(back.VerifyProof(&key.PublicKey))
	// Output:
	// urn:license:1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U
	// 2024-12-31T16:00:00Z true
	// sm2-jcs-2026 2025-01-01T09:30:00Z
	// <nil>
}

func ExampleParse() {
	data, err := os.ReadFile("testdata/signed.json")
	if err != nil {
		log.Fatal(err)
	}
	c, err := credential.Parse(data)
	if err != nil {
		log.Fatal(err) // a *credential.FormatError naming the member and the rule
	}
	uscc, keyID, err := credential.ParseVerificationMethod(c.Proof.VerificationMethod)
	if err != nil {
		log.Fatal(err)
	}
	// A verifier looks the key up by (uscc, keyID) in its trust bundle.
	if err := c.VerifyProof(&exampleKey().PublicKey); err != nil {
		log.Fatal(err) // a *credential.ProofError saying why
	}
	proofHash, documentHash, _ := c.Hashes()
	fmt.Println(c.CredentialSubject.Holder, uscc, keyID)
	fmt.Printf("%x\n%x\n", proofHash, documentHash)
	// Output:
	// 湖南麓山软件科技有限公司 11430000006122244L 5f2a9c07e1d3b468
	// 308fcef2cf9f873538f76f5274241683c2cc3858b36d76dbaf9903765777f929
	// a73e505e58dc124dfb8001e8a23e0f03dde4f6e4aad6316f85984844067781cd
}
