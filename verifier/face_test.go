package verifier_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"codeberg.org/go-pdf/fpdf"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"zhengzhao/license"
	"zhengzhao/render"
	"zhengzhao/verifier"
	"zhengzhao/verifier/verifiertest"
)

// faceOf is the face license.NewFace makes for l.
func faceOf(t *testing.T, l *verifiertest.License) license.Face {
	t.Helper()
	rec := l.Credential.CredentialSubject
	typ, ok := license.DefaultCatalog().Type(rec.TypeCode)
	if !ok {
		t.Fatalf("type %s not in the catalog", rec.TypeCode)
	}
	return license.NewFace(typ, rec)
}

// stampText stamps text with pdfcpu's text stamp (a form XObject drawn on
// top of the page), its lower left corner at (x, y) points on page.
func stampText(t *testing.T, pdf []byte, page int, x, y float64, text string) []byte {
	t.Helper()
	model.ConfigPath = "disable"
	desc := fmt.Sprintf("fontname:Helvetica, points:11, position:bl, offset:%.1f %.1f, scalefactor:1 abs, rotation:0, fillcolor:#000000, backgroundcolor:#FFFFFF, opacity:1", x, y-2)
	wm, err := api.TextWatermark(text, desc, true, false, types.POINTS)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := api.AddWatermarks(bytes.NewReader(pdf), &out, []string{fmt.Sprint(page)}, wm, model.NewDefaultConfiguration()); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// stampPage stamps a whole A4 page made with fpdf over page 1, as one
// would paste a corrected line printed in the license's own font: a white
// box and the Chinese text on it, at (x, y) points.
func stampPage(t *testing.T, pdf []byte, x, y float64, text string) []byte {
	t.Helper()
	font, err := render.FindFont()
	if err != nil {
		t.Skip(err)
	}
	p := fpdf.New("P", "pt", "A4", "")
	p.AddUTF8FontFromBytes("zh", "", font)
	p.AddPage()
	p.SetFillColor(255, 255, 255)
	p.Rect(x-2, 842-y-14, 300, 18, "F")
	p.SetFont("zh", "", 12.5)
	p.Text(x, 842-y, text)
	var overlay bytes.Buffer
	if err := p.Output(&overlay); err != nil {
		t.Fatal(err)
	}
	model.ConfigPath = "disable"
	wm, err := api.PDFWatermarkForReadSeeker(bytes.NewReader(overlay.Bytes()), 1, "position:bl, offset:0 0, scalefactor:1 abs, rotation:0", true, false, types.POINTS)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := api.AddWatermarks(bytes.NewReader(pdf), &out, []string{"1"}, wm, model.NewDefaultConfiguration()); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// annotateIncrement adds a text annotation (a sticky note) at (x, y) as an
// incremental update after the original %%EOF, with pdfcpu.
func annotateIncrement(t *testing.T, pdf []byte, x, y float64, note string) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := types.Rectangle{LL: types.Point{X: x, Y: y - 3}, UR: types.Point{X: x + 150, Y: y + 12}}
	ann := model.NewTextAnnotation(r, 0, note, "forged", "", 0, nil, "", nil, nil, "", "", 0, 0, 0, true, "Comment")
	model.ConfigPath = "disable"
	if err := api.AddAnnotationsAsIncrement(f, []string{"1"}, ann, model.NewDefaultConfiguration()); err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// infoIncrement appends, with pdfcpu, an incremental update that changes
// only the document information (its title): nothing on the face changes.
func infoIncrement(t *testing.T, pdf []byte) []byte {
	t.Helper()
	model.ConfigPath = "disable"
	ctx, err := api.ReadContext(bytes.NewReader(pdf), model.NewDefaultConfiguration())
	if err != nil {
		t.Fatal(err)
	}
	info, err := ctx.DereferenceDict(*ctx.Info)
	if err != nil {
		t.Fatal(err)
	}
	info.Update("Title", types.StringLiteral("changed"))
	ctx.Write.Increment = true
	ctx.Write.Offset = int64(len(pdf))
	ctx.Write.IncrementWithObjNr(ctx.Info.ObjectNumber.Value())
	var inc bytes.Buffer
	if err := api.WriteIncrement(ctx, &inc); err != nil {
		t.Fatal(err)
	}
	return append(bytes.Clone(pdf), inc.Bytes()...)
}

// editText rewrites a string the page content shows, with pdfcpu: the
// renderer's string of from becomes that of to.
func editText(t *testing.T, pdf []byte, from, to string) []byte {
	t.Helper()
	// fpdf writes UTF-16BE as a literal string, escaping \\, (, ) and \r.
	hexOf := func(s string) []byte {
		var b []byte
		for _, u := range utf16.Encode([]rune(s)) {
			b = append(b, byte(u>>8), byte(u))
		}
		r := strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`, "\r", `\r`)
		return []byte("(" + r.Replace(string(b)) + ")")
	}
	model.ConfigPath = "disable"
	ctx, err := api.ReadContext(bytes.NewReader(pdf), model.NewDefaultConfiguration())
	if err != nil {
		t.Fatal(err)
	}
	if err := ctx.EnsurePageCount(); err != nil {
		t.Fatal(err)
	}
	page, _, _, err := ctx.PageDict(1, false)
	if err != nil {
		t.Fatal(err)
	}
	o, _ := page.Find("Contents")
	ir, ok := o.(types.IndirectRef)
	if !ok {
		t.Fatalf("page contents %T", o)
	}
	sd, _, err := ctx.DereferenceStreamDict(ir)
	if err != nil {
		t.Fatal(err)
	}
	if err := sd.Decode(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(sd.Content, hexOf(from)) {
		t.Fatalf("the page does not show %q", from)
	}
	sd.Content = bytes.Replace(sd.Content, hexOf(from), hexOf(to), 1)
	if err := sd.Encode(); err != nil {
		t.Fatal(err)
	}
	ctx.Table[ir.ObjectNumber.Value()].Object = *sd
	var out bytes.Buffer
	if err := api.WriteContext(ctx, &out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// crop sets the crop box of page 1 with pdfcpu: what a viewer shows.
func crop(t *testing.T, pdf []byte, box string) []byte {
	t.Helper()
	model.ConfigPath = "disable"
	b, err := api.Box(box, types.POINTS)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := api.Crop(bytes.NewReader(pdf), &out, []string{"1"}, b, model.NewDefaultConfiguration()); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func verifyFace(t *testing.T, w *verifiertest.World, pdf []byte) verifier.Check {
	t.Helper()
	res, err := verifier.Verify(context.Background(), pdf, w.Bundle(nil), verifier.Policy{At: verifiertest.Now})
	if err != nil {
		t.Fatal(err)
	}
	if res.InputErr != nil {
		t.Fatalf("input: %v", res.InputErr)
	}
	c, ok := res.Check(verifier.NameFace)
	if !ok {
		t.Fatal("no face check")
	}
	if c.Status == verifier.CheckFail && res.Valid {
		t.Error("face failed but the verdict is valid")
	}
	return c
}

// Text stamped over any printed field of a genuine license PDF makes the
// face check fail and name the field; the genuine PDF passes.
func TestFaceStampedOverEveryField(t *testing.T) {
	w := verifiertest.NewWorld(t)
	for _, d := range w.Departments[:2] {
		for _, typeCode := range d.Types {
			lic := w.Issue(d, typeCode)
			pdf := w.PDF(lic, lic.Document, w.Stamp(lic, d, d.Seal, verifiertest.IssuedAt), w.Compact(lic, d))
			face := faceOf(t, lic)
			if c := verifyFace(t, w, pdf); c.Status != verifier.CheckPass {
				t.Fatalf("%s: genuine PDF: face %s: %s", face.Title, c.Status, c.Reason)
			}
			pos, err := verifier.FacePositions(pdf, face)
			if err != nil {
				t.Fatal(err)
			}
			if len(pos) < 8 {
				t.Fatalf("%s: only %d fields found on the face", face.Title, len(pos))
			}
			for field, p := range pos {
				t.Run(face.Title+"/"+field, func(t *testing.T) {
					c := verifyFace(t, w, stampText(t, pdf, p.Page, p.X, p.Y, "2099-12-31 FORGED"))
					if c.Status != verifier.CheckFail || c.Code != verifier.FaceOverlay || c.Field != field {
						t.Errorf("face = %s %s %q (%s), want fail %s naming %q", c.Status, c.Code, c.Field, c.Reason, verifier.FaceOverlay, field)
					}
				})
			}
		}
	}
}

// The forgeries of the red-team report and their kin: a corrected line in
// the license's own Chinese font pasted over the validity or the holder, a
// sticky note appended as an incremental update, an update that changes no
// field, a value rewritten in the page content, another license's QR code.
func TestFaceForgeries(t *testing.T) {
	w := verifiertest.NewWorld(t)
	a := w.Departments[0]
	lic, other := w.Issue(a, a.Types[0]), w.Issue(a, a.Types[0])
	pdf := w.PDF(lic, lic.Document, w.Stamp(lic, a, a.Seal, verifiertest.IssuedAt), w.Compact(lic, a))
	face := faceOf(t, lic)
	pos, err := verifier.FacePositions(pdf, face)
	if err != nil {
		t.Fatal(err)
	}
	v, h := pos["validity"], pos["holder"]
	tests := []struct {
		name      string
		pdf       []byte
		wantCode  string
		wantField string
	}{
		{"有效期至 2099 pasted over the validity", stampPage(t, pdf, v.X, v.Y, "自2024年03月15日至2099年12月31日"), verifier.FaceOverlay, "validity"},
		{"another holder pasted over the holder", stampPage(t, pdf, h.X, h.Y, "长沙市某某餐饮有限公司"), verifier.FaceOverlay, "holder"},
		{"note over the validity as an incremental update", annotateIncrement(t, pdf, v.X, v.Y, "有效期至2099年"), verifier.FaceOverlay, "validity"},
		{"an incremental update that changes no field", infoIncrement(t, pdf), verifier.FaceIncremental, ""},
		{"the printed holder rewritten in the page content", editText(t, pdf, face.Rows[0].Value, "长沙市某某餐饮有限公司"), verifier.FaceMismatch, "holder"},
		{"the validity and all below it cropped off", crop(t, pdf, fmt.Sprintf("[0 %.0f 595 842]", v.Y+4)), verifier.FaceHidden, "validity"},
		{"another license's QR code printed", w.PDF(lic, lic.Document, w.Stamp(lic, a, a.Seal, verifiertest.IssuedAt), w.Compact(other, a)), verifier.FaceMismatch, "qr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := verifyFace(t, w, tt.pdf)
			t.Logf("face: %s", c.Reason)
			if c.Status != verifier.CheckFail || c.Code != tt.wantCode || c.Field != tt.wantField {
				t.Errorf("face = %s %s %q (%s), want fail %s naming %q", c.Status, c.Code, c.Field, c.Reason, tt.wantCode, tt.wantField)
			}
		})
	}
}
