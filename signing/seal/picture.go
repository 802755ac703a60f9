package seal

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"unicode/utf8"

	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// The seal picture: a round official seal (公章) 42 mm across.
const (
	// PictureDiameterMM is the displayed size of the picture DrawPicture
	// makes: put it in Picture.WidthMM and Picture.HeightMM.
	PictureDiameterMM = 42
	// PicturePixels is the width and height of the PNG DrawPicture makes.
	PicturePixels = 600

	maxNameRunes   = 40
	maxBottomRunes = 16
	maxFontSize    = 64 << 20
)

// Geometry in millimetres, after the usual 42 mm official seal: a 1.2 to
// 1.5 mm ring, the name in characters about 6.5 mm tall, a 14 mm star.
const (
	ringOuterMM  = 20.85 // just inside the canvas so antialiasing is not cut
	ringWidthMM  = 1.4
	textGapMM    = 0.9  // between ring and name
	nameHeightMM = 6.0  // radial height of a name character
	starRadiusMM = 7.0  // circumradius of the star
	bottomYMM    = 12.4 // bottom line centre, below the seal centre
	bottomHMM    = 3.9  // bottom line character height
	bottomMaxMM  = 22.0 // widest bottom line
	maxSpanDeg   = 240.0
	stepDeg      = 30.0 // spacing of a short name
)

// inkRed is the seal colour, #E60012, laid down like ink: slightly
// translucent, with a faint grain.
var inkRed = color.NRGBA{R: 0xE6, G: 0x00, B: 0x12, A: 0xFF}

const inkOpacity = 0.88

// DrawPicture draws a round red official seal and returns it as a PNG of
// PicturePixels × PicturePixels with a transparent background, meant to be
// shown PictureDiameterMM across: a thick outer ring, name along the upper
// arc (each character turned to follow the arc, evenly spaced over up to
// 240°, reading clockwise from the lower left), a solid five-pointed star in
// the centre and, if bottomLine is not empty, bottomLine written
// horizontally under the star (e.g. 行政审批专用章). font is a TrueType font
// (the binary finds one with render.FindFont); every character must have a glyph in it. The output is
// deterministic.
func DrawPicture(name, bottomLine string, font []byte) ([]byte, error) {
	nameRunes := []rune(name)
	bottomRunes := []rune(bottomLine)
	if !utf8.ValidString(name) || !utf8.ValidString(bottomLine) {
		return nil, invalid("seal text is not valid UTF-8")
	}
	if len(nameRunes) == 0 || len(nameRunes) > maxNameRunes {
		return nil, invalid("seal name must have 1 to %d characters, got %d", maxNameRunes, len(nameRunes))
	}
	if len(bottomRunes) > maxBottomRunes {
		return nil, invalid("bottom line must have at most %d characters, got %d", maxBottomRunes, len(bottomRunes))
	}
	if len(font) == 0 || len(font) > maxFontSize {
		return nil, invalid("font must be 1 to %d bytes", maxFontSize)
	}
	f, err := sfnt.Parse(font)
	if err != nil {
		return nil, invalid("font: %v", err)
	}
	p := &painter{
		font: f,
		px:   float64(PicturePixels) / (2 * ringOuterMM),
		c:    float64(PicturePixels) / 2,
		mask: image.NewAlpha(image.Rect(0, 0, PicturePixels, PicturePixels)),
		z:    vector.NewRasterizer(PicturePixels, PicturePixels),
	}
	for _, r := range append(append([]rune{}, nameRunes...), bottomRunes...) {
		if r == ' ' {
			continue
		}
		if gi, err := f.GlyphIndex(&p.buf, r); err != nil || gi == 0 {
			return nil, invalid("the font has no glyph for %q", r)
		}
	}
	p.ring()
	p.star()
	p.emCentre()
	if err := p.arcText(nameRunes, len(bottomRunes) > 0); err != nil {
		return nil, err
	}
	if err := p.bottomText(bottomRunes); err != nil {
		return nil, err
	}
	return p.png()
}

type painter struct {
	font *sfnt.Font
	buf  sfnt.Buffer
	px   float64 // pixels per millimetre
	c    float64 // centre, in pixels, on both axes
	mask *image.Alpha
	z    *vector.Rasterizer

	// Centre of the ink of a full CJK character (国) at 1000 ppem, relative
	// to the glyph origin; glyphs are placed by it.
	inkX, inkY float64
	inkW, inkH float64
}

const ppem = 1000 // glyphs are loaded at this size and scaled here

