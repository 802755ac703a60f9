package seal

import (
	"bytes"
	"testing"
)

// FuzzParseSeal feeds arbitrary bytes to ParseSeal: it must never panic,
// and whatever it accepts must survive Verify and keep its input as Raw.
func FuzzParseSeal(f *testing.F) {
	w := newWorld(f)
	f.Add(w.seal(f).Raw)
	f.Add(w.v2Seal(f))
	p := w.props()
	p.ListDigests = true
	s, err := Make(w.rootKey, w.root, p)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(s.Raw)
	f.Add([]byte{0x30, 0x00})
	roots := w.roots()
	f.Fuzz(func(t *testing.T, der []byte) {
		s, err := ParseSeal(der)
		if err != nil {
			return
		}
		if !bytes.Equal(s.Raw, der) {
			t.Fatal("Raw is not the input")
		}
		_ = s.Verify(roots)
		_ = s.lists(der)
	})
}

// FuzzParseSignature feeds arbitrary bytes to ParseSignature: it must never
// panic, and whatever it accepts must survive VerifySignature.
func FuzzParseSignature(f *testing.F) {
	w := newWorld(f)
	f.Add(w.signature(f, w.seal(f)))
	f.Add(w.v2Signature(f, signedAt))
	f.Add([]byte{0x30, 0x03, 0x30, 0x01, 0x02})
	roots := w.roots()
	f.Fuzz(func(t *testing.T, der []byte) {
		sig, err := ParseSignature(der)
		if err != nil {
			return
		}
		if !bytes.Equal(sig.Raw, der) || sig.Seal == nil {
			t.Fatal("accepted signature lost its input or seal")
		}
		_ = VerifySignature(sig, document, roots)
	})
}
