// Package credential turns a license record into a W3C Verifiable
// Credential 2.0 and signs it with the sm2-jcs-2026 Data Integrity
// cryptosuite (docs/sm2-jcs-2026.md): ecdsa-jcs-2019 with SM2 and SM3 in
// place of ECDSA and SHA-256.
//
//	c, _ := credential.New(record, "某某市市场监督管理局", status)
//	_ = c.Sign(signer, credential.VerificationMethod(uscc, keyID), now())
//	stored, _ := c.Marshal() // RFC 8785 JCS bytes: stored, anchored, handed out
//
//	got, err := credential.Parse(stored) // strict: size, syntax, duplicates, required members
//	err = got.VerifyProof(issuerKey)
//
// Dates: validFrom is the record's first day at 00:00:00 and validUntil its
// last day at 23:59:59 China time (UTC+8), written in UTC as RFC 3339 with
// "Z" and whole seconds, so "2025-01-01" becomes "2024-12-31T16:00:00Z" and a
// last day "2030-12-31" becomes "2030-12-31T15:59:59Z"; a license without an
// end date (长期) has no validUntil. proof.created uses the same form.
//
// Parse reads the document once with its own strict JSON reader (see
// jsontree.go for why not encoding/json) and keeps it: Hashes and VerifyProof
// cover the credential exactly as received, members the Go type does not
// model included, and compute the two SM3 digests at most once.
package credential
