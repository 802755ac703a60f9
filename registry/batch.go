package registry

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"zhengzhao/ledger"
	"zhengzhao/license"
)

// MaxBatch is the most requests IssueBatch anchors in one ledger append and
// stores in one store transaction; a longer call is issued MaxBatch
// requests at a time.
const MaxBatch = 1000

// IssueResult is the outcome of one request of IssueBatch: the license
// issued (or the one its request key had already issued), or why not.
type IssueResult struct {
	License *License
	Err     error
}

// batchRow is a request of a batch that passed validation.
type batchRow struct {
	i   int // index in the batch
	typ license.Type
	rec license.Record
	// sameHolder is the row (index into the rows) that holds the one
	// license of a one-active type this row's holder may have; -1 if none.
	sameHolder int
	m          *minted
	err        error
}

// IssueBatch issues many licenses of a's department as Issue does, each
// request on its own: a request that fails validation, names a holder who
// already holds a one-active license or reuses a request key for another
// request gets its error in its result and the others go on. The result at
// index i is request i's. A request whose RequestKey already issued a
// license (before, or earlier in the same batch) answers that license, so
// re-running a batch issues nothing twice.
//
// The licenses of up to MaxBatch requests are signed on all cores, anchored
// in one ledger append and stored in one transaction; like Issue it returns
// only once they are durable in both. A ledger failure fails every request
// of its batch.
func (s *Service) IssueBatch(ctx context.Context, a Actor, reqs []IssueRequest) []IssueResult {
	out := make([]IssueResult, len(reqs))
	dept, err := s.issuingDepartment(a)
	if err != nil {
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	for lo := 0; lo < len(reqs); lo += MaxBatch {
		hi := min(lo+MaxBatch, len(reqs))
		s.issueBatch(ctx, a, dept, reqs[lo:hi], out[lo:hi])
	}
	return out
}

// issueBatch is IssueBatch for at most MaxBatch requests.
func (s *Service) issueBatch(ctx context.Context, a Actor, dept *Department, reqs []IssueRequest, out []IssueResult) {
	// Validate: each request on its own.
	firstWithKey := map[string]int{} // request key → first request with it
	sameKey := map[int]int{}         // request → the earlier one with its key
	var keys []string
	for i, req := range reqs {
		if req.RequestKey == "" {
			continue
		}
		if j, ok := firstWithKey[req.RequestKey]; ok {
			sameKey[i] = j
			continue
		}
		firstWithKey[req.RequestKey] = i
		keys = append(keys, req.RequestKey)
	}
	issued, err := s.store.requestKeyIDs(ctx, dept.USCC, keys)
	if err != nil {
		for i := range out {
			out[i].Err = err
		}
		return
	}
	var rows []*batchRow
	for i, req := range reqs {
		if _, ok := sameKey[i]; ok {
			continue
		}
		if id, ok := issued[req.RequestKey]; ok && req.RequestKey != "" {
			out[i] = s.priorResult(ctx, id, req)
			continue
		}
		typ, rec, err := s.validIssue(dept, req)
		if err != nil {
			out[i].Err = err
			continue
		}
		rows = append(rows, &batchRow{i: i, typ: typ, rec: rec, sameHolder: -1})
	}
	if len(rows) > 0 {
		s.mintBatch(ctx, dept, reqs, rows)
		s.recordMinted(ctx, a, rows)
	}
	for _, r := range rows {
		out[r.i] = IssueResult{Err: r.err}
		if r.err == nil {
			out[r.i].License = r.m.lic
		}
	}
	for i, j := range sameKey {
		switch {
		case out[j].Err != nil:
			out[i].Err = out[j].Err
		default:
			if err := sameRequest(out[j].License, reqs[i]); err != nil {
				out[i].Err = err
			} else {
				out[i].License = out[j].License
			}
		}
	}
}

// priorResult is the answer to a request whose key already issued the
// license id: that license, or a *KeyReuseError if the request differs.
func (s *Service) priorResult(ctx context.Context, id string, req IssueRequest) IssueResult {
	prior, err := s.store.license(ctx, id)
	if err != nil {
		return IssueResult{Err: err}
	}
	if err := sameRequest(prior, req); err != nil {
		return IssueResult{Err: err}
	}
	return IssueResult{License: prior}
}

// mintBatch issues the validated rows: one-active holders checked, then
// each row signed (in parallel), then all anchored and stored together.
// Each row's outcome is in its m or err.
func (s *Service) mintBatch(ctx context.Context, dept *Department, reqs []IssueRequest, rows []*batchRow) {
	fail := func(err error) {
		for _, r := range rows {
			if r.err == nil {
				r.err = err
			}
		}
	}
	unlock := s.holdOneAll(ctx, rows)
	defer unlock()
	key, err := s.activeKey(dept.USCC)
	if err != nil {
		fail(err)
		return
	}
	var todo []*batchRow
	for _, r := range rows {
		if r.err == nil && r.sameHolder < 0 {
			todo = append(todo, r)
		}
	}
	slots, opened, err := s.store.allocateSlots(ctx, dept.USCC, len(todo), randomListIndex)
	if err != nil {
		fail(err)
		return
	}
	if opened {
		s.changed() // the bundle carries the new list
	}
	for i, r := range todo {
		r.m = &minted{lic: &License{StatusIndex: slots[i]}}
	}
	// A crash between anchoring and storing leaves orphan anchors whose
	// identifiers the store never saw: the rows the ledger refuses as
	// duplicates take the next serial and the batch is tried again.
	retry := todo
	for attempt := 0; len(retry) > 0; attempt++ {
		s.signRows(ctx, dept, key, reqs, retry)
		var vs []*minted
		var signed []*batchRow
		for _, r := range todo {
			if r.err == nil {
				vs = append(vs, r.m)
				signed = append(signed, r)
			}
		}
		if len(vs) == 0 {
			break
		}
		if err := ctx.Err(); err != nil {
			fail(err)
			return
		}
		err := s.anchorAndStore(ctx, key, vs)
		if err == nil {
			for _, r := range signed {
				r.err = r.m.err
			}
			break
		}
		if !errors.Is(err, ledger.ErrDuplicate) || attempt >= maxSerialRetries {
			fail(err)
			return
		}
		retry = retry[:0:0]
		for _, r := range signed {
			if _, lerr := s.ledger.License(ctx, r.m.lic.Identifier); lerr == nil {
				retry = append(retry, r)
			}
		}
		if len(retry) == 0 {
			fail(err)
			return
		}
	}
	// A second row for the holder of a one-active type: refused, naming the
	// license the first row issued.
	for _, r := range rows {
		if r.sameHolder < 0 || r.err != nil {
			continue
		}
		first := rows[r.sameHolder]
		if first.err != nil {
			r.err = fmt.Errorf("%w: 本批次中同一持证主体的另一行（第 %d 行）未能签发，%s只能持有一张；请单独重新提交此行", ErrConflict, first.i+1, r.typ.Name)
			continue
		}
		r.err = &OneActiveError{TypeName: r.typ.Name, Existing: first.m.lic.Identifier, Status: license.StatusActive}
	}
}

// signRows gives each row the next serial and signs it, on all cores. A
// row that fails has its err set.
func (s *Service) signRows(ctx context.Context, dept *Department, key *deptSigner, reqs []IssueRequest, rows []*batchRow) {
	s.giveSerials(ctx, dept.USCC, rows)
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for k := w; k < len(rows); k += workers {
				r := rows[k]
				if r.err != nil {
					continue
				}
				m, err := s.sign(mintRequest{dept: dept, key: key, rec: r.rec, serial: r.m.lic.Serial, version: firstVersion,
					statusIndex: r.m.lic.StatusIndex, requestKey: reqs[r.i].RequestKey})
				if err != nil {
					r.err = err
					continue
				}
				r.m = m
			}
		})
	}
	wg.Wait()
}

