package credential

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"zhengzhao/license"
)

func TestParseRejects(t *testing.T) {
	signed := readTestdata(t, signedFile)
	edit := func(f func(m map[string]any)) func(t testing.TB) []byte {
		return func(t testing.TB) []byte {
			m := generic(t, signed)
			f(m)
			return encode(t, m)
		}
	}
	insertAfter := func(marker, insert string) func(t testing.TB) []byte {
		return func(t testing.TB) []byte {
			i := bytes.Index(signed, []byte(marker))
			if i < 0 {
				t.Fatalf("marker %q not in %s", marker, signedFile)
			}
			i += len(marker)
			return []byte(string(signed[:i]) + insert + string(signed[i:]))
		}
	}
	raw := func(s string) func(testing.TB) []byte { return func(testing.TB) []byte { return []byte(s) } }

	tests := []struct {
		name      string
		doc       func(t testing.TB) []byte
		wantField string
		wantRule  string
	}{
		{"over size", func(testing.TB) []byte { return append(bytes.Clone(signed), bytes.Repeat([]byte(" "), MaxSize)...) }, "", RuleSize},
		{"over size garbage", raw(strings.Repeat("[", MaxSize+1)), "", RuleSize},
		{"trailing object", func(testing.TB) []byte { return append(bytes.Clone(signed), "{}"...) }, "", RuleTrailing},
		{"trailing byte", func(testing.TB) []byte { return append(bytes.Clone(signed), 'x') }, "", RuleTrailing},
		{"second credential", func(testing.TB) []byte { return append(append(bytes.Clone(signed), '\n'), signed...) }, "", RuleTrailing},
		{"truncated", func(testing.TB) []byte { return signed[:len(signed)-1] }, "", RuleSyntax},
		{"array", raw(`[` + string(signed) + `]`), "", RuleType},
		{"null", raw(`null`), "", RuleType},
		{"duplicate id", insertAfter(`{`, `"id":"urn:license:forged",`), "id", RuleDuplicate},
		{"duplicate proof", insertAfter(`{`, `"proof":{},`), "proof", RuleDuplicate},
		{"duplicate holder", insertAfter(`"credentialSubject":{`, `"holder":"冒名公司",`), "credentialSubject.holder", RuleDuplicate},
		{"duplicate escaped", insertAfter(`"credentialSubject":{`, `"h\u006flder":"冒名公司",`), "credentialSubject.holder", RuleDuplicate},
		{"duplicate in fields", insertAfter(`"fields":{`, `"address":"x",`), "credentialSubject.fields.address", RuleDuplicate},
		{"duplicate in status", insertAfter(`"credentialStatus":[{`, `"statusListIndex":"1",`), "credentialStatus[0].statusListIndex", RuleDuplicate},
		{"duplicate in proof", insertAfter(`"proof":{`, `"cryptosuite":"sm2-jcs-2026",`), "proof.cryptosuite", RuleDuplicate},
		{"invalid utf8", insertAfter(`"credentialSubject":{`, "\"x\":\"\xff\",`"), "credentialSubject.x", RuleEncoding},
		{"no @context", edit(func(m map[string]any) { delete(m, "@context") }), "@context", RuleRequired},
		{"@context string", edit(func(m map[string]any) { m["@context"] = ContextV2 }), "@context", RuleType},
		{"@context empty", edit(func(m map[string]any) { m["@context"] = []any{} }), "@context[0]", RuleValue},
		{"@context v1", edit(func(m map[string]any) { m["@context"] = []any{"https://www.w3.org/2018/credentials/v1"} }), "@context[0]", RuleValue},
		{"@context object entry", edit(func(m map[string]any) { m["@context"] = []any{ContextV2, map[string]any{}} }), "@context[1]", RuleType},
		{"no id", edit(func(m map[string]any) { delete(m, "id") }), "id", RuleRequired},
		{"id number", edit(func(m map[string]any) { m["id"] = json.Number("7") }), "id", RuleType},
		{"id prefix", edit(func(m map[string]any) { m["id"] = "urn:uuid:1" }), "id", RuleValue},
		{"id bare prefix", edit(func(m map[string]any) { m["id"] = IDPrefix }), "id", RuleValue},
		{"type missing license", edit(func(m map[string]any) { m["type"] = []any{TypeCredential} }), "type", RuleValue},
		{"type string", edit(func(m map[string]any) { m["type"] = TypeCredential }), "type", RuleType},
		{"no issuer", edit(func(m map[string]any) { delete(m, "issuer") }), "issuer", RuleRequired},
		{"issuer string", edit(func(m map[string]any) { m["issuer"] = "urn:uscc:11430000006122244L" }), "issuer", RuleType},
		{"issuer id missing", edit(func(m map[string]any) { delete(obj(m, "issuer"), "id") }), "issuer.id", RuleRequired},
		{"issuer id prefix", edit(func(m map[string]any) { obj(m, "issuer")["id"] = "did:web:example.org" }), "issuer.id", RuleValue},
		{"issuer name number", edit(func(m map[string]any) { obj(m, "issuer")["name"] = json.Number("1") }), "issuer.name", RuleType},
		{"no validFrom", edit(func(m map[string]any) { delete(m, "validFrom") }), "validFrom", RuleRequired},
		{"validFrom date only", edit(func(m map[string]any) { m["validFrom"] = "2025-01-01" }), "validFrom", RuleDate},
		{"validUntil no zone", edit(func(m map[string]any) { m["validUntil"] = "2044-12-31T23:59:59" }), "validUntil", RuleDate},
		{"validUntil null", edit(func(m map[string]any) { m["validUntil"] = nil }), "validUntil", RuleType},
		{"no subject", edit(func(m map[string]any) { delete(m, "credentialSubject") }), "credentialSubject", RuleRequired},
		{"subject array", edit(func(m map[string]any) { m["credentialSubject"] = []any{} }), "credentialSubject", RuleType},
		{"subject name number", edit(func(m map[string]any) { obj(m, "credentialSubject")["name"] = json.Number("1") }), "credentialSubject.name", RuleType},
		{"subject fields array", edit(func(m map[string]any) { obj(m, "credentialSubject")["fields"] = []any{} }), "credentialSubject.fields", RuleType},
		{"subject field number", edit(func(m map[string]any) { obj(obj(m, "credentialSubject"), "fields")["address"] = json.Number("1") }), "credentialSubject.fields.address", RuleType},
		{"status object", edit(func(m map[string]any) { m["credentialStatus"] = map[string]any{} }), "credentialStatus", RuleType},
		{"status entry string", edit(func(m map[string]any) { m["credentialStatus"] = []any{"x"} }), "credentialStatus[0]", RuleType},
		{"status index number", edit(func(m map[string]any) {
			m["credentialStatus"].([]any)[0].(map[string]any)["statusListIndex"] = json.Number("5")
		}), "credentialStatus[0].statusListIndex", RuleType},
		{"status size string", edit(func(m map[string]any) {
			m["credentialStatus"].([]any)[0].(map[string]any)["statusSize"] = "3"
		}), "credentialStatus[0].statusSize", RuleType},
		{"status message object", edit(func(m map[string]any) {
			m["credentialStatus"].([]any)[0].(map[string]any)["statusMessage"] = map[string]any{}
		}), "credentialStatus[0].statusMessage", RuleType},
		{"no proof", edit(func(m map[string]any) { delete(m, "proof") }), "proof", RuleRequired},
		{"proof set", edit(func(m map[string]any) { m["proof"] = []any{m["proof"]} }), "proof", RuleType},
		{"proofValue number", edit(func(m map[string]any) { obj(m, "proof")["proofValue"] = json.Number("1") }), "proof.proofValue", RuleType},
		{"proof created bad", edit(func(m map[string]any) { obj(m, "proof")["created"] = "yesterday" }), "proof.created", RuleDate},
		{"number out of range", edit(func(m map[string]any) { m["x"] = json.Number("1e999") }), "x", RuleNumber},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.doc(t))
			if err == nil {
				t.Fatalf("Parse succeeded (%+v), want %s at %q", c, tt.wantRule, tt.wantField)
			}
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("Parse = %v, want ErrFormat", err)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Parse = %v, want *FormatError", err)
			}
			if fe.Rule != tt.wantRule || fe.Field != tt.wantField {
				t.Errorf("Parse = %v (field %q rule %q), want field %q rule %q", err, fe.Field, fe.Rule, tt.wantField, tt.wantRule)
			}
			if len(fe.Error()) > 300 {
				t.Errorf("error message is %d bytes long, want it bounded", len(fe.Error()))
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	signed := readTestdata(t, signedFile)
	tests := []struct {
		name string
		doc  func(t testing.TB) []byte
	}{
		{"as stored", func(testing.TB) []byte { return signed }},
		{"surrounding whitespace", func(testing.TB) []byte { return []byte("\n\t " + string(signed) + " \r\n") }},
		{"unknown members", func(t testing.TB) []byte {
			m := generic(t, signed)
			m["evidence"] = []any{map[string]any{"n": json.Number("1.5e3"), "ok": true, "none": nil}}
			obj(m, "credentialSubject")["extra"] = "x"
			return encode(t, m)
		}},
		{"no validUntil (长期)", func(t testing.TB) []byte {
			m := generic(t, signed)
			delete(m, "validUntil")
			delete(obj(m, "credentialSubject"), "validUntil")
			return encode(t, m)
		}},
		{"no credentialStatus", func(t testing.TB) []byte {
			m := generic(t, signed)
			delete(m, "credentialStatus")
			return encode(t, m)
		}},
		{"null fields", func(t testing.TB) []byte {
			m := generic(t, signed)
			obj(m, "credentialSubject")["fields"] = nil
			return encode(t, m)
		}},
		{"extra context and type", func(t testing.TB) []byte {
			m := generic(t, signed)
			m["@context"] = []any{ContextV2, "https://example.org/license/v1"}
			m["type"] = []any{TypeElectronicLicense, "BusinessLicense", TypeCredential}
			return encode(t, m)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.doc(t)
			got, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			// The fields must be what encoding/json would decode (the
			// document has no duplicates, so it is unambiguous).
			var want Credential
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatal(err)
			}
			got.doc = nil
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("Parse fields differ from encoding/json:\n got %+v\nwant %+v", *got, want)
			}
		})
	}
}

