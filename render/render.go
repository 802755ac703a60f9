package render

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"
	"time"
	"unicode"

	"codeberg.org/go-pdf/fpdf"

	"zhengzhao/license"
)

// Names of the attachments a license PDF carries. The caller passes them in
// Input.Attachments; ExtractAttachments requires AttachmentCredential.
const (
	AttachmentCredential = "credential.json" // the full signed credential (JSON)
	AttachmentSeal       = "seal.sig"        // the GB/T 38540 SES_Signature (DER)
)

// Footer is the line printed at the bottom of every license face.
const Footer = license.FaceFooter

// Attachment is a file embedded in the PDF so that the PDF alone can be
// verified offline.
type Attachment struct {
	Name        string // file name, such as AttachmentCredential
	Description string // shown by PDF readers
	Data        []byte
}

// Input is everything one license PDF shows or carries.
type Input struct {
	// Type is the catalog entry of the license; its field labels and order
	// lay out the face.
	Type license.Type
	// Record is the issued license. Record.Identifier must be set.
	Record license.Record
	// SealPNG is the issuing department's round red seal as a PNG with a
	// transparent background, printed about 42 mm wide over the issuing
	// authority and date. When nil, a grey dashed circle marked 未加盖印章
	// is printed instead, so an unsealed face never looks sealed.
	SealPNG []byte
	// QRPayload is the compact "ZZ1:..." payload, printed as a QR code
	// (error correction M) bottom left.
	QRPayload string
	// Attachments are embedded as PDF file attachments, in this order.
	Attachments []Attachment
	// CreatedAt is written as the PDF creation and modification date, so that
	// equal inputs give byte-identical PDFs.
	CreatedAt time.Time
}

// Renderer draws license PDFs with one CJK TrueType font, parsed once.
// It is safe for concurrent use.
type Renderer struct {
	font *ttFont

	mu    sync.Mutex
	seals map[[32]byte][]byte // seal pictures prepared for fpdf, by SHA-256 of the input
}

// maxCachedSeals bounds the prepared seal pictures a Renderer keeps: one
// per department seal in use.
const maxCachedSeals = 256

// sealPixels is the width the seal picture is embedded at: 42 mm at about
// 180 dpi, sharp on screen and on paper, and a quarter of the work fpdf
// does to embed the 600 px original (it re-compresses every image).
const sealPixels = 300

// sealImage returns the seal picture as fpdf reads it fastest: 8-bit RGBA,
// sealPixels wide, stored uncompressed (fpdf inflates and re-deflates every
// image it embeds). Prepared pictures are kept, as every license of a
// department carries the same seal.
func (r *Renderer) sealImage(img []byte) ([]byte, error) {
	if img == nil {
		return nil, nil
	}
	key := sha256.Sum256(img)
	r.mu.Lock()
	prepared, ok := r.seals[key]
	r.mu.Unlock()
	if ok {
		return prepared, nil
	}
	prepared, err := prepareSeal(img)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.seals == nil || len(r.seals) >= maxCachedSeals {
		r.seals = map[[32]byte][]byte{}
	}
	r.seals[key] = prepared
	r.mu.Unlock()
	return prepared, nil
}

// NewRenderer parses a CJK TrueType font (.ttf; not .ttc or CFF .otf), such
// as the bytes FindFont returns, and checks that it can print every fixed
// text of the license face. Errors wrap ErrBadFont.
func NewRenderer(font []byte) (*Renderer, error) {
	f, err := parseTTF(font)
	if err != nil {
		return nil, err
	}
	r := &Renderer{font: f}
	var fixed []string
	fixed = append(fixed, fixedTexts...)
	for _, t := range license.DefaultCatalog().Types() {
		fixed = append(fixed, t.Name)
	}
	for _, s := range fixed {
		for _, c := range s {
			if !f.has(c) {
				return nil, fmt.Errorf("%w: %w", ErrBadFont, &MissingGlyphError{Rune: c, Where: "the fixed text " + s})
			}
		}
	}
	// Make sure fpdf accepts a subset of this font.
	sub, err := f.subset(runeSet(fixed))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadFont, err)
	}
	p := fpdf.New("P", "mm", "A4", "")
	p.AddUTF8FontFromBytes(cjkFont, "", sub)
	p.SetFont(cjkFont, "", 12)
	if err := p.Error(); err != nil || p.GetStringWidth("证照") <= 0 {
		return nil, fmt.Errorf("%w: fpdf cannot use the font: %v", ErrBadFont, err)
	}
	return r, nil
}