// giveSerials gives each row the next serial of its type and year, taken
// from the store for all of them at once. A row left without one (its
// year's numbers ran out, or the store failed) fails; the rows before it
// keep theirs.
func (s *Service) giveSerials(ctx context.Context, uscc string, rows []*batchRow) {
	type typeYear struct{ typ, year string }
	need := map[string]map[string]int{} // by type, by year
	for _, r := range rows {
		y := serialYear(r.rec.IssueDate)
		if need[r.typ.Code] == nil {
			need[r.typ.Code] = map[string]int{}
		}
		need[r.typ.Code][y]++
	}
	got := map[typeYear][]int{}
	failed := map[string]error{} // by type
	for typ, years := range need {
		nums, err := s.store.nextSerials(ctx, uscc, typ, years)
		failed[typ] = err
		for y, n := range nums {
			got[typeYear{typ, y}] = n
		}
	}
	for _, r := range rows {
		k := typeYear{r.typ.Code, serialYear(r.rec.IssueDate)}
		if len(got[k]) == 0 {
			r.err = failed[r.typ.Code]
			continue
		}
		r.m.lic.Serial = formatSerial(k.year, got[k][0])
		got[k] = got[k][1:]
	}
}

// holdOneAll is holdOne for the rows of a batch: it locks every one-active
// holder of the batch, refuses the rows whose holder already holds a license
// of the type, and marks a later row for the same holder with the row that
// comes first. It returns the unlock.
func (s *Service) holdOneAll(ctx context.Context, rows []*batchRow) (unlock func()) {
	var holders []holderOf
	first := map[holderOf]int{}
	for k, r := range rows {
		if !r.typ.OneActive {
			continue
		}
		h := holderOf{r.typ.Code, r.rec.HolderCode}
		if j, ok := first[h]; ok {
			r.sameHolder = j
			continue
		}
		first[h] = k
		holders = append(holders, h)
	}
	if len(holders) == 0 {
		return func() {}
	}
	unlock, taken, err := s.claimHolders(ctx, holders)
	var held map[holderOf]heldLicense
	if err == nil {
		held, err = s.store.heldLicenses(ctx, holders)
	}
	for _, r := range rows {
		if !r.typ.OneActive || r.sameHolder >= 0 {
			continue
		}
		h := holderOf{r.typ.Code, r.rec.HolderCode}
		switch l, ok := held[h]; {
		case err != nil:
			r.err = err
		case taken[h]:
			r.err = claimedError(r.typ)
		case ok:
			r.err = &OneActiveError{TypeName: r.typ.Name, Existing: l.identifier, Status: l.status}
		}
	}
	return unlock
}
