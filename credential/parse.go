package credential

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"zhengzhao/license"
)

// document is a credential exactly as parsed or signed: its bytes, their
// one parse, and the two proof hashes, computed at most once.
type document struct {
	tree
	// cred is the credential object: the root of a bare credential, a
	// member of an envelope otherwise. proof is its proof member (an
	// object), proofValue the proof's proofValue member (kind null and
	// hasProofValue false if there is none); asParsed is the proof as
	// parsed, whatever is later done to the Credential's. With these the
	// proof functions need no other node, so a canonical credential's tree
	// gives its nodes back once parsed (release).
	cred, proof, proofValue node
	hasProofValue           bool
	asParsed                Proof

	once      sync.Once
	proofHash [32]byte
	docHash   [32]byte

	sigOnce sync.Once
	sig     []byte // r‖s from the proofValue
	sigErr  error
}

// Parse reads a credential from outside input. It is strict:
//
//   - at most MaxSize bytes, holding exactly one JSON object (whitespace
//     around it is allowed, anything else after it is not);
//   - RFC 8259 syntax, valid UTF-8, no lone surrogate escapes, numbers
//     within the double range, nesting at most 64 deep;
//   - no member name twice in any object, at any depth;
//   - @context starting with ContextV2, id "urn:license:…", type holding
//     VerifiableCredential and ElectronicLicense, issuer.id "urn:uscc:…",
//     RFC 3339 validFrom (and validUntil, proof.created if present), a
//     credentialSubject object and a proof object;
//   - members that the Credential type models have the JSON type it expects.
//
// Members the model does not know are accepted and kept in the parsed
// document, so they are covered by Hashes and VerifyProof. Every error is a
// *FormatError wrapping ErrFormat. Parse does not check the proof; call
// VerifyProof.
func Parse(data []byte) (*Credential, error) {
	if len(data) > MaxSize {
		return nil, formatErr("", RuleSize, fmt.Sprintf("%d bytes, at most %d", len(data), MaxSize))
	}
	t, ferr := parseDocument(data)
	if ferr != nil {
		return nil, ferr
	}
	c, err := fromTree(t, t.root, true)
	if err == nil {
		c.doc.releaseIfCanonical()
	}
	return c, err
}

// Member is a member of an envelope other than its credential: its name and
// its JSON as it stands in the input.
type Member struct {
	Name string
	// JSON aliases the input given to ParseEnvelope.
	JSON []byte
}

// ParseEnvelope reads a credential that may come wrapped: a JSON object
// whose member named wrapper holds the credential, beside other members
// (a ledger receipt, say). The envelope is read in the same single pass
// and held to the same JSON rules as the credential; MaxSize bounds the
// whole input. The other members are returned as they are, for the caller
// to check and decode. Without a member named wrapper, data is read as a
// bare credential, exactly as Parse does, and rest is nil.
//
// Errors inside a wrapped credential name their field from the envelope
// ("credential.issuer.id").
func ParseEnvelope(data []byte, wrapper string) (c *Credential, rest []Member, err error) {
	return parseEnvelope(data, wrapper, true)
}

// ParseToVerify is ParseEnvelope for a caller that parses, checks and drops
// a credential within one call, cloning the few strings it keeps
// (verifier.Verify). It accepts and rejects exactly what ParseEnvelope
// does, but saves two costs of every verification:
//
//   - data is not copied: the Credential's strings point into it, so it
//     must not change while the Credential, or any string taken from it, is
//     in use;
//   - Context, Type, CredentialStatus and CredentialSubject.Fields are
//     left nil: their members are checked as always, but not copied into
//     slices and a map that no check reads.
func ParseToVerify(data []byte, wrapper string) (c *Credential, rest []Member, err error) {
	return parseEnvelope(data, wrapper, false)
}

// parseEnvelope is ParseEnvelope (forKeeps) or ParseToVerify.
func parseEnvelope(data []byte, wrapper string, forKeeps bool) (c *Credential, rest []Member, err error) {
	if len(data) > MaxSize {
		return nil, nil, formatErr("", RuleSize, fmt.Sprintf("%d bytes, at most %d", len(data), MaxSize))
	}
	parse := parseShared
	if forKeeps {
		parse = parseDocument
	}
	t, ferr := parse(data)
	if ferr != nil {
		return nil, nil, ferr
	}
	cred := t.member(&t.root, wrapper)
	if cred == nil {
		c, err := fromTree(t, t.root, forKeeps)
		if err == nil {
			c.doc.releaseIfCanonical()
		}
		return c, nil, err
	}
	if cred.kind != kindObject {
		return nil, nil, formatErr(wrapper, RuleType, "want an object, got "+cred.kind.String())
	}
	c, err = fromTree(t, *cred, forKeeps)
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			fe.Field = joinPath(wrapper, fe.Field)
		}
		return nil, nil, err
	}
	items := t.items(&t.root)
	rest = make([]Member, 0, len(items)-1)
	for i := range items {
		if m := &items[i]; m != cred {
			rest = append(rest, Member{Name: t.name(m), JSON: data[m.start:m.end]})
		}
	}
	c.doc.releaseIfCanonical()
	return c, rest, nil
}

