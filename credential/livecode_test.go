package credential

import (
	"errors"
	"strings"
	"testing"
	"time"

	"zhengzhao/signing"
)

const liveTestID = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"

func liveTestSigner(t *testing.T) signing.Signer {
	t.Helper()
	k, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return signing.NewKeySigner(k)
}

func TestLiveCodeRoundTrip(t *testing.T) {
	s := liveTestSigner(t)
	exp := time.Date(2026, 12, 7, 8, 1, 0, 500, time.UTC)
	nonce := []byte("12345678")
	code, err := EncodeLiveCode(s, liveTestID, exp, nonce)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("live code of %d characters: %s", len(code), code)
	if !strings.HasPrefix(code, LivePrefix) || len(code) >= 300 {
		t.Fatalf("code %q (%d characters): want the %s prefix and well under 300 characters", code, len(code), LivePrefix)
	}
	l, err := ParseLiveCode(code)
	if err != nil {
		t.Fatal(err)
	}
	if l.Identifier != liveTestID || !l.Expires.Equal(exp.Truncate(time.Second)) || string(l.Nonce) != string(nonce) {
		t.Errorf("parsed %+v, want %s until %v", l, liveTestID, exp)
	}
	if err := l.VerifySignature(s.Public()); err != nil {
		t.Errorf("VerifySignature: %v", err)
	}
	if err := l.VerifySignature(liveTestSigner(t).Public()); !errors.Is(err, ErrProof) || !errors.Is(err, signing.ErrBadSignature) {
		t.Errorf("foreign key: got %v, want ErrProof and ErrBadSignature", err)
	}
	// Two codes for the same license and second differ by their nonce.
	other, err := EncodeLiveCode(s, liveTestID, exp, []byte("87654321"))
	if err != nil || other == code {
		t.Errorf("a second nonce gave the same code (%v)", err)
	}
}

func TestLiveCodeTampered(t *testing.T) {
	s := liveTestSigner(t)
	exp := time.Date(2026, 12, 7, 8, 1, 0, 0, time.UTC)
	code, err := EncodeLiveCode(s, liveTestID, exp, []byte("abcdefgh"))
	if err != nil {
		t.Fatal(err)
	}
	// Later expiry, same signature: the classic edit of a screenshot's code.
	l, _ := ParseLiveCode(code)
	l.Expires = l.Expires.Add(time.Hour)
	if err := l.VerifySignature(s.Public()); !errors.Is(err, ErrProof) {
		t.Errorf("moved expiry: got %v, want ErrProof", err)
	}
	// Every single-character change either fails to parse or to verify.
	alphabet := "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	for i := len(LivePrefix); i < len(code); i += 7 {
		b := []byte(code)
		b[i] = alphabet[(strings.IndexByte(alphabet, b[i])+1)%len(alphabet)]
		l, err := ParseLiveCode(string(b))
		if err == nil {
			err = l.VerifySignature(s.Public())
		}
		if err == nil {
			t.Errorf("character %d changed: still verifies", i)
		}
	}
}

func TestParseLiveCodeRejects(t *testing.T) {
	s := liveTestSigner(t)
	good, _ := EncodeLiveCode(s, liveTestID, time.Unix(1e9, 0), []byte("abcdefgh"))
	tests := []struct{ name, in, field string }{
		{"static form", "ZZ1:6BFOXN", "prefix"},
		{"empty", "", "prefix"},
		{"bad base45", LivePrefix + "@@@", "base45"},
		{"truncated", good[:len(good)-30], "base45"},
		{"too long", LivePrefix + strings.Repeat("A", MaxLiveLen), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseLiveCode(tt.in)
			var fe *FormatError
			if !errors.As(err, &fe) || !errors.Is(err, ErrFormat) {
				t.Fatalf("got %v, want a *FormatError", err)
			}
			if tt.field != "" && fe.Field != tt.field && !strings.HasPrefix(fe.Field, "live") {
				t.Errorf("field %q, want %q", fe.Field, tt.field)
			}
		})
	}
	if _, err := EncodeLiveCode(s, "urn:not-an-identifier", time.Unix(1e9, 0), []byte("abcdefgh")); err == nil {
		t.Error("EncodeLiveCode accepted an identifier without the GB/T 36904 prefix")
	}
}

func FuzzParseLiveCode(f *testing.F) {
	k, _ := signing.GenerateKey()
	good, _ := EncodeLiveCode(signing.NewKeySigner(k), liveTestID, time.Unix(1e9, 0), []byte("abcdefgh"))
	f.Add(good)
	f.Add(LivePrefix)
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLiveCode(s)
		if err == nil && (l.Identifier == "" || len(l.Nonce) != LiveNonceLen) {
			t.Fatalf("accepted %q as %+v", s, l)
		}
	})
}
