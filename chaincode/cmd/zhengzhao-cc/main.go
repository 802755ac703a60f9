// Command zhengzhao-cc runs the Zhengzhao chaincode as a chaincode server
// (chaincode-as-a-service): the peer connects to it.
//
//	CHAINCODE_ID              the package ID the peer knows it by (label:sha256)
//	CHAINCODE_SERVER_ADDRESS  host:port to listen on, e.g. 127.0.0.1:9999
//	ZZ_PLATFORM_MSP           the platform org's MSP ID (default PlatformMSP)
//	CHAINCODE_TLS_CERT, CHAINCODE_TLS_KEY, CHAINCODE_TLS_CLIENT_CA
//	                          PEM files; TLS is off unless cert and key are set
package main

import (
	"fmt"
	"log"
	"os"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"zhengzhao/chaincode"
)

func main() {
	if err := run(); err != nil {
		log.Fatalf("zhengzhao-cc: %v", err)
	}
}

func run() error {
	id, addr := os.Getenv("CHAINCODE_ID"), os.Getenv("CHAINCODE_SERVER_ADDRESS")
	if id == "" || addr == "" {
		return fmt.Errorf("CHAINCODE_ID and CHAINCODE_SERVER_ADDRESS must be set")
	}
	cc, err := contractapi.NewChaincode(chaincode.NewContractFromEnv())
	if err != nil {
		return fmt.Errorf("create chaincode: %w", err)
	}
	tls, err := tlsProps()
	if err != nil {
		return err
	}
	srv := &shim.ChaincodeServer{CCID: id, Address: addr, CC: cc, TLSProps: tls}
	log.Printf("zhengzhao-cc: serving %s on %s", id, addr)
	return srv.Start()
}

func tlsProps() (shim.TLSProperties, error) {
	cert, key := os.Getenv("CHAINCODE_TLS_CERT"), os.Getenv("CHAINCODE_TLS_KEY")
	if cert == "" || key == "" {
		return shim.TLSProperties{Disabled: true}, nil
	}
	var p shim.TLSProperties
	var err error
	if p.Cert, err = os.ReadFile(cert); err != nil {
		return p, err
	}
	if p.Key, err = os.ReadFile(key); err != nil {
		return p, err
	}
	if ca := os.Getenv("CHAINCODE_TLS_CLIENT_CA"); ca != "" {
		if p.ClientCACerts, err = os.ReadFile(ca); err != nil {
			return p, err
		}
	}
	return p, nil
}
