package embedded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"log/slog"

	"zhengzhao/ledger"
	"zhengzhao/ledger/index"
	"zhengzhao/ledger/logfile"
	"zhengzhao/ledger/tlog"
)

// MaxAnchors bounds the anchors of one Anchor call.
const MaxAnchors = 10000

// indexEvery and indexAfter say when the writer writes to the index what
// the commits since the last write changed: after that many entries, or when
// that much time has passed. Until then the changes wait in memory (readers
// see them); after a crash, New brings the index up to date from the log.
const (
	indexEvery = 4096
	indexAfter = time.Second
)

// maxBatchEvents bounds the events one commit takes, so a burst of callers
// does not make one commit arbitrarily long. A single larger call still goes
// through, alone.
const maxBatchEvents = 4096

const (
	logFile   = "log"
	lockFile  = "lock"
	indexFile = "index"
)

// Ledger is the embedded ledger. It is safe for concurrent use.
type Ledger struct {
	cfg    Config
	origin string
	now    func() time.Time
	lock   *os.File
	f      *os.File
	idx    *index.Index
	wit    *witnessFile
	opened OpenReport

	reqs      chan *request
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once

	// mu guards everything below. The writer holds it while it commits, so
	// readers see only durable events.
	mu     sync.RWMutex
	state  *ledger.State
	store  *licenses
	tree   *tree
	cp     ledger.SignedCheckpoint
	cpOff  int64
	lastAt time.Time
	// events and unindexed are what the commits since the last index write
	// added (the licenses and tree nodes wait in store and tree).
	events    []index.Event
	unindexed int
	indexedAt time.Time
	end       int64 // file offset where the next record goes
	broken    error // set when a commit failed half way; the ledger must be reopened
	closed    bool

	syncs atomic.Int64 // number of log fsyncs (for tests)

	// checked holds anchor signatures verified in the callers' goroutines.
	checked checked
}

var _ ledger.Ledger = (*Ledger)(nil)

// OpenReport says what New had to check.
type OpenReport struct {
	// Verified counts the log entries New checked and applied: those
	// appended since the index's mark (the last verified size), or all of
	// them when the index was rebuilt.
	Verified uint64
	// Rebuilt says why the index was rebuilt from the whole log; "" if it
	// was not.
	Rebuilt string
	// Size is the number of entries in the log.
	Size uint64
}

type request struct {
	events []ledger.Event
	done   chan result
}

type result struct {
	receipts []ledger.Receipt
	err      error
}

