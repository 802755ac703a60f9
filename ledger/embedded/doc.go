// Package embedded is the default, one-machine ledger: the event log in a
// single append-only file in a data directory, a signed checkpoint after
// every commit, and an on-disk index (ledger/index) of what the log adds up
// to — per-license state and the Merkle tree's node hashes — so that memory
// and start-up time do not grow with the log. Departments and keys (few) are
// held in memory.
//
// # Writes and group commit
//
// One writer goroutine owns the file. Callers queue their events; the writer
// takes everything queued, stamps it with one time (Config.Now, truncated to
// ledger.TimePrecision and never earlier than the previous commit), checks
// each caller's events against ledger.State (one caller's failure does not
// affect the others; one call's events are all or nothing), appends the
// accepted entries and a newly signed checkpoint to the file with a single
// write and a single fsync, keeps that checkpoint in Dir/checkpoint (one
// more write and fsync), and only then answers each caller with its
// receipts. Acknowledged events are therefore always durable and covered by
// the checkpoint in their receipt. What the commits change in the index is
// written behind them, in one bbolt transaction every 4096 entries or every
// second and on Close; until then readers see it in memory.
//
// # On disk
//
// Dir/lock is flock(2)ed while a Ledger is open. Dir/log starts with the 8
// bytes "ZZLOG\x00\x00\x01" followed by records:
//
//	type    1 byte   'E' entry or 'C' checkpoint
//	length  4 bytes  big-endian length of payload
//	hcrc    4 bytes  big-endian CRC-32C (Castagnoli) of type ‖ length
//	payload length bytes
//	digest  32 bytes SHA-256(0x00 ‖ payload) for an entry, which is its
//	                 RFC 6962 leaf hash; SHA-256('C' ‖ payload) for a checkpoint
//
// An entry's payload is the canonical bytes of one ledger.Event (a leaf of
// the Merkle tree); a checkpoint's payload is the C2SP signed note of the tree
// after the entries before it. Every commit ends with a checkpoint record, and
// a fresh log starts with the checkpoint of the empty tree.
//
// Dir/index is the bbolt index: per license the log offset of its anchoring
// entry and its status history (the anchor itself is read back from the log),
// every complete subtree's hash, the positions of department and key events,
// and its mark — the checkpoint up to which it holds the log, i.e. the last
// verified size. Receipts and proofs are computed from it on demand.
//
// Dir/checkpoint keeps the latest checkpoint apart from the log, in two
// slots written in turn (magic "ZZCP", sequence number, length, CRC-32C,
// JSON of the signed note and its offsets in the log), so a torn write
// leaves the previous one readable.
//
// # Open, recovery and corruption
//
// On open the index's mark must name a checkpoint record of this log with
// the same size and root, and that checkpoint's signature must verify with
// the configured key; the department and key events are re-applied to a
// fresh ledger.State; then only the records after the mark are checked —
// framing, digest, the ledger rules, each checkpoint's size and root, the
// last checkpoint's signature — and added to the index. An index that is
// missing, unreadable or does not match the log is rebuilt from the whole
// log (OpenReport and Config.Logger say so). Then the log is checked against
// the kept checkpoint: a log shorter than it, or one whose tree is not
// consistent with it (a consistency proof from the kept size to the log's),
// fails New with a *RollbackError (wrapping ledger.ErrRollback) naming both
// sizes. A torn tail — an incomplete last record, or a tail of zero bytes,
// left by a crash during a write — is cut off, and so are complete entries
// after the last checkpoint: neither was ever acknowledged. Anything else
// that does not check out fails New with a *CorruptError (wrapping
// ledger.ErrCorrupt) naming the first bad entry.
//
// Damage to the part of the log the index already covers is not looked for
// on open: Verify ("zhengzhao ledger verify") re-checks the whole log,
// read-only, building the state in a temporary index, and checks it against
// the kept checkpoint too.
package embedded
