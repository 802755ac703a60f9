package registry

import (
	"context"
	"sync/atomic"
	"testing"
)

// BenchmarkStoreIssue measures the store's share of an issue: a serial, a
// status slot and the license row, from parallel issuers, on each store
// kind (PostgreSQL with ZZ_POSTGRES). The license is synthetic, so the
// packing of a real one (credential parse, DEFLATE) is not in it.
func BenchmarkStoreIssue(b *testing.B) {
	for _, db := range testDBs(b) {
		b.Run(db.kind, func(b *testing.B) {
			ctx := context.Background()
			st := db.open(b)
			defer st.Close()
			var n atomic.Int64
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					serial, err := st.nextSerial(ctx, "U1", "111", "2026")
					if err != nil {
						b.Error(err)
						return
					}
					slot, _, err := st.allocateSlot(ctx, "U1", randomListIndex)
					if err != nil {
						b.Error(err)
						return
					}
					if err := st.insertLicense(ctx, testLicense(serial, "U1", slot), "", nil); err != nil {
						b.Error(err)
						return
					}
					n.Add(1)
				}
			})
			b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "issues/s")
		})
	}
}
