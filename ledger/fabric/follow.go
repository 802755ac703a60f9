package fabric

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"zhengzhao/ledger"
	"zhengzhao/ledger/fabric/wire"
	"zhengzhao/ledger/tlog"
)

// cursorFile records where the follower resumes: the next block to read and
// the log's size before it.
const cursorFile = "follow.json"

// placedWindow is how many blocks a transaction's place in the log is kept
// for the writer that waits for it.
const placedWindow = 10000

// cursor is the follower's resume point. It is written after the log is
// synced, so it is never ahead of the log; a stale or missing one only makes
// the follower re-read (and re-check) blocks whose entries the log holds.
type cursor struct {
	Block uint64 `json:"block"`
	Size  uint64 `json:"size"`
}

// placement is where the follower put a transaction's entries.
type placement struct {
	first uint64
	n     int
	block uint64
	err   error
}

type waiter struct {
	block uint64
	ch    chan placement
}

// follower builds the local log from the channel's blocks, in block order:
// for each valid transaction of the chaincode, the entries of its chaincode
// event (wire.EventName), or, for AnchorBatchCompact, the entries rebuilt
// from its arguments and timestamp and checked against the event's count
// and root. Every instance following one channel builds the same log.
type follower struct {
	l *Ledger
	c *orgClient

	mu      sync.Mutex
	next    uint64 // next block to read
	pos     uint64 // the log's size before block next
	placed  map[string]placement
	waiters map[string]*waiter
	err     error // set when the follower stopped for good
	changed chan struct{}
}

func readCursor(dir string) (cursor, error) {
	var c cursor
	b, err := os.ReadFile(filepath.Join(dir, cursorFile))
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("%w: read %s: %w", ledger.ErrUnavailable, cursorFile, err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		// A torn cursor is harmless: start over and re-check every block.
		return cursor{}, nil
	}
	return c, nil
}

func writeCursor(dir string, c cursor) error {
	b, _ := json.Marshal(c)
	tmp := filepath.Join(dir, cursorFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, cursorFile))
}

// startFollower reads the cursor, starts following the channel through the
// reader's peer and waits until the log holds every block the peer has.
func (l *Ledger) startFollower(ctx context.Context) (*follower, error) {
	cur, err := readCursor(l.cfg.Dir)
	if err != nil {
		return nil, err
	}
	if size := l.log.tree.Size(); cur.Size > size {
		cur = cursor{} // the log lost its tail: re-read the channel from its start
	}
	f := &follower{l: l, c: l.reader, next: cur.Block, pos: cur.Size, placed: map[string]placement{}, waiters: map[string]*waiter{}, changed: make(chan struct{})}
	l.wg.Add(1)
	go f.run()
	h, err := l.reader.chainHeight(ctx)
	if err != nil {
		return f, err
	}
	return f, f.waitBlock(ctx, h)
}

// waitBlock waits until the follower has read every block below height.
func (f *follower) waitBlock(ctx context.Context, height uint64) error {
	for {
		f.mu.Lock()
		next, err, ch := f.next, f.err, f.changed
		f.mu.Unlock()
		if err != nil {
			return err
		}
		if next >= height {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%w: following the channel: at block %d of %d: %w", ledger.ErrUnavailable, next, height, ctx.Err())
		case <-f.l.ctx.Done():
			return fmt.Errorf("%w: %w", ledger.ErrUnavailable, errClosed)
		}
	}
}

// waitSize waits until the log holds size entries.
func (f *follower) waitSize(ctx context.Context, size uint64) error {
	t := time.NewTimer(f.c.t.CommitStatus)
	defer t.Stop()
	for {
		f.mu.Lock()
		pos, err, ch := f.pos, f.err, f.changed
		f.mu.Unlock()
		if err != nil {
			return err
		}
		if pos >= size {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%w: waiting for the log to reach %d entries: %w", ledger.ErrUnavailable, size, ctx.Err())
		case <-t.C:
			return fmt.Errorf("%w: the log did not reach %d entries in time (it holds %d)", ledger.ErrUnavailable, size, pos)
		case <-f.l.ctx.Done():
			return fmt.Errorf("%w: %w", ledger.ErrUnavailable, errClosed)
		}
	}
}