// fromTree makes the Credential of the object obj of t; keep as for fill.
func fromTree(t tree, obj node, keep bool) (*Credential, error) {
	// One allocation for the credential, its document and its proof.
	all := &struct {
		c Credential
		d document
		p Proof
	}{d: document{tree: t, cred: obj}}
	c := &all.c
	c.doc, c.Proof = &all.d, &all.p
	d := c.doc
	if ferr := c.fill(&d.tree, &d.cred, keep); ferr != nil {
		return nil, ferr
	}
	// fill made sure of a proof object with string members.
	d.proof, d.asParsed = *d.member(&d.cred, "proof"), *c.Proof
	if pv := d.member(&d.proof, "proofValue"); pv != nil {
		d.proofValue, d.hasProofValue = *pv, true
	}
	return c, nil
}

// releaseIfCanonical gives back the nodes of a credential whose bytes are
// its JCS form: hashing it needs only the spans kept in d. Any other keeps
// its tree, to be serialized.
func (d *document) releaseIfCanonical() {
	if d.cred.flags&flagCanonical != 0 {
		d.release()
	}
}

// fill checks the required members of root and copies the modelled ones
// into c.
// Members no check reads (@context, type, credentialStatus, the subject's
// fields) are copied into c only if keep is set; they are checked either
// way.
func (c *Credential) fill(t *tree, root *node, keep bool) *FormatError {
	var err *FormatError

	// @context
	ctx := t.member(root, "@context")
	if ctx == nil {
		return formatErr("@context", RuleRequired, "")
	}
	if c.Context, err = stringList(t, ctx, "@context", keep); err != nil {
		return err
	}
	if items := t.items(ctx); len(items) == 0 || t.str(&items[0]) != ContextV2 {
		return formatErr("@context[0]", RuleValue, "want "+ContextV2)
	}

	// id
	if c.ID, err = requiredString(t, root, "id", ""); err != nil {
		return err
	}
	if !strings.HasPrefix(c.ID, IDPrefix) || len(c.ID) == len(IDPrefix) {
		return formatErr("id", RuleValue, "want "+IDPrefix+"<identifier>")
	}

	// type
	if c.Type, err = typeMember(t, root, TypeElectronicLicense, keep); err != nil {
		return err
	}

	// issuer
	iss, err := issuerMember(t, root)
	if err != nil {
		return err
	}
	if c.Issuer.ID, err = requiredString(t, iss, "id", "issuer"); err != nil {
		return err
	}
	if !strings.HasPrefix(c.Issuer.ID, IssuerPrefix) || len(c.Issuer.ID) == len(IssuerPrefix) {
		return formatErr("issuer.id", RuleValue, "want "+IssuerPrefix+"<USCC>")
	}
	if c.Issuer.Name, err = optionalString(t, iss, "name", "issuer"); err != nil {
		return err
	}

	// validity
	if c.ValidFrom, err = requiredString(t, root, "validFrom", ""); err != nil {
		return err
	}
	if err = checkDateTime(c.ValidFrom, "validFrom"); err != nil {
		return err
	}
	if c.ValidUntil, err = optionalString(t, root, "validUntil", ""); err != nil {
		return err
	}
	if t.member(root, "validUntil") != nil {
		if err = checkDateTime(c.ValidUntil, "validUntil"); err != nil {
			return err
		}
	}

	// credentialSubject
	subj := t.member(root, "credentialSubject")
	if subj == nil {
		return formatErr("credentialSubject", RuleRequired, "")
	}
	if err = decodeRecord(t, subj, &c.CredentialSubject, keep); err != nil {
		err.Field = joinPath("credentialSubject", err.Field)
		return err
	}

	// credentialStatus
	if st := t.member(root, "credentialStatus"); st != nil {
		if c.CredentialStatus, err = statusList(t, st, keep); err != nil {
			return err
		}
	}

	// proof
	pv := t.member(root, "proof")
	if pv == nil {
		return formatErr("proof", RuleRequired, "")
	}
	if err = proofObject(t, pv, c.Proof); err != nil {
		return err
	}
	return nil
}

