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
// the hashes (appendJCS) and the Go struct (fill in parse.go).
//
// The tree holds offsets into the input, not strings: it has no pointers, so
// the garbage collector never scans it and building it needs no write
// barriers (half the time of the string-holding tree it replaced). Every
// object and array also records whether its bytes in the input already are
// its JCS form, as stored credentials are; the hashes are then taken over
// those bytes, without serializing.
//
// The serializer must agree byte for byte with github.com/gowebpki/jcs; the
// tests and FuzzParse compare the two on every input that Parse accepts, and
// numbers are formatted by jcs.NumberToJSON itself.

import (
	"bytes"
	"cmp"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

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

// Node flags.
const (
	// flagNameDecoded: the member name had escapes; its text is in
	// tree.decoded rather than the input.
	flagNameDecoded uint8 = 1 << iota
	// flagTextDecoded: the string had escapes, or the number is not in its
	// JCS form; the text is in tree.decoded.
	flagTextDecoded
	// flagCanonical: the object's or array's bytes in the input are exactly
	// its JCS form.
	flagCanonical
)

// span is the byte range [off, end) of the input or of tree.decoded.
type span struct{ off, end uint32 }

// node is one parsed JSON value and, for a member of an object, its name.
type node struct {
	kind  kind
	flags uint8
	// name is a member's name; mstart is where the member starts in the
	// input (its name's opening quote; for an array element, start).
	name   span
	mstart uint32
	// start and end delimit the value's bytes in the input.
	start, end uint32
	// sub is a string's decoded text or a number's JCS text (in the
	// input, or in tree.decoded with flagTextDecoded); or an object's
	// members in JCS order (no two names equal) or an array's elements in
	// order, tree.nodes[sub.off:sub.end].
	sub span
}

// tree is a parsed document: the input, the text of strings that had
// escapes, and the nodes of every object and array.
type tree struct {
	in      string
	buf     []byte // the same bytes as in
	decoded string
	nodes   []node
	root    node
}

// release hands the node arena back for the next parse; t must not look at
// its nodes again (they are gone: items then panics rather than reading
// another document's).
func (t *tree) release() {
	if cap(t.nodes) <= maxPooledArena {
		nodes := t.nodes[:0]
		arenaPool.Put(&nodes)
	}
	t.nodes, t.root = nil, node{}
}

// str returns a string's text or a number's JCS text.
func (t *tree) str(n *node) string {
	if n.flags&flagTextDecoded != 0 {
		return t.decoded[n.sub.off:n.sub.end]
	}
	return t.in[n.sub.off:n.sub.end]
}

// name returns a member's name.
func (t *tree) name(n *node) string {
	if n.flags&flagNameDecoded != 0 {
		return t.decoded[n.name.off:n.name.end]
	}
	return t.in[n.name.off:n.name.end]
}

// items returns the members of an object or the elements of an array.
func (t *tree) items(n *node) []node { return t.nodes[n.sub.off:n.sub.end] }

// raw returns the value's bytes in the input.
func (t *tree) raw(n *node) string { return t.in[n.start:n.end] }

// member returns the named member of an object, or nil.
func (t *tree) member(obj *node, name string) *node {
	items := t.items(obj)
	for i := range items {
		if t.name(&items[i]) == name {
			return &items[i]
		}
	}
	return nil
}

// parser reads one JSON document. Items of open objects and arrays wait on
// a stack shared by all levels; finished ones move to the node arena.
type parser struct {
	in     string
	pos    int
	values int // values parsed so far, at most maxValues
	// notJCS counts what JCS would write differently: whitespace, an
	// escape, a number not in ECMAScript form, members out of order. An
	// object or array is canonical if it did not change while reading it.
	notJCS  int
	stack   []node          // items of the open objects and arrays
	nodes   []node          // items of the finished ones
	decoded strings.Builder // text of strings with escapes
}

// stackPool recycles parser stacks: a parse then allocates only its nodes.
var stackPool = sync.Pool{New: func() any {
	s := make([]node, 0, 64)
	return &s
}}

const maxPooledStack = 1024

// arenaPool recycles node arenas of trees that are done with them
// (tree.release): a verification then needs no fresh memory for its tree.
var arenaPool = sync.Pool{New: func() any { return new([]node) }}

// maxPooledArena bounds the arenas kept: a hostile document's arena is
// left to the GC.
const maxPooledArena = 4096

// parseDocument parses a copy of data as exactly one JSON object with
// optional surrounding whitespace.
func parseDocument(data []byte) (tree, *FormatError) {
	return parseShared(bytes.Clone(data))
}

// parseShared parses buf itself, which must not change while the tree or
// any string taken from it is in use: the string the tree reads shares its
// bytes (substrings serve names and text, the bytes serve hashing).
func parseShared(buf []byte) (tree, *FormatError) {
	in := unsafe.String(unsafe.SliceData(buf), len(buf))
	sp := stackPool.Get().(*[]node)
	// A credential has about one value per 40 bytes.
	arena := *arenaPool.Get().(*[]node)
	if want := min(len(buf)/40+8, maxPooledArena); cap(arena) < want {
		arena = make([]node, 0, want)
	}
	p := parser{in: in, stack: *sp, nodes: arena[:0]}
	root, err := p.parseRoot()
	if cap(p.stack) <= maxPooledStack {
		*sp = p.stack[:0]
		stackPool.Put(sp)
	}
	if err != nil {
		return tree{}, err
	}
	return tree{in: in, buf: buf, decoded: p.decoded.String(), nodes: p.nodes, root: root}, nil
}

func (p *parser) parseRoot() (node, *FormatError) {
	p.skipSpace()
	if p.pos >= len(p.in) {
		return node{}, formatErr("", RuleSyntax, "empty input")
	}
	if p.in[p.pos] != '{' {
		return node{}, formatErr("", RuleType, "the document must be a JSON object")
	}
	p.stack = append(p.stack, node{})
	if err := p.parseValue(0, 0); err != nil {
		return node{}, err
	}
	p.skipSpace()
	if p.pos != len(p.in) {
		return node{}, formatErr("", RuleTrailing, "bytes after the JSON object at offset "+strconv.Itoa(p.pos))
	}
	return p.stack[0], nil
}

func (p *parser) skipSpace() {
	for p.pos < len(p.in) {
		switch p.in[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
			p.notJCS++
		default:
			return
		}
	}
}

func (p *parser) syntaxErr(what string) *FormatError {
	if p.pos >= len(p.in) {
		return formatErr("", RuleSyntax, what+" at end of input")
	}
	return formatErr("", RuleSyntax, what+" at offset "+strconv.Itoa(p.pos))
}

// nameOf returns the name of a member being parsed.
func (p *parser) nameOf(n *node) string {
	if n.flags&flagNameDecoded != 0 {
		return p.decoded.String()[n.name.off:n.name.end]
	}
	return p.in[n.name.off:n.name.end]
}

// parseValue parses the value at p.pos into p.stack[at]; depth counts the
// enclosing containers. Values are written where they lie on the stack, not
// returned: copying nodes was a quarter of the parse time.
func (p *parser) parseValue(at, depth int) *FormatError {
	if p.values++; p.values > maxValues {
		return formatErr("", RuleSize, "more than "+strconv.Itoa(maxValues)+" JSON values")
	}
	p.skipSpace()
	if p.pos >= len(p.in) {
		return p.syntaxErr("missing value")
	}
	start := uint32(p.pos)
	switch c := p.in[p.pos]; {
	case c == '{':
		return p.parseObject(at, depth+1)
	case c == '[':
		return p.parseArray(at, depth+1)
	case c == '"':
		p.pos++
		text, decoded, err := p.parseString()
		n := &p.stack[at]
		n.kind, n.start, n.end, n.sub = kindString, start, uint32(p.pos), text
		if decoded {
			n.flags |= flagTextDecoded
		}
		return err
	case c == 't':
		return p.literal(at, kindTrue, "true")
	case c == 'f':
		return p.literal(at, kindFalse, "false")
	case c == 'n':
		return p.literal(at, kindNull, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.parseNumber(at)
	default:
		return p.syntaxErr("unexpected byte")
	}
}

func (p *parser) literal(at int, k kind, lit string) *FormatError {
	if len(p.in)-p.pos < len(lit) || p.in[p.pos:p.pos+len(lit)] != lit {
		return p.syntaxErr("bad literal")
	}
	n := &p.stack[at]
	n.kind, n.start, n.end = k, uint32(p.pos), uint32(p.pos+len(lit))
	p.pos += len(lit)
	return nil
}

// keep moves the items of a finished object or array from the stack to the
// arena.
func (p *parser) keep(base int) span {
	off := len(p.nodes)
	p.nodes = append(p.nodes, p.stack[base:]...)
	p.stack = p.stack[:base]
	return span{uint32(off), uint32(len(p.nodes))}
}

func (p *parser) parseObject(at, depth int) *FormatError {
	if depth > maxDepth {
		return formatErr("", RuleDepth, "nesting deeper than "+strconv.Itoa(maxDepth))
	}
	start, notJCS := p.pos, p.notJCS
	p.pos++ // '{'
	base := len(p.stack)
	p.skipSpace()
	if p.pos < len(p.in) && p.in[p.pos] == '}' {
		p.pos++
		p.container(at, kindObject, start, notJCS, span{})
		return nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.in) || p.in[p.pos] != '"' {
			return p.syntaxErr("expected member name")
		}
		mstart := p.pos
		p.pos++
		name, nameDecoded, err := p.parseString()
		if err != nil {
			return err
		}
		p.skipSpace()
		if p.pos >= len(p.in) || p.in[p.pos] != ':' {
			return p.syntaxErr("expected ':'")
		}
		p.pos++
		i := len(p.stack)
		p.stack = append(p.stack, node{name: name, mstart: uint32(mstart)})
		if nameDecoded {
			p.stack[i].flags = flagNameDecoded
		}
		if err := p.parseValue(i, depth); err != nil {
			err.Field = joinPath(pathName(p.nameOf(&p.stack[i])), err.Field)
			return err
		}
		p.skipSpace()
		if p.pos >= len(p.in) {
			return p.syntaxErr("unterminated object")
		}
		if p.in[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.in[p.pos] == '}' {
			p.pos++
			break
		}
		return p.syntaxErr("expected ',' or '}'")
	}
	items := p.keep(base)
	if err := p.order(p.nodes[items.off:items.end]); err != nil {
		return err
	}
	p.container(at, kindObject, start, notJCS, items)
	return nil
}

// order sorts the members of an object into JCS order and fails on a name
// that occurs twice. Documents we wrote are already in order; one pass
// over them checks both.
func (p *parser) order(obj []node) *FormatError {
	sorted := true
	for i := 1; i < len(obj); i++ {
		switch c := compareUTF16(p.nameOf(&obj[i-1]), p.nameOf(&obj[i])); {
		case c == 0:
			return formatErr(pathName(p.nameOf(&obj[i])), RuleDuplicate, "member name occurs more than once")
		case c > 0:
			sorted = false
		}
	}
	if sorted {
		return nil
	}
	p.notJCS++
	slices.SortFunc(obj, func(a, b node) int { return compareUTF16(p.nameOf(&a), p.nameOf(&b)) })
	for i := 1; i < len(obj); i++ {
		if name := p.nameOf(&obj[i]); p.nameOf(&obj[i-1]) == name {
			return formatErr(pathName(name), RuleDuplicate, "member name occurs more than once")
		}
	}
	return nil
}

// container completes p.stack[at] as an object or array read from start to
// p.pos; notJCS is p.notJCS as it was at start.
func (p *parser) container(at int, k kind, start, notJCS int, items span) {
	n := &p.stack[at]
	n.kind, n.start, n.end, n.sub = k, uint32(start), uint32(p.pos), items
	if p.notJCS == notJCS {
		n.flags |= flagCanonical
	}
}

func (p *parser) parseArray(at, depth int) *FormatError {
	if depth > maxDepth {
		return formatErr("", RuleDepth, "nesting deeper than "+strconv.Itoa(maxDepth))
	}
	start, notJCS := p.pos, p.notJCS
	p.pos++ // '['
	base := len(p.stack)
	p.skipSpace()
	if p.pos < len(p.in) && p.in[p.pos] == ']' {
		p.pos++
		p.container(at, kindArray, start, notJCS, span{})
		return nil
	}
	for {
		i := len(p.stack)
		p.stack = append(p.stack, node{})
		if err := p.parseValue(i, depth); err != nil {
			err.Field = joinPath("["+strconv.Itoa(i-base)+"]", err.Field)
			return err
		}
		p.stack[i].mstart = p.stack[i].start
		p.skipSpace()
		if p.pos >= len(p.in) {
			return p.syntaxErr("unterminated array")
		}
		if p.in[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.in[p.pos] == ']' {
			p.pos++
			break
		}
		return p.syntaxErr("expected ',' or ']'")
	}
	p.container(at, kindArray, start, notJCS, p.keep(base))
	return nil
}

// parseString parses a string whose opening quote has been consumed. It
// returns the span of its text: in the input, or, if it had escapes, in
// p.decoded (decoded true).
func (p *parser) parseString() (text span, decoded bool, err *FormatError) {
	start := p.pos
	// Fast path: no escapes, the common case; the text is in the input.
	if i, high := scanPlain(p.in, start); i < len(p.in) && p.in[i] == '"' {
		if !high || utf8.ValidString(p.in[start:i]) {
			p.pos = i + 1
			return span{uint32(start), uint32(i)}, false, nil
		}
	}
	i := start
	p.notJCS++ // conservative: some escapes are JCS, most are not
	buf := &p.decoded
	off := buf.Len()
	bulk := true // copy runs of plain text at once, until one is bad UTF-8
	for {
		if bulk {
			j, high := scanPlain(p.in, i)
			if high && !utf8.ValidString(p.in[i:j]) {
				bulk = false // the byte-wise path below reports where
			} else {
				buf.WriteString(p.in[i:j])
				i = j
			}
		}
		if i >= len(p.in) {
			p.pos = i
			return span{}, false, p.syntaxErr("unterminated string")
		}
		c := p.in[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return span{uint32(off), uint32(buf.Len())}, true, nil
		case c < 0x20:
			p.pos = i
			return span{}, false, p.syntaxErr("control character in string")
		case c < 0x80 && c != '\\':
			buf.WriteByte(c)
			i++
		case c >= 0x80:
			r, size := utf8.DecodeRuneInString(p.in[i:])
			if r == utf8.RuneError && size <= 1 {
				return span{}, false, formatErr("", RuleEncoding, "invalid UTF-8 at offset "+strconv.Itoa(i))
			}
			buf.WriteString(p.in[i : i+size])
			i += size
		default: // backslash
			if i+1 >= len(p.in) {
				p.pos = i + 1
				return span{}, false, p.syntaxErr("unterminated escape")
			}
			e := p.in[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				buf.WriteByte(e)
			case 'b':
				buf.WriteByte('\b')
			case 'f':
				buf.WriteByte('\f')
			case 'n':
				buf.WriteByte('\n')
			case 'r':
				buf.WriteByte('\r')
			case 't':
				buf.WriteByte('\t')
			case 'u':
				r, ok := hex4(p.in, i)
				if !ok {
					p.pos = i
					return span{}, false, p.syntaxErr("bad \\u escape")
				}
				i += 4
				switch {
				case r >= 0xDC00 && r <= 0xDFFF:
					return span{}, false, formatErr("", RuleEncoding, "lone low surrogate escape at offset "+strconv.Itoa(i-6))
				case r >= 0xD800 && r <= 0xDBFF:
					lo, ok := rune(0), false
					if i+1 < len(p.in) && p.in[i] == '\\' && p.in[i+1] == 'u' {
						lo, ok = hex4(p.in, i+2)
					}
					if !ok || lo < 0xDC00 || lo > 0xDFFF {
						return span{}, false, formatErr("", RuleEncoding, "high surrogate escape without low surrogate at offset "+strconv.Itoa(i-6))
					}
					i += 6
					r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
				}
				buf.WriteRune(r)
			default:
				p.pos = i - 1
				return span{}, false, p.syntaxErr("unknown escape")
			}
		}
	}
}

// Byte masks for scanPlain.
const (
	lanes  = 0x0101010101010101 // 1 in every byte
	highs  = 0x8080808080808080 // the top bit of every byte
	quotes = '"' * lanes
	slashs = '\\' * lanes
)

// scanPlain returns the index of the first byte at or after i that ends
// plain string text — a quote, a backslash or a control character — or
// len(s), and whether a byte from 0x80 up (UTF-8 beyond ASCII) came before
// it. Strings are most of a credential's bytes, so it looks at eight bytes
// at a time ("SWAR": a byte of x is zero iff the matching byte of
// (x-lanes)&^x&highs is 0x80; the lowest such byte is always exact).
func scanPlain(s string, i int) (int, bool) {
	var high uint64
	for ; i+8 <= len(s); i += 8 {
		x := load64(s, i)
		q, b := x^quotes, x^slashs
		stop := ((x - 0x20*lanes) &^ x) | ((q - lanes) &^ q) | ((b - lanes) &^ b)
		if stop &= highs; stop != 0 {
			n := bits.TrailingZeros64(stop) / 8
			high |= x & highs & (1<<(8*n) - 1)
			return i + n, high != 0
		}
		high |= x & highs
	}
	for ; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' || c < 0x20 {
			break
		}
		high |= uint64(c) & 0x80
	}
	return i, high != 0
}

// load64 reads s[i:i+8] as a little-endian number (one load on amd64 and
// arm64: the compiler merges the byte loads).
func load64(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
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

// parseNumber parses an RFC 8259 number and keeps its JCS form (the
// ECMAScript rendering of the nearest IEEE 754 double).
func (p *parser) parseNumber(at int) *FormatError {
	start := p.pos
	i := p.pos
	digits := func() int {
		n := 0
		for i < len(p.in) && p.in[i] >= '0' && p.in[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if p.in[i] == '-' {
		i++
	}
	switch {
	case i < len(p.in) && p.in[i] == '0':
		i++
	case digits() == 0:
		p.pos = i
		return p.syntaxErr("bad number")
	}
	if i < len(p.in) && p.in[i] == '.' {
		i++
		if digits() == 0 {
			p.pos = i
			return p.syntaxErr("bad number fraction")
		}
	}
	if i < len(p.in) && (p.in[i] == 'e' || p.in[i] == 'E') {
		i++
		if i < len(p.in) && (p.in[i] == '+' || p.in[i] == '-') {
			i++
		}
		if digits() == 0 {
			p.pos = i
			return p.syntaxErr("bad number exponent")
		}
	}
	p.pos = i
	f, err := strconv.ParseFloat(p.in[start:i], 64)
	if err != nil {
		return formatErr("", RuleNumber, "number out of range at offset "+strconv.Itoa(start))
	}
	text, err := jcs.NumberToJSON(f)
	if err != nil {
		return formatErr("", RuleNumber, "number has no JSON form at offset "+strconv.Itoa(start))
	}
	n := &p.stack[at]
	n.kind, n.start, n.end, n.sub = kindNumber, uint32(start), uint32(i), span{uint32(start), uint32(i)}
	if text != p.in[start:i] {
		p.notJCS++
		off := p.decoded.Len()
		p.decoded.WriteString(text)
		n.flags, n.sub = n.flags|flagTextDecoded, span{uint32(off), uint32(p.decoded.Len())}
	}
	return nil
}

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

// appendJCS appends the RFC 8785 form of n.
func (t *tree) appendJCS(dst []byte, n *node) []byte {
	switch n.kind {
	case kindNull:
		return append(dst, "null"...)
	case kindFalse:
		return append(dst, "false"...)
	case kindTrue:
		return append(dst, "true"...)
	case kindNumber:
		return append(dst, t.str(n)...)
	case kindString:
		return appendJCSString(dst, t.str(n))
	}
	if n.flags&flagCanonical != 0 {
		return append(dst, t.raw(n)...)
	}
	if n.kind == kindObject {
		return t.appendJCSObject(dst, n, "")
	}
	dst = append(dst, '[')
	items := t.items(n)
	for i := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = t.appendJCS(dst, &items[i])
	}
	return append(dst, ']')
}

// appendJCSObject appends the RFC 8785 form of the object obj minus the
// member named skip (if any). Removing a member from a JCS object leaves
// the others in JCS order, so this is JCS(object without skip).
func (t *tree) appendJCSObject(dst []byte, obj *node, skip string) []byte {
	dst = append(dst, '{')
	first := true
	items := t.items(obj)
	for i := range items {
		m := &items[i]
		name := t.name(m)
		if skip != "" && name == skip {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJCSString(dst, name)
		dst = append(dst, ':')
		dst = t.appendJCS(dst, m)
	}
	return append(dst, '}')
}

// withoutMember returns the JCS form of a canonical object obj minus its
// member m, as the two pieces of the input around m (and one comma beside
// it): no serializing needed.
func (t *tree) withoutMember(obj, m *node) (before, after []byte) {
	from, to := m.mstart, m.end
	switch {
	case t.in[from-1] == ',':
		from--
	case t.in[to] == ',':
		to++
	}
	return t.buf[obj.start:from], t.buf[to:obj.end]
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