func (f *follower) run() {
	defer f.l.wg.Done()
	for attempt := 1; f.l.ctx.Err() == nil; attempt++ {
		err := f.stream()
		if f.l.ctx.Err() != nil {
			return
		}
		var ce *corruptError
		if errors.As(err, &ce) {
			f.stop(err)
			return
		}
		if err == nil {
			attempt = 0
		}
		if f.c.pause(f.l.ctx, min(attempt, 5)+1) != nil {
			return
		}
	}
}

// corruptError stops the follower: the channel's blocks disagree with the
// log, or an entry cannot be rebuilt.
type corruptError struct{ err error }

func (e *corruptError) Error() string { return e.err.Error() }
func (e *corruptError) Unwrap() error { return e.err }

func corrupt(format string, a ...any) error {
	return &corruptError{fmt.Errorf("%w: following the channel: "+format, append([]any{ledger.ErrCorrupt}, a...)...)}
}

// stream reads blocks from f.next on until the stream ends or fails.
func (f *follower) stream() error {
	ctx, cancel := context.WithCancel(f.l.ctx)
	defer cancel()
	f.mu.Lock()
	start := f.next
	f.mu.Unlock()
	blocks, err := f.c.network.BlockEvents(ctx, client.WithStartBlock(start))
	if err != nil {
		return err
	}
	for b := range blocks {
		batch := []*common.Block{b}
	drain:
		for len(batch) < 64 {
			select {
			case nb, ok := <-blocks:
				if !ok {
					break drain
				}
				batch = append(batch, nb)
			default:
				break drain
			}
		}
		if err := f.apply(batch); err != nil {
			return err
		}
	}
	return errors.New("block stream ended")
}

type blockTx struct {
	id      string
	entries [][]byte
}

// apply appends the entries of blocks, which follow f.next in order.
func (f *follower) apply(blocks []*common.Block) error {
	l := f.l
	f.mu.Lock()
	next, pos := f.next, f.pos
	f.mu.Unlock()
	l.mu.RLock()
	size := l.log.tree.Size()
	l.mu.RUnlock()
	var fresh [][]byte
	type placed struct {
		id string
		p  placement
	}
	var txs []placed
	for _, b := range blocks {
		n := b.GetHeader().GetNumber()
		if n != next {
			return fmt.Errorf("block stream gave block %d, want %d", n, next)
		}
		btxs, err := blockEntries(b, l.cfg.Chaincode)
		if err != nil {
			return err
		}
		for _, tx := range btxs {
			first := pos
			for i, e := range tx.entries {
				if pos < size {
					l.mu.RLock()
					at := l.log.lookup(e)
					l.mu.RUnlock()
					if at != pos {
						return corrupt("entry %d of tx %s in block %d is not the log's entry %d in %s", i, tx.id, n, pos, l.cfg.Dir)
					}
				} else {
					fresh = append(fresh, e)
				}
				pos++
			}
			txs = append(txs, placed{tx.id, placement{first: first, n: len(tx.entries), block: n}})
		}
		next++
	}
	if len(fresh) > 0 {
		l.mu.Lock()
		if l.broken != nil {
			l.mu.Unlock()
			return &corruptError{l.broken}
		}
		if _, err := l.log.appendGroups([][][]byte{fresh}); err != nil {
			l.broken = fmt.Errorf("%w: local log: %w: reopen the ledger", ledger.ErrUnavailable, err)
			l.mu.Unlock()
			return &corruptError{l.broken}
		}
		l.mu.Unlock()
	}
	if len(fresh) > 0 || next%256 == 0 {
		if err := writeCursor(l.cfg.Dir, cursor{Block: next, Size: pos}); err != nil {
			return fmt.Errorf("write %s: %w", cursorFile, err)
		}
	}
	f.mu.Lock()
	f.next, f.pos = next, pos
	for _, tx := range txs {
		if w, ok := f.waiters[tx.id]; ok {
			w.ch <- tx.p
			delete(f.waiters, tx.id)
			continue
		}
		f.placed[tx.id] = tx.p
	}
	for id, w := range f.waiters {
		if w.block < next {
			w.ch <- placement{err: fmt.Errorf("%w: tx %s committed in block %d, but the block holds no entries of it", ledger.ErrCorrupt, id, w.block)}
			delete(f.waiters, id)
		}
	}
	if next%1024 == 0 || len(f.placed) > 100000 {
		for id, p := range f.placed {
			if p.block+placedWindow < next {
				delete(f.placed, id)
			}
		}
	}
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
	if len(fresh) > 0 && l.pub != nil {
		l.pub.kick()
	}
	return nil
}

