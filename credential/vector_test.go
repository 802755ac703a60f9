package credential

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"

	"zhengzhao/license"
	"zhengzhao/signing"
)

var update = flag.Bool("update", false, "regenerate testdata/ (keeps the stored signature if the signed content is unchanged)")

// vector is testdata/vector.json: one sm2-jcs-2026 test vector. The same
// values are quoted in docs/sm2-jcs-2026.md.
type vector struct {
	Comment            string            `json:"comment"`
	PrivateKey         string            `json:"privateKey"` // hex d
	PublicKey          string            `json:"publicKey"`  // hex 04‖x‖y
	IssuerName         string            `json:"issuerName"`
	Record             license.Record    `json:"record"`
	Status             []StatusListEntry `json:"status"`
	VerificationMethod string            `json:"verificationMethod"`
	Created            string            `json:"created"`
	ProofConfig        string            `json:"proofConfig"`  // JCS(P)
	ProofHash          string            `json:"proofHash"`    // hex SM3(JCS(P))
	DocumentHash       string            `json:"documentHash"` // hex SM3(unsigned.json)
	HashData           string            `json:"hashData"`     // hex proofHash‖documentHash
	ZA                 string            `json:"za"`           // hex Z_A for the public key and ID 1234567812345678
	Digest             string            `json:"digest"`       // hex e = SM3(Z_A‖hashData), the value SM2 signs
	ProofValue         string            `json:"proofValue"`   // the one signature stored in signed.json
}

const (
	vectorFile   = "testdata/vector.json"
	unsignedFile = "testdata/unsigned.json" // JCS(credential without proof)
	signedFile   = "testdata/signed.json"   // JCS(signed credential)
)

// vectorKeyHex is the fixed test key (the sample private key of GM/T 0003.5).
const vectorKeyHex = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8"

// vectorInput is the credential the vector signs.
func vectorInput() vector {
	return vector{
		Comment:    "sm2-jcs-2026 test vector; regenerate with: go test ./credential -run TestVector -update",
		PrivateKey: vectorKeyHex,
		IssuerName: "湖南省市场监督管理局",
		Record: license.Record{
			Name:           "营业执照",
			TypeCode:       "11100000000013338W011",
			Number:         "20230000403",
			Identifier:     "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
			Holder:         "湖南麓山软件科技有限公司",
			HolderCode:     "91430100MA4L12345A",
			HolderCodeType: "001",
			Issuer:         "湖南省市场监督管理局",
			IssuerCode:     "11430000006122244L",
			IssueDate:      "2025-01-01",
			ValidFrom:      "2025-01-01",
			ValidUntil:     "2044-12-31",
			Jurisdiction:   "430000",
			Fields: map[string]string{
				"entityType":          "有限责任公司（自然人投资或控股）",
				"legalRepresentative": "张三",
				"registeredCapital":   "1000万元人民币",
				"address":             "湖南省长沙市岳麓区麓山南路1号",
				"businessScope":       "软件开发；信息技术咨询服务。（依法须经批准的项目，经相关部门批准后方可开展经营活动）",
			},
		},
		Status: []StatusListEntry{{
			ID:                   "https://zhengzhao.example/status/11430000006122244L/message/1#94567",
			Type:                 StatusEntryType,
			StatusPurpose:        PurposeMessage,
			StatusListIndex:      "94567",
			StatusListCredential: "https://zhengzhao.example/status/11430000006122244L/message/1",
			StatusSize:           StatusSize,
			StatusMessage:        statusMessages(),
		}},
		VerificationMethod: "urn:uscc:11430000006122244L#5f2a9c07e1d3b468",
		Created:            "2025-01-01T01:30:00Z",
	}
}

