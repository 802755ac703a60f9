package fabric

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// Connection is the connection settings network/up.sh writes
// (connection.json), plus optional Zhengzhao settings (the last four
// fields), which is also what `zhengzhao serve --fabric-config` reads.
type Connection struct {
	Channel            string           `json:"channel"`
	Chaincode          string           `json:"chaincode"`
	PlatformMSP        string           `json:"platform_msp"`
	ServerNameOverride string           `json:"server_name_override"`
	Orderers           []ConnectionNode `json:"orderers"`
	Orgs               []ConnectionOrg  `json:"orgs"`

	// ReaderMSP names the org whose peer answers queries ("" means the
	// first department org).
	ReaderMSP string `json:"reader_msp,omitempty"`
	// DepartmentMSP is the org departments are registered with when
	// Departments does not name one ("" means the first department org).
	DepartmentMSP string `json:"department_msp,omitempty"`
	// Departments maps department USCCs to their orgs' MSP IDs.
	Departments map[string]string `json:"departments,omitempty"`
	// NoPublish turns off publishing checkpoints to the channel.
	NoPublish bool `json:"no_publish,omitempty"`
}

// ConnectionNode is an orderer's address and TLS root.
type ConnectionNode struct {
	Address            string `json:"address"`
	TLSRootCert        string `json:"tls_root_cert"`
	ServerNameOverride string `json:"server_name_override"`
}

// ConnectionOrg is one org's peer and client identities (file paths).
type ConnectionOrg struct {
	MSPID              string `json:"msp_id"`
	PeerAddress        string `json:"peer_address"`
	TLSRootCert        string `json:"tls_root_cert"`
	ServerNameOverride string `json:"server_name_override"`
	ClientCert         string `json:"client_cert"`
	ClientKey          string `json:"client_key"`
	AdminCert          string `json:"admin_cert"`
	AdminKey           string `json:"admin_key"`
}

// LoadConnection reads a connection file.
func LoadConnection(path string) (*Connection, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	var c Connection
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrConfig, path, err)
	}
	switch {
	case c.Channel == "" || c.Chaincode == "":
		return nil, fmt.Errorf("%w: %s: channel and chaincode are required", ErrConfig, path)
	case len(c.Orgs) == 0:
		return nil, fmt.Errorf("%w: %s: no orgs", ErrConfig, path)
	}
	return &c, nil
}

// Org returns the settings of the org mspID.
func (c *Connection) Org(mspID string) (ConnectionOrg, error) {
	for _, o := range c.Orgs {
		if o.MSPID == mspID {
			return o, nil
		}
	}
	return ConnectionOrg{}, fmt.Errorf("%w: no org %s in the connection settings", ErrConfig, mspID)
}

// Dial connects to the org's peer over TLS and loads its client identity
// (the Admin's with admin). The caller closes the connection.
func (o ConnectionOrg) Dial(admin bool) (*Org, *grpc.ClientConn, error) {
	certFile, keyFile := o.ClientCert, o.ClientKey
	if admin {
		certFile, keyFile = o.AdminCert, o.AdminKey
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: org %s: %w", ErrConfig, o.MSPID, err)
	}
	cert, err := identity.CertificateFromPEM(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: org %s: %s: %w", ErrConfig, o.MSPID, certFile, err)
	}
	id, err := identity.NewX509Identity(o.MSPID, cert)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: org %s: %w", ErrConfig, o.MSPID, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: org %s: %w", ErrConfig, o.MSPID, err)
	}
	key, err := identity.PrivateKeyFromPEM(keyPEM)
	if err != nil {
		// Never the key itself in an error.
		return nil, nil, fmt.Errorf("%w: org %s: private key in %s does not parse", ErrConfig, o.MSPID, keyFile)
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: org %s: %w", ErrConfig, o.MSPID, err)
	}
	caPEM, err := os.ReadFile(o.TLSRootCert)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: org %s: %w", ErrConfig, o.MSPID, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, nil, fmt.Errorf("%w: org %s: no certificate in %s", ErrConfig, o.MSPID, o.TLSRootCert)
	}
	conn, err := grpc.NewClient(o.PeerAddress, grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(pool, o.ServerNameOverride)))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: org %s: peer %s: %w", ErrConfig, o.MSPID, o.PeerAddress, err)
	}
	return &Org{MSPID: o.MSPID, Conn: conn, Identity: id, Sign: sign}, conn, nil
}

// Connected is a Config made from a connection file, with the connections
// it opened.
type Connected struct {
	Config Config
	conns  []*grpc.ClientConn
}

// Close closes the connections.
func (c *Connected) Close() error {
	var errs []error
	for _, cc := range c.conns {
		errs = append(errs, cc.Close())
	}
	return errors.Join(errs...)
}

// Connect dials every org of the connection file: the platform org with its
// Admin identity (which registers departments and publishes checkpoints),
// the others with their User1 identity. It fills the Config's Fabric fields;
// the caller sets Dir, Signer and Origin.
func (c *Connection) Connect() (*Connected, error) {
	out := &Connected{}
	ok := false
	defer func() {
		if !ok {
			out.Close()
		}
	}()
	cfg := Config{Channel: c.Channel, Chaincode: c.Chaincode, Reader: c.ReaderMSP, Publish: !c.NoPublish}
	for _, o := range c.Orgs {
		org, conn, err := o.Dial(o.MSPID == c.PlatformMSP)
		if err != nil {
			return nil, err
		}
		out.conns = append(out.conns, conn)
		if o.MSPID == c.PlatformMSP {
			cfg.Platform = org
		} else {
			cfg.Orgs = append(cfg.Orgs, org)
		}
	}
	if cfg.Platform == nil {
		cfg.Publish = false
	}
	def := c.DepartmentMSP
	if def == "" && len(cfg.Orgs) > 0 {
		def = cfg.Orgs[0].MSPID
	}
	depts := c.Departments
	cfg.DepartmentOrg = func(uscc string) string {
		if m, ok := depts[uscc]; ok {
			return m
		}
		return def
	}
	out.Config = cfg
	ok = true
	return out, nil
}
