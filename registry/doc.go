// Package registry is the Zhengzhao service: departments and their keys, the
// license-type catalog, issuing, the license lifecycle (suspend, resume,
// revoke), API tokens and trust bundles. Its store is SQLite (pure Go, WAL);
// personal data lives only in that store, never on the ledger.
//
// Service.Issue reads top to bottom: validate → identifier → credential →
// sign → anchor → store. A license is acknowledged only once it is durable
// in both the ledger and the store.
package registry