// Page geometry, in millimetres (A4 portrait).
const (
	pageW, pageH = 210.0, 297.0
	formL, formR = 26.0, 184.0 // form column edges
	blockTop     = 220.0       // top of the QR / issuer / seal block
	flowBottom   = 268.0       // lowest text line on a page without the block
	contTop      = 34.0        // first form line on a continuation page
	qrX, qrY     = 26.0, 226.0
	qrSize       = 36.0
	sealSize     = 42.0
	issuerCX     = 148.0 // centre of issuer name, date and seal
	idBaseline   = 272.5
	footBaseline = 279.0
	labelGap     = 5.0 // between label and value columns
	maxLabelW    = 52.0
	ptMM         = 25.4 / 72
)

const cjkFont = "zh"

// Colours.
var (
	frameRGB = [3]int{164, 42, 32} // the red-brown frame of paper licenses
	textRGB  = [3]int{20, 20, 20}
	greyRGB  = [3]int{110, 110, 110}
)

// fixed texts printed on faces, checked against the font by NewRenderer.
var fixedTexts = []string{
	"统一社会信用代码", "公民身份号码", license.FaceNumberPrefix, license.FaceVersionPrefix, "有效期限", "长期", "自", "至", "年月日",
	"发证机关", "登记机关", license.FaceScanHint, license.FaceIdentifierLabel, Footer, license.FaceUnsealed, license.FaceContinued,
	"持证主体", "持证人", "0123456789",
}

// row is one label: value line of the form.
type row struct {
	label, value string
}

// face is the license face's text, before layout.
type face struct {
	title       string
	topCode     row // 营业执照: 统一社会信用代码 printed above the title
	number      string
	version     string
	rows        []row
	issuerLabel string
	issuer      string
	date        string
	identifier  string
}

// buildFace lays out the text of license.NewFace, which the verifier reads
// back and compares with the credential.
func buildFace(t license.Type, rec license.Record) face {
	f := license.NewFace(t, rec)
	fc := face{
		title: f.Title, topCode: row{f.TopCode.Label, f.TopCode.Value}, number: f.Number, version: f.Version,
		issuerLabel: f.IssuerLabel, issuer: f.Issuer, date: f.Date, identifier: f.Identifier,
	}
	for _, r := range f.Rows {
		fc.rows = append(fc.rows, row{r.Label, r.Value})
	}
	return fc
}

// texts returns every string printed in the CJK font, with where it comes
// from, so the subset font can be cut before layout.
func (fc face) texts() []row {
	out := []row{{"证照名称", fc.title}, {"编号", fc.number}, {"颁发机构", fc.issuer}, {"颁发日期", fc.date}}
	if fc.topCode.label != "" {
		out = append(out, row{fc.topCode.label, fc.topCode.label + fc.topCode.value})
	}
	for _, r := range fc.rows {
		out = append(out, row{r.label, r.label + r.value})
	}
	for _, s := range fixedTexts {
		out = append(out, row{"", s})
	}
	return out
}

func runeSet(ss []string) []rune {
	var rs []rune
	for _, s := range ss {
		for _, c := range s {
			if !unicode.IsControl(c) {
				rs = append(rs, c)
			}
		}
	}
	slices.Sort(rs)
	return slices.Compact(rs)
}

