package license

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

const (
	testIssuerUSCC = "11430000006122244L"
	testIssuerName = "湖南省市场监督管理局"
)

type fieldRule struct{ field, rule string }

func mustType(t *testing.T, code string) Type {
	t.Helper()
	typ, ok := DefaultCatalog().Type(code)
	if !ok {
		t.Fatalf("no type %s", code)
	}
	return typ
}

func TestValidate(t *testing.T) {
	const (
		bizLicense = "11100000000013338W001" // 营业执照, organization, 长期
		foodPermit = "11100000000013338W002" // 食品经营许可证, organization, 5 years
		property   = "11100000000015019B001" // 不动产权证书, citizen
		birth      = "111000000000133027001" // 出生医学证明, citizen
	)
	tests := []struct {
		name   string
		code   string
		modify func(r *Record)
		want   []fieldRule // every FieldError expected, in order
	}{
		{"example", bizLicense, func(r *Record) {}, nil},
		{"limited business term", bizLicense, func(r *Record) { r.ValidUntil = "2049-06-17"; r.Fields["businessTermTo"] = "2049-06-17" }, nil},
		{"wrong name", bizLicense, func(r *Record) { r.Name = "营业执照（副本）" }, []fieldRule{{"name", "mismatch"}}},
		{"missing name", bizLicense, func(r *Record) { r.Name = "" }, []fieldRule{{"name", "required"}}},
		{"wrong type code", bizLicense, func(r *Record) { r.TypeCode = foodPermit }, []fieldRule{{"typeCode", "mismatch"}}},
		{"number too long", bizLicense, func(r *Record) { r.Number = strings.Repeat("1", 65) }, []fieldRule{{"number", "length"}}},
		{"number control char", bizLicense, func(r *Record) { r.Number = "91430104\x00" }, []fieldRule{{"number", "charset"}}},
		{"bad identifier", bizLicense, func(r *Record) { r.Identifier = "1.2.156.3005.2.x" }, []fieldRule{{"identifier", "format"}}},
		{"identifier of another type", bizLicense, func(r *Record) { r.Identifier = realIdentifier; r.IssuerCode = "11430000006122244L" },
			[]fieldRule{{"identifier", "mismatch"}}},
		{"identifier of another issuer", foodPermit, func(r *Record) {
			id, _ := NewIdentifier(foodPermit, "11100000000013338W", "1", "001")
			r.Identifier = id.String()
		}, []fieldRule{{"identifier", "mismatch"}}},
		{"identifier matching", foodPermit, func(r *Record) {
			id, _ := NewIdentifier(foodPermit, testIssuerUSCC, "JY14301040012345", "001")
			r.Identifier = id.String()
		}, nil},
		{"missing holder", bizLicense, func(r *Record) { r.Holder = "" }, []fieldRule{{"holder", "required"}}},
		{"holder too long", bizLicense, func(r *Record) { r.Holder = strings.Repeat("公", 201) }, []fieldRule{{"holder", "length"}}},
		{"holder invalid UTF-8", bizLicense, func(r *Record) { r.Holder = "公司\xff" }, []fieldRule{{"holder", "charset"}}},
		{"holder code bad check", bizLicense, func(r *Record) { r.HolderCode = "91430104MA4L3B5K27" }, []fieldRule{{"holderCode", "check"}}},
		{"holder code missing", bizLicense, func(r *Record) { r.HolderCode = "" }, []fieldRule{{"holderCode", "required"}}},
		{"holder code type missing", bizLicense, func(r *Record) { r.HolderCodeType = "" }, []fieldRule{{"holderCodeType", "required"}}},
		{"holder code type unknown", bizLicense, func(r *Record) { r.HolderCodeType = "099" }, []fieldRule{{"holderCodeType", "enum"}}},
		{"citizen code on organization type", bizLicense, func(r *Record) { r.HolderCodeType = "111"; r.HolderCode = "430103198805061523" },
			[]fieldRule{{"holderCodeType", "mismatch"}}},
		{"USCC on citizen type", property, func(r *Record) { r.HolderCodeType = "001"; r.HolderCode = "91430104MA4L3B5K26" },
			[]fieldRule{{"holderCodeType", "mismatch"}}},
		{"citizen ID bad date", property, func(r *Record) { r.HolderCode = "430103198802301523" }, []fieldRule{{"holderCode", "date"}}},
		{"citizen ID bad check", birth, func(r *Record) { r.HolderCode = "430102202308150035" }, []fieldRule{{"holderCode", "check"}}},
		{"missing issuer", bizLicense, func(r *Record) { r.Issuer = "" }, []fieldRule{{"issuer", "required"}}},
		{"missing issuer code", bizLicense, func(r *Record) { r.IssuerCode = "" }, []fieldRule{{"issuerCode", "required"}}},
		{"bad issuer code", bizLicense, func(r *Record) { r.IssuerCode = "11430000006122244" }, []fieldRule{{"issuerCode", "length"}}},
		{"missing issue date", bizLicense, func(r *Record) { r.IssueDate = "" }, []fieldRule{{"issueDate", "required"}}},
		{"issue date format", bizLicense, func(r *Record) { r.IssueDate = "2024/03/15" }, []fieldRule{{"issueDate", "date"}}},
		{"validFrom not a date", bizLicense, func(r *Record) { r.ValidFrom = "2023-02-29" }, []fieldRule{{"validFrom", "date"}}},
		{"validFrom missing", bizLicense, func(r *Record) { r.ValidFrom = "" }, []fieldRule{{"validFrom", "required"}}},
		{"validUntil before validFrom", bizLicense, func(r *Record) { r.ValidUntil = "2024-03-14" }, []fieldRule{{"validUntil", "range"}}},
		{"validUntil same day", bizLicense, func(r *Record) { r.ValidUntil = r.ValidFrom }, nil},
		{"validUntil required for fixed validity", foodPermit, func(r *Record) { r.ValidUntil = "" }, []fieldRule{{"validUntil", "required"}}},
		{"validUntil not a date", foodPermit, func(r *Record) { r.ValidUntil = "2029-13-01" }, []fieldRule{{"validUntil", "date"}}},
		{"jurisdiction missing", bizLicense, func(r *Record) { r.Jurisdiction = "" }, []fieldRule{{"jurisdiction", "required"}}},
		{"jurisdiction 4 digits", bizLicense, func(r *Record) { r.Jurisdiction = "4301" }, []fieldRule{{"jurisdiction", "pattern"}}},
		{"jurisdiction leading 0", bizLicense, func(r *Record) { r.Jurisdiction = "030100" }, []fieldRule{{"jurisdiction", "pattern"}}},
		{"required field missing", bizLicense, func(r *Record) { delete(r.Fields, "address") }, []fieldRule{{"fields.address", "required"}}},
		{"required field empty", bizLicense, func(r *Record) { r.Fields["address"] = "" }, []fieldRule{{"fields.address", "required"}}},
		{"nil fields", foodPermit, func(r *Record) { r.Fields = nil }, []fieldRule{
			{"fields.legalRepresentative", "required"}, {"fields.address", "required"}, {"fields.premises", "required"},
			{"fields.mainBusiness", "required"}, {"fields.businessItems", "required"}}},
		{"optional field absent", bizLicense, func(r *Record) { delete(r.Fields, "registeredCapital") }, nil},
		{"field too long", bizLicense, func(r *Record) { r.Fields["legalRepresentative"] = strings.Repeat("张", 51) }, []fieldRule{{"fields.legalRepresentative", "length"}}},
		{"multi-line scope allowed", bizLicense, func(r *Record) { r.Fields["businessScope"] = "餐饮服务\n食品销售" }, nil},
		{"tab in field", bizLicense, func(r *Record) { r.Fields["address"] = "长沙\t岳麓" }, []fieldRule{{"fields.address", "charset"}}},
		{"bad date field", bizLicense, func(r *Record) { r.Fields["establishedDate"] = "2019-6-18" }, []fieldRule{{"fields.establishedDate", "date"}}},
		{"bad number", bizLicense, func(r *Record) { r.Fields["registeredCapital"] = "一百" }, []fieldRule{{"fields.registeredCapital", "number"}}},
		{"negative number", bizLicense, func(r *Record) { r.Fields["registeredCapital"] = "-5" }, []fieldRule{{"fields.registeredCapital", "number"}}},
		{"decimal number", bizLicense, func(r *Record) { r.Fields["registeredCapital"] = "100.50" }, nil},
		{"bad enum", foodPermit, func(r *Record) { r.Fields["mainBusiness"] = "网络经营" }, []fieldRule{{"fields.mainBusiness", "enum"}}},
		{"bad pattern", property, func(r *Record) { r.Fields["unitNumber"] = "430104003005GB00012F0001002" }, []fieldRule{{"fields.unitNumber", "pattern"}}},
		{"pattern is anchored", property, func(r *Record) { r.Fields["unitNumber"] = "X430104003005GB00012F00010023" }, []fieldRule{{"fields.unitNumber", "length"}}},
		{"time out of range", birth, func(r *Record) { r.Fields["birthTime"] = "24:00" }, []fieldRule{{"fields.birthTime", "pattern"}}},
		{"unknown fields sorted", bizLicense, func(r *Record) { r.Fields["zeta"] = "1"; r.Fields["alpha"] = "2" },
			[]fieldRule{{"fields.alpha", "unknown"}, {"fields.zeta", "unknown"}}},
		{"several at once", bizLicense, func(r *Record) {
			r.Name = "营业执照（副本）"
			r.IssuerCode = "11430000006122244M"
			r.Fields["establishedDate"] = "yesterday"
			r.Fields["extra"] = "x"
		}, []fieldRule{{"name", "mismatch"}, {"issuerCode", "check"}, {"fields.establishedDate", "date"}, {"fields.extra", "unknown"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ := mustType(t, tt.code)
			r := typ.Example(testIssuerUSCC, testIssuerName)
			r.Fields = maps.Clone(r.Fields)
			tt.modify(&r)
			err := typ.Validate(r)
			var got []fieldRule
			for _, fe := range fieldErrors(err) {
				got = append(got, fieldRule{fe.Field, fe.Rule})
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v (err: %v)", got, tt.want, err)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v (err: %v)", got, tt.want, err)
				}
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid")
			}
		})
	}
}

// TestValidateWithoutCatalog checks a Type built in code (patterns not
// compiled by ParseCatalog) still enforces its pattern.
func TestValidateWithoutCatalog(t *testing.T) {
	typ := Type{Code: "11100000000013338W050", Name: "测试证", HolderKind: HolderOrganization,
		Fields: []Field{{Key: "code", Label: "编码", Type: FieldString, Pattern: "[A-Z]{3}", Example: "ABC"}}}
	r := typ.Example(testIssuerUSCC, testIssuerName)
	if err := typ.Validate(r); err != nil {
		t.Fatalf("valid record: %v", err)
	}
	r.Fields["code"] = "ABCD"
	if got := fieldErrors(typ.Validate(r)); len(got) != 1 || got[0].Rule != "pattern" {
		t.Errorf("got %v, want one pattern error", got)
	}
	typ.Fields[0].Pattern = "[A-Z"
	if got := fieldErrors(typ.Validate(r)); len(got) != 1 || got[0].Rule != "pattern" {
		t.Errorf("bad pattern: got %v, want one pattern error", got)
	}
}
