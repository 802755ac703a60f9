package credential

import (
	"crypto/rand"
	"encoding/asn1"
	"math/big"
	"testing"

	"github.com/mr-tron/base58"
	tjsm2 "github.com/tjfoc/gmsm/sm2"
)

// Interop with github.com/tjfoc/gmsm, an SM2 implementation independent of
// the emmansun/gmsm one signing uses: each verifies the other's proofs.
// (docs/sm2-jcs-2026.md also shows the vector verified with OpenSSL 3.)

type derSignature struct{ R, S *big.Int }

func TestInteropTjfocVerifiesOurProof(t *testing.T) {
	v := loadVector(t)
	c := signedVector(t)
	sig, err := c.Signature()
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(derSignature{new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])})
	if err != nil {
		t.Fatal(err)
	}
	pt := mustHex(t, v.PublicKey)
	pub := &tjsm2.PublicKey{Curve: tjsm2.P256Sm2(), X: new(big.Int).SetBytes(pt[1:33]), Y: new(big.Int).SetBytes(pt[33:])}
	ph, dh, err := c.Hashes()
	if err != nil {
		t.Fatal(err)
	}
	hashData := append(ph, dh...)
	// tjfoc's Verify uses the default user ID 1234567812345678.
	if !pub.Verify(hashData, der) {
		t.Fatalf("tjfoc/gmsm does not verify the proof of %s", signedFile)
	}
	hashData[0] ^= 1
	if pub.Verify(hashData, der) {
		t.Fatalf("tjfoc/gmsm verifies a changed message")
	}
}

func TestInteropWeVerifyTjfocProof(t *testing.T) {
	c := signedVector(t)
	priv := &tjsm2.PrivateKey{D: new(big.Int).SetBytes(mustHex(t, vectorKeyHex))}
	priv.Curve = tjsm2.P256Sm2()
	priv.X, priv.Y = priv.Curve.ScalarBaseMult(priv.D.Bytes())

	ph, dh, err := c.Hashes()
	if err != nil {
		t.Fatal(err)
	}
	der, err := priv.Sign(rand.Reader, append(ph, dh...), nil) // default user ID
	if err != nil {
		t.Fatal(err)
	}
	var rs derSignature
	if _, err := asn1.Unmarshal(der, &rs); err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	rs.R.FillBytes(sig[:32])
	rs.S.FillBytes(sig[32:])

	m := generic(t, readTestdata(t, signedFile))
	obj(m, "proof")["proofValue"] = "z" + base58.Encode(sig)
	resigned, err := Parse(encode(t, m))
	if err != nil {
		t.Fatal(err)
	}
	if err := resigned.VerifyProof(&vectorKey(t).PublicKey); err != nil {
		t.Fatalf("a proof signed by tjfoc/gmsm does not verify: %v", err)
	}
}
