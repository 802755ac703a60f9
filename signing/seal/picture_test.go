package seal

import (
	"bytes"
	"errors"
	"flag"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/seal-example.png")

const (
	exampleName   = "湖南省市场监督管理局"
	exampleBottom = "行政审批专用章"
	examplePath   = "testdata/seal-example.png"
)

// testFont reads Debian's fonts-arphic-gbsn00lp (or fonts-lxgw-wenkai),
// which .ci/run installs; the binary finds fonts with render.FindFont,
// which this package cannot import.
func testFont(t testing.TB) []byte {
	t.Helper()
	for _, p := range []string{
		"/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf",
		"/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf",
	} {
		if f, err := os.ReadFile(p); err == nil {
			return f
		}
	}
	t.Skip("no CJK TrueType font: install the Debian package fonts-arphic-gbsn00lp")
	return nil
}

func decodePNG(t testing.TB, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func alphaAt(img image.Image, x, y int) uint32 {
	_, _, _, a := img.At(x, y).RGBA()
	return a >> 8
}

func TestDrawPicture(t *testing.T) {
	font := testFont(t)
	b, err := DrawPicture(exampleName, exampleBottom, font)
	if err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, b)
	if got := img.Bounds(); got.Dx() != PicturePixels || got.Dy() != PicturePixels {
		t.Fatalf("size %v, want %d×%d", got, PicturePixels, PicturePixels)
	}
	c := PicturePixels / 2
	px := float64(PicturePixels) / (2 * ringOuterMM)
	ringMid := int(math.Round((ringOuterMM - ringWidthMM/2) * px))
	tests := []struct {
		name string
		x, y int
		ink  bool
	}{
		{"top-left corner", 0, 0, false},
		{"bottom-right corner", PicturePixels - 1, PicturePixels - 1, false},
		{"star centre", c, c, true},
		{"star top point", c, c - int(starRadiusMM*px) + 6, true},
		{"between star points", c + int(starRadiusMM*px*0.8), c - int(starRadiusMM*px*0.6), false},
		{"ring top", c, c - ringMid, true},
		{"ring left", c - ringMid, c, true},
		{"ring bottom", c, c + ringMid, true},
		{"inside the ring, below the bottom line", c, c + int((bottomYMM+bottomHMM/2+1.2)*px), false},
	}
	for _, tc := range tests {
		a := alphaAt(img, tc.x, tc.y)
		if tc.ink && a < 180 || !tc.ink && a != 0 {
			t.Errorf("%s (%d,%d): alpha %d, want ink=%v", tc.name, tc.x, tc.y, a, tc.ink)
		}
	}
	// Red ink, nothing else.
	if ink := color.NRGBAModel.Convert(img.At(c, c)).(color.NRGBA); ink.R < 0xD0 || ink.G > 0x20 || ink.B > 0x30 || ink.A == 0xFF {
		t.Errorf("ink %v, want about E60012, not fully opaque", ink)
	}
	// Round: the ring is as thick at every angle.
	for deg := 0; deg < 360; deg += 15 {
		rad := float64(deg) * math.Pi / 180
		x := c + int(math.Round(float64(ringMid)*math.Sin(rad)))
		y := c - int(math.Round(float64(ringMid)*math.Cos(rad)))
		if a := alphaAt(img, x, y); a < 180 {
			t.Errorf("ring at %d°: alpha %d", deg, a)
		}
	}
	// Symmetric star: mirror pixels match.
	for dy := -90; dy <= 90; dy += 10 {
		for dx := 5; dx < 100; dx += 7 {
			if l, r := alphaAt(img, c-dx, c+dy) > 128, alphaAt(img, c+dx, c+dy) > 128; l != r && math.Abs(float64(dy)) < starRadiusMM*px*0.7 {
				t.Errorf("star not symmetric at (±%d, %d)", dx, dy)
			}
		}
	}
	again, err := DrawPicture(exampleName, exampleBottom, font)
	if err != nil || !bytes.Equal(again, b) {
		t.Error("DrawPicture is not deterministic")
	}

	if *update {
		if err := os.MkdirAll(filepath.Dir(examplePath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(examplePath, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatalf("golden picture: %v (run go test -update)", err)
	}
	want := decodePNG(t, golden)
	differ := 0
	for y := 0; y < PicturePixels; y++ {
		for x := 0; x < PicturePixels; x++ {
			if d := int(alphaAt(img, x, y)) - int(alphaAt(want, x, y)); d > 16 || d < -16 {
				differ++
			}
		}
	}
	if differ > PicturePixels*PicturePixels/200 {
		t.Errorf("%d pixels differ from %s (run go test -update after checking the picture)", differ, examplePath)
	}
}

func TestDrawPictureText(t *testing.T) {
	font := testFont(t)
	// Every name length draws, and more characters mean more ink.
	names := []string{"局", "人民政府", "某某县人民政府", "中华人民共和国国家市场监督管理总局", "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十"}
	for _, name := range names {
		b, err := DrawPicture(name, "", font)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		decodePNG(t, b)
	}
	tests := []struct {
		name, bottom string
		font         []byte
	}{
		{"", "", font},
		{string(make([]rune, maxNameRunes+1)), "", font},
		{"局", "一二三四五六七八九十一二三四五六七", font},
		{"\xff", "", font},
		{"局", "", nil},
		{"局", "", []byte("not a font")},
		{"局\U0001F600", "", font}, // no glyph
	}
	for _, tc := range tests {
		if _, err := DrawPicture(tc.name, tc.bottom, tc.font); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("DrawPicture(%q, %q): %v, want ErrInvalidInput", tc.name, tc.bottom, err)
		}
	}
}

// TestDrawnPictureInSeal puts a drawn picture in a seal and reads it back.
func TestDrawnPictureInSeal(t *testing.T) {
	font := testFont(t)
	w := newWorld(t)
	pic, err := DrawPicture(exampleName, "", font)
	if err != nil {
		t.Fatal(err)
	}
	p := w.props()
	p.Picture = Picture{Type: PictureTypePNG, Data: pic, WidthMM: PictureDiameterMM, HeightMM: PictureDiameterMM}
	s, err := Make(w.rootKey, w.root, p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseSeal(s.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Picture.Data, pic) || got.Picture.WidthMM != 42 || got.Picture.HeightMM != 42 {
		t.Error("picture lost in the seal")
	}
}