func (f *follower) stop(err error) {
	f.mu.Lock()
	f.err = err
	for id, w := range f.waiters {
		w.ch <- placement{err: err}
		delete(f.waiters, id)
	}
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

// await returns where the follower put committed transaction c's entries.
func (f *follower) await(ctx context.Context, c *committed) (placement, error) {
	f.mu.Lock()
	if p, ok := f.placed[c.txID]; ok {
		delete(f.placed, c.txID)
		f.mu.Unlock()
		return p, nil
	}
	if f.err != nil {
		err := f.err
		f.mu.Unlock()
		return placement{}, err
	}
	if f.next > c.block {
		f.mu.Unlock()
		return placement{}, fmt.Errorf("%w: tx %s committed in block %d, but the log does not hold its entries", ledger.ErrCorrupt, c.txID, c.block)
	}
	w := &waiter{block: c.block, ch: make(chan placement, 1)}
	f.waiters[c.txID] = w
	f.mu.Unlock()
	t := time.NewTimer(f.c.t.CommitStatus)
	defer t.Stop()
	select {
	case p := <-w.ch:
		return p, p.err
	case <-t.C:
	case <-ctx.Done():
	case <-f.l.ctx.Done():
	}
	f.mu.Lock()
	delete(f.waiters, c.txID)
	f.mu.Unlock()
	return placement{}, fmt.Errorf("%w: tx %s committed in block %d; the log has not reached it yet", ledger.ErrUnavailable, c.txID, c.block)
}

// receipts waits until the follower placed committed transaction c, checks
// the log holds entries there, and returns their receipts against the
// latest checkpoint.
func (f *follower) receipts(c *committed, fn string, entries [][]byte) ([]ledger.Receipt, error) {
	p, err := f.await(f.l.ctx, c)
	if err != nil {
		return nil, fmt.Errorf("tx %s: %w", c.txID, err)
	}
	if p.n != len(entries) {
		return nil, &TxError{Fn: fn, TxID: c.txID, Stage: StageResult, Sentinel: ledger.ErrCorrupt, Detail: fmt.Sprintf("the block holds %d entries of it, the result %d", p.n, len(entries))}
	}
	l := f.l
	l.mu.RLock()
	defer l.mu.RUnlock()
	cp := l.log.cp
	out := make([]ledger.Receipt, len(entries))
	for j, e := range entries {
		idx := p.first + uint64(j)
		proof, err := l.log.tree.InclusionProof(idx, cp.Size)
		if err == nil {
			err = tlog.VerifyInclusion(e, idx, cp.Size, proof, cp.Root)
		}
		if err != nil {
			return nil, &TxError{Fn: fn, TxID: c.txID, Stage: StageResult, Sentinel: ledger.ErrCorrupt, Detail: fmt.Sprintf("entry %d is not the log's entry %d: %v", j, idx, err), Cause: err}
		}
		out[j] = ledger.Receipt{Entry: e, LogIndex: idx, TreeSize: cp.Size, InclusionProof: proof, Checkpoint: cp.Note}
	}
	return out, nil
}

// blockEntries returns, in order, the valid transactions of chaincode in b
// that recorded entries, with their canonical entries.
func blockEntries(b *common.Block, chaincode string) ([]blockTx, error) {
	n := b.GetHeader().GetNumber()
	var filter []byte
	if md := b.GetMetadata().GetMetadata(); len(md) > int(common.BlockMetadataIndex_TRANSACTIONS_FILTER) {
		filter = md[common.BlockMetadataIndex_TRANSACTIONS_FILTER]
	}
	var out []blockTx
	for i, data := range b.GetData().GetData() {
		if i >= len(filter) {
			return nil, corrupt("block %d has no validation code for transaction %d", n, i)
		}
		if peer.TxValidationCode(filter[i]) != peer.TxValidationCode_VALID {
			continue
		}
		var env common.Envelope
		var pl common.Payload
		var ch common.ChannelHeader
		if err := proto.Unmarshal(data, &env); err != nil {
			return nil, corrupt("block %d tx %d: envelope: %v", n, i, err)
		}
		if err := proto.Unmarshal(env.GetPayload(), &pl); err != nil {
			return nil, corrupt("block %d tx %d: payload: %v", n, i, err)
		}
		if err := proto.Unmarshal(pl.GetHeader().GetChannelHeader(), &ch); err != nil {
			return nil, corrupt("block %d tx %d: channel header: %v", n, i, err)
		}
		if common.HeaderType(ch.GetType()) != common.HeaderType_ENDORSER_TRANSACTION {
			continue
		}
		var tx peer.Transaction
		if err := proto.Unmarshal(pl.GetData(), &tx); err != nil {
			return nil, corrupt("block %d tx %s: %v", n, ch.GetTxId(), err)
		}
		for _, act := range tx.GetActions() {
			entries, err := actionEntries(act, chaincode, &ch)
			if err != nil {
				return nil, corrupt("block %d tx %s: %v", n, ch.GetTxId(), err)
			}
			if len(entries) > 0 {
				out = append(out, blockTx{id: ch.GetTxId(), entries: entries})
			}
		}
	}
	return out, nil
}

// actionEntries returns the entries one endorsed action of chaincode
// recorded, or none if it is another chaincode's or set no entries event.
func actionEntries(act *peer.TransactionAction, chaincode string, ch *common.ChannelHeader) ([][]byte, error) {
	var cap peer.ChaincodeActionPayload
	if err := proto.Unmarshal(act.GetPayload(), &cap); err != nil {
		return nil, fmt.Errorf("action payload: %w", err)
	}
	var prp peer.ProposalResponsePayload
	if err := proto.Unmarshal(cap.GetAction().GetProposalResponsePayload(), &prp); err != nil {
		return nil, fmt.Errorf("proposal response payload: %w", err)
	}
	var cca peer.ChaincodeAction
	if err := proto.Unmarshal(prp.GetExtension(), &cca); err != nil {
		return nil, fmt.Errorf("chaincode action: %w", err)
	}
	if cca.GetChaincodeId().GetName() != chaincode || len(cca.GetEvents()) == 0 {
		return nil, nil
	}
	var ev peer.ChaincodeEvent
	if err := proto.Unmarshal(cca.GetEvents(), &ev); err != nil {
		return nil, fmt.Errorf("chaincode event: %w", err)
	}
	if ev.GetEventName() != wire.EventName {
		return nil, nil
	}
	var wr wire.WriteResult
	if err := json.Unmarshal(ev.GetPayload(), &wr); err != nil {
		return nil, fmt.Errorf("event payload: %w", err)
	}
	if len(wr.Entries) > 0 {
		out := make([][]byte, len(wr.Entries))
		for i, e := range wr.Entries {
			if _, err := ledger.ParseEvent(e); err != nil {
				return nil, fmt.Errorf("entry %d is not a canonical event: %w", i, err)
			}
			out[i] = e
		}
		return out, nil
	}
	if wr.Count == 0 {
		return nil, nil
	}
	// AnchorBatchCompact: rebuild the entries from the anchors the
	// transaction carries and its timestamp.
	var cpp peer.ChaincodeProposalPayload
	if err := proto.Unmarshal(cap.GetChaincodeProposalPayload(), &cpp); err != nil {
		return nil, fmt.Errorf("proposal payload: %w", err)
	}
	var cis peer.ChaincodeInvocationSpec
	if err := proto.Unmarshal(cpp.GetInput(), &cis); err != nil {
		return nil, fmt.Errorf("invocation spec: %w", err)
	}
	args := cis.GetChaincodeSpec().GetInput().GetArgs()
	if len(args) != 2 || !strings.HasSuffix(string(args[0]), wire.FnAnchorBatchCompact) {
		return nil, fmt.Errorf("an event of %d compact entries from a call that is not %s", wr.Count, wire.FnAnchorBatchCompact)
	}
	var anchors []ledger.Anchor
	if err := json.Unmarshal(args[1], &anchors); err != nil {
		return nil, fmt.Errorf("anchors argument: %w", err)
	}
	if ch.GetTimestamp() == nil {
		return nil, errors.New("no timestamp")
	}
	entries, root, err := rebuildAnchors(ch.GetTimestamp().AsTime(), anchors)
	if err != nil {
		return nil, err
	}
	if wr.Count != len(entries) || string(wr.Root) != string(root) {
		return nil, fmt.Errorf("the chaincode recorded %d entries with root %x; the %d rebuilt ones have root %x", wr.Count, wr.Root, len(entries), root)
	}
	return entries, nil
}
