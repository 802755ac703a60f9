package credential

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"zhengzhao/license"
)

// document is a credential exactly as parsed or signed: its bytes, their
// one parse, and the two proof hashes, computed at most once.
type document struct {
	raw string
	tree

	once      sync.Once
	proofHash [32]byte
	docHash   [32]byte
	hashErr   error
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
	raw := string(data) // our own copy; the parse tree points into it
	t, ferr := parseDocument(raw)
	if ferr != nil {
		return nil, ferr
	}
	c := &Credential{}
	if ferr := c.fill(&t.root); ferr != nil {
		return nil, ferr
	}
	c.doc = &document{raw: raw, tree: t}
	return c, nil
}

// fill checks the required members of root and copies the modelled ones
// into c.
func (c *Credential) fill(root *value) *FormatError {
	var err *FormatError

	// @context
	ctx, ok := root.member("@context")
	if !ok {
		return formatErr("@context", RuleRequired, "")
	}
	if c.Context, err = stringList(ctx, "@context"); err != nil {
		return err
	}
	if len(c.Context) == 0 || c.Context[0] != ContextV2 {
		return formatErr("@context[0]", RuleValue, "want "+ContextV2)
	}

	// id
	if c.ID, err = requiredString(root, "id", ""); err != nil {
		return err
	}
	if !strings.HasPrefix(c.ID, IDPrefix) || len(c.ID) == len(IDPrefix) {
		return formatErr("id", RuleValue, "want "+IDPrefix+"<identifier>")
	}

	// type
	typ, ok := root.member("type")
	if !ok {
		return formatErr("type", RuleRequired, "")
	}
	if c.Type, err = stringList(typ, "type"); err != nil {
		return err
	}
	if !slices.Contains(c.Type, TypeCredential) || !slices.Contains(c.Type, TypeElectronicLicense) {
		return formatErr("type", RuleValue, "want "+TypeCredential+" and "+TypeElectronicLicense)
	}

	// issuer
	iss, ok := root.member("issuer")
	if !ok {
		return formatErr("issuer", RuleRequired, "")
	}
	if iss.kind != kindObject {
		return formatErr("issuer", RuleType, "want an object, got "+iss.kind.String())
	}
	if c.Issuer.ID, err = requiredString(iss, "id", "issuer"); err != nil {
		return err
	}
	if !strings.HasPrefix(c.Issuer.ID, IssuerPrefix) || len(c.Issuer.ID) == len(IssuerPrefix) {
		return formatErr("issuer.id", RuleValue, "want "+IssuerPrefix+"<USCC>")
	}
	if c.Issuer.Name, err = optionalString(iss, "name", "issuer"); err != nil {
		return err
	}

	// validity
	if c.ValidFrom, err = requiredString(root, "validFrom", ""); err != nil {
		return err
	}
	if err = checkDateTime(c.ValidFrom, "validFrom"); err != nil {
		return err
	}
	if c.ValidUntil, err = optionalString(root, "validUntil", ""); err != nil {
		return err
	}
	if _, ok := root.member("validUntil"); ok {
		if err = checkDateTime(c.ValidUntil, "validUntil"); err != nil {
			return err
		}
	}

	// credentialSubject
	subj, ok := root.member("credentialSubject")
	if !ok {
		return formatErr("credentialSubject", RuleRequired, "")
	}
	if err = decodeRecord(subj, &c.CredentialSubject); err != nil {
		err.Field = joinPath("credentialSubject", err.Field)
		return err
	}

	// credentialStatus
	if st, ok := root.member("credentialStatus"); ok {
		if c.CredentialStatus, err = statusList(st); err != nil {
			return err
		}
	}

	// proof
	pv, ok := root.member("proof")
	if !ok {
		return formatErr("proof", RuleRequired, "")
	}
	if c.Proof, err = proofObject(pv); err != nil {
		return err
	}
	return nil
}

func requiredString(obj *value, name, parent string) (string, *FormatError) {
	v, ok := obj.member(name)
	if !ok {
		return "", formatErr(joinPath(parent, name), RuleRequired, "")
	}
	if v.kind != kindString {
		return "", formatErr(joinPath(parent, name), RuleType, "want a string, got "+v.kind.String())
	}
	if v.str == "" {
		return "", formatErr(joinPath(parent, name), RuleRequired, "empty")
	}
	return v.str, nil
}

func optionalString(obj *value, name, parent string) (string, *FormatError) {
	v, ok := obj.member(name)
	if !ok {
		return "", nil
	}
	if v.kind != kindString {
		return "", formatErr(joinPath(parent, name), RuleType, "want a string, got "+v.kind.String())
	}
	return v.str, nil
}

