package verifiertest

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"zhengzhao/credential"
	"zhengzhao/ledger"
	"zhengzhao/ledger/tlog"
	"zhengzhao/license"
	"zhengzhao/signing"
	"zhengzhao/signing/seal"
	"zhengzhao/verifier"
)

// Fixed times of the world, so that results are reproducible.
var (
	// RootFrom and RootUntil bound the platform root certificate.
	RootFrom  = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	RootUntil = time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC)
	// KeyFrom and KeyUntil bound the department certificates and keys.
	KeyFrom  = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	KeyUntil = time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	// IssuedAt is when licenses are signed and anchored unless told otherwise
	// (the catalog examples' issue date, 10:00 Beijing time).
	IssuedAt = time.Date(2024, 3, 15, 2, 0, 0, 0, time.UTC)
	// Now is the world's present: the bundle's IssuedAt and a good Policy.At.
	Now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
)

// Origin is the log's checkpoint origin.
const Origin = "zhengzhao.test/log"

// PublicURL is the world's platform URL, which status list URLs start with.
const PublicURL = "https://zhengzhao.test"

// World is a complete fake trust world.
type World struct {
	t testing.TB

	// Root is the platform root key; RootCert its certificate.
	Root     signing.Signer
	RootCert *smx509.Certificate
	// Log signs checkpoints of Tree.
	Log  signing.Signer
	Tree *tlog.Tree
	// Departments are two departments: [0] issues the market regulation
	// types, [1] the natural resources and birth certificate types.
	Departments []*Department
	// Statuses are the statuses of licenses not active, by identifier;
	// every bundle made carries them in its status lists (SetStatus).
	Statuses map[string]license.Status
	// ListFrom is when bundles' status lists are signed (default an hour
	// before Now) and ListFor how long they are valid (default 24 h).
	ListFrom time.Time
	ListFor  time.Duration
	// Sequence and ValidUntil go into every bundle made (defaults 1 and a
	// day after Now).
	Sequence   uint64
	ValidUntil time.Time
	// NoPrevious leaves out of bundles the checkpoints of earlier receipts,
	// which bundles otherwise carry (proved consistent with their own), as
	// if each receipt's checkpoint had been published in a bundle.
	NoPrevious bool
	// Compromised goes into every bundle made.
	Compromised []verifier.CompromisedKey

	indexOf map[string]int // identifier → status list index
	// receiptCPs are the checkpoints receipts were made against.
	receiptCPs []string

	serial int
}

// Department is an issuing department of the world with one signing key.
type Department struct {
	USCC  string
	Name  string
	Types []string
	// Signer holds the department key; Cert is its certificate from the root.
	Signer signing.Signer
	Cert   *smx509.Certificate
	KeyID  string
	// Seal is the department's seal, made by the root for its key over
	// KeyFrom..KeyUntil; bundles list it.
	Seal *seal.Seal
	// RevokedFrom, when set, revokes the key in bundles made afterwards.
	RevokedFrom      *time.Time
	RevocationReason string
	// ListSigner is a second key of the department (ListCert, ListKeyID),
	// as after a rotation, that signs the world's status lists: tests may
	// revoke or break the license key and still have usable lists.
	ListSigner signing.Signer
	ListCert   *smx509.Certificate
	ListKeyID  string
}

// License is a license issued in the world.
type License struct {
	Credential *credential.Credential
	// JSON is the credential's bytes as issued.
	JSON []byte
	// Receipt proves the license.anchored event is in the world's log.
	Receipt *ledger.Receipt
	// Document is the credential with its receipt, as issuing hands it out.
	Document []byte
	// Anchor is what the log recorded; AnchoredAt when.
	Anchor     ledger.Anchor
	AnchoredAt time.Time
}

// NewWorld creates the root, two departments registered in the log, and the
// log key. It fails t on any error.
func NewWorld(t testing.TB) *World {
	t.Helper()
	w := &World{t: t, Tree: tlog.NewTree(), Statuses: map[string]license.Status{}, indexOf: map[string]int{},
		ListFrom: Now.Add(-time.Hour), ListFor: 24 * time.Hour, Sequence: 1, ValidUntil: Now.Add(24 * time.Hour)}
	w.Root = w.newSigner()
	cert, err := signing.NewRootCertificate(w.Root, "Zhengzhao Test Platform Root", RootFrom, RootUntil)
	w.check(err)
	w.RootCert = cert
	w.Log = w.newSigner()
	w.Departments = []*Department{
		w.newDepartment("11430100MB1234567", "长沙市市场监督管理局", "11100000000013338W001", "11100000000013338W002"),
		w.newDepartment("11430100MB7654321", "长沙市自然资源和规划局", "11100000000015019B001", "111000000000133027001"),
	}
	return w
}

