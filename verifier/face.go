package verifier

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"zhengzhao/credential"
	"zhengzhao/internal/limits"
	"zhengzhao/license"
)

// The face check reads every printed field back from the page content and
// compares it with the credential (license.NewFace is what the renderer
// prints), and refuses anything drawn that the renderer does not draw:
// text outside its layout, form XObjects (how stamping and watermarking
// tools draw), annotations, a second picture, fills over text, clipping,
// hidden or transparent text, and an incremental update appended to the
// file. Each failure names the field it touches.

// Codes of a failed face check (Check.Code).
const (
	FaceMismatch    = "face_mismatch"    // a field is printed with another value than the credential's
	FaceExtraText   = "face_extra_text"  // text the renderer does not print
	FaceOverlay     = "face_overlay"     // something drawn over a field: a stamp, a watermark, an annotation, a fill, a picture
	FaceHidden      = "face_hidden"      // a field drawn invisible, white, transparent, tiny or off the page
	FaceLayout      = "face_layout"      // a value not on its label's line
	FaceIncremental = "face_incremental" // an update appended after the original file
	FaceUnreadable  = "face_unreadable"  // the page content cannot be read
)

// FaceError is a failed face check: a stable code (FaceMismatch, …), the
// field it names (as license.FaceRow.Field, empty for the page as a whole),
// the field's Chinese label and a Chinese reason for window staff.
type FaceError struct {
	Code, Field, Label, Reason string
}

// Error returns the reason and the code.
func (e *FaceError) Error() string { return "face: " + e.Reason + " (" + e.Code + ")" }

// CheckFace reads the face of a license PDF and compares it with f, the
// face license.NewFace makes for the credential it should show: every
// printed field must read back as f has it, and nothing the renderer does
// not draw may be on the page. It returns nil, a *FaceError naming the
// field, or (for a PDF that cannot be read or is over a limit)
// ErrNotLicensePDF or ErrTooLarge.
func CheckFace(pdf []byte, f license.Face) (err error) {
	defer recoverMalformed(&err)
	ctx, err := readPDF(pdf)
	if err != nil {
		return err
	}
	pf, err := readFace(ctx, pdf)
	if err != nil {
		return err
	}
	if fe := pf.compare(f); fe != nil {
		return fe
	}
	return nil
}

type rect struct{ x0, y0, x1, y1 float64 }

func (r rect) overlaps(o rect) bool {
	return r.x0 < o.x1 && o.x0 < r.x1 && r.y0 < o.y1 && o.y0 < r.y1
}

// inside reports whether r lies within o, give or take a point.
func inside(r, o rect) bool {
	return r.x0 >= o.x0-1 && r.y0 >= o.y0-1 && r.x1 <= o.x1+1 && r.y1 <= o.y1+1
}

func (r rect) String() string { return fmt.Sprintf("(%.0f, %.0f)", r.x0, r.y0) }

// textRun is one string shown (Tj, TJ, ', ").
type textRun struct {
	page    int
	seq     int     // draw order in the document
	x, y    float64 // start of the baseline, in points
	size    float64 // effective font size, in points
	box     rect
	text    string
	courier bool
	hidden  string // why a reader would not see it, or ""
}

// mark is something drawn that is not text.
type mark struct {
	page    int
	seq     int
	kind    string // Chinese: 图片, 表单对象（印章/水印）, 注释, 填充图形, 线条, 裁剪路径, …
	foreign bool   // never drawn by the renderer
	cover   bool   // paints its whole box (fills, pictures), not only its outline
	box     rect
	segs    []rect // the segments of a stroked path
	module  bool   // a dark rectangle: a module of the printed QR code
}

// printedFace is what the pages of a PDF draw.
type printedFace struct {
	runs     []textRun
	marks    []mark
	appended bool
}

// readFace reads the page contents of a PDF already read, within
// limits.PDFPages pages and limits.PDFContentOps operators.
func readFace(ctx *model.Context, pdf []byte) (*printedFace, error) {
	pf := &printedFace{appended: bytes.Count(pdf, []byte("startxref")) > 1}
	if err := ctx.EnsurePageCount(); err != nil {
		return nil, notLicensePDF("PDF 的页面无法读取", "page tree: %v", err)
	}
	ops := 0
	seq := 0
	for pg := 1; pg <= min(ctx.PageCount, maxPages); pg++ {
		d, _, inh, err := ctx.PageDict(pg, false)
		if err != nil {
			return nil, notLicensePDF(fmt.Sprintf("第 %d 页无法读取", pg), "page %d: %v", pg, err)
		}
		p := &pageReader{ctx: ctx, pf: pf, page: pg, seq: &seq, ops: &ops}
		p.resources(d, inh)
		p.annotations(d)
		content, err := ctx.PageContent(d, pg)
		if err != nil {
			continue // a page without content
		}
		if err := p.run(content); err != nil {
			return nil, err
		}
	}
	return pf, nil
}

