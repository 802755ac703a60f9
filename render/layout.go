package render

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
	"unicode/utf8"

	"codeberg.org/go-pdf/fpdf"
	xdraw "golang.org/x/image/draw"

	"zhengzhao/license"
)

// formLine is one printed line of the form: a label and value, and in
// two-column rows a second label and value on the right.
type formLine struct {
	label, value   string
	label2, value2 string
	half           bool    // drawn in the half-column grid
	first          bool    // first line of its row
	gapAb          float64 // space above (between rows)
}

// formPlan is the form laid out at one font size.
type formPlan struct {
	size, lineH float64
	labelW      float64 // label column of full-width rows
	halfLabelW  float64 // label column of each half of two-column rows
	spreadW     float64 // short labels are letter-spaced to this width
	lines       []formLine
	height      float64
}

const (
	colGap        = 8.0 // between the halves of a two-column row
	halfW         = (formR - formL - colGap) / 2
	maxHalfLabelW = 34.0
)

// formLayouts are the layouts tried, best first; the first that fits above
// the bottom block wins. Two columns pair consecutive short rows, as on
// forms such as 出生医学证明. Past the last, the form continues on further
// pages.
var formLayouts = []struct {
	size   float64
	twoCol bool
}{
	{12.5, false}, {12, false}, {11.5, false}, {11, false},
	{12, true}, {11.5, true}, {11, true}, {10.5, true}, {10, true}, {9.5, true}, {9, true},
}

func (d *doc) planForm(rows []row, size float64, twoCol bool) formPlan {
	d.setFont(size)
	pl := formPlan{size: size, lineH: size * ptMM * 1.5}
	rowGap := size * ptMM * 0.55
	for _, r := range rows {
		w := d.width(r.label)
		pl.labelW = max(pl.labelW, w)
		if utf8.RuneCountInString(r.label) <= 5 {
			pl.spreadW = max(pl.spreadW, w)
		}
	}
	pl.labelW = min(pl.labelW, maxLabelW)
	valueW := formR - formL - pl.labelW - labelGap

	// short reports whether row i fits one line of a half column.
	short := func(i int) bool { return false }
	if twoCol {
		for _, r := range rows {
			if w := d.width(r.label); w <= maxHalfLabelW {
				pl.halfLabelW = max(pl.halfLabelW, w)
			}
		}
		short = func(i int) bool {
			r := rows[i]
			return !strings.Contains(r.value, "\n") && d.width(r.label) <= pl.halfLabelW &&
				d.width(r.value) <= halfW-pl.halfLabelW-labelGap
		}
	}
	for i := 0; i < len(rows); i++ {
		gap := 0.0
		if i > 0 {
			gap = rowGap
		}
		if i+1 < len(rows) && short(i) && short(i+1) {
			pl.lines = append(pl.lines, formLine{
				label: rows[i].label, value: rows[i].value,
				label2: rows[i+1].label, value2: rows[i+1].value,
				half: true, first: true, gapAb: gap,
			})
			pl.height += gap + pl.lineH
			i++
			continue
		}
		if short(i) { // keep a lone short row on the half-column grid
			pl.lines = append(pl.lines, formLine{label: rows[i].label, value: rows[i].value, half: true, first: true, gapAb: gap})
			pl.height += gap + pl.lineH
			continue
		}
		ls := wrap(rows[i].label, pl.labelW, d.runeWidth)
		vs := wrap(rows[i].value, valueW, d.runeWidth)
		for j := range max(len(ls), len(vs)) {
			fl := formLine{first: j == 0}
			if j < len(ls) {
				fl.label = ls[j]
			}
			if j < len(vs) {
				fl.value = vs[j]
			}
			if j == 0 {
				fl.gapAb = gap
			}
			pl.lines = append(pl.lines, fl)
			pl.height += fl.gapAb + pl.lineH
		}
	}
	return pl
}

