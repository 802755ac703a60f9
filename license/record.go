package license

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Record is an electronic license's content: the GB/T 36903 core metadata
// plus the type-specific fields its catalog entry defines. It is the
// credentialSubject of the license's credential.
type Record struct {
	Name           string            `json:"name"`                 // 证照名称
	TypeCode       string            `json:"typeCode"`             // 证照类型代码 (21 chars)
	Number         string            `json:"number"`               // 证照编号
	Identifier     string            `json:"identifier"`           // 电子证照标识
	Holder         string            `json:"holder"`               // 持证主体
	HolderCode     string            `json:"holderCode"`           // 持证主体代码
	HolderCodeType string            `json:"holderCodeType"`       // 持证主体代码类型: "111" citizen ID, "001" USCC
	Issuer         string            `json:"issuer"`               // 证照颁发机构
	IssuerCode     string            `json:"issuerCode"`           // 证照颁发机构代码 (USCC)
	IssueDate      string            `json:"issueDate"`            // 颁发日期 YYYY-MM-DD
	ValidFrom      string            `json:"validFrom"`            // 有效期起 YYYY-MM-DD
	ValidUntil     string            `json:"validUntil,omitempty"` // 有效期止 YYYY-MM-DD, empty = 长期
	Jurisdiction   string            `json:"jurisdiction"`         // 管辖属地编码, 6-digit GB/T 2260 code
	Fields         map[string]string `json:"fields"`               // type-specific fields
}

// Limits on core record fields, in characters.
const (
	maxNameLen   = 200 // holder and issuer names
	maxNumberLen = 64  // 证照编号
)

var (
	jurisdictionRE = regexp.MustCompile(`^[1-9][0-9]{5}$`)
	numberRE       = regexp.MustCompile(`^[0-9]{1,30}(\.[0-9]{1,10})?$`)
)

// Validate checks r against the type: the core fields first, then the
// type-specific fields. It returns nil or errors.Join of *FieldError values,
// one per broken rule. Core fields are named by their JSON name
// ("holderCode"), type fields as "fields.<key>".
//
// Core rules: name and typeCode equal the type's; holder, holderCode,
// holderCodeType, issuer, issuerCode, issueDate, validFrom and jurisdiction
// are required; holderCodeType matches the type's holder kind and holderCode
// passes ValidateCitizenID ("111") or ValidateUSCC ("001"); issuerCode is a
// USCC; dates are real YYYY-MM-DD dates with validFrom <= validUntil;
// validUntil is required when the type has a fixed validity; issueDate and
// validFrom are not before FoundingDate; validUntil is at most the type's
// validity after validFrom (100 years for an open-ended type); jurisdiction is
// 6 digits; number and identifier may be empty (they are assigned at
// issuance) but a non-empty identifier must parse and name this type and
// issuer. Text values pass CheckText. Type-field rules: required, max length,
// pattern, enum, date, number, and no keys the type does not define
// ("unknown"). Rules that need today's date are in ValidateAt.
func (t Type) Validate(r Record) error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}

	add(mustEqual("name", r.Name, t.Name, "证照名称"))
	add(mustEqual("typeCode", r.TypeCode, t.Code, "证照类型代码"))
	add(optionalText("number", r.Number, maxNumberLen))
	if r.Identifier != "" {
		id, err := ParseIdentifier(r.Identifier)
		switch {
		case err != nil:
			add(renamed(err, "identifier"))
		case id.TypeCode != t.Code:
			add(fieldErr("identifier", "mismatch", "电子证照标识中的类型代码是 "+id.TypeCode+"，证照类型却是 "+t.Code))
		case id.IssuerUSCC != r.IssuerCode:
			add(fieldErr("identifier", "mismatch", "电子证照标识中的签发机构是 "+id.IssuerUSCC+"，与证照颁发机构代码不一致"))
		}
	}
	add(requiredText("holder", r.Holder, maxNameLen))
	add(t.validateHolder(r))
	add(requiredText("issuer", r.Issuer, maxNameLen))
	if r.IssuerCode == "" {
		add(fieldErr("issuerCode", "required", "请填写证照颁发机构代码（统一社会信用代码）"))
	} else {
		add(renamed(ValidateUSCC(r.IssuerCode), "issuerCode"))
	}
	add(requiredDate("issueDate", r.IssueDate))
	from, fromErr := dateValue("validFrom", r.ValidFrom, true)
	add(fromErr)
	until, untilErr := dateValue("validUntil", r.ValidUntil, t.ValidityYears > 0)
	add(untilErr)
	if from != "" && until != "" && from > until {
		add(fieldErr("validUntil", "range", "有效期截止不能早于有效期起始"))
	}
	add(t.checkDateRanges(r, from, until))
	switch {
	case r.Jurisdiction == "":
		add(fieldErr("jurisdiction", "required", "请填写管辖属地编码（GB/T 2260 行政区划代码）"))
	case !jurisdictionRE.MatchString(r.Jurisdiction):
		add(fieldErr("jurisdiction", "pattern", "管辖属地编码须为 6 位 GB/T 2260 行政区划代码"))
	}

	for _, f := range t.Fields {
		v, ok := r.Fields[f.Key]
		if !ok || v == "" {
			if f.Required {
				add(fieldErr("fields."+f.Key, "required", "请填写"+f.Label))
			}
			continue
		}
		add(f.check("fields."+f.Key, v))
	}
	var unknown []string
	for k := range r.Fields {
		if !slices.ContainsFunc(t.Fields, func(f Field) bool { return f.Key == k }) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		add(fieldErr("fields."+k, "unknown", fmt.Sprintf("%s没有字段 %s", t.Name, k)))
	}
	return errors.Join(errs...)
}