// pageReader interprets one page's content stream.
type pageReader struct {
	ctx   *model.Context
	pf    *printedFace
	page  int
	seq   *int
	ops   *int
	media rect

	fonts  map[string]pdfFont
	xobjs  map[string]xobject
	states map[string]bool // ExtGState names that make drawing transparent

	gs    gstate
	stack []gstate
	tm    matrix // text matrix
	tlm   matrix // text line matrix
	path  []point
	segs  []rect
	last  point
	rects int    // re operators in the current path
	base  matrix // the CTM the content starts with: a form's matrix
	depth int    // forms within forms
}

type pdfFont struct{ twoByte, courier, type3 bool }

type xobject struct {
	sd   *types.StreamDict // a form's
	form bool
	bbox rect
	mat  matrix
}

type gstate struct {
	ctm            matrix
	font           pdfFont
	size           float64
	light, dark    bool // fill colour near white, near black
	transparent    bool
	tr             int
	tz, tl, tc, tw float64
}

type matrix [6]float64

var identity = matrix{1, 0, 0, 1, 0, 0}

func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[1]*n[2], m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2], m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4], m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

type point struct{ x, y float64 }

func (m matrix) apply(x, y float64) point {
	return point{x*m[0] + y*m[2] + m[4], x*m[1] + y*m[3] + m[5]}
}

// boxOf is the bounding box of the rectangle (x0,y0)-(x1,y1) under m.
func (m matrix) boxOf(x0, y0, x1, y1 float64) rect {
	return bounds(m.apply(x0, y0), m.apply(x1, y0), m.apply(x0, y1), m.apply(x1, y1))
}

func bounds(ps ...point) rect {
	r := rect{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, p := range ps {
		r.x0, r.y0 = min(r.x0, p.x), min(r.y0, p.y)
		r.x1, r.y1 = max(r.x1, p.x), max(r.y1, p.y)
	}
	return r
}

func (p *pageReader) resources(page types.Dict, inh *model.InheritedPageAttrs) {
	p.fonts, p.xobjs, p.states = map[string]pdfFont{}, map[string]xobject{}, map[string]bool{}
	p.media = rect{0, 0, 595.28, 841.89}
	if inh != nil && inh.MediaBox != nil {
		r := inh.MediaBox
		p.media = rect{r.LL.X, r.LL.Y, r.UR.X, r.UR.Y}
	}
	if a := p.array(page, "MediaBox"); len(a) == 4 {
		p.media = p.rectOf(a)
	}
	// What a viewer shows is the crop box: a field cropped off is hidden.
	crop := p.media
	if inh != nil && inh.CropBox != nil {
		r := inh.CropBox
		crop = rect{r.LL.X, r.LL.Y, r.UR.X, r.UR.Y}
	}
	if a := p.array(page, "CropBox"); len(a) == 4 {
		crop = p.rectOf(a)
	}
	p.media = rect{max(p.media.x0, crop.x0), max(p.media.y0, crop.y0), min(p.media.x1, crop.x1), min(p.media.y1, crop.y1)}
	var res types.Dict
	if o, ok := page.Find("Resources"); ok {
		res, _ = p.ctx.DereferenceDict(o)
	}
	if res == nil && inh != nil {
		res = inh.Resources
	}
	p.loadResources(res)
}

// loadResources reads the fonts, XObjects and graphics states of res.
func (p *pageReader) loadResources(res types.Dict) {
	p.fonts, p.xobjs, p.states = map[string]pdfFont{}, map[string]xobject{}, map[string]bool{}
	if res == nil {
		return
	}
	for name, o := range p.dict(res, "Font") {
		fd, err := p.ctx.DereferenceDict(o)
		if err != nil || fd == nil {
			continue
		}
		var f pdfFont
		st := fd.NameEntry("Subtype")
		if st != nil && *st == "Type0" {
			f.twoByte = true
		}
		// The identifier is drawn in the standard Courier, which is never
		// embedded: a "Courier" with glyphs of its own is not it.
		if base := fd.NameEntry("BaseFont"); base != nil && *base == "Courier" {
			_, embedded := fd.Find("FontDescriptor")
			f.courier = !embedded
		}
		// Type3 glyphs are drawings of any shape: the renderer uses none.
		f.type3 = st != nil && *st == "Type3"
		p.fonts[name] = f
	}
	for name, o := range p.dict(res, "XObject") {
		sd, _, err := p.ctx.DereferenceStreamDict(o)
		if err != nil || sd == nil {
			p.xobjs[name] = xobject{form: true, bbox: p.media, mat: identity}
			continue
		}
		x := xobject{mat: identity}
		if st := sd.NameEntry("Subtype"); st == nil || *st != "Image" {
			x.form, x.sd = true, sd
			x.bbox = p.media
			if a := p.array(sd.Dict, "BBox"); len(a) == 4 {
				x.bbox = p.rectOf(a)
			}
			if a := p.array(sd.Dict, "Matrix"); len(a) == 6 {
				for i := range 6 {
					x.mat[i] = p.number(a[i])
				}
			}
		}
		p.xobjs[name] = x
	}
	for name, o := range p.dict(res, "ExtGState") {
		gd, err := p.ctx.DereferenceDict(o)
		if err != nil || gd == nil {
			p.states[name] = true
			continue
		}
		transparent := false
		for _, k := range []string{"ca", "CA"} {
			if v, ok := gd.Find(k); ok && p.number(v) < 0.99 {
				transparent = true
			}
		}
		if v, ok := gd.Find("SMask"); ok {
			if n, isName := v.(types.Name); !isName || n != "None" {
				transparent = true
			}
		}
		if bm := gd.NameEntry("BM"); bm != nil && *bm != "Normal" && *bm != "Compatible" && *bm != "Multiply" {
			transparent = true
		}
		p.states[name] = transparent
	}
}

func (p *pageReader) dict(d types.Dict, key string) types.Dict {
	o, ok := d.Find(key)
	if !ok {
		return nil
	}
	out, _ := p.ctx.DereferenceDict(o)
	return out
}

func (p *pageReader) array(d types.Dict, key string) types.Array {
	o, ok := d.Find(key)
	if !ok {
		return nil
	}
	a, _ := p.ctx.DereferenceArray(o)
	return a
}

func (p *pageReader) number(o types.Object) float64 {
	f, err := p.ctx.DereferenceNumber(o)
	if err != nil {
		return math.NaN()
	}
	return f
}

func (p *pageReader) rectOf(a types.Array) rect {
	x0, y0, x1, y1 := p.number(a[0]), p.number(a[1]), p.number(a[2]), p.number(a[3])
	return rect{min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)}
}

