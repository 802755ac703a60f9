package ledgertest

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"zhengzhao/ledger"
	"zhengzhao/license"
	"zhengzhao/signing"
)

// TypeCode is the license type code every World department may issue: the
// authority USCC of the GB/T 36904 example followed by 011.
const TypeCode = "11100000000013338W011"

// OtherTypeCode is a valid type code no World department may issue.
const OtherTypeCode = "11100000000013338W012"

// World is a whole fake trust world for ledger tests, made in one call: a
// platform root certificate and as many departments as a test asks for, each
// with an SM2 key and certificate, able to sign anchors that pass the ledger
// rules.
type World struct {
	t        testing.TB
	now      time.Time
	root     signing.Signer
	rootCert *smx509.Certificate
}

// usccCounter makes every department of every World in a process distinct.
// It starts at a random point so that runs against a ledger that outlives
// them (ledger/fabric's tests share one Fabric network) do not collide.
var usccCounter = func() *atomic.Uint64 {
	var b [4]byte
	rand.Read(b[:])
	var c atomic.Uint64
	c.Store(uint64(binary.BigEndian.Uint32(b[:])) % 900_000_000)
	return &c
}()

// NewWorld makes a platform root valid around now.
func NewWorld(t testing.TB, now time.Time) *World {
	t.Helper()
	root := newSigner(t)
	cert, err := signing.NewRootCertificate(root, "Zhengzhao Test Root", now.Add(-48*time.Hour), now.AddDate(10, 0, 0))
	if err != nil {
		t.Fatalf("root certificate: %v", err)
	}
	return &World{t: t, now: now, root: root, rootCert: cert}
}

// Dept is a department of a World with its current key.
type Dept struct {
	w          *World
	Department ledger.Department
	Key        ledger.Key
	Signer     signing.Signer
	serial     atomic.Uint64
}

// NewDepartment makes a department with a fresh USCC, permission to issue
// TypeCode, and a key valid from a day before the world's now for a year.
func (w *World) NewDepartment(name string) *Dept {
	w.t.Helper()
	uscc := NewUSCC(usccCounter.Add(1))
	d := &Dept{w: w, Department: ledger.Department{USCC: uscc, Name: name, Types: []string{TypeCode}}}
	d.Key, d.Signer = d.NewKey(w.now.Add(-24*time.Hour), w.now.AddDate(1, 0, 0))
	return d
}

// NewKey makes another key for the department (it does not record it, nor
// make it the department's current key).
func (d *Dept) NewKey(validFrom, validUntil time.Time) (ledger.Key, signing.Signer) {
	t := d.w.t
	t.Helper()
	s := newSigner(t)
	cert, err := signing.NewDepartmentCertificate(d.w.root, d.w.rootCert, s.Public(), d.Department.USCC, d.Department.Name, validFrom, validUntil)
	if err != nil {
		t.Fatalf("department certificate: %v", err)
	}
	return ledger.Key{
		Department: d.Department.USCC,
		KeyID:      signing.KeyID(cert.Raw),
		CertDER:    cert.Raw,
		ValidFrom:  validFrom,
		ValidUntil: validUntil,
	}, s
}

// Identifier returns a valid identifier of a TypeCode license of the
// department with the given serial (digits and capital letters).
func (d *Dept) Identifier(serial string) string {
	d.w.t.Helper()
	id, err := license.NewIdentifier(TypeCode, d.Department.USCC, serial, "001")
	if err != nil {
		d.w.t.Fatalf("identifier: %v", err)
	}
	return id.String()
}

// Anchor returns a correctly signed anchor for a new license of the
// department, signed with its current key.
func (d *Dept) Anchor() ledger.Anchor {
	return d.AnchorWith(d.Key.KeyID, d.Signer)
}

// AnchorWith returns an anchor for a new license signed by s and naming key
// keyID.
func (d *Dept) AnchorWith(keyID string, s signing.Signer) ledger.Anchor {
	t := d.w.t
	t.Helper()
	serial := fmt.Sprintf("%d", 20260000000+d.serial.Add(1))
	proofHash, docHash := random(t, ledger.HashSize), random(t, ledger.HashSize)
	sig, err := s.Sign(append(append([]byte(nil), proofHash...), docHash...))
	if err != nil {
		t.Fatalf("sign anchor: %v", err)
	}
	return ledger.Anchor{
		Identifier:   d.Identifier(serial),
		Issuer:       d.Department.USCC,
		TypeCode:     TypeCode,
		KeyID:        keyID,
		ProofHash:    proofHash,
		DocumentHash: docHash,
		Signature:    sig,
		ValidFrom:    d.w.now.Truncate(time.Second),
		ValidUntil:   d.w.now.AddDate(5, 0, 0).Truncate(time.Second),
	}
}

// NewUSCC returns a valid unified social credit code (GB 32100) derived from
// n: registration authority 1, category 1, area 110000, then n in 9 digits and
// the check character.
func NewUSCC(n uint64) string {
	const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	body := fmt.Sprintf("11110000%09d", n%1_000_000_000)
	sum, w := 0, 1
	for i := 0; i < 17; i++ {
		sum += strings.IndexByte(alphabet, body[i]) * w
		w = w * 3 % 31
	}
	return body + string(alphabet[(31-sum%31)%31])
}

func newSigner(t testing.TB) signing.Signer {
	t.Helper()
	k, err := signing.GenerateKey()
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	return signing.NewKeySigner(k)
}

func random(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random: %v", err)
	}
	return b
}

// NextVersion returns a correctly signed anchor for the next version of the
// license prev anchors (its identifier's version +1), naming prev as its
// predecessor with the reason code ("changed" or "renewed").
func (d *Dept) NextVersion(prev ledger.Anchor, reason string) ledger.Anchor {
	t := d.w.t
	t.Helper()
	pid, err := license.ParseIdentifier(prev.Identifier)
	if err != nil {
		t.Fatalf("predecessor identifier: %v", err)
	}
	next, err := pid.Next()
	if err != nil {
		t.Fatalf("next identifier: %v", err)
	}
	a := d.Anchor()
	a.Identifier = next.String()
	a.Predecessor = &ledger.Predecessor{Identifier: prev.Identifier, DocumentHash: bytes.Clone(prev.DocumentHash), Reason: reason}
	return a
}
