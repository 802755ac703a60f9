package credential

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

// TestBase45 checks the examples of RFC 9285 §4.3 and §4.4.
func TestBase45(t *testing.T) {
	tests := []struct{ raw, encoded string }{
		{"AB", "BB8"},
		{"Hello!!", "%69 VD92EX0"},
		{"base-45", "UJCLQE7W581"},
		{"ietf!", "QED8WEX0"},
		{"", ""},
		{"\x00", "00"},
		{"\xff", "U5"},
		{"\xff\xff", "FGW"},
		{"\x00\x00", "000"},
	}
	for _, tt := range tests {
		if got := string(appendBase45(nil, []byte(tt.raw))); got != tt.encoded {
			t.Errorf("encode(%q) = %q, want %q", tt.raw, got, tt.encoded)
		}
		if got := base45EncodedLen(len(tt.raw)); got != len(tt.encoded) {
			t.Errorf("base45EncodedLen(%d) = %d, want %d", len(tt.raw), got, len(tt.encoded))
		}
		got, err := decodeBase45(tt.encoded)
		if err != nil {
			t.Errorf("decode(%q): %v", tt.encoded, err)
			continue
		}
		if string(got) != tt.raw {
			t.Errorf("decode(%q) = %q, want %q", tt.encoded, got, tt.raw)
		}
	}
}

func TestBase45Invalid(t *testing.T) {
	for _, in := range []string{
		"GGW",      // RFC 9285 §6: 65536 does not fit two bytes
		"ZZZ",      // 35 + 35*45 + 35*2025 > 65535
		"V5",       // 31 + 5*45 = 256 does not fit one byte
		"ZZ",       // final pair > 255
		"A",        // one character over
		"BB8A",     // one character over after a triple
		"bb8",      // lower case is not in the alphabet
		"BB8\x00A", // NUL
		"BB#",      // '#' is not in the alphabet
		"BB8\xff\xff",
		"QED8WEX0=",
	} {
		if got, err := decodeBase45(in); !errors.Is(err, errBase45) {
			t.Errorf("decode(%q) = %q, %v; want an error wrapping errBase45", in, got, err)
		}
	}
}

func TestBase45RoundTrip(t *testing.T) {
	for n := range 64 {
		raw := make([]byte, n)
		rand.Read(raw)
		enc := appendBase45(nil, raw)
		got, err := decodeBase45(string(enc))
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatalf("round trip of %x: %x, %v", raw, got, err)
		}
	}
}
