package license

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sync"
)

// HolderKind says who holds licenses of a type.
type HolderKind string

// Holder kinds. A citizen holder is identified by a citizen ID number
// (holder code type "111"), an organization by its USCC ("001").
const (
	HolderCitizen      HolderKind = "citizen"
	HolderOrganization HolderKind = "organization"
)

// Holder code types (持证主体代码类型, GB/T 36903).
const (
	HolderCodeCitizenID = "111"
	HolderCodeUSCC      = "001"
)

// Valid reports whether k is a defined holder kind.
func (k HolderKind) Valid() bool {
	return k == HolderCitizen || k == HolderOrganization
}

// CodeType returns the holder code type that identifies holders of kind k:
// "111" for citizens, "001" for organizations, "" for an undefined kind.
func (k HolderKind) CodeType() string {
	switch k {
	case HolderCitizen:
		return HolderCodeCitizenID
	case HolderOrganization:
		return HolderCodeUSCC
	}
	return ""
}

// Field value types.
const (
	FieldString = "string"
	FieldDate   = "date"   // YYYY-MM-DD, a real date
	FieldNumber = "number" // non-negative decimal: digits, optional fraction
	FieldEnum   = "enum"   // one of Field.Enum
)

// DefaultMaxLen caps a field value, in characters, when Field.MaxLen is 0.
const DefaultMaxLen = 4000

// MaxCatalogSize is the largest catalog ParseCatalog accepts, in bytes.
const MaxCatalogSize = 1 << 20

// Field defines one type-specific field of a license type, mirroring a line
// on the paper license face.
type Field struct {
	// Key is the short ASCII camelCase key in Record.Fields.
	Key string `json:"key"`
	// Label is the Chinese label printed on the license.
	Label string `json:"label"`
	// Type is FieldString, FieldDate, FieldNumber or FieldEnum.
	Type string `json:"type"`
	// Required fields must be present and non-empty.
	Required bool `json:"required"`
	// Pattern, when set, is a Go regular expression the whole value must match.
	Pattern string `json:"pattern,omitempty"`
	// Enum lists the allowed values of an enum field.
	Enum []string `json:"enum,omitempty"`
	// MaxLen is the longest value in characters; 0 means DefaultMaxLen.
	MaxLen int `json:"maxLen,omitempty"`
	// Example is a realistic sample value, used by Type.Example and as a
	// form placeholder. It must itself be valid.
	Example string `json:"example,omitempty"`

	re *regexp.Regexp // Pattern compiled at catalog load
}

// Type is one license type of the catalog (证照目录): its code, the authority
// that defines it, who holds it, its fields and its default validity.
type Type struct {
	// Code is the 21-character type code: AuthorityUSCC and a 3-digit serial.
	Code string `json:"code"`
	// Name is the license name (证照名称), such as 营业执照.
	Name string `json:"name"`
	// Authority is the national authority that defines the type.
	Authority string `json:"authority"`
	// AuthorityUSCC is the authority's unified social credit code.
	AuthorityUSCC string `json:"authorityUSCC"`
	// HolderKind says whether citizens or organizations hold the license.
	HolderKind HolderKind `json:"holderKind"`
	// Fields are the type-specific fields, in the order of the license face.
	Fields []Field `json:"fields"`
	// ValidityYears is the default validity in years; 0 means 长期 (no end).
	ValidityYears int `json:"validityYears"`
	// OneActive says a holder (by holder code: USCC or citizen ID) may hold
	// only one license of this type that is not final (active or
	// suspended), as the law says for 营业执照 and 律师执业证. A change is
	// a new version of that license, not a second license.
	OneActive bool `json:"oneActive,omitempty"`

	exampleHolder     string
	exampleHolderCode string
}

// Catalog is an immutable set of license types, safe for concurrent use.
type Catalog struct {
	byCode map[string]Type
	sorted []Type
}

//go:embed catalog.json
var defaultCatalogJSON []byte

var defaultCatalog = sync.OnceValue(func() *Catalog {
	c, err := ParseCatalog(defaultCatalogJSON)
	if err != nil {
		panic("license: embedded catalog.json is invalid: " + err.Error())
	}
	return c
})

// DefaultCatalog returns the built-in catalog embedded from catalog.json.
func DefaultCatalog() *Catalog { return defaultCatalog() }

// Type returns the license type with the given code.
func (c *Catalog) Type(code string) (Type, bool) {
	t, ok := c.byCode[code]
	if !ok {
		return Type{}, false
	}
	return t.clone(), true
}

