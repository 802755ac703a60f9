// Package index is the embedded ledger's on-disk index: what its log adds up
// to, kept so that opening a ledger does not re-read the log and memory does
// not grow with it. One bbolt file holds
//
//   - per license, an opaque value (ledger/embedded keeps there the log
//     offset of the anchoring entry and the status history, not the anchor);
//   - the hash of every complete subtree of the Merkle tree, one bucket per
//     level, for roots and proofs of any size;
//   - the log positions of the events that are not about one license
//     (departments, keys), replayed into memory on open;
//   - the Mark: how far into the log all of the above goes.
//
// Everything changes only through Write, one fsynced bbolt transaction, so
// the Mark never claims more than the index holds. The log stays the truth:
// an index that is lost, damaged or behind the log is rebuilt or brought up
// to date from it. The package knows nothing of ledger rules or the log
// format.
//
// Why bbolt (go.etcd.io/bbolt) and not SQLite (modernc.org/sqlite, already
// used by the registry): measured 2026-12-07 on the 2-core machine with
// 200,000 license rows of 180 bytes and two 32-byte tree nodes each, in
// transactions of 1,000: bbolt inserted 75,000 licenses/s, SQLite (WAL)
// 36,000/s; a point read took 3.3 µs against 13 µs; both keep memory flat.
// A one-row bbolt commit is slower (2.8 ms, two fsyncs) — hence the index
// is written behind the log in large batches. bbolt is a key-value store
// with no SQL layer to feed, which is all an index of a log needs.
package index