func (w *World) check(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatalf("verifiertest: %v", err)
	}
}

func (w *World) newSigner() signing.Signer {
	w.t.Helper()
	k, err := signing.GenerateKey()
	w.check(err)
	return signing.NewKeySigner(k)
}

// newDepartment makes a department whose USCC is body plus its check
// character, certifies a fresh key and registers both in the log.
func (w *World) newDepartment(body, name string, types ...string) *Department {
	w.t.Helper()
	d := &Department{USCC: USCC(body), Name: name, Types: types, Signer: w.newSigner()}
	cert, err := signing.NewDepartmentCertificate(w.Root, w.RootCert, d.Signer.Public(), d.USCC, name, KeyFrom, KeyUntil)
	w.check(err)
	d.Cert, d.KeyID = cert, signing.KeyID(cert.Raw)
	d.ListSigner = w.newSigner()
	d.ListCert, err = signing.NewDepartmentCertificate(w.Root, w.RootCert, d.ListSigner.Public(), d.USCC, name, KeyFrom, KeyUntil)
	w.check(err)
	d.ListKeyID = signing.KeyID(d.ListCert.Raw)
	d.Seal = w.MakeSeal(d, w.Root, w.RootCert, KeyFrom, KeyUntil)
	w.append(ledger.Event{
		V: ledger.EventVersion, Kind: ledger.KindDepartmentRegistered, At: KeyFrom,
		Department: &ledger.Department{USCC: d.USCC, Name: name, Types: types},
		Key:        &ledger.Key{Department: d.USCC, KeyID: d.KeyID, CertDER: cert.Raw, ValidFrom: KeyFrom, ValidUntil: KeyUntil},
	})
	return d
}

// USCC returns the 17-character body with its GB 32100 check character.
func USCC(body string) string {
	const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	for i := 0; i < len(alphabet); i++ {
		if s := body + alphabet[i:i+1]; license.ValidateUSCC(s) == nil {
			return s
		}
	}
	panic("verifiertest: no USCC check character for " + body)
}

// append adds an event to the log and returns its canonical bytes and index.
func (w *World) append(e ledger.Event) ([]byte, uint64) {
	w.t.Helper()
	entry, err := e.Canonical()
	w.check(err)
	return entry, w.Tree.Append(entry)
}

// Checkpoint signs the log's current tree head.
func (w *World) Checkpoint() string {
	w.t.Helper()
	note, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: Origin, Size: w.Tree.Size(), Root: w.Tree.Root()}, Origin, w.Log)
	w.check(err)
	return note
}

// Receipt proves the entry at index against the log's current tree head.
func (w *World) Receipt(entry []byte, index uint64) *ledger.Receipt {
	w.t.Helper()
	size := w.Tree.Size()
	proof, err := w.Tree.InclusionProof(index, size)
	w.check(err)
	cp := w.Checkpoint()
	w.receiptCPs = append(w.receiptCPs, cp)
	return &ledger.Receipt{Entry: entry, LogIndex: index, TreeSize: size, InclusionProof: proof, Checkpoint: cp}
}

// IssueOption changes how Issue signs or anchors a license.
type IssueOption func(*issueOptions)

type issueOptions struct {
	signer     signing.Signer
	keyID      string
	signedAt   time.Time
	anchoredAt time.Time
	edit       func(*license.Record)
}

// SignedBy signs with s under key id keyID (of the issuing department)
// instead of the department's own key: a forged or mixed-up signature.
func SignedBy(s signing.Signer, keyID string) IssueOption {
	return func(o *issueOptions) { o.signer, o.keyID = s, keyID }
}

// SignedAt sets the proof creation time (default IssuedAt).
func SignedAt(t time.Time) IssueOption { return func(o *issueOptions) { o.signedAt = t } }

