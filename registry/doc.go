// Package registry is the Zhengzhao service: departments and their keys, the
// license-type catalog, issuing, the license lifecycle (suspend, resume,
// revoke), API tokens and trust bundles. Its store is SQLite (pure Go, WAL);
// personal data lives only in that store, never on the ledger.
//
// Service.Issue reads top to bottom: validate → identifier → credential →
// sign → anchor → store. A license is acknowledged only once it is durable
// in both the ledger and the store.
//
// The catalog is managed (catalog.go): the built-in catalog seeds version 1
// of its types; the admin adds types and versions (AddType,
// AddTypeVersion), checked by the built-in catalog's rules and against what
// issued licenses use, each version's digest anchored on the ledger and
// carried in the trust bundle. A license records the type version it was
// issued under; new issues use the latest.
package registry
