package license

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Rules CheckText reports. Each is a stable token in FieldError.Rule.
const (
	// RuleUTF8: the value is not valid UTF-8 (including an encoded lone
	// surrogate, which Go's decoder treats as invalid).
	RuleUTF8 = "utf8"
	// RuleControl: a C0 or C1 control character or DEL (newlines are
	// allowed in multi-line text only).
	RuleControl = "control"
	// RuleBidi: a bidirectional embedding, override or isolate
	// (U+202A–U+202E, U+2066–U+2069) that makes text display in another
	// order than it is stored.
	RuleBidi = "bidi"
	// RuleInvisible: a zero-width character (U+200B–U+200D, U+2060) or a
	// byte order mark (U+FEFF) that cannot be seen but changes the value.
	RuleInvisible = "invisible"
)

// CheckText checks a name or a piece of free text a person typed: holder and
// department names, field values, status notes and purposes. It rejects
// invalid UTF-8, control characters (a line feed only when multiline),
// bidirectional overrides and isolates, and zero-width characters and byte
// order marks. It returns nil or a *FieldError naming field, with Rule one
// of RuleUTF8, RuleControl, RuleBidi or RuleInvisible; the message names the
// position of the first offending character and never repeats the value.
func CheckText(field, value string, multiline bool) *FieldError {
	if !utf8.ValidString(value) {
		return fieldErr(field, RuleUTF8, "不是有效的 UTF-8 文本")
	}
	pos := 0
	for _, c := range value {
		pos++
		switch {
		case c == '\n' && multiline:
		case unicode.IsControl(c):
			return fieldErr(field, RuleControl, fmt.Sprintf("第 %d 个字是控制字符（U+%04X）", pos, c))
		case c >= 0x202A && c <= 0x202E, c >= 0x2066 && c <= 0x2069:
			return fieldErr(field, RuleBidi, fmt.Sprintf("第 %d 个字是改变文字方向的控制符（U+%04X）", pos, c))
		case c >= 0x200B && c <= 0x200D, c == 0x2060, c == 0xFEFF:
			return fieldErr(field, RuleInvisible, fmt.Sprintf("第 %d 个字是看不见的零宽字符（U+%04X）", pos, c))
		}
	}
	return nil
}
