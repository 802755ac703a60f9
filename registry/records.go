package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/gowebpki/jcs"

	"zhengzhao/internal/jcsw"
	"zhengzhao/ledger"
)

// RecordVersion is the version of the record format, carried in Record.V.
const RecordVersion = 1

// RecordChain is the name of the deployment's one record chain.
const RecordChain = "main"

// RecordHashSize is the size of a record digest and of a chain hash (SM3).
const RecordHashSize = sm3.Size

// recordSaltSize is the size of a record's random salt: other people's
// record digests in a holder's export reveal nothing about those records.
const recordSaltSize = 16

// RecordsAnchorInterval is how often the service anchors the record chain's
// head on the ledger when it moved.
const RecordsAnchorInterval = time.Minute

// anchorEvery is the anchoring loop's interval (tests shorten it).
var anchorEvery = RecordsAnchorInterval

// Record actions: stable English codes. ActionLabels has the Chinese.
const (
	ActionUseWindow    = "use.window_verify" // window staff verified a license the holder showed
	ActionUseLive      = "use.live_code"     // a live code (亮证码) was verified
	ActionUseAPI       = "use.api_verify"    // an account verified a license over the API
	ActionUseRedeem    = "use.redeem"        // a use code was redeemed
	ActionUseDuty      = "use.duty_lookup"   // looked up by duty (依职能用证)
	ActionUseRefused   = "use.refused"       // an attempt to use a license was refused
	ActionIssue        = "license.issue"
	ActionVersion      = "license.version"
	ActionStatus       = "license.status"
	ActionDepartment   = "department.register"
	ActionKeyRotate    = "key.rotate" // a new key and seal replace the active ones
	ActionKeyRevoke    = "key.revoke"
	ActionSeal         = "seal.issue"
	ActionCatalog      = "catalog.change"
	ActionServiceItem  = "service_item.change"
	ActionAccountNew   = "account.create"
	ActionAccountOff   = "account.disable"
	ActionAccountOn    = "account.enable"
	ActionAccountReset = "account.password_reset"
	ActionTokenNew     = "token.create"
	ActionTokenRevoke  = "token.revoke"
)

// ActionLabels are the Chinese names of the record actions.
var ActionLabels = map[string]string{
	ActionUseWindow:    "窗口核验",
	ActionUseLive:      "亮证核验",
	ActionUseAPI:       "接口核验",
	ActionUseRedeem:    "用证码用证",
	ActionUseDuty:      "依职能用证",
	ActionUseRefused:   "用证被拒",
	ActionIssue:        "签发证照",
	ActionVersion:      "变更/延续",
	ActionStatus:       "状态变更",
	ActionDepartment:   "登记部门",
	ActionKeyRotate:    "轮换密钥",
	ActionKeyRevoke:    "吊销密钥",
	ActionSeal:         "制作印章",
	ActionCatalog:      "目录变更",
	ActionServiceItem:  "用证事项变更",
	ActionAccountNew:   "创建账号",
	ActionAccountOff:   "停用账号",
	ActionAccountOn:    "启用账号",
	ActionAccountReset: "重置密码",
	ActionTokenNew:     "创建 API 令牌",
	ActionTokenRevoke:  "吊销 API 令牌",
}

// ActionLabel returns the Chinese name of an action, or the code itself.
func ActionLabel(action string) string {
	if l, ok := ActionLabels[action]; ok {
		return l
	}
	return action
}

// RecordActor is who did what a record says.
type RecordActor struct {
	Account    int64  `json:"account"` // account id; 0 for an API token or the system
	Role       Role   `json:"role"`
	Name       string `json:"name"`
	Department string `json:"department"` // officers: their department's USCC
	Hall       string `json:"hall"`       // clerks: their service hall
}

// Record is one entry of the append-only record log: a use of a license or
// an officer's or admin's action. Its canonical bytes (Canonical) are what
// the chain hashes.
type Record struct {
	V           int         `json:"v"`
	Chain       string      `json:"chain"`
	Seq         uint64      `json:"seq"`
	At          time.Time   `json:"at"`
	Actor       RecordActor `json:"actor"`
	Action      string      `json:"action"`
	Purpose     string      `json:"purpose"`      // 用证事由
	ServiceItem string      `json:"service_item"` // 事项编码
	License     string      `json:"license"`      // the license's identifier
	Holder      string      `json:"holder"`       // the license holder's code: the holder's view selects on it
	Result      string      `json:"result"`       // verdict, status or "ok"
	Reason      string      `json:"reason"`       // why it was refused, or the status reason code
	Salt        []byte      `json:"salt"`
}

