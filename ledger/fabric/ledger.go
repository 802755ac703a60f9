package fabric

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"zhengzhao/ledger"
	"zhengzhao/ledger/fabric/wire"
	"zhengzhao/ledger/tlog"
	"zhengzhao/signing"
)

// Ledger is the Fabric ledger. It is safe for concurrent use.
type Ledger struct {
	cfg      Config
	origin   string
	platform *orgClient
	orgs     map[string]*orgClient
	reader   *orgClient
	deptOrg  func(uscc string) string

	// ctx lives until Close; transactions in flight use it, not their
	// callers' contexts, so a queued write is seen through.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed atomic.Bool

	// mu guards the local log.
	mu     sync.RWMutex
	log    *localLog
	broken error
	logQ   chan *logReq

	batchers map[string]*batcher
	batchWG  sync.WaitGroup
	sendMu   sync.RWMutex // held for reading while sending to a batcher
	flights  chan struct{}

	depts sync.Map // department USCC → MSP ID, as registered

	lastBlock atomic.Uint64 // highest block holding a transaction of ours, plus one

	pub *publisher

	// follow builds the log from the channel's blocks (Config.Follow).
	follow *follower
}

var _ ledger.Ledger = (*Ledger)(nil)

// New connects to the chaincode through each org's gateway and opens the
// local log in cfg.Dir. With cfg.Publish it records the log key on the
// channel if none is (SetLogKey), checks the channel's latest checkpoint is
// one of this log's, and starts publishing checkpoints.
func New(ctx context.Context, cfg Config) (*Ledger, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l := &Ledger{cfg: cfg, origin: cfg.origin(), orgs: map[string]*orgClient{}, batchers: map[string]*batcher{}, logQ: make(chan *logReq)}
	inFlight := cfg.InFlight
	if inFlight == 0 {
		inFlight = 4
	}
	l.flights = make(chan struct{}, inFlight)
	ok := false
	defer func() {
		if !ok {
			l.closeClients()
		}
	}()
	if cfg.Platform != nil {
		c, err := newOrgClient(cfg.Platform, cfg)
		if err != nil {
			return nil, err
		}
		l.platform = c
	}
	for _, o := range cfg.Orgs {
		c, err := newOrgClient(o, cfg)
		if err != nil {
			return nil, err
		}
		l.orgs[o.MSPID] = c
	}
	switch {
	case cfg.Reader != "" && l.platform != nil && cfg.Reader == l.platform.msp:
		l.reader = l.platform
	case cfg.Reader != "":
		l.reader = l.orgs[cfg.Reader]
	case len(cfg.Orgs) > 0:
		l.reader = l.orgs[cfg.Orgs[0].MSPID]
	default:
		l.reader = l.platform
	}
	l.deptOrg = cfg.DepartmentOrg
	if l.deptOrg == nil {
		only := ""
		if len(cfg.Orgs) == 1 {
			only = cfg.Orgs[0].MSPID
		}
		l.deptOrg = func(string) string { return only }
	}
	lg, err := openLog(ctx, cfg.Dir, l.origin, cfg.Signer)
	if err != nil {
		return nil, err
	}
	l.log = lg
	l.ctx, l.cancel = context.WithCancel(context.Background())
	if cfg.Follow {
		f, err := l.startFollower(ctx)
		if err != nil {
			l.cancel()
			l.wg.Wait()
			lg.close()
			return nil, fmt.Errorf("follow the channel: %w", err)
		}
		l.follow = f
	}
	if cfg.Publish {
		p, err := l.startPublisher(ctx)
		if err != nil {
			l.cancel()
			l.wg.Wait()
			lg.close()
			return nil, err
		}
		l.pub = p
	}
	l.wg.Add(1)
	go l.logWriter()
	ok = true
	return l, nil
}

func (l *Ledger) closeClients() {
	if l.platform != nil {
		l.platform.close()
	}
	for _, c := range l.orgs {
		c.close()
	}
}

