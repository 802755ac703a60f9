package signing

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// sm2Vector is testdata/gbt32918-5.json.
type sm2Vector struct {
	UserID  string `json:"userID"`
	Message string `json:"message"`
	D       string `json:"d"`
	PX      string `json:"px"`
	PY      string `json:"py"`
	ZA      string `json:"za"`
	E       string `json:"e"`
	R       string `json:"r"`
	S       string `json:"s"`
}

func loadVector(t testing.TB) sm2Vector {
	t.Helper()
	data, err := os.ReadFile("testdata/gbt32918-5.json")
	if err != nil {
		t.Fatal(err)
	}
	var v sm2Vector
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustInt(t testing.TB, s string) *big.Int {
	t.Helper()
	n, ok := new(big.Int).SetString(s, 16)
	if !ok {
		t.Fatalf("bad hex integer %q", s)
	}
	return n
}

func newTestKey(t testing.TB) *sm2.PrivateKey {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestGBT32918Vector(t *testing.T) {
	v := loadVector(t)
	if v.UserID != DefaultUserID {
		t.Fatalf("vector user ID %q, package uses %q", v.UserID, DefaultUserID)
	}
	k, err := sm2.NewPrivateKeyFromInt(mustInt(t, v.D))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := k.X, mustInt(t, v.PX); got.Cmp(want) != 0 {
		t.Errorf("public x = %X, want %X", got, want)
	}
	if got, want := k.Y, mustInt(t, v.PY); got.Cmp(want) != 0 {
		t.Errorf("public y = %X, want %X", got, want)
	}
	za, err := sm2.CalculateZA(&k.PublicKey, []byte(DefaultUserID))
	if err != nil {
		t.Fatal(err)
	}
	if want := mustHex(t, v.ZA); !bytes.Equal(za, want) {
		t.Errorf("Z_A = %X, want %X", za, want)
	}
	e := sm3.Sum(append(za, v.Message...))
	if want := mustHex(t, v.E); !bytes.Equal(e[:], want) {
		t.Errorf("e = %X, want %X", e, want)
	}

	sig := append(mustHex(t, v.R), mustHex(t, v.S)...)
	pub := &k.PublicKey
	tests := []struct {
		name    string
		message []byte
		sig     []byte
		want    error
	}{
		{"standard signature", []byte(v.Message), sig, nil},
		{"changed message", []byte(v.Message + "."), sig, ErrBadSignature},
		{"empty message", nil, sig, ErrBadSignature},
		{"r and s swapped", []byte(v.Message), append(mustHex(t, v.S), mustHex(t, v.R)...), ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Verify(pub, tt.message, tt.sig); !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSignVerify(t *testing.T) {
	k := newTestKey(t)
	s := NewKeySigner(k)
	other := newTestKey(t)
	if !s.Public().Equal(&k.PublicKey) {
		t.Fatal("Public() is not the key's public key")
	}
	for _, msg := range [][]byte{nil, {}, []byte("a"), bytes.Repeat([]byte("证照"), 1000)} {
		sig, err := s.Sign(msg)
		if err != nil {
			t.Fatal(err)
		}
		if len(sig) != SignatureSize {
			t.Fatalf("len(sig) = %d, want %d", len(sig), SignatureSize)
		}
		if err := Verify(s.Public(), msg, sig); err != nil {
			t.Errorf("Verify(own signature, len %d) = %v", len(msg), err)
		}
		if err := Verify(&other.PublicKey, msg, sig); !errors.Is(err, ErrBadSignature) {
			t.Errorf("Verify(other key) = %v, want ErrBadSignature", err)
		}
		// The signature is over Z_A ‖ M, so it also verifies with gmsm's own
		// default-ID message verification.
		der, err := RawToASN1(sig)
		if err != nil {
			t.Fatal(err)
		}
		if !sm2.VerifyASN1WithSM2(s.Public(), nil, msg, der) {
			t.Errorf("gmsm VerifyASN1WithSM2 rejects our signature (len %d)", len(msg))
		}
	}
}

func TestVerifyMalformed(t *testing.T) {
	k := newTestKey(t)
	s := NewKeySigner(k)
	msg := []byte("电子证照")
	good, err := s.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	n := curveOrder.FillBytes(make([]byte, 32))
	one := big.NewInt(1).FillBytes(make([]byte, 32))
	zero := make([]byte, 32)
	flipped := bytes.Clone(good)
	flipped[40] ^= 0x01
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		pub  *ecdsa.PublicKey
		sig  []byte
		want error
	}{
		{"good", s.Public(), good, nil},
		{"nil", s.Public(), nil, ErrBadSignature},
		{"63 bytes", s.Public(), good[:63], ErrBadSignature},
		{"65 bytes", s.Public(), append(bytes.Clone(good), 0), ErrBadSignature},
		{"DER instead of raw", s.Public(), mustRawToASN1(t, good), ErrBadSignature},
		{"r zero", s.Public(), append(zero, good[32:]...), ErrBadSignature},
		{"s zero", s.Public(), append(bytes.Clone(good[:32]), zero...), ErrBadSignature},
		{"r = n", s.Public(), append(n, good[32:]...), ErrBadSignature},
		{"s = n", s.Public(), append(bytes.Clone(good[:32]), n...), ErrBadSignature},
		{"r = s = 1", s.Public(), append(bytes.Clone(one), one...), ErrBadSignature},
		{"bit flipped", s.Public(), flipped, ErrBadSignature},
		{"nil key", nil, good, ErrNotSM2},
		{"P-256 key", &p256.PublicKey, good, ErrNotSM2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Verify(tt.pub, msg, tt.sig); !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func mustRawToASN1(t testing.TB, raw []byte) []byte {
	t.Helper()
	der, err := RawToASN1(raw)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestASN1RawRoundTrip(t *testing.T) {
	v := loadVector(t)
	raw := append(mustHex(t, v.R), mustHex(t, v.S)...)
	small := make([]byte, 64) // r = 1, s = 2: left padding must survive
	small[31], small[63] = 1, 2

	for _, in := range [][]byte{raw, small} {
		der, err := RawToASN1(in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ASN1ToRaw(der)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, in) {
			t.Errorf("round trip = %X, want %X", got, in)
		}
	}

	der := mustRawToASN1(t, raw)
	bad := []struct {
		name string
		der  []byte
	}{
		{"empty", nil},
		{"trailing byte", append(bytes.Clone(der), 0)},
		{"truncated", der[:len(der)-1]},
		{"raw bytes", raw},
		{"negative r", []byte{0x30, 0x06, 0x02, 0x01, 0xff, 0x02, 0x01, 0x01}},
		{"zero s", []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x00}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ASN1ToRaw(tt.der); !errors.Is(err, ErrBadSignature) {
				t.Errorf("ASN1ToRaw = %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestCryptoSignerRefusesOtherOptions(t *testing.T) {
	cs := CryptoSigner(NewKeySigner(newTestKey(t)))
	msg := []byte("tbs")
	if _, err := cs.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts); err != nil {
		t.Fatalf("Sign with DefaultSM2SignerOpts = %v", err)
	}
	others := []struct {
		name string
		opts crypto.SignerOpts
	}{
		{"SM2 option with another ID", sm2.NewSM2SignerOption(true, []byte("ALICE123@YAHOO.COM"))},
		{"pre-hashed", sm2.NewSM2SignerOption(false, nil)},
		{"SHA-256", crypto.SHA256},
		{"no hash", crypto.Hash(0)},
	}
	for _, tt := range others {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := cs.Sign(rand.Reader, msg, tt.opts); err == nil {
				t.Error("Sign accepted options it cannot honour")
			}
		})
	}
}
