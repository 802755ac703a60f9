package credential

// A strict JSON parser and an RFC 8785 (JCS) serializer for signed credentials.
//
// Why not encoding/json: (1) json.Unmarshal keeps the LAST of two members with
// the same name and says nothing, so {"id":"a", ..., "id":"b"} would be shown
// to one reader as "a" and hashed or displayed by another as "b" — for signed
// JSON that is a forgery primitive, so a duplicate member at any depth must be
// an error. (2) Finding duplicates with a json.Decoder token walk, decoding the
// generic form and running jcs.Transform costs ~90 µs for a 2 KB credential,
// more than the SM2 verification itself (~50 µs); an offline verifier must
// spend most of its time in SM2, not in JSON. So the document is read exactly
// once, here: syntax, UTF-8, duplicates, depth, size limits and the JCS order
// of every object are all settled in one pass, and the same tree then serves
// the hashes (appendJCS) and the Go struct (fill in parse.go). The pass also
// notes whether the input already is JCS, as stored credentials are; then the
// document hash is taken over the input bytes themselves.
//
// The serializer must agree byte for byte with github.com/gowebpki/jcs; the
// tests and FuzzParse compare the two on every input that Parse accepts, and
// numbers are formatted by jcs.NumberToJSON itself.

import (
	"cmp"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/gowebpki/jcs"
)

// maxDepth bounds nesting. A credential needs 4 levels; 64 leaves room for
// extensions and keeps recursion shallow on hostile input.
const maxDepth = 64

// maxValues bounds the JSON values in one document. A credential has about
// 60; the bound keeps a hostile 1 MiB document ("[0,0,0,…]") from costing
// more than a few MiB of tree.
const maxValues = 1 << 16

// kind is the JSON type of a value.
type kind uint8

const (
	kindNull kind = iota
	kindFalse
	kindTrue
	kindNumber
	kindString
	kindArray
	kindObject
)

var kindNames = [...]string{"null", "false", "true", "number", "string", "array", "object"}

func (k kind) String() string { return kindNames[k] }

// value is one parsed JSON value. Strings without escapes are substrings of
// the document, so parsing allocates little besides objects and arrays.
type value struct {
	kind  kind
	str   string   // kindString: the decoded text; kindNumber: its JCS text
	items []member // kindObject: members sorted in JCS order, no two names
	// equal; kindArray: the elements in order, with empty names
}

// member is one name/value pair of an object, or one element of an array.
type member struct {
	name string
	val  value
}

// member returns the value of the named member of an object.
func (v *value) member(name string) (*value, bool) {
	for i := range v.items {
		if v.items[i].name == name {
			return &v.items[i].val, true
		}
	}
	return nil, false
}

// parser reads one JSON document. Items of open objects and arrays wait on
// a stack shared by all levels; finished ones move to an arena, so a
// document costs a few allocations however many objects it has.
type parser struct {
	data   string
	pos    int
	values int // values parsed so far, at most maxValues
	// notJCS is set on anything JCS would write differently: whitespace,
	// an escape, a number not in ECMAScript form, members out of order.
	notJCS bool
	// proofStart and proofEnd delimit the root object's "proof" member,
	// from the quote opening its name to the end of its value.
	proofStart, proofEnd int
	stack                []member // items of the open objects and arrays
	arena                []member // where finished objects and arrays are kept
	buf                  []byte   // scratch for strings with escapes
}

// keep moves the items of a finished object or array from the stack into
// the arena. The arena grows in chunks; a new chunk leaves the slices
// already handed out where they are.
func (p *parser) keep(base int) []member {
	items := p.stack[base:]
	if cap(p.arena)-len(p.arena) < len(items) {
		// A credential has about one member per 40 bytes.
		p.arena = make([]member, 0, max(len(items), 2*cap(p.arena), min(len(p.data)/40+8, 4096)))
	}
	start := len(p.arena)
	p.arena = append(p.arena, items...)
	p.stack = p.stack[:base]
	return p.arena[start:len(p.arena):len(p.arena)]
}

// stackPool recycles parser stacks: a parse then allocates only the
// document's own objects and arrays.
var stackPool = sync.Pool{New: func() any {
	s := make([]member, 0, 64)
	return &s
}}

const maxPooledStack = 1024

// tree is a parsed document.
type tree struct {
	root value
	// canonical says the input bytes are already the JCS form of root (as
	// Marshal writes them), so the document hash can be taken over the
	// input with the proof member cut out, without serializing.
	canonical bool
	// proofStart and proofEnd delimit the root's "proof" member in the
	// input, name to end of value; both -1 if there is none.
	proofStart, proofEnd int
}

