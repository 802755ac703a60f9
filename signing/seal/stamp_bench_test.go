package seal

import (
	"testing"

	"zhengzhao/internal/cputime"
)

// BenchmarkStampRegistrySeal is BenchmarkStamp's Stamper with a seal the
// size of a registry's (a picture of some 40 KB): the cost of carrying the
// seal through every SES_Signature.
func BenchmarkStampRegistrySeal(b *testing.B) {
	w := newWorld(b)
	w.picture = Picture{Type: "PNG", Data: noisyPNG(b, 100), WidthMM: 42, HeightMM: 42}
	s := w.seal(b)
	st, err := NewStamper(w.deptKey, w.dept, s)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(s.Raw)))
	b.ReportAllocs()
	defer cputime.Report(b)()
	for b.Loop() {
		if _, err := st.Sign(docHash(), signedAt, testPropertyInfo); err != nil {
			b.Fatal(err)
		}
	}
}
