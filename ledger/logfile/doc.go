// Package logfile is the on-disk form of a ledger's Merkle log: one
// append-only file of framed, digested records (log entries and the signed
// checkpoints that vouch for them), read back with torn-tail detection, plus
// the directory lock and fsync helpers its writers need. It knows nothing of
// ledger rules: ledger/embedded re-applies every entry to ledger.State as it
// reads, ledger/fabric only rebuilds the tree.
//
// The file starts with the 8 bytes "ZZLOG\x00\x00\x01" followed by records:
//
//	type    1 byte   'E' entry or 'C' checkpoint
//	length  4 bytes  big-endian length of payload
//	hcrc    4 bytes  big-endian CRC-32C (Castagnoli) of type ‖ length
//	payload length bytes
//	digest  32 bytes SHA-256(0x00 ‖ payload) for an entry, which is its
//	                 RFC 6962 leaf hash; SHA-256('C' ‖ payload) for a checkpoint
//
// A writer appends the entries of one commit followed by a checkpoint record
// with one write and one fsync, so entries after the last checkpoint were
// never acknowledged.
package logfile
