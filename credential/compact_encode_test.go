package credential

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/fxamacker/cbor/v2"

	"zhengzhao/license"
	"zhengzhao/signing"
)

// refEncodeCompact is EncodeCompact as it was before its CBOR was written
// by hand and the parse-back dropped: every part through the CBOR library,
// the result parsed back with ParseCompact. EncodeCompact must match it
// byte for byte, error for error.
func refEncodeCompact(c *Credential, s signing.Signer, keyID string, issuedAt time.Time) (string, error) {
	if c.Proof == nil || c.Proof.ProofValue == "" {
		return "", formatErr("proof", RuleRequired, "sign the credential before making its compact form")
	}
	kid, err := decodeKeyID(keyID)
	if err != nil {
		return "", err
	}
	if issuedAt.IsZero() {
		return "", formatErr("cwt.iat", RuleRequired, "")
	}
	iss, ok := strings.CutPrefix(c.Issuer.ID, IssuerPrefix)
	if !ok {
		return "", formatErr("issuer.id", RuleValue, "want "+IssuerPrefix+"<USCC>")
	}
	list, index, ferr := compactStatus(c.CredentialStatus)
	if ferr != nil {
		return "", ferr
	}
	subj := &c.CredentialSubject
	iat := issuedAt.Unix()
	claims := cwtClaims{
		Iss: iss, Iat: &iat, Identifier: c.Identifier(), TypeCode: subj.TypeCode, TypeName: subj.Name,
		Holder: subj.Holder, HolderCode: MaskHolderCode(subj.HolderCode), StatusIndex: &index,
	}
	if c.Issuer.Name != "" {
		claims.IssuerName = &c.Issuer.Name
	}
	if list != 0 {
		claims.StatusList = &list
	}
	if c.ValidUntil != "" {
		until, err := time.Parse(timeLayout, c.ValidUntil)
		if err != nil {
			return "", &FormatError{Field: "validUntil", Rule: RuleDate, Err: err}
		}
		exp := until.Unix()
		claims.Exp = &exp
	}
	protected, err := encMode.Marshal(protectedHeader{Alg: AlgSM2SM3, Kid: kid})
	if err != nil {
		return "", err
	}
	payload, err := encMode.Marshal(claims)
	if err != nil {
		return "", err
	}
	if ferr := new(Compact).readClaims(payload); ferr != nil {
		return "", ferr
	}
	toSign, err := encMode.Marshal([]any{sigContext, protected, []byte{}, payload})
	if err != nil {
		return "", err
	}
	sig, err := s.Sign(toSign)
	if err != nil {
		return "", err
	}
	msg, err := encMode.Marshal(cbor.Tag{Number: coseSign1TagNumber, Content: coseSign1{
		Protected: protected, Unprotected: cbor.RawMessage{emptyMap}, Payload: payload, Signature: sig,
	}})
	if err != nil {
		return "", err
	}
	z, err := deflate(msg)
	if err != nil {
		return "", err
	}
	out := appendBase45([]byte(CompactPrefix), z)
	if _, err := ParseCompact(string(out)); err != nil {
		return "", err
	}
	return string(out), nil
}

// digestSigner "signs" with SM3(msg) ‖ SM3(SM3(msg)): deterministic, so two
// encoders' outputs can be compared byte for byte.
type digestSigner struct{ signing.Signer }

func (digestSigner) Sign(msg []byte) ([]byte, error) {
	a := sm3.Sum(msg)
	b := sm3.Sum(a[:])
	return append(a[:], b[:]...), nil
}

