package render

import (
	"bytes"
	"flag"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"zhengzhao/license"
)

var (
	update = flag.Bool("update", false, "rewrite testdata/*.golden")
)

// fixed test values
var (
	testCreatedAt = time.Date(2024, 3, 15, 9, 30, 0, 0, time.UTC)
	testIssuer    = uscc("11430104MB0281536") // a 机关 USCC with a computed check character
)

// pinyin names the PNGs under docs/licenses.
var pinyin = map[string]string{
	"营业执照":      "yingye-zhizhao",
	"食品经营许可证":   "shipin-jingying-xukezheng",
	"药品经营许可证":   "yaopin-jingying-xukezheng",
	"不动产权证书":    "budongchan-quanzhengshu",
	"建设工程规划许可证": "jianshe-gongcheng-guihua-xukezheng",
	"道路运输经营许可证": "daolu-yunshu-jingying-xukezheng",
	"出生医学证明":    "chusheng-yixue-zhengming",
	"律师执业证":     "lvshi-zhiyezheng",
}

var issuers = map[string]string{
	"营业执照":      "长沙市岳麓区市场监督管理局",
	"食品经营许可证":   "长沙市岳麓区市场监督管理局",
	"药品经营许可证":   "湖南省药品监督管理局",
	"不动产权证书":    "长沙市自然资源和规划局",
	"建设工程规划许可证": "长沙市自然资源和规划局",
	"道路运输经营许可证": "长沙市交通运输局",
	"出生医学证明":    "湖南省妇幼保健院",
	"律师执业证":     "湖南省司法厅",
}

// uscc completes a 17-character USCC body with its check character.
func uscc(body string) string {
	for _, c := range "0123456789ABCDEFGHJKLMNPQRTUWXY" {
		if license.ValidateUSCC(body+string(c)) == nil {
			return body + string(c)
		}
	}
	panic("no USCC check character for " + body)
}

var (
	rendererOnce sync.Once
	testR        *Renderer
	testRErr     error
)

func testRenderer(t testing.TB) *Renderer {
	t.Helper()
	rendererOnce.Do(func() {
		font, err := FindFont()
		if err != nil {
			testRErr = err
			return
		}
		testR, testRErr = NewRenderer(font)
	})
	if testRErr != nil {
		t.Fatal(testRErr)
	}
	return testR
}

// testPayload is a realistic compact QR payload: ZZ1: and 600 Base45 characters.
func testPayload(seed int) string {
	const b45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	var sb strings.Builder
	sb.WriteString("ZZ1:")
	x := uint32(seed*7919 + 1)
	for range 600 {
		x = x*1664525 + 1013904223
		sb.WriteByte(b45[(x>>16)%45])
	}
	return sb.String()
}

// testInput is the example record of t, issued with fixed values.
func testInput(t testing.TB, typ license.Type, serial string) Input {
	t.Helper()
	rec := typ.Example(testIssuer, issuers[typ.Name])
	id, err := license.NewIdentifier(typ.Code, testIssuer, serial, "001")
	if err != nil {
		t.Fatal(err)
	}
	rec.Identifier = id.String()
	rec.Number = "430104" + serial
	if err := typ.Validate(rec); err != nil {
		t.Fatalf("%s example: %v", typ.Name, err)
	}
	return Input{
		Type:      typ,
		Record:    rec,
		SealPNG:   testSeal(),
		QRPayload: testPayload(len(serial) + int(typ.Code[20])),
		Attachments: []Attachment{
			{Name: AttachmentCredential, Description: "电子证照凭证", Data: []byte(`{"credentialSubject":{"identifier":"` + rec.Identifier + `"}}`)},
			{Name: AttachmentSeal, Description: "SES_Signature", Data: []byte{0x30, 0x03, 0x02, 0x01, 0x01}},
		},
		CreatedAt: testCreatedAt,
	}
}

var testSeal = sync.OnceValue(func() []byte {
	// A round red seal: a thick ring, a thin inner ring and a five-pointed
	// star, on a transparent background, 480 px (about 290 dpi at 42 mm).
	const n = 480
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	red := color.NRGBA{R: 220, G: 30, B: 30, A: 215}
	c := float64(n) / 2
	star := starPolygon(c, c, 70, 27)
	for y := range n {
		for x := range n {
			fx, fy := float64(x)+0.5, float64(y)+0.5
			r := math.Hypot(fx-c, fy-c)
			if (r <= 236 && r >= 222) || (r <= 206 && r >= 203) || inPolygon(star, fx, fy) {
				img.SetNRGBA(x, y, red)
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
})

func starPolygon(cx, cy, outer, inner float64) [][2]float64 {
	var pts [][2]float64
	for i := range 10 {
		r := outer
		if i%2 == 1 {
			r = inner
		}
		a := -math.Pi/2 + float64(i)*math.Pi/5
		pts = append(pts, [2]float64{cx + r*math.Cos(a), cy + r*math.Sin(a)})
	}
	return pts
}

func inPolygon(pts [][2]float64, x, y float64) bool {
	in := false
	for i, j := 0, len(pts)-1; i < len(pts); j, i = i, i+1 {
		a, b := pts[i], pts[j]
		if (a[1] > y) != (b[1] > y) && x < (b[0]-a[0])*(y-a[1])/(b[1]-a[1])+a[0] {
			in = !in
		}
	}
	return in
}

// needTool skips the test when a poppler tool is missing (CI installs
// poppler-utils).
func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s not installed (apt-get install poppler-utils)", name)
	}
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// pdftotext runs poppler's pdftotext with args on pdf.
func pdftotext(t *testing.T, pdf []byte, args ...string) string {
	t.Helper()
	needTool(t, "pdftotext")
	in := writeTemp(t, "in.pdf", pdf)
	out, err := exec.Command("pdftotext", append(append(args, in), "-")...).Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// pdftoppm renders page 1 of pdf as PNG at dpi.
func pdftoppm(t *testing.T, pdf []byte, dpi string) []byte {
	t.Helper()
	needTool(t, "pdftoppm")
	in := writeTemp(t, "in.pdf", pdf)
	out, err := exec.Command("pdftoppm", "-r", dpi, "-png", "-f", "1", "-l", "1", "-singlefile", in).Output()
	if err != nil {
		t.Fatalf("pdftoppm: %v", err)
	}
	return out
}