// validateHolder checks holderCodeType against the type's holder kind and
// holderCode against its code type.
func (t Type) validateHolder(r Record) error {
	want := t.HolderKind.CodeType()
	switch {
	case r.HolderCodeType == "":
		return errors.Join(
			fieldErr("holderCodeType", "required", "请填写持证主体代码类型"),
			requiredCode(r.HolderCode))
	case r.HolderCodeType != HolderCodeCitizenID && r.HolderCodeType != HolderCodeUSCC:
		return errors.Join(
			fieldErr("holderCodeType", "enum", "持证主体代码类型须为 111（公民身份号码）或 001（统一社会信用代码）"),
			requiredCode(r.HolderCode))
	case r.HolderCodeType != want:
		return errors.Join(
			fieldErr("holderCodeType", "mismatch", fmt.Sprintf("%s的持证主体是%s，持证主体代码类型须为 %s", t.Name, t.HolderKind.label(), want)),
			requiredCode(r.HolderCode))
	}
	if err := requiredCode(r.HolderCode); err != nil {
		return err
	}
	return renamed(validateHolderCode(r.HolderCodeType, r.HolderCode), "holderCode")
}

func requiredCode(code string) error {
	if code == "" {
		return fieldErr("holderCode", "required", "请填写持证主体代码")
	}
	return nil
}

// validateHolderCode checks code by its holder code type.
func validateHolderCode(codeType, code string) error {
	switch codeType {
	case HolderCodeCitizenID:
		return ValidateCitizenID(code)
	case HolderCodeUSCC:
		return ValidateUSCC(code)
	}
	return fieldErr("holderCodeType", "enum", "持证主体代码类型须为 111（公民身份号码）或 001（统一社会信用代码）")
}

// check validates a present, non-empty value of field f, reporting under name.
func (f Field) check(name, v string) error {
	if err := text(name, v, f.maxLen(), true); err != nil {
		return err
	}
	switch f.Type {
	case FieldDate:
		if _, ok := parseDate(v); !ok {
			return fieldErr(name, "date", f.Label+"须为真实日期，格式 YYYY-MM-DD")
		}
	case FieldNumber:
		if !numberRE.MatchString(v) {
			return fieldErr(name, "number", f.Label+"须为非负数，如 12.5")
		}
	case FieldEnum:
		if !slices.Contains(f.Enum, v) {
			return fieldErr(name, "enum", fmt.Sprintf("%s须为以下之一：%s", f.Label, strings.Join(f.Enum, "、")))
		}
	}
	if f.Pattern != "" {
		re := f.re
		if re == nil { // a Type built in code rather than by ParseCatalog
			var err error
			if re, err = compilePattern(f.Pattern); err != nil {
				return fieldErr(name, "pattern", f.Label+"的格式规则无法编译（证照目录有误）")
			}
		}
		if !re.MatchString(v) {
			return fieldErr(name, "pattern", f.Label+"格式不符，应符合 "+f.Pattern)
		}
	}
	return nil
}

