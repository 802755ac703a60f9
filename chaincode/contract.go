package chaincode

import (
	"os"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"zhengzhao/ledger/fabric/wire"
)

// Contract is the Fabric contract: one transaction function per Registry
// method. Each takes and returns JSON strings; errors start with a Code.
type Contract struct {
	contractapi.Contract
	r Registry
}

// NewContract returns the contract with platformMSP as the platform org's
// MSP ID ("" means wire.DefaultPlatformMSP).
func NewContract(platformMSP string) *Contract {
	c := &Contract{r: Registry{PlatformMSP: platformMSP}}
	c.Name = "zhengzhao"
	c.Info.Title = "Zhengzhao e-license registry"
	c.Info.Version = "1.0"
	return c
}

// NewContractFromEnv returns the contract configured from the environment:
// ZZ_PLATFORM_MSP names the platform org's MSP ID.
func NewContractFromEnv() *Contract { return NewContract(os.Getenv("ZZ_PLATFORM_MSP")) }

// RegisterDepartment records a department, its first key and its org's MSP ID. Platform org only.
func (c *Contract) RegisterDepartment(ctx contractapi.TransactionContextInterface, deptJSON, keyJSON, mspID string) (string, error) {
	msp, err := creatorMSP(ctx)
	if err != nil {
		return "", err
	}
	return result(c.r.RegisterDepartment(ctx.GetStub(), msp, deptJSON, keyJSON, mspID))
}

// AddKey records another key of a department. Platform org only.
func (c *Contract) AddKey(ctx contractapi.TransactionContextInterface, keyJSON string) (string, error) {
	msp, err := creatorMSP(ctx)
	if err != nil {
		return "", err
	}
	return result(c.r.AddKey(ctx.GetStub(), msp, keyJSON))
}

// RevokeKey records a key revocation. Platform org only.
func (c *Contract) RevokeKey(ctx contractapi.TransactionContextInterface, revocationJSON string) (string, error) {
	msp, err := creatorMSP(ctx)
	if err != nil {
		return "", err
	}
	return result(c.r.RevokeKey(ctx.GetStub(), msp, revocationJSON))
}

// AnchorBatch records a batch of signed license anchors, all or nothing. The department's org only.
func (c *Contract) AnchorBatch(ctx contractapi.TransactionContextInterface, anchorsJSON string) (string, error) {
	msp, err := creatorMSP(ctx)
	if err != nil {
		return "", err
	}
	return result(c.r.AnchorBatch(ctx.GetStub(), msp, anchorsJSON))
}

// AnchorBatchCompact is AnchorBatch answering the entries' count and Merkle
// root instead of the entries. The department's org only.
func (c *Contract) AnchorBatchCompact(ctx contractapi.TransactionContextInterface, anchorsJSON string) (string, error) {
	msp, err := creatorMSP(ctx)
	if err != nil {
		return "", err
	}
	return result(c.r.AnchorBatchCompact(ctx.GetStub(), msp, anchorsJSON))
}

// AnchorType records a catalog type version by its digest. Platform org only.
func (c *Contract) AnchorType(ctx contractapi.TransactionContextInterface, typeJSON string) (string, error) {
	msp, err := creatorMSP(ctx)
	if err != nil {
		return "", err
	}
	return result(c.r.AnchorType(ctx.GetStub(), msp, typeJSON))
}

// SetStatus suspends, resumes or revokes a license. The department's org only.
func (c *Contract) SetStatus(ctx contractapi.TransactionContextInterface, changeJSON string) (string, error) {
	msp, err := creatorMSP(ctx)
	if err != nil {
		return "", err
	}
	return result(c.r.SetStatus(ctx.GetStub(), msp, changeJSON))
}

// AnchorRecordsHead records the head of a record chain (ledger.RecordsHead
// JSON); its sequence must be after the last anchored head. Platform org only.
func (c *Contract) AnchorRecordsHead(ctx contractapi.TransactionContextInterface, headJSON string) (string, error) {
	msp, err := creatorMSP(ctx)
	if err != nil {
		return "", err
	}
	return result(c.r.AnchorRecordsHead(ctx.GetStub(), msp, headJSON))
}

// SetLogKey records the registry log's checkpoint key and origin, once. Platform org only.
func (c *Contract) SetLogKey(ctx contractapi.TransactionContextInterface, pemOrDER, origin string) (string, error) {
	msp, err := creatorMSP(ctx)
	if err != nil {
		return "", err
	}
	return result(c.r.SetLogKey(ctx.GetStub(), msp, pemOrDER, origin))
}

// PutCheckpoint records a new signed checkpoint with its consistency proof. Platform org only.
func (c *Contract) PutCheckpoint(ctx contractapi.TransactionContextInterface, note, proofJSON string) (string, error) {
	msp, err := creatorMSP(ctx)
	if err != nil {
		return "", err
	}
	return result(c.r.PutCheckpoint(ctx.GetStub(), msp, note, proofJSON))
}

// GetLicense returns a license's anchor, status and history.
func (c *Contract) GetLicense(ctx contractapi.TransactionContextInterface, identifier string) (string, error) {
	return result(c.r.GetLicense(ctx.GetStub(), identifier))
}

// GetDepartment returns a department's facts, keys, revocations and org.
func (c *Contract) GetDepartment(ctx contractapi.TransactionContextInterface, uscc string) (string, error) {
	return result(c.r.GetDepartment(ctx.GetStub(), uscc))
}

// GetCheckpoint returns the latest accepted checkpoint.
func (c *Contract) GetCheckpoint(ctx contractapi.TransactionContextInterface) (string, error) {
	return result(c.r.GetCheckpoint(ctx.GetStub()))
}

// GetLogKey returns the registered log key.
func (c *Contract) GetLogKey(ctx contractapi.TransactionContextInterface) (string, error) {
	return result(c.r.GetLogKey(ctx.GetStub()))
}

func creatorMSP(ctx contractapi.TransactionContextInterface) (string, error) {
	id, err := ctx.GetClientIdentity().GetMSPID()
	if err != nil {
		return "", wire.Errorf(wire.CodeInternal, "creator MSP ID: %w", err)
	}
	return id, nil
}

// result encodes v as the transaction's JSON result.
func result[T any](v *T, err error) (string, error) {
	if err != nil {
		return "", err
	}
	b, err := wire.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