// New opens (or creates) the ledger in cfg.Dir: it locks the directory,
// brings the index up to date with the log — checking only the records
// appended since the index's mark, or rebuilding the index from the whole
// log when it is missing or does not match — checks the log against the
// checkpoint kept apart from it (a *RollbackError wrapping
// ledger.ErrRollback if the log is shorter or not consistent), cuts off a
// torn tail, and starts the writer. A log that does not check out gives a
// *CorruptError wrapping ledger.ErrCorrupt.
func New(ctx context.Context, cfg Config) (*Ledger, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l := &Ledger{
		cfg:    cfg,
		origin: cfg.origin(),
		now:    cfg.Now,
		reqs:   make(chan *request),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	if l.now == nil {
		l.now = time.Now
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: create ledger directory: %w", ledger.ErrUnavailable, err)
	}
	lock, err := lockDir(filepath.Join(cfg.Dir, lockFile))
	if err != nil {
		return nil, err
	}
	l.lock = lock
	if err := l.open(ctx); err != nil {
		if l.f != nil {
			l.f.Close()
		}
		if l.idx != nil {
			l.idx.Close()
		}
		if l.wit != nil {
			l.wit.close()
		}
		unlockDir(lock)
		return nil, err
	}
	l.state.SetVerify(l.checked.verify)
	go l.writer()
	return l, nil
}

// Opened reports what New checked.
func (l *Ledger) Opened() OpenReport { return l.opened }

// open loads the log into the index, checks it against the kept checkpoint,
// repairs a torn tail and, for a new log, writes the checkpoint of the empty
// tree.
func (l *Ledger) open(ctx context.Context) error {
	path := filepath.Join(l.cfg.Dir, logFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("%w: open log: %w", ledger.ErrUnavailable, err)
	}
	l.f = f
	pub := l.cfg.Signer.Public()
	w, seq, err := readWitnessSeq(l.cfg.Dir, l.origin, pub)
	if err != nil {
		return err
	}
	if w != nil {
		fi, err := f.Stat()
		if err != nil {
			return fmt.Errorf("%w: stat log: %w", ledger.ErrUnavailable, err)
		}
		if fi.Size() < w.End {
			// Cut short: say so before (re)building anything.
			return &RollbackError{LogSize: countEntries(ctx, f), CheckpointSize: w.cp.Size, Reason: fmt.Sprintf("the log is %d bytes, the checkpoint it signed ends at byte %d", fi.Size(), w.End)}
		}
	}
	r, err := l.loadIndex(ctx)
	if err != nil {
		return err
	}
	if w != nil && r.note != "" {
		if err := w.check(r.tree); err != nil {
			return err
		}
	}
	if r.end < r.size {
		// Never acknowledged: a torn write or entries without a checkpoint.
		if err := logfile.Truncate(f, r.end); err != nil {
			return err
		}
	}
	l.state, l.store, l.tree, l.lastAt, l.end, l.cpOff = r.state, r.store, r.tree, r.lastAt, r.end, r.cpOff
	l.opened.Verified, l.opened.Size = r.verified, r.tree.size()
	if l.opened.Rebuilt != "" {
		l.logger().Warn("ledger index rebuilt from the log", "reason", l.opened.Rebuilt, "entries", r.verified)
	} else if r.verified > 0 {
		l.logger().Info("ledger index brought up to date with the log", "checked_entries", r.verified, "entries", r.tree.size())
	}
	if w != nil && r.note == "" {
		return &RollbackError{LogSize: 0, CheckpointSize: w.cp.Size, Reason: "the log has no checkpoint"}
	}
	if l.wit, err = openWitnessFile(l.cfg.Dir, seq); err != nil {
		return err
	}
	l.indexedAt = time.Now()
	if r.note != "" {
		l.cp = ledger.SignedCheckpoint{Note: r.note, Size: r.cp.Size, Root: r.cp.Root}
		if w == nil || w.Note != r.note {
			return l.wit.write(&witness{Note: r.note, Offset: r.cpOff, End: r.end})
		}
		return nil
	}
	// A new log: the file header and the checkpoint of the empty tree.
	buf := []byte(logMagic)
	if l.end == int64(len(logMagic)) {
		buf = nil
	} else {
		l.end = 0
	}
	cp, note, err := l.sign()
	if err != nil {
		return err
	}
	cpOff := l.end + int64(len(buf))
	buf, _ = appendRecord(buf, recCheckpoint, []byte(note))
	if err := l.writeSync(buf); err != nil {
		return err
	}
	if err := syncDir(l.cfg.Dir); err != nil {
		return err
	}
	l.cp = cp
	return l.committed(cpOff, 0, nil, true)
}

// loadIndex opens the index and brings it up to date with the log; an
// index that cannot be used or does not match the log is rebuilt.
func (l *Ledger) loadIndex(ctx context.Context) (*loaded, error) {
	path := filepath.Join(l.cfg.Dir, indexFile)
	pub := l.cfg.Signer.Public()
	idx, err := index.Open(path, index.Options{})
	if err == nil {
		l.idx = idx
		if _, ok, merr := idx.Mark(); merr != nil {
			err = merr
		} else if !ok {
			if fi, serr := l.f.Stat(); serr == nil && fi.Size() > int64(len(logMagic)) {
				l.opened.Rebuilt = "the index is missing"
			}
		}
		if err == nil {
			r, lerr := load(ctx, l.f, idx, l.origin, pub, nil)
			if lerr == nil || !errors.Is(lerr, errStale) && !errors.Is(lerr, index.ErrIndex) {
				return r, lerr
			}
			err = lerr
		}
		idx.Close()
		l.idx = nil
	}
	l.opened.Rebuilt = err.Error()
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: remove unusable index: %w", ledger.ErrUnavailable, err)
	}
	if l.idx, err = index.Open(path, index.Options{}); err != nil {
		return nil, fmt.Errorf("%w: %w", ledger.ErrUnavailable, err)
	}
	return load(ctx, l.f, l.idx, l.origin, pub, nil)
}

func (l *Ledger) logger() *slog.Logger {
	if l.cfg.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l.cfg.Logger
}

