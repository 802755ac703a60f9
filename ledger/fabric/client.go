package fabric

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/hash"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	gwproto "github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"zhengzhao/ledger"
)

// orgClient submits and evaluates as one org's client through its peer's
// gateway.
type orgClient struct {
	msp      string
	gw       *client.Gateway
	contract *client.Contract
	qscc     *client.Contract
	network  *client.Network
	channel  string
	t        Timeouts
	retries  int
	backoff  time.Duration

	mu     sync.Mutex
	height uint64 // the peer's block height, as last seen
}

func newOrgClient(o *Org, cfg Config) (*orgClient, error) {
	t := cfg.Timeouts.withDefaults()
	gw, err := client.Connect(o.Identity, client.WithSign(o.Sign), client.WithHash(hash.SHA256), client.WithClientConnection(o.Conn),
		client.WithEndorseTimeout(t.Endorse), client.WithSubmitTimeout(t.Submit),
		client.WithCommitStatusTimeout(t.CommitStatus), client.WithEvaluateTimeout(t.Evaluate))
	if err != nil {
		return nil, fmt.Errorf("%w: connect gateway of %s: %w", ledger.ErrUnavailable, o.MSPID, err)
	}
	network := gw.GetNetwork(cfg.Channel)
	retries := cfg.Retries
	switch {
	case retries == 0:
		retries = 5
	case retries < 0:
		retries = 0
	}
	backoff := cfg.RetryDelay
	if backoff <= 0 {
		backoff = 100 * time.Millisecond
	}
	return &orgClient{
		msp: o.MSPID, gw: gw, contract: network.GetContract(cfg.Chaincode), qscc: network.GetContract("qscc"), network: network,
		channel: cfg.Channel, t: t, retries: retries, backoff: backoff,
	}, nil
}

func (c *orgClient) close() error { return c.gw.Close() }

// committed is a transaction that committed: its id, result and block,
// and the proposal it was endorsed from.
type committed struct {
	txID   string
	result []byte
	block  uint64
	prop   *client.Proposal
}

// timestamp is the transaction's timestamp, which the chaincode stamps its
// events with: the proposal's channel header timestamp.
func (c *committed) timestamp() (time.Time, error) {
	b, err := c.prop.Bytes()
	if err != nil {
		return time.Time{}, err
	}
	var pt gwproto.ProposedTransaction
	if err := proto.Unmarshal(b, &pt); err != nil {
		return time.Time{}, err
	}
	var prop peer.Proposal
	if err := proto.Unmarshal(pt.GetProposal().GetProposalBytes(), &prop); err != nil {
		return time.Time{}, err
	}
	var hdr common.Header
	if err := proto.Unmarshal(prop.GetHeader(), &hdr); err != nil {
		return time.Time{}, err
	}
	var ch common.ChannelHeader
	if err := proto.Unmarshal(hdr.GetChannelHeader(), &ch); err != nil {
		return time.Time{}, err
	}
	if ch.GetTimestamp() == nil {
		return time.Time{}, fmt.Errorf("proposal of tx %s has no timestamp", c.txID)
	}
	return ch.GetTimestamp().AsTime(), nil
}

// submit runs fn(args) as a transaction and waits for its commit. It retries
// only what cannot write twice:
//   - a failed endorsement that is not the chaincode's verdict (the ledger
//     unreachable, no endorsing peers yet): nothing was sent to the orderer;
//   - a failed submit or commit-status call: the same signed transaction is
//     sent again, or its status asked again — one transaction id commits at
//     most once, so this cannot duplicate it;
//   - a commit that lost an MVCC race: the transaction was recorded invalid
//     and wrote nothing, so a new proposal is safe.
//
// The error is a *TxError with the transaction id.
func (c *orgClient) submit(ctx context.Context, fn string, args ...string) (*committed, error) {
	var last *TxError
	for attempt := 0; attempt <= c.retries; attempt++ {
		if attempt > 0 {
			if err := c.pause(ctx, attempt); err != nil {
				return nil, last
			}
		}
		res, txErr, again := c.submitOnce(ctx, fn, args)
		if txErr == nil {
			return res, nil
		}
		last = txErr
		if !again || ctx.Err() != nil {
			return nil, txErr
		}
	}
	return nil, last
}