// Close stops the batchers and the publisher after the transactions in
// flight, and closes the local log. The gRPC connections stay open: they
// are the caller's. Later calls fail with ledger.ErrUnavailable.
func (l *Ledger) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	l.sendMu.Lock()
	l.mu.Lock()
	for _, b := range l.batchers {
		close(b.reqs)
	}
	l.mu.Unlock()
	l.sendMu.Unlock()
	// The batchers hand over what they hold; wait for the batches in
	// flight, then stop the log writer and the publisher.
	l.batchWG.Wait()
	for range cap(l.flights) {
		l.flights <- struct{}{}
	}
	l.cancel()
	l.wg.Wait()
	l.closeClients()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.log.close()
}

var errClosed = errors.New("fabric: ledger is closed")

func (l *Ledger) checkOpen(ctx context.Context) error {
	if l.closed.Load() {
		return fmt.Errorf("%w: %w", ledger.ErrUnavailable, errClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ledger.ErrUnavailable, err)
	}
	return nil
}

// --- the local log writer ---------------------------------------------------

type logReq struct {
	entries [][]byte
	done    chan logRes
}

type logRes struct {
	receipts []ledger.Receipt
	err      error
}

// logWriter appends committed transactions' entries to the local log, many
// transactions per fsync, in the order their commits arrive.
func (l *Ledger) logWriter() {
	defer l.wg.Done()
	for {
		var batch []*logReq
		select {
		case r := <-l.logQ:
			batch = append(batch, r)
		case <-l.ctx.Done():
			return
		}
	drain:
		for len(batch) < 256 {
			select {
			case r := <-l.logQ:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		l.appendLog(batch)
	}
}

func (l *Ledger) appendLog(batch []*logReq) {
	l.mu.Lock()
	if l.broken != nil {
		l.mu.Unlock()
		for _, r := range batch {
			r.done <- logRes{err: l.broken}
		}
		return
	}
	groups := make([][][]byte, len(batch))
	for i, r := range batch {
		groups[i] = r.entries
	}
	firsts, err := l.log.appendGroups(groups)
	if err != nil {
		l.broken = fmt.Errorf("%w: local log: %w; the transactions are on the channel but not in this log: reopen the ledger", ledger.ErrUnavailable, err)
		l.mu.Unlock()
		for _, r := range batch {
			r.done <- logRes{err: l.broken}
		}
		return
	}
	cp := l.log.cp
	out := make([][]ledger.Receipt, len(batch))
	for i, r := range batch {
		out[i] = make([]ledger.Receipt, len(r.entries))
		for j, e := range r.entries {
			idx := firsts[i] + uint64(j)
			proof, err := l.log.tree.InclusionProof(idx, cp.Size)
			if err != nil { // cannot happen: idx < cp.Size
				out[i] = nil
				break
			}
			out[i][j] = ledger.Receipt{Entry: e, LogIndex: idx, TreeSize: cp.Size, InclusionProof: proof, Checkpoint: cp.Note}
		}
	}
	l.mu.Unlock()
	if l.pub != nil {
		l.pub.kick()
	}
	for i, r := range batch {
		if out[i] == nil {
			r.done <- logRes{err: fmt.Errorf("%w: inclusion proof failed", ledger.ErrUnavailable)}
			continue
		}
		r.done <- logRes{receipts: out[i]}
	}
}

// record appends a committed transaction's entries, from its result, to
// the local log and returns their receipts.
func (l *Ledger) record(c *committed, fn string) ([]ledger.Receipt, error) {
	var wr wire.WriteResult
	if err := json.Unmarshal(c.result, &wr); err != nil {
		return nil, &TxError{Fn: fn, TxID: c.txID, Stage: StageResult, Sentinel: ledger.ErrUnavailable, Detail: "committed, but the result does not decode: " + err.Error(), Cause: err}
	}
	entries := make([][]byte, len(wr.Entries))
	for i, e := range wr.Entries {
		if _, err := ledger.ParseEvent(e); err != nil {
			return nil, &TxError{Fn: fn, TxID: c.txID, Stage: StageResult, Sentinel: ledger.ErrCorrupt, Detail: fmt.Sprintf("committed entry %d is not a canonical event: %v", i, err), Cause: err}
		}
		entries[i] = e
	}
	return l.recordEntries(c, fn, entries)
}

// recordEntries appends a committed transaction's canonical entries to the
// local log and returns their receipts.
func (l *Ledger) recordEntries(c *committed, fn string, entries [][]byte) ([]ledger.Receipt, error) {
	if l.follow != nil {
		return l.follow.receipts(c, fn, entries)
	}
	r := &logReq{entries: entries, done: make(chan logRes, 1)}
	select {
	case l.logQ <- r:
	case <-l.ctx.Done():
		return nil, &TxError{Fn: fn, TxID: c.txID, Stage: StageResult, Sentinel: ledger.ErrUnavailable, Detail: "committed, but the ledger closed before the local log recorded it"}
	}
	res := <-r.done
	if res.err != nil {
		return nil, fmt.Errorf("tx %s: %w", c.txID, res.err)
	}
	return res.receipts, nil
}

// write submits one transaction through c and records its entries.
func (l *Ledger) write(ctx context.Context, c *orgClient, fn string, args ...string) ([]ledger.Receipt, error) {
	if err := l.checkOpen(ctx); err != nil {
		return nil, err
	}
	res, err := c.submit(ctx, fn, args...)
	if err != nil {
		return nil, err
	}
	l.sawBlock(res.block)
	return l.record(res, fn)
}

func (l *Ledger) writeOne(ctx context.Context, c *orgClient, fn string, args ...string) (ledger.Receipt, error) {
	rs, err := l.write(ctx, c, fn, args...)
	if err != nil {
		return ledger.Receipt{}, err
	}
	if len(rs) != 1 {
		return ledger.Receipt{}, fmt.Errorf("%w: %s returned %d entries, want 1", ledger.ErrUnavailable, fn, len(rs))
	}
	return rs[0], nil
}

func (l *Ledger) sawBlock(n uint64) {
	for {
		cur := l.lastBlock.Load()
		if n+1 <= cur || l.lastBlock.CompareAndSwap(cur, n+1) {
			return
		}
	}
}

func (l *Ledger) platformClient(fn string) (*orgClient, error) {
	if l.platform == nil {
		return nil, fmt.Errorf("%w: %w: %s is the platform org's; configure Platform", ledger.ErrUnavailable, ErrNoOrg, fn)
	}
	return l.platform, nil
}

func jsonArg(v any) string {
	b, err := json.Marshal(v)
	if err != nil { // the ledger's types always encode
		panic(err)
	}
	return string(b)
}

// --- writes -------------------------------------------------------------------

// RegisterDepartment records a department and its first key (platform org),
// as belonging to the org Config.DepartmentOrg names.
func (l *Ledger) RegisterDepartment(ctx context.Context, d ledger.Department, k ledger.Key) (ledger.Receipt, error) {
	c, err := l.platformClient(wire.FnRegisterDepartment)
	if err != nil {
		return ledger.Receipt{}, err
	}
	msp := l.deptOrg(d.USCC)
	if msp == "" {
		return ledger.Receipt{}, fmt.Errorf("%w: department %s: no org to register it with (Config.DepartmentOrg)", ledger.ErrInvalidEvent, d.USCC)
	}
	r, err := l.writeOne(ctx, c, wire.FnRegisterDepartment, jsonArg(d), jsonArg(k), msp)
	if err == nil {
		l.depts.Store(d.USCC, msp)
	}
	return r, err
}

// AddKey records another key of a department (platform org).
func (l *Ledger) AddKey(ctx context.Context, k ledger.Key) (ledger.Receipt, error) {
	c, err := l.platformClient(wire.FnAddKey)
	if err != nil {
		return ledger.Receipt{}, err
	}
	return l.writeOne(ctx, c, wire.FnAddKey, jsonArg(k))
}

// RevokeKey records a key revocation (platform org).
func (l *Ledger) RevokeKey(ctx context.Context, r ledger.KeyRevocation) (ledger.Receipt, error) {
	c, err := l.platformClient(wire.FnRevokeKey)
	if err != nil {
		return ledger.Receipt{}, err
	}
	return l.writeOne(ctx, c, wire.FnRevokeKey, jsonArg(r))
}

// AnchorType records a catalog type version by its digest (platform org).
func (l *Ledger) AnchorType(ctx context.Context, t ledger.TypeVersion) (ledger.Receipt, error) {
	c, err := l.platformClient(wire.FnAnchorType)
	if err != nil {
		return ledger.Receipt{}, err
	}
	return l.writeOne(ctx, c, wire.FnAnchorType, jsonArg(t))
}

// SetStatus records a status change through the client of the org of the
// license's department.
func (l *Ledger) SetStatus(ctx context.Context, c ledger.StatusChange) (ledger.Receipt, error) {
	if err := l.checkOpen(ctx); err != nil {
		return ledger.Receipt{}, err
	}
	oc, err := l.clientFor(ctx, c.Issuer)
	if err != nil {
		return ledger.Receipt{}, err
	}
	return l.writeOne(ctx, oc, wire.FnSetStatus, jsonArg(c))
}

// AnchorRecordsHead records the head of a record chain (platform org).
func (l *Ledger) AnchorRecordsHead(ctx context.Context, h ledger.RecordsHead) (ledger.Receipt, error) {
	c, err := l.platformClient(wire.FnAnchorRecordsHead)
	if err != nil {
		return ledger.Receipt{}, err
	}
	return l.writeOne(ctx, c, wire.FnAnchorRecordsHead, jsonArg(h))
}

// clientFor returns the client of the org department uscc belongs to. For a
// department the channel does not know it returns the client of the org
// Config.DepartmentOrg names (or the reader's), so that the chaincode gives
// its verdict (ERR_UNKNOWN_DEPARTMENT).
func (l *Ledger) clientFor(ctx context.Context, uscc string) (*orgClient, error) {
	msp, err := l.mspOf(ctx, uscc)
	if err != nil {
		return nil, err
	}
	known := msp != ""
	if !known {
		msp = l.deptOrg(uscc)
	}
	if c, ok := l.orgs[msp]; ok {
		return c, nil
	}
	if l.platform != nil && l.platform.msp == msp {
		return l.platform, nil
	}
	if !known {
		return l.reader, nil
	}
	return nil, fmt.Errorf("%w: %w: department %s belongs to org %s", ledger.ErrUnavailable, ErrNoOrg, uscc, msp)
}

// mspOf returns the org department uscc was registered with ("" if the
// channel does not know it).
func (l *Ledger) mspOf(ctx context.Context, uscc string) (string, error) {
	if v, ok := l.depts.Load(uscc); ok {
		return v.(string), nil
	}
	di, err := l.department(ctx, uscc)
	if errors.Is(err, ledger.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return di.MSP, nil
}

// --- reads --------------------------------------------------------------------

// query evaluates fn on the reader's peer once it has every block this
// ledger committed to, and decodes the JSON answer into v.
func (l *Ledger) query(ctx context.Context, c *orgClient, v any, fn string, args ...string) error {
	if err := l.checkOpen(ctx); err != nil {
		return err
	}
	if n := l.lastBlock.Load(); n > 0 {
		if err := c.waitHeight(ctx, n-1); err != nil {
			return err
		}
	}
	out, err := c.evaluate(ctx, fn, args...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(out, v); err != nil {
		return &TxError{Fn: fn, Stage: StageResult, Sentinel: ledger.ErrUnavailable, Detail: "answer does not decode: " + err.Error(), Cause: err}
	}
	return nil
}

func (l *Ledger) department(ctx context.Context, uscc string) (*wire.DepartmentInfo, error) {
	var di wire.DepartmentInfo
	if err := l.query(ctx, l.reader, &di, wire.FnGetDepartment, uscc); err != nil {
		return nil, err
	}
	if di.MSP != "" {
		l.depts.Store(uscc, di.MSP)
	}
	return &di, nil
}

// Department returns a department's facts and keys, from the reader's peer.
func (l *Ledger) Department(ctx context.Context, uscc string) (*ledger.DepartmentState, error) {
	di, err := l.department(ctx, uscc)
	if err != nil {
		return nil, err
	}
	return &di.DepartmentState, nil
}

// License returns a license's anchor, status and history from the reader's
// peer: the chaincode's state is authoritative. Log indexes are this
// instance's log's; an event another instance wrote has NotInLog.
func (l *Ledger) License(ctx context.Context, identifier string) (*ledger.LicenseState, error) {
	var li wire.LicenseInfo
	if err := l.query(ctx, l.reader, &li, wire.FnGetLicense, identifier); err != nil {
		return nil, err
	}
	if len(li.Entries) != len(li.History) {
		return nil, fmt.Errorf("%w: GetLicense %s: %d entries for %d history events", ledger.ErrUnavailable, identifier, len(li.Entries), len(li.History))
	}
	l.mu.RLock()
	for i, e := range li.Entries {
		li.History[i].LogIndex = l.log.lookup(e.Event)
	}
	l.mu.RUnlock()
	if len(li.History) > 0 {
		li.LogIndex = li.History[0].LogIndex
	}
	return &li.LicenseState, nil
}

// Checkpoint returns the latest checkpoint of this instance's log. With
// Publish it is the one the channel accepted, and it covers every write
// acknowledged before the call (Checkpoint waits for the publisher); without
// it, the latest local one.
func (l *Ledger) Checkpoint(ctx context.Context) (ledger.SignedCheckpoint, error) {
	if err := l.checkOpen(ctx); err != nil {
		return ledger.SignedCheckpoint{}, err
	}
	l.mu.RLock()
	local := l.log.cp
	broken := l.broken
	l.mu.RUnlock()
	if broken != nil {
		return ledger.SignedCheckpoint{}, broken
	}
	if l.pub == nil {
		return cloneCheckpoint(local), nil
	}
	accepted, err := l.pub.wait(ctx, local.Size)
	if err != nil {
		return ledger.SignedCheckpoint{}, err
	}
	// What the reader's peer holds: the same, or newer if another publish
	// landed meanwhile; older only while that peer is a block behind.
	var cr wire.CheckpointRecord
	if err := l.query(ctx, l.reader, &cr, wire.FnGetCheckpoint); err != nil {
		return ledger.SignedCheckpoint{}, err
	}
	if cr.Size >= accepted.Size {
		if _, err := tlog.VerifyCheckpoint(cr.Note, l.origin, l.cfg.Signer.Public()); err != nil {
			return ledger.SignedCheckpoint{}, fmt.Errorf("%w: the channel's checkpoint is not this log's: %w", ledger.ErrCorrupt, err)
		}
		if l.follow != nil {
			// Another instance published it: answer it once this log holds
			// it too (proofs against it come from this log).
			if err := l.follow.waitSize(ctx, cr.Size); err != nil {
				return ledger.SignedCheckpoint{}, err
			}
			if err := l.checkOnChain(cr.SignedCheckpoint); err != nil {
				return ledger.SignedCheckpoint{}, err
			}
		}
		return cr.SignedCheckpoint, nil
	}
	return cloneCheckpoint(accepted), nil
}

func cloneCheckpoint(cp ledger.SignedCheckpoint) ledger.SignedCheckpoint {
	cp.Root = bytes.Clone(cp.Root)
	return cp
}

// InclusionProof proves entry index of this instance's log is in its tree
// of treeSize entries.
func (l *Ledger) InclusionProof(ctx context.Context, index, treeSize uint64) ([][]byte, error) {
	if err := l.checkOpen(ctx); err != nil {
		return nil, err
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	p, err := l.log.tree.InclusionProof(index, treeSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ledger.ErrNotFound, err)
	}
	return p, nil
}

// ConsistencyProof proves this instance's log of oldSize entries is a
// prefix of its log of newSize entries.
func (l *Ledger) ConsistencyProof(ctx context.Context, oldSize, newSize uint64) ([][]byte, error) {
	if err := l.checkOpen(ctx); err != nil {
		return nil, err
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	p, err := l.log.tree.ConsistencyProof(oldSize, newSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ledger.ErrNotFound, err)
	}
	return p, nil
}

// logKeyArg is the log's public key as SetLogKey takes it: base64 of its
// PKIX DER.
func logKeyArg(s signing.Signer) (string, []byte, error) {
	der, err := signing.MarshalPublicKey(s.Public())
	if err != nil {
		return "", nil, fmt.Errorf("%w: log key: %w", ErrConfig, err)
	}
	return base64.StdEncoding.EncodeToString(der), der, nil
}