// AnchoredAt sets the time of the license.anchored event (default IssuedAt).
func AnchoredAt(t time.Time) IssueOption { return func(o *issueOptions) { o.anchoredAt = t } }

// EditRecord changes the example record before it is signed.
func EditRecord(f func(*license.Record)) IssueOption { return func(o *issueOptions) { o.edit = f } }

// Issue signs the catalog example record of typeCode as department d,
// anchors it in the log and returns it with its receipt. The department need
// not be allowed to issue the type: tests of that rule need such licenses.
func (w *World) Issue(d *Department, typeCode string, opts ...IssueOption) *License {
	w.t.Helper()
	o := issueOptions{signer: d.Signer, keyID: d.KeyID, signedAt: IssuedAt, anchoredAt: IssuedAt}
	for _, opt := range opts {
		opt(&o)
	}
	typ, ok := license.DefaultCatalog().Type(typeCode)
	if !ok {
		w.t.Fatalf("verifiertest: type %s is not in the default catalog", typeCode)
	}
	rec := typ.Example(d.USCC, d.Name)
	w.serial++
	id, err := license.NewIdentifier(typeCode, d.USCC, fmt.Sprintf("2024%07d", w.serial), "001")
	w.check(err)
	rec.Identifier, rec.Number = id.String(), fmt.Sprintf("2024%07d", w.serial)
	if o.edit != nil {
		o.edit(&rec)
	}
	entry, err := credential.NewStatusListEntry(credential.StatusListURL(PublicURL, d.USCC, 0), w.serial)
	w.check(err)
	c, err := credential.New(rec, d.Name, []credential.StatusListEntry{entry})
	w.check(err)
	w.indexOf[rec.Identifier] = w.serial
	w.check(c.Sign(o.signer, credential.VerificationMethod(d.USCC, o.keyID), o.signedAt))
	raw, err := c.Marshal()
	w.check(err)
	parsed, err := credential.Parse(raw)
	w.check(err)
	proofHash, documentHash, err := parsed.Hashes()
	w.check(err)
	sig, err := parsed.Signature()
	w.check(err)
	a := ledger.Anchor{
		Identifier: rec.Identifier, Issuer: d.USCC, TypeCode: typeCode, KeyID: o.keyID,
		ProofHash: proofHash, DocumentHash: documentHash, Signature: sig,
		ValidFrom: mustTime(w.t, c.ValidFrom),
	}
	if c.ValidUntil != "" {
		a.ValidUntil = mustTime(w.t, c.ValidUntil)
	}
	logEntry, index := w.append(ledger.Event{V: ledger.EventVersion, Kind: ledger.KindLicenseAnchored, At: o.anchoredAt, Anchor: &a})
	rc := w.Receipt(logEntry, index)
	doc, err := json.Marshal(verifier.Document{Credential: raw, Receipt: rc})
	w.check(err)
	return &License{Credential: parsed, JSON: raw, Receipt: rc, Document: doc, Anchor: a, AnchoredAt: ledger.NormalizeTime(o.anchoredAt)}
}

// SetStatus gives the license with the identifier a status in the
// bundles made afterwards.
func (w *World) SetStatus(identifier string, s license.Status) {
	w.t.Helper()
	if _, ok := w.indexOf[identifier]; !ok {
		w.t.Fatalf("verifiertest: SetStatus of %s, not a license of the world", identifier)
	}
	w.Statuses[identifier] = s
}

// StatusLists signs each department's status list 0 as of w.ListFrom.
func (w *World) StatusLists() []verifier.BundleList {
	w.t.Helper()
	var out []verifier.BundleList
	for _, d := range w.Departments {
		bits := credential.NewStatusList()
		for id, st := range w.Statuses {
			parsed, err := license.ParseIdentifier(id)
			w.check(err)
			if parsed.IssuerUSCC != d.USCC {
				continue
			}
			v, ok := credential.ListStatusByCode(string(st))
			if !ok {
				w.t.Fatalf("verifiertest: status %q has no list value", st)
			}
			w.check(bits.Set(w.indexOf[id], v))
		}
		raw, err := credential.NewStatusListCredential(credential.StatusListConfig{
			PublicURL: PublicURL, USCC: d.USCC, IssuerName: d.Name, Number: 0, List: bits,
			Signer: d.ListSigner, KeyID: d.ListKeyID, ValidFrom: w.ListFrom, ValidFor: w.ListFor,
		})
		w.check(err)
		out = append(out, verifier.BundleList{USCC: d.USCC, Number: 0, Credential: raw})
	}
	return out
}

