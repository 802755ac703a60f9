package credential

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"zhengzhao/license"
	"zhengzhao/signing"
)

// Names fixed by the W3C VC Data Model 2.0, VC Data Integrity and this
// cryptosuite.
const (
	// Cryptosuite is the identifier of the SM2/SM3/JCS Data Integrity
	// cryptosuite specified in docs/sm2-jcs-2026.md.
	Cryptosuite = "sm2-jcs-2026"
	// ContextV2 is the base context of a VC 2.0 credential; it must be the
	// first @context entry.
	ContextV2 = "https://www.w3.org/ns/credentials/v2"
	// TypeCredential and TypeElectronicLicense are the two types every
	// Zhengzhao credential carries.
	TypeCredential        = "VerifiableCredential"
	TypeElectronicLicense = "ElectronicLicense"
	// ProofType is the proof type of VC Data Integrity.
	ProofType = "DataIntegrityProof"
	// ProofPurpose is the only proof purpose an issuer's proof may have.
	ProofPurpose = "assertionMethod"
	// StatusEntryType is the type of every credentialStatus entry.
	StatusEntryType = "BitstringStatusListEntry"
	// IDPrefix prefixes the license identifier in the credential id.
	IDPrefix = "urn:license:"
	// IssuerPrefix prefixes the issuing department's USCC in issuer.id and
	// in verification method ids.
	IssuerPrefix = "urn:uscc:"
)

// MaxSize is the largest credential, in bytes, that Parse accepts and
// Marshal produces.
const MaxSize = 1 << 20

// timeLayout is how this package writes validFrom, validUntil and
// proof.created: RFC 3339 in UTC with a "Z" and whole seconds.
const timeLayout = "2006-01-02T15:04:05Z"

// Issuer is the issuing department.
type Issuer struct {
	// ID is "urn:uscc:" + the department's USCC.
	ID string `json:"id"`
	// Name is the department's name.
	Name string `json:"name"`
}

// Proof is a VC Data Integrity proof using the sm2-jcs-2026 cryptosuite.
type Proof struct {
	// Type is ProofType.
	Type string `json:"type,omitempty"`
	// Cryptosuite is Cryptosuite.
	Cryptosuite string `json:"cryptosuite,omitempty"`
	// VerificationMethod names the signing key, see VerificationMethod.
	VerificationMethod string `json:"verificationMethod,omitempty"`
	// Created is when the proof was made, RFC 3339 UTC.
	Created string `json:"created,omitempty"`
	// ProofPurpose is ProofPurpose.
	ProofPurpose string `json:"proofPurpose,omitempty"`
	// ProofValue is "z" + base58btc(r‖s).
	ProofValue string `json:"proofValue,omitempty"`
}

// Credential is a W3C Verifiable Credential 2.0 carrying one electronic
// license record.
//
// A Credential made by Parse or Sign remembers the exact document it came
// from: Hashes, VerifyProof and Signature work on that document, so a change
// to the exported fields afterwards is not seen by them until the next Sign.
type Credential struct {
	Context           []string          `json:"@context"`
	ID                string            `json:"id"`
	Type              []string          `json:"type"`
	Issuer            Issuer            `json:"issuer"`
	ValidFrom         string            `json:"validFrom"`
	ValidUntil        string            `json:"validUntil,omitempty"`
	CredentialSubject license.Record    `json:"credentialSubject"`
	CredentialStatus  []StatusListEntry `json:"credentialStatus,omitempty"`
	Proof             *Proof            `json:"proof,omitempty"`

	doc *document // the parsed or signed document; nil for a fresh New
}

// New builds the unsigned credential for a license record issued by the
// department issuerName. validFrom is rec.ValidFrom at 00:00:00 and
// validUntil is rec.ValidUntil at 23:59:59 China time (UTC+8), both written
// in UTC ("2025-01-01" → "2024-12-31T16:00:00Z"); validUntil is omitted when
// rec.ValidUntil is empty (长期, no expiry). The record and status entries
// are copied.
func New(rec license.Record, issuerName string, status []StatusListEntry) (*Credential, error) {
	id, err := license.ParseIdentifier(rec.Identifier)
	if err != nil {
		return nil, &FormatError{Field: "credentialSubject.identifier", Rule: RuleValue, Err: err}
	}
	if err := license.ValidateUSCC(rec.IssuerCode); err != nil {
		return nil, &FormatError{Field: "credentialSubject.issuerCode", Rule: RuleValue, Err: err}
	}
	if id.IssuerUSCC != rec.IssuerCode {
		return nil, formatErr("credentialSubject.issuerCode", RuleValue, "differs from the issuer code in the identifier")
	}
	if strings.TrimSpace(issuerName) == "" {
		return nil, formatErr("issuer.name", RuleRequired, "the issuing department's name is empty")
	}
	from, err := time.ParseInLocation(time.DateOnly, rec.ValidFrom, license.ChinaTime)
	if err != nil {
		return nil, &FormatError{Field: "credentialSubject.validFrom", Rule: RuleDate, Detail: "want YYYY-MM-DD", Err: err}
	}
	c := &Credential{
		Context:           []string{ContextV2},
		ID:                IDPrefix + rec.Identifier,
		Type:              []string{TypeCredential, TypeElectronicLicense},
		Issuer:            Issuer{ID: IssuerPrefix + rec.IssuerCode, Name: issuerName},
		ValidFrom:         from.UTC().Format(timeLayout),
		CredentialSubject: rec,
	}
	if rec.ValidUntil != "" {
		until, err := time.ParseInLocation(time.DateOnly, rec.ValidUntil, license.ChinaTime)
		if err != nil {
			return nil, &FormatError{Field: "credentialSubject.validUntil", Rule: RuleDate, Detail: "want YYYY-MM-DD", Err: err}
		}
		if until.Before(from) {
			return nil, formatErr("credentialSubject.validUntil", RuleValue, "before validFrom")
		}
		c.ValidUntil = until.Add(24*time.Hour - time.Second).UTC().Format(timeLayout)
	}
	for i, s := range status {
		if err := s.Validate(); err != nil {
			var fe *FormatError
			if errors.As(err, &fe) {
				fe.Field = joinPath("credentialStatus["+strconv.Itoa(i)+"]", fe.Field)
			}
			return nil, err
		}
	}
	c.CredentialSubject.Fields = maps.Clone(rec.Fields)
	c.CredentialStatus = slices.Clone(status)
	return c, nil
}