// committed keeps the checkpoint of the commit just written apart from the
// log, notes what the index lacks, and writes it to the index when enough
// has gathered (or force). l.mu must be held.
func (l *Ledger) committed(cpOff int64, entries int, events []index.Event, force bool) error {
	l.cpOff = cpOff
	l.events = append(l.events, events...)
	l.unindexed += entries
	if err := l.wit.write(&witness{Note: l.cp.Note, Offset: cpOff, End: l.end}); err != nil {
		return err
	}
	if force || l.unindexed >= indexEvery {
		return l.writeIndex()
	}
	return nil
}

// writeIndex writes what the commits since the last call changed to the
// index, marked with the latest checkpoint. l.mu must be held.
func (l *Ledger) writeIndex() error {
	b := &index.Batch{Events: l.events, Nodes: l.tree.take(), Mark: index.Mark{Size: l.cp.Size, Root: l.cp.Root, CheckpointOffset: l.cpOff, End: l.end, Time: l.lastAt}}
	if err := l.store.flush(b); err != nil {
		return err
	}
	if err := l.idx.Write(b); err != nil {
		return fmt.Errorf("%w: %w", ledger.ErrUnavailable, err)
	}
	l.events, l.unindexed, l.indexedAt = nil, 0, time.Now()
	return nil
}

// sign signs a checkpoint of the current tree.
func (l *Ledger) sign() (ledger.SignedCheckpoint, string, error) {
	cp := tlog.Checkpoint{Origin: l.origin, Size: l.tree.size(), Root: l.tree.root()}
	note, err := tlog.SignCheckpoint(cp, l.origin, l.cfg.Signer)
	if err != nil {
		return ledger.SignedCheckpoint{}, "", fmt.Errorf("%w: sign checkpoint: %w", ledger.ErrUnavailable, err)
	}
	return ledger.SignedCheckpoint{Note: note, Size: cp.Size, Root: cp.Root}, note, nil
}

// writeSync writes buf at the end of the log and fsyncs it.
func (l *Ledger) writeSync(buf []byte) error {
	if err := logfile.WriteSync(l.f, l.end, buf); err != nil {
		return err
	}
	l.syncs.Add(1)
	l.end += int64(len(buf))
	return nil
}

// Close stops the writer, waits for the commit in progress and releases the
// directory. Later calls fail with ledger.ErrUnavailable.
func (l *Ledger) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.stop)
		<-l.done
		l.mu.Lock()
		if l.broken == nil && l.unindexed > 0 {
			err = l.writeIndex()
		}
		l.closed = true
		l.mu.Unlock()
		err = errors.Join(err, l.f.Close(), l.idx.Close(), l.wit.close(), unlockDir(l.lock))
	})
	return err
}

// writer is the one goroutine that appends to the log.
func (l *Ledger) writer() {
	defer close(l.done)
	tick := time.NewTicker(indexAfter)
	defer tick.Stop()
	prev := 0 // requests in the last commit
	for {
		var batch []*request
		select {
		case r := <-l.reqs:
			batch = append(batch, r)
		case <-tick.C:
			l.mu.Lock()
			if l.broken == nil && l.unindexed > 0 && time.Since(l.indexedAt) >= indexAfter {
				if err := l.writeIndex(); err != nil {
					l.broken = fmt.Errorf("%w: index write failed, reopen the ledger: %w", ledger.ErrUnavailable, err)
				}
			}
			l.mu.Unlock()
			continue
		case <-l.stop:
			return
		}
		n := len(batch[0].events)
	drain:
		for n < maxBatchEvents {
			select {
			case r := <-l.reqs:
				batch = append(batch, r)
				n += len(r.events)
			default:
				break drain
			}
		}
		if prev > 1 && len(batch) < prev {
			// The last commit served several callers at once: more are on
			// their way. Wait a little for them, so that one checkpoint
			// signature and one pair of fsyncs serve them all.
			batch, n = l.gather(batch, n, prev)
		}
		prev = len(batch)
		l.commit(batch)
	}
}

// groupWait is how long the writer waits for more requests to join a commit
// when the last commit served several callers (concurrent callers arrive
// spread out, each after its own signing work). One caller at a time never
// waits.
const groupWait = time.Millisecond

