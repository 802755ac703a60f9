// Package embedded is the default, one-machine ledger: the event log in a
// single append-only file in a data directory, the Merkle tree and the ledger
// state rebuilt in memory from it on open, and a signed checkpoint after
// every commit.
//
// # Writes and group commit
//
// One writer goroutine owns the file. Callers queue their events; the writer
// takes everything queued, stamps it with one time (Config.Now, truncated to
// ledger.TimePrecision and never earlier than the previous commit), checks
// each caller's events against ledger.State (one caller's failure does not
// affect the others; one call's events are all or nothing), appends the
// accepted entries and a newly signed checkpoint to the file with a single
// write and a single fsync, and only then answers each caller with its
// receipts. Acknowledged events are therefore always durable and covered by
// the checkpoint in their receipt.
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
// # Recovery and corruption
//
// On open the whole log is re-read: every record's framing and digest, every
// event re-parsed and re-applied to a fresh ledger.State, every checkpoint's
// size and root compared with the rebuilt tree, and the last checkpoint's
// signature verified with the configured key. A torn tail — an incomplete
// last record, or a tail of zero bytes, left by a crash during a write — is
// cut off, and so are complete entries after the last checkpoint: neither
// was ever acknowledged. Anything else that does not check out fails New
// with a *CorruptError (wrapping ledger.ErrCorrupt) naming the first bad
// entry. Verify runs the same checks read-only, for "zhengzhao ledger verify".
package embedded
