package render

import (
	"math/rand/v2"
	"testing"
)

// naivePenalty is penalty written module by module, as the standard reads.
func naivePenalty(c *qrCode) int {
	n := c.n
	score := 0
	line := func(get func(int) bool) {
		var runs []int
		run := 1
		for j := 1; j < n; j++ {
			if get(j) == get(j-1) {
				run++
			} else {
				runs = append(runs, run)
				run = 1
			}
		}
		runs = append(runs, run)
		score += runsPenalty(runs, get(0))
	}
	for i := range n {
		line(func(k int) bool { return c.at(k, i) })
		line(func(k int) bool { return c.at(i, k) })
	}
	for y := 0; y+1 < n; y++ {
		for x := 0; x+1 < n; x++ {
			d := c.at(x, y)
			if c.at(x+1, y) == d && c.at(x, y+1) == d && c.at(x+1, y+1) == d {
				score += 3
			}
		}
	}
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

// The bit-set penalty agrees with the module-by-module one on random grids
// of every size a QR code has, edges of the 64-bit words included.
func TestQRPenaltyMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{21, 25, 63, 64, 65, 77, 127, 128, 129, 177} {
		for range 5 {
			c := &qrCode{n: n, dark: make([]bool, n*n)}
			for i := range c.dark {
				c.dark[i] = r.IntN(3) == 0
			}
			if got, want := c.penalty(), naivePenalty(c); got != want {
				t.Errorf("n=%d: penalty %d, module by module %d", n, got, want)
			}
		}
	}
}

// The runs of a line, including a finder pattern scored once.
func TestRunsPenalty(t *testing.T) {
	// light 4, dark 1, light 1, dark 3, light 1, dark 1, light 4
	runs := []int{4, 1, 1, 3, 1, 1, 4}
	if got := runsPenalty(runs, false); got != 40 {
		t.Errorf("finder pattern between light runs: %d, want 40", got)
	}
	if got := runsPenalty([]int{2, 1, 3, 1, 1, 2}, true); got != 0 {
		t.Errorf("no 1:1:3:1:1 pattern: %d, want 0", got)
	}
}