// layout draws every page of the face.
func (d *doc) layout(fc face, seal []byte, code *qrCode) {
	d.newPage()
	top := d.header(fc)
	var pl formPlan
	for _, l := range formLayouts {
		pl = d.planForm(fc.rows, l.size, l.twoCol)
		if top+pl.height <= blockTop {
			break
		}
	}
	// Spread the rows out when there is room, as on paper licenses.
	rowStarts := 0
	for _, l := range pl.lines[1:] {
		if l.first {
			rowStarts++
		}
	}
	extra := 0.0
	if room := blockTop - 8 - top - pl.height; room > 0 && rowStarts > 0 {
		extra = min(room/float64(rowStarts), pl.lineH*0.5)
	}
	d.setFont(pl.size)
	d.color(textRGB)
	sizeMM := pl.size * ptMM
	label := func(x, base, w float64, s string, first bool) {
		if first && d.width(s) <= pl.spreadW && utf8.RuneCountInString(s) <= 5 && pl.spreadW <= w {
			d.spread(x, base, pl.spreadW, s)
		} else {
			d.text(x, base, s)
		}
	}
	// Labels are drawn after their row's values, so that text extraction
	// keeps each value in one piece.
	var labels []func()
	flushLabels := func() {
		for _, f := range labels {
			f()
		}
		labels = labels[:0]
	}
	y := top
	for i, l := range pl.lines {
		if i > 0 && l.first {
			l.gapAb += extra
			flushLabels()
		}
		if y+l.gapAb+pl.lineH > flowBottom {
			flushLabels()
			d.newPage()
			d.setFont(9)
			d.color(greyRGB)
			d.centred(pageW/2, 24, license.FaceContinued)
			d.setFont(pl.size)
			d.color(textRGB)
			y, l.gapAb = contTop, 0
		}
		y += l.gapAb
		base := y + (pl.lineH-sizeMM)/2 + 0.86*sizeMM
		if l.half {
			x2 := formL + halfW + colGap
			d.text(formL+pl.halfLabelW+labelGap, base, l.value)
			label(formL, base, pl.halfLabelW, l.label, true)
			if l.label2 != "" {
				d.text(x2+pl.halfLabelW+labelGap, base, l.value2)
				label(x2, base, pl.halfLabelW, l.label2, true)
			}
		} else {
			d.text(formL+pl.labelW+labelGap, base, l.value)
			if l.label != "" {
				labels = append(labels, func() { label(formL, base, pl.labelW, l.label, l.first) })
			}
		}
		y += pl.lineH
	}
	flushLabels()
	if y > blockTop {
		d.newPage()
	}
	d.bottom(fc, seal, code)
}

// newPage adds a page with the license frame.
func (d *doc) newPage() {
	d.p.AddPage()
	d.frame()
}

// frame draws the double red-brown border with a fret (回纹) band and
// corner blocks, after the frames of printed Chinese licenses.
func (d *doc) frame() {
	p := d.p
	p.SetDrawColor(frameRGB[0], frameRGB[1], frameRGB[2])
	p.SetFillColor(frameRGB[0], frameRGB[1], frameRGB[2])
	const outer, bandIn, bandOut, inner = 7.0, 9.0, 13.4, 14.3
	p.SetLineWidth(1.0)
	p.Rect(outer, outer, pageW-2*outer, pageH-2*outer, "D")
	p.SetLineWidth(0.25)
	p.Rect(bandIn, bandIn, pageW-2*bandIn, pageH-2*bandIn, "D")
	p.Rect(bandOut, bandOut, pageW-2*bandOut, pageH-2*bandOut, "D")
	p.SetLineWidth(0.5)
	p.Rect(inner, inner, pageW-2*inner, pageH-2*inner, "D")

	mid := (bandIn + bandOut) / 2
	motif := func(cx, cy float64) {
		p.SetLineWidth(0.22)
		p.Rect(cx-1.35, cy-1.35, 2.7, 2.7, "D")
		p.Rect(cx-0.55, cy-0.55, 1.1, 1.1, "F")
	}
	along := func(from, to float64, at func(c float64)) {
		n := math.Floor((to - from) / 4.2)
		step := (to - from) / n
		for i := 0.0; i < n; i++ {
			at(from + step*(i+0.5))
		}
	}
	along(bandOut, pageW-bandOut, func(c float64) { motif(c, mid); motif(c, pageH-mid) })
	along(bandOut, pageH-bandOut, func(c float64) { motif(mid, c); motif(pageW-mid, c) })
	for _, c := range [][2]float64{{mid, mid}, {pageW - mid, mid}, {mid, pageH - mid}, {pageW - mid, pageH - mid}} {
		p.Rect(c[0]-2.2, c[1]-2.2, 4.4, 4.4, "F")
		p.SetFillColor(255, 255, 255)
		p.Rect(c[0]-1.1, c[1]-1.1, 2.2, 2.2, "F")
		p.SetFillColor(frameRGB[0], frameRGB[1], frameRGB[2])
	}
}