// annotations records every annotation of the page: the renderer makes
// none, and a viewer draws them over the page.
func (p *pageReader) annotations(page types.Dict) {
	for _, o := range p.array(page, "Annots") {
		box := p.media
		if ad, err := p.ctx.DereferenceDict(o); err == nil && ad != nil {
			if a := p.array(ad, "Rect"); len(a) == 4 {
				box = p.rectOf(a)
			}
		}
		p.pf.marks = append(p.pf.marks, mark{page: p.page, seq: p.next(), kind: "注释", foreign: true, cover: true, box: box})
	}
}

func (p *pageReader) next() int {
	*p.seq++
	return *p.seq
}

func (p *pageReader) foreign(kind string, box rect) {
	p.pf.marks = append(p.pf.marks, mark{page: p.page, seq: p.next(), kind: kind, foreign: true, cover: true, box: box})
}

// operand is one operand of a content-stream operator.
type operand struct {
	num   float64
	isNum bool
	str   string // a string's bytes, or a name with its slash
	isStr bool
	arr   []operand
}

func (p *pageReader) run(content []byte) error {
	if p.base == (matrix{}) {
		p.base = identity
	}
	p.gs = gstate{ctm: p.base, tz: 100}
	p.stack = p.stack[:0]
	var args []operand
	var arr []operand
	inArr := false
	s := content
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case isSpace(c):
			i++
		case c == '%':
			for i < len(s) && s[i] != '\n' && s[i] != '\r' {
				i++
			}
		case c == '(':
			str, n := literalString(s[i:])
			i += n
			o := operand{str: str, isStr: true}
			if inArr {
				arr = append(arr, o)
			} else {
				args = append(args, o)
			}
		case c == '<' && i+1 < len(s) && s[i+1] == '<':
			// A dictionary operand (marked content): skip it whole.
			depth := 0
			for i < len(s) {
				if i+1 < len(s) && s[i] == '<' && s[i+1] == '<' {
					depth++
					i += 2
					continue
				}
				if i+1 < len(s) && s[i] == '>' && s[i+1] == '>' {
					depth--
					i += 2
					if depth == 0 {
						break
					}
					continue
				}
				i++
			}
			args = append(args, operand{})
		case c == '<':
			j := bytes.IndexByte(s[i:], '>')
			if j < 0 {
				return notLicensePDF(fmt.Sprintf("第 %d 页的文字数据不完整", p.page), "page %d: unterminated hex string", p.page)
			}
			o := operand{str: hexString(s[i+1 : i+j]), isStr: true}
			i += j + 1
			if inArr {
				arr = append(arr, o)
			} else {
				args = append(args, o)
			}
		case c == '[':
			inArr, arr = true, nil
			i++
		case c == ']':
			inArr = false
			args = append(args, operand{arr: arr})
			i++
		case c == '/':
			j := i + 1
			for j < len(s) && !isDelim(s[j]) {
				j++
			}
			args = append(args, operand{str: string(s[i:j])})
			i = j
		default:
			j := i
			for j < len(s) && !isDelim(s[j]) {
				j++
			}
			if j == i {
				j++
			}
			tok := string(s[i:j])
			i = j
			if (tok[0] >= '0' && tok[0] <= '9') || tok[0] == '-' || tok[0] == '+' || tok[0] == '.' {
				f, _ := strconv.ParseFloat(tok, 64)
				o := operand{num: f, isNum: true}
				if inArr {
					arr = append(arr, o)
				} else {
					args = append(args, o)
				}
				continue
			}
			*p.ops++
			if *p.ops > limits.PDFContentOps {
				return tooMuch(limits.Exceeded("pdf_content_ops", "PDF 页面绘制指令数量", limits.PDFContentOps))
			}
			if tok == "BI" {
				// An inline picture: the renderer draws none. Its data is
				// binary, so the rest of the page is not read.
				p.foreign("内嵌图片", p.gs.ctm.boxOf(0, 0, 1, 1))
				return nil
			}
			p.op(tok, args)
			args = args[:0]
		}
	}
	return nil
}

