package license

import (
	"encoding/json"
	"errors"
	"testing"
)

func FuzzParseIdentifier(f *testing.F) {
	f.Add(realIdentifier)
	f.Add("1.2.156.3005.2.11100000000013338W001.91430104MA4L3B5K26.1.001.0")
	f.Add("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.7")
	f.Add("1.2.156.3005.2.....")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseIdentifier(s)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseIdentifier(%q) error %v is not a *FieldError wrapping ErrInvalid", s, err)
			}
			return
		}
		if got := id.String(); got != s {
			t.Fatalf("round trip: ParseIdentifier(%q).String() = %q", s, got)
		}
		again, err := NewIdentifier(id.TypeCode, id.IssuerUSCC, id.Serial, id.Version)
		if err != nil || again != id {
			t.Fatalf("NewIdentifier of parsed parts = %+v, %v; want %+v", again, err, id)
		}
	})
}

func FuzzValidateUSCC(f *testing.F) {
	for _, s := range []string{"11100000000013338W", "91350100M000100Y43", "11430000006122244L", "", "IOZSV", "91350100M000100Y4３"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateUSCC(s)
		if err == nil && (len(s) != 18 || usccCheck(s[:17]) != s[17]) {
			t.Fatalf("ValidateUSCC accepted %q", s)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v does not wrap ErrInvalid", err)
		}
	})
}

func FuzzValidateCitizenID(f *testing.F) {
	for _, s := range []string{"11010519491231002X", "430104198503120029", "110101200002290018", "", "000000000000000000", "11010519491231002x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateCitizenID(s)
		if err == nil && len(s) != 18 {
			t.Fatalf("ValidateCitizenID accepted %q", s)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v does not wrap ErrInvalid", err)
		}
	})
}

// FuzzValidateRecord feeds arbitrary JSON records to every catalog type.
func FuzzValidateRecord(f *testing.F) {
	for _, typ := range DefaultCatalog().Types() {
		b, err := json.Marshal(typ.Example(testIssuerUSCC, testIssuerName))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"fields":{"x":"\u0000"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Record
		if json.Unmarshal(data, &r) != nil {
			return
		}
		for _, typ := range DefaultCatalog().Types() {
			err := typ.Validate(r)
			if err == nil {
				continue
			}
			for _, fe := range fieldErrors(err) {
				if fe.Field == "" || fe.Rule == "" {
					t.Fatalf("FieldError without field or rule: %+v", fe)
				}
			}
		}
	})
}

// FuzzParseCatalog checks that ParseCatalog never panics and that any
// catalog it accepts yields examples that validate.
func FuzzParseCatalog(f *testing.F) {
	f.Add([]byte(minimalCatalog))
	f.Add(defaultCatalogJSON)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCatalog(data)
		if err != nil {
			return
		}
		for _, typ := range c.Types() {
			if err := typ.Validate(typ.Example(testIssuerUSCC, testIssuerName)); err != nil {
				t.Fatalf("example of accepted type %s does not validate: %v", typ.Code, err)
			}
		}
	})
}
