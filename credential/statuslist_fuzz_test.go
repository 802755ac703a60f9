package credential

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// FuzzDecodeList feeds DecodeList arbitrary strings. Properties:
//   - no panic, and every error is a *FormatError for encodedList;
//   - what it accepts is "u" + base64url of GZIP that an independent
//     reading (encoding/base64, compress/gzip, io.ReadAll) inflates to
//     exactly the bitstring returned;
//   - EncodeList of the result decodes to the same bitstring.
func FuzzDecodeList(f *testing.F) {
	var v statusListVector
	if err := json.Unmarshal(readTestdata(f, statusListVectorFile), &v); err != nil {
		f.Fatal(err)
	}
	f.Add(v.EncodedList)
	f.Add(v.EncodedList[:len(v.EncodedList)-3])
	f.Add("u" + base64.RawURLEncoding.EncodeToString(gzipBytes(f, make([]byte, ListBytes+1))))
	f.Add("u" + base64.RawURLEncoding.EncodeToString(bomb(f, 1<<16, 4)))
	f.Add("u")
	f.Add("uH4sIAAAAAAAA")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := DecodeList(s)
		if err != nil {
			var fe *FormatError
			if l != nil || !errors.As(err, &fe) || fe.Field != "encodedList" {
				t.Fatalf("DecodeList(%.40q) = %v, %v; want nil and a *FormatError for encodedList", s, l, err)
			}
			return
		}
		compressed, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(s, "u"))
		if err != nil || s[0] != 'u' {
			t.Fatalf("accepted what is not multibase base64url: %v", err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(compressed))
		if err != nil {
			t.Fatalf("accepted what is not GZIP: %v", err)
		}
		raw, err := io.ReadAll(io.LimitReader(zr, 2*ListBytes))
		if err != nil || !bytes.Equal(raw, l.Bytes()) {
			t.Fatalf("accepted a stream that inflates to %d bytes (%v), not the %d returned", len(raw), err, ListBytes)
		}
		enc, err := EncodeList(l)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeList(enc)
		if err != nil || !bytes.Equal(again.Bytes(), l.Bytes()) {
			t.Fatalf("EncodeList of an accepted list does not round-trip: %v", err)
		}
	})
}

// FuzzParseStatusListCredential feeds ParseStatusListCredential arbitrary
// bytes. Properties:
//   - no panic, and every error is a *FormatError;
//   - what it accepts names a list URL that StatusListURL rebuilds from the
//     parsed USCC and number, has a whole bitstring and a validity period,
//     and VerifyProof and CheckValidity run on it without panicking;
//   - only the stored, unchanged vector verifies with the vector key.
func FuzzParseStatusListCredential(f *testing.F) {
	signed := readTestdata(f, statusListSignedFile)
	f.Add(signed)
	f.Add(bytes.Replace(signed, []byte(`"validUntil":`), []byte(`"validUntil":"2099-01-01T00:00:00Z","validUntil":`), 1))
	f.Add(bytes.Replace(signed, []byte(`"message"`), []byte(`"revocation"`), 1))
	f.Add(bytes.Replace(signed, []byte(`/message/0`), []byte(`/message/00`), 1))
	f.Add([]byte(`{"@context":["https://www.w3.org/ns/credentials/v2"]}`))
	key := &vectorKey(f).PublicKey
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseStatusListCredential(data)
		if err != nil {
			var fe *FormatError
			if l != nil || !errors.As(err, &fe) {
				t.Fatalf("err = %v, want nil and a *FormatError", err)
			}
			return
		}
		base := l.ID[:strings.LastIndex(l.ID, "/status/")]
		if got := StatusListURL(base, l.USCC, l.Number); got != l.ID {
			t.Fatalf("id %q, rebuilt %q", l.ID, got)
		}
		if l.List == nil || !l.ValidUntil.After(l.ValidFrom) {
			t.Fatalf("accepted without a list or a validity period: %+v", l)
		}
		perr := l.VerifyProof(key)
		_ = l.CheckValidity(at)
		if perr == nil && !bytes.Equal(data, signed) {
			// SM2 signatures are not malleable here (r‖s canonical, one
			// proofValue per signature), so a changed document verifies
			// only if it has the same canonical form.
			if c := l.doc.appendJCS(nil, &l.doc.cred); !bytes.Equal(c, signed) {
				t.Fatalf("a changed list verifies: %s", data)
			}
		}
	})
}
