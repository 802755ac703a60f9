// Package tlog is Zhengzhao's transparency log: an RFC 6962 (RFC 9162 §2.1)
// Merkle tree over the canonical bytes of ledger events, checkpoints
// (C2SP tlog-checkpoint, https://c2sp.org/tlog-checkpoint) signed as C2SP
// signed notes (https://c2sp.org/signed-note), and the pure functions that
// verify inclusion proofs, consistency proofs and checkpoint signatures.
//
// Hashing is RFC 6962 with SHA-256: a leaf is SHA-256(0x00 ‖ data), an inner
// node SHA-256(0x01 ‖ left ‖ right), the empty tree SHA-256("").
//
// # Checkpoints
//
// A checkpoint body is
//
//	<origin>\n
//	<tree size, decimal>\n
//	<root hash, standard base64>\n
//
// and a signed checkpoint is that body, a blank line, and one signature line
//
//	— <key name> <base64(key hash ‖ signature)>\n
//
// where the key name is the log's origin.
//
// # SM2 signatures in signed notes (a private choice)
//
// C2SP assigns no signature type to SM2, so Zhengzhao uses its own value,
// SignatureTypeSM2 = 0x53 ('S' for SM2-SM3). It is not registered with C2SP;
// a verifier outside Zhengzhao must be told of it. With it:
//
//   - key hash = the first 4 bytes of SHA-256(key name ‖ 0x0A ‖ 0x53 ‖ PKIX DER
//     of the SM2 public key), the signed-note recommended form with the SM2
//     public key in its SubjectPublicKeyInfo encoding;
//   - signature = the 64-byte SM2 r‖s (GB/T 32918.2, SM3, default user ID
//     1234567812345678) over the note text, that is the checkpoint body
//     including its final newline.
//
// So a signature line carries base64 of 4 + 64 = 68 bytes.
package tlog
