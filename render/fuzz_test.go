package render

import (
	"errors"
	"testing"

	"zhengzhao/license"
)

// FuzzExtract feeds mutated license PDFs to the two readers of outside
// PDFs: they may fail, but only with ErrNotLicensePDF or ErrTooLarge.
func FuzzExtract(f *testing.F) {
	r := testRenderer(f)
	typ := license.DefaultCatalog().Types()[0]
	pdf, err := r.PDF(testInput(f, typ, "1"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pdf)
	f.Add([]byte("%PDF-1.4\n%%EOF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ExtractAttachments(b); err != nil && !errors.Is(err, ErrNotLicensePDF) && !errors.Is(err, ErrTooLarge) {
			t.Errorf("ExtractAttachments: %v", err)
		}
		if _, err := VisibleIdentifier(b); err != nil && !errors.Is(err, ErrNotLicensePDF) && !errors.Is(err, ErrTooLarge) {
			t.Errorf("VisibleIdentifier: %v", err)
		}
	})
}

// FuzzCourierStrings checks that the content-stream scanner never panics
// or loops.
func FuzzCourierStrings(f *testing.F) {
	f.Add([]byte("BT /F2 8.00 Tf 10 10 Td (1.2.156\\051) Tj [(a) -3 (b)] TJ <414243> Tj ET"))
	f.Fuzz(func(t *testing.T, b []byte) {
		courierStrings(b, map[string]bool{"F2": true})
	})
}

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