func mustEqual(name, got, want, what string) error {
	switch {
	case got == "":
		return fieldErr(name, "required", "请填写"+what)
	case got != want:
		return fieldErr(name, "mismatch", fmt.Sprintf("此类证照的%s须为 %s", what, want))
	}
	return nil
}

func requiredText(name, v string, maxLen int) error {
	if v == "" {
		return fieldErr(name, "required", "请填写"+RecordFieldLabel(name))
	}
	return text(name, v, maxLen, false)
}

func optionalText(name, v string, maxLen int) error {
	if v == "" {
		return nil
	}
	return text(name, v, maxLen, false)
}

// text checks the characters (CheckText) and the length in characters.
func text(name, v string, maxLen int, multiline bool) error {
	if err := CheckText(name, v, multiline); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(v); n > maxLen {
		return fieldErr(name, "length", fmt.Sprintf("共 %d 个字，最多 %d 个字", n, maxLen))
	}
	return nil
}

// FoundingDate is the earliest issue date a record may carry: 1949-10-01,
// the founding of the People's Republic of China, as YYYY-MM-DD.
const FoundingDate = "1949-10-01"

// maxOpenEndedYears bounds a validUntil given for a type whose validity is
// open-ended (长期): the catalog allows no fixed validity above it.
const maxOpenEndedYears = 100

// checkDateRanges holds dates to what a license can be: issued on or after
// FoundingDate, valid from no earlier than that either, and valid until no
// later than the type's validity after validFrom (the default validUntil is
// exactly that); an open-ended type's validUntil, when given, at most
// maxOpenEndedYears after validFrom. from and until are dateValue's YYYYMMDD
// forms ("" when absent or invalid).
func (t Type) checkDateRanges(r Record, from, until string) error {
	var errs []error
	if _, ok := parseDate(r.IssueDate); ok && r.IssueDate < FoundingDate {
		errs = append(errs, fieldErr("issueDate", "range", "颁发日期不能早于 "+FoundingDate))
	}
	if from != "" && r.ValidFrom < FoundingDate {
		errs = append(errs, fieldErr("validFrom", "range", "有效期起始不能早于 "+FoundingDate))
	}
	if from == "" || until == "" {
		return errors.Join(errs...)
	}
	start, err := time.Parse(time.DateOnly, r.ValidFrom)
	if err != nil {
		return errors.Join(errs...)
	}
	years, what := t.ValidityYears, fmt.Sprintf("%s有效期最长 %d 年", t.Name, t.ValidityYears)
	if years <= 0 {
		years, what = maxOpenEndedYears, fmt.Sprintf("长期有效的证照若填有效期截止，最多 %d 年", maxOpenEndedYears)
	}
	if last := start.AddDate(years, 0, -1).Format(time.DateOnly); r.ValidUntil > last {
		errs = append(errs, fieldErr("validUntil", "range", fmt.Sprintf("%s：有效期截止须不晚于 %s", what, last)))
	}
	return errors.Join(errs...)
}

// ValidateAt is Validate plus the rules that need today's date (in China
// Standard Time) from now: the issue date is not in the future, and a
// citizen holder's birth date is not in the future.
func (t Type) ValidateAt(r Record, now time.Time) error {
	errs := []error{t.Validate(r)}
	today := now.In(ChinaTime).Format(time.DateOnly)
	if _, ok := parseDate(r.IssueDate); ok && r.IssueDate > today {
		errs = append(errs, fieldErr("issueDate", "range", "颁发日期不能晚于今天（"+today+"）"))
	}
	if r.HolderCodeType == HolderCodeCitizenID && ValidateCitizenID(r.HolderCode) == nil {
		errs = append(errs, renamed(ValidateCitizenIDAt(r.HolderCode, now), "holderCode"))
	}
	return errors.Join(errs...)
}

func requiredDate(name, v string) error {
	_, err := dateValue(name, v, true)
	return err
}

// dateValue checks an optional or required YYYY-MM-DD date and returns it
// as YYYYMMDD for comparison ("" when absent or invalid).
func dateValue(name, v string, required bool) (string, error) {
	if v == "" {
		if required {
			return "", fieldErr(name, "required", "请填写"+RecordFieldLabel(name))
		}
		return "", nil
	}
	d, ok := parseDate(v)
	if !ok {
		return "", fieldErr(name, "date", RecordFieldLabel(name)+"须为 1900 年以后的真实日期，格式 YYYY-MM-DD")
	}
	return d, nil
}
