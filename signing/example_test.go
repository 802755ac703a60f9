package signing_test

import (
	"errors"
	"fmt"
	"log"

	"zhengzhao/signing"
)

func ExampleNewKeySigner() {
	key, err := signing.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	signer := signing.NewKeySigner(key)
	sig, err := signer.Sign([]byte("电子证照"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(sig), "bytes r‖s")
	// Output: 64 bytes r‖s
}

func ExampleVerify() {
	key, err := signing.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	signer := signing.NewKeySigner(key)
	message := []byte("营业执照 91310000000000000X")
	sig, err := signer.Sign(message)
	if err != nil {
		log.Fatal(err)
	}

	fmt.Println("original:", signing.Verify(signer.Public(), message, sig))
	err = signing.Verify(signer.Public(), []byte("营业执照 91310000000000000Y"), sig)
	fmt.Println("altered:", errors.Is(err, signing.ErrBadSignature))
	// Output:
	// original: <nil>
	// altered: true
}

func ExampleOpenSigner() {
	_, err := signing.OpenSigner("pkcs11:token=department", nil)
	fmt.Println(errors.Is(err, signing.ErrUnsupportedKeyURI))
	// Output: true
}
