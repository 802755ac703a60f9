// Package ledgertest holds what every ledger.Ledger implementation is tested
// with: Run, a conformance suite of the interface's behaviour, and World, a
// fake trust world (platform root, departments, keys, signed anchors) made in
// one call.
package ledgertest
