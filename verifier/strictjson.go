package verifier

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// maxDepth bounds JSON nesting so that hostile input cannot exhaust the
// stack.
const maxDepth = 64

// linearNames is how many member names an object may have before duplicate
// detection switches from a linear scan to a map.
const linearNames = 16

// errJSON is wrapped by every strict JSON failure.
var errJSON = errors.New("malformed JSON")

// checkStrictJSON reports whether data is exactly one RFC 8259 JSON value,
// with valid UTF-8, no duplicate object member names at any depth and nothing
// but white space after it. encoding/json silently keeps the last of
// duplicate members, which would let two readers of the same bytes see
// different values; it is also several times slower than this scanner.
func checkStrictJSON(data []byte) error {
	s := scanner{data: data}
	if err := s.value(0, nil); err != nil {
		return err
	}
	return s.end()
}

// member is one member of a top-level object: its name and value bytes.
type member struct {
	name  string
	value []byte
}

// topMembers checks data strictly like checkStrictJSON and, when it is an
// object, returns its members; ok is false for any other value.
func topMembers(data []byte) (members []member, ok bool, err error) {
	s := scanner{data: data}
	s.space()
	if s.pos < len(s.data) && s.data[s.pos] == '{' {
		ok = true
		members = make([]member, 0, 4)
	}
	var collect *[]member
	if ok {
		collect = &members
	}
	if err := s.value(0, collect); err != nil {
		return nil, false, err
	}
	if err := s.end(); err != nil {
		return nil, false, err
	}
	return members, ok, nil
}

// decodeStrict checks data with checkStrictJSON and decodes it into v,
// refusing members v does not define.
func decodeStrict(data []byte, v any) error {
	if err := checkStrictJSON(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", errJSON, err)
	}
	return nil
}

// scanner validates JSON in one pass without building values.
type scanner struct {
	data []byte
	pos  int
}

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d", errJSON, fmt.Sprintf(format, args...), s.pos)
}

func (s *scanner) space() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// end checks nothing but white space is left.
func (s *scanner) end() error {
	s.space()
	if s.pos != len(s.data) {
		return s.errorf("trailing data after the JSON value")
	}
	return nil
}

// value scans one value. When collect is set and the value is an object,
// its members are appended to *collect.
func (s *scanner) value(depth int, collect *[]member) error {
	if depth > maxDepth {
		return s.errorf("nested deeper than %d", maxDepth)
	}
	s.space()
	if s.pos >= len(s.data) {
		return s.errorf("unexpected end of input")
	}
	switch c := s.data[s.pos]; {
	case c == '{':
		return s.object(depth, collect)
	case c == '[':
		return s.array(depth)
	case c == '"':
		_, err := s.str(false)
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	default:
		return s.errorf("unexpected character %q", c)
	}
}

func (s *scanner) object(depth int, collect *[]member) error {
	s.pos++ // '{'
	var names []string
	var seen map[string]struct{}
	s.space()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return nil
	}
	for {
		s.space()
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return s.errorf("expected a member name")
		}
		name, err := s.str(true)
		if err != nil {
			return err
		}
		if seen != nil {
			if _, dup := seen[name]; dup {
				return s.errorf("duplicate member %q", name)
			}
			seen[name] = struct{}{}
		} else {
			for _, n := range names {
				if n == name {
					return s.errorf("duplicate member %q", name)
				}
			}
			names = append(names, name)
			if len(names) > linearNames { // large objects: a map, not a quadratic scan
				seen = make(map[string]struct{}, 2*len(names))
				for _, n := range names {
					seen[n] = struct{}{}
				}
			}
		}
		s.space()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return s.errorf("expected ':'")
		}
		s.pos++
		s.space()
		start := s.pos
		if err := s.value(depth+1, nil); err != nil {
			return err
		}
		if collect != nil {
			*collect = append(*collect, member{name: name, value: s.data[start:s.pos]})
		}
		s.space()
		if s.pos >= len(s.data) {
			return s.errorf("unexpected end of input in an object")
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return s.errorf("expected ',' or '}'")
		}
	}
}

func (s *scanner) array(depth int) error {
	s.pos++ // '['
	s.space()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return nil
	}
	for {
		if err := s.value(depth+1, nil); err != nil {
			return err
		}
		s.space()
		if s.pos >= len(s.data) {
			return s.errorf("unexpected end of input in an array")
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return s.errorf("expected ',' or ']'")
		}
	}
}

// str scans a string and, when value is set, returns its value (member
// names need it to find duplicates; other strings are only checked).
func (s *scanner) str(value bool) (string, error) {
	start := s.pos
	s.pos++ // '"'
	escaped := false
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			raw := s.data[start:s.pos]
			if !utf8.Valid(raw) {
				return "", s.errorf("invalid UTF-8 in a string")
			}
			switch {
			case !value:
				return "", nil
			case !escaped:
				return string(raw[1 : len(raw)-1]), nil
			}
			var out string
			if err := json.Unmarshal(raw, &out); err != nil {
				return "", s.errorf("bad string: %v", err)
			}
			return out, nil
		case c == '\\':
			escaped = true
			if s.pos+1 >= len(s.data) {
				return "", s.errorf("unterminated escape")
			}
			switch s.data[s.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.pos += 2
			case 'u':
				if s.pos+6 > len(s.data) {
					return "", s.errorf("short \\u escape")
				}
				if _, err := strconv.ParseUint(string(s.data[s.pos+2:s.pos+6]), 16, 16); err != nil {
					return "", s.errorf("bad \\u escape")
				}
				s.pos += 6
			default:
				return "", s.errorf("bad escape")
			}
		case c < 0x20:
			return "", s.errorf("control character in a string")
		default:
			s.pos++
		}
	}
	return "", s.errorf("unterminated string")
}

func (s *scanner) number() error {
	start := s.pos
	if s.data[s.pos] == '-' {
		s.pos++
	}
	digits := func() int {
		n := 0
		for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
			s.pos++
			n++
		}
		return n
	}
	if s.pos < len(s.data) && s.data[s.pos] == '0' {
		s.pos++
	} else if digits() == 0 {
		return s.errorf("bad number")
	}
	if s.pos < len(s.data) && s.data[s.pos] == '.' {
		s.pos++
		if digits() == 0 {
			return s.errorf("bad number")
		}
	}
	if s.pos < len(s.data) && (s.data[s.pos] == 'e' || s.data[s.pos] == 'E') {
		s.pos++
		if s.pos < len(s.data) && (s.data[s.pos] == '+' || s.data[s.pos] == '-') {
			s.pos++
		}
		if digits() == 0 {
			return s.errorf("bad number")
		}
	}
	if _, err := strconv.ParseFloat(string(s.data[start:s.pos]), 64); err != nil {
		return s.errorf("number out of range")
	}
	return nil
}

func (s *scanner) literal(lit string) error {
	if !bytes.HasPrefix(s.data[s.pos:], []byte(lit)) {
		return s.errorf("bad literal")
	}
	s.pos += len(lit)
	return nil
}
