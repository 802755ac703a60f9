package registry

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"zhengzhao/ledger"
	"zhengzhao/ledger/tlog"
)

// ErrRecordsTampered: the record log does not check out: a row was edited,
// removed or inserted after it was appended.
var ErrRecordsTampered = errors.New("registry: record log does not verify")

// RecordProblem is one thing the chain check found wrong, naming the record.
type RecordProblem struct {
	Seq uint64 `json:"seq"` // the record (or, for a head, the anchored sequence)
	// Field is the column or part that differs: a column name (purpose,
	// holder_code …), "body", "prev_hash", "hash", "seq" or "anchored_head".
	Field   string `json:"field"`
	Stored  string `json:"stored,omitempty"`  // what the store says
	Chained string `json:"chained,omitempty"` // what the chained bytes, the chain or the ledger say
	Detail  string `json:"detail"`
}

// String is the problem for a person: 记录 #17 的 purpose 被改动 ….
func (p RecordProblem) String() string {
	s := "记录 #" + strconv.FormatUint(p.Seq, 10) + "：" + p.Detail
	if p.Stored != "" || p.Chained != "" {
		s += fmt.Sprintf("（库中为 %q，链上为 %q）", p.Stored, p.Chained)
	}
	return s
}

// ChainReport is what CheckRecords found.
type ChainReport struct {
	Chain    string `json:"chain"`
	Records  uint64 `json:"records"`   // records checked
	HeadSeq  uint64 `json:"head_seq"`  // the chain's last record
	HeadHash []byte `json:"head_hash"` // its chain hash
	// Anchored counts the anchored heads checked against the ledger;
	// AnchoredSeq is the latest one's sequence.
	Anchored    int             `json:"anchored"`
	AnchoredSeq uint64          `json:"anchored_seq"`
	Problems    []RecordProblem `json:"problems,omitempty"`
}

