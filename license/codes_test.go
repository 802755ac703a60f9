package license

import (
	"errors"
	"testing"
)

func TestValidateUSCC(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // Rule; "" = valid
	}{
		{"SAMR (real)", "11100000000013338W", ""},
		{"Hunan unit (real)", "11430000006122244L", ""},
		{"enterprise (well known)", "91350100M000100Y43", ""},
		{"computed company", "91430104MA4L3B5K26", ""},
		{"empty", "", "length"},
		{"17 chars", "11100000000013338", "length"},
		{"19 chars", "11100000000013338WW", "length"},
		{"letter I", "1110000000001333IW", "charset"},
		{"letter O", "91350100O000100Y43", "charset"},
		{"letter Z check", "11100000000013338Z", "charset"},
		{"lower case", "91350100m000100Y43", "charset"},
		{"multi-byte", "9135010０M000100Y4", "length"},
		{"wrong check", "11100000000013338X", "check"},
		{"transposed", "11100000000031338W", "check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateUSCC(tt.in)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ValidateUSCC(%q) = %v, want nil", tt.in, err)
				}
				return
			}
			field, rule := ruleOf(err)
			if field != "uscc" || rule != tt.want {
				t.Fatalf("ValidateUSCC(%q) = field %q rule %q, want field uscc rule %q (err %v)", tt.in, field, rule, tt.want, err)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid")
			}
		})
	}
}

func TestValidateCitizenID(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"GB 11643 sample with X", "11010519491231002X", ""},
		{"digit check", "430104198503120029", ""},
		{"leap day", "110101200002290018", ""},
		{"empty", "", "length"},
		{"15-digit old form", "110105491231002", "length"},
		{"letter in body", "11010519491231A02X", "charset"},
		{"lower-case x", "11010519491231002x", "charset"},
		{"area starts with 0", "01010519491231002X", "area"},
		{"month 13", "110105194913310021", "date"},
		{"Feb 30", "110105194902300021", "date"},
		{"Feb 29 non-leap", "110105190002290021", "date"},
		{"before 1900", "110105189912310021", "date"},
		{"wrong check", "110105194912310021", "check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateCitizenID(tt.in)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ValidateCitizenID(%q) = %v, want nil", tt.in, err)
				}
				return
			}
			field, rule := ruleOf(err)
			if field != "citizenID" || rule != tt.want {
				t.Fatalf("ValidateCitizenID(%q) = field %q rule %q, want field citizenID rule %q (err %v)", tt.in, field, rule, tt.want, err)
			}
		})
	}
}

func TestStatusValid(t *testing.T) {
	tests := []struct {
		in   Status
		want bool
	}{
		{StatusActive, true},
		{StatusSuspended, true},
		{StatusRevoked, true},
		{"", false},
		{"expired", false},
		{"Active", false},
	}
	for _, tt := range tests {
		if got := tt.in.Valid(); got != tt.want {
			t.Errorf("Status(%q).Valid() = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestFieldErrorFormat(t *testing.T) {
	err := error(&FieldError{Field: "holderCode", Rule: "check", Message: "bad"})
	if got, want := err.Error(), "field holderCode: bad"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("FieldError does not unwrap to ErrInvalid")
	}
}

func TestCompleteUSCC(t *testing.T) {
	got, err := CompleteUSCC("91430104MA4L3B5K2")
	if err != nil || got != "91430104MA4L3B5K26" {
		t.Fatalf("CompleteUSCC = %q, %v; want the catalog example 91430104MA4L3B5K26", got, err)
	}
	for _, bad := range []string{"", "91430104MA4L3B5K", "91430104MA4L3B5KI"} {
		if _, err := CompleteUSCC(bad); err == nil {
			t.Errorf("CompleteUSCC(%q) accepted", bad)
		}
	}
}

func TestCompleteCitizenID(t *testing.T) {
	for _, body := range []string{"11010519491231002", "31010119800101001", "44030420000229123"} {
		id, err := CompleteCitizenID(body)
		if err != nil || ValidateCitizenID(id) != nil || id[:17] != body {
			t.Errorf("CompleteCitizenID(%s) = %s, %v; validates: %v", body, id, err, ValidateCitizenID(id))
		}
	}
	for _, bad := range []string{"1101051949123100", "1101051949123100X"} {
		if _, err := CompleteCitizenID(bad); err == nil {
			t.Errorf("CompleteCitizenID(%q) accepted", bad)
		}
	}
}