func nums(args []operand, n int) ([]float64, bool) {
	if len(args) < n {
		return nil, false
	}
	out := make([]float64, n)
	for i, a := range args[len(args)-n:] {
		if !a.isNum {
			return nil, false
		}
		out[i] = a.num
	}
	return out, true
}

func (p *pageReader) op(op string, args []operand) {
	g := &p.gs
	switch op {
	case "q":
		p.stack = append(p.stack, *g)
	case "Q":
		if n := len(p.stack); n > 0 {
			*g, p.stack = p.stack[n-1], p.stack[:n-1]
		}
	case "cm":
		if v, ok := nums(args, 6); ok {
			g.ctm = matrix(v).mul(g.ctm)
		}
	case "BT":
		p.tm, p.tlm = identity, identity
	case "ET":
	case "Tf":
		if len(args) >= 2 {
			g.font = p.fonts[strings.TrimPrefix(args[len(args)-2].str, "/")]
			g.size = args[len(args)-1].num
		}
	case "Td", "TD":
		if v, ok := nums(args, 2); ok {
			p.tlm = matrix{1, 0, 0, 1, v[0], v[1]}.mul(p.tlm)
			p.tm = p.tlm
			if op == "TD" {
				g.tl = -v[1]
			}
		}
	case "Tm":
		if v, ok := nums(args, 6); ok {
			p.tm, p.tlm = matrix(v), matrix(v)
		}
	case "T*":
		p.tlm = matrix{1, 0, 0, 1, 0, -g.tl}.mul(p.tlm)
		p.tm = p.tlm
	case "TL", "Tc", "Tw", "Tz", "Tr", "Ts":
		if v, ok := nums(args, 1); ok {
			switch op {
			case "TL":
				g.tl = v[0]
			case "Tc":
				g.tc = v[0]
			case "Tw":
				g.tw = v[0]
			case "Tz":
				g.tz = v[0]
			case "Tr":
				g.tr = int(v[0])
			}
		}
	case "Tj":
		if len(args) > 0 {
			p.show(args[len(args)-1].str, nil)
		}
	case "'", "\"":
		p.op("T*", nil)
		if len(args) > 0 {
			p.show(args[len(args)-1].str, nil)
		}
	case "TJ":
		if len(args) > 0 {
			var sb strings.Builder
			var adj []float64
			for _, a := range args[len(args)-1].arr {
				if a.isStr {
					sb.WriteString(a.str)
				} else {
					adj = append(adj, a.num)
				}
			}
			p.show(sb.String(), adj)
		}
	case "g":
		if v, ok := nums(args, 1); ok {
			g.light, g.dark = v[0] > 0.85, v[0] < 0.2
		}
	case "rg":
		if v, ok := nums(args, 3); ok {
			g.light, g.dark = min(v[0], v[1], v[2]) > 0.85, max(v[0], v[1], v[2]) < 0.2
		}
	case "k":
		if v, ok := nums(args, 4); ok {
			g.light, g.dark = max(v[0], v[1], v[2], v[3]) < 0.15, v[3] > 0.8
		}
	case "cs", "sc", "scn":
		g.light, g.dark = false, false
	case "gs":
		if len(args) > 0 {
			g.transparent = p.states[strings.TrimPrefix(args[len(args)-1].str, "/")]
		}
	case "m":
		if v, ok := nums(args, 2); ok {
			p.last = g.ctm.apply(v[0], v[1])
			p.path = append(p.path, p.last)
		}
	case "l":
		if v, ok := nums(args, 2); ok {
			pt := g.ctm.apply(v[0], v[1])
			p.segs = append(p.segs, bounds(p.last, pt))
			p.path, p.last = append(p.path, pt), pt
		}
	case "c", "v", "y":
		if len(args) >= 4 {
			var ps []point
			for k := 0; k+1 < len(args); k += 2 {
				ps = append(ps, g.ctm.apply(args[k].num, args[k+1].num))
			}
			p.segs = append(p.segs, bounds(append(ps, p.last)...))
			p.path = append(p.path, ps...)
			p.last = ps[len(ps)-1]
		}
	case "re":
		if v, ok := nums(args, 4); ok {
			a, b := g.ctm.apply(v[0], v[1]), g.ctm.apply(v[0]+v[2], v[1])
			c, d := g.ctm.apply(v[0]+v[2], v[1]+v[3]), g.ctm.apply(v[0], v[1]+v[3])
			p.rects++
			p.path = append(p.path, a, b, c, d)
			p.segs = append(p.segs, bounds(a, b), bounds(b, c), bounds(c, d), bounds(d, a))
			p.last = a
		}
	case "h":
		if len(p.path) > 0 {
			p.segs = append(p.segs, bounds(p.last, p.path[0]))
		}
	case "f", "F", "f*", "B", "B*", "b", "b*":
		if len(p.path) > 0 {
			// A dark rectangle alone is a module of the QR code.
			module := g.dark && p.rects == 1 && len(p.path) == 4 && !g.transparent && p.depth == 0
			p.pf.marks = append(p.pf.marks, mark{page: p.page, seq: p.next(), kind: "填充图形", cover: true, box: bounds(p.path...), module: module})
		}
		p.path, p.segs, p.rects = p.path[:0], p.segs[:0], 0
	case "S", "s":
		if len(p.path) > 0 {
			p.pf.marks = append(p.pf.marks, mark{page: p.page, seq: p.next(), kind: "线条", box: bounds(p.path...), segs: append([]rect(nil), p.segs...)})
		}
		p.path, p.segs, p.rects = p.path[:0], p.segs[:0], 0
	case "n":
		p.path, p.segs, p.rects = p.path[:0], p.segs[:0], 0
	case "W", "W*":
		if len(p.path) > 0 {
			p.foreign("裁剪路径", bounds(p.path...))
		}
	case "Do":
		if len(args) == 0 {
			return
		}
		x, ok := p.xobjs[strings.TrimPrefix(args[len(args)-1].str, "/")]
		switch {
		case !ok:
			p.foreign("未知对象", g.ctm.boxOf(0, 0, 1, 1))
		case x.form:
			m := x.mat.mul(g.ctm)
			p.form(x, m)
			p.foreign("表单对象（印章、水印或图章）", m.boxOf(x.bbox.x0, x.bbox.y0, x.bbox.x1, x.bbox.y1))
		default:
			p.pf.marks = append(p.pf.marks, mark{page: p.page, seq: p.next(), kind: "图片", cover: true, box: g.ctm.boxOf(0, 0, 1, 1)})
		}
	case "sh":
		p.foreign("渐变填充", p.media)
	case "BMC", "BDC", "EMC", "MP", "DP":
		p.foreign("标记内容", rect{})
	case "w", "J", "j", "M", "d", "ri", "i", "G", "RG", "K", "CS", "SC", "SCN", "d0", "d1", "BX", "EX":
	default:
		p.foreign("未知绘制指令 "+op, rect{})
	}
}

