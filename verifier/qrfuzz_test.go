package verifier_test

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"testing"

	"zhengzhao/render"
	"zhengzhao/verifier"
)

// FuzzDecodeQR: any bytes given as a picture either read as a QR code or
// fail with ErrNoQRCode or ErrTooLarge; nothing panics.
func FuzzDecodeQR(f *testing.F) {
	pic, err := render.QRPNG("ZZ1:FUZZ", 96)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pic)
	f.Add(pic[:len(pic)/2])
	var j bytes.Buffer
	img, _, err := image.Decode(bytes.NewReader(pic))
	if err != nil {
		f.Fatal(err)
	}
	if err := jpeg.Encode(&j, img, &jpeg.Options{Quality: 50}); err != nil {
		f.Fatal(err)
	}
	f.Add(j.Bytes())
	f.Add(jpegHeader(64, 64, 0xC2, 0x22))
	f.Add(scanBombJPEG(16, 16, 3))
	f.Fuzz(func(t *testing.T, b []byte) {
		text, err := verifier.DecodeQR(b)
		if err != nil && !errors.Is(err, verifier.ErrNoQRCode) && !errors.Is(err, verifier.ErrTooLarge) {
			t.Errorf("DecodeQR = %q, %v: neither ErrNoQRCode nor ErrTooLarge", text, err)
		}
	})
}
