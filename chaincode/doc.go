// Package chaincode is Zhengzhao's Hyperledger Fabric chaincode: the ledger
// rules of package zhengzhao/ledger (ledger.State) enforced by every endorsing
// peer, plus who may do what (the creator's MSP ID) and the registry's Merkle
// log checkpoints (package zhengzhao/ledger/tlog).
//
// Every write is one ledger.Event, stamped with the transaction's timestamp
// (never a clock), checked by replaying the facts it depends on into a fresh
// ledger.State and applying it there, then stored as its canonical bytes. So
// the chaincode accepts exactly what the embedded ledger accepts, with the
// same errors, and adds only the Fabric-side rules:
//
//   - only clients of the platform org (ZZ_PLATFORM_MSP, default
//     PlatformMSP) register departments, add and revoke their keys, set the
//     log key and publish checkpoints;
//   - a department's licenses are anchored and changed only by clients of the
//     org the department was registered with;
//   - a checkpoint is accepted only if signed by the registered log key and
//     consistent with the previous one.
//
// Errors start with a stable code ("ERR_FORBIDDEN: …", see wire.Code) so a client
// can tell which rule failed. README.md lists the functions.
package chaincode
