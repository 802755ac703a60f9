package verifier_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"zhengzhao/credential"
	"zhengzhao/verifier"
	"zhengzhao/verifier/verifiertest"
)

// documentOf reads input as a Document.
func documentOf(input []byte) (verifier.Document, bool) {
	var doc verifier.Document
	err := json.Unmarshal(input, &doc)
	return doc, err == nil
}

// credentialOf returns the credential in a bare credential or a Document.
func credentialOf(input []byte) (*credential.Credential, bool) {
	if c, err := credential.Parse(input); err == nil {
		return c, true
	}
	doc, ok := documentOf(input)
	if !ok {
		return nil, false
	}
	c, err := credential.Parse(doc.Credential)
	return c, err == nil
}

// FuzzVerify: any bytes give a Result without error or panic, offline and
// online, and only a credential with the exact content (digests) of one the
// golden world issued can be valid.
func FuzzVerify(f *testing.F) {
	g := loadGolden(f)
	for _, in := range g.inputs {
		f.Add(in)
		f.Add(bytes.Replace(in, []byte(`"holder":"`), []byte(`"holder":"X`), 1))
	}
	f.Add([]byte(`{"credential":{},"receipt":{}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(``))

	ctx := context.Background()
	f.Fuzz(func(t *testing.T, input []byte) {
		for _, p := range []verifier.Policy{{At: verifiertest.Now}, {At: verifiertest.Now, Online: g.online}} {
			r, err := verifier.Verify(ctx, input, g.bundle, p)
			if err != nil {
				t.Fatalf("Verify error %v", err)
			}
			if len(r.Checks) != 8 {
				t.Fatalf("%d checks", len(r.Checks))
			}
			if !r.Valid {
				continue
			}
			c, ok := credentialOf(input)
			if !ok {
				t.Fatalf("valid, but no credential in %q", input)
			}
			ph, dh, err := c.Hashes()
			if err != nil || !g.known[string(ph)+string(dh)] {
				t.Fatalf("valid, but not an issued credential: %q", input)
			}
		}
	})
}

// FuzzParseBundle: any bytes give a bundle or an error without panic, and a
// bundle accepted has the content of the one the golden root signed.
func FuzzParseBundle(f *testing.F) {
	g := loadGolden(f)
	wantJSON, _ := json.Marshal(g.bundle)
	f.Add(g.bundleJSON)
	f.Add(bytes.Replace(g.bundleJSON, []byte(`"version":2`), []byte(`"version":1`), 1))
	f.Add([]byte(`{"version":2,"roots":[]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := verifier.ParseBundle(data, verifier.WithRootFingerprint(g.pin))
		if err != nil {
			return
		}
		got, _ := json.Marshal(b)
		if !bytes.Equal(got, wantJSON) {
			t.Fatalf("accepted a bundle the root did not sign: %s", got)
		}
	})
}

// FuzzExtract feeds mutated license PDFs to the two readers of outside
// PDFs: they may fail, but only with ErrNotLicensePDF or ErrTooLarge.
func FuzzExtract(f *testing.F) {
	w := verifiertest.NewWorld(f)
	a := w.Departments[0]
	lic := w.Issue(a, a.Types[0])
	f.Add(w.PDF(lic, lic.Document, w.Stamp(lic, a, a.Seal, verifiertest.IssuedAt), w.Compact(lic, a)))
	f.Add([]byte("%PDF-1.4\n%%EOF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := verifier.ExtractAttachments(b); err != nil && !errors.Is(err, verifier.ErrNotLicensePDF) && !errors.Is(err, verifier.ErrTooLarge) {
			t.Errorf("ExtractAttachments: %v", err)
		}
		if _, err := verifier.VisibleIdentifier(b); err != nil && !errors.Is(err, verifier.ErrNotLicensePDF) && !errors.Is(err, verifier.ErrTooLarge) {
			t.Errorf("VisibleIdentifier: %v", err)
		}
	})
}
