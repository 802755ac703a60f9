package credential

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/gowebpki/jcs"
)

func mustJCS(t testing.TB, b []byte) []byte {
	t.Helper()
	out, err := jcs.Transform(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// jcsCorpus are objects whose canonical form is easy to get wrong.
var jcsCorpus = []string{
	`{}`,
	`{"a":[]}`,
	`{"a":[],"b":{"c":"d","e":[1,2.5,true,false,null]},"proof":{"x":1}}`,
	`{"proof":{"x":1}}`,
	`{"proof":{},"z":0}`,
	`{"b":1,"a":2}`,
	` { "z" : [ 1 , true , false , null , "x" , { } , [ ] ] } `,
	`{"numbers":[0,-0,1,-1,0.1,1e21,1e20,1E2,1.5e-7,0.000001,123456789012345678901234567890,5e-324,1.7976931348623157e308,-1.25e+2,100.0]}`,
	`{"escapes":"\"\\\/\b\f\n\r\t\u0000\u001f\u007f\u00e9\u4e2d\ud83d\ude00 <>&'"}`,
	`{"raw":"中文 é 😀 \u2028\u2029"}`,
	`{"\u20ac":1,"\r":2,"\ufb33":3,"1":4,"\ud83d\ude00":5,"\u0080":6,"\u00f6":7,"a":8}`,
	`{"\ue000":1,"\ud800\udc00":2,"\uffff":3}`,
	`{"long":"` + strings.Repeat("长", 1000) + `"}`,
	`{"nested":{"b":{"d":1,"c":2},"a":[{"y":1,"x":2}]}}`,
	`{"peach":"This sorting order","péché":"is wrong according to French","pêche":"but canonicalization MUST","sin":"ignore locale"}`,
}

// TestJCSMatchesLibrary checks the canonical form written from the parse
// tree against github.com/gowebpki/jcs.
func TestJCSMatchesLibrary(t *testing.T) {
	inputs := slices.Clone(jcsCorpus)
	for _, f := range []string{unsignedFile, signedFile} {
		inputs = append(inputs, string(readTestdata(t, f)))
	}
	for _, in := range inputs {
		tr, ferr := parseDocument([]byte(in))
		if ferr != nil {
			t.Errorf("parseDocument(%.40q): %v", in, ferr)
			continue
		}
		checkCanonicalFlags(t, &tr)
		got := tr.appendJCS(nil, &tr.root)
		want := mustJCS(t, []byte(in))
		if !bytes.Equal(got, want) {
			t.Errorf("JCS(%.40q)\n got %s\nwant %s", in, got, want)
		}
		r := tr.root
		isJCS := string(want) == in[r.start:r.end]
		if canonical := r.flags&flagCanonical != 0; canonical != isJCS {
			t.Errorf("parseDocument(%.40q) canonical = %v, want %v", in, canonical, isJCS)
		}
	}
}

func TestCompareUTF16(t *testing.T) {
	words := []string{"", "a", "ab", "b", "é", "\u20ac", "\ue000", "\uffff", "\U00010000", "\U0001f600", "\U0010ffff", "a\U0001f600", "a\uffff", "中", "中文"}
	for _, a := range words {
		for _, b := range words {
			want := slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
			if got := compareUTF16(a, b); sign(got) != want {
				t.Errorf("compareUTF16(%q, %q) = %d, want %d", a, b, got, want)
			}
		}
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// duplicateByTokens is the reference duplicate-member check: a walk over
// json.Decoder tokens with one name set per open object. encoding/json
// itself would silently keep the last duplicate, so the parser must find
// every duplicate this walk finds.
func duplicateByTokens(data []byte) (bool, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		names  map[string]bool
		object bool
		isName bool // the next token in this object is a member name
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if n := len(stack); n > 0 && stack[n-1].object {
			top := &stack[n-1]
			if top.isName {
				if d, ok := tok.(json.Delim); ok && d == '}' {
					stack = stack[:n-1]
					continue
				}
				name := tok.(string)
				if top.names[name] {
					return true, nil
				}
				top.names[name] = true
				top.isName = false
				continue
			}
			top.isName = true // this token is the member's value (or starts it)
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{names: map[string]bool{}, object: true, isName: true})
		case json.Delim('['):
			stack = append(stack, frame{})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
	}
}

func TestDuplicateMembers(t *testing.T) {
	tests := []struct {
		in        string
		wantField string
	}{
		{`{"a":1,"a":2}`, "a"},
		{`{"a":1,"b":2,"a":1}`, "a"},
		{`{"a":1,"\u0061":1}`, "a"},
		{`{"x":{"b":1,"c":{"d":[1,{"e":1,"e":1}]}}}`, "x.c.d[1].e"},
		{`{"x":[{"a":1},{"b":2,"b":2}]}`, "x[1].b"},
		{`{"😀":1,"\ud83d\ude00":2}`, "😀"},
	}
	for _, tt := range tests {
		dup, err := duplicateByTokens([]byte(tt.in))
		if err != nil || !dup {
			t.Errorf("reference walk on %s: dup=%v err=%v, want a duplicate", tt.in, dup, err)
		}
		_, ferr := parseDocument([]byte(tt.in))
		if ferr == nil || ferr.Rule != RuleDuplicate || ferr.Field != tt.wantField {
			t.Errorf("parseDocument(%s) = %v, want rule %q at %q", tt.in, ferr, RuleDuplicate, tt.wantField)
		}
	}
	// Same name in different objects is fine.
	if _, ferr := parseDocument([]byte(`{"a":{"a":1},"b":[{"a":1},{"a":2}]}`)); ferr != nil {
		t.Errorf("distinct objects: %v", ferr)
	}
}

func TestParseDocumentErrors(t *testing.T) {
	deep := strings.Repeat(`{"a":`, maxDepth+1) + "1" + strings.Repeat("}", maxDepth+1)
	tests := []struct {
		name, in, rule string
	}{
		{"empty", ``, RuleSyntax},
		{"spaces", "  \n", RuleSyntax},
		{"array", `[]`, RuleType},
		{"string", `"x"`, RuleType},
		{"bom", "\xef\xbb\xbf{}", RuleType},
		{"two objects", `{}{}`, RuleTrailing},
		{"trailing garbage", `{} x`, RuleTrailing},
		{"trailing nul", "{}\x00", RuleTrailing},
		{"unterminated", `{"a":1`, RuleSyntax},
		{"trailing comma", `{"a":1,}`, RuleSyntax},
		{"array trailing comma", `{"a":[1,]}`, RuleSyntax},
		{"single quotes", `{'a':1}`, RuleSyntax},
		{"bare name", `{a:1}`, RuleSyntax},
		{"leading zero", `{"a":01}`, RuleSyntax},
		{"plus", `{"a":+1}`, RuleSyntax},
		{"bare dot", `{"a":1.}`, RuleSyntax},
		{"hex", `{"a":0x10}`, RuleSyntax},
		{"NaN", `{"a":NaN}`, RuleSyntax},
		{"huge", `{"a":1e400}`, RuleNumber},
		{"bad literal", `{"a":tru}`, RuleSyntax},
		{"literal suffix", `{"a":truex}`, RuleSyntax},
		{"control char", "{\"a\":\"\x01\"}", RuleSyntax},
		{"bad escape", `{"a":"\x"}`, RuleSyntax},
		{"short unicode escape", `{"a":"\u12"}`, RuleSyntax},
		{"invalid utf8", "{\"a\":\"\xff\"}", RuleEncoding},
		{"overlong utf8", "{\"a\":\"\xc0\xaf\"}", RuleEncoding},
		{"utf8 surrogate", "{\"a\":\"\xed\xa0\x80\"}", RuleEncoding},
		{"invalid utf8 name", "{\"\xff\":1}", RuleEncoding},
		{"lone high surrogate", `{"a":"\ud800"}`, RuleEncoding},
		{"lone low surrogate", `{"a":"\udc00"}`, RuleEncoding},
		{"high then not low", `{"a":"\ud800\u0041"}`, RuleEncoding},
		{"too deep", deep, RuleDepth},
		{"too many values", `{"a":[` + strings.Repeat("0,", maxValues) + `0]}`, RuleSize},
		{"too deep arrays", `{"a":` + strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1) + `}`, RuleDepth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ferr := parseDocument([]byte(tt.in))
			if ferr == nil {
				t.Fatalf("parseDocument(%q) succeeded, want rule %s", tt.in, tt.rule)
			}
			if ferr.Rule != tt.rule {
				t.Errorf("parseDocument(%q) rule = %s (%v), want %s", tt.in, ferr.Rule, ferr, tt.rule)
			}
			if !errors.Is(ferr, ErrFormat) {
				t.Errorf("error does not wrap ErrFormat")
			}
		})
	}
}

func TestParseDocumentAcceptsWhatEncodingJSONAccepts(t *testing.T) {
	for _, in := range jcsCorpus {
		if !json.Valid([]byte(in)) {
			t.Fatalf("corpus entry is not valid JSON: %.40q", in)
		}
		if _, ferr := parseDocument([]byte(in)); ferr != nil {
			t.Errorf("parseDocument(%.40q): %v", in, ferr)
		}
	}
}

// TestScanPlain checks the eight-bytes-at-a-time scan against a byte loop,
// for every stop byte at every position and alignment.
func TestScanPlain(t *testing.T) {
	naive := func(s string, i int) (int, bool) {
		high := false
		for ; i < len(s); i++ {
			c := s[i]
			if c == '"' || c == '\\' || c < 0x20 {
				break
			}
			high = high || c >= 0x80
		}
		return i, high
	}
	fillers := []byte{'a', 0x7f, 0x80, 0xe4, 0xff, 0x21, 0x5b, 0x5d}
	stops := []byte{'"', '\\', 0x00, 0x1f, 0x0a}
	for n := 0; n <= 24; n++ {
		for _, f := range fillers {
			for at := 0; at <= n; at++ {
				for _, stop := range append(stops, 'b') {
					b := bytes.Repeat([]byte{'x'}, n)
					if at > 0 {
						b[at-1] = f
					}
					if at < n {
						b[at] = stop
					}
					for from := 0; from <= min(n, 9); from++ {
						s := string(b)
						gotI, gotHigh := scanPlain(s, from)
						wantI, wantHigh := naive(s, from)
						if gotI != wantI || gotHigh != wantHigh {
							t.Fatalf("scanPlain(%q, %d) = %d, %v; want %d, %v", s, from, gotI, gotHigh, wantI, wantHigh)
						}
					}
				}
			}
		}
	}
}
