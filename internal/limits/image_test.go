package limits

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
)

func encodedPNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodedJPEG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 50}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// jpegFrame is a JPEG's start up to its first scan: SOI, a frame header of
// marker sof with components of the sampling factors hv, SOS.
func jpegFrame(w, h int, sof byte, hv ...byte) []byte {
	n := len(hv)
	b := []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, sof, 0, byte(8 + 3*n), 8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(n)}
	for i, f := range hv {
		b = append(b, byte(i+1), f, 0)
	}
	return append(b, 0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0)
}

// The memory a picture will take is told from its header, by its layout.
func TestDecodeMemory(t *testing.T) {
	const w, h = 40, 30
	px := int64(w * h)
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range rgba.Pix {
		rgba.Pix[i] = byte(i * 7)
	}
	pal := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.White, color.Black})
	for _, tt := range []struct {
		name string
		data []byte
		want int64
	}{
		{"grey PNG", encodedPNG(t, image.NewGray(image.Rect(0, 0, w, h))), px},
		{"16-bit grey PNG", encodedPNG(t, image.NewGray16(image.Rect(0, 0, w, h))), 2 * px},
		{"paletted PNG", encodedPNG(t, pal), px},
		{"RGBA PNG", encodedPNG(t, rgba), 4 * px},
		{"16-bit RGBA PNG", encodedPNG(t, image.NewNRGBA64(image.Rect(0, 0, w, h))), 8 * px},
		{"4:2:0 baseline JPEG", encodedJPEG(t, rgba), px * 6 / 4},
		{"grey baseline JPEG", encodedJPEG(t, image.NewGray(image.Rect(0, 0, w, h))), px},
		{"4:4:4 progressive JPEG", jpegFrame(w, h, 0xC2, 0x11, 0x11, 0x11), px * 15},
		{"4:2:0 progressive JPEG", jpegFrame(w, h, 0xC2, 0x22, 0x11, 0x11), px * 30 / 4},
		{"JPEG without a frame header", []byte{0xFF, 0xD8, 0xFF, 0xDA, 0, 2}, px * 15},
	} {
		t.Run(tt.name, func(t *testing.T) {
			format := "png"
			if tt.data[0] == 0xFF {
				format = "jpeg"
			}
			cfg, _, err := image.DecodeConfig(bytes.NewReader(tt.data))
			if err != nil { // no frame header: only the size is known
				cfg = image.Config{Width: w, Height: h}
			}
			if got := DecodeMemory(tt.data, format, cfg); got != tt.want {
				t.Errorf("DecodeMemory = %d, want %d (%T)", got, tt.want, cfg.ColorModel)
			}
		})
	}
}

// Over either limit is an *ImageTooLargeError naming it; within both, the
// header is admitted; a header that is no picture is the decoder's error.
func TestCheckImage(t *testing.T) {
	small := encodedPNG(t, image.NewGray(image.Rect(0, 0, 20, 20)))
	if _, format, err := CheckImage(small); err != nil || format != "png" {
		t.Fatalf("CheckImage(small PNG) = %q, %v", format, err)
	}
	if _, _, err := CheckImage([]byte("not a picture")); err == nil {
		t.Fatal("CheckImage(text) admitted it")
	}
	for _, tt := range []struct {
		name, want string
		data       []byte
	}{
		{"too many pixels", "超过上限 2400 万像素", jpegFrame(8000, 6000, 0xC0, 0x22, 0x11, 0x11)},
		{"too much memory", "超过上限 160 MiB", jpegFrame(4000, 4000, 0xC2, 0x11, 0x11, 0x11)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := CheckImage(tt.data)
			var e *ImageTooLargeError
			if !errors.As(err, &e) || e.Code() != CodeImageTooLarge || !strings.Contains(err.Error(), tt.want) || !strings.HasSuffix(err.Error(), "(image_too_large)") {
				t.Errorf("CheckImage = %v, want an ImageTooLargeError naming %q", err, tt.want)
			}
		})
	}
}

// manyScans is a small progressive JPEG frame followed by n scans of a
// few bytes each (with a stuffed 0xFF and a restart marker in their data),
// and an APP1 segment full of SOS-like bytes before them.
func manyScans(n int) []byte {
	frame := jpegFrame(64, 64, 0xC2, 0x11, 0x11, 0x11)
	b := append([]byte{}, frame[:len(frame)-10]...) // without its SOS
	app1 := bytes.Repeat([]byte{0xFF, 0xDA}, 50)
	b = append(b, 0xFF, 0xE1, 0, byte(2+len(app1)))
	b = append(b, app1...)
	for range n {
		b = append(b, 0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0, 0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56)
	}
	return append(b, 0xFF, 0xD9)
}

// A JPEG of more scans than ImageJPEGScans is refused; bytes inside a
// segment are not counted as scans.
func TestJPEGScans(t *testing.T) {
	if got := jpegScans(manyScans(3)); got != 3 {
		t.Errorf("jpegScans(3 scans) = %d", got)
	}
	if _, _, err := CheckImage(manyScans(ImageJPEGScans)); err != nil {
		t.Errorf("CheckImage(%d scans) = %v", ImageJPEGScans, err)
	}
	_, _, err := CheckImage(manyScans(ImageJPEGScans + 1))
	var e *ImageTooLargeError
	if !errors.As(err, &e) || e.Scans != ImageJPEGScans+1 || !strings.Contains(err.Error(), "超过上限 64 个") {
		t.Errorf("CheckImage(%d scans) = %v, want the scan limit named", ImageJPEGScans+1, err)
	}
	real := encodedJPEG(t, image.NewGray(image.Rect(0, 0, 16, 16)))
	if got := jpegScans(real); got != 1 {
		t.Errorf("jpegScans(baseline JPEG) = %d, want 1", got)
	}
}

// Any bytes: CheckImage never panics, and what it admits is within both
// limits.
func FuzzCheckImage(f *testing.F) {
	f.Add(jpegFrame(100, 100, 0xC2, 0x22, 0x11, 0x11))
	f.Add(jpegFrame(8000, 6000, 0xC0, 0x11))
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add(manyScans(3))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, format, err := CheckImage(data)
		if err != nil {
			return
		}
		if int64(cfg.Width)*int64(cfg.Height) > ImagePixels || DecodeMemory(data, format, cfg) > ImageMemory {
			t.Errorf("admitted %d×%d %s", cfg.Width, cfg.Height, format)
		}
	})
}
