package credential

import "testing"

func BenchmarkZZTree(b *testing.B) {
	data := readTestdata(b, signedFile)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		parseDocument(data)
	}
}