func vectorKey(t testing.TB) *sm2.PrivateKey {
	t.Helper()
	d, err := hex.DecodeString(vectorKeyHex)
	if err != nil {
		t.Fatal(err)
	}
	k, err := sm2.NewPrivateKey(d)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// publicKeyHex is the uncompressed point 04‖x‖y.
func publicKeyHex(k *sm2.PrivateKey) string {
	pt := make([]byte, 65)
	pt[0] = 4
	k.X.FillBytes(pt[1:33])
	k.Y.FillBytes(pt[33:])
	return hex.EncodeToString(pt)
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadVector(t testing.TB) vector {
	t.Helper()
	var v vector
	if err := json.Unmarshal(readTestdata(t, vectorFile), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// signedVector returns testdata/signed.json parsed.
func signedVector(t testing.TB) *Credential {
	t.Helper()
	c, err := Parse(readTestdata(t, signedFile))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// generateVector signs the vector input afresh and writes testdata/.
func generateVector(t *testing.T) {
	in := vectorInput()
	key := vectorKey(t)
	c, err := New(in.Record, in.IssuerName, in.Status)
	if err != nil {
		t.Fatal(err)
	}
	unsigned, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	created, err := time.Parse(time.RFC3339, in.Created)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Sign(signing.NewKeySigner(key), in.VerificationMethod, created); err != nil {
		t.Fatal(err)
	}
	signed, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// Keep the stored signature while it still verifies over the same
	// hashes, so that -update changes nothing (and the spec's quoted
	// proofValue stays right) unless the input changed.
	if old, err := os.ReadFile(signedFile); err == nil {
		if prev, err := Parse(old); err == nil && prev.VerifyProof(&key.PublicKey) == nil {
			oph, odh, _ := prev.Hashes()
			nph, ndh, _ := c.Hashes()
			if bytes.Equal(oph, nph) && bytes.Equal(odh, ndh) {
				c, signed = prev, old
			}
		}
	}
	ph, dh, err := c.Hashes()
	if err != nil {
		t.Fatal(err)
	}
	p := *c.Proof
	p.ProofValue = ""
	pc, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	out := in
	out.PublicKey = publicKeyHex(key)
	out.ProofConfig = string(mustJCS(t, pc))
	out.ProofHash = hex.EncodeToString(ph)
	out.DocumentHash = hex.EncodeToString(dh)
	out.HashData = hex.EncodeToString(append(ph, dh...))
	za, err := sm2.CalculateZA(&key.PublicKey, []byte(signing.DefaultUserID))
	if err != nil {
		t.Fatal(err)
	}
	out.ZA = hex.EncodeToString(za)
	out.Digest = hex.EncodeToString(sm3Sum(append(za, append(ph, dh...)...)))
	out.ProofValue = c.Proof.ProofValue
	vj, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		vectorFile:   append(vj, '\n'),
		unsignedFile: unsigned,
		signedFile:   signed,
	} {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote %s, %s, %s", vectorFile, unsignedFile, signedFile)
}

// TestVector checks the stored vector byte for byte: the deterministic
// parts are rebuilt from the input and compared, and the stored signature
// (SM2 signatures are randomized) is verified.
func TestVector(t *testing.T) {
	if *update {
		generateVector(t)
	}
	v := loadVector(t)
	in := vectorInput()
	key := vectorKey(t)

	if got, want := v.PrivateKey, vectorKeyHex; got != want {
		t.Errorf("privateKey = %s, want %s", got, want)
	}
	if got, want := v.PublicKey, publicKeyHex(key); got != want {
		t.Errorf("publicKey = %s, want %s", got, want)
	}

	// The unsigned credential is deterministic.
	c, err := New(in.Record, in.IssuerName, in.Status)
	if err != nil {
		t.Fatal(err)
	}
	unsigned, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if want := readTestdata(t, unsignedFile); !bytes.Equal(unsigned, want) {
		t.Errorf("Marshal(New(...)) differs from %s:\n got %s\nwant %s", unsignedFile, unsigned, want)
	}
	if got, want := hex.EncodeToString(sm3Sum(unsigned)), v.DocumentHash; got != want {
		t.Errorf("SM3(%s) = %s, want documentHash %s", unsignedFile, got, want)
	}
	if got, want := hex.EncodeToString(sm3Sum([]byte(v.ProofConfig))), v.ProofHash; got != want {
		t.Errorf("SM3(proofConfig) = %s, want proofHash %s", got, want)
	}
	if got, want := v.HashData, v.ProofHash+v.DocumentHash; got != want {
		t.Errorf("hashData = %s, want proofHash‖documentHash %s", got, want)
	}
	za, err := sm2.CalculateZA(&key.PublicKey, []byte("1234567812345678"))
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(za); got != v.ZA {
		t.Errorf("Z_A = %s, want %s", got, v.ZA)
	}
	if got := hex.EncodeToString(sm3Sum(append(za, mustHex(t, v.HashData)...))); got != v.Digest {
		t.Errorf("e = SM3(Z_A‖hashData) = %s, want %s", got, v.Digest)
	}

	// Signing afresh gives the same hashes (and a new, valid signature).
	created, err := time.Parse(time.RFC3339, in.Created)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Sign(signing.NewKeySigner(key), in.VerificationMethod, created); err != nil {
		t.Fatal(err)
	}
	checkHashes(t, "fresh Sign", c, v)
	if err := c.VerifyProof(&key.PublicKey); err != nil {
		t.Errorf("fresh Sign: VerifyProof: %v", err)
	}

	// The stored signed credential verifies and hashes byte-exactly.
	signedBytes := readTestdata(t, signedFile)
	s := signedVector(t)
	checkHashes(t, signedFile, s, v)
	if got, want := s.Proof.ProofValue, v.ProofValue; got != want {
		t.Errorf("%s proofValue = %s, want %s", signedFile, got, want)
	}
	pub, err := sm2.NewPublicKey(mustHex(t, v.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.VerifyProof(pub); err != nil {
		t.Errorf("%s: VerifyProof: %v", signedFile, err)
	}
	remarshaled, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(remarshaled, signedBytes) {
		t.Errorf("Marshal(Parse(%s)) is not the same bytes", signedFile)
	}
	// JCS(P) from the stored document is the proofConfig.
	p := *s.Proof
	p.ProofValue = ""
	pc, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(mustJCS(t, pc)); got != v.ProofConfig {
		t.Errorf("JCS(P) = %s, want %s", got, v.ProofConfig)
	}
}

func checkHashes(t *testing.T, what string, c *Credential, v vector) {
	t.Helper()
	ph, dh, err := c.Hashes()
	if err != nil {
		t.Fatalf("%s: Hashes: %v", what, err)
	}
	if got := hex.EncodeToString(ph); got != v.ProofHash {
		t.Errorf("%s: proofHash = %s, want %s", what, got, v.ProofHash)
	}
	if got := hex.EncodeToString(dh); got != v.DocumentHash {
		t.Errorf("%s: documentHash = %s, want %s", what, got, v.DocumentHash)
	}
}

func sm3Sum(b []byte) []byte {
	h := sm3.Sum(b)
	return h[:]
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSpecQuotesVector keeps docs/sm2-jcs-2026.md in step with the vector.
func TestSpecQuotesVector(t *testing.T) {
	spec := string(readTestdata(t, "../docs/sm2-jcs-2026.md"))
	v := loadVector(t)
	sig, err := signedVector(t).Signature()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"private key":  v.PrivateKey,
		"public x":     v.PublicKey[2:66],
		"public y":     v.PublicKey[66:],
		"proofConfig":  v.ProofConfig,
		"proofHash":    v.ProofHash,
		"documentHash": v.DocumentHash,
		"za":           v.ZA,
		"digest":       v.Digest,
		"proofValue":   v.ProofValue,
		"r":            hex.EncodeToString(sig[:32]),
		"s":            hex.EncodeToString(sig[32:]),
		"unsigned":     string(readTestdata(t, unsignedFile)),
	} {
		if !strings.Contains(spec, want) {
			t.Errorf("docs/sm2-jcs-2026.md does not quote the vector's %s %.60q; update §5", name, want)
		}
	}
}
