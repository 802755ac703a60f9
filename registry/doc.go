// Package registry is the Zhengzhao service: departments and their keys, the
// license-type catalog, issuing, new versions (变更, 延续), the license
// lifecycle (suspend, resume, cancel, revoke, withdraw), API tokens and
// trust bundles. Its store is SQLite (pure Go, WAL); personal data lives
// only in that store, never on the ledger.
//
// # The issue pipeline
//
// Service.Issue, Service.IssueBatch and Service.NewVersion share one
// pipeline; each reads top to bottom:
//
//  1. validate: the request against its type (license.Type.ValidateAt),
//     the request key (a repeated key answers the first license), the
//     one-active rule (holdOne: an in-process lock, then a claim in the
//     store that other instances on the same store see, then the check);
//  2. identify: a status-list slot, the serial (or, for a version, the
//     predecessor's serial and the next version segment), the identifier;
//  3. sign (Service.sign): the credential is built and signed once —
//     credential.SignCanonical returns its canonical bytes, the two digests,
//     the signature and the times — and everything after reads that value:
//     the department's seal stamps SM3 of the canonical bytes (a
//     seal.Stamper, which hashes the seal once per key), the compact QR form
//     is signed from the credential, and the ledger anchor is the digests
//     and signature, no personal data;
//  4. anchor and store (Service.anchorAndStore): one ledger append for the
//     versions, then one store insert; a license is acknowledged only once
//     it is durable in both.
//
// Nothing is rendered in the path: PDFs are made on demand.
//
// Concurrent Issue calls coalesce: the embedded ledger's writer commits
// every anchor waiting at once with one checkpoint and one fsync (and waits
// briefly for more when callers are concurrent), checking their signatures
// in the callers' goroutines beforehand; the store's commit loop inserts
// every license waiting at once in one transaction. IssueBatch does the same
// on purpose: up to MaxBatch rows signed on all cores, one Ledger.Anchor
// call, one store transaction, each row's error its own.
//
// A new version writes itself ahead in the store (pending_versions) before
// it is anchored, so that a crash between anchoring and storing loses
// nothing: the next Open stores it from there. A first issue that crashes
// between the two leaves an orphan anchor; its serial is skipped.
//
// The catalog is managed (catalog.go): the built-in catalog seeds version 1
// of its types; the admin adds types and versions (AddType,
// AddTypeVersion), checked by the built-in catalog's rules and against what
// issued licenses use, each version's digest anchored on the ledger and
// carried in the trust bundle. A license records the type version it was
// issued under (LicenseType); new issues and new versions use the latest.
package registry