func requiredString(t *tree, obj *node, name, parent string) (string, *FormatError) {
	v := t.member(obj, name)
	if v == nil {
		return "", formatErr(joinPath(parent, name), RuleRequired, "")
	}
	if v.kind != kindString {
		return "", formatErr(joinPath(parent, name), RuleType, "want a string, got "+v.kind.String())
	}
	s := t.str(v)
	if s == "" {
		return "", formatErr(joinPath(parent, name), RuleRequired, "empty")
	}
	return s, nil
}

func optionalString(t *tree, obj *node, name, parent string) (string, *FormatError) {
	v := t.member(obj, name)
	if v == nil {
		return "", nil
	}
	if v.kind != kindString {
		return "", formatErr(joinPath(parent, name), RuleType, "want a string, got "+v.kind.String())
	}
	return t.str(v), nil
}

// stringList checks v is an array of strings and, if keep is set, returns
// them.
func stringList(t *tree, v *node, field string, keep bool) ([]string, *FormatError) {
	if v.kind != kindArray {
		return nil, formatErr(field, RuleType, "want an array, got "+v.kind.String())
	}
	items := t.items(v)
	var out []string
	if keep {
		out = make([]string, len(items))
	}
	for i := range items {
		if items[i].kind != kindString {
			return nil, formatErr(field+"["+strconv.Itoa(i)+"]", RuleType, "want a string, got "+items[i].kind.String())
		}
		if keep {
			out[i] = t.str(&items[i])
		}
	}
	return out, nil
}

// hasString reports whether the array of strings v holds s.
func hasString(t *tree, v *node, s string) bool {
	items := t.items(v)
	for i := range items {
		if t.str(&items[i]) == s {
			return true
		}
	}
	return false
}

func checkDateTime(s, field string) *FormatError {
	if _, err := time.Parse(time.RFC3339, s); err != nil {
		return &FormatError{Field: field, Rule: RuleDate, Detail: "want an RFC 3339 date-time", Err: err}
	}
	return nil
}

func statusList(t *tree, v *node, keep bool) ([]StatusListEntry, *FormatError) {
	if v.kind != kindArray {
		return nil, formatErr("credentialStatus", RuleType, "want an array, got "+v.kind.String())
	}
	entries := t.items(v)
	// The entries are always kept: a verifier looks each up in its list.
	// Their statusMessage is copied only if keep is set.
	out := make([]StatusListEntry, len(entries))
	for i := range entries {
		var err *FormatError
		if out[i], err = decodeStatusListEntry(t, &entries[i], "", keep); err != nil {
			err.Field = joinPath("credentialStatus["+strconv.Itoa(i)+"]", err.Field) // built only on error
			return nil, err
		}
	}
	return out, nil
}

// checkStatusMessages checks in place that a statusMessage array is
// exactly the fixed table.
func checkStatusMessages(t *tree, v *node, field string) *FormatError {
	if v.kind != kindArray {
		return formatErr(field, RuleType, "want an array, got "+v.kind.String())
	}
	items := t.items(v)
	if len(items) != len(wantMessages) {
		return formatErr(field, RuleValue, strconv.Itoa(len(items))+" values, want "+strconv.Itoa(len(wantMessages)))
	}
	at := func(i int) string { return field + "[" + strconv.Itoa(i) + "]" } // for errors
	for i := range items {
		if items[i].kind != kindObject {
			return formatErr(at(i), RuleType, "want an object, got "+items[i].kind.String())
		}
		var msg StatusMessage
		for _, m := range t.items(&items[i]) {
			if m.kind != kindString {
				return formatErr(at(i)+"."+t.name(&m), RuleType, "want a string")
			}
			switch t.name(&m) {
			case "status":
				msg.Status = t.str(&m)
			case "message":
				msg.Message = t.str(&m)
			}
		}
		if msg != wantMessages[i] {
			return formatErr(at(i), RuleValue, "want {"+wantMessages[i].Status+" "+wantMessages[i].Message+"}")
		}
	}
	return nil
}

func proofObject(t *tree, v *node, p *Proof) *FormatError {
	if v.kind != kindObject {
		return formatErr("proof", RuleType, "want an object, got "+v.kind.String())
	}
	members := t.items(v)
	for j := range members {
		m := &members[j]
		var dst *string
		name := t.name(m)
		switch name {
		case "type":
			dst = &p.Type
		case "cryptosuite":
			dst = &p.Cryptosuite
		case "verificationMethod":
			dst = &p.VerificationMethod
		case "created":
			dst = &p.Created
		case "proofPurpose":
			dst = &p.ProofPurpose
		case "proofValue":
			dst = &p.ProofValue
		default:
			continue
		}
		if m.kind != kindString {
			return formatErr("proof."+name, RuleType, "want a string, got "+m.kind.String())
		}
		*dst = t.str(m)
	}
	if t.member(v, "created") != nil {
		if err := checkDateTime(p.Created, "proof.created"); err != nil {
			return err
		}
	}
	return nil
}

