// Package signing holds Zhengzhao's SM2 key material and signatures.
//
// It covers:
//
//   - SM2 keys: [GenerateKey], encrypted PKCS#8 at rest ([EncryptPrivateKey],
//     [DecryptPrivateKey], [WriteKeyFile]) with PBES2, PBKDF2-HMAC-SM3
//     ([KeyIterations] rounds) and SM4-CBC, and the passphrase source
//     ([Passphrase]).
//   - The [Signer] interface: SM2 over SM3 with the default user ID
//     1234567812345678 (GB/T 32918.2, Z_A computed by the signer), returning a
//     64-byte r‖s. [NewKeySigner] wraps an in-memory key; [OpenSigner] opens a
//     key named by URI ("file:/path/key.pem"), so an HSM backend can be added
//     in one place later. [Verify] checks an r‖s signature.
//   - SM2 X.509 certificates: the platform root ([NewRootCertificate]), the
//     department certificates it issues ([NewDepartmentCertificate]), chain
//     verification at a given time ([VerifyDepartmentCertificate]) and key ids
//     ([KeyID]: the first 8 bytes of SM3 over the certificate DER, hex).
//
// Nothing here logs, and no error message ever contains a key or a passphrase.
// Library code never reads the clock: every time is a parameter.
package signing
