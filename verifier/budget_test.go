package verifier_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"zhengzhao/internal/limits"
	"zhengzhao/verifier"
	"zhengzhao/verifier/verifiertest"
)

// zeroBomb is zlib of n zero bytes: about a thousandth of n.
func zeroBomb(n int) []byte {
	var buf bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	chunk := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, len(chunk))
		zw.Write(chunk[:k])
		n -= k
	}
	zw.Close()
	return buf.Bytes()
}

var bomb128 = sync.OnceValue(func() []byte { return zeroBomb(128 << 20) })

// withAttachments adds files to a PDF with pdfcpu: small ones as pdfcpu
// embeds them, and raw ones with the given (already deflated) stream
// bytes, as a deflate bomb is made.
func withAttachments(t testing.TB, pdf []byte, small map[string][]byte, raw map[string][]byte) []byte {
	t.Helper()
	model.ConfigPath = "disable"
	ctx, err := api.ReadContext(bytes.NewReader(pdf), model.NewDefaultConfiguration())
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range small {
		if err := ctx.AddAttachment(model.Attachment{Reader: bytes.NewReader(data), ID: name, FileName: name, ModTime: &verifiertest.IssuedAt}, false); err != nil {
			t.Fatal(err)
		}
	}
	for name, z := range raw {
		l := int64(len(z))
		sd := types.StreamDict{
			Dict:           types.Dict{"Type": types.Name("EmbeddedFile"), "Filter": types.Name("FlateDecode"), "Length": types.Integer(len(z))},
			StreamLength:   &l,
			Raw:            z,
			FilterPipeline: []types.PDFFilter{{Name: "FlateDecode"}},
		}
		ir, err := ctx.IndRefForNewObject(sd)
		if err != nil {
			t.Fatal(err)
		}
		fs := types.Dict{"Type": types.Name("Filespec"), "F": types.StringLiteral(name), "UF": types.StringLiteral(name), "EF": types.Dict{"F": *ir}}
		fsir, err := ctx.IndRefForNewObject(fs)
		if err != nil {
			t.Fatal(err)
		}
		if err := ctx.LocateNameTree("EmbeddedFiles", true); err != nil {
			t.Fatal(err)
		}
		if err := ctx.Names["EmbeddedFiles"].Add(ctx.XRefTable, name, *fsir, model.NameMap{name: []types.Dict{fs}}, []string{"F", "UF"}); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := api.WriteContext(ctx, &out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// cost runs f and reports the bytes it allocated and the CPU time the
// process spent meanwhile.
func cost(f func()) (alloc uint64, cpu time.Duration) {
	runtime.GC()
	var before, after runtime.MemStats
	var ru0, ru1 syscall.Rusage
	runtime.ReadMemStats(&before)
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	f()
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	runtime.ReadMemStats(&after)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	cpu = tv(ru1.Utime) - tv(ru0.Utime) + tv(ru1.Stime) - tv(ru0.Stime)
	return after.TotalAlloc - before.TotalAlloc, cpu
}

// A hostile PDF costs a bounded amount of memory and gets an error that
// names the limit: a deflate bomb in attachments, and many attachments.
func TestPDFBudget(t *testing.T) {
	w := verifiertest.NewWorld(t)
	a := w.Departments[0]
	lic := w.Issue(a, a.Types[0])
	good := w.PDF(lic, lic.Document, w.Stamp(lic, a, a.Seal, verifiertest.IssuedAt), w.Compact(lic, a))

	bombs := map[string][]byte{}
	for i := range 12 { // 12 × 128 MiB = 1.5 GiB inflated, in about 1.5 MB
		bombs[fmt.Sprintf("extra-%02d.bin", i)] = bomb128()
	}
	many := map[string][]byte{}
	for i := range 100 {
		many[fmt.Sprintf("a%03d.txt", i)] = []byte("x")
	}
	tests := []struct {
		name     string
		pdf      []byte
		wantCode string
		wantMsg  string
	}{
		{"deflate bomb in attachments", withAttachments(t, good, nil, bombs), "pdf_inflated", "PDF 解压后的总大小超过上限 32 MiB"},
		{"deflate bomb as the credential", withAttachments(t, w.PDF(lic, nil, nil, w.Compact(lic, a)), nil, map[string][]byte{verifier.AttachmentCredential: bomb128()}), "pdf_inflated", "PDF 解压后的总大小超过上限 32 MiB"},
		{"100 attachments", withAttachments(t, good, many, nil), "pdf_attachments", "附件数量超过上限 16"},
		{"too large", append(bytes.Clone(good), make([]byte, limits.PDFSize)...), "pdf_size", "PDF 文件大小超过上限 10 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var res *verifier.Result
			alloc, cpu := cost(func() {
				var err error
				res, err = verifier.Verify(context.Background(), tt.pdf, w.Bundle(nil), verifier.Policy{At: verifiertest.Now})
				if err != nil {
					t.Fatal(err)
				}
			})
			t.Logf("%d-byte PDF: allocated %.1f MiB, CPU %v", len(tt.pdf), float64(alloc)/(1<<20), cpu)
			var le *limits.ExceededError
			if !errors.Is(res.InputErr, verifier.ErrTooLarge) || !errors.As(res.InputErr, &le) {
				t.Fatalf("InputErr = %v, want ErrTooLarge with a limit", res.InputErr)
			}
			if le.Code != tt.wantCode || le.Message != tt.wantMsg {
				t.Errorf("limit = %q %q, want %q %q", le.Code, le.Message, tt.wantCode, tt.wantMsg)
			}
			// The issue's budget per request: 256 MiB.
			if alloc > 256<<20 {
				t.Errorf("allocated %d MiB, want at most 256", alloc>>20)
			}
		})
	}
	// The genuine PDF still verifies, within a small budget.
	alloc, cpu := cost(func() {
		res, err := verifier.Verify(context.Background(), good, w.Bundle(nil), verifier.Policy{At: verifiertest.Now})
		if err != nil || res.Verdict != verifier.VerdictValid {
			t.Fatalf("genuine PDF: %v %+v", err, res)
		}
	})
	t.Logf("genuine %d-byte PDF: allocated %.1f MiB, CPU %v", len(good), float64(alloc)/(1<<20), cpu)
}

// BenchmarkPDFBomb measures Verify on a 1.5 GiB deflate bomb in 12
// attachments (about 1.5 MB of PDF).
func BenchmarkPDFBomb(b *testing.B) {
	w := verifiertest.NewWorld(b)
	a := w.Departments[0]
	lic := w.Issue(a, a.Types[0])
	good := w.PDF(lic, lic.Document, w.Stamp(lic, a, a.Seal, verifiertest.IssuedAt), w.Compact(lic, a))
	bombs := map[string][]byte{}
	for i := range 12 {
		bombs[fmt.Sprintf("extra-%02d.bin", i)] = bomb128()
	}
	pdf := withAttachments(b, good, nil, bombs)
	bundle := w.Bundle(nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		verifier.Verify(context.Background(), pdf, bundle, verifier.Policy{At: verifiertest.Now})
	}
}

// BenchmarkVerifyPDF measures Verify on a genuine license PDF: reading it
// within the limits, the seal and the face.
func BenchmarkVerifyPDF(b *testing.B) {
	w := verifiertest.NewWorld(b)
	a := w.Departments[0]
	lic := w.Issue(a, a.Types[0])
	pdf := w.PDF(lic, lic.Document, w.Stamp(lic, a, a.Seal, verifiertest.IssuedAt), w.Compact(lic, a))
	bundle := w.Bundle(nil)
	b.ReportAllocs()
	for b.Loop() {
		res, err := verifier.Verify(context.Background(), pdf, bundle, verifier.Policy{At: verifiertest.Now})
		if err != nil || !res.Valid {
			b.Fatal(err, res.Checks)
		}
	}
}
