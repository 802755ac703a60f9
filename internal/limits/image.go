package limits

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // DecodeConfig of the pictures CheckImage admits
	_ "image/png"
)

// Pictures: the photos and scans of a QR code that the verifier decodes. A
// picture is admitted by its header alone, before any pixel is allocated,
// so a small file that declares a huge canvas costs nothing.
const (
	// ImagePixels is the largest picture accepted, width × height: a
	// 24-megapixel camera (6000×4000), an A3 page scanned at 300 dpi, an A4
	// page at 400 dpi.
	ImagePixels = 24_000_000

	// ImageMemory bounds the bytes the standard decoders allocate for one
	// picture, estimated from its header (DecodeMemory): the pixels in the
	// decoded layout, an interlaced PNG's passes, a progressive JPEG's
	// coefficients. With QRWorkPixels it keeps one picture's memory growth
	// under 256 MiB (a 6000×4000 RGBA PNG: about 100 MiB).
	ImageMemory = 160 << 20

	// QRWorkPixels bounds the grey working copy the QR reader makes of a
	// picture (a larger one is box-averaged down by a whole factor), and so
	// the cost of each of its fixed number of attempts: an A4 page at 300
	// dpi (8.7 megapixels) is read whole, a phone photo at half size.
	QRWorkPixels = 9_000_000

	// ImageJPEGScans is the most scans a JPEG may hold. Each scan of a
	// progressive JPEG makes the decoder pass over every block of the
	// picture again, however few bytes the scan takes, so a small file of
	// many scans is a CPU bomb; a camera's progressive JPEG has about 10.
	ImageJPEGScans = 64
)

// CodeImageTooLarge is the stable, English code of an ImageTooLargeError,
// for API clients to branch on.
const CodeImageTooLarge = "image_too_large"

// ImageTooLargeError says that a picture exceeds ImagePixels, ImageMemory
// or ImageJPEGScans. Its message is Chinese, for people; Code is for machines.
// Error returns both: "message (code)".
type ImageTooLargeError struct {
	// Format is "png" or "jpeg"; Width and Height are the declared size.
	Format        string
	Width, Height int
	// DecodeBytes is the estimated memory to decode it, when that is the
	// limit exceeded.
	DecodeBytes int64
	// Scans is the number of scans of a JPEG, when that is the limit
	// exceeded.
	Scans int
}

// Code returns CodeImageTooLarge.
func (e *ImageTooLargeError) Code() string { return CodeImageTooLarge }

// Error returns Message and the code.
func (e *ImageTooLargeError) Error() string { return e.Message() + " (" + CodeImageTooLarge + ")" }

// Message names the picture's size and the limit it exceeds, in Chinese.
func (e *ImageTooLargeError) Message() string {
	px := float64(e.Width) * float64(e.Height)
	if e.Scans > 0 {
		return fmt.Sprintf("图片过于复杂：%s 图片含 %d 个扫描段，超过上限 %d 个",
			formatName(e.Format), e.Scans, ImageJPEGScans)
	}
	if e.DecodeBytes == 0 {
		return fmt.Sprintf("图片过大：%s 图片为 %d×%d 像素（约 %.0f 万像素），超过上限 %d 万像素（如 6000×4000）",
			formatName(e.Format), e.Width, e.Height, px/1e4, ImagePixels/10_000)
	}
	return fmt.Sprintf("图片过大：%s 图片为 %d×%d 像素，按其格式解码约需 %d MiB 内存，超过上限 %d MiB",
		formatName(e.Format), e.Width, e.Height, (e.DecodeBytes+(1<<20)-1)>>20, ImageMemory>>20)
}

func formatName(f string) string {
	switch f {
	case "png":
		return "PNG"
	case "jpeg":
		return "JPEG"
	}
	return f
}

