package render

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"codeberg.org/go-pdf/fpdf"
	"github.com/boombuler/barcode/qr"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"zhengzhao/license"
	"zhengzhao/verifier"
)

func catalogInputs(t testing.TB) []Input {
	var ins []Input
	for _, typ := range license.DefaultCatalog().Types() {
		ins = append(ins, testInput(t, typ, "2024000123"))
	}
	return ins
}

func TestGoldenText(t *testing.T) {
	r := testRenderer(t)
	for _, in := range catalogInputs(t) {
		t.Run(pinyin[in.Type.Name], func(t *testing.T) {
			pdf, err := r.PDF(in)
			if err != nil {
				t.Fatal(err)
			}
			got := pdftotext(t, pdf, "-layout")
			path := filepath.Join("testdata", pinyin[in.Type.Name]+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("pdftotext -layout differs from %s (run go test -update after checking the PNG):\ngot:\n%s", path, got)
			}
		})
	}
}

// TestEveryCharacterPrinted checks that each printed value appears whole,
// in order, in the extracted text: nothing is lost at a line break.
func TestEveryCharacterPrinted(t *testing.T) {
	r := testRenderer(t)
	long := strings.Repeat("许可项目：餐饮服务；食品销售（仅销售预包装食品）。一般项目：ABC123技术服务、技术开发，电子证照“核验”。", 40)
	ins := catalogInputs(t)
	// A long 经营范围 that needs a continuation page.
	ins[0].Record.Fields["businessScope"] = long
	for _, in := range ins {
		t.Run(pinyin[in.Type.Name], func(t *testing.T) {
			pdf, err := r.PDF(in)
			if err != nil {
				t.Fatal(err)
			}
			text := squeeze(pdftotext(t, pdf, "-raw"))
			fc := buildFace(in.Type, in.Record)
			want := []string{fc.title, fc.issuer, fc.date, fc.number, fc.topCode.value, Footer}
			for _, row := range fc.rows {
				want = append(want, row.value)
			}
			for _, w := range want {
				if !strings.Contains(text, squeeze(w)) {
					t.Errorf("text lacks %q", w)
				}
			}
		})
	}
}

func squeeze(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

func TestDeterministic(t *testing.T) {
	r := testRenderer(t)
	for _, in := range catalogInputs(t)[:3] {
		a, err := r.PDF(in)
		if err != nil {
			t.Fatal(err)
		}
		b, err := r.PDF(in)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two renders differ", in.Type.Name)
		}
	}
}

func TestQRRoundTrip(t *testing.T) {
	r := testRenderer(t)
	for _, in := range catalogInputs(t) {
		t.Run(pinyin[in.Type.Name], func(t *testing.T) {
			pdf, err := r.PDF(in)
			if err != nil {
				t.Fatal(err)
			}
			got := decodeQR(t, pdftoppm(t, pdf, "150"))
			if got != in.QRPayload {
				t.Errorf("QR decodes to %q, want %q", got, in.QRPayload)
			}
		})
	}
}

func decodeQR(t *testing.T, pngData []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		t.Fatalf("decode QR: %v", err)
	}
	return res.GetText()
}

func TestQRPNG(t *testing.T) {
	payload := testPayload(3)
	img, err := QRPNG(payload, 512)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(img))
	if err != nil || cfg.Width != 512 || cfg.Height != 512 {
		t.Fatalf("config %+v, %v", cfg, err)
	}
	if got := decodeQR(t, img); got != payload {
		t.Errorf("decodes to %q", got)
	}
	for _, px := range []int{0, 10, MaxQRPixels + 1} {
		if _, err := QRPNG(payload, px); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("QRPNG(%d px) = %v, want ErrInvalidInput", px, err)
		}
	}
	if _, err := QRPNG(payload, MinQRPixels); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("a 600-character payload in 64 px: %v, want ErrInvalidInput", err)
	}
}

// TestAttachmentNames checks the renderer writes the attachments under the
// names the verifier reads.
func TestAttachmentNames(t *testing.T) {
	if AttachmentCredential != verifier.AttachmentCredential || AttachmentSeal != verifier.AttachmentSeal {
		t.Errorf("render writes %q and %q, verifier reads %q and %q", AttachmentCredential, AttachmentSeal, verifier.AttachmentCredential, verifier.AttachmentSeal)
	}
}

