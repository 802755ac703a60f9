package credential

import "testing"

func BenchmarkExpPhases(b *testing.B) {
	in := vectorCOSE(b)
	e := new(smallDeflater)
	e.findMatches(in)
	e.countTokens(e.parsed)
	b.Run("find", func(b *testing.B) {
		for b.Loop() {
			e.findMatches(in)
		}
	})
	b.Run("count+fixed", func(b *testing.B) {
		for b.Loop() {
			e.countTokens(e.parsed)
			e.fixedBits()
		}
	})
	b.Run("dyn", func(b *testing.B) {
		for b.Loop() {
			e.dynamicBits()
		}
	})
	b.Run("huffLit", func(b *testing.B) {
		for b.Loop() {
			huffLengths(e.litFreq[:], e.litLens[:], dfMaxBits, &e.huff)
		}
	})
	b.Run("clbuild", func(b *testing.B) {
		for b.Loop() {
			e.cl.build(e.litLens[:], e.distLens[:], &e.huff)
		}
	})
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			e.compress(in)
		}
	})
}