// Types returns every license type, sorted by code.
func (c *Catalog) Types() []Type {
	out := make([]Type, len(c.sorted))
	for i, t := range c.sorted {
		out[i] = t.clone()
	}
	return out
}

// clone copies t deeply enough that callers cannot change the catalog.
func (t Type) clone() Type {
	t.Fields = slices.Clone(t.Fields)
	for i := range t.Fields {
		t.Fields[i].Enum = slices.Clone(t.Fields[i].Enum)
	}
	return t
}

// catalogFile is the JSON form of a catalog.
type catalogFile struct {
	Version int        `json:"version"`
	Note    string     `json:"note,omitempty"`
	Types   []typeFile `json:"types"`
}

// typeFile is the JSON form of a Type with catalog-only members.
type typeFile struct {
	Code          string `json:"code"`
	Name          string `json:"name"`
	Authority     string `json:"authority"`
	AuthorityUSCC string `json:"authorityUSCC"`
	// AuthorityUSCCSource is "real" for a code seen on real licenses and
	// "computed" for a valid code made up for this catalog.
	AuthorityUSCCSource string       `json:"authorityUSCCSource"`
	HolderKind          HolderKind   `json:"holderKind"`
	ValidityYears       int          `json:"validityYears"`
	OneActive           bool         `json:"oneActive,omitempty"`
	Note                string       `json:"note,omitempty"`
	Example             *exampleFile `json:"example,omitempty"`
	Fields              []Field      `json:"fields"`
}

type exampleFile struct {
	Holder     string `json:"holder"`
	HolderCode string `json:"holderCode"`
}

var fieldKeyRE = regexp.MustCompile(`^[a-z][A-Za-z0-9]{0,63}$`)