func TestParseKeepsRawAndCopies(t *testing.T) {
	data := bytes.Clone(readTestdata(t, signedFile))
	c, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		data[i] = ' '
	}
	if err := c.VerifyProof(&vectorKey(t).PublicKey); err != nil {
		t.Errorf("VerifyProof after the caller reused its buffer: %v", err)
	}
}

// TestRecordMembers checks decodeRecord knows every field of
// license.Record by its json name: each string field through recordString,
// the map through recordFieldsMember. A field added to the Record fails
// here until the credential decodes it.
func TestRecordMembers(t *testing.T) {
	var rec license.Record
	rv := reflect.ValueOf(&rec).Elem()
	for i, f := range reflect.VisibleFields(rv.Type()) {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch f.Type.Kind() {
		case reflect.String:
			got := recordString(&rec, name)
			if want := rv.Field(i).Addr().Interface().(*string); got != want {
				t.Errorf("recordString(%q) does not point at Record.%s", name, f.Name)
			}
		case reflect.Map:
			if name != recordFieldsMember {
				t.Errorf("Record.%s has json name %q, decodeRecord reads %q", f.Name, name, recordFieldsMember)
			}
		case reflect.Int:
			if name != recordTypeVersionMember {
				t.Errorf("Record.%s has json name %q, decodeRecord reads %q", f.Name, name, recordTypeVersionMember)
			}
		default:
			t.Errorf("Record.%s (%s): decodeRecord does not decode this kind", f.Name, f.Type)
		}
	}
	if recordString(&rec, "Name") != nil || recordString(&rec, "fields") != nil {
		t.Error("recordString takes a name that is not a string field's json name")
	}
}

