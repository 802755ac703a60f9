package signing

import (
	"encoding/pem"
	"os"
	"testing"
)

func FuzzParseCertificatePEM(f *testing.F) {
	for _, name := range []string{"testdata/root.pem", "testdata/department.pem"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCertificatePEM(data)
		if err != nil {
			return
		}
		// Anything that parses is SM2 and has a key id.
		if !isSM2Key(c.PublicKey) {
			t.Fatal("parsed a non-SM2 certificate")
		}
		if len(KeyID(c.Raw)) != 16 {
			t.Fatal("key id is not 16 hex digits")
		}
	})
}

func FuzzParsePublicKey(f *testing.F) {
	k, err := GenerateKey()
	if err != nil {
		f.Fatal(err)
	}
	der, err := MarshalPublicKey(&k.PublicKey)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(der)
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		pub, err := ParsePublicKey(data)
		if err != nil {
			return
		}
		again, err := MarshalPublicKey(pub)
		if err != nil {
			t.Fatalf("re-marshal parsed key: %v", err)
		}
		if _, err := ParsePublicKey(again); err != nil {
			t.Fatalf("parse re-marshalled key: %v", err)
		}
	})
}

func FuzzVerify(f *testing.F) {
	v := loadVector(f)
	sig := append(mustHex(f, v.R), mustHex(f, v.S)...)
	k := newTestKey(f)
	f.Add([]byte(v.Message), sig)
	f.Add([]byte{}, make([]byte, 64))
	f.Fuzz(func(t *testing.T, message, sig []byte) {
		// Must not panic; random input must not verify.
		if err := Verify(&k.PublicKey, message, sig); err == nil {
			t.Fatal("random signature verified")
		}
	})
}

func FuzzASN1ToRaw(f *testing.F) {
	v := loadVector(f)
	der, err := RawToASN1(append(mustHex(f, v.R), mustHex(f, v.S)...))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(der)
	f.Fuzz(func(t *testing.T, data []byte) {
		raw, err := ASN1ToRaw(data)
		if err != nil {
			return
		}
		if _, err := RawToASN1(raw); err != nil {
			t.Fatalf("RawToASN1 rejects ASN1ToRaw output: %v", err)
		}
	})
}

// FuzzDecryptPrivateKey feeds mutated key files; the seed uses a low
// iteration count so the fuzzer runs quickly. It must never panic.
func FuzzDecryptPrivateKey(f *testing.F) {
	k, err := GenerateKey()
	if err != nil {
		f.Fatal(err)
	}
	pemBytes, err := EncryptPrivateKey(k, []byte("pw"))
	if err != nil {
		f.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	fast := withIterationsDER(f, block.Bytes, 2)
	f.Add(fast)
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		_, _ = DecryptPrivateKey(pem.EncodeToMemory(&pem.Block{Type: pemEncryptedKey, Bytes: der}), []byte("pw"))
	})
}