// maxFormDepth bounds forms drawn inside forms.
const maxFormDepth = 4

// form reads what a form XObject draws, under m, as foreign marks: the
// renderer draws no forms, and a stamping tool draws its stamp in one.
// Text and fills inside get their own boxes, so the failure names the field
// they cover rather than everything under the form's bounding box.
func (p *pageReader) form(x xobject, m matrix) {
	if x.sd == nil || p.depth >= maxFormDepth {
		return
	}
	if err := x.sd.Decode(); err != nil {
		return
	}
	sub := &pageReader{ctx: p.ctx, pf: &printedFace{}, page: p.page, seq: p.seq, ops: p.ops, media: p.media, depth: p.depth + 1}
	sub.loadResources(p.dict(x.sd.Dict, "Resources"))
	if sub.fonts == nil || len(sub.fonts)+len(sub.xobjs) == 0 {
		sub.fonts, sub.xobjs, sub.states = p.fonts, p.xobjs, p.states
	}
	sub.base = m
	_ = sub.run(x.sd.Content) // over budget: the form's box still fails the face
	for _, r := range sub.pf.runs {
		p.pf.marks = append(p.pf.marks, mark{page: p.page, seq: r.seq, kind: "文字「" + clip(r.text) + "」", foreign: true, cover: true, box: r.box})
	}
	for _, mk := range sub.pf.marks {
		mk.foreign = true
		p.pf.marks = append(p.pf.marks, mk)
	}
}