func TestAttachmentsRoundTrip(t *testing.T) {
	r := testRenderer(t)
	in := catalogInputs(t)[2]
	pdf, err := r.PDF(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := verifier.ExtractAttachments(pdf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(in.Attachments) {
		t.Errorf("got %d attachments, want %d", len(got), len(in.Attachments))
	}
	for _, a := range in.Attachments {
		if !bytes.Equal(got[a.Name], a.Data) {
			t.Errorf("%s = %q, want %q", a.Name, got[a.Name], a.Data)
		}
	}
	id, err := verifier.VisibleIdentifier(pdf)
	if err != nil {
		t.Fatal(err)
	}
	if id != in.Record.Identifier {
		t.Errorf("VisibleIdentifier = %q, want %q", id, in.Record.Identifier)
	}
}

func TestNotLicensePDF(t *testing.T) {
	plain := fpdf.New("P", "mm", "A4", "")
	plain.AddPage()
	plain.SetFont("Helvetica", "", 12)
	plain.Text(20, 20, "hello")
	var buf bytes.Buffer
	if err := plain.Output(&buf); err != nil {
		t.Fatal(err)
	}
	// A license PDF without its attachments.
	r := testRenderer(t)
	in := catalogInputs(t)[0]
	in.Attachments = nil
	bare, err := r.PDF(in)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pdf  []byte
		want error
	}{
		{"plain fpdf PDF", buf.Bytes(), verifier.ErrNotLicensePDF},
		{"license without attachments", bare, verifier.ErrNotLicensePDF},
		{"not a PDF", []byte("hello"), verifier.ErrNotLicensePDF},
		{"too large", make([]byte, verifier.MaxPDFSize+1), verifier.ErrTooLarge},
	}
	for _, tt := range tests {
		if _, err := verifier.ExtractAttachments(tt.pdf); !errors.Is(err, tt.want) {
			t.Errorf("ExtractAttachments(%s) = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := verifier.VisibleIdentifier(buf.Bytes()); !errors.Is(err, verifier.ErrNotLicensePDF) {
		t.Errorf("VisibleIdentifier(plain) = %v, want ErrNotLicensePDF", err)
	}
	if id, err := verifier.VisibleIdentifier(bare); err != nil || id != in.Record.Identifier {
		t.Errorf("VisibleIdentifier(bare) = %q, %v", id, err)
	}
}

func TestMissingGlyph(t *testing.T) {
	r := testRenderer(t)
	in := catalogInputs(t)[0]
	in.Record.Holder = "长沙市𠀋有限公司" // outside the BMP
	_, err := r.PDF(in)
	var mg *MissingGlyphError
	if !errors.As(err, &mg) || !errors.Is(err, ErrMissingGlyph) || mg.Rune != '𠀋' {
		t.Fatalf("err = %v, want a MissingGlyphError for 𠀋", err)
	}
}

func TestInvalidInput(t *testing.T) {
	r := testRenderer(t)
	base := catalogInputs(t)[0]
	noID := base
	noID.Record.Identifier = ""
	noQR := base
	noQR.QRPayload = ""
	badSeal := base
	badSeal.SealPNG = []byte("not a png")
	for name, in := range map[string]Input{"no identifier": noID, "no QR": noQR, "bad seal": badSeal} {
		if _, err := r.PDF(in); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: %v, want ErrInvalidInput", name, err)
		}
	}
	// No seal: a placeholder, still a valid PDF.
	unsealed := base
	unsealed.SealPNG = nil
	pdf, err := r.PDF(unsealed)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(pdftotext(t, pdf), "未加盖印章") {
		t.Error("unsealed face lacks 未加盖印章")
	}
}

func TestNewRendererRejectsBadFonts(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty": nil,
		"ttc":   append([]byte("ttcf"), make([]byte, 40)...),
		"otf":   append([]byte("OTTO"), make([]byte, 40)...),
	} {
		if _, err := NewRenderer(b); !errors.Is(err, ErrBadFont) {
			t.Errorf("%s: %v, want ErrBadFont", name, err)
		}
	}
}

func TestFindFontMessage(t *testing.T) {
	saved := FontPaths
	defer func() { FontPaths = saved }()
	FontPaths = []string{filepath.Join(t.TempDir(), "none.ttf")}
	_, err := FindFont()
	if !errors.Is(err, ErrFontNotFound) || !strings.Contains(err.Error(), "fonts-arphic-gbsn00lp") {
		t.Errorf("FindFont = %v", err)
	}
}

// TestSize reports each type's PDF size; the target is ≤ 200 KB.
func TestSize(t *testing.T) {
	r := testRenderer(t)
	for _, in := range catalogInputs(t) {
		pdf, err := r.PDF(in)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-10s %6d bytes", in.Type.Name, len(pdf))
		if len(pdf) > 200_000 {
			t.Errorf("%s: %d bytes, over 200 KB", in.Type.Name, len(pdf))
		}
	}
}

// BenchmarkPDF renders a 营业执照. The 600-character payload is above the
// size of a real compact credential; the 20-character case shows the rest
// of the work.
func BenchmarkPDF(b *testing.B) {
	r := testRenderer(b)
	for _, n := range []int{600, 20} {
		in := catalogInputs(b)[2]
		in.QRPayload = testPayload(1)[:4+n]
		b.Run(fmt.Sprintf("payload%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.PDF(in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pdf/s")
		})
	}
}