func stringList(v *value, field string) ([]string, *FormatError) {
	if v.kind != kindArray {
		return nil, formatErr(field, RuleType, "want an array, got "+v.kind.String())
	}
	out := make([]string, len(v.items))
	for i := range v.items {
		if v.items[i].val.kind != kindString {
			return nil, formatErr(field+"["+strconv.Itoa(i)+"]", RuleType, "want a string, got "+v.items[i].val.kind.String())
		}
		out[i] = v.items[i].val.str
	}
	return out, nil
}

func checkDateTime(s, field string) *FormatError {
	if _, err := time.Parse(time.RFC3339, s); err != nil {
		return &FormatError{Field: field, Rule: RuleDate, Detail: "want an RFC 3339 date-time", Err: err}
	}
	return nil
}

func statusList(v *value) ([]StatusEntry, *FormatError) {
	if v.kind != kindArray {
		return nil, formatErr("credentialStatus", RuleType, "want an array, got "+v.kind.String())
	}
	out := make([]StatusEntry, len(v.items))
	for i := range v.items {
		parent := "credentialStatus[" + strconv.Itoa(i) + "]"
		e := &v.items[i].val
		if e.kind != kindObject {
			return nil, formatErr(parent, RuleType, "want an object, got "+e.kind.String())
		}
		for j := range e.items {
			m := &e.items[j]
			var dst *string
			switch m.name {
			case "id":
				dst = &out[i].ID
			case "type":
				dst = &out[i].Type
			case "statusPurpose":
				dst = &out[i].StatusPurpose
			case "statusListIndex":
				dst = &out[i].StatusListIndex
			case "statusListCredential":
				dst = &out[i].StatusListCredential
			default:
				continue
			}
			if m.val.kind != kindString {
				return nil, formatErr(parent+"."+m.name, RuleType, "want a string, got "+m.val.kind.String())
			}
			*dst = m.val.str
		}
	}
	return out, nil
}

func proofObject(v *value) (*Proof, *FormatError) {
	if v.kind != kindObject {
		return nil, formatErr("proof", RuleType, "want an object, got "+v.kind.String())
	}
	p := &Proof{}
	for j := range v.items {
		m := &v.items[j]
		var dst *string
		switch m.name {
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
		if m.val.kind != kindString {
			return nil, formatErr("proof."+m.name, RuleType, "want a string, got "+m.val.kind.String())
		}
		*dst = m.val.str
	}
	if _, ok := v.member("created"); ok {
		if err := checkDateTime(p.Created, "proof.created"); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// recordField is how one member of credentialSubject maps onto
// license.Record, read from its json tags once so that fields the license
// package adds later are decoded without a change here.
type recordField struct {
	index []int
	kind  reflect.Kind // String, Map (a map[string]string) or Invalid (anything else)
}

var recordFields = sync.OnceValue(func() map[string]recordField {
	t := reflect.TypeFor[license.Record]()
	fields := make(map[string]recordField, t.NumField())
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		k := reflect.Invalid
		switch {
		case f.Type.Kind() == reflect.String:
			k = reflect.String
		case f.Type.Kind() == reflect.Map && reflect.TypeFor[map[string]string]().ConvertibleTo(f.Type):
			k = reflect.Map
		}
		fields[name] = recordField{index: f.Index, kind: k}
	}
	return fields
})

// decodeRecord copies a credentialSubject object into rec. Names match
// exactly (encoding/json would also take "Name" for "name", which would let
// two spellings of one field through). null leaves a field at its zero value.
func decodeRecord(v *value, rec *license.Record) *FormatError {
	if v.kind != kindObject {
		return formatErr("", RuleType, "want an object, got "+v.kind.String())
	}
	fields := recordFields()
	rv := reflect.ValueOf(rec).Elem()
	for i := range v.items {
		m := &v.items[i]
		f, ok := fields[m.name]
		if !ok || m.val.kind == kindNull {
			continue
		}
		dst := rv.FieldByIndex(f.index)
		switch f.kind {
		case reflect.String:
			if m.val.kind != kindString {
				return formatErr(pathName(m.name), RuleType, "want a string, got "+m.val.kind.String())
			}
			dst.SetString(m.val.str)
		case reflect.Map:
			if m.val.kind != kindObject {
				return formatErr(pathName(m.name), RuleType, "want an object, got "+m.val.kind.String())
			}
			mp := make(map[string]string, len(m.val.items))
			for j := range m.val.items {
				e := &m.val.items[j]
				if e.val.kind != kindString {
					return formatErr(pathName(m.name)+"."+pathName(e.name), RuleType, "want a string, got "+e.val.kind.String())
				}
				mp[e.name] = e.val.str
			}
			dst.Set(reflect.ValueOf(mp).Convert(dst.Type()))
		default:
			// A field type this decoder does not special-case: hand its
			// canonical JSON to encoding/json (no duplicates can remain).
			if err := json.Unmarshal(appendJCS(nil, &m.val), dst.Addr().Interface()); err != nil {
				return &FormatError{Field: pathName(m.name), Rule: RuleType, Err: err}
			}
		}
	}
	return nil
}
