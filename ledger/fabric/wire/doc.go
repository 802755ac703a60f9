// Package wire is the protocol between Zhengzhao's Fabric chaincode
// (module zhengzhao/chaincode) and its client, package ledger/fabric: the
// chaincode's function names, the JSON shapes of their arguments and
// results, the chaincode event, the error codes and the ledger sentinels
// they stand for, and the limits on input. Both sides import it, so a name,
// field or code cannot drift apart.
//
// Why here, under ledger/fabric: it is the Fabric transport of the ledger
// and nothing else (the embedded ledger has no wire), it sits beside the
// client that speaks it, and the chaincode module can import it without
// pulling in the Fabric Gateway: it imports only package ledger (whose
// events and states are the payloads) and ledger/tlog. It holds no rules:
// ledger.State decides what an event may do, on both sides.
//
// The protocol in one table (chaincode/README.md has the long form):
//
//	function            arguments                                     result
//	RegisterDepartment  ledger.Department, ledger.Key, MSP ID            WriteResult
//	AddKey              ledger.Key                                    WriteResult
//	RevokeKey           ledger.KeyRevocation (reason: license.KeyReasons) WriteResult
//	AnchorBatch         []ledger.Anchor (1..MaxBatch)                 WriteResult
//	AnchorBatchCompact  []ledger.Anchor (1..MaxBatch)                 WriteResult{Count, Root}
//	SetStatus           ledger.StatusChange (reason: license.Reasons) WriteResult
//	AnchorType          ledger.TypeVersion                           WriteResult
//	SetLogKey           PEM or base64 DER of an SM2 key, origin       LogKey
//	PutCheckpoint       signed note, consistency proof ([][]byte)     CheckpointRecord
//	GetLicense          identifier                                    LicenseInfo
//	GetDepartment       USCC                                          DepartmentInfo
//	GetCheckpoint       —                                             CheckpointRecord
//	GetLogKey           —                                             LogKey
//
// Every argument and result is a string; JSON arguments are decoded
// strictly (DecodeArg). A failure is "CODE: detail" (Error, FindCode); each
// Code maps to one ledger sentinel (Sentinel) and each sentinel to one Code
// (CodeOf).
package wire
