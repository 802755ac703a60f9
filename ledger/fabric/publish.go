package fabric

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"zhengzhao/ledger"
	"zhengzhao/ledger/fabric/wire"
	"zhengzhao/ledger/tlog"
)

// ErrLogKey means Publish is on but the channel's log key is another log's.
// It wraps ErrConfig.
var ErrLogKey = fmt.Errorf("%w: log key", ErrConfig)

// publisher pushes this log's checkpoints to the chaincode (PutCheckpoint),
// each with a consistency proof from the previous accepted one, one at a
// time and always the latest: the endorsing orgs check the proof, so they
// witness that the log only grows.
type publisher struct {
	l     *Ledger
	c     *orgClient
	kicks chan struct{}

	mu       sync.Mutex
	accepted ledger.SignedCheckpoint
	has      bool   // accepted is set
	err      error  // the last attempt's error
	errGen   uint64 // attempts that failed so far
	changed  chan struct{}
}

func (p *publisher) kick() {
	select {
	case p.kicks <- struct{}{}:
	default:
	}
}

// startPublisher records the log key on the channel if none is, checks that
// the key and the channel's latest checkpoint are this log's, and starts
// publishing.
func (l *Ledger) startPublisher(ctx context.Context) (*publisher, error) {
	c := l.platform
	keyArg, der, err := logKeyArg(l.cfg.Signer)
	if err != nil {
		return nil, err
	}
	var lk wire.LogKey
	err = l.query(ctx, c, &lk, wire.FnGetLogKey)
	if errors.Is(err, ledger.ErrNotFound) {
		res, serr := c.submit(ctx, wire.FnSetLogKey, keyArg, l.origin)
		var te *TxError
		if serr != nil && !(errors.As(serr, &te) && te.Code == wire.CodeDuplicate) {
			return nil, fmt.Errorf("record the log key on the channel: %w", serr)
		}
		if res != nil {
			l.sawBlock(res.block)
		}
		err = l.query(ctx, c, &lk, wire.FnGetLogKey)
	}
	if err != nil {
		return nil, fmt.Errorf("read the channel's log key: %w", err)
	}
	if lk.Origin != l.origin || !bytes.Equal(lk.PublicKey, der) {
		return nil, fmt.Errorf("%w: the channel's log key is another log's (origin %s): one registry instance per channel publishes checkpoints; turn Publish off for this one", ErrLogKey, lk.Origin)
	}
	p := &publisher{l: l, c: c, kicks: make(chan struct{}, 1), changed: make(chan struct{})}
	var cr wire.CheckpointRecord
	err = l.query(ctx, c, &cr, wire.FnGetCheckpoint)
	switch {
	case errors.Is(err, ledger.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("read the channel's checkpoint: %w", err)
	default:
		if err := l.checkOnChain(cr.SignedCheckpoint); err != nil {
			return nil, err
		}
		p.accepted, p.has = cr.SignedCheckpoint, true
	}
	l.wg.Add(1)
	go p.run()
	p.kick()
	return p, nil
}

// checkOnChain checks the channel's checkpoint is of a prefix of the local log.
func (l *Ledger) checkOnChain(cp ledger.SignedCheckpoint) error {
	if _, err := tlog.VerifyCheckpoint(cp.Note, l.origin, l.cfg.Signer.Public()); err != nil {
		return fmt.Errorf("%w: the channel's checkpoint: %w", ledger.ErrCorrupt, err)
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	size := l.log.tree.Size()
	if cp.Size > size {
		return fmt.Errorf("%w: the channel holds a checkpoint of %d entries, the local log in %s only %d: the local log lost entries", ledger.ErrCorrupt, cp.Size, l.cfg.Dir, size)
	}
	root, err := l.log.tree.RootAt(cp.Size)
	if err != nil || !bytes.Equal(root, cp.Root) {
		return fmt.Errorf("%w: the channel's checkpoint of %d entries does not match the local log in %s", ledger.ErrCorrupt, cp.Size, l.cfg.Dir)
	}
	return nil
}

func (p *publisher) run() {
	defer p.l.wg.Done()
	for {
		select {
		case <-p.kicks:
		case <-p.l.ctx.Done():
			return
		}
		for p.publishOnce() {
			if p.l.ctx.Err() != nil {
				return
			}
		}
	}
}

// publishOnce publishes the latest local checkpoint if the channel does not
// have it yet. It reports whether to go on (there may be more, or it failed
// and will try again after a pause).
func (p *publisher) publishOnce() bool {
	l := p.l
	if l.follow != nil && p.adoptChannel() {
		return false
	}
	p.mu.Lock()
	acc, has := p.accepted, p.has
	p.mu.Unlock()
	l.mu.RLock()
	local := l.log.cp
	var proof [][]byte
	var perr error
	if has && local.Size > acc.Size {
		proof, perr = l.log.tree.ConsistencyProof(acc.Size, local.Size)
	}
	l.mu.RUnlock()
	if has && local.Size <= acc.Size {
		return false
	}
	if perr != nil {
		p.fail(fmt.Errorf("%w: consistency proof %d→%d: %w", ledger.ErrUnavailable, acc.Size, local.Size, perr))
		return false
	}
	pj, _ := json.Marshal(proof)
	_, err := p.c.submit(l.ctx, wire.FnPutCheckpoint, local.Note, string(pj))
	var te *TxError
	if err != nil && !(errors.As(err, &te) && te.Code == wire.CodeDuplicate) {
		if l.follow != nil && p.adoptChannel() {
			// Another instance following the channel published this
			// checkpoint or a later one first.
			return false
		}
		p.fail(err)
		t := time.NewTimer(p.c.backoff * 5)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-l.ctx.Done():
			return false
		}
	}
	p.mu.Lock()
	p.accepted, p.has, p.err = local, true, nil
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
	return true
}

func (p *publisher) fail(err error) {
	p.mu.Lock()
	p.err = fmt.Errorf("publish checkpoint: %w", err)
	p.errGen++
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}

// wait returns the accepted checkpoint once it covers size entries. It
// fails if an attempt to publish fails meanwhile, or ctx ends.
func (p *publisher) wait(ctx context.Context, size uint64) (ledger.SignedCheckpoint, error) {
	p.mu.Lock()
	gen := p.errGen
	p.mu.Unlock()
	p.kick()
	limit := time.NewTimer(p.c.t.Endorse + p.c.t.Submit + p.c.t.CommitStatus)
	defer limit.Stop()
	for {
		p.mu.Lock()
		acc, has, err, ch := p.accepted, p.has, p.err, p.changed
		failed := p.errGen > gen
		p.mu.Unlock()
		if has && acc.Size >= size {
			return cloneCheckpoint(acc), nil
		}
		if failed {
			return ledger.SignedCheckpoint{}, err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ledger.SignedCheckpoint{}, fmt.Errorf("%w: waiting for checkpoint %d to be published: %w", ledger.ErrUnavailable, size, ctx.Err())
		case <-limit.C:
			return ledger.SignedCheckpoint{}, fmt.Errorf("%w: checkpoint %d not published in time", ledger.ErrUnavailable, size)
		case <-p.l.ctx.Done():
			return ledger.SignedCheckpoint{}, fmt.Errorf("%w: %w", ledger.ErrUnavailable, errClosed)
		}
	}
}

// adoptChannel, for a ledger that follows the channel, takes the channel's
// checkpoint as accepted if it covers the local log: another instance
// following the channel (the same log, the same key) published it. It
// reports whether it did; then there is nothing to publish.
func (p *publisher) adoptChannel() bool {
	l := p.l
	var cr wire.CheckpointRecord
	if err := l.query(l.ctx, p.c, &cr, wire.FnGetCheckpoint); err != nil {
		return false
	}
	l.mu.RLock()
	local := l.log.cp
	l.mu.RUnlock()
	if cr.Size < local.Size {
		p.mu.Lock()
		if !p.has || cr.Size > p.accepted.Size {
			// The proof of the next publish starts from the channel's.
			if _, err := tlog.VerifyCheckpoint(cr.Note, l.origin, l.cfg.Signer.Public()); err == nil {
				p.accepted, p.has = cr.SignedCheckpoint, true
			}
		}
		p.mu.Unlock()
		return false
	}
	if err := l.follow.waitSize(l.ctx, cr.Size); err != nil {
		return false
	}
	if err := l.checkOnChain(cr.SignedCheckpoint); err != nil {
		p.fail(err)
		return true
	}
	p.mu.Lock()
	p.accepted, p.has, p.err = cr.SignedCheckpoint, true, nil
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
	return true
}
