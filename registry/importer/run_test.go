package importer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zhengzhao/registry"
	"zhengzhao/registry/importer"
)

// synthRows are n rows of distinct keys and holders, lines from 2.
func synthRows(n int) importer.Rows {
	rows := make(importer.Rows, n)
	for i := range rows {
		rows[i] = importer.Row{Line: i + 2, Request: registry.IssueRequest{
			RequestKey: fmt.Sprintf("key-%d", i), HolderCode: fmt.Sprintf("holder-%d", i)}}
	}
	return rows
}

// With three batches in flight, three are issued at once, later batches
// may finish first, and still the batches are counted in the order of the
// file, each only once every batch before it is done.
func TestBatchesInFlightCountInOrder(t *testing.T) {
	rows := synthRows(30)
	var (
		mu       sync.Mutex
		running  int
		most     int
		finished []int // first line of each batch whose Issue returned
	)
	release := make(chan struct{})
	var once sync.Once
	issue := func(ctx context.Context, batch []importer.Row) ([]importer.Result, error) {
		mu.Lock()
		running++
		most = max(most, running)
		if running == 3 {
			once.Do(func() { close(release) })
		}
		mu.Unlock()
		<-release
		if batch[0].Line == 2 { // the first batch finishes last of its flight
			time.Sleep(50 * time.Millisecond)
		}
		mu.Lock()
		running--
		finished = append(finished, batch[0].Line)
		mu.Unlock()
		out := make([]importer.Result, len(batch))
		for i, r := range batch {
			out[i].Identifier = "id-" + r.Request.RequestKey
		}
		return out, nil
	}
	var seen []importer.Progress
	p, err := importer.Run(context.Background(), &rows, importer.Config{BatchSize: 5, InFlight: 3, Issue: issue,
		OnBatch: func(p importer.Progress) error {
			mu.Lock()
			defer mu.Unlock()
			// Every batch up to this one has been issued.
			for b := range p.Batches {
				if !slices.Contains(finished, 2+5*b) {
					t.Errorf("batch %d counted before batch %d was issued", p.Batches, b+1)
				}
			}
			seen = append(seen, p)
			return nil
		}})
	if err != nil || p.Batches != 6 || p.Rows != 30 || p.Issued != 30 {
		t.Fatalf("run: %+v %v", p, err)
	}
	if most != 3 {
		t.Errorf("at most %d batches issued at once, want 3", most)
	}
	if finished[0] == 2 {
		t.Errorf("the first batch finished first (%v): the test did not reorder", finished)
	}
	for i, s := range seen {
		if s.Batches != i+1 || s.Rows != 5*(i+1) {
			t.Errorf("progress %d = %+v", i, s)
		}
	}
}

// Two batches that share a request key, or the holder of a one-active
// type, are never issued at once: the later one starts once the earlier
// one is done, whatever the room in flight.
func TestSharedKeysNotInFlightTogether(t *testing.T) {
	for _, tc := range []struct {
		name      string
		oneActive bool
		edit      func(rows importer.Rows)
		serial    bool // batches 1 and 3 must not overlap
	}{
		{"same request key", false, func(r importer.Rows) { r[14].Request.RequestKey = r[1].Request.RequestKey }, true},
		{"same one-active holder", true, func(r importer.Rows) { r[14].Request.HolderCode = r[1].Request.HolderCode }, true},
		{"same holder, many allowed", false, func(r importer.Rows) { r[14].Request.HolderCode = r[1].Request.HolderCode }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows := synthRows(20)
			tc.edit(rows)
			var mu sync.Mutex
			active := map[int]bool{} // first line of batches being issued
			overlapped := false
			issue := func(ctx context.Context, batch []importer.Row) ([]importer.Result, error) {
				first := batch[0].Line
				mu.Lock()
				active[first] = true
				if (first == 2 && active[12]) || (first == 12 && active[2]) {
					overlapped = true
				}
				mu.Unlock()
				time.Sleep(30 * time.Millisecond)
				mu.Lock()
				delete(active, first)
				mu.Unlock()
				return make([]importer.Result, len(batch)), nil
			}
			p, err := importer.Run(context.Background(), &rows, importer.Config{BatchSize: 5, InFlight: 4, OneActive: tc.oneActive, Issue: issue})
			if err != nil || p.Batches != 4 {
				t.Fatalf("run: %+v %v", p, err)
			}
			if tc.serial && overlapped {
				t.Error("batches 1 and 3 share a key and were issued at once")
			}
			if !tc.serial && !overlapped {
				t.Error("batches 1 and 3 share nothing that matters and were not issued at once")
			}
		})
	}
}