// Canonical returns the record's canonical bytes: RFC 8785 (JCS) JSON, the
// time in UTC at microseconds.
func (r Record) Canonical() ([]byte, error) {
	r.At = r.At.UTC().Truncate(time.Microsecond)
	if b, ok := r.appendCanonical(make([]byte, 0, 512)); ok {
		return b, nil
	}
	return r.canonicalJCS()
}

// appendCanonical writes the record's canonical bytes directly (see
// internal/jcsw): members in JCS order. ok is false when a value needs the
// general path (canonicalJCS); records_test.go holds the two to the same
// bytes.
func (r Record) appendCanonical(buf []byte) (_ []byte, ok bool) {
	w := jcsw.New(buf)
	w.Raw(`{"action":`)
	w.Str(r.Action)
	w.Raw(`,"actor":{"account":`)
	w.Int(r.Actor.Account)
	w.Raw(`,"department":`)
	w.Str(r.Actor.Department)
	w.Raw(`,"hall":`)
	w.Str(r.Actor.Hall)
	w.Raw(`,"name":`)
	w.Str(r.Actor.Name)
	w.Raw(`,"role":`)
	w.Str(string(r.Actor.Role))
	w.Raw(`},"at":`)
	w.Time(r.At)
	w.Raw(`,"chain":`)
	w.Str(r.Chain)
	w.Raw(`,"holder":`)
	w.Str(r.Holder)
	w.Raw(`,"license":`)
	w.Str(r.License)
	w.Raw(`,"purpose":`)
	w.Str(r.Purpose)
	w.Raw(`,"reason":`)
	w.Str(r.Reason)
	w.Raw(`,"result":`)
	w.Str(r.Result)
	w.Raw(`,"salt":`)
	w.Bytes(r.Salt)
	w.Raw(`,"seq":`)
	w.Uint(r.Seq)
	w.Raw(`,"service_item":`)
	w.Str(r.ServiceItem)
	w.Raw(`,"v":`)
	w.Int(int64(r.V))
	w.Raw(`}`)
	return w.B, w.OK
}

// canonicalJCS is the general path of Canonical: encoding/json, then JCS.
func (r Record) canonicalJCS() ([]byte, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("registry: encode record: %w", err)
	}
	return jcs.Transform(raw)
}

// ParseRecord decodes a record from its canonical bytes; anything else
// (unknown members, other key order, another version) is refused.
func ParseRecord(b []byte) (Record, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Record
	if err := dec.Decode(&r); err != nil {
		return Record{}, fmt.Errorf("record: %w", err)
	}
	if dec.More() {
		return Record{}, errors.New("record: trailing data")
	}
	if r.V != RecordVersion {
		return Record{}, fmt.Errorf("record: field v: version %d, want %d", r.V, RecordVersion)
	}
	c, err := r.Canonical()
	if err != nil {
		return Record{}, err
	}
	if !bytes.Equal(c, b) {
		return Record{}, errors.New("record: bytes are not canonical")
	}
	return r, nil
}

// RecordDigest is SM3 of a record's canonical bytes.
func RecordDigest(body []byte) []byte {
	d := sm3.Sum(body)
	return d[:]
}

// ChainHash is the chain hash of a record: SM3(prev ‖ digest), where prev is
// the previous record's chain hash (32 zero bytes before the first record)
// and digest is RecordDigest of the record's canonical bytes.
func ChainHash(prev, digest []byte) []byte {
	h := sm3.New()
	h.Write(prev)
	h.Write(digest)
	return h.Sum(nil)
}

// GenesisHash is the prev hash of a chain's first record.
func GenesisHash() []byte { return make([]byte, RecordHashSize) }

// StoredRecord is a record as the store keeps it: the decoded record, its
// canonical bytes and its chain hashes.
type StoredRecord struct {
	Record
	Body     []byte `json:"-"`
	PrevHash []byte `json:"prev_hash"`
	Hash     []byte `json:"hash"`
}

// AnchoredHead is a chain head anchored on the ledger, with its receipt.
type AnchoredHead struct {
	Chain   string         `json:"chain"`
	Seq     uint64         `json:"seq"`
	Hash    []byte         `json:"hash"`
	At      time.Time      `json:"at"`
	Receipt ledger.Receipt `json:"receipt"`
}

