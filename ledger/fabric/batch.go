package fabric

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"zhengzhao/ledger"
	"zhengzhao/ledger/fabric/wire"
	"zhengzhao/ledger/tlog"
)

// batcher coalesces concurrent Anchor calls of one org's departments into
// AnchorBatch transactions of up to Config.BatchSize anchors, each waiting at
// most Config.BatchDelay for company, with up to Config.InFlight
// transactions in flight. Issuance is then bound by anchors per transaction
// times transactions per second, not by Fabric's transactions per second.
type batcher struct {
	c    *orgClient
	reqs chan *anchorReq
}

type anchorReq struct {
	anchors []ledger.Anchor
	done    chan anchorRes
}

type anchorRes struct {
	receipts []ledger.Receipt
	err      error
}

// Anchor records up to wire.MaxBatch licenses of departments of one org, all or
// nothing, through that org's client; concurrent calls share transactions.
// Once queued, a call is committed or refused as a whole even if ctx ends.
func (l *Ledger) Anchor(ctx context.Context, anchors []ledger.Anchor) ([]ledger.Receipt, error) {
	if err := l.checkOpen(ctx); err != nil {
		return nil, err
	}
	if len(anchors) == 0 {
		return nil, fmt.Errorf("%w: no anchors", ledger.ErrInvalidEvent)
	}
	if len(anchors) > wire.MaxBatch {
		return nil, fmt.Errorf("%w: %d anchors in one call, limit %d (one transaction)", ledger.ErrInvalidEvent, len(anchors), wire.MaxBatch)
	}
	c, err := l.clientFor(ctx, anchors[0].Issuer)
	if err != nil {
		return nil, err
	}
	for _, a := range anchors[1:] {
		if a.Issuer == anchors[0].Issuer {
			continue
		}
		other, err := l.clientFor(ctx, a.Issuer)
		if err != nil {
			return nil, err
		}
		if other != c {
			return nil, fmt.Errorf("%w: license %s: departments %s and %s belong to different orgs (%s, %s); anchor them in separate calls",
				ledger.ErrInvalidEvent, a.Identifier, anchors[0].Issuer, a.Issuer, c.msp, other.msp)
		}
	}
	r := &anchorReq{anchors: anchors, done: make(chan anchorRes, 1)}
	if err := l.enqueue(ctx, c, r); err != nil {
		return nil, err
	}
	res := <-r.done
	return res.receipts, res.err
}

// enqueue hands r to the batcher of c's org, starting it if needed.
func (l *Ledger) enqueue(ctx context.Context, c *orgClient, r *anchorReq) error {
	l.mu.Lock()
	if l.closed.Load() {
		l.mu.Unlock()
		return fmt.Errorf("%w: %w", ledger.ErrUnavailable, errClosed)
	}
	b, ok := l.batchers[c.msp]
	if !ok {
		b = &batcher{c: c, reqs: make(chan *anchorReq)}
		l.batchers[c.msp] = b
		l.batchWG.Add(1)
		go l.runBatcher(b)
	}
	l.mu.Unlock()
	// Close closes b.reqs only after taking l.mu, and sets closed before:
	// hold the read lock while sending so the channel stays open.
	l.sendMu.RLock()
	defer l.sendMu.RUnlock()
	if l.closed.Load() {
		return fmt.Errorf("%w: %w", ledger.ErrUnavailable, errClosed)
	}
	select {
	case b.reqs <- r:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ledger.ErrUnavailable, ctx.Err())
	}
}

func (l *Ledger) batchLimits() (int, time.Duration) {
	size := l.cfg.BatchSize
	if size == 0 {
		size = wire.MaxBatch
	}
	delay := l.cfg.BatchDelay
	switch {
	case delay == 0:
		delay = 20 * time.Millisecond
	case delay < 0:
		delay = 0
	}
	return size, delay
}

// runBatcher collects requests into batches and starts a flush for each.
func (l *Ledger) runBatcher(b *batcher) {
	defer l.batchWG.Done()
	size, delay := l.batchLimits()
	var carry *anchorReq
	for open := true; open || carry != nil; {
		first := carry
		carry = nil
		if first == nil {
			r, ok := <-b.reqs
			if !ok {
				return
			}
			first = r
		}
		batch := []*anchorReq{first}
		n := len(first.anchors)
		if open && n < size && delay > 0 {
			timer := time.NewTimer(delay)
		collect:
			for n < size {
				select {
				case r, ok := <-b.reqs:
					if !ok {
						open = false
						break collect
					}
					if n+len(r.anchors) > size {
						carry = r
						break collect
					}
					batch = append(batch, r)
					n += len(r.anchors)
				case <-timer.C:
					break collect
				}
			}
			timer.Stop()
		}
		l.flights <- struct{}{}
		go func() {
			defer func() { <-l.flights }()
			l.flush(b.c, batch)
		}()
	}
}

