package license

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
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
	// MaxValidityYears is the longest validity an issuer may give, in
	// years; 0 means ValidityYears (100 years for a 长期 type).
	MaxValidityYears int `json:"maxValidityYears,omitempty"`
	// Version is the type version (1, 2, …): a change of the definition
	// is a new version; licenses keep the version they were issued under.
	Version int `json:"version,omitempty"`

	exampleHolder     string
	exampleHolderCode string
	source, note      string // typeFile's authorityUSCCSource and note
}

// Catalog is an immutable set of license types, safe for concurrent use.
// It holds every version of every type; Type returns the latest.
type Catalog struct {
	byCode   map[string]Type   // latest version
	versions map[string][]Type // every version, versions[code][v-1]
	sorted   []Type            // latest versions, by code
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

// TypeVersion returns version v of the license type with the given code.
func (c *Catalog) TypeVersion(code string, v int) (Type, bool) {
	vs := c.versions[code]
	if v < 1 || v > len(vs) {
		return Type{}, false
	}
	return vs[v-1].clone(), true
}

// Versions returns every version of the type with the given code, oldest
// first, or nil for an unknown code.
func (c *Catalog) Versions(code string) []Type {
	vs := c.versions[code]
	out := make([]Type, len(vs))
	for i, t := range vs {
		out[i] = t.clone()
	}
	return out
}

// AllVersions returns every version of every type, by code then version.
func (c *Catalog) AllVersions() []Type {
	var out []Type
	for _, t := range c.sorted {
		out = append(out, c.Versions(t.Code)...)
	}
	return out
}

// Types returns every license type (its latest version), sorted by code.
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
	MaxValidityYears    int          `json:"maxValidityYears,omitempty"`
	Version             int          `json:"version,omitempty"`
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
	seen := make(map[string]bool, len(f.Types))
	types := make([]Type, 0, len(f.Types))
	var errs []error
	for i, tf := range f.Types {
		at := fmt.Sprintf("types[%d]", i)
		t, err := buildType(at, tf)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if t.Version > 1 {
			errs = append(errs, fieldErr(at+".version", "range", "目录文件只定义各类型的第 1 版"))
			continue
		}
		t.Version = 1
		if seen[t.Code] {
			errs = append(errs, fieldErr(at+".code", "duplicate", "类型代码 "+t.Code+" 出现了不止一次"))
			continue
		}
		seen[t.Code] = true
		types = append(types, t)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return NewCatalog(types)
}

// NewCatalog makes a catalog of types built by ParseCatalog or ParseType:
// every version of each code from 1 up without a gap, in any order.
func NewCatalog(types []Type) (*Catalog, error) {
	c := &Catalog{byCode: make(map[string]Type), versions: make(map[string][]Type)}
	sorted := slices.Clone(types)
	slices.SortFunc(sorted, func(a, b Type) int {
		if a.Code != b.Code {
			return strings.Compare(a.Code, b.Code)
		}
		return a.Version - b.Version
	})
	for _, t := range sorted {
		vs := c.versions[t.Code]
		if t.Version != len(vs)+1 {
			return nil, fieldErr("version", "sequence", fmt.Sprintf("类型 %s 的版本须从 1 起连续编号：有第 %d 版，缺第 %d 版", t.Code, t.Version, len(vs)+1))
		}
		t = t.clone()
		c.versions[t.Code] = append(vs, t)
		c.byCode[t.Code] = t
	}
	for _, vs := range c.versions {
		c.sorted = append(c.sorted, vs[len(vs)-1])
	}
	slices.SortFunc(c.sorted, func(a, b Type) int { return strings.Compare(a.Code, b.Code) })
	return c, nil
}

// With returns a new catalog that also holds t, which must be the next
// version of its code (1 for a new code). c is unchanged.
func (c *Catalog) With(t Type) (*Catalog, error) {
	all := c.AllVersions()
	if want := len(c.versions[t.Code]) + 1; t.Version != want {
		return nil, fieldErr("version", "sequence", fmt.Sprintf("类型 %s 的下一版是第 %d 版，不是第 %d 版", t.Code, want, t.Version))
	}
	return NewCatalog(append(all, t))
}

// buildType checks one catalog entry and compiles its patterns. Messages
// are Chinese, for the admin who wrote the entry; at prefixes every field
// name ("types[3]"), or nothing when empty.
func buildType(at string, tf typeFile) (Type, error) {
	var errs []error
	name := func(field string) string {
		if at == "" {
			return field
		}
		return at + "." + field
	}
	add := func(field, rule, msg string) { errs = append(errs, fieldErr(name(field), rule, msg)) }
	need := func(field, label, v string, max int) {
		switch {
		case strings.TrimSpace(v) == "":
			add(field, "required", label+"（"+field+"）必填")
		case CheckText(field, v, false) != nil:
			add(field, "charset", label+"（"+field+"）含有控制字符或不可见字符")
		case utf8.RuneCountInString(v) > max:
			add(field, "length", fmt.Sprintf("%s（%s）最多 %d 个字", label, field, max))
		}
	}

	if err := validateTypeCode(tf.Code); err != nil {
		var fe *FieldError
		rule := "pattern"
		if errors.As(err, &fe) {
			rule = fe.Rule
		}
		add("code", rule, fmt.Sprintf("类型代码（code）%q 不是有效的证照类型代码：须为 21 位，即定义机关的统一社会信用代码（18 位，校验位正确）加 3 位数字序号", tf.Code))
	}
	if err := ValidateUSCC(tf.AuthorityUSCC); err != nil {
		var fe *FieldError
		rule := "check"
		if errors.As(err, &fe) {
			rule = fe.Rule
		}
		add("authorityUSCC", rule, fmt.Sprintf("定义机关统一社会信用代码（authorityUSCC）%q 无效：须为 18 位且校验位正确（GB 32100）", tf.AuthorityUSCC))
	} else if len(tf.Code) == 21 && tf.Code[:18] != tf.AuthorityUSCC {
		add("code", "mismatch", "类型代码（code）的前 18 位须是定义机关的统一社会信用代码 "+tf.AuthorityUSCC)
	}
	switch tf.AuthorityUSCCSource {
	case "real", "computed":
	default:
		add("authorityUSCCSource", "enum", `代码来源（authorityUSCCSource）须为 "real"（真实代码）或 "computed"（计算出的占位代码）`)
	}
	need("name", "证照名称", tf.Name, 100)
	need("authority", "定义机关", tf.Authority, maxNameLen)
	if !tf.HolderKind.Valid() {
		add("holderKind", "enum", `持证主体类别（holderKind）须为 "citizen"（自然人）或 "organization"（法人和其他组织）`)
	}
	if tf.ValidityYears < 0 || tf.ValidityYears > maxOpenEndedYears {
		add("validityYears", "range", fmt.Sprintf("默认有效期（validityYears）须为 0（长期）到 %d 年", maxOpenEndedYears))
	}
	switch {
	case tf.MaxValidityYears < 0 || tf.MaxValidityYears > maxOpenEndedYears:
		add("maxValidityYears", "range", fmt.Sprintf("最长有效期（maxValidityYears）须为 0（同默认有效期）到 %d 年", maxOpenEndedYears))
	case tf.MaxValidityYears > 0 && tf.ValidityYears == 0:
		add("maxValidityYears", "range", "默认有效期为长期（validityYears 为 0）时不设最长有效期（maxValidityYears 须为 0）")
	case tf.MaxValidityYears > 0 && tf.MaxValidityYears < tf.ValidityYears:
		add("maxValidityYears", "range", fmt.Sprintf("最长有效期（maxValidityYears）%d 年短于默认有效期（validityYears）%d 年", tf.MaxValidityYears, tf.ValidityYears))
	}
	if tf.Version < 0 {
		add("version", "range", "版本号（version）须为正整数")
	}
	if len(tf.Fields) > maxTypeFields {
		add("fields", "length", fmt.Sprintf("字段（fields）最多 %d 个", maxTypeFields))
	}
	fields := make([]Field, 0, len(tf.Fields))
	seen := make(map[string]bool, len(tf.Fields))
	for j, fd := range tf.Fields {
		fat := name(fmt.Sprintf("fields[%d]", j))
		fd, err := buildField(fat, fd)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[fd.Key] {
			errs = append(errs, fieldErr(fat+".key", "duplicate", "字段键名（key）"+fd.Key+" 出现了不止一次"))
			continue
		}
		seen[fd.Key] = true
		fields = append(fields, fd)
	}
	t := Type{
		Code:             tf.Code,
		Name:             tf.Name,
		Authority:        tf.Authority,
		AuthorityUSCC:    tf.AuthorityUSCC,
		HolderKind:       tf.HolderKind,
		Fields:           fields,
		ValidityYears:    tf.ValidityYears,
		OneActive:        tf.OneActive,
		MaxValidityYears: tf.MaxValidityYears,
		Version:          tf.Version,
		source:           tf.AuthorityUSCCSource,
		note:             tf.Note,
	}
	if ex := tf.Example; ex != nil && tf.HolderKind.Valid() {
		need("example.holder", "示例持证主体", ex.Holder, maxNameLen)
		if err := validateHolderCode(tf.HolderKind.CodeType(), ex.HolderCode); err != nil {
			add("example.holderCode", "check", fmt.Sprintf("示例持证主体代码（example.holderCode）%q 不是有效的%s", ex.HolderCode, holderCodeName(tf.HolderKind)))
		}
		t.exampleHolder, t.exampleHolderCode = ex.Holder, ex.HolderCode
	}
	if len(errs) > 0 {
		return Type{}, errors.Join(errs...)
	}
	return t, nil
}

// maxTypeFields bounds the fields of one type.
const maxTypeFields = 100

// holderCodeName names the code that identifies holders of kind k.
func holderCodeName(k HolderKind) string {
	if k == HolderCitizen {
		return "公民身份号码（GB 11643）"
	}
	return "统一社会信用代码（GB 32100）"
}

// buildField checks one field definition and compiles its pattern.
func buildField(at string, fd Field) (Field, error) {
	var errs []error
	who := "字段 " + at
	if fd.Label != "" || fd.Key != "" {
		who = fmt.Sprintf("字段 %s（%s %s）", at, fd.Label, fd.Key)
	}
	add := func(field, rule, msg string) { errs = append(errs, fieldErr(at+"."+field, rule, who+"："+msg)) }
	if !fieldKeyRE.MatchString(fd.Key) {
		add("key", "pattern", "键名（key）须为小写字母开头的 ASCII 驼峰式名称，最多 64 个字符")
	}
	switch {
	case strings.TrimSpace(fd.Label) == "":
		add("label", "required", "标签（label）必填")
	case CheckText("label", fd.Label, false) != nil:
		add("label", "charset", "标签（label）含有控制字符或不可见字符")
	case utf8.RuneCountInString(fd.Label) > 100:
		add("label", "length", "标签（label）最多 100 个字")
	}
	if fd.MaxLen < 0 || fd.MaxLen > DefaultMaxLen {
		add("maxLen", "range", fmt.Sprintf("最大长度（maxLen）须为 0 到 %d", DefaultMaxLen))
	}
	switch fd.Type {
	case FieldString, FieldDate, FieldNumber:
		if len(fd.Enum) > 0 {
			add("enum", "enum", "只有枚举（enum）类型的字段可以列出取值")
		}
	case FieldEnum:
		if len(fd.Enum) == 0 {
			add("enum", "required", "枚举字段须列出取值（enum）")
		}
		for k, v := range fd.Enum {
			if v == "" || slices.Index(fd.Enum, v) != k {
				add("enum", "duplicate", "枚举取值（enum）须非空且互不相同")
				break
			}
			if err := text("enum", v, fd.maxLen(), false); err != nil {
				add(fmt.Sprintf("enum[%d]", k), "length", fmt.Sprintf("枚举取值 %q 含有不允许的字符或超过最大长度", v))
				break
			}
		}
		if fd.Pattern != "" {
			add("pattern", "enum", "枚举字段不设正则表达式（pattern）")
		}
	default:
		add("type", "enum", `类型（type）须为 "string"（文本）、"date"（日期）、"number"（数字）或 "enum"（枚举）`)
	}
	if fd.Pattern != "" {
		re, err := compilePattern(fd.Pattern)
		if err != nil {
			add("pattern", "pattern", fmt.Sprintf("正则表达式（pattern）%q 无法编译：%s", fd.Pattern, regexpProblem(err)))
		}
		fd.re = re
		if fd.Required && fd.Example == "" {
			add("example", "required", "必填且有正则表达式的字段须给出符合规则的示例值（example）")
		}
	}
	if len(errs) == 0 && fd.Example != "" {
		if err := fd.check("example", fd.Example); err != nil {
			rule := "example"
			var fe *FieldError
			if errors.As(err, &fe) {
				rule = fe.Rule
			}
			add("example", rule, fmt.Sprintf("示例值（example）%q 不符合本字段自己的规则（%s）", fd.Example, rule))
		}
	}
	if len(errs) > 0 {
		return Field{}, errors.Join(errs...)
	}
	return fd, nil
}

// regexpProblems say in Chinese what a regexp/syntax error code means.
var regexpProblems = map[syntax.ErrorCode]string{
	syntax.ErrMissingBracket:        "缺少右方括号 ]",
	syntax.ErrMissingParen:          "缺少右括号 )",
	syntax.ErrUnexpectedParen:       "多了一个右括号 )",
	syntax.ErrMissingRepeatArgument: "重复符号（* + ? {n}）前没有可重复的内容",
	syntax.ErrInvalidRepeatOp:       "重复符号用法无效（如 ** 或 +*）",
	syntax.ErrInvalidRepeatSize:     "重复次数 {n,m} 无效或超过 1000",
	syntax.ErrInvalidEscape:         "无效的转义序列",
	syntax.ErrInvalidCharRange:      "无效的字符范围（如 [z-a]）",
	syntax.ErrInvalidCharClass:      "无效的字符类",
	syntax.ErrTrailingBackslash:     "末尾多了一个反斜杠 \\",
	syntax.ErrInvalidPerlOp:         "无效的 (? 语法",
	syntax.ErrInvalidNamedCapture:   "无效的命名分组",
	syntax.ErrInvalidUTF8:           "含有无效的 UTF-8 字符",
	syntax.ErrNestingDepth:          "嵌套过深",
	syntax.ErrLarge:                 "表达式过大",
}

// regexpProblem explains a pattern compile error in Chinese, quoting the
// part of the pattern at fault.
func regexpProblem(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		if m, ok := regexpProblems[se.Code]; ok {
			return m + "（出错处：" + strings.TrimSuffix(se.Expr, ")$") + "）"
		}
	}
	return err.Error()
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
