package registry_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zhengzhao/internal/cputime"
	"zhengzhao/registry"
)

// BenchmarkIssueConcurrent issues licenses from 64 goroutines at once, each
// one Issue call at a time: what a busy API sees. Concurrent calls share the
// ledger's commits and the store's transactions.
func BenchmarkIssueConcurrent(b *testing.B) {
	w := newWorld(b)
	ctx := context.Background()
	officer := w.issuer(0)
	reqs := make([]registry.IssueRequest, b.N)
	for i := range reqs {
		reqs[i] = w.requestOf(0, 0)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	cpu := cputime.Process()
	b.ResetTimer()
	for range 64 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(reqs)) {
					return
				}
				if _, err := w.reg.Issue(ctx, officer, reqs[i]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	reportIssue(b, cpu)
}

// BenchmarkIssueBatch issues licenses with IssueBatch, 500 requests a call,
// as a bulk import does.
func BenchmarkIssueBatch(b *testing.B) {
	w := newWorld(b)
	ctx := context.Background()
	officer := w.issuer(0)
	const size = 500
	reqs := make([]registry.IssueRequest, b.N)
	for i := range reqs {
		reqs[i] = w.requestOf(0, 0)
	}
	cpu := cputime.Process()
	b.ResetTimer()
	for lo := 0; lo < len(reqs); lo += size {
		for _, r := range w.reg.IssueBatch(ctx, officer, reqs[lo:min(lo+size, len(reqs))]) {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
	}
	b.StopTimer()
	reportIssue(b, cpu)
}

// reportIssue reports licenses/s and the CPU time a license took (all
// goroutines: signing, ledger, store). On a machine shared with other work
// the rate falls with the load; the CPU time a license needs does not, and
// cores/(CPU time) is the rate the machine's cores could give alone.
func reportIssue(b *testing.B, cpuBefore time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "licenses/s")
	b.ReportMetric(float64((cputime.Process()-cpuBefore).Microseconds())/float64(b.N), "cpu-µs/license")
}