// Err returns nil when the chain checks out, else an error wrapping
// ErrRecordsTampered that names the first problem.
func (r *ChainReport) Err() error {
	if len(r.Problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %d problem(s); first: record %d, %s: %s", ErrRecordsTampered, len(r.Problems), r.Problems[0].Seq, r.Problems[0].Field, r.Problems[0].Detail)
}

// maxProblems bounds what one check reports.
const maxProblems = 1000

// headsReader is what a ledger may offer to read a chain's latest anchored
// head (the embedded ledger does); with it the check also sees records
// removed from the end.
type headsReader interface {
	RecordsHead(ctx context.Context, chain string) (ledger.RecordsHead, error)
}

// CheckRecords checks the whole record log (platform admin only): every
// row's columns against its chained bytes, every record's hashes against the
// one before, and the chain at every anchored head against the head the
// ledger holds, with the head's receipt proved against the ledger's current
// checkpoint. Each problem names the record and what differs.
func (s *Service) CheckRecords(ctx context.Context, a Actor) (*ChainReport, error) {
	if a.Role != RoleAdmin {
		return nil, fmt.Errorf("%w: only the platform admin checks the record log", ErrForbidden)
	}
	return s.checkRecords(ctx)
}

func (s *Service) checkRecords(ctx context.Context) (*ChainReport, error) {
	chain := s.records.chain
	rep := &ChainReport{Chain: chain}
	add := func(p RecordProblem) {
		if len(rep.Problems) < maxProblems {
			rep.Problems = append(rep.Problems, p)
		}
	}
	heads, err := s.store.recordHeads(ctx, chain, 0)
	if err != nil {
		return nil, err
	}
	atHead := map[uint64][]byte{} // anchored seq → the store's chain hash there
	for _, h := range heads {
		atHead[h.Seq] = nil
	}
	lastSeq, _, err := s.store.recordHead(ctx, chain)
	if err != nil {
		return nil, err
	}
	want := uint64(1)
	prev := GenesisHash()
	err = s.store.recordRows(ctx, chain, 1, lastSeq, func(r *recordRow) error {
		seq := uint64(r.seq)
		for ; want < seq; want++ {
			add(RecordProblem{Seq: want, Field: "seq", Detail: "记录缺失（被删除）"})
		}
		want = seq + 1
		rep.Records++
		checkRow(r, add)
		if !bytes.Equal(r.prev, prev) {
			add(RecordProblem{Seq: seq, Field: "prev_hash", Stored: hex.EncodeToString(r.prev), Chained: hex.EncodeToString(prev), Detail: "前一记录哈希与上一条记录的哈希不符"})
		}
		if got := ChainHash(r.prev, RecordDigest(r.body)); !bytes.Equal(got, r.hash) {
			add(RecordProblem{Seq: seq, Field: "hash", Stored: hex.EncodeToString(r.hash), Chained: hex.EncodeToString(got), Detail: "记录内容与其哈希不符（记录字节被改动）"})
		}
		if _, ok := atHead[seq]; ok {
			atHead[seq] = r.hash
		}
		prev = r.hash
		return nil
	})
	if err != nil {
		return nil, err
	}
	rep.HeadSeq, rep.HeadHash = lastSeq, prev
	if err := s.checkHeads(ctx, heads, atHead, rep, add); err != nil {
		return nil, err
	}
	return rep, nil
}

// checkRow compares a row's columns with its chained bytes.
func checkRow(r *recordRow, add func(RecordProblem)) {
	seq := uint64(r.seq)
	rec, err := ParseRecord(r.body)
	if err != nil {
		add(RecordProblem{Seq: seq, Field: "body", Detail: "记录字节无法解析：" + err.Error()})
		return
	}
	cols := []struct{ name, stored, chained string }{
		{"seq", strconv.FormatInt(r.seq, 10), strconv.FormatUint(rec.Seq, 10)},
		{"at", r.at, sortableTime(rec.At)},
		{"account", strconv.FormatInt(r.account, 10), strconv.FormatInt(rec.Actor.Account, 10)},
		{"role", r.role, string(rec.Actor.Role)},
		{"actor", r.actor, rec.Actor.Name},
		{"department", r.department, rec.Actor.Department},
		{"hall", r.hall, rec.Actor.Hall},
		{"action", r.action, rec.Action},
		{"purpose", r.purpose, rec.Purpose},
		{"service_item", r.item, rec.ServiceItem},
		{"identifier", r.identifier, rec.License},
		{"holder_code", r.holder, rec.Holder},
		{"result", r.result, rec.Result},
		{"reason", r.reason, rec.Reason},
	}
	for _, c := range cols {
		if c.stored != c.chained {
			add(RecordProblem{Seq: seq, Field: c.name, Stored: c.stored, Chained: c.chained, Detail: "字段 " + c.name + " 被改动"})
		}
	}
}

// checkHeads checks every anchored head: its receipt is in the ledger's
// log (proved against the current checkpoint), it says what the store
// says, and the chain has that hash at that sequence. With a ledger that
// tells its latest head, a head the store lost is found too.
func (s *Service) checkHeads(ctx context.Context, heads []*AnchoredHead, atHead map[uint64][]byte, rep *ChainReport, add func(RecordProblem)) error {
	cp, err := s.ledger.Checkpoint(ctx)
	if err != nil {
		return fmt.Errorf("registry: ledger checkpoint for the records check: %w", err)
	}
	for _, h := range heads {
		lh, err := headFromReceipt(h.Receipt)
		if err != nil {
			add(RecordProblem{Seq: h.Seq, Field: "anchored_head", Detail: "锚定回执无效：" + err.Error()})
			continue
		}
		if lh.Chain != h.Chain || lh.Seq != h.Seq || !bytes.Equal(lh.Hash, h.Hash) {
			add(RecordProblem{Seq: h.Seq, Field: "anchored_head", Stored: hex.EncodeToString(h.Hash), Chained: hex.EncodeToString(lh.Hash), Detail: "库中的锚定记录与账本回执不符"})
			continue
		}
		if h.Receipt.LogIndex >= cp.Size {
			add(RecordProblem{Seq: h.Seq, Field: "anchored_head", Detail: "回执的日志序号超出账本当前大小"})
			continue
		}
		proof, err := s.ledger.InclusionProof(ctx, h.Receipt.LogIndex, cp.Size)
		if err != nil {
			return fmt.Errorf("registry: inclusion proof of records head %d: %w", h.Seq, err)
		}
		if err := tlog.VerifyInclusion(h.Receipt.Entry, h.Receipt.LogIndex, cp.Size, proof, cp.Root); err != nil {
			add(RecordProblem{Seq: h.Seq, Field: "anchored_head", Detail: "锚定事件不在账本中：" + err.Error()})
			continue
		}
		rep.Anchored++
		rep.AnchoredSeq = max(rep.AnchoredSeq, h.Seq)
		if got := atHead[h.Seq]; !bytes.Equal(got, lh.Hash) {
			add(RecordProblem{Seq: h.Seq, Field: "anchored_head", Stored: hex.EncodeToString(got), Chained: hex.EncodeToString(lh.Hash),
				Detail: fmt.Sprintf("链在 #%d 处的哈希与账本锚定的不符：此前（上一锚定点之后）的记录被改写", h.Seq)})
		}
	}
	hr, ok := s.ledger.(headsReader)
	if !ok {
		return nil
	}
	lh, err := hr.RecordsHead(ctx, rep.Chain)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if lh.Seq > rep.HeadSeq {
		add(RecordProblem{Seq: lh.Seq, Field: "anchored_head", Detail: fmt.Sprintf("账本已锚定到 #%d，库中只有到 #%d 的记录：记录被删除", lh.Seq, rep.HeadSeq)})
	} else if lh.Seq > rep.AnchoredSeq {
		add(RecordProblem{Seq: lh.Seq, Field: "anchored_head", Detail: "账本上最新的锚定点不在库中（锚定记录被删除）"})
	}
	return nil
}

// headFromReceipt decodes the records head a receipt's entry carries.
func headFromReceipt(rc ledger.Receipt) (ledger.RecordsHead, error) {
	e, err := ledger.ParseEvent(rc.Entry)
	if err != nil {
		return ledger.RecordsHead{}, err
	}
	if e.Kind != ledger.KindRecordsHead || e.RecordsHead == nil {
		return ledger.RecordsHead{}, fmt.Errorf("entry is a %s event, not %s", e.Kind, ledger.KindRecordsHead)
	}
	return *e.RecordsHead, nil
}