// show records a string shown at the text position and moves past it.
func (p *pageReader) show(raw string, adjust []float64) {
	g := &p.gs
	text := decodeShown(raw, g.font.twoByte)
	// Glyph widths are estimated (1 em for CJK, half for the rest, 0.6 for
	// Courier): enough to tell what a mark covers.
	var w float64
	for _, r := range text {
		switch {
		case g.font.courier:
			w += 0.6 * g.size
		case r >= 0x2E80:
			w += g.size
		default:
			w += 0.5 * g.size
		}
		w += g.tc
		if r == ' ' {
			w += g.tw
		}
	}
	for _, a := range adjust {
		w -= a / 1000 * g.size
	}
	w *= g.tz / 100
	m := p.tm.mul(g.ctm)
	start := m.apply(0, 0)
	scale := math.Sqrt(math.Abs(m[0]*m[3] - m[1]*m[2]))
	run := textRun{
		page: p.page, seq: p.next(), x: start.x, y: start.y, size: g.size * scale,
		box:  m.boxOf(0, -0.2*g.size, w, 0.85*g.size),
		text: text, courier: g.font.courier,
	}
	switch {
	case g.tr != 0:
		run.hidden = fmt.Sprintf("以描边或不可见方式绘制（文字渲染模式 %d）", g.tr)
	case g.light:
		run.hidden = "以白色或近白色绘制"
	case g.transparent:
		run.hidden = "以透明或混合方式绘制"
	case run.size < 3:
		run.hidden = fmt.Sprintf("字号仅 %.1f 磅", run.size)
	case g.font.type3:
		run.hidden = "用 Type3 字体（字形可画成任意样子）绘制"
	case !inside(run.box, p.media):
		run.hidden = "画在页面可见区域之外"
	}
	if text != "" {
		p.pf.runs = append(p.pf.runs, run)
	}
	p.tm = matrix{1, 0, 0, 1, w, 0}.mul(p.tm)
}

// decodeShown turns a shown string into text: UTF-16BE for the renderer's
// Type0 fonts (it maps CIDs to Unicode code points), bytes for simple
// fonts such as Courier.
func decodeShown(raw string, twoByte bool) string {
	if !twoByte {
		var sb strings.Builder
		for i := 0; i < len(raw); i++ {
			sb.WriteRune(rune(raw[i]))
		}
		return sb.String()
	}
	u := make([]uint16, 0, len(raw)/2)
	for i := 0; i+1 < len(raw); i += 2 {
		u = append(u, uint16(raw[i])<<8|uint16(raw[i+1]))
	}
	return string(utf16.Decode(u))
}

// faceItem is one string the renderer prints, in the order it prints them.
type faceItem struct {
	field, label string // the field it shows (as FaceRow.Field) and its Chinese label
	text         string
	isLabel      bool
	sameLine     bool // a label printed on its value's first line
	optional     bool
	courier      bool
	runs         []textRun
}

// faceItems lists what the renderer prints for f, in drawing order.
func faceItems(f license.Face, sealed bool) []*faceItem {
	flat := func(s string) string { return strings.ReplaceAll(s, "\n", "") }
	var items []*faceItem
	add := func(it faceItem) {
		if it.text != "" {
			items = append(items, &it)
		}
	}
	if f.TopCode.Label != "" {
		add(faceItem{field: f.TopCode.Field, label: f.TopCode.Label, text: f.TopCode.Label, isLabel: true})
		add(faceItem{field: f.TopCode.Field, label: f.TopCode.Label, text: f.TopCode.Value})
	}
	if f.Number != "" {
		add(faceItem{field: "number", label: "编号", text: license.FaceNumberPrefix + f.Number})
	}
	if f.Version != "" {
		add(faceItem{field: "version", label: "版本", text: license.FaceVersionPrefix + f.Version})
	}
	add(faceItem{field: "name", label: "证照名称", text: f.Title})
	for _, r := range f.Rows {
		add(faceItem{field: r.Field, label: flat(r.Label), text: flat(r.Value)})
		add(faceItem{field: r.Field, label: flat(r.Label), text: flat(r.Label), isLabel: true, sameLine: true})
	}
	add(faceItem{label: "扫码核验提示", text: license.FaceScanHint})
	add(faceItem{field: "issuer", label: f.IssuerLabel, text: f.IssuerLabel, isLabel: true, sameLine: true})
	add(faceItem{field: "issuer", label: f.IssuerLabel, text: flat(f.Issuer)})
	add(faceItem{field: "issueDate", label: "颁发日期", text: f.Date})
	add(faceItem{label: "印章位置", text: license.FaceUnsealed, optional: sealed})
	add(faceItem{field: "identifier", label: "电子证照标识", text: license.FaceIdentifierLabel, isLabel: true, sameLine: true})
	add(faceItem{field: "identifier", label: "电子证照标识", text: f.Identifier, courier: true})
	add(faceItem{label: "页脚", text: license.FaceFooter})
	return items
}

