package credential_test

import (
	"errors"
	"fmt"
	"log"
	"time"

	"zhengzhao/credential"
	"zhengzhao/signing"
)

// A department signs list 0 with one revoked license; a verifier checks the
// list and reads the license's entry, and fails closed once it is stale.
func ExampleVerifyStatusListCredential() {
	key := exampleKey()
	list := credential.NewStatusList()
	if err := list.Set(94567, credential.ListRevoked); err != nil {
		log.Fatal(err)
	}
	signed := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	data, err := credential.NewStatusListCredential(credential.StatusListConfig{
		PublicURL:  "https://zhengzhao.example",
		USCC:       "11430000006122244L",
		IssuerName: "湖南省市场监督管理局",
		Number:     0,
		List:       list,
		Signer:     signing.NewKeySigner(key),
		KeyID:      "5f2a9c07e1d3b468",
		ValidFrom:  signed,
	})
	if err != nil {
		log.Fatal(err)
	}

	// The license's credentialStatus.
	entry, err := credential.NewStatusListEntry(credential.StatusListURL("https://zhengzhao.example", "11430000006122244L", 0), 94567)
	if err != nil {
		log.Fatal(err)
	}

	l, err := credential.VerifyStatusListCredential(data, &key.PublicKey, signed.Add(time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	status, err := l.Lookup(entry)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(l.ID)
	fmt.Println(status.Hex(), status.Code(), status.Label(), "status as of", l.ValidFrom.Format(time.RFC3339))

	_, err = credential.VerifyStatusListCredential(data, &key.PublicKey, signed.Add(25*time.Hour))
	fmt.Println(errors.Is(err, credential.ErrStatusListExpired))
	// Output:
	// https://zhengzhao.example/status/11430000006122244L/message/0
	// 0x3 revoked 已吊销 status as of 2026-12-07T08:00:00Z
	// true
}
