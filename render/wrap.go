package render

import "strings"

// Chinese line-breaking rules (禁则): closing punctuation never starts a
// line (it hangs past the right edge instead) and opening punctuation never
// ends one.
const (
	closers = "，。、；：？！）》」』】〕〉,.;:?!)]}%…—"
	openers = "（《「『【〔〈([{"
)

// wrap breaks s into lines no wider than width, measuring each rune with w.
// It is written here because fpdf's MultiCell/SplitText drop a CJK
// character at every automatic break. Every character of s except the
// newlines that separate paragraphs is kept: strings.Join(lines, "") equals
// s without its '\n'. Runs of ASCII letters and digits (codes, numbers) are
// kept together when they fit on a line.
func wrap(s string, width float64, w func(rune) float64) []string {
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		lines = append(lines, wrapParagraph([]rune(para), width, w)...)
	}
	return lines
}

func wrapParagraph(rs []rune, width float64, w func(rune) float64) []string {
	if len(rs) == 0 {
		return []string{""}
	}
	var lines []string
	var line []rune
	var lineW float64
	flush := func() {
		lines = append(lines, string(line))
		line, lineW = nil, 0
	}
	for i := 0; i < len(rs); {
		// The next unbreakable token: an ASCII word or one rune.
		j := i + 1
		if isWordRune(rs[i]) {
			for j < len(rs) && isWordRune(rs[j]) {
				j++
			}
		}
		tok := rs[i:j]
		var tw float64
		for _, c := range tok {
			tw += w(c)
		}
		switch {
		case lineW+tw <= width:
		case len(tok) == 1 && strings.ContainsRune(closers, tok[0]) && len(line) > 0:
			// hang the punctuation
		case len(line) == 0 || tw > width:
			// Too long for any line: break it by rune.
			for _, c := range tok {
				if cw := w(c); lineW+cw > width && len(line) > 0 {
					flush()
				}
				line = append(line, c)
				lineW += w(c)
			}
			i = j
			continue
		default:
			var carry []rune
			if n := len(line); n > 1 && strings.ContainsRune(openers, line[n-1]) {
				carry, line = line[n-1:], line[:n-1]
			}
			flush()
			for _, c := range carry {
				line = append(line, c)
				lineW += w(c)
			}
		}
		line = append(line, tok...)
		lineW += tw
		i = j
	}
	if len(line) > 0 {
		flush()
	}
	return lines
}

func isWordRune(c rune) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