// gather adds requests to batch for at most groupWait, until it holds want
// requests or maxBatchEvents events.
func (l *Ledger) gather(batch []*request, n, want int) ([]*request, int) {
	t := time.NewTimer(groupWait)
	defer t.Stop()
	for len(batch) < want && n < maxBatchEvents {
		select {
		case r := <-l.reqs:
			batch = append(batch, r)
			n += len(r.events)
		case <-t.C:
			return batch, n
		case <-l.stop:
			return batch, n
		}
	}
	return batch, n
}

// recordSizeHint and checkpointSizeHint are what commit expects a log record
// of an entry and of a checkpoint to take.
const (
	recordSizeHint     = 512
	checkpointSizeHint = 1024
)

// accepted is a request whose events passed the rules in this commit.
type accepted struct {
	req     *request
	first   uint64
	entries [][]byte
	kinds   []ledger.Kind
	hashes  [][]byte
}

// commit writes one group of requests with one fsync and answers them.
func (l *Ledger) commit(batch []*request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.broken != nil {
		for _, r := range batch {
			r.done <- result{err: l.broken}
		}
		return
	}
	at := ledger.NormalizeTime(l.now())
	if at.Before(l.lastAt) {
		at = l.lastAt
	}
	next := l.tree.size()
	events := 0
	for _, r := range batch {
		events += len(r.events)
	}
	// Room for the records of the usual events (an anchor's is about 500
	// bytes) and the checkpoint, so the buffer is not copied as it grows.
	buf := make([]byte, 0, events*recordSizeHint+checkpointSizeHint)
	var ok []accepted
	var indexed []index.Event
	for _, r := range batch {
		a, err := l.prepare(r, at, next)
		if err != nil {
			r.done <- result{err: err}
			continue
		}
		for i, e := range a.entries {
			off := l.end + int64(len(buf))
			l.store.offsets[a.first+uint64(i)] = off
			if !licenseEvent(a.kinds[i]) {
				indexed = append(indexed, indexEvent(a.first+uint64(i), off))
			}
			var d []byte
			buf, d = appendRecord(buf, recEntry, e)
			a.hashes = append(a.hashes, d)
		}
		next += uint64(len(a.entries))
		ok = append(ok, a)
	}
	if len(ok) == 0 {
		return
	}
	for _, a := range ok {
		for _, h := range a.hashes {
			if err := l.tree.append(h); err != nil {
				l.fail(ok, err)
				return
			}
		}
	}
	cp, note, err := l.sign()
	if err != nil {
		l.fail(ok, err)
		return
	}
	cpOff := l.end + int64(len(buf))
	buf, _ = appendRecord(buf, recCheckpoint, []byte(note))
	if err := l.writeSync(buf); err != nil {
		l.fail(ok, err)
		return
	}
	l.cp = cp
	l.lastAt = at
	// Proofs before the index write: the new nodes are still at hand.
	// The requests' entries are consecutive: their proofs come in one go.
	proofs, err := l.tree.inclusionProofs(ok[0].first, cp.Size-ok[0].first, cp.Size)
	if err != nil { // cannot happen: the entries end at cp.Size = tree size
		l.fail(ok, err)
		return
	}
	answers := make([][]ledger.Receipt, len(ok))
	for k, a := range ok {
		receipts := make([]ledger.Receipt, len(a.entries))
		for i, e := range a.entries {
			index := a.first + uint64(i)
			receipts[i] = ledger.Receipt{Entry: e, LogIndex: index, TreeSize: cp.Size, InclusionProof: proofs[index-ok[0].first], Checkpoint: note}
		}
		answers[k] = receipts
	}
	if err := l.committed(cpOff, int(cp.Size-ok[0].first), indexed, false); err != nil {
		// The events are durable in the log, so their callers get their
		// receipts; later calls fail until a reopen brings the kept
		// checkpoint and the index up to date with the log.
		l.broken = fmt.Errorf("%w: keeping the checkpoint or writing the index failed, reopen the ledger: %w", ledger.ErrUnavailable, err)
	}
	for k, a := range ok {
		a.req.done <- result{receipts: answers[k]}
	}
}