// CheckImage reads the header of a PNG or JPEG picture and admits it if it
// is within ImagePixels, ImageMemory and (a JPEG) ImageJPEGScans; only the
// scan count reads past the header. It returns the header's
// configuration and format; an unreadable header is the decoder's error, a
// picture over a limit an *ImageTooLargeError.
func CheckImage(data []byte) (image.Config, string, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return cfg, format, err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return cfg, format, fmt.Errorf("the %s picture declares an empty size %d×%d", format, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > ImagePixels {
		return cfg, format, &ImageTooLargeError{Format: format, Width: cfg.Width, Height: cfg.Height}
	}
	if n := DecodeMemory(data, format, cfg); n > ImageMemory {
		return cfg, format, &ImageTooLargeError{Format: format, Width: cfg.Width, Height: cfg.Height, DecodeBytes: n}
	}
	if format == "jpeg" {
		if n := jpegScans(data); n > ImageJPEGScans {
			return cfg, format, &ImageTooLargeError{Format: format, Width: cfg.Width, Height: cfg.Height, Scans: n}
		}
	}
	return cfg, format, nil
}

// DecodeMemory estimates from its header what Go's standard decoder
// allocates for a picture: width × height × the bytes a pixel takes in the
// decoded layout, twice for an interlaced PNG (its passes, then the
// picture), and for a progressive JPEG 4 more bytes a sample for the
// coefficients kept until the last scan. An unknown layout is estimated at
// its worst.
func DecodeMemory(data []byte, format string, cfg image.Config) int64 {
	px := int64(cfg.Width) * int64(cfg.Height)
	switch format {
	case "png":
		var per int64
		switch cfg.ColorModel {
		case color.GrayModel:
			per = 1
		case color.Gray16Model:
			per = 2
		case color.RGBAModel, color.NRGBAModel:
			per = 4
		default: // 16-bit colour, or a palette
			if _, ok := cfg.ColorModel.(color.Palette); ok {
				per = 1
			} else {
				per = 8
			}
		}
		// IHDR is the first chunk: its interlace method is byte 28.
		if len(data) > 28 && data[28] != 0 {
			per *= 2
		}
		return px * per
	case "jpeg":
		samples, progressive, ok := jpegLayout(data)
		if !ok {
			return px * 3 * 5 // three full-resolution components, progressive
		}
		// samples is in quarters of a sample per pixel.
		per := samples
		if progressive {
			per += 4 * samples
		}
		if cfg.ColorModel == color.CMYKModel {
			per += 4 * 4 // converted from the decoded components into CMYK
		}
		return px * per / 4
	}
	return px * 8
}

// jpegLayout reads a JPEG's frame header: how many samples a pixel has
// over all components, in quarters (4:2:0 colour is 6, 4:4:4 is 12, grey
// 4), and whether the frame is progressive.
func jpegLayout(data []byte) (quarterSamples int64, progressive, ok bool) {
	i := 2 // after SOI
	for i+4 <= len(data) {
		if data[i] != 0xFF {
			return 0, false, false
		}
		m := data[i+1]
		switch {
		case m == 0xFF: // fill byte
			i++
			continue
		case m == 0x01 || (m >= 0xD0 && m <= 0xD8): // no length
			i += 2
			continue
		case m == 0xDA || m == 0xD9: // scan or end before a frame header
			return 0, false, false
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		seg := data[i+4:]
		if n < 2 || len(seg) < n-2 {
			return 0, false, false
		}
		seg = seg[:n-2]
		if m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC {
			if len(seg) < 6 {
				return 0, false, false
			}
			nc := int(seg[5])
			if nc == 0 || len(seg) < 6+3*nc {
				return 0, false, false
			}
			var maxH, maxV, sum int64 = 1, 1, 0
			for c := range nc {
				hv := seg[6+3*c+1]
				maxH, maxV = max(maxH, int64(hv>>4)), max(maxV, int64(hv&15))
			}
			for c := range nc {
				hv := seg[6+3*c+1]
				sum += int64(hv>>4) * int64(hv&15) * 4 / (maxH * maxV)
			}
			return max(sum, 1), m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE, true
		}
		i += 2 + n
	}
	return 0, false, false
}

// jpegScans counts the scans (SOS markers) of a JPEG, walking its marker
// segments by their lengths and its entropy-coded data to the next marker
// (in which 0xFF is followed by 0x00 or a restart marker), so that bytes
// inside a segment, such as an EXIF thumbnail, are not counted. It stops
// at EOI or at the first thing that is not a JPEG.
func jpegScans(data []byte) int {
	n := 0
	i := 2 // after SOI
	for i+2 <= len(data) {
		if data[i] != 0xFF {
			return n
		}
		m := data[i+1]
		switch {
		case m == 0xFF:
			i++
			continue
		case m == 0xD9: // EOI
			return n
		case m == 0x01 || (m >= 0xD0 && m <= 0xD8):
			i += 2
			continue
		}
		if i+4 > len(data) {
			return n
		}
		i += 2 + int(binary.BigEndian.Uint16(data[i+2:]))
		if m != 0xDA {
			continue
		}
		n++
		for i+1 < len(data) && (data[i] != 0xFF || data[i+1] == 0 || (data[i+1] >= 0xD0 && data[i+1] <= 0xD7)) {
			i++
		}
	}
	return n
}