// header draws the code and number lines and the title; it returns the top
// of the form.
func (d *doc) header(fc face) float64 {
	d.color(textRGB)
	if fc.topCode.label != "" {
		d.setFont(10.5)
		d.text(formL, 25, fc.topCode.label)
		d.setFont(12.5)
		d.text(formL, 31, fc.topCode.value)
	}
	if fc.number != "" {
		d.setFont(10.5)
		s := license.FaceNumberPrefix + fc.number
		d.text(formR-d.width(s), 25, s)
	}
	if fc.version != "" {
		// Which version this is: a change or a renewal makes 002, 003, …
		d.setFont(10.5)
		s := license.FaceVersionPrefix + fc.version
		d.text(formR-d.width(s), 30.5, s)
	}
	n := utf8.RuneCountInString(fc.title)
	size := 30.0
	if n > 6 {
		size = 26
	}
	d.setFont(size)
	em := size * ptMM
	w := d.width(fc.title)
	switch {
	case n <= 4:
		w += float64(n-1) * em
	case n <= 6:
		w += float64(n-1) * em * 0.5
	default:
		w += float64(n-1) * em * 0.15
	}
	w = min(w, formR-formL)
	if d.width(fc.title) > w { // a very long name: shrink to fit
		d.setFont(size * w / d.width(fc.title))
	}
	d.spread(pageW/2-w/2, 52, w, fc.title)
	return 64
}

// bottom draws the QR code, the issuing authority with the date and the
// seal over them, the identifier and the footer.
func (d *doc) bottom(fc face, seal []byte, code *qrCode) {
	p := d.p
	d.qr(code, qrX, qrY, qrSize)
	d.setFont(10)
	d.color(textRGB)
	d.centred(qrX+qrSize/2, qrY+qrSize+5, license.FaceScanHint)

	d.setFont(12.5)
	lh := 12.5 * ptMM * 1.5
	lines := wrap(fc.issuer, 64, d.runeWidth)
	y := 238.0
	d.setFont(10.5)
	d.color(greyRGB)
	d.text(issuerCX-34-d.width(fc.issuerLabel)-3, y, fc.issuerLabel)
	d.setFont(12.5)
	d.color(textRGB)
	first := y
	for _, l := range lines {
		d.centred(issuerCX, y, l)
		y += lh
	}
	y += 1.5
	d.centred(issuerCX, y, fc.date)
	cy := (first-4+y)/2 - 0.5
	d.seal(seal, issuerCX, cy)

	// The identifier in Courier: plain ASCII in the content stream, so
	// VisibleIdentifier can read it back.
	d.setFont(8)
	d.color(greyRGB)
	label := license.FaceIdentifierLabel
	lw := d.width(label)
	cs := 8.0
	p.SetFont("Courier", "", cs)
	iw := p.GetStringWidth(fc.identifier)
	if maxW := formR - formL + 12 - lw; iw > maxW {
		cs = cs * maxW / iw
		p.SetFont("Courier", "", cs)
		iw = p.GetStringWidth(fc.identifier)
	}
	x := pageW/2 - (lw+iw)/2
	d.setFont(8)
	d.text(x, idBaseline, label)
	p.SetFont("Courier", "", cs)
	p.SetTextColor(textRGB[0], textRGB[1], textRGB[2])
	p.Text(x+lw, idBaseline, fc.identifier)

	d.setFont(9)
	d.color(greyRGB)
	d.centred(pageW/2, footBaseline, Footer)
}

