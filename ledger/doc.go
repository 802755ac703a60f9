// Package ledger defines the Ledger interface and the events it records:
// department facts, keys, license anchors and status changes. Two
// implementations exist: ledger/embedded (the one-machine default) and
// ledger/fabric. The Merkle log, checkpoints and proofs live in ledger/tlog.
package ledger
