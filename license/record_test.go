package license

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
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
		{"number control char", bizLicense, func(r *Record) { r.Number = "91430104\x00" }, []fieldRule{{"number", "control"}}},
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
		{"holder invalid UTF-8", bizLicense, func(r *Record) { r.Holder = "公司\xff" }, []fieldRule{{"holder", "utf8"}}},
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
		{"holder with right-to-left override", bizLicense, func(r *Record) { r.Holder = "长沙\u202e司公限有" }, []fieldRule{{"holder", "bidi"}}},
		{"holder with first-strong isolate", bizLicense, func(r *Record) { r.Holder = "长沙\u2068公司\u2069" }, []fieldRule{{"holder", "bidi"}}},
		{"holder with zero-width space", bizLicense, func(r *Record) { r.Holder = "长沙\u200b公司" }, []fieldRule{{"holder", "invisible"}}},
		{"holder with byte order mark", bizLicense, func(r *Record) { r.Holder = "\ufeff长沙公司" }, []fieldRule{{"holder", "invisible"}}},
		{"holder with encoded lone surrogate", bizLicense, func(r *Record) { r.Holder = "长沙\xed\xa0\x80公司" }, []fieldRule{{"holder", "utf8"}}},
		{"holder with C1 control", bizLicense, func(r *Record) { r.Holder = "长沙\u0085公司" }, []fieldRule{{"holder", "control"}}},
		{"issuer with word joiner", bizLicense, func(r *Record) { r.Issuer = "湖南省\u2060市场监督管理局" }, []fieldRule{{"issuer", "invisible"}}},
		{"field with zero-width joiner", bizLicense, func(r *Record) { r.Fields["address"] = "长沙\u200d岳麓" }, []fieldRule{{"fields.address", "invisible"}}},
		{"field with left-to-right embedding", bizLicense, func(r *Record) { r.Fields["businessScope"] = "餐饮\u202a服务" }, []fieldRule{{"fields.businessScope", "bidi"}}},
		{"field NUL in multi-line text", bizLicense, func(r *Record) { r.Fields["businessScope"] = "餐饮服务\n\x00" }, []fieldRule{{"fields.businessScope", "control"}}},
		{"issue date 1900", bizLicense, func(r *Record) { r.IssueDate, r.ValidFrom = "1900-01-01", "1950-01-01" }, []fieldRule{{"issueDate", "range"}}},
		{"issue date day before founding", bizLicense, func(r *Record) { r.IssueDate = "1949-09-30" }, []fieldRule{{"issueDate", "range"}}},
		{"issue date on founding day", bizLicense, func(r *Record) { r.IssueDate, r.ValidFrom = "1949-10-01", "1949-10-01" }, nil},
		{"validFrom before founding", bizLicense, func(r *Record) { r.ValidFrom = "1921-07-01" }, []fieldRule{{"validFrom", "range"}}},
		{"validUntil 9999 on a 5-year type", foodPermit, func(r *Record) { r.ValidUntil = "9999-12-31" }, []fieldRule{{"validUntil", "range"}}},
		{"validUntil one day past 5 years", foodPermit, func(r *Record) { r.ValidUntil = "2029-03-15" }, []fieldRule{{"validUntil", "range"}}},
		{"validUntil exactly 5 years", foodPermit, func(r *Record) { r.ValidUntil = "2029-03-14" }, nil},
		{"validUntil 9999 on an open-ended type", bizLicense, func(r *Record) { r.ValidUntil = "9999-12-31" }, []fieldRule{{"validUntil", "range"}}},
		{"tab in field", bizLicense, func(r *Record) { r.Fields["address"] = "长沙\t岳麓" }, []fieldRule{{"fields.address", "control"}}},
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

// withCheck completes 17 digits of a citizen ID with its MOD 11-2 check.
func withCheck(body string) string {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(body[i]-'0') * citizenIDWeights[i]
	}
	return body + string(citizenIDChecks[sum%11])
}