// compare checks the printed face against f, the face of the credential.
func (pf *printedFace) compare(f license.Face) *FaceError {
	images := 0
	for _, m := range pf.marks {
		if m.kind == "图片" {
			images++
		}
	}
	items := faceItems(f, images > 0)
	if fe := pf.match(items); fe != nil {
		return fe
	}
	return pf.check(items)
}

// match assigns the text runs, in drawing order, to the items the renderer
// prints; a run that does not fit is a mismatch or extra text.
func (pf *printedFace) match(items []*faceItem) *FaceError {
	runs := pf.runs
	i := 0
	skipContinued := func() {
		for i < len(runs) && runs[i].page > 1 && runs[i].text == license.FaceContinued && (i == 0 || runs[i-1].page != runs[i].page) {
			i++
		}
	}
	// runsFor reports how many runs from j spell text exactly, or 0.
	runsFor := func(text string, j int) int {
		acc := ""
		for n := j; n < len(runs); n++ {
			acc += runs[n].text
			switch {
			case acc == text:
				return n - j + 1
			case !strings.HasPrefix(text, acc):
				return 0
			}
		}
		return 0
	}
	for k, it := range items {
		if it.runs != nil {
			continue // a label matched within its value (below)
		}
		skipContinued()
		if it.optional && (i >= len(runs) || !strings.HasPrefix(it.text, runs[i].text)) {
			continue
		}
		acc := ""
		for acc != it.text {
			skipContinued()
			if i >= len(runs) {
				return mismatch(it, acc)
			}
			next := acc + runs[i].text
			if !strings.HasPrefix(it.text, next) {
				// A value that runs onto the next page: the renderer prints
				// its label before the page break.
				if label := nextLabel(items, k); acc != "" && label != nil {
					if n := runsFor(label.text, i); n > 0 && i+n < len(runs) && runs[i+n].page != runs[i+n-1].page {
						label.runs = append(label.runs, runs[i:i+n]...)
						i += n
						continue
					}
				}
				return mismatch(it, next)
			}
			acc = next
			it.runs = append(it.runs, runs[i])
			i++
		}
	}
	for _, it := range items {
		for _, r := range it.runs {
			if r.courier != it.courier {
				return &FaceError{Code: FaceMismatch, Field: it.field, Label: it.label,
					Reason: fmt.Sprintf("页面上「%s」的字体与证照生成器不同，页面被改动", it.label)}
			}
			if r.hidden != "" {
				return &FaceError{Code: FaceHidden, Field: it.field, Label: it.label,
					Reason: fmt.Sprintf("页面上的「%s」%s，看不见或看不清，页面被改动", it.label, r.hidden)}
			}
		}
	}
	if i < len(runs) {
		r := runs[i]
		field, label := fieldAt(items, r.page, r.box, math.MaxInt)
		where := "页面上"
		if label != "" {
			where = "页面上「" + label + "」处"
		}
		return &FaceError{Code: FaceExtraText, Field: field, Label: label,
			Reason: fmt.Sprintf("%s有证照生成器不会印的文字「%s」（第 %d 页 %s），页面被改动", where, clip(r.text), r.page, r.box)}
	}
	return nil
}

// check looks at where the matched runs are and what is drawn over them.
func (pf *printedFace) check(items []*faceItem) *FaceError {
	// Each value on its label's line.
	for _, it := range items {
		if !it.sameLine || len(it.runs) == 0 {
			continue
		}
		var value *faceItem
		for _, o := range items {
			if o.field == it.field && !o.isLabel && len(o.runs) > 0 && o.field != "" {
				value = o
				break
			}
		}
		if value == nil || it.field == "" {
			continue
		}
		l, v := it.runs[0], value.runs[0]
		if l.page != v.page || math.Abs(l.y-v.y) > 0.5 {
			return &FaceError{Code: FaceLayout, Field: it.field, Label: it.label,
				Reason: fmt.Sprintf("「%s」的内容不在其标签所在的行，页面被改动", it.label)}
		}
	}
	// Nothing drawn over the printed fields but the seal over the issuer
	// and the date.
	// A failure that names a field comes first: a stamping tool also
	// wraps its stamp in marked content, which covers nothing.
	var first *FaceError
	seenImage := false
	for _, m := range pf.marks {
		allowed := !m.foreign
		limit := m.seq
		if m.foreign {
			limit = math.MaxInt // drawn over everything
		}
		if m.kind == "图片" {
			allowed = !seenImage
			seenImage = true
		}
		field, label := "", ""
		for _, it := range items {
			if (it.field == "issuer" || it.field == "issueDate") && allowed && (m.kind == "图片" || m.kind == "线条") {
				continue // the seal, or the dashed circle of an unsealed face
			}
			if markCovers(m, it, limit) {
				field, label = it.field, it.label
				break
			}
		}
		if label == "" && allowed {
			continue
		}
		where := "页面上"
		if label != "" {
			where = "页面上「" + label + "」处"
		}
		fe := &FaceError{Code: FaceOverlay, Field: field, Label: label,
			Reason: fmt.Sprintf("%s有证照生成器不会画的%s（第 %d 页 %s）覆盖，页面被改动", where, m.kind, m.page, m.box)}
		if label != "" {
			return fe
		}
		if first == nil {
			first = fe
		}
	}
	if first != nil {
		return first
	}
	if pf.appended {
		return &FaceError{Code: FaceIncremental, Reason: "PDF 在生成之后被追加修改（增量更新），页面可能被改动"}
	}
	return nil
}