func isDecimal(s string) bool {
	if s == "" || len(s) > 19 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Signed is what signing a credential made, in the forms issuing needs,
// so that nothing is serialized or parsed again: the canonical bytes to
// store, seal and hand out, and what the ledger anchors.
type Signed struct {
	// Canonical is the signed credential's RFC 8785 JCS bytes (what
	// Marshal returns).
	Canonical []byte
	// ProofHash and DocumentHash are the two SM3 digests the proof signs
	// (see Hashes).
	ProofHash, DocumentHash []byte
	// Signature is the SM2 signature r‖s, 64 bytes.
	Signature []byte
	// Created is proof.created; ValidFrom and ValidUntil are validFrom and
	// validUntil, all in UTC. ValidUntil is zero for a credential without
	// an end (长期).
	Created, ValidFrom, ValidUntil time.Time
}

// Sign adds the sm2-jcs-2026 proof: it sets Proof to
// {type, cryptosuite, verificationMethod, created, proofPurpose}, signs
// SM3(JCS(that proof)) ‖ SM3(JCS(credential without proof)) with s, and
// stores the signature in Proof.ProofValue. created is written in UTC with
// whole seconds. On error c is unchanged.
func (c *Credential) Sign(s signing.Signer, verificationMethod string, created time.Time) error {
	_, err := c.SignCanonical(s, verificationMethod, created)
	return err
}

// SignCanonical is Sign that also returns what it made: the canonical bytes,
// the two digests, the signature and the times. Issuing reads these instead
// of marshalling and parsing the credential again.
func (c *Credential) SignCanonical(s signing.Signer, verificationMethod string, created time.Time) (*Signed, error) {
	if s == nil {
		return nil, fmt.Errorf("credential: sign: no signer")
	}
	if verificationMethod == "" {
		return nil, formatErr("proof.verificationMethod", RuleRequired, "")
	}
	if created.IsZero() {
		return nil, formatErr("proof.created", RuleRequired, "")
	}
	out := &Signed{Created: created.UTC().Truncate(time.Second)}
	signed := *c
	signed.doc = nil
	signed.Proof = &Proof{
		Type:               ProofType,
		Cryptosuite:        Cryptosuite,
		VerificationMethod: verificationMethod,
		Created:            out.Created.Format(timeLayout),
		ProofPurpose:       ProofPurpose,
	}
	// Hash exactly what a verifier will hash: the document, parsed by the
	// rules Parse enforces.
	unsigned, err := signed.marshalDocument()
	if err != nil {
		return nil, err
	}
	hashData := unsigned.hashData()
	// Parse checked both times' form.
	if out.ValidFrom, err = time.Parse(timeLayout, c.ValidFrom); err != nil {
		unsigned.release()
		return nil, &FormatError{Field: "validFrom", Rule: RuleDate, Err: err}
	}
	if c.ValidUntil != "" {
		if out.ValidUntil, err = time.Parse(timeLayout, c.ValidUntil); err != nil {
			unsigned.release()
			return nil, &FormatError{Field: "validUntil", Rule: RuleDate, Err: err}
		}
	}
	sig, err := s.Sign(hashData[:])
	if err != nil {
		unsigned.release()
		return nil, fmt.Errorf("credential: sign: %w", err)
	}
	if len(sig) != signatureSize {
		unsigned.release()
		return nil, fmt.Errorf("credential: sign: signer returned %d bytes, want %d", len(sig), signatureSize)
	}
	signed.Proof.ProofValue = encodeProofValue(sig)
	// The signed document is the unsigned one with proof.proofValue: its
	// JCS is written from the unsigned tree with the member added in its
	// place (a base58 string has nothing to escape). Its digests leave out
	// proofValue, so they are the unsigned document's.
	pv := appendJCSString(make([]byte, 0, len(signed.Proof.ProofValue)+2), signed.Proof.ProofValue)
	out.Canonical = unsigned.appendJCSInserting(make([]byte, 0, len(unsigned.in)+len(pv)+16), &unsigned.cred, &unsigned.proof, "proofValue", pv)
	unsigned.release()
	if len(out.Canonical) > MaxSize {
		return nil, formatErr("", RuleSize, fmt.Sprintf("%d bytes, at most %d", len(out.Canonical), MaxSize))
	}
	d := canonicalDocument(bytes.Clone(out.Canonical), signed.Proof, unsigned.proofHash, unsigned.docHash)
	out.ProofHash, out.DocumentHash = bytes.Clone(hashData[:32]), bytes.Clone(hashData[32:])
	out.Signature = sig
	signed.doc = d
	*c = signed
	return out, nil
}

// canonicalDocument is the document of a credential just signed: its JCS
// bytes (which must not change), its proof and the two digests the proof
// signs. It is what Parse of those bytes makes once it has given its nodes
// back (releaseIfCanonical), the digests already taken, without the parse:
// the proof functions read only these.
func canonicalDocument(canonical []byte, proof *Proof, proofHash, docHash [32]byte) *document {
	d := &document{
		tree:     tree{in: unsafe.String(unsafe.SliceData(canonical), len(canonical)), buf: canonical},
		cred:     node{kind: kindObject, flags: flagCanonical, start: 0, end: uint32(len(canonical))},
		asParsed: *proof,
	}
	d.once.Do(func() { d.proofHash, d.docHash = proofHash, docHash })
	return d
}

// encode is the JSON of c as encoding/json writes it: not canonical.
func (c *Credential) encode() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("credential: marshal: %w", err)
	}
	return buf.Bytes(), nil
}

