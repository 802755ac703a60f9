package verifier_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"zhengzhao/internal/limits"
	"zhengzhao/verifier"
	"zhengzhao/verifier/verifiertest"
)

// bombPNG is a PNG of w×h white pixels (8-bit RGBA, or 16-bit when deep):
// a few hundred kilobytes, as every row compresses to almost nothing. With
// rows false it carries one row only: a header declaring a canvas it does
// not hold, which a decoder that allocates first still pays for.
func bombPNG(t testing.TB, w, h int, deep, rows bool) []byte {
	return drawnPNG(t, w, h, deep, rows, nil)
}

// drawnPNG is bombPNG with the pixels where black(x, y) is true black.
func drawnPNG(t testing.TB, w, h int, deep, rows bool, black func(x, y int) bool) []byte {
	t.Helper()
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&out, binary.BigEndian, uint32(len(data)))
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		out.WriteString(typ)
		out.Write(data)
		binary.Write(&out, binary.BigEndian, crc.Sum32())
	}
	depth, bpp := byte(8), 4
	if deep {
		depth, bpp = 16, 8
	}
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	chunk("IHDR", append(ihdr, depth, 6, 0, 0, 0)) // colour type 6: RGBA
	var idat bytes.Buffer
	z, err := zlib.NewWriterLevel(&idat, zlib.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	row := bytes.Repeat([]byte{0xFF}, 1+w*bpp)
	row[0] = 0 // filter: none
	n := h
	if !rows {
		n = 1
	}
	for y := range n {
		if black != nil {
			for x := range w {
				v := byte(0xFF)
				if black(x, y) {
					v = 0
				}
				for i := range 3 * bpp / 4 {
					row[1+x*bpp+i] = v
				}
			}
		}
		if _, err := z.Write(row); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	chunk("IDAT", idat.Bytes())
	chunk("IEND", nil)
	return out.Bytes()
}

// A picture over a limit is refused by its header, with the Chinese
// message naming the limit and the code image_too_large, as ErrTooLarge
// (an API's 413); the verifier allocates nothing for its pixels.
func TestPixelBombRefused(t *testing.T) {
	w := verifiertest.NewWorld(t)
	for _, tt := range []struct {
		name     string
		pic      []byte
		wantText string
	}{
		{"a 100 000 × 100 000 canvas in a small PNG", bombPNG(t, 100_000, 100_000, false, false), "超过上限 2400 万像素"},
		{"the 6400 × 6400 canvas of the red-team report", bombPNG(t, 6400, 6400, false, false), "超过上限 2400 万像素"},
		{"one row over the pixel limit", bombPNG(t, 6000, 4001, false, false), "超过上限 2400 万像素"},
		{"16-bit colour within the pixel limit, over the memory limit", bombPNG(t, 6000, 4000, true, false), fmt.Sprintf("超过上限 %d MiB", limits.ImageMemory>>20)},
		{"a progressive colour JPEG header within the pixel limit", jpegHeader(5000, 4000, 0xC2, 0x11), fmt.Sprintf("超过上限 %d MiB", limits.ImageMemory>>20)},
		{"a small progressive JPEG of 5000 scans", scanBombJPEG(2000, 2000, 5000), fmt.Sprintf("超过上限 %d 个", limits.ImageJPEGScans)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := verifier.DecodeQR(tt.pic)
			runtime.ReadMemStats(&after)
			var tooLarge *limits.ImageTooLargeError
			if !errors.As(err, &tooLarge) || !errors.Is(err, verifier.ErrTooLarge) {
				t.Fatalf("DecodeQR = %v, want an ImageTooLargeError that is ErrTooLarge", err)
			}
			if tooLarge.Code() != "image_too_large" || !strings.Contains(err.Error(), tt.wantText) || !strings.HasPrefix(err.Error(), "图片过") {
				t.Errorf("error %q (code %s), want the limit named: %q", err, tooLarge.Code(), tt.wantText)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
				t.Errorf("refusing it allocated %d bytes", grew)
			}
			// Verify answers with the input error, the format check failed.
			res, err := verifier.Verify(context.Background(), tt.pic, w.Bundle(nil), verifier.Policy{At: verifiertest.Now})
			if err != nil {
				t.Fatal(err)
			}
			if !errors.Is(res.InputErr, verifier.ErrTooLarge) || res.Valid {
				t.Errorf("Verify: InputErr %v, valid %v", res.InputErr, res.Valid)
			}
			if c, _ := res.Check(verifier.NameFormat); c.Status != verifier.CheckFail || !strings.Contains(c.Reason, tt.wantText) {
				t.Errorf("format check %+v, want a failure naming the limit", c)
			}
		})
	}
}

// jpegHeader is the start of a JPEG (SOI, a frame header of marker sof
// with three components sampled hv, then a scan header): enough for its
// size and layout to be read, nothing to decode.
func jpegHeader(w, h int, sof, hv byte) []byte {
	b := []byte{0xFF, 0xD8, 0xFF, sof, 0, 17, 8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 3}
	for c := range byte(3) {
		q := hv
		if c > 0 {
			q = 0x11
		}
		b = append(b, c+1, q, 0)
	}
	return append(b, 0xFF, 0xDA, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0)
}

