package zhtext

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// englishRE matches two or more Latin words in a row, separated by single
// spaces (optionally after a comma or colon), where each word has a
// lower-case letter: the shape of English prose and of
// Go error messages, and not of codes such as "SM2", "GB/T 36904" or
// "ZZ1:", nor of URLs and paths (no spaces), nor of "/api/v1/verify".
var englishRE = regexp.MustCompile(`(?:^|[^A-Za-z0-9_./:#-])(` + word + `(?:[,:;]? ` + word + `)+)(?:$|[^A-Za-z0-9_./:#-])`)

// word is a Latin word with a lower-case letter.
const word = `[A-Za-z']*[a-z][A-Za-z']*`

// English returns the English phrases in s, in order.
func English(s string) []string {
	var out []string
	for _, m := range englishRE.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// HasHan reports whether s has a Han (Chinese) character.
func HasHan(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) })
}

// Check returns an error naming what is wrong when s, a message a Chinese
// reader reads, is empty, has no Chinese or has English prose in it.
func Check(s string) error {
	switch e := English(s); {
	case strings.TrimSpace(s) == "":
		return fmt.Errorf("empty message")
	case !HasHan(s):
		return fmt.Errorf("no Chinese in %q", s)
	case len(e) > 0:
		return fmt.Errorf("English %q in %q", e, s)
	}
	return nil
}