// TestEncodeCompactMatchesReference: for every catalog type and varied
// claims (long and short names, no issuer name, no end date, status lists
// 0 and later, first and last indexes, issue times with and without
// fractions of a second, several key ids), EncodeCompact writes exactly the
// reference's bytes, ParseCompact reads them back to the same claims, and
// the two fail alike on bad input.
func TestEncodeCompactMatchesReference(t *testing.T) {
	real, _ := newTestSigner(t)
	s := digestSigner{real}
	type variant struct {
		name string
		edit func(c *Credential)
	}
	variants := []variant{
		{"example", nil},
		{"long names", func(c *Credential) {
			c.CredentialSubject.Holder, c.Issuer.Name, c.CredentialSubject.Name = varied(200, 2), varied(200, 3), varied(200, 4)
		}},
		{"one-character names", func(c *Credential) { c.CredentialSubject.Holder, c.Issuer.Name = "甲", "乙" }},
		{"no issuer name", func(c *Credential) { c.Issuer.Name = "" }},
		{"no end date", func(c *Credential) { c.ValidUntil = "" }},
		{"short holder code", func(c *Credential) { c.CredentialSubject.HolderCode = "123" }},
		{"status list 7, index 0", func(c *Credential) { c.CredentialStatus = statusAt(t, 7, 0) }},
		{"status list 65535, last index", func(c *Credential) { c.CredentialStatus = statusAt(t, 65535, ListSize-1) }},
		{"status index 23", func(c *Credential) { c.CredentialStatus = statusAt(t, 0, 23) }},
		{"status index 24", func(c *Credential) { c.CredentialStatus = statusAt(t, 1, 24) }},
		{"status index 256", func(c *Credential) { c.CredentialStatus = statusAt(t, 255, 256) }},
		{"no holder", func(c *Credential) { c.CredentialSubject.Holder = "" }},
		{"holder too long", func(c *Credential) { c.CredentialSubject.Holder = varied(201, 5) }},
		{"two entries", func(c *Credential) { c.CredentialStatus = append(c.CredentialStatus, c.CredentialStatus[0]) }},
		{"bad issuer id", func(c *Credential) { c.Issuer.ID = compactUSCC }},
		{"bad validUntil", func(c *Credential) { c.ValidUntil = "2030-01-01" }},
		{"unsigned", func(c *Credential) { c.Proof = nil }},
	}
	times := []time.Time{compactIssuedAt, compactIssuedAt.Add(987654321 * time.Nanosecond),
		time.Date(2026, 12, 7, 23, 59, 59, 999999999, license.ChinaTime), time.Unix(0, 0), time.Unix(maxNumericDate, 0), time.Unix(-1, 0)}
	keyIDs := []string{compactKeyID, "0000000000000000", "ffffffffffffffff", "5F2A9C07E1D3B468"}
	n := 0
	for ti, typ := range license.DefaultCatalog().Types() {
		base := catalogCredential(t, typ, real)
		for vi, v := range variants {
			for k := range times {
				n += compareCompact(t, base, typ.Name, v.name, v.edit, s, times[(ti+vi+k)%len(times)], keyIDs[(ti+vi+k)%len(keyIDs)])
			}
		}
	}
	if n < 300 {
		t.Fatalf("only %d encodings compared", n)
	}
}

// compareCompact compares EncodeCompact with the reference on base edited
// by edit; it returns 1 if both encoded.
func compareCompact(t *testing.T, base *Credential, typeName, variant string, edit func(*Credential), s signing.Signer, at time.Time, keyID string) int {
	t.Helper()
	c := *base
	c.CredentialStatus = append([]StatusListEntry(nil), base.CredentialStatus...)
	if edit != nil {
		edit(&c)
	}
	want, werr := refEncodeCompact(&c, s, keyID, at)
	got, gerr := EncodeCompact(&c, s, keyID, at)
	where := fmt.Sprintf("%s, %s, iat %v, kid %s", typeName, variant, at, keyID)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%s: reference error %v, EncodeCompact error %v", where, werr, gerr)
	}
	if werr != nil {
		var wf, gf *FormatError
		if !errors.As(werr, &wf) || !errors.As(gerr, &gf) || wf.Field != gf.Field || wf.Rule != gf.Rule {
			t.Fatalf("%s: reference error %v, EncodeCompact error %v", where, werr, gerr)
		}
		return 0
	}
	if got != want {
		t.Fatalf("%s: EncodeCompact\n got %s\nwant %s", where, got, want)
	}
	p, err := ParseCompact(got)
	if err != nil {
		t.Fatalf("%s: ParseCompact: %v", where, err)
	}
	if p.Holder != c.CredentialSubject.Holder || p.IssuerName != c.Issuer.Name || !p.IssuedAt.Equal(at.Truncate(time.Second)) {
		t.Fatalf("%s: parsed back %+v", where, p)
	}
	return 1
}

// statusAt is a status entry at list n, index i.
func statusAt(t *testing.T, n, i int) []StatusListEntry {
	t.Helper()
	e, err := NewStatusListEntry(StatusListURL("https://zhengzhao.example", compactUSCC, n), i)
	if err != nil {
		t.Fatal(err)
	}
	return []StatusListEntry{e}
}

// TestProtectedHeaderMatchesCBOR: the hand-written protected header and
// COSE_Sign1 are what the CBOR library writes.
func TestProtectedHeaderMatchesCBOR(t *testing.T) {
	for _, keyID := range []string{compactKeyID, "0000000000000000", "ffffffffffffffff"} {
		kid := mustHex(t, keyID)
		want := mustCBOR(t, protectedHeader{Alg: AlgSM2SM3, Kid: kid})
		got := appendProtected(nil, kid)
		if string(got) != string(want) || len(got) != protectedLen {
			t.Fatalf("kid %s: protected % x, want % x", keyID, got, want)
		}
		for _, size := range []int{0, 23, 24, 255, 256, 1000, 70000} {
			payload := []byte(strings.Repeat("p", size))
			sig := []byte(strings.Repeat("s", signatureLen))
			wantMsg := mustCBOR(t, cbor.Tag{Number: coseSign1TagNumber, Content: coseSign1{
				Protected: want, Unprotected: cbor.RawMessage{emptyMap}, Payload: payload, Signature: sig,
			}})
			if got := appendSign1(nil, got, payload, sig); string(got) != string(wantMsg) {
				t.Fatalf("payload of %d bytes: COSE_Sign1 differs from the library's", size)
			}
			wantSig := mustCBOR(t, []any{sigContext, want, []byte{}, payload})
			if got := appendSigStructure(nil, got, payload); string(got) != string(wantSig) {
				t.Fatalf("payload of %d bytes: Sig_structure differs from the library's", size)
			}
		}
	}
}