func TestValidateAt(t *testing.T) {
	const property = "11100000000015019B001"             // 不动产权证书, citizen
	now := time.Date(2026, 12, 7, 17, 0, 0, 0, time.UTC) // 2026-12-08 01:00 in China
	tests := []struct {
		name   string
		modify func(r *Record)
		want   []fieldRule
	}{
		{"example", func(r *Record) {}, nil},
		{"issued today in China", func(r *Record) { r.IssueDate, r.ValidFrom = "2026-12-08", "2026-12-08" }, nil},
		{"issued tomorrow", func(r *Record) { r.IssueDate, r.ValidFrom = "2026-12-09", "2026-12-09" }, []fieldRule{{"issueDate", "range"}}},
		{"issued 9999", func(r *Record) { r.IssueDate, r.ValidFrom = "9999-01-01", "9999-01-01" }, []fieldRule{{"issueDate", "range"}}},
		{"valid from next year", func(r *Record) { r.ValidFrom = "2027-01-01" }, nil},
		{"holder born 2099", func(r *Record) { r.HolderCode = withCheck("43010320990101002") }, []fieldRule{{"holderCode", "date"}}},
		{"holder born tomorrow", func(r *Record) { r.HolderCode = withCheck("43010320261209002") }, []fieldRule{{"holderCode", "date"}}},
		{"holder born today", func(r *Record) { r.HolderCode = withCheck("43010320261208002") }, nil},
		{"Validate's rules still apply", func(r *Record) { r.Holder = "\u202e" }, []fieldRule{{"holder", "bidi"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ := mustType(t, property)
			r := typ.Example(testIssuerUSCC, testIssuerName)
			r.Fields = maps.Clone(r.Fields)
			tt.modify(&r)
			var got []fieldRule
			for _, fe := range fieldErrors(typ.ValidateAt(r, now)) {
				got = append(got, fieldRule{fe.Field, fe.Rule})
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidateCitizenIDAt(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	future := withCheck("43010320990101002")
	if err := ValidateCitizenID(future); err != nil {
		t.Fatalf("the clock-free check already fails: %v", err)
	}
	var fe *FieldError
	if err := ValidateCitizenIDAt(future, now); !errors.As(err, &fe) || fe.Field != "citizenID" || fe.Rule != "date" {
		t.Fatalf("birth date 2099: got %v, want a citizenID date error", err)
	}
	if err := ValidateCitizenIDAt(exampleCitizenID, now); err != nil {
		t.Fatalf("birth date 1988: %v", err)
	}
	if err := ValidateCitizenIDAt("430103198805061524", now); !errors.As(err, &fe) || fe.Rule != "check" {
		t.Fatalf("bad check: got %v, want the check error first", err)
	}
}

func TestCheckText(t *testing.T) {
	tests := []struct {
		name      string
		value     string
		multiline bool
		rule      string // "" = accepted
	}{
		{"plain Chinese", "湖南省长沙市岳麓区麓山南路 932 号", false, ""},
		{"empty", "", false, ""},
		{"newline in a name", "张\n三", false, "control"},
		{"newline in free text", "第一行\n第二行", true, ""},
		{"carriage return in free text", "第一行\r\n第二行", true, "control"},
		{"NUL", "暂停\x00", true, "control"},
		{"DEL", "a\x7fb", false, "control"},
		{"escape", "\x1b[31m", false, "control"},
		{"invalid byte", "\xff", false, "utf8"},
		{"lone high surrogate", "\xed\xa0\x80", false, "utf8"},
		{"lone low surrogate", "\xed\xbf\xbf", false, "utf8"},
		{"truncated sequence", "张\xe4\xb8", false, "utf8"},
		{"LRE", "\u202a", false, "bidi"},
		{"RLO", "abc\u202edcba", false, "bidi"},
		{"PDF", "\u202c", false, "bidi"},
		{"LRI", "\u2066x", false, "bidi"},
		{"PDI", "x\u2069", false, "bidi"},
		{"left-to-right mark is allowed", "x\u200ey", false, ""},
		{"ZWSP", "张\u200b三", false, "invisible"},
		{"ZWNJ", "\u200c", false, "invisible"},
		{"ZWJ", "\u200d", false, "invisible"},
		{"word joiner", "\u2060", false, "invisible"},
		{"BOM", "\ufeff张三", false, "invisible"},
		{"ideographic space is text", "张　三", false, ""},
		{"emoji", "👍", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe := CheckText("holder", tt.value, tt.multiline)
			switch {
			case tt.rule == "" && fe != nil:
				t.Fatalf("rejected: %v", fe)
			case tt.rule != "" && fe == nil:
				t.Fatalf("accepted, want rule %q", tt.rule)
			case fe != nil && (fe.Rule != tt.rule || fe.Field != "holder"):
				t.Fatalf("got %s/%s, want holder/%s", fe.Field, fe.Rule, tt.rule)
			case fe != nil && strings.Contains(fe.Message, tt.value):
				t.Fatalf("message repeats the value: %q", fe.Message)
			}
		})
	}
}
