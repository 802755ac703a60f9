package registry

import (
	"context"
	"sync"
)

// IssueResult is the outcome of one request of IssueBatch: the license
// issued (or the one its request key had already issued), or why not.
type IssueResult struct {
	License *License
	Err     error
}

// batchWorkers bounds how many requests of one batch are issued at once,
// so the store's group commit and the ledger's appends see many at a time.
const batchWorkers = 64

// IssueBatch issues every request as a (the same actor), in any order and
// independently: one failing request never stops the others. The result
// at index i is request i's. A request whose RequestKey already issued a
// license answers that license, as Issue does.
//
// This version runs Issue for the requests with bounded concurrency; the
// batched pipeline (one store transaction and one ledger append per batch)
// replaces it with the same signature.
func (s *Service) IssueBatch(ctx context.Context, a Actor, reqs []IssueRequest) []IssueResult {
	out := make([]IssueResult, len(reqs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(batchWorkers, len(reqs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				lic, err := s.Issue(ctx, a, reqs[i])
				out[i] = IssueResult{License: lic, Err: err}
			}
		}()
	}
	for i := range reqs {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}