// ParseCatalog parses and checks a catalog in the catalog.json format:
//
//	{"version": 1, "types": [{"code", "name", "authority", "authorityUSCC",
//	  "authorityUSCCSource", "holderKind", "validityYears", "oneActive", "note",
//	  "example": {"holder", "holderCode"}, "fields": [Field...]}]}
//
// Unknown members, trailing data, duplicate codes or keys, invalid codes,
// patterns that do not compile and examples that break their own field's
// rules are errors (joined *FieldError values naming "types[i]...").
// Patterns are compiled once here.
func ParseCatalog(data []byte) (*Catalog, error) {
	if len(data) > MaxCatalogSize {
		return nil, fieldErr("catalog", "length", fmt.Sprintf("catalog is %d bytes, at most %d allowed", len(data), MaxCatalogSize))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f catalogFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: catalog JSON: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fieldErr("catalog", "format", "catalog has data after the JSON object")
	}
	if f.Version != 1 {
		return nil, fieldErr("version", "enum", fmt.Sprintf("catalog version must be 1, got %d", f.Version))
	}
	if len(f.Types) == 0 {
		return nil, fieldErr("types", "required", "catalog has no license types")
	}
	c := &Catalog{byCode: make(map[string]Type, len(f.Types))}
	var errs []error
	for i, tf := range f.Types {
		t, err := buildType(fmt.Sprintf("types[%d]", i), tf)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := c.byCode[t.Code]; dup {
			errs = append(errs, fieldErr(fmt.Sprintf("types[%d].code", i), "duplicate", "type code "+t.Code+" appears more than once"))
			continue
		}
		c.byCode[t.Code] = t
		c.sorted = append(c.sorted, t)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortFunc(c.sorted, func(a, b Type) int {
		switch {
		case a.Code < b.Code:
			return -1
		case a.Code > b.Code:
			return 1
		}
		return 0
	})
	return c, nil
}

// buildType checks one catalog entry and compiles its patterns.
func buildType(at string, tf typeFile) (Type, error) {
	var errs []error
	add := func(field, rule, msg string) { errs = append(errs, fieldErr(at+"."+field, rule, msg)) }

	if err := validateTypeCode(tf.Code); err != nil {
		errs = append(errs, renamed(err, at+".code"))
	}
	if err := ValidateUSCC(tf.AuthorityUSCC); err != nil {
		errs = append(errs, renamed(err, at+".authorityUSCC"))
	} else if len(tf.Code) == 21 && tf.Code[:18] != tf.AuthorityUSCC {
		add("code", "mismatch", "type code must start with the authority's USCC")
	}
	switch tf.AuthorityUSCCSource {
	case "real", "computed":
	default:
		add("authorityUSCCSource", "enum", `must be "real" or "computed"`)
	}
	if err := requiredText("name", tf.Name, 100); err != nil {
		errs = append(errs, renamed(err, at+".name"))
	}
	if err := requiredText("authority", tf.Authority, maxNameLen); err != nil {
		errs = append(errs, renamed(err, at+".authority"))
	}
	if !tf.HolderKind.Valid() {
		add("holderKind", "enum", `holder kind must be "citizen" or "organization"`)
	}
	if tf.ValidityYears < 0 || tf.ValidityYears > 100 {
		add("validityYears", "range", "validity must be 0 (长期) to 100 years")
	}
	fields := make([]Field, 0, len(tf.Fields))
	seen := make(map[string]bool, len(tf.Fields))
	for j, fd := range tf.Fields {
		fat := fmt.Sprintf("%s.fields[%d]", at, j)
		fd, err := buildField(fat, fd)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[fd.Key] {
			errs = append(errs, fieldErr(fat+".key", "duplicate", "field key "+fd.Key+" appears more than once"))
			continue
		}
		seen[fd.Key] = true
		fields = append(fields, fd)
	}
	t := Type{
		Code:          tf.Code,
		Name:          tf.Name,
		Authority:     tf.Authority,
		AuthorityUSCC: tf.AuthorityUSCC,
		HolderKind:    tf.HolderKind,
		Fields:        fields,
		ValidityYears: tf.ValidityYears,
		OneActive:     tf.OneActive,
	}
	if ex := tf.Example; ex != nil && tf.HolderKind.Valid() {
		if err := requiredText("holder", ex.Holder, maxNameLen); err != nil {
			errs = append(errs, renamed(err, at+".example.holder"))
		}
		if err := validateHolderCode(tf.HolderKind.CodeType(), ex.HolderCode); err != nil {
			errs = append(errs, renamed(err, at+".example.holderCode"))
		}
		t.exampleHolder, t.exampleHolderCode = ex.Holder, ex.HolderCode
	}
	if len(errs) > 0 {
		return Type{}, errors.Join(errs...)
	}
	return t, nil
}

// buildField checks one field definition and compiles its pattern.
func buildField(at string, fd Field) (Field, error) {
	var errs []error
	add := func(field, rule, msg string) { errs = append(errs, fieldErr(at+"."+field, rule, msg)) }
	if !fieldKeyRE.MatchString(fd.Key) {
		add("key", "pattern", "field key must be ASCII camelCase, starting with a lower-case letter, at most 64 characters")
	}
	if err := requiredText("label", fd.Label, 100); err != nil {
		errs = append(errs, renamed(err, at+".label"))
	}
	if fd.MaxLen < 0 || fd.MaxLen > DefaultMaxLen {
		add("maxLen", "range", fmt.Sprintf("maxLen must be 0 to %d", DefaultMaxLen))
	}
	switch fd.Type {
	case FieldString, FieldDate, FieldNumber:
		if len(fd.Enum) > 0 {
			add("enum", "enum", "only enum fields may list values")
		}
	case FieldEnum:
		if len(fd.Enum) == 0 {
			add("enum", "required", "an enum field must list its values")
		}
		for k, v := range fd.Enum {
			if v == "" || slices.Index(fd.Enum, v) != k {
				add("enum", "duplicate", "enum values must be non-empty and distinct")
				break
			}
			if err := text("enum", v, fd.maxLen(), false); err != nil {
				errs = append(errs, renamed(err, fmt.Sprintf("%s.enum[%d]", at, k)))
				break
			}
		}
		if fd.Pattern != "" {
			add("pattern", "enum", "an enum field takes no pattern")
		}
	default:
		add("type", "enum", `field type must be "string", "date", "number" or "enum"`)
	}
	if fd.Pattern != "" {
		re, err := compilePattern(fd.Pattern)
		if err != nil {
			add("pattern", "pattern", "pattern does not compile: "+err.Error())
		}
		fd.re = re
		if fd.Required && fd.Example == "" {
			add("example", "required", "a required field with a pattern needs an example")
		}
	}
	if len(errs) == 0 && fd.Example != "" {
		if err := fd.check("example", fd.Example); err != nil {
			errs = append(errs, renamed(err, at+".example"))
		}
	}
	if len(errs) > 0 {
		return Field{}, errors.Join(errs...)
	}
	return fd, nil
}

// maxLen returns the effective length limit of the field's values.
func (f Field) maxLen() int {
	if f.MaxLen <= 0 || f.MaxLen > DefaultMaxLen {
		return DefaultMaxLen
	}
	return f.MaxLen
}

// compilePattern compiles p so that it must match the whole value.
func compilePattern(p string) (*regexp.Regexp, error) {
	return regexp.Compile(`^(?:` + p + `)$`)
}
