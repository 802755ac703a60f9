// Package verifier checks an electronic license credential offline or online
// and explains the outcome to a person.
//
// Trust comes in as a value: a [TrustBundle] signed by the platform root
// (departments with their certificates and allowed license types, revoked and
// suspended licenses, the log key and its latest checkpoint), read with
// [ParseBundle]. [Verify] never fetches anything itself; for an online check
// the caller passes an [OnlineLedger] in the [Policy].
//
// [Verify] runs every check in a fixed order — format, issuer, proof, key,
// type, validity, status, anchor — and records each one in [Result.Checks]
// with a status (pass, fail, skip) and a short reason that window staff can
// read. It goes on past a failure wherever the later checks still mean
// something, so the result shows every reason a license is refused. A check
// that was not done is "skip", never "pass": an offline verification without
// a ledger receipt says the anchor was not checked.
//
// The bundle is indexed once (departments and keys by id, parsed
// certificates, the certificate chain result per key, the verified
// checkpoint), so verifying many licenses against one bundle costs little more
// than the SM2 signature check itself.
package verifier