// previous proves each receipt checkpoint consistent with the current tree.
func (w *World) previous() []verifier.PriorCheckpoint {
	w.t.Helper()
	var out []verifier.PriorCheckpoint
	seen := map[string]bool{}
	for _, note := range w.receiptCPs {
		cp, err := tlog.VerifyCheckpoint(note, Origin, w.Log.Public())
		w.check(err)
		if seen[note] || cp.Size == w.Tree.Size() { // the bundle's own tree
			continue
		}
		seen[note] = true
		proof, err := w.Tree.ConsistencyProof(cp.Size, w.Tree.Size())
		w.check(err)
		out = append(out, verifier.PriorCheckpoint{Checkpoint: note, Proof: proof})
	}
	return out
}

// RootFingerprint is the fingerprint a verifier pins for the world's root.
func (w *World) RootFingerprint() string { return verifier.RootFingerprint(w.RootCert.Raw) }

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("verifiertest: time %q: %v", s, err)
	}
	return v
}

// DocumentWith returns l's credential with the given receipt as a Document.
func (w *World) DocumentWith(l *License, rc *ledger.Receipt) []byte {
	w.t.Helper()
	doc, err := json.Marshal(verifier.Document{Credential: l.JSON, Receipt: rc})
	w.check(err)
	return doc
}

// TrustBundle returns the world's bundle, unsigned, as of Now: the root,
// the log key and latest checkpoint, every department with its key, and
// their status lists with Statuses.
func (w *World) TrustBundle() *verifier.TrustBundle {
	w.t.Helper()
	logKey, err := signing.MarshalPublicKey(w.Log.Public())
	w.check(err)
	b := &verifier.TrustBundle{
		Version:     verifier.BundleVersion,
		Sequence:    w.Sequence,
		IssuedAt:    Now,
		ValidUntil:  w.ValidUntil,
		Roots:       []string{string(signing.EncodeCertificatePEM(w.RootCert.Raw))},
		Log:         verifier.LogInfo{Origin: Origin, PublicKey: string(pemPublicKey(logKey))},
		Checkpoint:  w.Checkpoint(),
		Compromised: w.Compromised,
	}
	if !w.NoPrevious {
		b.Previous = w.previous()
	}
	for _, d := range w.Departments {
		b.Departments = append(b.Departments, verifier.Department{
			USCC: d.USCC, Name: d.Name, Types: append([]string{}, d.Types...),
			Keys: []verifier.Key{{
				KeyID:            d.KeyID,
				Certificate:      string(signing.EncodeCertificatePEM(d.Cert.Raw)),
				ValidFrom:        KeyFrom,
				ValidUntil:       KeyUntil,
				RevokedFrom:      d.RevokedFrom,
				RevocationReason: d.RevocationReason,
			}, {
				KeyID:       d.ListKeyID,
				Certificate: string(signing.EncodeCertificatePEM(d.ListCert.Raw)),
				ValidFrom:   KeyFrom,
				ValidUntil:  KeyUntil,
			}},
			Seals: []verifier.Seal{{ID: d.Seal.ID, DER: d.Seal.Raw}},
		})
	}
	b.StatusLists = w.StatusLists()
	return b
}

// SignedBundle returns the world's bundle, changed by edit (if any) before it
// is signed by the root, as the JSON ParseBundle reads.
func (w *World) SignedBundle(edit func(*verifier.TrustBundle)) []byte {
	w.t.Helper()
	b := w.TrustBundle()
	if edit != nil {
		edit(b)
	}
	data, err := b.Sign(w.Root)
	w.check(err)
	return data
}

// Bundle returns the world's signed bundle as ParseBundle reads it, changed
// by edit (if any) before signing.
func (w *World) Bundle(edit func(*verifier.TrustBundle)) *verifier.TrustBundle {
	w.t.Helper()
	b, err := verifier.ParseBundle(w.SignedBundle(edit), verifier.WithRootFingerprint(w.RootFingerprint()))
	w.check(err)
	return b
}

// pemPublicKey wraps PKIX DER in a PEM "PUBLIC KEY" block.
func pemPublicKey(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}