// A number that comes twice in a file, in two batches issued at once into
// a registry: the second answers the license of the first (nothing is
// issued twice and the run does not stop on the store's unique key).
func TestRepeatedRowAcrossBatchesInFlight(t *testing.T) {
	w := newWorld(t)
	var rows [][]string
	for i := range 8 {
		rows = append(rows, w.row(fmt.Sprintf("并行测试公司%d", i), fmt.Sprintf("P-%d", i)))
	}
	rows = append(rows[:5], append([][]string{rows[1]}, rows[5:]...)...) // row 2 again, in the second batch
	rd, err := importer.NewReader(bytes.NewReader(w.csvFile(rows...)), importer.Options{Department: w.dept.USCC, Type: w.typ})
	if err != nil {
		t.Fatal(err)
	}
	before := w.treeSize()
	p, err := importer.Run(context.Background(), rd, importer.Config{BatchSize: 3, InFlight: 3, OneActive: w.typ.OneActive,
		Issue: importer.Local(w.reg, w.actor, w.typ)})
	if err != nil || p.Rows != 9 || p.Issued != 8 || p.Existing != 1 || p.Failed != 0 {
		t.Fatalf("run: %+v %v", p, err)
	}
	if n, grown := w.licenses(), w.treeSize()-before; n != 8 || grown != 8 {
		t.Errorf("%d licenses, %d ledger entries; want 8 and 8", n, grown)
	}
}

// A batch fails while the batches around it are issued at once: the run
// counts only the batches before it, and a resumed run issues the rest
// without skipping or doubling a row, even the later batch that was
// issued though not counted.
func TestFailedBatchInFlightResumes(t *testing.T) {
	w := newWorld(t)
	var rows [][]string
	for i := range 12 {
		rows = append(rows, w.row(fmt.Sprintf("中断测试公司%d", i), fmt.Sprintf("F-%02d", i)))
	}
	file := w.csvFile(rows...)
	local := importer.Local(w.reg, w.actor, w.typ)
	down := errors.New("ledger down")
	before := w.treeSize()
	secondDone := make(chan struct{})
	rd, _ := importer.NewReader(bytes.NewReader(file), importer.Options{Department: w.dept.USCC, Type: w.typ})
	p, err := importer.Run(context.Background(), rd, importer.Config{BatchSize: 3, InFlight: 3, OneActive: true,
		Issue: func(ctx context.Context, batch []importer.Row) ([]importer.Result, error) {
			switch batch[0].Request.Number {
			case "F-03": // batch 2 fails once batch 3 is issued
				<-secondDone
				return nil, down
			case "F-06":
				defer close(secondDone)
			}
			return local(ctx, batch)
		}})
	if !errors.Is(err, down) || p.Batches != 1 || p.Rows != 3 || p.Issued != 3 {
		t.Fatalf("failed run: %+v %v", p, err)
	}
	// Batches 1 and 3, and batch 4 if it started before batch 2 failed.
	issued := w.licenses()
	if issued != 6 && issued != 9 {
		t.Fatalf("%d licenses after the failed run, want 6 or 9", issued)
	}

	var sent atomic.Int64
	rd, _ = importer.NewReader(bytes.NewReader(file), importer.Options{Department: w.dept.USCC, Type: w.typ})
	p, err = importer.Run(context.Background(), rd, importer.Config{BatchSize: 3, InFlight: 3, OneActive: true, Start: p,
		Issue: func(ctx context.Context, batch []importer.Row) ([]importer.Result, error) {
			sent.Add(int64(len(batch)))
			return local(ctx, batch)
		}})
	if err != nil || p.Batches != 4 || p.Rows != 12 || p.Issued+p.Existing != 12 || p.Existing != issued-3 {
		t.Fatalf("resumed run: %+v %v", p, err)
	}
	if sent.Load() != 9 {
		t.Errorf("the resumed run sent %d rows, want the 9 after the first batch", sent.Load())
	}
	if n, grown := w.licenses(), w.treeSize()-before; n != 12 || grown != 12 {
		t.Errorf("%d licenses, %d ledger entries; want 12 and 12", n, grown)
	}
}

// BenchmarkRunOverhead is what an import adds to issuing: reading a GBK
// file, validating its rows, deriving their request keys, batching them
// and counting the results, with three batches of 500 in flight and an
// issue that answers at once.
func BenchmarkRunOverhead(b *testing.B) {
	typ, file := benchFile(b)
	issue := func(ctx context.Context, rows []importer.Row) ([]importer.Result, error) {
		out := make([]importer.Result, len(rows))
		for i, r := range rows {
			out[i].Identifier = r.Request.RequestKey
		}
		return out, nil
	}
	b.ReportAllocs()
	for b.Loop() {
		rd, err := importer.NewReader(bytes.NewReader(file), importer.Options{Department: "11310000MB2F00011G", Type: typ})
		if err != nil {
			b.Fatal(err)
		}
		p, err := importer.Run(context.Background(), rd, importer.Config{BatchSize: 500, InFlight: 3, OneActive: true, Issue: issue,
			OnBatch: func(importer.Progress) error { return nil }})
		if err != nil || p.Issued != benchRows {
			b.Fatalf("%+v %v", p, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(benchRows*b.N)/1000, "µs/row")
}