// seal prints the seal picture centred on (cx, cy), or a placeholder.
func (d *doc) seal(img []byte, cx, cy float64) {
	p := d.p
	if img == nil {
		p.SetDrawColor(greyRGB[0], greyRGB[1], greyRGB[2])
		p.SetLineWidth(0.3)
		p.SetDashPattern([]float64{1.5, 1.2}, 0)
		p.Circle(cx, cy, sealSize/2, "D")
		p.SetDashPattern(nil, 0)
		d.setFont(9)
		d.color(greyRGB)
		d.centred(cx, cy+sealSize/2-5, license.FaceUnsealed)
		return
	}
	opt := fpdf.ImageOptions{ImageType: "PNG"}
	info := p.RegisterImageOptionsReader("seal", opt, bytes.NewReader(img))
	if err := p.Error(); err != nil || info == nil {
		d.err = fmt.Errorf("%w: seal picture: %v", ErrInvalidInput, err)
		return
	}
	h := sealSize * info.Height() / info.Width()
	// Multiply, as ink does: white paper leaves the page as it is, the red
	// darkens the text under it, which shows through.
	p.SetAlpha(1, "Multiply")
	p.ImageOptions("seal", cx-sealSize/2, cy-h/2, sealSize, h, false, opt, 0, "")
	p.SetAlpha(1, "Normal")
}

// prepareSeal decodes a seal picture (any PNG) and re-encodes it, once per
// seal, as fpdf embeds it without work: at most sealPixels wide, without
// alpha, deflated, and paletted, so its data is as small as the alpha plane
// alone. fpdf copies such a PNG's data into the PDF as it is; given an
// alpha channel it would inflate the picture, split off the alpha and
// deflate both again for every PDF (a quarter of the rendering time).
//
// A seal is ink of one colour: the palette holds sealLevels shades from
// white to that ink (the picture's colour, weighted by opacity), each pixel
// the shade of its opacity. The picture is drawn with the Multiply blend
// mode (seal), so white leaves the page as it is and the text under the
// ink shows through, as with the alpha.
func prepareSeal(img []byte) ([]byte, error) {
	const sig = "\x89PNG\r\n\x1a\n"
	if len(img) < 33 || string(img[:8]) != sig || string(img[12:16]) != "IHDR" {
		return nil, fmt.Errorf("not a PNG")
	}
	w, h := binary.BigEndian.Uint32(img[16:]), binary.BigEndian.Uint32(img[20:])
	if w == 0 || h == 0 || w > 4096 || h > 4096 {
		return nil, fmt.Errorf("%d×%d pixels, want 1 to 4096 a side", w, h)
	}
	src, err := png.Decode(bytes.NewReader(img))
	if err != nil {
		return nil, err
	}
	b := src.Bounds()
	dw, dh := b.Dx(), b.Dy()
	if dw > sealPixels {
		dw, dh = sealPixels, max(1, dh*sealPixels/dw)
	}
	sc := image.NewNRGBA(image.Rect(0, 0, dw, dh))
	xdraw.CatmullRom.Scale(sc, sc.Bounds(), src, b, xdraw.Src, nil)

	var sum [3]float64 // the ink: colour weighted by opacity
	var weight float64
	for i := 0; i < len(sc.Pix); i += 4 {
		a := float64(sc.Pix[i+3])
		for c := range sum {
			sum[c] += a * float64(sc.Pix[i+c])
		}
		weight += a
	}
	ink := [3]float64{255, 255, 255}
	if weight > 0 {
		for c := range ink {
			ink[c] = sum[c] / weight
		}
	}
	pal := make(color.Palette, sealLevels)
	for k := range pal {
		t := float64(k) / (sealLevels - 1)
		shade := func(c int) uint8 { return uint8(255*(1-t) + ink[c]*t + 0.5) }
		pal[k] = color.RGBA{shade(0), shade(1), shade(2), 255}
	}
	dst := image.NewPaletted(sc.Bounds(), pal)
	for i := range dst.Pix {
		dst.Pix[i] = uint8((int(sc.Pix[4*i+3])*(sealLevels-1) + 127) / 255)
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, dst); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// sealLevels is how many shades between paper and ink a seal is drawn in.
const sealLevels = 64

// qr draws code as filled rectangles, one per run of dark modules in a row.
func (d *doc) qr(code *qrCode, x, y, size float64) {
	p := d.p
	n := code.n
	m := size / float64(n)
	p.SetFillColor(0, 0, 0)
	dark := code.at
	for r := range n {
		for c := 0; c < n; {
			if !dark(c, r) {
				c++
				continue
			}
			start := c
			for c < n && dark(c, r) {
				c++
			}
			// A hair of overlap so no light seams show between rows.
			p.Rect(x+float64(start)*m, y+float64(r)*m, float64(c-start)*m, m+0.02, "F")
		}
	}
}