// flush submits the anchors of batch as one transaction and answers each
// request. When the chaincode refuses a merged batch, the request at fault
// is found (the error names the event) and the others are tried again
// without it, so one bad call never fails another; each call alone gets the
// verdict it would have got on its own.
func (l *Ledger) flush(c *orgClient, batch []*anchorReq) {
	var anchors []ledger.Anchor
	for _, r := range batch {
		anchors = append(anchors, r.anchors...)
	}
	res, err := c.submit(l.ctx, anchorFn, jsonArg(anchors))
	if err == nil {
		l.sawBlock(res.block)
		rs, err := l.recordAnchors(res, anchors)
		if err == nil && len(rs) != len(anchors) {
			err = fmt.Errorf("%w: %s tx %s returned %d entries for %d anchors", ledger.ErrUnavailable, anchorFn, res.txID, len(rs), len(anchors))
		}
		off := 0
		for _, r := range batch {
			if err != nil {
				r.done <- anchorRes{err: err}
				continue
			}
			r.done <- anchorRes{receipts: rs[off : off+len(r.anchors)]}
			off += len(r.anchors)
		}
		return
	}
	var te *TxError
	if len(batch) == 1 || !errors.As(err, &te) || !te.verdict() {
		for _, r := range batch {
			r.done <- anchorRes{err: err}
		}
		return
	}
	if k := offender(te, batch); k >= 0 {
		rest := append(append([]*anchorReq(nil), batch[:k]...), batch[k+1:]...)
		l.flush(c, rest)
		l.flush(c, batch[k:k+1])
		return
	}
	mid := len(batch) / 2
	l.flush(c, batch[:mid])
	l.flush(c, batch[mid:])
}

// anchorFn is the chaincode function anchors go through: AnchorBatch
// without the entries in its result, which the ledger rebuilds.
const anchorFn = wire.FnAnchorBatchCompact

// recordAnchors rebuilds the entries of a committed AnchorBatchCompact
// transaction — each {v, kind: license.anchored, at: the transaction
// timestamp, anchor}, canonical, exactly as the chaincode recorded them —
// checks them against the count and Merkle root the chaincode answered, and
// records them in the local log.
func (l *Ledger) recordAnchors(c *committed, anchors []ledger.Anchor) ([]ledger.Receipt, error) {
	bad := func(detail string, cause error) error {
		return &TxError{Fn: anchorFn, TxID: c.txID, Stage: StageResult, Sentinel: ledger.ErrCorrupt, Detail: "committed, but " + detail, Cause: cause}
	}
	var res wire.WriteResult
	if err := json.Unmarshal(c.result, &res); err != nil {
		return nil, bad("the result does not decode", err)
	}
	ts, err := c.timestamp()
	if err != nil {
		return nil, bad("its timestamp cannot be read", err)
	}
	entries, root, err := rebuildAnchors(ts, anchors)
	if err != nil {
		return nil, bad("its entries cannot be rebuilt", err)
	}
	if res.Count != len(anchors) || !bytes.Equal(res.Root, root) {
		return nil, bad(fmt.Sprintf("the chaincode recorded %d entries with root %x; the %d rebuilt ones have root %x", res.Count, res.Root, len(anchors), root), nil)
	}
	return l.recordEntries(c, anchorFn, entries)
}

// verdict reports whether the chaincode refused the transaction for what it
// holds (a rule), not for a failure to run it.
func (e *TxError) verdict() bool {
	return e.Code != "" && e.Code != wire.CodeInternal
}

var eventRE = regexp.MustCompile(`event (\d+) of (\d+):`)

// offender returns the position in batch of the request holding the event
// the chaincode's error names ("event i of n:"), or -1.
func offender(e *TxError, batch []*anchorReq) int {
	m := eventRE.FindStringSubmatch(e.Detail)
	if m == nil {
		return -1
	}
	i, err1 := strconv.Atoi(m[1])
	n, err2 := strconv.Atoi(m[2])
	total := 0
	for _, r := range batch {
		total += len(r.anchors)
	}
	if err1 != nil || err2 != nil || n != total {
		return -1
	}
	for k, r := range batch {
		if i < len(r.anchors) {
			return k
		}
		i -= len(r.anchors)
	}
	return -1
}

// rebuildAnchors rebuilds the entries AnchorBatchCompact recorded for
// anchors in a transaction of timestamp ts, and their Merkle root.
func rebuildAnchors(ts time.Time, anchors []ledger.Anchor) ([][]byte, []byte, error) {
	at := ledger.NormalizeTime(ts)
	entries := make([][]byte, len(anchors))
	tree := tlog.NewTree()
	for i := range anchors {
		e, err := ledger.Event{V: ledger.EventVersion, Kind: ledger.KindLicenseAnchored, At: at, Anchor: &anchors[i]}.Canonical()
		if err != nil {
			return nil, nil, fmt.Errorf("entry %d: %w", i, err)
		}
		entries[i] = e
		tree.Append(e)
	}
	return entries, tree.Root(), nil
}
