package license

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestDefaultCatalogTypes(t *testing.T) {
	want := []struct {
		code, name, authority string
		kind                  HolderKind
		years                 int
	}{
		{"11100000000013136B001", "律师执业证", "司法部", HolderCitizen, 0},
		{"111000000000133027001", "出生医学证明", "国家卫生健康委员会", HolderCitizen, 0},
		{"11100000000013338W001", "营业执照", "国家市场监督管理总局", HolderOrganization, 0},
		{"11100000000013338W002", "食品经营许可证", "国家市场监督管理总局", HolderOrganization, 5},
		{"11100000000013410P001", "道路运输经营许可证", "交通运输部", HolderOrganization, 4},
		{"11100000000015019B001", "不动产权证书", "自然资源部", HolderCitizen, 0},
		{"11100000000015019B002", "建设工程规划许可证", "自然资源部", HolderOrganization, 0},
		{"111000000000700120001", "药品经营许可证", "国家药品监督管理局", HolderOrganization, 5},
	}
	got := DefaultCatalog().Types()
	if len(got) != len(want) {
		t.Fatalf("catalog has %d types, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Code != w.code || g.Name != w.name || g.Authority != w.authority || g.HolderKind != w.kind || g.ValidityYears != w.years {
			t.Errorf("type %d = {%s %s %s %s %d}, want %+v", i, g.Code, g.Name, g.Authority, g.HolderKind, g.ValidityYears, w)
		}
		if err := ValidateUSCC(g.AuthorityUSCC); err != nil {
			t.Errorf("%s: authority USCC: %v", g.Name, err)
		}
		if !strings.HasPrefix(g.Code, g.AuthorityUSCC) {
			t.Errorf("%s: code %s does not start with authority USCC %s", g.Name, g.Code, g.AuthorityUSCC)
		}
		if len(g.Fields) == 0 {
			t.Errorf("%s: no fields", g.Name)
		}
		byCode, ok := DefaultCatalog().Type(g.Code)
		if !ok || byCode.Name != g.Name {
			t.Errorf("Type(%s) = %v, %v", g.Code, byCode.Name, ok)
		}
	}
	if _, ok := DefaultCatalog().Type("11100000000013338W999"); ok {
		t.Errorf("Type(unknown code) found a type")
	}
}

func TestEveryExampleValidates(t *testing.T) {
	issuers := []struct{ uscc, name string }{
		{"11430000006122244L", "湖南省市场监督管理局"},
		{"11100000000013338W", "国家市场监督管理总局"},
	}
	for _, typ := range DefaultCatalog().Types() {
		for _, is := range issuers {
			r := typ.Example(is.uscc, is.name)
			if err := typ.Validate(r); err != nil {
				t.Errorf("%s example (issuer %s) does not validate: %v", typ.Name, is.uscc, err)
			}
			for _, f := range typ.Fields {
				if f.Required && r.Fields[f.Key] == "" {
					t.Errorf("%s example lacks required field %s", typ.Name, f.Key)
				}
			}
			if r.Identifier != "" || r.Number != "" {
				t.Errorf("%s example has identifier/number set", typ.Name)
			}
			// An identifier built for the example must also validate.
			id, err := NewIdentifier(typ.Code, is.uscc, "20240000001", "001")
			if err != nil {
				t.Fatal(err)
			}
			r.Identifier = id.String()
			if err := typ.Validate(r); err != nil {
				t.Errorf("%s example with identifier does not validate: %v", typ.Name, err)
			}
		}
	}
}

func TestExampleFallbacks(t *testing.T) {
	// A type built in code, without catalog examples.
	typ := Type{
		Code: "11100000000013338W050", Name: "测试证", Authority: "国家市场监督管理总局", AuthorityUSCC: "11100000000013338W",
		HolderKind: HolderCitizen, ValidityYears: 3,
		Fields: []Field{
			{Key: "kind", Label: "类别", Type: FieldEnum, Required: true, Enum: []string{"甲", "乙"}},
			{Key: "since", Label: "起始日期", Type: FieldDate, Required: true},
			{Key: "count", Label: "数量", Type: FieldNumber, Required: true},
			{Key: "note", Label: "备注", Type: FieldString, Required: true},
			{Key: "code", Label: "编码", Type: FieldString, Pattern: "[A-Z]{3}"},
		},
	}
	r := typ.Example("11430000006122244L", "湖南省市场监督管理局")
	if err := typ.Validate(r); err != nil {
		t.Fatalf("fallback example does not validate: %v", err)
	}
	if got, want := r.ValidUntil, "2027-03-14"; got != want {
		t.Errorf("ValidUntil = %s, want %s", got, want)
	}
	if got, want := r.Jurisdiction, "430000"; got != want {
		t.Errorf("Jurisdiction = %s, want %s", got, want)
	}
	if _, ok := r.Fields["code"]; ok {
		t.Errorf("optional pattern field without example was filled in")
	}
}

func TestCatalogReturnsCopies(t *testing.T) {
	c := DefaultCatalog()
	typ, _ := c.Type("11100000000013338W002")
	typ.Fields[0].Key = "changed"
	for i := range typ.Fields {
		if typ.Fields[i].Type == FieldEnum {
			typ.Fields[i].Enum[0] = "changed"
		}
	}
	c.Types()[0].Fields[0].Label = "changed"
	again, _ := c.Type("11100000000013338W002")
	if again.Fields[0].Key == "changed" || slices.Contains(again.Fields[3].Enum, "changed") {
		t.Errorf("caller changed the catalog through Type()")
	}
	if c.Types()[0].Fields[0].Label == "changed" {
		t.Errorf("caller changed the catalog through Types()")
	}
}