// prepare stamps, canonicalises and applies one request's events.
func (l *Ledger) prepare(r *request, at time.Time, first uint64) (accepted, error) {
	events := make([]ledger.Event, len(r.events))
	entries := make([][]byte, len(r.events))
	kinds := make([]ledger.Kind, len(r.events))
	for i, e := range r.events {
		e.V = ledger.EventVersion
		e.At = at
		// Apply the event exactly as a replay of the log will see it:
		// Entry's event is what ParseEvent reads from the entry's bytes.
		ev, b, err := e.Entry()
		if err != nil {
			return accepted{}, err
		}
		events[i], entries[i] = ev, b
		kinds[i] = e.Kind
	}
	// The licenses the events name, read from the index in one go.
	var ids []string
	for _, e := range events {
		switch {
		case e.Anchor != nil:
			ids = append(ids, e.Anchor.Identifier)
			if p := e.Anchor.Predecessor; p != nil {
				ids = append(ids, p.Identifier)
			}
		case e.Status != nil:
			ids = append(ids, e.Status.Identifier)
		}
	}
	l.store.prefetch(ids)
	err := l.state.ApplyAll(events, first)
	l.store.forgetAbsent()
	if err != nil {
		return accepted{}, err
	}
	return accepted{req: r, first: first, entries: entries, kinds: kinds}, nil
}

// fail marks the ledger broken after a commit failed half way (the state
// already holds events the log may not): every caller of the commit and
// every later call gets ledger.ErrUnavailable until the ledger is reopened,
// which rebuilds the state from what is durable.
func (l *Ledger) fail(ok []accepted, err error) {
	l.broken = fmt.Errorf("%w: commit failed, reopen the ledger: %w", ledger.ErrUnavailable, err)
	for _, a := range ok {
		a.req.done <- result{err: l.broken}
	}
}

// submit queues events as one all-or-nothing request and waits for the
// commit. Once queued, the request is committed or refused as a whole even if
// ctx ends meanwhile.
func (l *Ledger) submit(ctx context.Context, events []ledger.Event) ([]ledger.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ledger.ErrUnavailable, err)
	}
	r := &request{events: events, done: make(chan result, 1)}
	select {
	case l.reqs <- r:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ledger.ErrUnavailable, ctx.Err())
	case <-l.stop:
		return nil, fmt.Errorf("%w: %w", ledger.ErrUnavailable, errClosed)
	}
	res := <-r.done
	return res.receipts, res.err
}

func (l *Ledger) submitOne(ctx context.Context, e ledger.Event) (ledger.Receipt, error) {
	rs, err := l.submit(ctx, []ledger.Event{e})
	if err != nil {
		return ledger.Receipt{}, err
	}
	return rs[0], nil
}

// RegisterDepartment records a department and its first signing key.
func (l *Ledger) RegisterDepartment(ctx context.Context, d ledger.Department, k ledger.Key) (ledger.Receipt, error) {
	return l.submitOne(ctx, ledger.Event{Kind: ledger.KindDepartmentRegistered, Department: &d, Key: &k})
}

// AddKey records an additional key of a registered department.
func (l *Ledger) AddKey(ctx context.Context, k ledger.Key) (ledger.Receipt, error) {
	return l.submitOne(ctx, ledger.Event{Kind: ledger.KindKeyAdded, Key: &k})
}

// RevokeKey records a key revocation.
func (l *Ledger) RevokeKey(ctx context.Context, r ledger.KeyRevocation) (ledger.Receipt, error) {
	return l.submitOne(ctx, ledger.Event{Kind: ledger.KindKeyRevoked, Revocation: &r})
}

// Anchor records up to MaxAnchors licenses, all or nothing, and returns one
// receipt per anchor in order.
func (l *Ledger) Anchor(ctx context.Context, anchors []ledger.Anchor) ([]ledger.Receipt, error) {
	if len(anchors) == 0 {
		return nil, fmt.Errorf("%w: no anchors", ledger.ErrInvalidEvent)
	}
	if len(anchors) > MaxAnchors {
		return nil, fmt.Errorf("%w: %d anchors in one call, limit %d", ledger.ErrInvalidEvent, len(anchors), MaxAnchors)
	}
	events := make([]ledger.Event, len(anchors))
	for i := range anchors {
		a := anchors[i]
		events[i] = ledger.Event{Kind: ledger.KindLicenseAnchored, Anchor: &a}
	}
	defer l.forget(l.preverify(anchors))
	return l.submit(ctx, events)
}