// finderTiles tiles the plane with the three finder patterns of a QR code
// (4-pixel modules, 120 pixels apart) and no code inside them: the most
// candidates, and triples that frame nothing, for the reader to try.
func finderTiles(x, y int) bool {
	x, y = x%120, y%120
	for _, c := range [][2]int{{0, 0}, {80, 0}, {0, 80}} {
		dx, dy := (x-c[0])/4, (y-c[1])/4
		if x < c[0] || y < c[1] || dx > 6 || dy > 6 {
			continue
		}
		ring := max(abs(dx-3), abs(dy-3))
		return ring != 2
	}
	return false
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// scanBombJPEG is a w×h progressive JPEG header followed by n scans of
// almost no data: each would make a decoder pass over every block.
func scanBombJPEG(w, h, n int) []byte {
	b := jpegHeader(w, h, 0xC2, 0x11)
	b = b[:len(b)-14] // without its scan header
	for range n {
		b = append(b, 0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0, 0x00)
	}
	return append(b, 0xFF, 0xD9)
}

// bombFigures is what one decode cost a fresh process.
type bombFigures struct {
	RSSBeforeMiB, PeakRSSMiB, GrowthMiB float64
	CPUSeconds                          float64
	Err                                 string
}

// A picture at the pixel limit is decoded, and one request's memory
// growth stays under 256 MiB. Each case runs in a fresh process (this test
// binary, running TestPixelBombChild), whose peak resident size before and
// after the decode is read from /proc; the CPU time is logged, not asserted.
func TestPixelBombAtTheLimit(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc: the resident size cannot be read here")
	}
	for _, tt := range []struct {
		name string
		w, h int
		busy bool
	}{
		{"6000×4000 RGBA PNG, at the pixel limit", 6000, 4000, false},
		{"4898×4898 RGBA PNG, square at the pixel limit", 4898, 4898, false},
		{"6000×4000 tiled with finder patterns, at the pixel limit", 6000, 4000, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if int64(tt.w)*int64(tt.h) > limits.ImagePixels {
				t.Fatalf("%d×%d is over the limit", tt.w, tt.h)
			}
			f := runBombChild(t, tt.w, tt.h, tt.busy)
			t.Logf("%s: resident %.0f MiB before, peak %.0f MiB (growth %.0f MiB), CPU %.2f s; %s", tt.name, f.RSSBeforeMiB, f.PeakRSSMiB, f.GrowthMiB, f.CPUSeconds, f.Err)
			if !strings.Contains(f.Err, verifier.ErrNoQRCode.Error()) {
				t.Errorf("a blank page at the limit: %q, want it decoded and %q", f.Err, verifier.ErrNoQRCode)
			}
			if f.GrowthMiB > 256 {
				t.Errorf("decoding grew the process by %.0f MiB, over 256 MiB", f.GrowthMiB)
			}
		})
	}
}

// runBombChild decodes a w×h bomb in a child process and returns its figures.
func runBombChild(t *testing.T, w, h int, busy bool) bombFigures {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPixelBombChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), fmt.Sprintf("ZZ_PIXELBOMB=%dx%d", w, h))
	if busy {
		cmd.Env = append(cmd.Env, "ZZ_PIXELBOMB_BUSY=1")
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "PIXELBOMB "); ok {
			var f bombFigures
			if err := json.Unmarshal([]byte(s), &f); err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("child printed no figures:\n%s", out)
	return bombFigures{}
}

// TestPixelBombChild is the child of TestPixelBombAtTheLimit: with
// ZZ_PIXELBOMB=WxH it decodes one bomb and prints its figures.
func TestPixelBombChild(t *testing.T) {
	spec := os.Getenv("ZZ_PIXELBOMB")
	if spec == "" {
		t.Skip("run by TestPixelBombAtTheLimit")
	}
	ws, hs, _ := strings.Cut(spec, "x")
	w, _ := strconv.Atoi(ws)
	h, _ := strconv.Atoi(hs)
	var busy func(x, y int) bool
	if os.Getenv("ZZ_PIXELBOMB_BUSY") != "" {
		busy = finderTiles
	}
	pic := drawnPNG(t, w, h, false, true, busy)
	runtime.GC()
	before := procStatusMiB(t, "VmRSS")
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	_, err := verifier.DecodeQR(pic)
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	peak := procStatusMiB(t, "VmHWM")
	cpu := func(ru syscall.Rusage) float64 {
		return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
	}
	f := bombFigures{RSSBeforeMiB: before, PeakRSSMiB: peak, GrowthMiB: peak - before, CPUSeconds: cpu(ru1) - cpu(ru0), Err: fmt.Sprint(err)}
	b, _ := json.Marshal(f)
	fmt.Printf("PIXELBOMB %s\n", b)
}

// procStatusMiB reads a kB field of /proc/self/status, in MiB.
func procStatusMiB(t *testing.T, field string) float64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb / 1024
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// BenchmarkDecodeQRPixelBomb measures what a bomb costs: refused by its
// header over the limit, decoded at it.
func BenchmarkDecodeQRPixelBomb(b *testing.B) {
	for _, bc := range []struct {
		name string
		w, h int
	}{
		{"6400x6400-refused", 6400, 6400},
		{"6000x4000-at-limit", 6000, 4000},
		{"6000x4000-finder-tiles", 6000, 4000},
	} {
		var busy func(x, y int) bool
		if strings.HasSuffix(bc.name, "tiles") {
			busy = finderTiles
		}
		pic := drawnPNG(b, bc.w, bc.h, false, true, busy)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := verifier.DecodeQR(pic); err == nil {
					b.Fatal("a blank picture decoded")
				}
			}
		})
	}
}