// minimalCatalog is a valid one-type catalog that the error cases edit.
const minimalCatalog = `{"version": 1, "types": [{
  "code": "11100000000013338W001", "name": "营业执照", "authority": "国家市场监督管理总局",
  "authorityUSCC": "11100000000013338W", "authorityUSCCSource": "real", "holderKind": "organization",
  "validityYears": 0,
  "example": {"holder": "长沙市岳麓区麓山餐饮管理有限公司", "holderCode": "91430104MA4L3B5K26"},
  "fields": [
    {"key": "address", "label": "住所", "type": "string", "required": true, "maxLen": 200},
    {"key": "unit", "label": "单元号", "type": "string", "required": true, "pattern": "[0-9]{4}", "example": "1234"},
    {"key": "mode", "label": "方式", "type": "enum", "required": true, "enum": ["批发", "零售"]}
  ]}]}`

func TestParseCatalog(t *testing.T) {
	if _, err := ParseCatalog([]byte(minimalCatalog)); err != nil {
		t.Fatalf("minimal catalog: %v", err)
	}
	tests := []struct {
		name      string
		old, new  string // replacement in minimalCatalog
		wantField string
		wantRule  string
	}{
		{"version", `"version": 1`, `"version": 2`, "version", "enum"},
		{"no types", `"types": [{`, `"types": [], "x": [{`, "", ""},
		{"bad type code check", `"code": "11100000000013338W001"`, `"code": "11100000000013338X001"`, "types[0].code", "check"},
		{"short type code", `"code": "11100000000013338W001"`, `"code": "11100000000013338W01"`, "types[0].code", "length"},
		{"authority mismatch", `"authorityUSCC": "11100000000013338W"`, `"authorityUSCC": "11430000006122244L"`, "types[0].code", "mismatch"},
		{"source", `"authorityUSCCSource": "real"`, `"authorityUSCCSource": "guess"`, "types[0].authorityUSCCSource", "enum"},
		{"holder kind", `"holderKind": "organization"`, `"holderKind": "person"`, "types[0].holderKind", "enum"},
		{"validity", `"validityYears": 0`, `"validityYears": -1`, "types[0].validityYears", "range"},
		{"empty name", `"name": "营业执照"`, `"name": ""`, "types[0].name", "required"},
		{"example holder code", `"holderCode": "91430104MA4L3B5K26"`, `"holderCode": "430103198805061523"`, "types[0].example.holderCode", "check"},
		{"key not camelCase", `"key": "address"`, `"key": "Address_1"`, "types[0].fields[0].key", "pattern"},
		{"duplicate key", `"key": "unit"`, `"key": "address"`, "types[0].fields[1].key", "duplicate"},
		{"field type", `"type": "string", "required": true, "maxLen": 200`, `"type": "text", "required": true, "maxLen": 200`, "types[0].fields[0].type", "enum"},
		{"bad pattern", `"pattern": "[0-9]{4}"`, `"pattern": "[0-9"`, "types[0].fields[1].pattern", "pattern"},
		{"pattern needs example", `"pattern": "[0-9]{4}", "example": "1234"`, `"pattern": "[0-9]{4}"`, "types[0].fields[1].example", "required"},
		{"example breaks pattern", `"example": "1234"`, `"example": "12345"`, "types[0].fields[1].example", "pattern"},
		{"enum without values", `"enum": ["批发", "零售"]`, `"enum": []`, "types[0].fields[2].enum", "required"},
		{"duplicate enum", `"enum": ["批发", "零售"]`, `"enum": ["批发", "批发"]`, "types[0].fields[2].enum", "duplicate"},
		{"enum on string", `"maxLen": 200}`, `"maxLen": 200, "enum": ["a"]}`, "types[0].fields[0].enum", "enum"},
		{"maxLen", `"maxLen": 200`, `"maxLen": 5000`, "types[0].fields[0].maxLen", "range"},
		{"unknown member", `"validityYears": 0,`, `"validityYears": 0, "colour": "red",`, "", ""},
		{"trailing data", `]}]}`, `]}]} {}`, "catalog", "format"},
		{"duplicate code", `"types": [{`, `"types": [` + strings.TrimSuffix(strings.SplitN(minimalCatalog, `"types": [`, 2)[1], `]}`) + `, {`, "types[1].code", "duplicate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := strings.Replace(minimalCatalog, tt.old, tt.new, 1)
			if in == minimalCatalog {
				t.Fatalf("replacement %q not found", tt.old)
			}
			c, err := ParseCatalog([]byte(in))
			if err == nil {
				t.Fatalf("ParseCatalog accepted it: %d types", len(c.Types()))
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if tt.wantRule == "" {
				return
			}
			for _, fe := range fieldErrors(err) {
				if fe.Field == tt.wantField && fe.Rule == tt.wantRule {
					return
				}
			}
			t.Errorf("no FieldError %s/%s in %v", tt.wantField, tt.wantRule, err)
		})
	}
}

func TestParseCatalogTooLarge(t *testing.T) {
	_, err := ParseCatalog(make([]byte, MaxCatalogSize+1))
	if field, rule := ruleOf(err); field != "catalog" || rule != "length" {
		t.Errorf("got %q %q, want catalog length (%v)", field, rule, err)
	}
}

func TestHolderKindCodeType(t *testing.T) {
	tests := []struct {
		kind HolderKind
		want string
	}{
		{HolderCitizen, "111"},
		{HolderOrganization, "001"},
		{"robot", ""},
	}
	for _, tt := range tests {
		if got := tt.kind.CodeType(); got != tt.want {
			t.Errorf("%q.CodeType() = %q, want %q", tt.kind, got, tt.want)
		}
	}
}