// recordString returns the string field of rec that the credentialSubject
// member name decodes into, or nil if name is not one. A switch, not
// reflection: it runs for every member of every credential verified.
// TestRecordMembers checks it covers every string field of license.Record
// by its json name, so a field added there fails the test until added here.
func recordString(rec *license.Record, name string) *string {
	switch name {
	case "name":
		return &rec.Name
	case "typeCode":
		return &rec.TypeCode
	case "number":
		return &rec.Number
	case "identifier":
		return &rec.Identifier
	case "holder":
		return &rec.Holder
	case "holderCode":
		return &rec.HolderCode
	case "holderCodeType":
		return &rec.HolderCodeType
	case "issuer":
		return &rec.Issuer
	case "issuerCode":
		return &rec.IssuerCode
	case "issueDate":
		return &rec.IssueDate
	case "validFrom":
		return &rec.ValidFrom
	case "validUntil":
		return &rec.ValidUntil
	case "jurisdiction":
		return &rec.Jurisdiction
	}
	return nil
}

// recordFieldsMember is the credentialSubject member holding
// license.Record.Fields.
const recordFieldsMember = "fields"

// recordTypeVersionMember is the credentialSubject member holding
// license.Record.TypeVersion, a positive integer.
const recordTypeVersionMember = "typeVersion"

// decodeRecord copies a credentialSubject object into rec. Names match
// exactly (encoding/json would also take "Name" for "name", which would let
// two spellings of one field through). null leaves a field at its zero
// value; members that are not fields of a Record are kept only in the
// parsed document.
func decodeRecord(t *tree, v *node, rec *license.Record, keepFields bool) *FormatError {
	if v.kind != kindObject {
		return formatErr("", RuleType, "want an object, got "+v.kind.String())
	}
	members := t.items(v)
	for i := range members {
		m := &members[i]
		if m.kind == kindNull {
			continue
		}
		name := t.name(m)
		if dst := recordString(rec, name); dst != nil {
			if m.kind != kindString {
				return formatErr(pathName(name), RuleType, "want a string, got "+m.kind.String())
			}
			*dst = t.str(m)
			continue
		}
		if name == recordTypeVersionMember {
			if m.kind != kindNumber {
				return formatErr(pathName(name), RuleType, "want a number, got "+m.kind.String())
			}
			n, err := strconv.Atoi(t.str(m)) // the JCS text: "2", never "2.0"
			if err != nil || n < 1 {
				return formatErr(pathName(name), RuleValue, "want a positive integer")
			}
			rec.TypeVersion = n
			continue
		}
		if name != recordFieldsMember {
			continue
		}
		if m.kind != kindObject {
			return formatErr(pathName(name), RuleType, "want an object, got "+m.kind.String())
		}
		entries := t.items(m)
		if keepFields {
			rec.Fields = make(map[string]string, len(entries))
		}
		for j := range entries {
			e := &entries[j]
			if e.kind != kindString {
				return formatErr(pathName(name)+"."+pathName(t.name(e)), RuleType, "want a string, got "+e.kind.String())
			}
			if keepFields {
				rec.Fields[t.name(e)] = t.str(e)
			}
		}
	}
	return nil
}

// typeMember checks the root's type: a list of strings holding
// VerifiableCredential and second, copied only if keep is set.
func typeMember(t *tree, root *node, second string, keep bool) ([]string, *FormatError) {
	typ := t.member(root, "type")
	if typ == nil {
		return nil, formatErr("type", RuleRequired, "")
	}
	list, err := stringList(t, typ, "type", keep)
	if err != nil {
		return nil, err
	}
	if !hasString(t, typ, TypeCredential) || !hasString(t, typ, second) {
		return nil, formatErr("type", RuleValue, "want "+TypeCredential+" and "+second)
	}
	return list, nil
}

// issuerMember returns the root's issuer object.
func issuerMember(t *tree, root *node) (*node, *FormatError) {
	iss := t.member(root, "issuer")
	if iss == nil {
		return nil, formatErr("issuer", RuleRequired, "")
	}
	if iss.kind != kindObject {
		return nil, formatErr("issuer", RuleType, "want an object, got "+iss.kind.String())
	}
	return iss, nil
}
