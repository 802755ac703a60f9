package seal

import (
	"bytes"
	"image"
	"image/png"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// refEncodeTBS and refMarshalSignature are the cryptobyte encoders that
// newTBS and marshalSignatureParts replaced, kept as the reference they must
// match byte for byte.
func refEncodeTBS(seal *Seal, dataHash []byte, at time.Time, propertyInfo string) ([]byte, error) {
	tb := cryptobyte.NewBuilder(nil)
	tb.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(Version4)
		b.AddBytes(seal.Raw)
		addGeneralizedTime(b, at)
		b.AddASN1BitString(dataHash)
		addIA5(b, propertyInfo)
	})
	return tb.Bytes()
}

func refMarshalSignature(tbs, certDER, sigDER []byte) ([]byte, error) {
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		b.AddASN1OctetString(certDER)
		b.AddASN1ObjectIdentifier(OIDSM2WithSM3)
		b.AddASN1BitString(sigDER)
	})
	return b.Bytes()
}

// TestEncodeMatchesReference: the TBS_Sign and SES_Signature written in
// parts are byte for byte what the cryptobyte encoders write, for seals,
// propertyInfo, certificates and signatures whose lengths cross every DER
// length form (1, 2, 3 and 4 length octets), and for times with and without
// fractions of a second, in and out of UTC.
func TestEncodeMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	bytesOf := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	shanghai := time.FixedZone("CST", 8*3600)
	times := []time.Time{
		signedAt,
		signedAt.Add(123456789 * time.Nanosecond),
		time.Date(2026, 12, 31, 23, 59, 59, 999999999, shanghai),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
	}
	var sealSizes []int
	for _, edge := range []int{0x80, 0x100, 0x10000} {
		for d := -40; d <= 4; d += 4 {
			sealSizes = append(sealSizes, edge+d)
		}
	}
	// 3 length octets, and SES_Signatures around the size limit.
	sealSizes = append(sealSizes, 3, 35*1024, 0x10000*3, MaxSize-maxPropertyInfo-600, MaxSize-1400, MaxSize-20)
	infos := []string{"", "x", "license:" + strings.Repeat("9", 60), strings.Repeat("a", 127), strings.Repeat("b", 128),
		strings.Repeat("c", 255), strings.Repeat("d", 256), strings.Repeat("e", maxPropertyInfo)}
	for _, size := range sealSizes {
		s := &Seal{Raw: bytesOf(size)}
		for i, info := range infos {
			at := times[(size+i)%len(times)]
			hash := bytesOf([]int{32, 0, 1, 64}[i%4])
			want, err := refEncodeTBS(s, hash, at, info)
			if err != nil {
				t.Fatal(err)
			}
			tb, err := newTBS(s, hash, at, info)
			if len(want)-4 > MaxSize { // too long a TBS_Sign: the reference failed later, at the SES_Signature
				if err == nil {
					t.Errorf("seal %d bytes: a %d-byte TBS_Sign was accepted", size, len(want))
				}
				continue
			}
			if err != nil {
				t.Fatalf("seal %d, propertyInfo %d: %v", size, len(info), err)
			}
			if got := tb.bytes(); !bytes.Equal(got, want) {
				t.Fatalf("seal %d bytes, propertyInfo %d, %v: TBS_Sign differs from the reference", size, len(info), at)
			}
			cert, sigDER := bytesOf(rng.IntN(1200)), bytesOf(68+rng.IntN(6))
			wantSig, err := refMarshalSignature(want, cert, sigDER)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tb.marshalSignature(cert, sigDER)
			if len(wantSig) > MaxSize {
				if err == nil {
					t.Errorf("seal %d bytes: a %d-byte SES_Signature was written", size, len(wantSig))
				}
				continue
			}
			if err != nil {
				t.Fatalf("seal %d bytes, propertyInfo %d: %v", size, len(info), err)
			}
			if !bytes.Equal(got, wantSig) {
				t.Fatalf("seal %d bytes, propertyInfo %d, cert %d, signature %d: SES_Signature differs from the reference",
					size, len(info), len(cert), len(sigDER))
			}
			if got2, err := marshalSignature(want, cert, sigDER); err != nil || !bytes.Equal(got2, wantSig) {
				t.Fatalf("marshalSignature of a whole TBS_Sign differs from the reference (%v)", err)
			}
		}
	}
}

// TestStampMatchesReference: real stamps, with a seal the size of a
// registry's (a 35 KB picture) and a small one, are what the reference
// encoders write around the same signature value, and verify.
func TestStampMatchesReference(t *testing.T) {
	w := newWorld(t)
	big := newWorld(t)
	big.picture = Picture{Type: "PNG", Data: noisyPNG(t, 100), WidthMM: 42, HeightMM: 42}
	for _, w := range []*world{w, big} {
		s := w.seal(t)
		st, err := NewStamper(w.deptKey, w.dept, s)
		if err != nil {
			t.Fatal(err)
		}
		for i, info := range []string{"license:44-1.2.156.3005.2.11100000000013127D.001-000001-1", "", strings.Repeat("p", 300)} {
			at := signedAt.Add(time.Duration(i) * 1500 * time.Millisecond)
			for _, signer := range []func() ([]byte, error){
				func() ([]byte, error) { return st.Sign(docHash(), at, info) },
				func() ([]byte, error) { return Sign(w.deptKey, w.dept, s, docHash(), at, info) },
			} {
				der, err := signer()
				if err != nil {
					t.Fatal(err)
				}
				sig := parseSig(t, der)
				tbs, err := refEncodeTBS(s, docHash(), at, info)
				if err != nil {
					t.Fatal(err)
				}
				want, err := refMarshalSignature(tbs, w.dept.Raw, sig.Value)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(der, want) {
					t.Fatalf("seal of %d bytes, propertyInfo %q: stamp differs from the reference encoding", len(s.Raw), info)
				}
				if err := VerifySignature(sig, document, w.roots()); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// noisyPNG is a PNG of n×n random pixels: it does not compress, like a
// scanned seal picture (n = 100 gives some 40 KB).
func noisyPNG(t testing.TB, n int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range img.Pix {
		img.Pix[i] = byte(rng.Uint32())
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestDERHeadMatchesCryptobyte: appendDERHead and derLen agree with
// cryptobyte on every length around each change of the length form.
func TestDERHeadMatchesCryptobyte(t *testing.T) {
	var ns []int
	for n := 0; n <= 300; n++ {
		ns = append(ns, n)
	}
	for n := 0xffff - 8; n <= 0x10000+8; n++ {
		ns = append(ns, n)
	}
	ns = append(ns, 0xffffff, 0x1000000)
	content := make([]byte, 0x1000000)
	for _, n := range ns {
		b := cryptobyte.NewBuilder(nil)
		b.AddASN1(casn1.OCTET_STRING, func(b *cryptobyte.Builder) { b.AddBytes(content[:n]) })
		want := b.BytesOrPanic()
		head := appendDERHead(nil, casn1.OCTET_STRING, n)
		if !bytes.Equal(head, want[:len(want)-n]) {
			t.Fatalf("%d content bytes: head % x, cryptobyte % x", n, head, want[:len(want)-n])
		}
		if derLen(n) != len(want) {
			t.Fatalf("%d content bytes: derLen %d, cryptobyte wrote %d", n, derLen(n), len(want))
		}
	}
}
