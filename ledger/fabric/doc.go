// Package fabric is the ledger.Ledger on Hyperledger Fabric: every event is a
// transaction of the Zhengzhao chaincode (../../chaincode), submitted through
// the Fabric Gateway (github.com/hyperledger/fabric-gateway), endorsed by the
// platform org and a department org, each of which re-checks the ledger
// rules, SM2 signatures and who may act for which department. The
// chaincode's function names, argument and result shapes, error codes and
// limits come from package wire, which the chaincode imports too.
//
// # Clients and orgs
//
// New takes gRPC connections and signing identities as parameters (Org),
// one per org this instance acts as: the platform org (departments, keys,
// the log's checkpoints) and department orgs (anchors and status changes of
// the departments registered with them). LoadConnection and
// Connection.Connect build them from network/up.sh's connection.json.
// Queries (License, Department, Checkpoint) run on the reader's peer — the
// caller's own — after it has every block this instance committed to, so a
// write is always visible to the next read.
//
// # Transactions, errors and retries
//
// Each stage has its own timeout (Timeouts). A failure is a *TxError with the
// function, transaction id, stage and the chaincode's ERR_ code or the
// commit's validation code; errors.Is matches the ledger sentinel the code
// maps to (ERR_BAD_SIGNATURE → ledger.ErrBadSignature, …, ERR_FORBIDDEN →
// ErrForbidden and ledger.ErrInvalidEvent; an unreachable ledger or a lost
// MVCC race → ledger.ErrUnavailable). What cannot write twice is retried: an
// endorsement that failed for lack of peers (nothing reached the orderer),
// the submit or commit-status call of the same signed transaction (one
// transaction id commits at most once), and a new proposal after an MVCC
// conflict (the loser wrote nothing). A transaction whose outcome stays
// unknown is reported as such, never re-proposed.
//
// # Batching
//
// Concurrent Anchor calls of one org's departments are coalesced into one
// AnchorBatchCompact transaction of up to BatchSize (≤ 1000) anchors, waiting at
// most BatchDelay for company, with InFlight transactions in flight, so
// issuance is bound by anchors per block rather than Fabric's transactions
// per second. Each call stays all or nothing: if the chaincode refuses a
// merged batch, the call at fault (named by the chaincode's "event i of n")
// is split off and the others go again without it. AnchorBatchCompact
// answers only the count and Merkle root of the entries it recorded; the
// ledger rebuilds them from its anchors and the transaction's timestamp and
// checks the root, so each anchor crosses the network and lands in every
// block twice instead of four times.
//
// # The log and receipts
//
// The chaincode does not number the log (a global counter would make every
// pair of transactions conflict). Each instance keeps a Merkle log in
// Config.Dir (ledger/logfile format, fsynced before a write returns), with a
// checkpoint signed by Config.Signer after each group. Receipts carry
// inclusion proofs against those checkpoints; InclusionProof and
// ConsistencyProof answer from it. With Config.Publish the instance pushes
// each checkpoint to the chaincode (PutCheckpoint) with a consistency proof
// from the previous one, which every endorsing org checks: the orgs witness
// that the log only grows, and Checkpoint returns the witnessed checkpoint.
//
// With Config.Follow (what zhengzhao serve uses) the log is the channel's:
// the instance reads every block from the reader's peer and appends, in
// block order, the entries of each valid transaction of the chaincode —
// those of its chaincode event (wire.EventName), or for AnchorBatchCompact
// the entries rebuilt from its arguments and timestamp and checked against
// the event's root — whoever wrote it; a write returns once the follower
// has appended its block, with an inclusion proof in that log. Every
// instance that follows one channel with one Signer and Origin builds the
// same log, so several registry instances serve interchangeable receipts,
// checkpoints and proofs, and all of them may publish: an instance adopts a
// checkpoint another one published when it covers its own log. The
// follower resumes from follow.json in Config.Dir and re-checks the entries
// it holds; a mismatch with the channel stops it (ledger.ErrCorrupt). See
// docs/several-instances.md for why.
//
// Without Follow each log is the instance's own: the canonical entries the
// chaincode returned for the transactions this instance committed, in the
// order it saw them commit. Then only one instance per channel — the one
// whose key the channel recorded with SetLogKey — can publish its
// checkpoints, and License gives the log index NotInLog to events this
// instance's log does not hold. The chaincode's per-license state is what
// is authoritative for online status either way: License reads it from the
// peer whichever instance wrote it.
package fabric
