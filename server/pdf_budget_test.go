package server_test

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"net/http"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"zhengzhao/verifier"
)

// addFiles adds attachments to pdf with pdfcpu: small ones as given, and
// four whose streams are the raw zlib bytes bomb (a deflate bomb) when it
// is set.
func addFiles(t *testing.T, pdf []byte, small int, bomb []byte) []byte {
	t.Helper()
	model.ConfigPath = "disable"
	ctx, err := api.ReadContext(bytes.NewReader(pdf), model.NewDefaultConfiguration())
	if err != nil {
		t.Fatal(err)
	}
	for i := range small {
		name := fmt.Sprintf("extra-%03d.txt", i)
		if err := ctx.AddAttachment(model.Attachment{Reader: bytes.NewReader([]byte("x")), ID: name, FileName: name}, false); err != nil {
			t.Fatal(err)
		}
	}
	bombs := 0
	if bomb != nil {
		bombs = 4
	}
	for i := range bombs {
		name := fmt.Sprintf("bomb-%d.bin", i)
		l := int64(len(bomb))
		sd := types.StreamDict{Dict: types.Dict{"Type": types.Name("EmbeddedFile"), "Filter": types.Name("FlateDecode"), "Length": types.Integer(l)},
			StreamLength: &l, Raw: bomb, FilterPipeline: []types.PDFFilter{{Name: "FlateDecode"}}}
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

// A PDF over a limit gets 413 with the limit's code, a Chinese message
// naming the limit and the field; a stamped face gets a verdict whose face
// check names the field.
func TestVerifyHostilePDFs(t *testing.T) {
	e := newEnv(t)
	id, _ := e.issue(0)
	pdf := e.get("/api/v1/licenses/"+id+"/pdf", e.issuers[0])
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	zw.Write(make([]byte, 64<<20))
	zw.Close()

	tests := []struct {
		name     string
		pdf      []byte
		wantCode string
		wantMsg  string
	}{
		{"deflate bomb: 4 × 64 MiB", addFiles(t, pdf, 0, z.Bytes()), "pdf_inflated", "PDF 解压后的总大小超过上限 32 MiB"},
		{"40 attachments", addFiles(t, pdf, 40, nil), "pdf_attachments", "附件数量超过上限 16"},
	}
	for _, tt := range tests {
		a := e.do("POST", "/api/v1/verify", e.verifier, tt.pdf)
		var ae apiErr
		a.decode(t, &ae)
		if a.status != http.StatusRequestEntityTooLarge || ae.Code != tt.wantCode || ae.Message != tt.wantMsg || ae.Field != "file" {
			t.Errorf("%s: %d %+v, want 413 %s %q on file", tt.name, a.status, ae, tt.wantCode, tt.wantMsg)
		}
	}

	// Text stamped with pdfcpu over the validity (有效期限) of the genuine PDF.
	wm, err := api.TextWatermark("2099-12-31", "fontname:Helvetica, points:11, position:bl, offset:190 327, scalefactor:1 abs, rotation:0, backgroundcolor:#FFFFFF", true, false, types.POINTS)
	if err != nil {
		t.Fatal(err)
	}
	var stamped bytes.Buffer
	if err := api.AddWatermarks(bytes.NewReader(pdf), &stamped, nil, wm, model.NewDefaultConfiguration()); err != nil {
		t.Fatal(err)
	}
	r := e.verdict(e.do("POST", "/api/v1/verify", e.verifier, stamped.Bytes()))
	c, _ := r.Check(verifier.NameFace)
	if r.Valid || c.Status != verifier.CheckFail || c.Code != verifier.FaceOverlay || c.Field == "" {
		t.Errorf("stamped PDF: verdict %s, face %+v", r.Verdict, c)
	}
	t.Logf("stamped PDF: %s: face %s %s %s", r.Verdict, c.Code, c.Field, c.Reason)
}
