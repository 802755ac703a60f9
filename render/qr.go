package render

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
)

// QR image limits for QRPNG, in pixels.
const (
	MinQRPixels = 64
	MaxQRPixels = 2048
)

// quietZone is the light margin around a QR code, in modules (ISO/IEC 18004).
const quietZone = 4

// QRPNG encodes payload as a QR code (error correction M) in a px×px
// black-and-white PNG with a quiet zone of at least 4 modules. Modules are
// whole pixels, so px must leave at least one pixel per module; errors wrap
// ErrInvalidInput.
func QRPNG(payload string, px int) ([]byte, error) {
	if px < MinQRPixels || px > MaxQRPixels {
		return nil, fmt.Errorf("%w: QR size %d px, want %d to %d", ErrInvalidInput, px, MinQRPixels, MaxQRPixels)
	}
	if payload == "" {
		return nil, fmt.Errorf("%w: empty QR payload", ErrInvalidInput)
	}
	code, err := encodeQR(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: QR payload: %v", ErrInvalidInput, err)
	}
	n := code.n
	scale := px / (n + 2*quietZone)
	if scale < 1 {
		return nil, fmt.Errorf("%w: %d px is too small for a QR code of %d modules (need %d)", ErrInvalidInput, px, n, n+2*quietZone)
	}
	off := (px - n*scale) / 2
	img := image.NewPaletted(image.Rect(0, 0, px, px), color.Palette{color.White, color.Black})
	for y := range n {
		for x := range n {
			if !code.at(x, y) {
				continue
			}
			for dy := range scale {
				row := img.Pix[(off+y*scale+dy)*img.Stride:]
				for dx := range scale {
					row[off+x*scale+dx] = 1
				}
			}
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("render: encode QR PNG: %w", err)
	}
	return buf.Bytes(), nil
}
