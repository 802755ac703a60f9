package render

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// unit measures ASCII as half and everything else as one full width.
func unit(r rune) float64 {
	if r < utf8.RuneSelf {
		return 0.5
	}
	return 1
}

func TestWrap(t *testing.T) {
	tests := []struct {
		s     string
		width float64
		want  []string
	}{
		{"", 4, []string{""}},
		{"营业执照", 4, []string{"营业执照"}},
		{"电子证照核验平台", 4, []string{"电子证照", "核验平台"}},
		// closing punctuation hangs instead of starting a line
		{"电子证照，核验", 4, []string{"电子证照，", "核验"}},
		// opening punctuation moves to the next line
		{"电子证（照）", 4, []string{"电子证", "（照）"}},
		// ASCII words stay together when they fit
		{"编号AB12CD", 4, []string{"编号", "AB12CD"}},
		// a word longer than a line is broken
		{"ABCDEFGHIJ", 2, []string{"ABCD", "EFGH", "IJ"}},
		{"第一行\n第二行", 10, []string{"第一行", "第二行"}},
	}
	for _, tt := range tests {
		got := wrap(tt.s, tt.width, unit)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("wrap(%q, %v) = %q, want %q", tt.s, tt.width, got, tt.want)
		}
	}
}

// FuzzWrap checks that wrapping never loses, adds or reorders a character.
func FuzzWrap(f *testing.F) {
	f.Add("许可项目：餐饮服务；食品销售（仅销售预包装食品）。一般项目：ABC123", 7.0)
	f.Add("（（（（））））", 1.0)
	f.Fuzz(func(t *testing.T, s string, width float64) {
		if width < 1 || width > 100 || !utf8.ValidString(s) {
			t.Skip()
		}
		got := strings.Join(wrap(s, width, unit), "")
		if want := strings.ReplaceAll(s, "\n", ""); got != want {
			t.Fatalf("wrap lost characters: %q -> %q", want, got)
		}
	})
}
