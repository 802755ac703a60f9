package render

import (
	"errors"
	"math/bits"
	"sync"

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
		plan, err := qrPlan(v, mask)
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

// qrPlans keeps the placement plans by version and mask: a plan depends on
// nothing else, and making one costs as much as encoding with it.
var qrPlans sync.Map // qrPlanKey → *coding.Plan

type qrPlanKey struct {
	v    coding.Version
	mask coding.Mask
}

func qrPlan(v coding.Version, mask coding.Mask) (*coding.Plan, error) {
	key := qrPlanKey{v, mask}
	if p, ok := qrPlans.Load(key); ok {
		return p.(*coding.Plan), nil
	}
	p, err := coding.NewPlan(v, coding.M, mask)
	if err != nil {
		return nil, err
	}
	qrPlans.Store(key, p)
	return p, nil
}

// penalty scores the code by the four rules of ISO/IEC 18004 §7.8.3: runs
// of five or more same-coloured modules in a row or column (N1 = 3, +1 per
// extra module), 2 × 2 blocks of one colour (N2 = 3), finder-like
// 1:1:3:1:1 patterns with four light modules on either side (N3 = 40), and
// the dark proportion's distance from 50 % (N4 = 10 per 5 %).
//
// Rows and columns are bit sets, so runs are found from the bits where the
// colour changes rather than module by module: eight scores a code cost
// less than placing its modules.
func (c *qrCode) penalty() int {
	n := c.n
	rows := make([]bitLine, n)
	cols := make([]bitLine, n)
	for y := range n {
		for x := range n {
			if c.dark[y*n+x] {
				rows[y].set(x)
				cols[x].set(y)
			}
		}
	}
	score := 0
	runs := make([]int, 0, n)
	for _, lines := range [2][]bitLine{rows, cols} {
		for i := range lines {
			runs = lines[i].runs(n, runs[:0])
			score += runsPenalty(runs, lines[i].get(0))
		}
	}
	// Rule 2: a 2 × 2 block at x is row y equal to row y+1 at x and x+1,
	// and row y equal at x and x+1.
	for y := 0; y+1 < n; y++ {
		var e, h bitLine
		for w := range e {
			e[w] = ^(rows[y][w] ^ rows[y+1][w])
		}
		h = rows[y].sameAsNext()
		ev := e.shiftDown()
		for w := range e {
			score += 3 * bits.OnesCount64(e[w]&ev[w]&h[w]&lowMask(n-1, w))
		}
	}
	// Rule 4.
	dark := 0
	for y := range rows {
		for w := range rows[y] {
			dark += bits.OnesCount64(rows[y][w])
		}
	}
	dev := dark*100/(n*n) - 50
	if dev < 0 {
		dev = -dev
	}
	return score + dev/5*10
}

// bitLine is one row or column of a code: bit x set for a dark module x.
// Codes are at most 177 modules wide.
type bitLine [3]uint64

func (l *bitLine) set(x int)      { l[x/64] |= 1 << (x % 64) }
func (l *bitLine) get(x int) bool { return l[x/64]&(1<<(x%64)) != 0 }

// shiftDown returns l with bit x+1 moved to bit x.
func (l bitLine) shiftDown() bitLine {
	return bitLine{l[0]>>1 | l[1]<<63, l[1]>>1 | l[2]<<63, l[2] >> 1}
}

// sameAsNext has bit x set where modules x and x+1 have one colour.
func (l bitLine) sameAsNext() bitLine {
	d := l.shiftDown()
	return bitLine{^(l[0] ^ d[0]), ^(l[1] ^ d[1]), ^(l[2] ^ d[2])}
}

// lowMask keeps, of word w, the bits below m (x < m).
func lowMask(m, w int) uint64 {
	lo := w * 64
	switch {
	case m <= lo:
		return 0
	case m >= lo+64:
		return ^uint64(0)
	}
	return 1<<(m-lo) - 1
}

// runs appends the lengths of the line's runs of one colour, in order.
func (l bitLine) runs(n int, out []int) []int {
	same := l.sameAsNext()
	start := 0
	for w := range same {
		change := ^same[w] & lowMask(n-1, w) // bit x: x and x+1 differ
		for change != 0 {
			x := w*64 + bits.TrailingZeros64(change)
			out = append(out, x+1-start)
			start = x + 1
			change &= change - 1
		}
	}
	return append(out, n-start)
}

// runsPenalty scores one row or column by rules 1 and 3 from its runs: a
// finder-like pattern is the runs dark 1, light 1, dark 3, light 1, dark 1
// with a light run of at least 4 (or the quiet zone) before or after it.
func runsPenalty(runs []int, firstDark bool) int {
	score := 0
	for _, r := range runs {
		score += runPenalty(r)
	}
	k := 0 // runs[k] is dark when k has firstDark's parity
	if !firstDark {
		k = 1
	}
	for ; k+4 < len(runs); k += 2 {
		if runs[k] != 1 || runs[k+1] != 1 || runs[k+2] != 3 || runs[k+3] != 1 || runs[k+4] != 1 {
			continue
		}
		if k == 0 || runs[k-1] >= 4 || k+5 == len(runs) || runs[k+5] >= 4 {
			score += 40
		}
	}
	return score
}

func runPenalty(run int) int {
	if run >= 5 {
		return run - 2
	}
	return 0
}
