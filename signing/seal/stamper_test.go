package seal

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"zhengzhao/internal/cputime"
	"zhengzhao/signing"
)

// hashingOnly hides a signer's SignDigest: the Stamper must hash whole.
type hashingOnly struct{ signing.Signer }

// TestStamper: a Stamper's signatures read and verify as Sign's do, with a
// digest signer (the seal hashed once, the state reused for other
// propertyInfo lengths) and without one; it refuses what Sign refuses.
func TestStamper(t *testing.T) {
	w := newWorld(t)
	s := w.seal(t)
	for _, signer := range []signing.Signer{w.deptKey, hashingOnly{w.deptKey}} {
		st, err := NewStamper(signer, w.dept, s)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range []string{testPropertyInfo, testPropertyInfo, "license:1.2.156.3005.2.x", ""} {
			der, err := st.Sign(docHash(), signedAt, info)
			if err != nil {
				t.Fatal(err)
			}
			sig := parseSig(t, der)
			if !sig.Time.Equal(signedAt) || !bytes.Equal(sig.DataHash, docHash()) || sig.PropertyInfo != info || !bytes.Equal(sig.Seal.Raw, s.Raw) {
				t.Errorf("parsed stamp: %+v", sig)
			}
			if err := VerifySignature(sig, document, w.roots()); err != nil {
				t.Fatalf("%T, propertyInfo %q: VerifySignature: %v", signer, info, err)
			}
			plain := parseSig(t, w.signatureWith(t, s, info))
			if !bytes.Equal(sig.tbs, plain.tbs) {
				t.Errorf("the stamp's TBS_Sign differs from Sign's")
			}
		}
	}
	st, err := NewStamper(w.deptKey, w.dept, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Sign(docHash(), s.ValidEnd.Add(time.Hour), testPropertyInfo); !errors.Is(err, ErrSealValidity) {
		t.Errorf("stamped after the seal ended: %v, want ErrSealValidity", err)
	}
	if _, err := st.Sign(docHash()[:31], signedAt, testPropertyInfo); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("short digest: %v, want ErrInvalidInput", err)
	}
	if _, err := st.Sign(docHash(), signedAt, "许可证"); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("non-ASCII propertyInfo: %v, want ErrInvalidInput", err)
	}
	if _, err := NewStamper(w.otherKey, w.other, s); !errors.Is(err, ErrSignerNotListed) {
		t.Errorf("a key the seal does not list: %v, want ErrSignerNotListed", err)
	}
}

func (w *world) signatureWith(t testing.TB, s *Seal, info string) []byte {
	t.Helper()
	der, err := Sign(w.deptKey, w.dept, s, docHash(), signedAt, info)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// BenchmarkStamp compares Sign, which hashes the whole TBS_Sign (the seal
// in it) for every stamp, with a Stamper, which hashes the seal once.
func BenchmarkStamp(b *testing.B) {
	w := newWorld(b)
	s := w.seal(b)
	b.Run("Sign", func(b *testing.B) {
		defer cputime.Report(b)()
		for b.Loop() {
			if _, err := Sign(w.deptKey, w.dept, s, docHash(), signedAt, testPropertyInfo); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Stamper", func(b *testing.B) {
		st, err := NewStamper(w.deptKey, w.dept, s)
		if err != nil {
			b.Fatal(err)
		}
		defer cputime.Report(b)()
		for b.Loop() {
			if _, err := st.Sign(docHash(), signedAt, testPropertyInfo); err != nil {
				b.Fatal(err)
			}
		}
	})
}