// Marshal returns the credential's canonical bytes: RFC 8785 JCS of its
// JSON. These are the bytes that are stored, anchored and handed out.
// Members that Parse accepted but the Credential type does not model are
// not kept, so a proof over them no longer verifies.
func (c *Credential) Marshal() ([]byte, error) {
	buf, err := c.encode()
	if err != nil {
		return nil, err
	}
	t, ferr := parseShared(buf)
	if ferr != nil {
		return nil, fmt.Errorf("credential: marshal: %w", ferr)
	}
	out := t.appendJCS(nil, &t.root)
	t.release()
	if len(out) > MaxSize {
		return nil, formatErr("", RuleSize, fmt.Sprintf("%d bytes, at most %d", len(out), MaxSize))
	}
	return out, nil
}

// marshalDocument marshals c and parses the result, so that it passes
// every rule Parse enforces and hashes exactly as a verifier will.
func (c *Credential) marshalDocument() (*document, error) {
	buf, err := c.encode()
	if err != nil {
		return nil, err
	}
	if len(buf) > 2*MaxSize {
		return nil, formatErr("", RuleSize, fmt.Sprintf("%d bytes, at most %d", len(buf), MaxSize))
	}
	t, ferr := parseShared(buf)
	if ferr != nil {
		return nil, ferr
	}
	parsed, err := fromTree(t, t.root, true)
	if err != nil {
		t.release()
		return nil, err
	}
	return parsed.doc, nil
}

// Identifier returns the license identifier: ID without "urn:license:".
func (c *Credential) Identifier() string {
	return strings.TrimPrefix(c.ID, IDPrefix)
}

// VerificationMethod returns the id of a department's signing key:
// "urn:uscc:<USCC>#<keyID>", keyID as made by signing.KeyID.
func VerificationMethod(uscc, keyID string) string {
	return IssuerPrefix + uscc + "#" + keyID
}

// ParseVerificationMethod splits a verification method id made by
// VerificationMethod and checks the USCC and the key id (16 lower-case hex
// digits).
func ParseVerificationMethod(vm string) (uscc, keyID string, err error) {
	const field = "proof.verificationMethod"
	rest, ok := strings.CutPrefix(vm, IssuerPrefix)
	if !ok {
		return "", "", formatErr(field, RuleValue, "want urn:uscc:<USCC>#<keyID>")
	}
	uscc, keyID, ok = strings.Cut(rest, "#")
	if !ok {
		return "", "", formatErr(field, RuleValue, "want urn:uscc:<USCC>#<keyID>")
	}
	if err := license.ValidateUSCC(uscc); err != nil {
		return "", "", &FormatError{Field: field, Rule: RuleValue, Detail: "bad USCC", Err: err}
	}
	if len(keyID) != 16 || strings.Trim(keyID, "0123456789abcdef") != "" {
		return "", "", formatErr(field, RuleValue, "key id must be 16 lower-case hex digits")
	}
	return uscc, keyID, nil
}

// List names the status list an entry points into: the department's USCC
// and the list number n of {public URL}/status/{USCC}/message/{n}.
func (e StatusListEntry) List() (uscc string, n int, err error) {
	uscc, n, ferr := parseListURL(e.StatusListCredential, "statusListCredential")
	if ferr != nil {
		return "", 0, ferr
	}
	return uscc, n, nil
}