// BenchmarkQREncode is the QR encoding alone, for the 600-character
// payload: ours, and boombuler/barcode's (which the renderer used before).
func BenchmarkQREncode(b *testing.B) {
	p := testPayload(1)
	b.Run("ours", func(b *testing.B) {
		for b.Loop() {
			if _, err := encodeQR(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("boombuler", func(b *testing.B) {
		for b.Loop() {
			if _, err := qr.Encode(p, qr.M, qr.Auto); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The penalty of a blank 21 × 21 grid, rule by rule: 42 runs of 21 (19
// each), 400 blocks of 2 × 2 (3 each), no finder pattern, 0 % dark (100).
func TestQRPenaltyBlank(t *testing.T) {
	c := &qrCode{n: 21, dark: make([]bool, 21*21)}
	if got, want := c.penalty(), 42*19+400*3+100; got != want {
		t.Errorf("penalty = %d, want %d", got, want)
	}
	// One finder-like row pattern with light modules around it adds 40
	// (and changes runs, blocks and balance, which we add up too).
	for x, d := range []bool{true, false, true, true, true, false, true} {
		c.dark[10*21+7+x] = d
	}
	if got := c.penalty(); got < 40 {
		t.Errorf("penalty with a finder pattern = %d", got)
	}
}

// Our encoder's codes decode to the payload in gozxing, for payloads of
// every length a license can have.
func TestQREncodeDecodes(t *testing.T) {
	base := testPayload(1)
	for n := 50; n <= 600; n += 37 {
		p := base[:n]
		img, err := QRPNG(p, 800)
		if err != nil {
			t.Fatal(err)
		}
		if got := decodeQR(t, img); got != p {
			t.Errorf("%d characters: decodes to %q", n, got)
		}
	}
}

func BenchmarkNewRenderer(b *testing.B) {
	font, err := FindFont()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := NewRenderer(font); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVerifierReadsFaceBack: the verifier reads every face the renderer
// draws back as license.NewFace has it, with nothing it would take for a
// forgery, and its QR code as printed: every catalog type, a face with a
// continuation page, and an unsealed face.
func TestVerifierReadsFaceBack(t *testing.T) {
	r := testRenderer(t)
	ins := catalogInputs(t)
	var long Input
	for _, in := range ins {
		if in.Type.Name == "营业执照" {
			long = in
		}
	}
	long.Record.Fields = maps.Clone(long.Record.Fields)
	long.Record.Fields["businessScope"] = strings.Repeat("许可项目：餐饮服务；食品销售（仅销售预包装食品）。一般项目：ABC123技术服务、技术开发。", 40)
	if pdf, err := r.PDF(long); err != nil || !strings.Contains(pdftotext(t, pdf, "-raw"), license.FaceContinued) {
		t.Fatalf("the long face has no continuation page (%v)", err)
	}
	unsealed := ins[1]
	unsealed.SealPNG = nil
	for i, in := range append(ins, long, unsealed) {
		pdf, err := r.PDF(in)
		if err != nil {
			t.Fatal(err)
		}
		if err := verifier.CheckFace(pdf, license.NewFace(in.Type, in.Record)); err != nil {
			t.Errorf("%d %s: %v", i, in.Type.Name, err)
		}
		if qr, err := verifier.PrintedQR(pdf); err != nil || qr != in.QRPayload {
			t.Errorf("%d %s: QR code read back as %q, %v; want %q", i, in.Type.Name, qr, err, in.QRPayload)
		}
	}
}

// A license's face shows its version: a change or renewal prints 版本 002,
// and the verifier reads the face back with it.
func TestFaceShowsVersion(t *testing.T) {
	r := testRenderer(t)
	typ, _ := license.DefaultCatalog().Type("11100000000013338W001")
	in := testInput(t, typ, "2024000123")
	id, err := license.ParseIdentifier(in.Record.Identifier)
	if err != nil {
		t.Fatal(err)
	}
	for _, version := range []string{"001", "002"} {
		id.Version = version
		next, err := license.NewIdentifier(id.TypeCode, id.IssuerUSCC, id.Serial, version)
		if err != nil {
			t.Fatal(err)
		}
		in.Record.Identifier = next.String()
		pdf, err := r.PDF(in)
		if err != nil {
			t.Fatal(err)
		}
		if text := pdftotext(t, pdf, "-layout"); !strings.Contains(text, license.FaceVersionPrefix+version) {
			t.Errorf("version %s: the face does not say %q:\n%s", version, license.FaceVersionPrefix+version, text)
		}
		if err := verifier.CheckFace(pdf, license.NewFace(in.Type, in.Record)); err != nil {
			t.Errorf("version %s: the verifier does not read the face back: %v", version, err)
		}
		if dir := os.Getenv("ZZ_FACE_DIR"); dir != "" { // to look at it: pdftoppm -png
			os.WriteFile(filepath.Join(dir, "face-"+version+".pdf"), pdf, 0o644)
		}
	}
}
