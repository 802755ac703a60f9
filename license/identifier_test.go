package license

import (
	"errors"
	"strings"
	"testing"
)

const realIdentifier = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"

func TestParseIdentifierReal(t *testing.T) {
	id, err := ParseIdentifier(realIdentifier)
	if err != nil {
		t.Fatalf("ParseIdentifier(real example) = %v", err)
	}
	want := Identifier{TypeCode: "11100000000013338W011", IssuerUSCC: "11430000006122244L", Serial: "20230000403", Version: "001", Check: 'U'}
	if id != want {
		t.Errorf("got %+v, want %+v", id, want)
	}
	if got := id.String(); got != realIdentifier {
		t.Errorf("String() = %q, want %q", got, realIdentifier)
	}
}

func TestParseIdentifier(t *testing.T) {
	// swap replaces the n-th dot-separated segment (0 = first after the prefix).
	swap := func(n int, v string) string {
		parts := strings.Split(strings.TrimPrefix(realIdentifier, IdentifierPrefix), ".")
		parts[n] = v
		return IdentifierPrefix + strings.Join(parts, ".")
	}
	tests := []struct {
		name      string
		in        string
		wantField string
		wantRule  string
	}{
		{"empty", "", "identifier.prefix", "prefix"},
		{"checked with prefix (7) is wrong", swap(4, "7"), "identifier.check", "check"},
		{"wrong check", swap(4, "V"), "identifier.check", "check"},
		{"lower-case check", swap(4, "u"), "identifier.check", "charset"},
		{"two-char check", swap(4, "UU"), "identifier.check", "charset"},
		{"empty check", swap(4, ""), "identifier.check", "charset"},
		{"other OID", strings.Replace(realIdentifier, "3005", "3006", 1), "identifier.prefix", "prefix"},
		{"missing segment", IdentifierPrefix + "11100000000013338W011.11430000006122244L.001.U", "identifier", "format"},
		{"extra segment", realIdentifier + ".U", "identifier", "format"},
		{"type code short", swap(0, "11100000000013338W01"), "identifier.typeCode", "length"},
		{"type code serial letter", swap(0, "11100000000013338W01A"), "identifier.typeCode", "charset"},
		{"type code authority check", swap(0, "11100000000013338X011"), "identifier.typeCode", "check"},
		{"issuer check", swap(1, "11430000006122244M"), "identifier.issuer", "check"},
		{"issuer length", swap(1, "1143000000612224L"), "identifier.issuer", "length"},
		{"issuer charset", swap(1, "1143000000612224IL"), "identifier.issuer", "charset"},
		{"empty serial", swap(2, ""), "identifier.serial", "length"},
		{"serial 33", swap(2, strings.Repeat("1", 33)), "identifier.serial", "length"},
		{"serial lower", swap(2, "2023abc"), "identifier.serial", "charset"},
		{"serial dash", swap(2, "2023-1"), "identifier.serial", "charset"},
		{"version 2 digits", swap(3, "01"), "identifier.version", "pattern"},
		{"version letters", swap(3, "00A"), "identifier.version", "pattern"},
		{"too long", realIdentifier + strings.Repeat("1", 300), "identifier", "length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseIdentifier(tt.in)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("ParseIdentifier(%q) = %v, want *FieldError", tt.in, err)
			}
			if fe.Field != tt.wantField || fe.Rule != tt.wantRule {
				t.Errorf("got field %q rule %q, want field %q rule %q (%v)", fe.Field, fe.Rule, tt.wantField, tt.wantRule, err)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid")
			}
		})
	}
}

func TestNewIdentifier(t *testing.T) {
	tests := []struct {
		name                              string
		typeCode, issuer, serial, version string
		want                              string // identifier; "" when an error is expected
		wantField, wantRule               string
	}{
		{name: "real example", typeCode: "11100000000013338W011", issuer: "11430000006122244L", serial: "20230000403", version: "001",
			want: realIdentifier},
		{name: "letters in serial", typeCode: "11100000000013338W001", issuer: "91430104MA4L3B5K26", serial: "2024ABC000001", version: "002"},
		{name: "one-char serial", typeCode: "11100000000013338W001", issuer: "91430104MA4L3B5K26", serial: "1", version: "001"},
		{name: "32-char serial", typeCode: "11100000000013338W001", issuer: "91430104MA4L3B5K26", serial: strings.Repeat("Z", 32), version: "999"},
		{name: "bad type code", typeCode: "11100000000013338W", issuer: "91430104MA4L3B5K26", serial: "1", version: "001",
			wantField: "identifier.typeCode", wantRule: "length"},
		{name: "bad issuer", typeCode: "11100000000013338W001", issuer: "91430104MA4L3B5K27", serial: "1", version: "001",
			wantField: "identifier.issuer", wantRule: "check"},
		{name: "bad serial", typeCode: "11100000000013338W001", issuer: "91430104MA4L3B5K26", serial: "1.2", version: "001",
			wantField: "identifier.serial", wantRule: "charset"},
		{name: "bad version", typeCode: "11100000000013338W001", issuer: "91430104MA4L3B5K26", serial: "1", version: "1",
			wantField: "identifier.version", wantRule: "pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := NewIdentifier(tt.typeCode, tt.issuer, tt.serial, tt.version)
			if tt.wantRule != "" {
				field, rule := ruleOf(err)
				if field != tt.wantField || rule != tt.wantRule {
					t.Fatalf("got field %q rule %q, want %q %q (%v)", field, rule, tt.wantField, tt.wantRule, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewIdentifier = %v", err)
			}
			if tt.want != "" && id.String() != tt.want {
				t.Errorf("String() = %q, want %q", id.String(), tt.want)
			}
			back, err := ParseIdentifier(id.String())
			if err != nil {
				t.Fatalf("ParseIdentifier(NewIdentifier(...).String()) = %v", err)
			}
			if back != id {
				t.Errorf("round trip: got %+v, want %+v", back, id)
			}
		})
	}
}

// TestMOD3736DetectsSingleErrors checks the property ISO/IEC 7064 promises:
// every single substitution in the checked string changes the check.
func TestMOD3736DetectsSingleErrors(t *testing.T) {
	body := "11100000000013338W01111430000006122244L20230000403001"
	want := mod3736Check(body)
	for i := range len(body) {
		for _, c := range []byte(mod3736Alphabet) {
			if c == body[i] {
				continue
			}
			mut := body[:i] + string(c) + body[i+1:]
			if mod3736Check(mut) == want {
				t.Fatalf("substituting %c at %d keeps check %c", c, i, want)
			}
		}
	}
}
