package verifier

import (
	"testing"

	"zhengzhao/internal/limits"
)

// FuzzCourierStrings checks that the content-stream scanner never panics
// or loops.
func FuzzCourierStrings(f *testing.F) {
	f.Add([]byte("BT /F2 8.00 Tf 10 10 Td (1.2.156\\051) Tj [(a) -3 (b)] TJ <414243> Tj ET"))
	f.Fuzz(func(t *testing.T, b []byte) {
		courierStrings(b, map[string]bool{"F2": true})
	})
}

// FuzzFaceContent checks that the face reader never panics or loops on
// any content stream, and stays within its operator budget.
func FuzzFaceContent(f *testing.F) {
	f.Add([]byte("q 0.078 g BT /F1 12.5 Tf 73.7 646.6 Td <957f6c99> Tj ET Q 1 0 0 1 5 5 cm 0 0 10 10 re f /Fm0 Do"))
	f.Add([]byte("BT [(a) -3 (b)] TJ T* (c) ' 1 2 (d) \" ET /P <</MCID 0>> BDC EMC BI /W 1 ID x EI"))
	f.Fuzz(func(t *testing.T, b []byte) {
		seq, ops := 0, 0
		p := &pageReader{pf: &printedFace{}, page: 1, seq: &seq, ops: &ops, media: rect{0, 0, 595, 842}}
		_ = p.run(b)
		if ops > limits.PDFContentOps+1 {
			t.Fatalf("%d operators read", ops)
		}
	})
}

// FuzzPDFBudget checks that the budget scan never panics or loops, and
// that what it lets through stays within the inflation limit.
func FuzzPDFBudget(f *testing.F) {
	f.Add([]byte("%PDF-1.4\n1 0 obj<</Length 5/Filter/FlateDecode>>stream\nx\x9c\x03\x00\x00\x00\x00\x01\nendstream endobj\n%%EOF"))
	f.Add([]byte("1 0 obj <</Type/ObjStm/N 3/First 9>> stream\r\n1 0 2 3 4 5\nendstream"))
	f.Add([]byte("<</Filter[/ASCIIHexDecode/FlateDecode]>>stream\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = pdfBudget(b)
	})
}