// PDF renders the license face of in as a one-page (longer when the fields
// do not fit) A4 PDF with the font subset embedded, the seal, the QR code,
// the identifier in Courier (also the PDF Subject) and the attachments.
// Equal inputs give equal bytes. A character the font lacks is an error
// (*MissingGlyphError), never an empty box.
func (r *Renderer) PDF(in Input) ([]byte, error) {
	rec := in.Record
	if _, err := license.ParseIdentifier(rec.Identifier); err != nil {
		return nil, fmt.Errorf("%w: record identifier: %w", ErrInvalidInput, err)
	}
	if in.QRPayload == "" {
		return nil, fmt.Errorf("%w: no QR payload", ErrInvalidInput)
	}
	code, err := encodeQR(in.QRPayload)
	if err != nil {
		return nil, fmt.Errorf("%w: QR payload: %v", ErrInvalidInput, err)
	}
	fc := buildFace(in.Type, rec)

	var all []string
	for _, t := range fc.texts() {
		for _, c := range t.value {
			if c == '\n' {
				continue
			}
			if unicode.IsControl(c) || c > 0xFFFF || !r.font.has(c) {
				return nil, &MissingGlyphError{Rune: c, Where: t.label}
			}
		}
		all = append(all, t.value)
	}
	sub, err := r.font.subset(runeSet(all))
	if err != nil {
		return nil, err
	}

	p := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", SizeStr: "A4"})
	p.SetCompression(true)
	p.SetCatalogSort(true)
	p.SetCreationDate(in.CreatedAt)
	p.SetModificationDate(in.CreatedAt)
	p.SetAutoPageBreak(false, 0)
	p.SetMargins(0, 0, 0)
	p.SetTitle(fc.title, true)
	p.SetAuthor(rec.Issuer, true)
	p.SetSubject(rec.Identifier, false)
	p.SetCreator("Zhengzhao 证照平台", true)
	p.SetProducer("Zhengzhao render", false)
	p.AddUTF8FontFromBytes(cjkFont, "", sub)
	if err := p.Error(); err != nil {
		return nil, fmt.Errorf("render: load font subset: %w", err)
	}

	seal, err := r.sealImage(in.SealPNG)
	if err != nil {
		return nil, fmt.Errorf("%w: seal picture: %v", ErrInvalidInput, err)
	}
	d := &doc{p: p, widths: make(map[rune]float64)}
	d.layout(fc, seal, code)
	return d.finish(in.Attachments)
}

// finish attaches the files to the drawn PDF and writes it out; the first
// drawing error, if any, instead.
func (d *doc) finish(attachments []Attachment) ([]byte, error) {
	if len(attachments) > 0 {
		as := make([]fpdf.Attachment, len(attachments))
		for i, a := range attachments {
			as[i] = fpdf.Attachment{Content: a.Data, Filename: a.Name, Description: a.Description}
		}
		d.p.SetAttachments(as)
	}
	if d.err != nil {
		return nil, d.err
	}
	var buf bytes.Buffer
	if err := d.p.Output(&buf); err != nil {
		return nil, fmt.Errorf("render: write PDF: %w", err)
	}
	return buf.Bytes(), nil
}

// doc is one PDF being drawn.
type doc struct {
	p      *fpdf.Fpdf
	size   float64          // current CJK font size, pt
	widths map[rune]float64 // rune width at 1 pt, mm
	err    error
}

func (d *doc) setFont(size float64) {
	d.size = size
	d.p.SetFont(cjkFont, "", size)
}

// runeWidth is the width of c at the current size, in mm, measured by fpdf.
func (d *doc) runeWidth(c rune) float64 {
	w, ok := d.widths[c]
	if !ok {
		w = d.p.GetStringWidth(string(c)) / d.size
		d.widths[c] = w
	}
	return w * d.size
}

func (d *doc) width(s string) float64 {
	var w float64
	for _, c := range s {
		w += d.runeWidth(c)
	}
	return w
}

func (d *doc) color(c [3]int) {
	d.p.SetTextColor(c[0], c[1], c[2])
}

// text draws s with its left end at x on baseline y.
func (d *doc) text(x, y float64, s string) {
	if s != "" {
		d.p.Text(x, y, s)
	}
}

func (d *doc) centred(cx, y float64, s string) {
	d.text(cx-d.width(s)/2, y, s)
}

// spread draws the characters of s evenly across [x, x+w], like the
// letter-spaced labels and titles of paper licenses.
func (d *doc) spread(x, y, w float64, s string) {
	rs := []rune(s)
	if len(rs) < 2 {
		d.text(x, y, s)
		return
	}
	gap := (w - d.width(s)) / float64(len(rs)-1)
	for _, c := range rs {
		d.text(x, y, string(c))
		x += d.runeWidth(c) + gap
	}
}
