// Package verifiertest builds a whole fake trust world for tests in one call,
// in the manner of sigstore-go's NewVirtualSigstore: a platform root, two
// departments with keys and certificates, a transparency log with its signing
// key, licenses signed from the catalog's example records with ledger
// receipts, and a signed trust bundle. Everything is made in memory with
// fresh keys; nothing here is for production use.
package verifiertest