// submitOnce endorses one proposal and sees its transaction through. again
// reports whether a new proposal is safe and may pass.
func (c *orgClient) submitOnce(ctx context.Context, fn string, args []string) (_ *committed, _ *TxError, again bool) {
	prop, err := c.contract.NewProposal(fn, client.WithArguments(args...))
	if err != nil {
		return nil, &TxError{Fn: fn, Stage: StageEndorse, Sentinel: ledger.ErrInvalidEvent, Detail: err.Error(), Cause: err}, false
	}
	txID := prop.TransactionID()
	ectx, cancel := context.WithTimeout(ctx, c.t.Endorse)
	tx, err := prop.EndorseWithContext(ectx)
	cancel()
	if err != nil {
		e := classify(fn, txID, StageEndorse, err)
		return nil, e, e.retryable()
	}
	var commit *client.Commit
	if err := c.again(ctx, c.t.Submit, func(ctx context.Context) (err error) {
		commit, err = tx.SubmitWithContext(ctx)
		return err
	}); err != nil {
		e := classify(fn, txID, StageSubmit, err)
		e.Detail += " (the transaction may still commit)"
		return nil, e, false
	}
	var st *client.Status
	if err := c.again(ctx, c.t.CommitStatus, func(ctx context.Context) (err error) {
		st, err = commit.StatusWithContext(ctx)
		return err
	}); err != nil {
		e := classify(fn, txID, StageCommitStatus, err)
		e.Detail += " (the outcome is unknown; the transaction may still commit)"
		return nil, e, false
	}
	if !st.Successful {
		e := &TxError{Fn: fn, TxID: txID, Stage: StageCommit, Validation: st.Code.String(), Sentinel: ledger.ErrUnavailable,
			Detail: fmt.Sprintf("invalid in block %d, nothing was written", st.BlockNumber)}
		return nil, e, retryableValidation(st.Code)
	}
	c.sawBlock(st.BlockNumber)
	return &committed{txID: txID, result: tx.Result(), block: st.BlockNumber, prop: prop}, nil, false
}

// again runs call, each time within timeout, until it succeeds, fails for
// good (not transient), the retries are spent or ctx ends. It is for calls
// that are safe to repeat: resending the same signed transaction, asking
// its status again.
func (c *orgClient) again(ctx context.Context, timeout time.Duration, call func(context.Context) error) error {
	for attempt := 0; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		err := call(cctx)
		cancel()
		if err == nil || !transient(err) || attempt >= c.retries || ctx.Err() != nil {
			return err
		}
		if c.pause(ctx, attempt+1) != nil {
			return err
		}
	}
}

// pause waits before retry attempt n (1, 2, …): RetryDelay doubled each time.
func (c *orgClient) pause(ctx context.Context, n int) error {
	d := c.backoff << min(n-1, 6)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// evaluate runs a query on this org's peer.
func (c *orgClient) evaluate(ctx context.Context, fn string, args ...string) ([]byte, error) {
	ectx, cancel := context.WithTimeout(ctx, c.t.Evaluate)
	defer cancel()
	out, err := c.contract.EvaluateWithContext(ectx, fn, client.WithArguments(args...))
	if err != nil {
		e := classify(fn, "", StageEvaluate, err)
		return nil, e
	}
	return out, nil
}

// sawBlock records that the peer has committed block n.
func (c *orgClient) sawBlock(n uint64) {
	c.mu.Lock()
	c.height = max(c.height, n+1)
	c.mu.Unlock()
}

// waitHeight waits until the peer has committed block n (height > n), so a
// query sees what a write through another org's peer committed. Peers
// commit each block on their own, milliseconds apart.
func (c *orgClient) waitHeight(ctx context.Context, n uint64) error {
	c.mu.Lock()
	h := c.height
	c.mu.Unlock()
	if h > n {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, c.t.Evaluate)
	defer cancel()
	for {
		h, err := c.chainHeight(wctx)
		if err != nil {
			return err
		}
		if h > n {
			return nil
		}
		t := time.NewTimer(5 * time.Millisecond)
		select {
		case <-t.C:
		case <-wctx.Done():
			t.Stop()
			return fmt.Errorf("%w: peer of %s is at height %d, still without block %d: %w", ledger.ErrUnavailable, c.msp, h, n, wctx.Err())
		}
	}
}

// chainHeight asks the peer for its block height (qscc GetChainInfo).
func (c *orgClient) chainHeight(ctx context.Context) (uint64, error) {
	ectx, cancel := context.WithTimeout(ctx, c.t.Evaluate)
	defer cancel()
	out, err := c.qscc.EvaluateWithContext(ectx, "GetChainInfo", client.WithArguments(c.channel))
	if err != nil {
		return 0, classify("qscc GetChainInfo", "", StageEvaluate, err)
	}
	var info common.BlockchainInfo
	if err := proto.Unmarshal(out, &info); err != nil {
		return 0, fmt.Errorf("%w: qscc GetChainInfo: %w", ledger.ErrUnavailable, err)
	}
	c.mu.Lock()
	c.height = max(c.height, info.GetHeight())
	h := c.height
	c.mu.Unlock()
	return h, nil
}
