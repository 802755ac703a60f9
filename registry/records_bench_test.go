package registry_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"zhengzhao/registry"
)

// BenchmarkRecordsAppend appends records from parallel callers while the
// chain head is anchored on the embedded ledger every 100 ms (the service
// does it every minute; this is the harder case), and reports records
// appended per second. AppendRecord is the record log alone; RecordUse is a
// window use as the service records it (the usage row, then the record).
func BenchmarkRecordsAppend(b *testing.B) {
	for _, bc := range []struct {
		name string
		add  func(w *recordsWorld) error
	}{
		{"AppendRecord", func(w *recordsWorld) error {
			_, err := w.reg.AppendRecord(context.Background(), w.clerk, registry.Record{Action: registry.ActionUseWindow, Purpose: "核验营业执照",
				ServiceItem: item, License: w.lics[0].Identifier, Holder: w.lics[0].Record.HolderCode, Result: "valid"})
			return err
		}},
		{"RecordUse", func(w *recordsWorld) error {
			return w.reg.RecordUse(context.Background(), w.clerk, registry.UseRequest{License: w.lics[0], Mode: registry.UseByVerify, Purpose: "核验营业执照", ServiceItem: item, Verdict: "valid"})
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			w := newRecordsWorld(b)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			anchors := 0
			wg.Go(func() {
				t := time.NewTicker(100 * time.Millisecond)
				defer t.Stop()
				for {
					select {
					case <-stop:
						return
					case <-t.C:
						if _, err := w.reg.AnchorRecords(context.Background()); err != nil {
							b.Error(err)
							return
						}
						anchors++
					}
				}
			})
			b.SetParallelism(8) // 8 × GOMAXPROCS callers, like many windows at once
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := bc.add(w); err != nil {
						b.Error(err)
						return
					}
				}
			})
			elapsed := time.Since(start)
			b.StopTimer()
			close(stop)
			wg.Wait()
			if _, err := w.reg.AnchorRecords(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
			b.ReportMetric(float64(anchors), "anchors")
		})
	}
}

// BenchmarkRecordsExport1000 builds a holder's 用证记录 exports for 1,000
// uses and reports their sizes: the CSV, the PDF (which embeds the JSON
// proof) and the JSON proof alone.
func BenchmarkRecordsExport1000(b *testing.B) {
	w := newRecordsWorld(b)
	csv, pdf, js := exportSizes(b, w, 1000)
	if name := os.Getenv("ZZ_RECORDS_PDF"); name != "" {
		if err := os.WriteFile(name, pdf, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := w.reg.RecordsPDF(context.Background(), w.holder[0]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(csv)), "csv-bytes")
	b.ReportMetric(float64(len(pdf)), "pdf-bytes")
	b.ReportMetric(float64(len(js)), "json-bytes")
}

// exportSizes records n uses of the first holder's license and returns the
// holder's CSV, PDF and JSON exports.
func exportSizes(t testing.TB, w *recordsWorld, n int) (csv, pdf, js []byte) {
	t.Helper()
	ctx := context.Background()
	w.use(t, 0, n, "核验营业执照，办理食品经营许可")
	var err error
	if csv, err = w.reg.RecordsCSV(ctx, w.holder[0]); err != nil {
		t.Fatal(err)
	}
	if pdf, err = w.reg.RecordsPDF(ctx, w.holder[0]); err != nil {
		t.Fatal(err)
	}
	exp, _, err := w.reg.ExportRecords(ctx, w.holder[0])
	if err != nil {
		t.Fatal(err)
	}
	if js, err = registry.MarshalExport(exp); err != nil {
		t.Fatal(err)
	}
	return csv, pdf, js
}
