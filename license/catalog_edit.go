package license

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxTypeSize is the largest type definition ParseType accepts, in bytes.
const MaxTypeSize = 256 << 10

// ParseType parses and checks one license type definition, in the form of
// one entry of catalog.json:
//
//	{"code", "name", "authority", "authorityUSCC", "authorityUSCCSource",
//	 "holderKind", "validityYears", "maxValidityYears", "oneActive", "version",
//	 "note", "example": {"holder", "holderCode"}, "fields": [Field...]}
//
// with the same rules as ParseCatalog. Errors are joined *FieldError values
// named by the member at fault ("fields[2].pattern") with Chinese messages.
// A version of 0 is left 0 for the caller to number.
func ParseType(data []byte) (Type, error) {
	if len(data) > MaxTypeSize {
		return Type{}, fieldErr("type", "length", fmt.Sprintf("类型定义有 %d 字节，最多 %d 字节", len(data), MaxTypeSize))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var tf typeFile
	if err := dec.Decode(&tf); err != nil {
		return Type{}, fieldErr("type", "json", "类型定义不是有效的 JSON 对象："+err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return Type{}, fieldErr("type", "json", "类型定义的 JSON 对象之后还有多余内容")
	}
	return buildType("", tf)
}

// MarshalDefinition returns t in the form ParseType reads: what is stored,
// digested and carried in trust bundles. ParseType(MarshalDefinition(t))
// gives t back.
func (t Type) MarshalDefinition() ([]byte, error) {
	tf := typeFile{
		Code:                t.Code,
		Name:                t.Name,
		Authority:           t.Authority,
		AuthorityUSCC:       t.AuthorityUSCC,
		AuthorityUSCCSource: t.source,
		HolderKind:          t.HolderKind,
		ValidityYears:       t.ValidityYears,
		MaxValidityYears:    t.MaxValidityYears,
		OneActive:           t.OneActive,
		Version:             t.Version,
		Note:                t.note,
		Fields:              t.Fields,
	}
	if tf.Fields == nil {
		tf.Fields = []Field{}
	}
	if t.exampleHolder != "" {
		tf.Example = &exampleFile{Holder: t.exampleHolder, HolderCode: t.exampleHolderCode}
	}
	return json.Marshal(tf)
}

// ValidateTypeCode checks a license type code: 21 characters, the defining
// authority's USCC and a 3-digit serial. Errors are *FieldError values on
// "typeCode".
func ValidateTypeCode(code string) error { return validateTypeCode(code) }

// TypeUse is what the licenses already issued of a type use of it, as
// CheckTypeEdit needs: how many there are and, per field key, how many
// carry a non-empty value.
type TypeUse struct {
	Licenses int
	Fields   map[string]int
}

// CheckTypeEdit checks that next may follow prev as the type's next
// version, given what the existing licenses use. Existing licenses keep
// prev, but a change (变更) of one is validated against next, so next may
// not remove a field some license carries, make a field required that some
// license lacks, change the holder kind or change the code. Errors are
// joined *FieldError values with Chinese messages naming the field.
func CheckTypeEdit(prev, next Type, use TypeUse) error {
	var errs []error
	if next.Code != prev.Code {
		errs = append(errs, fieldErr("code", "immutable", "新版本的类型代码须与原类型相同（"+prev.Code+"）"))
	}
	if next.HolderKind != prev.HolderKind && use.Licenses > 0 {
		errs = append(errs, fieldErr("holderKind", "immutable", fmt.Sprintf("已有 %d 份%s，不能改变持证主体类别", use.Licenses, prev.Name)))
	}
	nextFields := make(map[string]Field, len(next.Fields))
	for _, f := range next.Fields {
		nextFields[f.Key] = f
	}
	for i, f := range prev.Fields {
		n := use.Fields[f.Key]
		nf, kept := nextFields[f.Key]
		switch {
		case !kept && n > 0:
			errs = append(errs, fieldErr(fmt.Sprintf("fields[%d]", i), "in_use",
				fmt.Sprintf("字段「%s」（%s）已被 %d 份现有证照使用，不能删除", f.Label, f.Key, n)))
		case kept && nf.Required && !f.Required && n < use.Licenses:
			errs = append(errs, fieldErr("fields."+f.Key+".required", "in_use",
				fmt.Sprintf("字段「%s」（%s）在 %d 份现有证照中没有填写，不能改为必填", f.Label, f.Key, use.Licenses-n)))
		case kept && nf.Type != f.Type && n > 0:
			errs = append(errs, fieldErr("fields."+f.Key+".type", "in_use",
				fmt.Sprintf("字段「%s」（%s）已被 %d 份现有证照使用，不能把类型从 %s 改为 %s", f.Label, f.Key, n, f.Type, nf.Type)))
		}
	}
	return errors.Join(errs...)
}