// emCentre finds where a full-box CJK character's ink is centred, so every
// character sits in the same box whatever the font's metrics say.
func (p *painter) emCentre() {
	p.inkX, p.inkY = ppem/2, -0.38*ppem
	p.inkW, p.inkH = 0.92*ppem, 0.92*ppem
	gi, err := p.font.GlyphIndex(&p.buf, '国')
	if err != nil || gi == 0 {
		return
	}
	segs, err := p.font.LoadGlyph(&p.buf, gi, fixed.I(ppem), nil)
	if err != nil || len(segs) == 0 {
		return
	}
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, s := range segs {
		for _, pt := range s.Args[:argCount(s.Op)] {
			x, y := f26(pt.X), f26(pt.Y)
			minX, maxX = math.Min(minX, x), math.Max(maxX, x)
			minY, maxY = math.Min(minY, y), math.Max(maxY, y)
		}
	}
	if maxX-minX < 0.5*ppem || maxY-minY < 0.5*ppem {
		return
	}
	p.inkX, p.inkY = (minX+maxX)/2, (minY+maxY)/2
	p.inkW, p.inkH = maxX-minX, maxY-minY
}

// fill rasterises the path built by build onto the mask (union).
func (p *painter) fill(build func(z *vector.Rasterizer)) {
	p.z.Reset(PicturePixels, PicturePixels)
	p.z.DrawOp = draw.Over
	build(p.z)
	p.z.Draw(p.mask, p.mask.Bounds(), image.Opaque, image.Point{})
}

func (p *painter) circle(z *vector.Rasterizer, rMM float64, clockwise bool) {
	const n = 720
	r := rMM * p.px
	for i := 0; i <= n; i++ {
		a := 2 * math.Pi * float64(i) / n
		if !clockwise {
			a = -a
		}
		x, y := float32(p.c+r*math.Sin(a)), float32(p.c-r*math.Cos(a))
		if i == 0 {
			z.MoveTo(x, y)
		} else {
			z.LineTo(x, y)
		}
	}
	z.ClosePath()
}

func (p *painter) ring() {
	p.fill(func(z *vector.Rasterizer) {
		p.circle(z, ringOuterMM, true)
		p.circle(z, ringOuterMM-ringWidthMM, false)
	})
}

// star fills a five-pointed star, one point straight up.
func (p *painter) star() {
	outer := starRadiusMM * p.px
	inner := outer * math.Sin(math.Pi/10) / math.Sin(7*math.Pi/10) // points on the lines between outer points
	p.fill(func(z *vector.Rasterizer) {
		for i := 0; i < 10; i++ {
			r := outer
			if i%2 == 1 {
				r = inner
			}
			a := float64(i) * math.Pi / 5
			x, y := float32(p.c+r*math.Sin(a)), float32(p.c-r*math.Cos(a))
			if i == 0 {
				z.MoveTo(x, y)
			} else {
				z.LineTo(x, y)
			}
		}
		z.ClosePath()
	})
}

// arcText writes the name along the upper arc. Characters are narrowed
// (like the 长体 lettering of real seals) when many must share the arc.
func (p *painter) arcText(runes []rune, bottomLine bool) error {
	n := len(runes)
	textR := ringOuterMM - ringWidthMM - textGapMM - nameHeightMM/2
	maxSpan := maxSpanDeg
	if bottomLine {
		maxSpan -= 15 // leave the bottom line room
	}
	span := math.Min(maxSpan, math.Max(120, float64(n-1)*stepDeg))
	step := 0.0
	if n > 1 {
		step = span / float64(n-1) * math.Pi / 180
	}
	height := nameHeightMM
	width := height * 0.92
	if n > 1 {
		// Neighbours are closest at the characters' inner edge.
		chord := 2 * (textR - height/2) * math.Sin(step/2)
		width = math.Min(width, chord*0.84)
	}
	if width < height*0.55 { // too many characters: shrink them too
		height = width / 0.55
	}
	start := -span / 2 * math.Pi / 180
	for i, r := range runes {
		theta := start + float64(i)*step
		if n == 1 {
			theta = 0
		}
		// The character's centre, nudged so a shorter character still
		// hugs the ring.
		rc := textR + (nameHeightMM-height)/2
		cx := p.c + rc*p.px*math.Sin(theta)
		cy := p.c - rc*p.px*math.Cos(theta)
		if err := p.glyph(r, cx, cy, width, height, theta); err != nil {
			return err
		}
	}
	return nil
}

