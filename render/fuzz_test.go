package render

import (
	"testing"
)

// FuzzParseTTF checks the font parser and subsetter on damaged fonts.
func FuzzParseTTF(f *testing.F) {
	font, err := FindFont()
	if err != nil {
		f.Skip(err)
	}
	sub, err := testRenderer(f).font.subset([]rune("营业执照0123"))
	if err != nil {
		f.Fatal(err)
	}
	_ = font
	f.Add(sub)
	f.Fuzz(func(t *testing.T, b []byte) {
		tf, err := parseTTF(b)
		if err != nil {
			return
		}
		tf.subset([]rune("营业执照0123"))
	})
}
