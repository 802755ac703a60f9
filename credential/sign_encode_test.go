package credential

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gowebpki/jcs"

	"zhengzhao/license"
	"zhengzhao/signing"
)

// refSignCanonical is SignCanonical as it was before the signed document
// was written from the unsigned one: the signed credential marshalled with
// encoding/json, parsed and serialized again. SignCanonical must match it
// byte for byte.
func refSignCanonical(c *Credential, s signing.Signer, verificationMethod string, created time.Time) (*Signed, error) {
	out := &Signed{Created: created.UTC().Truncate(time.Second)}
	signed := *c
	signed.doc = nil
	signed.Proof = &Proof{Type: ProofType, Cryptosuite: Cryptosuite, VerificationMethod: verificationMethod,
		Created: out.Created.Format(timeLayout), ProofPurpose: ProofPurpose}
	unsigned, err := signed.marshalDocument()
	if err != nil {
		return nil, err
	}
	hashData := unsigned.hashData()
	unsigned.release()
	sig, err := s.Sign(hashData[:])
	if err != nil {
		return nil, err
	}
	signed.Proof.ProofValue = encodeProofValue(sig)
	d, err := signed.marshalDocument()
	if err != nil {
		return nil, err
	}
	out.Canonical = d.appendJCS(nil, &d.cred)
	out.ProofHash, out.DocumentHash, out.Signature = hashData[:32], hashData[32:], sig
	return out, nil
}

// awkward holds text JCS must escape or order with care: quotes,
// backslashes, control characters, HTML characters encoding/json would
// escape by default, U+2028, characters above U+E000 and outside the BMP
// (whose UTF-16 order differs from their UTF-8 order).
var awkward = []string{
	`引号"与\反斜杠`, "制表\t换行\n回车\r\x01\x1f", "<a&b>", "行\u2028分隔", "\ue000私用", "𝄞音符", "ﬀ连字", "湘A·12345",
	strings.Repeat("长", 200), "x",
}

// TestSignCanonicalMatchesReference: for every catalog type and varied
// records (awkward text in names and in extra fields whose names sort
// before and after the others, no end date, several status entries, extra
// contexts, proof times with and without fractions of a second and outside
// UTC), SignCanonical's canonical bytes, digests and signature are the
// reference's, and the signed credential marshals, hashes and verifies the
// same.
func TestSignCanonicalMatchesReference(t *testing.T) {
	real, k := newTestSigner(t)
	s := digestSigner{real}
	rng := rand.New(rand.NewPCG(5, 6))
	pick := func() string { return awkward[rng.IntN(len(awkward))] }
	times := []time.Time{compactIssuedAt, compactIssuedAt.Add(999999999 * time.Nanosecond),
		time.Date(2026, 12, 7, 23, 59, 59, 5e8, license.ChinaTime), time.Date(1999, 1, 2, 3, 4, 5, 0, time.FixedZone("", -5*3600))}
	n := 0
	for ti, typ := range license.DefaultCatalog().Types() {
		base := catalogCredential(t, typ, real)
		for v := range 12 {
			c := *base
			c.doc, c.Proof = nil, nil
			c.CredentialSubject.Fields = maps.Clone(base.CredentialSubject.Fields)
			c.Context = append([]string(nil), base.Context...)
			c.CredentialStatus = append([]StatusListEntry(nil), base.CredentialStatus...)
			switch v % 6 {
			case 1:
				c.CredentialSubject.Holder, c.Issuer.Name = pick(), pick()
			case 2:
				c.ValidUntil = ""
			case 3:
				c.CredentialStatus = append(c.CredentialStatus, statusAt(t, 3, 77)[0])
			case 4:
				c.Context = append(c.Context, "https://zhengzhao.example/contexts/zhengzhao/v1")
			case 5:
				c.CredentialStatus = nil
			}
			if c.CredentialSubject.Fields == nil {
				c.CredentialSubject.Fields = map[string]string{}
			}
			for range v % 4 {
				c.CredentialSubject.Fields[pick()[:1]+fmt.Sprint(rng.IntN(100))] = pick()
			}
			if v%3 == 0 {
				c.CredentialSubject.Fields["\U0001d11e"] = pick() // sorts before U+E000 in UTF-16
				c.CredentialSubject.Fields["\ue001"] = pick()
			}
			at := times[(ti+v)%len(times)]
			vm := VerificationMethod(compactUSCC, []string{compactKeyID, "0123456789abcdef"}[v%2])
			ref := c
			want, werr := refSignCanonical(&ref, s, vm, at)
			got, gerr := c.SignCanonical(s, vm, at)
			where := fmt.Sprintf("%s, variant %d", typ.Name, v)
			if (werr == nil) != (gerr == nil) {
				t.Fatalf("%s: reference error %v, SignCanonical error %v", where, werr, gerr)
			}
			if werr != nil {
				continue
			}
			if !bytes.Equal(got.Canonical, want.Canonical) {
				t.Fatalf("%s: canonical bytes\n got %s\nwant %s", where, got.Canonical, want.Canonical)
			}
			if !bytes.Equal(got.ProofHash, want.ProofHash) || !bytes.Equal(got.DocumentHash, want.DocumentHash) || !bytes.Equal(got.Signature, want.Signature) {
				t.Fatalf("%s: digests or signature differ from the reference", where)
			}
			marshalled, err := c.Marshal()
			if err != nil || !bytes.Equal(marshalled, got.Canonical) {
				t.Fatalf("%s: Marshal of the signed credential differs from its canonical bytes (%v)", where, err)
			}
			canon, err := c.Canonical()
			if err != nil || !bytes.Equal(canon, got.Canonical) {
				t.Fatalf("%s: Canonical differs (%v)", where, err)
			}
			if ph, dh, err := c.Hashes(); err != nil || !bytes.Equal(ph, got.ProofHash) || !bytes.Equal(dh, got.DocumentHash) {
				t.Fatalf("%s: the signed credential's Hashes differ (%v)", where, err)
			}
			if sig, err := c.Signature(); err != nil || !bytes.Equal(sig, got.Signature) {
				t.Fatalf("%s: the signed credential's Signature differs (%v)", where, err)
			}
			parsed, err := Parse(got.Canonical)
			if err != nil {
				t.Fatalf("%s: Parse: %v", where, err)
			}
			ph, dh, err := parsed.Hashes()
			if err != nil || !bytes.Equal(ph, got.ProofHash) || !bytes.Equal(dh, got.DocumentHash) {
				t.Fatalf("%s: a verifier's digests differ from the signer's (%v)", where, err)
			}
			n++
		}
		// A real signature verifies.
		c := *base
		c.doc = nil
		if _, err := c.SignCanonical(real, VerificationMethod(compactUSCC, compactKeyID), times[ti%len(times)]); err != nil {
			t.Fatal(err)
		}
		if err := c.VerifyProof(&k.PublicKey); err != nil {
			t.Fatalf("%s: %v", typ.Name, err)
		}
	}
	if n < 50 {
		t.Fatalf("only %d signings compared", n)
	}
}