// bottomText writes the bottom line horizontally under the star.
func (p *painter) bottomText(runes []rune) error {
	n := len(runes)
	if n == 0 {
		return nil
	}
	height := bottomHMM
	width := height * 0.8
	gap := height * 0.12
	if total := float64(n)*width + float64(n-1)*gap; total > bottomMaxMM {
		scale := bottomMaxMM / total
		width *= scale
		gap *= scale
	}
	left := -(float64(n)*width + float64(n-1)*gap) / 2
	for i, r := range runes {
		xmm := left + width/2 + float64(i)*(width+gap)
		if err := p.glyph(r, p.c+xmm*p.px, p.c+bottomYMM*p.px, width, height, 0); err != nil {
			return err
		}
	}
	return nil
}

// glyph draws rune r with its em box centred on (cx, cy) pixels, scaled to
// widthMM × heightMM and turned by theta radians clockwise (its top towards
// the outside of the seal).
func (p *painter) glyph(r rune, cx, cy, widthMM, heightMM, theta float64) error {
	if r == ' ' {
		return nil
	}
	gi, err := p.font.GlyphIndex(&p.buf, r)
	if err != nil || gi == 0 {
		return invalid("the font has no glyph for %q", r)
	}
	segs, err := p.font.LoadGlyph(&p.buf, gi, fixed.I(ppem), nil)
	if err != nil {
		return invalid("glyph %q: %v", r, err)
	}
	ox, oy := p.inkX, p.inkY
	sx := widthMM * p.px / p.inkW
	sy := heightMM * p.px / p.inkH
	sin, cos := math.Sin(theta), math.Cos(theta)
	tr := func(pt fixed.Point26_6) (float32, float32) {
		x := (f26(pt.X) - ox) * sx
		y := (f26(pt.Y) - oy) * sy
		return float32(cx + x*cos - y*sin), float32(cy + x*sin + y*cos)
	}
	// Draw the outline a few times, offset by a fraction of a pixel, to give
	// the thin Song strokes the weight of carved lettering.
	off := 0.011 * heightMM * p.px
	for _, d := range [][2]float64{{0, 0}, {off, 0}, {-off, 0}, {0, off}, {0, -off}} {
		p.fill(func(z *vector.Rasterizer) {
			for _, s := range segs {
				a := make([]float32, 0, 6)
				for _, pt := range s.Args[:argCount(s.Op)] {
					x, y := tr(pt)
					a = append(a, x+float32(d[0]), y+float32(d[1]))
				}
				switch s.Op {
				case sfnt.SegmentOpMoveTo:
					z.ClosePath()
					z.MoveTo(a[0], a[1])
				case sfnt.SegmentOpLineTo:
					z.LineTo(a[0], a[1])
				case sfnt.SegmentOpQuadTo:
					z.QuadTo(a[0], a[1], a[2], a[3])
				case sfnt.SegmentOpCubeTo:
					z.CubeTo(a[0], a[1], a[2], a[3], a[4], a[5])
				}
			}
			z.ClosePath()
		})
	}
	return nil
}

func argCount(op sfnt.SegmentOp) int {
	switch op {
	case sfnt.SegmentOpQuadTo:
		return 2
	case sfnt.SegmentOpCubeTo:
		return 3
	}
	return 1
}

func f26(v fixed.Int26_6) float64 { return float64(v) / 64 }

// inkLevels is how many alpha levels of the ink the picture's palette has:
// enough for smooth anti-aliased edges, and a paletted PNG is a tenth of the
// size of an RGBA one. The picture is carried in every sealed license (the
// seal travels inside each SES_Signature), so its size counts.
const inkLevels = 64

// grainCell is the size in pixels of one cell of the ink grain: a grain per
// pixel would be noise that no PNG compresses.
const grainCell = 5

// png colours the mask with ink and encodes it.
func (p *painter) png() ([]byte, error) {
	palette := make(color.Palette, inkLevels)
	for i := range palette {
		c := inkRed
		c.A = uint8(i * 255 / (inkLevels - 1))
		palette[i] = c
	}
	img := image.NewPaletted(p.mask.Bounds(), palette)
	for y := 0; y < PicturePixels; y++ {
		for x := 0; x < PicturePixels; x++ {
			a := p.mask.AlphaAt(x, y).A
			if a == 0 {
				continue
			}
			// A faint, fixed ink grain, the same for every pixel of a cell.
			seed := uint32(x/grainCell)*0x9E3779B1 ^ uint32(y/grainCell)*0x85EBCA77
			seed ^= seed >> 15
			seed *= 0x2C1B3C6D
			seed ^= seed >> 12
			grain := 0.92 + 0.08*float64(seed&0xFF)/255
			alpha := float64(a) * inkOpacity * grain
			img.Pix[y*img.Stride+x] = uint8(math.Round(alpha * (inkLevels - 1) / 255))
		}
	}
	var out bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, img); err != nil {
		return nil, fmt.Errorf("seal: encode picture: %w", err)
	}
	return out.Bytes(), nil
}
