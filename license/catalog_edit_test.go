package license

import (
	"errors"
	"strings"
	"testing"
)

func TestParseTypeRoundTripsAndExplainsPatterns(t *testing.T) {
	def := `{"code": "11100000000013338W071", "name": "备案凭证", "authority": "国家市场监督管理总局",
	  "authorityUSCC": "11100000000013338W", "authorityUSCCSource": "real", "holderKind": "organization",
	  "validityYears": 3, "maxValidityYears": 5, "version": 2, "note": "试行",
	  "example": {"holder": "上海麓山网络科技有限公司", "holderCode": "91430104MA4L3B5K26"},
	  "fields": [{"key": "filingNumber", "label": "备案编号", "type": "string", "required": true, "pattern": "WC[0-9]{8}", "example": "WC20240001"}]}`
	typ, err := ParseType([]byte(def))
	if err != nil {
		t.Fatal(err)
	}
	again, err := typ.MarshalDefinition()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseType(again)
	if err != nil {
		t.Fatalf("ParseType(MarshalDefinition): %v", err)
	}
	if back.Version != 2 || back.MaxValidityYears != 5 || back.exampleHolder != typ.exampleHolder || back.note != "试行" || back.source != "real" {
		t.Fatalf("round trip lost members: %+v", back)
	}

	for _, c := range []struct{ pattern, says string }{
		{`WC[0-9{8}`, "缺少右方括号"},
		{`WC([0-9]{8}`, "缺少右括号"},
		{`*WC`, "重复符号"},
		{`WC\q`, "转义"},
	} {
		_, err := ParseType([]byte(strings.Replace(def, `WC[0-9]{8}`, strings.ReplaceAll(c.pattern, `\`, `\\`), 1)))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "fields[0].pattern" || fe.Rule != "pattern" {
			t.Fatalf("pattern %q: err = %v, want a FieldError on fields[0].pattern", c.pattern, err)
		}
		if !strings.Contains(fe.Message, c.says) || !strings.Contains(fe.Message, "备案编号") {
			t.Errorf("pattern %q: message %q does not say %q and name the field", c.pattern, fe.Message, c.says)
		}
	}
}

func TestCheckTypeEdit(t *testing.T) {
	v1 := Type{Code: "11100000000013338W071", Name: "备案凭证", HolderKind: HolderOrganization, Fields: []Field{
		{Key: "a", Label: "甲", Type: FieldString, Required: true},
		{Key: "b", Label: "乙", Type: FieldString},
		{Key: "c", Label: "丙", Type: FieldString},
	}}
	use := TypeUse{Licenses: 3, Fields: map[string]int{"a": 3, "b": 1}}
	edit := func(f func(*Type)) Type {
		t := v1.clone()
		f(&t)
		return t
	}
	cases := []struct {
		name  string
		next  Type
		field string // "" = allowed
	}{
		{"relabel", edit(func(t *Type) { t.Fields[0].Label = "甲乙" }), ""},
		{"remove an unused field", edit(func(t *Type) { t.Fields = t.Fields[:2] }), ""},
		{"new required field", edit(func(t *Type) {
			t.Fields = append(t.Fields, Field{Key: "d", Label: "丁", Type: FieldString, Required: true})
		}), ""},
		{"remove a used field", edit(func(t *Type) { t.Fields = append(t.Fields[:1:1], t.Fields[2]) }), "fields[1]"},
		{"require a field some lack", edit(func(t *Type) { t.Fields[1].Required = true }), "fields.b.required"},
		{"change a used field's type", edit(func(t *Type) { t.Fields[0].Type = FieldDate }), "fields.a.type"},
		{"change the holder kind", edit(func(t *Type) { t.HolderKind = HolderCitizen }), "holderKind"},
	}
	for _, c := range cases {
		err := CheckTypeEdit(v1, c.next, use)
		if c.field == "" {
			if err != nil {
				t.Errorf("%s: refused: %v", c.name, err)
			}
			continue
		}
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || fe.Rule != "in_use" && fe.Rule != "immutable" {
			t.Errorf("%s: err = %v, want a FieldError on %s", c.name, err, c.field)
		}
	}
}
