package credential

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/emmansun/gmsm/sm3"
	"github.com/gowebpki/jcs"
)

// FuzzParse feeds Parse arbitrary bytes. Properties:
//   - no panic;
//   - the JSON reader is never more lenient than encoding/json, finds every
//     duplicate member the reference token walk finds, and writes the same
//     canonical form as github.com/gowebpki/jcs;
//   - whatever Parse accepts, Marshal writes and Parse reads back, and a
//     second Marshal gives the same bytes.
func FuzzParse(f *testing.F) {
	for _, name := range []string{signedFile, unsignedFile} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(bytes.ReplaceAll(b, []byte(`"holder":`), []byte(`"holder":"x","holder":`)))
		f.Add(append(bytes.Clone(b), "{}"...))
	}
	for _, s := range jcsCorpus {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"a":"\ud83d\ude00","\u0061":1}`))
	f.Add([]byte(`{"a":[1e400]}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		tr, ferr := parseDocument(data)
		root := tr.root
		dup, tokErr := duplicateByTokens(data)
		if ferr == nil {
			if !json.Valid(data) {
				t.Fatalf("parseDocument accepts what encoding/json rejects: %q", data)
			}
			if tokErr == nil && dup {
				t.Fatalf("parseDocument missed a duplicate member: %q", data)
			}
			want, err := jcs.Transform(data)
			if err != nil {
				t.Fatalf("parseDocument accepts what jcs.Transform rejects (%v): %q", err, data)
			}
			if got := tr.appendJCS(nil, &root); !bytes.Equal(got, want) {
				t.Fatalf("canonical form differs from jcs.Transform:\n got %s\nwant %s", got, want)
			}
			checkCanonicalFlags(t, &tr)
			canonical := root.flags&flagCanonical != 0
			if canonical && !bytes.Equal(want, data[root.start:root.end]) {
				t.Fatalf("input marked canonical but JCS differs:\n  in %s\njcs %s", data, want)
			}
			if canonical {
				slow := sm3.Sum(tr.appendJCSObject(nil, &root, "proof"))
				if tr.hashWithout(sm3.New(), &root, tr.member(&root, "proof"), "proof") != slow {
					t.Fatalf("document hash over the input bytes differs from the hash of the JCS form: %q", data)
				}
			}
		} else if ferr.Rule == RuleDuplicate && tokErr == nil && !dup && json.Valid(data) {
			t.Fatalf("parseDocument reports a duplicate the token walk does not see: %v: %q", ferr, data)
		}

		// ParseToVerify takes and refuses exactly what ParseEnvelope does,
		// and gives the same credential but for the Fields it leaves out.
		env, envRest, envErr := ParseEnvelope(data, "credential")
		ver, verRest, verErr := ParseToVerify(bytes.Clone(data), "credential")
		if (envErr == nil) != (verErr == nil) || (envErr != nil && envErr.Error() != verErr.Error()) {
			t.Fatalf("ParseEnvelope: %v; ParseToVerify: %v", envErr, verErr)
		}
		if envErr == nil {
			if ver.CredentialSubject.Fields != nil || ver.Context != nil || ver.Type != nil {
				t.Fatalf("ParseToVerify filled what it leaves out: %+v", ver)
			}
			// The status entries are kept (a verifier looks them up), their
			// statusMessage checked in place rather than copied.
			if len(ver.CredentialStatus) != len(env.CredentialStatus) {
				t.Fatalf("ParseToVerify kept %d status entries, ParseEnvelope %d", len(ver.CredentialStatus), len(env.CredentialStatus))
			}
			for i := range ver.CredentialStatus {
				if ver.CredentialStatus[i].Validate() != nil && env.CredentialStatus[i].Validate() == nil {
					t.Fatalf("status entry %d: valid as ParseEnvelope reads it, not as ParseToVerify does", i)
				}
			}
			env.CredentialSubject.Fields, env.Context, env.Type, env.CredentialStatus, ver.CredentialStatus = nil, nil, nil, nil, nil
			env.doc, ver.doc = nil, nil
			if !reflect.DeepEqual(env, ver) || len(envRest) != len(verRest) {
				t.Fatalf("ParseEnvelope and ParseToVerify differ:\n%+v\n%+v", env, ver)
			}
		}

		c, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("Parse error %v does not wrap ErrFormat", err)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Parse error %v is not a *FormatError", err)
			}
			return
		}
		if ferr != nil {
			t.Fatalf("Parse accepts what parseDocument rejects: %v", ferr)
		}
		// The proof functions must not panic on anything Parse accepts.
		_, _, _ = c.Hashes()
		_, _ = c.Signature()

		out, err := c.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed credential: %v", err)
		}
		c2, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(Parse(data))): %v\n%s", err, out)
		}
		out2, err := c2.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("Marshal is not stable across Parse:\n%s\n%s", out, out2)
		}
	})
}

// checkCanonicalFlags checks every object and array marked canonical: its
// bytes in the input must be their own JCS form.
func checkCanonicalFlags(t *testing.T, tr *tree) {
	t.Helper()
	for _, n := range append([]node{tr.root}, tr.nodes...) {
		if n.flags&flagCanonical == 0 {
			continue
		}
		raw := tr.raw(&n)
		want, err := jcs.Transform([]byte(raw))
		if err != nil || string(want) != raw {
			t.Fatalf("%s marked canonical, but its JCS form is %s (%v)", raw, want, err)
		}
	}
}