// TestParseEnvelope: a credential alone or wrapped beside other members,
// read in one pass, the envelope held to the same JSON rules.
func TestParseEnvelope(t *testing.T) {
	signed := string(readTestdata(t, signedFile))
	bare, err := Parse([]byte(signed))
	if err != nil {
		t.Fatal(err)
	}
	wantHashes := func(t *testing.T, c *Credential) {
		t.Helper()
		p1, d1, err1 := bare.Hashes()
		p2, d2, err2 := c.Hashes()
		if err1 != nil || err2 != nil || !bytes.Equal(p1, p2) || !bytes.Equal(d1, d2) {
			t.Errorf("hashes differ from the bare credential's: %v %v", err1, err2)
		}
	}
	t.Run("bare", func(t *testing.T) {
		c, rest, err := ParseEnvelope([]byte(signed), "credential")
		if err != nil || rest != nil || c.ID != bare.ID {
			t.Fatalf("= %v, %v, %v", c, rest, err)
		}
		wantHashes(t, c)
	})
	t.Run("wrapped", func(t *testing.T) {
		in := `{"receipt": {"log_index": 3} ,"credential":` + signed + `, "note":"x"}`
		c, rest, err := ParseEnvelope([]byte(in), "credential")
		if err != nil {
			t.Fatal(err)
		}
		if c.ID != bare.ID || c.CredentialSubject.Holder != bare.CredentialSubject.Holder {
			t.Errorf("credential %+v", c)
		}
		wantHashes(t, c) // the wrapped credential is still hashed over its own bytes
		got := map[string]string{}
		for _, m := range rest {
			got[m.Name] = string(m.JSON)
		}
		if len(got) != 2 || got["receipt"] != `{"log_index": 3}` || got["note"] != `"x"` {
			t.Errorf("rest = %q", got)
		}
	})
	for _, tt := range []struct {
		name, in, field, rule string
	}{
		{"credential not an object", `{"credential":"x"}`, "credential", RuleType},
		{"error inside names the envelope", `{"credential":` + strings.Replace(signed, `"validFrom":"`, `"validFrom":5,"v":"`, 1) + `}`, "credential.credentialSubject.validFrom", RuleType},
		{"duplicate in the envelope", `{"credential":` + signed + `,"credential":` + signed + `}`, "credential", RuleDuplicate},
		{"trailing after the envelope", `{"credential":` + signed + `} {}`, "", RuleTrailing},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseEnvelope([]byte(tt.in), "credential")
			var fe *FormatError
			if !errors.As(err, &fe) || fe.Field != tt.field || fe.Rule != tt.rule {
				t.Errorf("err = %v, want %s at %q", err, tt.rule, tt.field)
			}
		})
	}
}