// markCovers reports whether m covers a run of it drawn before seq limit.
func markCovers(m mark, it *faceItem, limit int) bool {
	for _, r := range it.runs {
		if r.page != m.page || r.seq > limit {
			continue
		}
		if m.cover && m.box.overlaps(r.box) {
			return true
		}
		for _, s := range m.segs {
			if s.overlaps(r.box) {
				return true
			}
		}
	}
	return false
}

// fieldAt names the printed field whose text overlaps box, or whose line
// is nearest to it on the page.
func fieldAt(items []*faceItem, page int, box rect, limit int) (field, label string) {
	best := math.Inf(1)
	for _, it := range items {
		if it.field == "" {
			continue
		}
		for _, r := range it.runs {
			if r.page != page || r.seq > limit {
				continue
			}
			if r.box.overlaps(box) {
				return it.field, it.label
			}
			if d := math.Abs((r.box.y0+r.box.y1)/2 - (box.y0+box.y1)/2); d < best && d < r.size*1.5 {
				best, field, label = d, it.field, it.label
			}
		}
	}
	return field, label
}

// nextLabel is the label item right after value item k, or nil.
func nextLabel(items []*faceItem, k int) *faceItem {
	if k+1 < len(items) && items[k+1].isLabel && items[k+1].field == items[k].field && items[k].field != "" && !items[k].isLabel {
		return items[k+1]
	}
	return nil
}

func mismatch(it *faceItem, printed string) *FaceError {
	what := "内容"
	if it.isLabel {
		what = "标签"
	}
	return &FaceError{Code: FaceMismatch, Field: it.field, Label: it.label,
		Reason: fmt.Sprintf("页面上「%s」的%s与凭证不符：页面印的是「%s」，凭证是「%s」", it.label, what, clip(printed), clip(it.text))}
}

// clip shortens s to 40 characters for a reason.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= 40 {
		return s
	}
	return string([]rune(s)[:40]) + "…"
}

// qr returns the text of the QR code printed on the face (on the last
// page that has one), or "".
func (pf *printedFace) qr() string {
	page := 0
	for _, m := range pf.marks {
		if m.module {
			page = max(page, m.page)
		}
	}
	return printedQR(pf.marks, page)
}

// checkQR checks that the QR code printed on the face is the compact form
// of the license with identifier id.
func (pf *printedFace) checkQR(id string) *FaceError {
	text := pf.qr()
	if text == "" {
		return &FaceError{Code: FaceMismatch, Field: "qr", Label: "二维码",
			Reason: "页面上的二维码无法读出，页面被改动"}
	}
	c, err := credential.ParseCompact(text)
	if err != nil {
		return &FaceError{Code: FaceMismatch, Field: "qr", Label: "二维码",
			Reason: fmt.Sprintf("页面上的二维码不是证照的紧凑凭证：%v", err)}
	}
	if c.Identifier != id {
		return &FaceError{Code: FaceMismatch, Field: "qr", Label: "二维码",
			Reason: fmt.Sprintf("页面上的二维码是另一张证照（%s）的，凭证是 %s", c.Identifier, id)}
	}
	return nil
}

// PrintedQR returns the text of the QR code drawn on a license PDF's face,
// read from the rectangles that draw it (no rendering, no picture). A PDF
// that cannot be read, or has no readable QR code drawn, is
// ErrNotLicensePDF.
func PrintedQR(pdf []byte) (_ string, err error) {
	defer recoverMalformed(&err)
	ctx, err := readPDF(pdf)
	if err != nil {
		return "", err
	}
	pf, err := readFace(ctx, pdf)
	if err != nil {
		return "", err
	}
	if text := pf.qr(); text != "" {
		return text, nil
	}
	return "", notLicensePDF("页面上没有可读的二维码", "no readable QR code drawn on the page")
}