// recordLog appends records to the chain: appends from every caller go
// through one writer that commits them in groups, each group in one store
// transaction that reads the head, checks it and inserts after it.
type recordLog struct {
	st    recordStore
	chain string
	now   func() time.Time
	log   *slog.Logger
	led   ledger.Ledger

	reqs     chan *recordReq
	quit     chan struct{}
	done     chan struct{} // the writer stopped
	anchored chan struct{} // the anchoring loop stopped
	every    time.Duration // how often the loop anchors

	anchorMu sync.Mutex // one anchoring at a time
	stopOnce sync.Once

	mu     sync.RWMutex // held for reading while a request is queued
	closed bool
}

type recordReq struct {
	rec  Record
	errc chan error
	out  *StoredRecord
	// use, if set, is the usage row of the use the record is of: it is
	// written in the same transaction, both are committed or neither.
	use *usageRow
}

// maxRecordGroup bounds the records one store transaction appends.
const maxRecordGroup = 512

func newRecordLog(st recordStore, led ledger.Ledger, now func() time.Time, log *slog.Logger) *recordLog {
	l := &recordLog{st: st, chain: RecordChain, now: now, log: log, led: led,
		reqs: make(chan *recordReq, 1024), quit: make(chan struct{}), done: make(chan struct{}), anchored: make(chan struct{}), every: anchorEvery}
	go l.run()
	go l.anchorLoop()
	return l
}

// anchorLoop anchors the head every RecordsAnchorInterval when it moved.
func (l *recordLog) anchorLoop() {
	defer close(l.anchored)
	tick := time.NewTicker(l.every)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if _, err := l.anchor(context.Background()); err != nil {
				l.log.Warn("anchoring the record chain head failed", "err", err)
			}
		case <-l.quit:
			return
		}
	}
}

// run is the writer: it commits queued appends in groups.
func (l *recordLog) run() {
	defer close(l.done)
	for {
		select {
		case r := <-l.reqs:
			group := []*recordReq{r}
		drain:
			for len(group) < maxRecordGroup {
				select {
				case r := <-l.reqs:
					group = append(group, r)
				default:
					break drain
				}
			}
			l.commit(group)
		case <-l.quit:
			return
		}
	}
}

// commit appends a group of records in one transaction. When another
// instance appended first (the sequence is taken), it reads the new head
// and tries again.
func (l *recordLog) commit(group []*recordReq) {
	var err error
	for try := 0; try < 5; try++ {
		err = l.st.appendRecords(context.Background(), l.chain, group, l.now)
		if !errors.Is(err, errSeqTaken) {
			break
		}
	}
	if err != nil && !errors.Is(err, errSeqTaken) && len(group) > 1 {
		// One bad request must not fail the others: each on its own.
		for _, r := range group {
			l.commit([]*recordReq{r})
		}
		return
	}
	for _, r := range group {
		r.errc <- err
	}
}

// append adds one record and returns it as stored once it is committed.
func (l *recordLog) append(ctx context.Context, rec Record, use *usageRow) (*StoredRecord, error) {
	rec.V, rec.Chain = RecordVersion, l.chain
	rec.Salt = make([]byte, recordSaltSize)
	if _, err := rand.Read(rec.Salt); err != nil {
		return nil, err
	}
	req := &recordReq{rec: rec, errc: make(chan error, 1), out: &StoredRecord{}, use: use}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return nil, errors.New("registry: record log is closed")
	}
	select {
	case l.reqs <- req:
	case <-ctx.Done():
		l.mu.RUnlock()
		return nil, ctx.Err()
	}
	l.mu.RUnlock()
	// Once queued the record is written whatever the caller's context
	// says: an action that happened is recorded.
	if err := <-req.errc; err != nil {
		return nil, fmt.Errorf("registry: append record: %w", err)
	}
	return req.out, nil
}

// appendMany queues recs together (the writer commits them in as few
// transactions as it can) and waits for all of them.
func (l *recordLog) appendMany(ctx context.Context, recs []Record) error {
	reqs := make([]*recordReq, len(recs))
	for i, rec := range recs {
		rec.V, rec.Chain = RecordVersion, l.chain
		rec.Salt = make([]byte, recordSaltSize)
		if _, err := rand.Read(rec.Salt); err != nil {
			return err
		}
		reqs[i] = &recordReq{rec: rec, errc: make(chan error, 1), out: &StoredRecord{}}
	}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return errors.New("registry: record log is closed")
	}
	for i, r := range reqs {
		select {
		case l.reqs <- r:
		case <-ctx.Done():
			l.mu.RUnlock()
			for _, q := range reqs[:i] { // the queued ones are written all the same
				<-q.errc
			}
			return ctx.Err()
		}
	}
	l.mu.RUnlock()
	var errs []error
	for _, r := range reqs {
		if err := <-r.errc; err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("registry: append records: %w", err)
	}
	return nil
}

