package tlog

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzParseCheckpoint checks that ParseCheckpoint never panics and that what
// it accepts re-encodes to the same body (when it has no extension lines).
func FuzzParseCheckpoint(f *testing.F) {
	root := base64.StdEncoding.EncodeToString(make([]byte, 32))
	sig := "— k " + base64.StdEncoding.EncodeToString(make([]byte, 68)) + "\n"
	f.Add("zhengzhao.local/ledger\n5\n" + root + "\n\n" + sig)
	f.Add("o\n0\n" + root + "\next\n\n" + sig + sig)
	f.Add("\n\n— \n")
	f.Fuzz(func(t *testing.T, note string) {
		cp, err := ParseCheckpoint(note)
		if err != nil {
			return
		}
		body, err := cp.Body()
		if err != nil {
			t.Fatalf("accepted checkpoint %+v has no body: %v", cp, err)
		}
		if !bytes.HasPrefix([]byte(note), []byte(body)) {
			t.Fatalf("body %q is not the start of the accepted note %q", body, note)
		}
	})
}

// FuzzVerifyCheckpoint checks that verification of arbitrary notes never
// panics and never accepts a note the test key did not sign.
func FuzzVerifyCheckpoint(f *testing.F) {
	s := newSigner(f)
	note, err := SignCheckpoint(Checkpoint{Origin: testOrigin, Size: 1, Root: LeafHash(nil)}, testOrigin, s)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(note)
	f.Add(note[:len(note)/2])
	body := note[:strings.Index(note, "\n\n")+1]
	f.Fuzz(func(t *testing.T, in string) {
		if _, err := VerifyCheckpoint(in, testOrigin, s.Public()); err != nil {
			return
		}
		// The signature covers the body: only the body the key signed verifies.
		if !strings.HasPrefix(in, body+"\n") {
			t.Fatalf("verified a checkpoint the key never signed: %q", in)
		}
	})
}
