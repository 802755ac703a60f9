package verifier

import (
	"math"
	"slices"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// The QR code on a license face is drawn as dark rectangles, one per run
// of dark modules in a row (render's qr). printedQR puts them back on a
// module grid and reads the code, so the face check can tell that the QR
// code printed is the credential's and not another license's.

// maxQRModules bounds the grid rebuilt from the rectangles (a version 40
// QR code is 177 modules a side).
const maxQRModules = 177

// printedQR returns the text of the QR code drawn on page, or "" when its
// rectangles do not make a readable QR code.
func printedQR(marks []mark, page int) string {
	var rs []rect
	for _, m := range marks {
		if m.module && m.page == page {
			rs = append(rs, m.box)
		}
	}
	if len(rs) < 20 {
		return ""
	}
	// The module is the narrowest rectangle: every QR code has a lone dark
	// module in some row.
	box := bounds()
	widths := make([]float64, 0, len(rs))
	for _, r := range rs {
		box = rect{min(box.x0, r.x0), min(box.y0, r.y0), max(box.x1, r.x1), max(box.y1, r.y1)}
		widths = append(widths, r.x1-r.x0)
	}
	slices.Sort(widths)
	m := widths[0]
	if m <= 0 {
		return ""
	}
	n := int(math.Round((box.x1 - box.x0) / m))
	if n < 21 || n > maxQRModules || math.Abs(float64(n)*m-(box.x1-box.x0)) > m/2 {
		return ""
	}
	bits, err := gozxing.NewSquareBitMatrix(n)
	if err != nil {
		return ""
	}
	for _, r := range rs {
		c0 := int(math.Round((r.x0 - box.x0) / m))
		c1 := int(math.Round((r.x1 - box.x0) / m))
		row := int((box.y1 - (r.y0+r.y1)/2) / m) // PDF y grows upwards
		if row < 0 || row >= n {
			continue
		}
		for c := max(c0, 0); c < min(c1, n); c++ {
			bits.Set(c, row)
		}
	}
	// The grid is exact, so the decoder reads it directly: no picture, no
	// finder-pattern detection.
	res, err := decoder.NewDecoder().Decode(bits, nil)
	if err != nil {
		return ""
	}
	return res.GetText()
}