// parseDocument parses data as exactly one JSON object with optional
// surrounding whitespace.
func parseDocument(data string) (tree, *FormatError) {
	sp := stackPool.Get().(*[]member)
	p := parser{data: data, stack: *sp, proofStart: -1, proofEnd: -1}
	v, err := p.parseRoot()
	// Drop the references into this document before reuse. Stacks grown
	// by hostile input are left to the GC.
	if cap(p.stack) <= maxPooledStack {
		clear(p.stack[:cap(p.stack)])
		*sp = p.stack[:0]
		stackPool.Put(sp)
	}
	if err != nil {
		return tree{}, err
	}
	return tree{root: v, canonical: !p.notJCS, proofStart: p.proofStart, proofEnd: p.proofEnd}, nil
}

func (p *parser) parseRoot() (value, *FormatError) {
	data := p.data
	p.skipSpace()
	if p.pos >= len(data) {
		return value{}, formatErr("", RuleSyntax, "empty input")
	}
	if data[p.pos] != '{' {
		return value{}, formatErr("", RuleType, "the document must be a JSON object")
	}
	v, err := p.parseValue(0)
	if err != nil {
		return value{}, err
	}
	p.skipSpace()
	if p.pos != len(data) {
		return value{}, formatErr("", RuleTrailing, "bytes after the JSON object at offset "+strconv.Itoa(p.pos))
	}
	return v, nil
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
			p.notJCS = true
		default:
			return
		}
	}
}

func (p *parser) syntaxErr(what string) *FormatError {
	if p.pos >= len(p.data) {
		return formatErr("", RuleSyntax, what+" at end of input")
	}
	return formatErr("", RuleSyntax, what+" at offset "+strconv.Itoa(p.pos))
}

// parseValue parses the value at p.pos; depth counts the enclosing
// containers.
func (p *parser) parseValue(depth int) (value, *FormatError) {
	if p.values++; p.values > maxValues {
		return value{}, formatErr("", RuleSize, "more than "+strconv.Itoa(maxValues)+" JSON values")
	}
	p.skipSpace()
	if p.pos >= len(p.data) {
		return value{}, p.syntaxErr("missing value")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.parseObject(depth + 1)
	case c == '[':
		return p.parseArray(depth + 1)
	case c == '"':
		p.pos++
		s, err := p.parseString()
		return value{kind: kindString, str: s}, err
	case c == 't':
		return value{kind: kindTrue}, p.literal("true")
	case c == 'f':
		return value{kind: kindFalse}, p.literal("false")
	case c == 'n':
		return value{kind: kindNull}, p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.parseNumber()
	default:
		return value{}, p.syntaxErr("unexpected byte")
	}
}

func (p *parser) literal(lit string) *FormatError {
	if len(p.data)-p.pos < len(lit) || p.data[p.pos:p.pos+len(lit)] != lit {
		return p.syntaxErr("bad literal")
	}
	p.pos += len(lit)
	return nil
}

func (p *parser) parseObject(depth int) (value, *FormatError) {
	if depth > maxDepth {
		return value{}, formatErr("", RuleDepth, "nesting deeper than "+strconv.Itoa(maxDepth))
	}
	p.pos++ // '{'
	base := len(p.stack)
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return value{kind: kindObject, items: []member{}}, nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return value{}, p.syntaxErr("expected member name")
		}
		nameStart := p.pos
		p.pos++
		name, err := p.parseString()
		if err != nil {
			return value{}, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return value{}, p.syntaxErr("expected ':'")
		}
		p.pos++
		v, err := p.parseValue(depth)
		if err != nil {
			err.Field = joinPath(pathName(name), err.Field)
			return value{}, err
		}
		p.stack = append(p.stack, member{name: name, val: v})
		if depth == 1 && name == "proof" {
			p.proofStart, p.proofEnd = nameStart, p.pos
		}
		p.skipSpace()
		if p.pos >= len(p.data) {
			return value{}, p.syntaxErr("unterminated object")
		}
		if p.data[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.data[p.pos] == '}' {
			p.pos++
			break
		}
		return value{}, p.syntaxErr("expected ',' or '}'")
	}
	obj := p.keep(base)

	// Sort into JCS order once; duplicates then sit side by side. Documents
	// we wrote are already in order, so check that first.
	if !slices.IsSortedFunc(obj, compareMembers) {
		slices.SortFunc(obj, compareMembers)
		p.notJCS = true
	}
	for i := 1; i < len(obj); i++ {
		if obj[i-1].name == obj[i].name {
			return value{}, formatErr(pathName(obj[i].name), RuleDuplicate, "member name occurs more than once")
		}
	}
	return value{kind: kindObject, items: obj}, nil
}

