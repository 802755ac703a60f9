package render

import (
	"errors"

	"rsc.io/qr/coding"
)

// qrCode is an encoded QR code: n × n modules, dark[y*n+x] true for dark.
type qrCode struct {
	n    int
	dark []bool
}

func (c *qrCode) at(x, y int) bool { return c.dark[y*c.n+x] }

// encodeQR encodes payload at error-correction level M in the smallest
// version that holds it, alphanumeric mode when the payload allows (as
// every ZZ1 payload does), choosing of the eight masks the one with the
// lowest ISO/IEC 18004 §7.8.3 penalty.
//
// rsc.io/qr/coding does the encoding (modes, Reed–Solomon, placement) for a
// given mask; the mask choice is ours. boombuler/barcode chose masks too,
// but scored them through a bit-list interface at ~14 ms a code, two thirds
// of a whole license PDF; scoring a plain []bool here takes well under 1 ms.
func encodeQR(payload string) (*qrCode, error) {
	if payload == "" {
		return nil, errors.New("empty payload")
	}
	var enc coding.Encoding = coding.String(payload)
	if coding.Alpha(payload).Check() == nil {
		enc = coding.Alpha(payload)
	}
	v := coding.Version(coding.MinVersion)
	for ; enc.Bits(v) > v.DataBytes(coding.M)*8; v++ {
		if v == coding.MaxVersion {
			return nil, errors.New("payload too long for a QR code")
		}
	}
	var best *qrCode
	bestScore := -1
	for mask := coding.Mask(0); mask < 8; mask++ {
		plan, err := coding.NewPlan(v, coding.M, mask)
		if err != nil {
			return nil, err
		}
		code, err := plan.Encode(enc)
		if err != nil {
			return nil, err
		}
		c := &qrCode{n: code.Size, dark: make([]bool, code.Size*code.Size)}
		for y := range code.Size {
			for x := range code.Size {
				c.dark[y*c.n+x] = code.Black(x, y)
			}
		}
		if s := c.penalty(); bestScore < 0 || s < bestScore {
			best, bestScore = c, s
		}
	}
	return best, nil
}

// penalty scores the code by the four rules of ISO/IEC 18004 §7.8.3: runs
// of five or more same-coloured modules in a row or column (N1 = 3, +1 per
// extra module), 2 × 2 blocks of one colour (N2 = 3), finder-like
// 1:1:3:1:1 patterns with four light modules on either side (N3 = 40), and
// the dark proportion's distance from 50 % (N4 = 10 per 5 %).
func (c *qrCode) penalty() int {
	n := c.n
	cols := make([]bool, n*n)
	for y := range n {
		for x := range n {
			cols[x*n+y] = c.dark[y*n+x]
		}
	}
	score := 0
	for _, grid := range [2][]bool{c.dark, cols} {
		for i := range n {
			score += linePenalty(grid[i*n : (i+1)*n])
		}
	}
	// Rule 2.
	for y := 0; y+1 < n; y++ {
		row, next := c.dark[y*n:(y+1)*n], c.dark[(y+1)*n:(y+2)*n]
		for x := 0; x+1 < n; x++ {
			if d := row[x]; row[x+1] == d && next[x] == d && next[x+1] == d {
				score += 3
			}
		}
	}
	// Rule 4.
	dark := 0
	for _, d := range c.dark {
		if d {
			dark++
		}
	}
	dev := dark*100/(n*n) - 50
	if dev < 0 {
		dev = -dev
	}
	return score + dev/5*10
}

// linePenalty scores one row or column by rules 1 and 3.
func linePenalty(line []bool) int {
	score, run := 0, 1
	for j := 1; j < len(line); j++ {
		if line[j] == line[j-1] {
			run++
			continue
		}
		score += runPenalty(run)
		run = 1
	}
	score += runPenalty(run)
	for s := 0; s+7 <= len(line); s++ {
		if line[s] && !line[s+1] && line[s+2] && line[s+3] && line[s+4] && !line[s+5] && line[s+6] &&
			(allLight(line, s-4, s) || allLight(line, s+7, s+11)) {
			score += 40
		}
	}
	return score
}

// allLight reports whether line[from:to] is light; modules outside the
// code (its quiet zone) are light.
func allLight(line []bool, from, to int) bool {
	for k := max(from, 0); k < min(to, len(line)); k++ {
		if line[k] {
			return false
		}
	}
	return true
}

func runPenalty(run int) int {
	if run >= 5 {
		return run - 2
	}
	return 0
}
