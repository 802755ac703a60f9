package credential_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/piprate/json-gold/ld"

	"zhengzhao/credential"
	"zhengzhao/license"
)

// testContextURL stands for {public URL}/contexts/zhengzhao/v1.
const testContextURL = "https://zz.example.gov.cn" + credential.ContextPath

const vocab = "urn:zhengzhao:vocab:v1#"

// localLoader serves the two contexts from local documents; anything else
// is an error, so the test never reaches the network.
type localLoader map[string][]byte

func (l localLoader) LoadDocument(u string) (*ld.RemoteDocument, error) {
	b, ok := l[u]
	if !ok {
		return nil, fmt.Errorf("no local document for %s (the test has no network)", u)
	}
	doc, err := ld.DocumentFromReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return &ld.RemoteDocument{DocumentURL: u, Document: doc}, nil
}

func loader(t *testing.T) localLoader {
	t.Helper()
	v2, err := os.ReadFile("testdata/contexts/credentials-v2.jsonld")
	if err != nil {
		t.Fatal(err)
	}
	return localLoader{credential.ContextV2: v2, testContextURL: credential.ZhengzhaoContext()}
}

// expand expands doc with a JSON-LD 1.1 processor in safe mode, which
// fails on any term it would drop.
func expand(t *testing.T, doc []byte) ([]any, error) {
	t.Helper()
	var in any
	if err := json.Unmarshal(doc, &in); err != nil {
		t.Fatal(err)
	}
	opts := ld.NewJsonLdOptions("")
	opts.ProcessingMode = ld.JsonLd_1_1
	opts.SafeMode = true
	opts.DocumentLoader = loader(t)
	return ld.NewJsonLdProcessor().Expand(in, opts)
}

// withContext returns the signed test vector with @context as a credential
// the platform issues has it: VC 2.0, then Zhengzhao's.
func withContext(t *testing.T, ctx ...string) ([]byte, *credential.Credential) {
	t.Helper()
	raw, err := os.ReadFile("testdata/signed.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	var ctxs []any
	for _, c := range ctx {
		ctxs = append(ctxs, c)
	}
	m["@context"] = ctxs
	subj := m["credentialSubject"].(map[string]any)
	subj["typeVersion"] = 2 // every Record member present
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	c, err := credential.Parse(out)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return out, c
}

func TestJSONLDSafeModeDefinesEveryTerm(t *testing.T) {
	doc, c := withContext(t, credential.ContextV2, testContextURL)
	expanded, err := expand(t, doc)
	if err != nil {
		t.Fatalf("safe-mode expansion of a credential with the Zhengzhao context: %v", err)
	}
	if len(expanded) != 1 {
		t.Fatalf("expanded to %d nodes, want 1", len(expanded))
	}
	node := expanded[0].(map[string]any)
	types, _ := node["@type"].([]any)
	if !containsValue(types, vocab+"ElectronicLicense") {
		t.Errorf("@type = %v, want %sElectronicLicense", types, vocab)
	}
	// The credential's own validFrom, validUntil and issuer keep the VC
	// meaning; the subject's the license's.
	for _, k := range []string{"https://www.w3.org/2018/credentials#validFrom", "https://www.w3.org/2018/credentials#issuer", "https://www.w3.org/2018/credentials#credentialStatus"} {
		if _, ok := node[k]; !ok {
			t.Errorf("the credential lost %s", k)
		}
	}
	subjects, _ := node["https://www.w3.org/2018/credentials#credentialSubject"].([]any)
	if len(subjects) != 1 {
		t.Fatalf("credentialSubject expanded to %v", subjects)
	}
	subj := subjects[0].(map[string]any)
	// Every member of license.Record has a term: adding a member without
	// one fails here.
	rt := reflect.TypeFor[license.Record]()
	for i := range rt.NumField() {
		key, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		iri := vocab + key
		switch key {
		case "name":
			iri = "https://schema.org/name"
		case "issuer":
			iri = vocab + "issuerName"
		case "validFrom", "validUntil":
			iri = vocab + "license" + strings.ToUpper(key[:1]) + key[1:]
		}
		if _, ok := subj[iri]; !ok {
			t.Errorf("credentialSubject.%s did not expand to %s; expanded subject keys: %v", key, iri, keys(subj))
		}
	}
	if len(subj) != rt.NumField() {
		t.Errorf("expanded subject has %d members, the record %d: %v", len(subj), rt.NumField(), keys(subj))
	}
	// fields is kept whole as a JSON literal: every type's keys, the
	// admin's too.
	f := subj[vocab+"fields"].([]any)[0].(map[string]any)
	if f["@type"] != "@json" {
		t.Fatalf("fields expanded to %v, want a JSON literal", f)
	}
	got, _ := json.Marshal(f["@value"])
	want, _ := json.Marshal(c.CredentialSubject.Fields)
	if !bytes.Equal(got, want) {
		t.Errorf("fields literal = %s, want %s", got, want)
	}
}

func TestJSONLDWithoutZhengzhaoContextFails(t *testing.T) {
	// The control: with the VC 2.0 context alone, a safe-mode processor
	// refuses the credential (holder, holderCode, fields … are undefined).
	doc, _ := withContext(t, credential.ContextV2)
	if _, err := expand(t, doc); err == nil {
		t.Fatal("safe-mode expansion without the Zhengzhao context succeeded; the test above proves nothing")
	}
}

func containsValue(list []any, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestTypeVersionMember: the subject's typeVersion is read as a positive
// integer and nothing else.
func TestTypeVersionMember(t *testing.T) {
	_, c := withContext(t, credential.ContextV2, testContextURL)
	if c.CredentialSubject.TypeVersion != 2 {
		t.Fatalf("TypeVersion = %d, want 2", c.CredentialSubject.TypeVersion)
	}
	raw, err := os.ReadFile("testdata/signed.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{`"2"`, `0`, `-1`, `2.5`, `true`} {
		doc := strings.Replace(string(raw), `"typeCode":`, `"typeVersion":`+bad+`,"typeCode":`, 1)
		_, err := credential.Parse([]byte(doc))
		var fe *credential.FormatError
		if !errors.As(err, &fe) || fe.Field != "credentialSubject.typeVersion" {
			t.Errorf("typeVersion %s: err = %v, want a FormatError on credentialSubject.typeVersion", bad, err)
		}
	}
}