// RecordLicenses records that a did action on each of lics (a batch issue:
// one call, the records committed together). A failure is logged, the
// licenses stand.
func (s *Service) RecordLicenses(ctx context.Context, a Actor, action string, lics []*License) {
	if _, ok := ActionLabels[action]; !ok {
		s.log.Error("recording a batch failed: unknown action", "action", action)
		return
	}
	recs := make([]Record, 0, len(lics))
	for _, lic := range lics {
		if lic != nil {
			recs = append(recs, Record{Action: action, Actor: recordActor(a), License: lic.Identifier, Holder: lic.Record.HolderCode, Result: string(lic.Status)})
		}
	}
	if err := s.records.appendMany(context.WithoutCancel(ctx), recs); err != nil {
		s.log.Error("recording a batch failed", "action", action, "licenses", len(recs), "err", err)
	}
}

// anchor puts the chain head on the ledger if it moved since the last
// anchored head, and returns the latest anchored head (nil if none).
func (l *recordLog) anchor(ctx context.Context) (*AnchoredHead, error) {
	l.anchorMu.Lock()
	defer l.anchorMu.Unlock()
	last, err := l.st.lastRecordHead(ctx, l.chain)
	if err != nil {
		return nil, err
	}
	seq, hash, err := l.st.recordHead(ctx, l.chain)
	if err != nil {
		return nil, err
	}
	if seq == 0 || (last != nil && last.Seq >= seq) {
		return last, nil
	}
	rc, err := l.led.AnchorRecordsHead(ctx, ledger.RecordsHead{Chain: l.chain, Seq: seq, Hash: hash})
	if errors.Is(err, ledger.ErrDuplicate) {
		// Another instance anchored this head or a later one first; its
		// head is in the store once it has kept it.
		return last, nil
	}
	if err != nil {
		return last, fmt.Errorf("registry: anchor records head %d: %w", seq, err)
	}
	h := &AnchoredHead{Chain: l.chain, Seq: seq, Hash: hash, At: l.now(), Receipt: rc}
	if err := l.st.insertRecordHead(ctx, h); err != nil {
		return last, err
	}
	return h, nil
}

// stop anchors the head one last time and stops the writer; appends queued
// before it are committed.
func (l *recordLog) stop() {
	l.stopOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		close(l.quit)
		<-l.done
		<-l.anchored
		for {
			select {
			case r := <-l.reqs:
				l.commit([]*recordReq{r})
				continue
			default:
			}
			break
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := l.anchor(ctx); err != nil {
			l.log.Warn("anchoring the record chain head on close failed", "err", err)
		}
	})
}

// recordActor is the record form of an actor.
func recordActor(a Actor) RecordActor {
	return RecordActor{Account: a.Account, Role: a.Role, Name: a.Name, Department: a.Department, Hall: a.Hall}
}

// AppendRecord appends a record of what a did; Seq, At, Chain, V and Salt
// are set by the log. It returns once the record is durable.
func (s *Service) AppendRecord(ctx context.Context, a Actor, rec Record) (*StoredRecord, error) {
	return s.appendRecord(ctx, a, rec, nil)
}

// appendRecord is AppendRecord that also writes a use's usage row in the
// record's transaction.
func (s *Service) appendRecord(ctx context.Context, a Actor, rec Record, use *usageRow) (*StoredRecord, error) {
	if _, ok := ActionLabels[rec.Action]; !ok {
		return nil, fmt.Errorf("registry: record action %q is not one of the record actions", rec.Action)
	}
	rec.Actor = recordActor(a)
	rec.Purpose = strings.TrimSpace(rec.Purpose)
	return s.records.append(ctx, rec, use)
}

// AnchorRecords anchors the record chain's head on the ledger if it moved
// and returns the latest anchored head. The service does this by itself at
// least every RecordsAnchorInterval and on Close.
func (s *Service) AnchorRecords(ctx context.Context) (*AnchoredHead, error) {
	return s.records.anchor(ctx)
}

// recordDone records an officer's or admin's action that already happened;
// the action is not undone when recording fails, the failure is logged.
func (s *Service) recordDone(ctx context.Context, a Actor, action string, lic *License, result, reason string) {
	rec := Record{Action: action, Result: result, Reason: reason}
	if lic != nil {
		rec.License, rec.Holder = lic.Identifier, lic.Record.HolderCode
	}
	if _, err := s.AppendRecord(context.WithoutCancel(ctx), a, rec); err != nil {
		s.log.Error("recording an action failed", "action", action, "err", err)
	}
}