func (p *parser) parseArray(depth int) (value, *FormatError) {
	if depth > maxDepth {
		return value{}, formatErr("", RuleDepth, "nesting deeper than "+strconv.Itoa(maxDepth))
	}
	p.pos++ // '['
	base := len(p.stack)
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return value{kind: kindArray, items: []member{}}, nil
	}
	for {
		v, err := p.parseValue(depth)
		if err != nil {
			err.Field = joinPath("["+strconv.Itoa(len(p.stack)-base)+"]", err.Field)
			return value{}, err
		}
		p.stack = append(p.stack, member{val: v})
		p.skipSpace()
		if p.pos >= len(p.data) {
			return value{}, p.syntaxErr("unterminated array")
		}
		if p.data[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.data[p.pos] == ']' {
			p.pos++
			break
		}
		return value{}, p.syntaxErr("expected ',' or ']'")
	}
	return value{kind: kindArray, items: p.keep(base)}, nil
}

// parseString parses a string whose opening quote has been consumed.
func (p *parser) parseString() (string, *FormatError) {
	start := p.pos
	i := start
	// Fast path: no escapes, the common case; the value is a substring.
	var high byte
	for i < len(p.data) {
		c := p.data[i]
		if c == '"' {
			s := p.data[start:i]
			if high >= 0x80 && !utf8.ValidString(s) {
				break // the slow path below reports where
			}
			p.pos = i + 1
			return s, nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		high |= c
		i++
	}
	i = start
	p.notJCS = true // conservative: some escapes are JCS, most are not
	buf := append(p.buf[:0], p.data[start:i]...)
	for {
		if i >= len(p.data) {
			p.pos = i
			return "", p.syntaxErr("unterminated string")
		}
		c := p.data[i]
		switch {
		case c == '"':
			p.pos = i + 1
			p.buf = buf
			return string(buf), nil
		case c < 0x20:
			p.pos = i
			return "", p.syntaxErr("control character in string")
		case c < 0x80 && c != '\\':
			buf = append(buf, c)
			i++
		case c >= 0x80:
			r, size := utf8.DecodeRuneInString(p.data[i:])
			if r == utf8.RuneError && size <= 1 {
				return "", formatErr("", RuleEncoding, "invalid UTF-8 at offset "+strconv.Itoa(i))
			}
			buf = append(buf, p.data[i:i+size]...)
			i += size
		default: // backslash
			if i+1 >= len(p.data) {
				p.pos = i + 1
				return "", p.syntaxErr("unterminated escape")
			}
			e := p.data[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := hex4(p.data, i)
				if !ok {
					p.pos = i
					return "", p.syntaxErr("bad \\u escape")
				}
				i += 4
				switch {
				case r >= 0xDC00 && r <= 0xDFFF:
					return "", formatErr("", RuleEncoding, "lone low surrogate escape at offset "+strconv.Itoa(i-6))
				case r >= 0xD800 && r <= 0xDBFF:
					lo, ok := rune(0), false
					if i+1 < len(p.data) && p.data[i] == '\\' && p.data[i+1] == 'u' {
						lo, ok = hex4(p.data, i+2)
					}
					if !ok || lo < 0xDC00 || lo > 0xDFFF {
						return "", formatErr("", RuleEncoding, "high surrogate escape without low surrogate at offset "+strconv.Itoa(i-6))
					}
					i += 6
					r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
				}
				buf = utf8.AppendRune(buf, r)
			default:
				p.pos = i - 1
				return "", p.syntaxErr("unknown escape")
			}
		}
	}
}

// hex4 decodes the four hex digits at data[i:].
func hex4(data string, i int) (rune, bool) {
	if len(data)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range []byte(data[i : i+4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// parseNumber parses an RFC 8259 number and stores its JCS form
// (the ECMAScript rendering of the nearest IEEE 754 double).
func (p *parser) parseNumber() (value, *FormatError) {
	start := p.pos
	i := p.pos
	digits := func() int {
		n := 0
		for i < len(p.data) && p.data[i] >= '0' && p.data[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if p.data[i] == '-' {
		i++
	}
	switch {
	case i < len(p.data) && p.data[i] == '0':
		i++
	case digits() == 0:
		p.pos = i
		return value{}, p.syntaxErr("bad number")
	}
	if i < len(p.data) && p.data[i] == '.' {
		i++
		if digits() == 0 {
			p.pos = i
			return value{}, p.syntaxErr("bad number fraction")
		}
	}
	if i < len(p.data) && (p.data[i] == 'e' || p.data[i] == 'E') {
		i++
		if i < len(p.data) && (p.data[i] == '+' || p.data[i] == '-') {
			i++
		}
		if digits() == 0 {
			p.pos = i
			return value{}, p.syntaxErr("bad number exponent")
		}
	}
	p.pos = i
	f, err := strconv.ParseFloat(p.data[start:i], 64)
	if err != nil {
		return value{}, formatErr("", RuleNumber, "number out of range at offset "+strconv.Itoa(start))
	}
	text, err := jcs.NumberToJSON(f)
	if err != nil {
		return value{}, formatErr("", RuleNumber, "number has no JSON form at offset "+strconv.Itoa(start))
	}
	if text != p.data[start:i] {
		p.notJCS = true
	}
	return value{kind: kindNumber, str: text}, nil
}

// compareMembers orders member names as RFC 8785 §3.2.3 requires: by their
// UTF-16 code units.
func compareMembers(a, b member) int { return compareUTF16(a.name, b.name) }

// compareUTF16 compares two valid UTF-8 strings by their UTF-16 code units.
// UTF-8 byte order is code point order, which differs from UTF-16 order only
// between U+E000..U+FFFF and supplementary characters (U+10000 and up are
// surrogate pairs D800..DBFF, which sort below E000).
func compareUTF16(a, b string) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	if i == n {
		return cmp.Compare(len(a), len(b))
	}
	for i > 0 && !utf8.RuneStart(a[i]) {
		i--
	}
	ra, _ := utf8.DecodeRuneInString(a[i:])
	rb, _ := utf8.DecodeRuneInString(b[i:])
	return cmp.Compare(utf16Key(ra), utf16Key(rb))
}

// utf16Key maps a code point to a number ordered like its UTF-16 encoding.
func utf16Key(r rune) uint32 {
	if r < 0x10000 {
		return uint32(r) << 16
	}
	r -= 0x10000
	return uint32(0xD800+(r>>10))<<16 | uint32(0xDC00+(r&0x3FF))
}

// appendJCS appends the RFC 8785 form of v.
func appendJCS(dst []byte, v *value) []byte {
	switch v.kind {
	case kindNull:
		return append(dst, "null"...)
	case kindFalse:
		return append(dst, "false"...)
	case kindTrue:
		return append(dst, "true"...)
	case kindNumber:
		return append(dst, v.str...)
	case kindString:
		return appendJCSString(dst, v.str)
	case kindArray:
		dst = append(dst, '[')
		for i := range v.items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJCS(dst, &v.items[i].val)
		}
		return append(dst, ']')
	default:
		return appendJCSObject(dst, v.items, "")
	}
}

// appendJCSObject appends the RFC 8785 form of an object made of obj minus
// the member named skip (if any). Removing a member from a JCS object leaves
// the others in JCS order, so this is JCS(object without skip).
func appendJCSObject(dst []byte, obj []member, skip string) []byte {
	dst = append(dst, '{')
	first := true
	for i := range obj {
		if skip != "" && obj[i].name == skip {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJCSString(dst, obj[i].name)
		dst = append(dst, ':')
		dst = appendJCS(dst, &obj[i].val)
	}
	return append(dst, '}')
}

// appendJCSString appends s as RFC 8785 §3.2.2.2 serializes strings: only
// '"', '\\' and the C0 controls are escaped, \b \t \n \f \r by name and the
// rest as \u00xx in lower case; everything else is copied as UTF-8.
func appendJCSString(dst []byte, s string) []byte {
	const hexdigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexdigits[c>>4], hexdigits[c&0xF])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// maxPathName bounds how much of a member name goes into an error's path.
const maxPathName = 64

// pathName renders a member name as a path segment.
func pathName(name string) string {
	if len(name) <= maxPathName {
		return name
	}
	cut := maxPathName
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return name[:cut] + "…"
}

// joinPath prefixes a path with the segment of its parent.
func joinPath(parent, child string) string {
	switch {
	case parent == "":
		return child
	case child == "":
		return parent
	case child[0] == '[':
		return parent + child
	default:
		return parent + "." + child
	}
}