// TestJCSInserting: adding a member while serializing gives what
// jcs.Transform gives of the document with the member added, wherever the
// name sorts (first, last, between, by UTF-16 order) and wherever the
// object sits (root, nested, in an array, empty).
func TestJCSInserting(t *testing.T) {
	docs := []string{
		`{"b":1,"d":{"x":[1,{"m":"n"}],"a":true},"c":[{},{"z":null}],"a":"s"}`,
		`{}`,
		`{"k":{"\ue000":1,"a":2}}`,
		`{"z":{"𝄞":1}, "y": [ {"q": 1.50, "p": "\u00e9\n"} ] }`,
	}
	names := []string{"", "0", "a", "aa", "b", "m", "zz", "\ue000", "𝄞", "é", "\"q\\"}
	for _, doc := range docs {
		tr, ferr := parseDocument([]byte(doc))
		if ferr != nil {
			t.Fatal(ferr)
		}
		var objects []*node
		var walk func(n *node)
		walk = func(n *node) {
			if n.kind == kindObject {
				objects = append(objects, n)
			}
			if n.kind == kindObject || n.kind == kindArray {
				for i := range tr.items(n) {
					walk(&tr.items(n)[i])
				}
			}
		}
		walk(&tr.root)
		for oi, obj := range objects {
			for _, name := range names {
				if tr.member(obj, name) != nil {
					continue
				}
				value := []byte(`"v"`)
				got := tr.appendJCSInserting(nil, &tr.root, obj, name, value)
				// The reference: decode, add the member, let jcs order it.
				var generic any
				if err := json.Unmarshal([]byte(doc), &generic); err != nil {
					t.Fatal(err)
				}
				target := findObject(generic, oi)
				target[name] = "v"
				plain, err := json.Marshal(generic)
				if err != nil {
					t.Fatal(err)
				}
				want, err := jcs.Transform(plain)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s, object %d, member %q:\n got %s\nwant %s", doc, oi, name, got, want)
				}
			}
		}
	}
}

// findObject returns the i-th object of v in document order (pre-order,
// members in JCS order, as the tree walk visits them).
func findObject(v any, i int) map[string]any {
	var found map[string]any
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if i == 0 && found == nil {
				found = x
			}
			i--
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sortUTF16(keys)
			for _, k := range keys {
				walk(x[k])
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return found
}

func sortUTF16(keys []string) {
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && compareUTF16(keys[j-1], keys[j]) > 0; j-- {
			keys[j-1], keys[j] = keys[j], keys[j-1]
		}
	}
}
