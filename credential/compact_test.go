package credential

import (
	"bytes"
	"compress/zlib"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/fxamacker/cbor/v2"

	"zhengzhao/license"
	"zhengzhao/signing"
)

// compactTarget is the size the compact form aims at: a QR code a phone
// camera reads at a service window (DESIGN.md).
const compactTarget = 800

const (
	compactUSCC     = "11430000006122244L"
	compactDept     = "湖南省市场监督管理局"
	compactKeyID    = "5f2a9c07e1d3b468"
	compactSerial   = "20240000403"
	compactStatusIx = "131071" // the largest index of a 131,072-entry list
)

var compactIssuedAt = time.Date(2025, 1, 1, 1, 30, 0, 0, time.UTC)

// testStatus is what the registry gives a license: one entry in its
// department's status list 0.
func testStatus(index string) []StatusListEntry {
	n, err := strconv.Atoi(index)
	if err != nil {
		panic(err)
	}
	e, err := NewStatusListEntry(StatusListURL("https://zhengzhao.example", compactUSCC, 0), n)
	if err != nil {
		panic(err)
	}
	return []StatusListEntry{e}
}

// catalogCredential returns the signed credential of typ's example record.
func catalogCredential(t testing.TB, typ license.Type, s signing.Signer) *Credential {
	t.Helper()
	rec := typ.Example(compactUSCC, compactDept)
	id, err := license.NewIdentifier(typ.Code, compactUSCC, compactSerial, "001")
	if err != nil {
		t.Fatal(err)
	}
	rec.Number, rec.Identifier = compactSerial, id.String()
	if err := typ.Validate(rec); err != nil {
		t.Fatalf("%s example: %v", typ.Name, err)
	}
	c, err := New(rec, compactDept, testStatus(compactStatusIx))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Sign(s, VerificationMethod(compactUSCC, compactKeyID), compactIssuedAt); err != nil {
		t.Fatal(err)
	}
	return c
}

func newTestSigner(t testing.TB) (signing.Signer, *sm2.PrivateKey) {
	t.Helper()
	k, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return signing.NewKeySigner(k), k
}

func TestMaskHolderCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"430103198805061523", "**************1523"},
		{"91430104MA4L3B5K26", "**************5K26"},
		{"12345", "*2345"},
		{"1234", "****"},
		{"12", "**"},
		{"", ""},
		{"证照代码甲乙丙丁", "****甲乙丙丁"},
	}
	for _, tt := range tests {
		if got := MaskHolderCode(tt.in); got != tt.want {
			t.Errorf("MaskHolderCode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestCompactCatalog makes the compact form of every catalog type's example
// and checks its size, its content and its signature.
func TestCompactCatalog(t *testing.T) {
	s, k := newTestSigner(t)
	largest, largestType := 0, ""
	for _, typ := range license.DefaultCatalog().Types() {
		c := catalogCredential(t, typ, s)
		qr, err := EncodeCompact(c, s, compactKeyID, compactIssuedAt)
		if err != nil {
			t.Fatalf("%s: EncodeCompact: %v", typ.Name, err)
		}
		t.Logf("%s %s: %d characters", typ.Code, typ.Name, len(qr))
		if len(qr) > largest {
			largest, largestType = len(qr), typ.Name
		}
		if len(qr) > compactTarget {
			t.Errorf("%s: compact form is %d characters, want at most %d", typ.Name, len(qr), compactTarget)
		}
		if !strings.HasPrefix(qr, CompactPrefix) || strings.Trim(qr[len(CompactPrefix):], base45Alphabet) != "" {
			t.Errorf("%s: not prefix + QR alphanumeric characters: %q", typ.Name, qr)
		}
		got, err := ParseCompact(qr)
		if err != nil {
			t.Fatalf("%s: ParseCompact: %v", typ.Name, err)
		}
		if err := got.VerifySignature(&k.PublicKey); err != nil {
			t.Errorf("%s: VerifySignature: %v", typ.Name, err)
		}
		rec := c.CredentialSubject
		until, _ := time.Parse(timeLayout, c.ValidUntil)
		checks := []struct{ name, got, want string }{
			{"Issuer", got.Issuer, compactUSCC},
			{"IssuerName", got.IssuerName, compactDept},
			{"Identifier", got.Identifier, rec.Identifier},
			{"TypeCode", got.TypeCode, typ.Code},
			{"TypeName", got.TypeName, typ.Name},
			{"Holder", got.Holder, rec.Holder},
			{"HolderCodeMasked", got.HolderCodeMasked, MaskHolderCode(rec.HolderCode)},
			{"KeyID", got.KeyID, compactKeyID},
			{"IssuedAt", got.IssuedAt.Format(time.RFC3339), "2025-01-01T01:30:00Z"},
		}
		for _, ck := range checks {
			if ck.got != ck.want {
				t.Errorf("%s: %s = %q, want %q", typ.Name, ck.name, ck.got, ck.want)
			}
		}
		if got.StatusIndex != 131071 || got.StatusList != 0 || got.Alg != AlgSM2SM3 {
			t.Errorf("%s: StatusIndex, StatusList, Alg = %d, %d, %d; want 131071, 0, %d", typ.Name, got.StatusIndex, got.StatusList, got.Alg, AlgSM2SM3)
		}
		var m map[int64]any
		if err := cbor.Unmarshal(decodeSign1(t, qr).Payload, &m); err != nil {
			t.Fatal(err)
		}
		if _, ok := m[claimStatusList]; ok {
			t.Errorf("%s: status list number written though it is 0", typ.Name)
		}
		switch {
		case c.ValidUntil == "" && got.Expires != nil:
			t.Errorf("%s: Expires = %v for a license without validUntil", typ.Name, got.Expires)
		case c.ValidUntil != "" && (got.Expires == nil || !got.Expires.Equal(until)):
			t.Errorf("%s: Expires = %v, want %s", typ.Name, got.Expires, c.ValidUntil)
		}
		// The hand-built Sig_structure of ParseCompact is the library's.
		sign1 := decodeSign1(t, qr)
		want, err := encMode.Marshal([]any{"Signature1", sign1.Protected, []byte{}, sign1.Payload})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.sigStructure, want) {
			t.Errorf("%s: Sig_structure\n got %x\nwant %x", typ.Name, got.sigStructure, want)
		}
	}
	t.Logf("largest: %s, %d characters (target %d)", largestType, largest, compactTarget)
}

// TestCompactLongNames: the longest names a record may carry (200
// characters each) still make a compact form ParseCompact accepts, though
// it is past the 800-character target.
func TestCompactLongNames(t *testing.T) {
	s, k := newTestSigner(t)
	typ, _ := license.DefaultCatalog().Type("11100000000013338W001")
	c := catalogCredential(t, typ, s)
	c.CredentialSubject.Holder = varied(200, 0)
	c.Issuer.Name = varied(200, 1)
	qr, err := EncodeCompact(c, s, compactKeyID, compactIssuedAt)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("200-character holder and issuer names: %d characters", len(qr))
	got, err := ParseCompact(qr)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.VerifySignature(&k.PublicKey); err != nil {
		t.Fatal(err)
	}
	c.CredentialSubject.Holder += "湘"
	if _, err := EncodeCompact(c, s, compactKeyID, compactIssuedAt); !isFormat(err, "cwt.holder", RuleSize) {
		t.Errorf("201-character holder: err = %v, want cwt.holder size", err)
	}
}

// varied returns n different CJK characters, which zlib cannot shorten much.
func varied(n, seed int) string {
	var b strings.Builder
	for i := range n {
		b.WriteRune(rune(0x4e00 + (i*7919+seed*104729)%20000))
	}
	return b.String()
}

func TestEncodeCompactErrors(t *testing.T) {
	s, _ := newTestSigner(t)
	typ, _ := license.DefaultCatalog().Type("11100000000013338W001")
	fresh := func() *Credential { return catalogCredential(t, typ, s) }
	tests := []struct {
		name        string
		edit        func(c *Credential)
		keyID       string
		at          time.Time
		field, rule string
	}{
		{"unsigned", func(c *Credential) { c.Proof = nil }, compactKeyID, compactIssuedAt, "proof", RuleRequired},
		{"upper-case key id", nil, strings.ToUpper(compactKeyID), compactIssuedAt, "cose.protected.kid", RuleValue},
		{"short key id", nil, compactKeyID[:14], compactIssuedAt, "cose.protected.kid", RuleValue},
		{"no iat", nil, compactKeyID, time.Time{}, "cwt.iat", RuleRequired},
		{"iat before 1970", nil, compactKeyID, time.Unix(-1, 0), "cwt.iat", RuleValue},
		{"no status", func(c *Credential) { c.CredentialStatus = nil }, compactKeyID, compactIssuedAt, "credentialStatus", RuleRequired},
		{"two entries", func(c *Credential) { c.CredentialStatus = append(c.CredentialStatus, c.CredentialStatus[0]) }, compactKeyID, compactIssuedAt, "credentialStatus", RuleValue},
		{"other purpose", func(c *Credential) { c.CredentialStatus[0].StatusPurpose = "revocation" }, compactKeyID, compactIssuedAt, "credentialStatus[0].statusPurpose", RuleValue},
		{"huge index", func(c *Credential) { c.CredentialStatus[0].StatusListIndex = "2147483648" }, compactKeyID, compactIssuedAt, "credentialStatus[0].statusListIndex", RuleValue},
		{"issuer id", func(c *Credential) { c.Issuer.ID = compactUSCC }, compactKeyID, compactIssuedAt, "issuer.id", RuleValue},
		{"no holder", func(c *Credential) { c.CredentialSubject.Holder = "" }, compactKeyID, compactIssuedAt, "cwt.holder", RuleRequired},
	}
	for _, tt := range tests {
		c := fresh()
		if tt.edit != nil {
			tt.edit(c)
		}
		counter := &countingSigner{Signer: s}
		_, err := EncodeCompact(c, counter, tt.keyID, tt.at)
		if !isFormat(err, tt.field, tt.rule) {
			t.Errorf("%s: err = %v, want %s %s", tt.name, err, tt.field, tt.rule)
		}
		if counter.n != 0 {
			t.Errorf("%s: signed before failing", tt.name)
		}
	}
	if _, err := EncodeCompact(nil, s, compactKeyID, compactIssuedAt); err == nil {
		t.Error("nil credential: no error")
	}
	if _, err := EncodeCompact(fresh(), nil, compactKeyID, compactIssuedAt); err == nil {
		t.Error("nil signer: no error")
	}
}

// countingSigner counts signatures, to show that bad input is rejected
// before an (HSM) signature is spent on it.
type countingSigner struct {
	signing.Signer
	n int
}

func (s *countingSigner) Sign(msg []byte) ([]byte, error) {
	s.n++
	return s.Signer.Sign(msg)
}

func isFormat(err error, field, rule string) bool {
	var fe *FormatError
	return errors.Is(err, ErrFormat) && errors.As(err, &fe) && fe.Field == field && fe.Rule == rule
}

// decodeSign1 undoes the transport layers of a compact form.
func decodeSign1(t testing.TB, qr string) coseSign1 {
	t.Helper()
	msg := inflateCompact(t, qr)
	var tag cbor.RawTag
	if err := cbor.Unmarshal(msg, &tag); err != nil || tag.Number != 18 {
		t.Fatalf("not tag 18: %v", err)
	}
	var s coseSign1
	if err := cbor.Unmarshal(tag.Content, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func inflateCompact(t testing.TB, qr string) []byte {
	t.Helper()
	z, err := decodeBase45(strings.TrimPrefix(qr, CompactPrefix))
	if err != nil {
		t.Fatal(err)
	}
	msg, ferr := inflate(z)
	if ferr != nil {
		t.Fatal(ferr)
	}
	return msg
}

// wrapCompact is the transport layers: prefix, Base45, zlib.
func wrapCompact(t testing.TB, msg []byte) string {
	t.Helper()
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	zw.Write(msg)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return CompactPrefix + string(appendBase45(nil, z.Bytes()))
}

// buildCompact assembles a COSE_Sign1 from the given parts, signed
// correctly with s, so that whatever ParseCompact rejects it rejects for the
// format.
func buildCompact(t testing.TB, s signing.Signer, protected []byte, unprotected cbor.RawMessage, payload []byte, sigLen int) string {
	t.Helper()
	sig, err := s.Sign(appendSigStructure(nil, protected, payload))
	if err != nil {
		t.Fatal(err)
	}
	if sigLen < len(sig) {
		sig = sig[:sigLen]
	}
	msg, err := encMode.Marshal(cbor.Tag{Number: 18, Content: coseSign1{
		Protected: protected, Unprotected: unprotected, Payload: payload, Signature: sig,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return wrapCompact(t, msg)
}

func mustCBOR(t testing.TB, v any) []byte {
	t.Helper()
	b, err := encMode.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goodClaims is a valid claims map; tests edit copies of it.
func goodClaims() map[int64]any {
	return map[int64]any{
		claimIss:         compactUSCC,
		claimExp:         int64(2044 * 1e6),
		claimIat:         compactIssuedAt.Unix(),
		claimIdentifier:  "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
		claimTypeCode:    "11100000000013338W011",
		claimTypeName:    "营业执照",
		claimHolder:      "湖南麓山软件科技有限公司",
		claimHolderCode:  "**************345A",
		claimStatusIndex: 94567,
		claimIssuerName:  compactDept,
	}
}

func without(m map[int64]any, key int64) map[int64]any {
	delete(m, key)
	return m
}

func with(m map[int64]any, key int64, v any) map[int64]any {
	m[key] = v
	return m
}

// TestParseCompactRejects: every malformed input is a *FormatError naming
// the part that is wrong.
func TestParseCompactRejects(t *testing.T) {
	s, _ := newTestSigner(t)
	kid := mustHex(t, compactKeyID)
	goodProt := mustCBOR(t, protectedHeader{Alg: AlgSM2SM3, Kid: kid})
	goodPayload := mustCBOR(t, goodClaims())
	empty := cbor.RawMessage{emptyMap}
	build := func(prot []byte, payload []byte) string {
		return buildCompact(t, s, prot, empty, payload, 64)
	}
	claims := func(m map[int64]any) string { return build(goodProt, mustCBOR(t, m)) }
	good := build(goodProt, goodPayload)
	if _, err := ParseCompact(good); err != nil {
		t.Fatalf("the base case is rejected: %v", err)
	}
	goodMsg := inflateCompact(t, good)

	// A zlib bomb: 1 MiB of zeros compresses to about a kilobyte.
	var bomb bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&bomb, zlib.BestCompression)
	zw.Write(append(bytes.Clone(goodMsg), make([]byte, 1<<20)...))
	zw.Close()
	// A duplicate claim: one more pair in the map, key -4 again.
	dupPayload := append(bytes.Clone(goodPayload), mustCBOR(t, int64(claimHolder))...)
	dupPayload = append(dupPayload, mustCBOR(t, "某人")...)
	dupPayload[0]++
	// Nesting deeper than the limit inside a claim.
	deep := []any{[]any{[]any{[]any{[]any{"x"}}}}}
	var zTrail bytes.Buffer
	zw, _ = zlib.NewWriterLevel(&zTrail, zlib.BestCompression)
	zw.Write(goodMsg)
	zw.Close()
	zTrail.WriteByte(0)
	// Indefinite-length text in a claim: 0x7f "ab" 0xff.
	indef := append(bytes.Clone(goodPayload[:1]), mustCBOR(t, int64(claimHolder))...)
	indef[0] = 0xa1
	indef = append(indef, 0x7f, 0x62, 'a', 'b', 0xff)

	tests := []struct {
		name, in    string
		field, rule string
	}{
		{"empty", "", "prefix", RuleValue},
		{"no prefix", good[len(CompactPrefix):], "prefix", RuleValue},
		{"other version", "ZZ2:" + good[len(CompactPrefix):], "prefix", RuleValue},
		{"HC1 prefix", "HC1:" + good[len(CompactPrefix):], "prefix", RuleValue},
		{"too long", CompactPrefix + strings.Repeat("0", MaxCompactLen), "", RuleSize},
		{"lower case", CompactPrefix + strings.ToLower(good[len(CompactPrefix):]), "base45", RuleEncoding},
		{"base45 length", good[:len(good)-(len(good)-len(CompactPrefix))%3] + "0", "base45", RuleEncoding},
		{"base45 overflow", CompactPrefix + "GGW", "base45", RuleEncoding},
		{"not zlib", CompactPrefix + string(appendBase45(nil, goodMsg)), "zlib", RuleEncoding},
		{"truncated zlib", CompactPrefix + string(appendBase45(nil, decodeB45(t, good)[:40])), "zlib", RuleEncoding},
		{"zlib bomb", CompactPrefix + string(appendBase45(nil, bomb.Bytes())), "zlib", RuleSize},
		{"bytes after zlib", CompactPrefix + string(appendBase45(nil, zTrail.Bytes())), "zlib", RuleTrailing},
		{"untagged", wrapCompact(t, goodMsg[1:]), "cose", RuleType},
		{"tag 98", wrapCompact(t, append([]byte{0xd8, 98}, goodMsg[1:]...)), "cose", RuleType},
		{"tag 18 long form", wrapCompact(t, append([]byte{0xd8, 18}, goodMsg[1:]...)), "cose", RuleType},
		{"trailing CBOR", wrapCompact(t, append(bytes.Clone(goodMsg), 0x00)), "cose", RuleTrailing},
		{"empty message", wrapCompact(t, nil), "cose", RuleType},
		{"array of 3", wrapCompact(t, append([]byte{0xd2}, mustCBOR(t, []any{goodProt, map[int]any{}, goodPayload})...)), "cose", RuleType},
		{"array of maps", wrapCompact(t, append([]byte{0xd2}, mustCBOR(t, []any{map[int]any{1: AlgSM2SM3}, map[int]any{}, goodPayload, make([]byte, 64)})...)), "cose", RuleType},
		{"nested tag", wrapCompact(t, append([]byte{0xd2}, mustCBOR(t, []any{cbor.Tag{Number: 24, Content: goodProt}, map[int]any{}, goodPayload, make([]byte, 64)})...)), "cose", RuleSyntax},
		{"ES256", build(mustCBOR(t, protectedHeader{Alg: -7, Kid: kid}), goodPayload), "cose.protected.alg", RuleValue},
		{"SM2 without minus", build(mustCBOR(t, protectedHeader{Alg: 65537, Kid: kid}), goodPayload), "cose.protected.alg", RuleValue},
		{"alg as text", build(mustCBOR(t, map[int]any{1: "SM2-SM3", 4: kid}), goodPayload), "cose.protected.alg", RuleValue},
		{"no alg", build(mustCBOR(t, map[int]any{4: kid}), goodPayload), "cose.protected.alg", RuleRequired},
		{"no kid", build(mustCBOR(t, map[int]any{1: AlgSM2SM3}), goodPayload), "cose.protected.kid", RuleRequired},
		{"kid 7 bytes", build(mustCBOR(t, protectedHeader{Alg: AlgSM2SM3, Kid: kid[:7]}), goodPayload), "cose.protected.kid", RuleValue},
		{"kid as text", build(mustCBOR(t, map[int]any{1: AlgSM2SM3, 4: compactKeyID}), goodPayload), "cose.protected.kid", RuleType},
		{"crit header", build(mustCBOR(t, map[int]any{1: AlgSM2SM3, 4: kid, 2: []int{99}}), goodPayload), "cose.protected", RuleValue},
		{"empty protected", build(nil, goodPayload), "cose.protected", RuleRequired},
		{"protected not a map", build(mustCBOR(t, []int{1}), goodPayload), "cose.protected", RuleType},
		{"unprotected kid", buildCompact(t, s, goodProt, mustCBOR(t, map[int]any{4: kid}), goodPayload, 64), "cose.unprotected", RuleValue},
		{"unprotected array", buildCompact(t, s, goodProt, mustCBOR(t, []int{}), goodPayload, 64), "cose.unprotected", RuleValue},
		{"signature 63 bytes", buildCompact(t, s, goodProt, empty, goodPayload, 63), "cose.signature", RuleValue},
		{"payload not a map", build(goodProt, mustCBOR(t, "claims")), "cose.payload", RuleType},
		{"payload empty", build(goodProt, nil), "cose.payload", RuleSyntax},
		{"payload text keys", build(goodProt, mustCBOR(t, map[string]any{"iss": compactUSCC})), "cose.payload", RuleValue},
		{"duplicate claim", build(goodProt, dupPayload), "cose.payload", RuleDuplicate},
		{"indefinite length", build(goodProt, indef), "cose.payload", RuleSyntax},
		{"too deep", claims(with(goodClaims(), claimHolder, deep)), "cose.payload", RuleDepth},
		{"unknown claim", claims(with(goodClaims(), -9, "x")), "cose.payload", RuleValue},
		{"unknown claim 2", claims(with(goodClaims(), 2, "sub")), "cose.payload", RuleValue},
		{"no iss", claims(without(goodClaims(), claimIss)), "cwt.iss", RuleRequired},
		{"no iat", claims(without(goodClaims(), claimIat)), "cwt.iat", RuleRequired},
		{"no identifier", claims(without(goodClaims(), claimIdentifier)), "cwt.identifier", RuleRequired},
		{"no type code", claims(without(goodClaims(), claimTypeCode)), "cwt.typeCode", RuleRequired},
		{"no type name", claims(without(goodClaims(), claimTypeName)), "cwt.typeName", RuleRequired},
		{"no holder", claims(without(goodClaims(), claimHolder)), "cwt.holder", RuleRequired},
		{"empty holder", claims(with(goodClaims(), claimHolder, "")), "cwt.holder", RuleRequired},
		{"no holder code", claims(without(goodClaims(), claimHolderCode)), "cwt.holderCode", RuleRequired},
		{"no status index", claims(without(goodClaims(), claimStatusIndex)), "cwt.statusIndex", RuleRequired},
		{"holder as bytes", claims(with(goodClaims(), claimHolder, []byte("x"))), "cwt.holder", RuleType},
		{"iss as int", claims(with(goodClaims(), claimIss, 1)), "cwt.iss", RuleType},
		{"iat as text", claims(with(goodClaims(), claimIat, "2025-01-01")), "cwt.iat", RuleType},
		{"iat as float", claims(with(goodClaims(), claimIat, 1.5e9)), "cwt.iat", RuleType},
		{"exp negative", claims(with(goodClaims(), claimExp, -1)), "cwt.exp", RuleValue},
		{"exp after 9999", claims(with(goodClaims(), claimExp, int64(maxNumericDate+1))), "cwt.exp", RuleValue},
		{"status index as text", claims(with(goodClaims(), claimStatusIndex, "94567")), "cwt.statusIndex", RuleType},
		{"status list as text", claims(with(goodClaims(), claimStatusList, "1")), "cwt.statusList", RuleType},
		{"status list 0 written", claims(with(goodClaims(), claimStatusList, 0)), "cwt.statusList", RuleValue},
		{"status list negative", claims(with(goodClaims(), claimStatusList, -1)), "cwt.statusList", RuleValue},
		{"status index too big", claims(with(goodClaims(), claimStatusIndex, int64(1)<<31)), "cwt.statusIndex", RuleValue},
		{"status index past the list", claims(with(goodClaims(), claimStatusIndex, ListSize)), "cwt.statusIndex", RuleValue},
		{"bad USCC", claims(with(goodClaims(), claimIss, "11430000006122244M")), "cwt.iss", RuleValue},
		{"long iss", claims(with(goodClaims(), claimIss, compactUSCC+"0")), "cwt.iss", RuleSize},
		{"bad identifier", claims(with(goodClaims(), claimIdentifier, "1.2.156.3005.2.x")), "cwt.identifier", RuleValue},
		{"identifier of another issuer", claims(with(goodClaims(), claimIss, "91430104MA4L3B5K26")), "cwt.identifier", RuleValue},
		{"identifier of another type", claims(with(goodClaims(), claimTypeCode, "11100000000013338W001")), "cwt.typeCode", RuleValue},
		{"holder code unmasked", claims(with(goodClaims(), claimHolderCode, "91430100MA4L12345A")), "cwt.holderCode", RuleValue},
		{"holder code 5 visible", claims(with(goodClaims(), claimHolderCode, "*************2345A")), "cwt.holderCode", RuleValue},
		{"long holder", claims(with(goodClaims(), claimHolder, strings.Repeat("湘", maxCompactName+1))), "cwt.holder", RuleSize},
	}
	for _, tt := range tests {
		got, err := ParseCompact(tt.in)
		if !isFormat(err, tt.field, tt.rule) {
			t.Errorf("%s: ParseCompact = %+v, %v; want a *FormatError %s %s", tt.name, got, err, tt.field, tt.rule)
		}
	}
}

func decodeB45(t testing.TB, qr string) []byte {
	t.Helper()
	b, err := decodeBase45(strings.TrimPrefix(qr, CompactPrefix))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseCompactOptionalClaims: exp and the issuer name may be absent.
func TestParseCompactOptionalClaims(t *testing.T) {
	s, k := newTestSigner(t)
	prot := mustCBOR(t, protectedHeader{Alg: AlgSM2SM3, Kid: mustHex(t, compactKeyID)})
	m := without(without(goodClaims(), claimExp), claimIssuerName)
	got, err := ParseCompact(buildCompact(t, s, prot, cbor.RawMessage{emptyMap}, mustCBOR(t, m), 64))
	if err != nil {
		t.Fatal(err)
	}
	if got.Expires != nil || got.IssuerName != "" || got.StatusIndex != 94567 {
		t.Errorf("got Expires %v, IssuerName %q, StatusIndex %d", got.Expires, got.IssuerName, got.StatusIndex)
	}
	if err := got.VerifySignature(&k.PublicKey); err != nil {
		t.Error(err)
	}
}

// TestCompactTamper changes each character of a compact form to every other
// Base45 character: the result is rejected by ParseCompact or by
// VerifySignature, or it is the same signed content in another encoding
// (a change to the unused padding bits of the last deflate byte, which
// inflating ignores and no checksum covers) — never different content that
// verifies.
func TestCompactTamper(t *testing.T) {
	s, k := newTestSigner(t)
	typ, _ := license.DefaultCatalog().Type("11100000000013338W001")
	fresh, err := EncodeCompact(catalogCredential(t, typ, s), s, compactKeyID, compactIssuedAt)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, qr string
		key      *sm2.PrivateKey
	}{
		{"vector", loadCompactVector(t).Compact, vectorKey(t)},
		{"fresh", fresh, k},
	} {
		orig, err := ParseCompact(tc.qr)
		if err != nil {
			t.Fatal(err)
		}
		formatErrs, proofErrs, sameContent := 0, 0, 0
		for i := len(CompactPrefix); i < len(tc.qr); i++ {
			for delta := 1; delta < 45; delta++ {
				b := []byte(tc.qr)
				b[i] = base45Alphabet[(strings.IndexByte(base45Alphabet, b[i])+delta)%45]
				c, err := ParseCompact(string(b))
				if err != nil {
					if !errors.Is(err, ErrFormat) {
						t.Fatalf("%s, offset %d: error %v does not wrap ErrFormat", tc.name, i, err)
					}
					formatErrs++
					continue
				}
				err = c.VerifySignature(&tc.key.PublicKey)
				switch {
				case errors.Is(err, ErrProof):
					proofErrs++
				case err == nil && bytes.Equal(c.sigStructure, orig.sigStructure) && bytes.Equal(c.signature, orig.signature):
					sameContent++
				default:
					t.Fatalf("%s, offset %d: a tampered compact form with other content verifies (err %v)", tc.name, i, err)
				}
			}
		}
		t.Logf("%s: %d changes: %d rejected by ParseCompact, %d by VerifySignature, %d only re-encode the same content",
			tc.name, formatErrs+proofErrs+sameContent, formatErrs, proofErrs, sameContent)
	}
}

// TestCompactUnsignedChange re-encodes a changed payload without signing it
// again: it parses, and VerifySignature fails.
func TestCompactUnsignedChange(t *testing.T) {
	s, k := newTestSigner(t)
	typ, _ := license.DefaultCatalog().Type("11100000000013338W001")
	qr, err := EncodeCompact(catalogCredential(t, typ, s), s, compactKeyID, compactIssuedAt)
	if err != nil {
		t.Fatal(err)
	}
	sign1 := decodeSign1(t, qr)
	var m map[int64]any
	if err := cbor.Unmarshal(sign1.Payload, &m); err != nil {
		t.Fatal(err)
	}
	m[claimHolder] = "冒名顶替有限公司"
	sign1.Payload = mustCBOR(t, m)
	forged := wrapCompact(t, mustCBOR(t, cbor.Tag{Number: 18, Content: sign1}))
	c, err := ParseCompact(forged)
	if err != nil {
		t.Fatal(err)
	}
	if c.Holder != "冒名顶替有限公司" {
		t.Fatalf("Holder = %q", c.Holder)
	}
	err = c.VerifySignature(&k.PublicKey)
	var pe *ProofError
	if !errors.Is(err, ErrProof) || !errors.Is(err, signing.ErrBadSignature) || !errors.As(err, &pe) || pe.Reason != ReasonSignature {
		t.Errorf("VerifySignature of a changed payload = %v, want a ProofError wrapping signing.ErrBadSignature", err)
	}
	// The original still verifies; another key does not.
	orig, err := ParseCompact(qr)
	if err != nil {
		t.Fatal(err)
	}
	if err := orig.VerifySignature(&k.PublicKey); err != nil {
		t.Error(err)
	}
	_, other := newTestSigner(t)
	if err := orig.VerifySignature(&other.PublicKey); !errors.Is(err, signing.ErrBadSignature) {
		t.Errorf("VerifySignature with another key = %v", err)
	}
	if err := orig.VerifySignature(nil); !errors.Is(err, ErrProof) {
		t.Errorf("VerifySignature(nil) = %v, want ErrProof", err)
	}
	if err := (&Compact{}).VerifySignature(&k.PublicKey); !errors.Is(err, ErrProof) {
		t.Errorf("zero Compact: VerifySignature = %v, want ErrProof", err)
	}
}