// SetStatus records a status change of an anchored license.
func (l *Ledger) SetStatus(ctx context.Context, c ledger.StatusChange) (ledger.Receipt, error) {
	return l.submitOne(ctx, ledger.Event{Kind: ledger.KindLicenseStatus, Status: &c})
}

// AnchorType records a catalog type version by its digest.
func (l *Ledger) AnchorType(ctx context.Context, t ledger.TypeVersion) (ledger.Receipt, error) {
	return l.submitOne(ctx, ledger.Event{Kind: ledger.KindCatalogType, CatalogType: &t})
}

// readable reports why reads cannot be served, or nil. l.mu must be held.
func (l *Ledger) readable(ctx context.Context) error {
	if l.closed {
		return fmt.Errorf("%w: %w", ledger.ErrUnavailable, errClosed)
	}
	if l.broken != nil {
		return l.broken
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ledger.ErrUnavailable, err)
	}
	return nil
}

// License returns a license's anchor, status and history.
func (l *Ledger) License(ctx context.Context, identifier string) (*ledger.LicenseState, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if err := l.readable(ctx); err != nil {
		return nil, err
	}
	ls, ok, err := l.store.lookup(identifier)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: license %s", ledger.ErrNotFound, identifier)
	}
	return ls, nil
}

// Receipt returns the receipt of the entry that anchored the license
// identifier, computed now from the log: the entry's bytes and an inclusion
// proof against the latest checkpoint. Nothing is stored per license for it.
func (l *Ledger) Receipt(ctx context.Context, identifier string) (ledger.Receipt, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if err := l.readable(ctx); err != nil {
		return ledger.Receipt{}, err
	}
	entry, index, err := l.store.anchorEntry(identifier)
	if err != nil {
		return ledger.Receipt{}, err
	}
	proof, err := l.tree.inclusionProof(index, l.cp.Size)
	if err != nil {
		return ledger.Receipt{}, err
	}
	return ledger.Receipt{Entry: entry, LogIndex: index, TreeSize: l.cp.Size, InclusionProof: proof, Checkpoint: l.cp.Note}, nil
}

// Department returns a department's facts and keys.
func (l *Ledger) Department(ctx context.Context, uscc string) (*ledger.DepartmentState, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if err := l.readable(ctx); err != nil {
		return nil, err
	}
	return l.state.Department(uscc)
}

// Checkpoint returns the latest signed checkpoint.
func (l *Ledger) Checkpoint(ctx context.Context) (ledger.SignedCheckpoint, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if err := l.readable(ctx); err != nil {
		return ledger.SignedCheckpoint{}, err
	}
	cp := l.cp
	cp.Root = append([]byte(nil), cp.Root...)
	return cp, nil
}

// InclusionProof proves entry index is in the tree of treeSize entries.
func (l *Ledger) InclusionProof(ctx context.Context, index, treeSize uint64) ([][]byte, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if err := l.readable(ctx); err != nil {
		return nil, err
	}
	p, err := l.tree.inclusionProof(index, treeSize)
	if errors.Is(err, tlog.ErrRange) {
		return nil, fmt.Errorf("%w: %w", ledger.ErrNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// ConsistencyProof proves the tree of oldSize entries is a prefix of the tree
// of newSize entries.
func (l *Ledger) ConsistencyProof(ctx context.Context, oldSize, newSize uint64) ([][]byte, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if err := l.readable(ctx); err != nil {
		return nil, err
	}
	p, err := l.tree.consistencyProof(oldSize, newSize)
	if errors.Is(err, tlog.ErrRange) {
		return nil, fmt.Errorf("%w: %w", ledger.ErrNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// AnchorRecordsHead records the head of a record chain.
func (l *Ledger) AnchorRecordsHead(ctx context.Context, h ledger.RecordsHead) (ledger.Receipt, error) {
	return l.submitOne(ctx, ledger.Event{Kind: ledger.KindRecordsHead, RecordsHead: &h})
}

// RecordsHead returns the last anchored head of the record chain, or an
// error wrapping ledger.ErrNotFound.
func (l *Ledger) RecordsHead(ctx context.Context, chain string) (ledger.RecordsHead, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if err := l.readable(ctx); err != nil {
		return ledger.RecordsHead{}, err
	}
	return l.state.RecordsHead(chain)
}
