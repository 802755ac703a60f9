package server_test

import (
	"bytes"
	"encoding/json"
	"image/jpeg"
	"image/png"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"zhengzhao/verifier"
)

// postMultipart posts data as the "file" part of a form to /api/v1/verify.
func (e *env) postMultipart(token, filename string, data []byte) answer {
	e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		e.t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/verify", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return answer{resp.StatusCode, b.Bytes()}
}

func (e *env) verdict(a answer) verifier.Result {
	e.t.Helper()
	if a.status != http.StatusOK {
		e.t.Fatalf("verify: %d %s", a.status, a.body)
	}
	var r verifier.Result
	a.decode(e.t, &r)
	return r
}

func (e *env) get(path, token string) []byte {
	e.t.Helper()
	a := e.do("GET", path, token, nil)
	if a.status != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", path, a.status, a.body)
	}
	return a.body
}

// pageToPNG renders the first page of a PDF to PNG with pdftoppm, as a
// printed license photographed by a phone would look.
func pageToPNG(t *testing.T, pdf []byte) []byte {
	t.Helper()
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Fatal("pdftoppm is needed (Debian package poppler-utils)")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "license.pdf")
	os.WriteFile(in, pdf, 0o600)
	out := filepath.Join(dir, "page")
	if b, err := exec.Command("pdftoppm", "-png", "-r", "200", "-f", "1", "-l", "1", "-singlefile", in, out).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, b)
	}
	png, err := os.ReadFile(out + ".png")
	if err != nil {
		t.Fatal(err)
	}
	return png
}

// toJPEG re-encodes a picture as a JPEG of phone-camera quality.
func toJPEG(t *testing.T, pngData []byte) []byte {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A clerk verifies every form a holder shows: the PDF (raw and uploaded),
// the QR code picture, a photo of the printed page, the ZZ1 payload; after
// the department revokes, every form says revoked.
func TestVerifyEveryForm(t *testing.T) {
	e := newEnv(t)
	id, _ := e.issue(0)
	var doc struct {
		Compact string `json:"compact"`
	}
	json.Unmarshal(e.get("/api/v1/licenses/"+id, e.issuers[0]), &doc)
	if len(doc.Compact) < 10 {
		t.Fatalf("license has no compact form: %q", doc.Compact)
	}
	pdf := e.get("/api/v1/licenses/"+id+"/pdf", e.issuers[0])
	qr := e.get("/api/v1/licenses/"+id+"/qr.png", e.issuers[0])
	page := pageToPNG(t, pdf)
	photo := toJPEG(t, page)
	if dir := os.Getenv("ZZ_TEST_ARTIFACTS"); dir != "" {
		os.WriteFile(filepath.Join(dir, "license.pdf"), pdf, 0o644)
		os.WriteFile(filepath.Join(dir, "page.png"), page, 0o644)
		os.WriteFile(filepath.Join(dir, "qr.png"), qr, 0o644)
		os.WriteFile(filepath.Join(dir, "compact.txt"), []byte(doc.Compact), 0o644)
	}

	forms := []struct {
		name     string
		send     func() answer
		wantForm string
	}{
		{"PDF as the body", func() answer { return e.do("POST", "/api/v1/verify", e.verifier, pdf) }, verifier.FormPDF},
		{"PDF uploaded", func() answer { return e.postMultipart(e.verifier, "license.pdf", pdf) }, verifier.FormPDF},
		{"QR code picture", func() answer { return e.postMultipart(e.verifier, "qr.png", qr) }, verifier.FormPhoto},
		{"scan of the printed page", func() answer { return e.postMultipart(e.verifier, "scan.png", page) }, verifier.FormPhoto},
		{"JPEG photo of the printed page", func() answer { return e.postMultipart(e.verifier, "IMG_0001.jpg", photo) }, verifier.FormPhoto},
		{"ZZ1 payload", func() answer { return e.do("POST", "/api/v1/verify", e.verifier, []byte(doc.Compact)) }, verifier.FormCompact},
	}
	for _, f := range forms {
		a := f.send()
		if a.status != http.StatusOK {
			t.Errorf("%s: %d %s", f.name, a.status, a.body)
			continue
		}
		r := e.verdict(a)
		if r.Verdict != verifier.VerdictValid || r.Form != f.wantForm || r.Identifier != id {
			t.Errorf("%s: verdict %s, form %s, id %s; checks %+v", f.name, r.Verdict, r.Form, r.Identifier, r.Checks)
		}
		if f.wantForm == verifier.FormPDF {
			for _, name := range []string{verifier.NameSeal, verifier.NameFace} {
				if c, ok := r.Check(name); !ok || c.Status != verifier.CheckPass {
					t.Errorf("%s: check %s = %+v", f.name, name, c)
				}
			}
		}
	}

	if a := e.do("POST", "/api/v1/licenses/"+id+"/status", e.issuers[0], []byte(`{"status":"revoked","reason":"penalty"}`)); a.status != 200 {
		t.Fatalf("revoke: %d %s", a.status, a.body)
	}
	for _, f := range forms {
		if r := e.verdict(f.send()); r.Verdict != verifier.VerdictRevoked {
			t.Errorf("%s after revocation: verdict %s; checks %+v", f.name, r.Verdict, r.Checks)
		}
	}
}

// What is not a license gets a clear error, never a verdict or a 500.
func TestVerifyUnreadableUploads(t *testing.T) {
	e := newEnv(t)
	seal := e.get("/api/v1/departments/"+e.depts[0].USCC+"/seal.png", "")
	plainPDF := []byte("%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF")
	huge := bytes.Repeat([]byte("x"), 10<<20+1)
	tests := []struct {
		name       string
		send       func() answer
		wantStatus int
		wantCode   string
	}{
		{"picture without a QR code", func() answer { return e.postMultipart(e.verifier, "seal.png", seal) }, 422, "no_qr_code"},
		{"PDF that is not a license", func() answer { return e.postMultipart(e.verifier, "x.pdf", plainPDF) }, 422, "not_license_pdf"},
		{"upload over 10 MiB", func() answer { return e.postMultipart(e.verifier, "big.pdf", huge) }, 413, "too_large"},
		{"body over 10 MiB", func() answer { return e.do("POST", "/api/v1/verify", e.verifier, huge) }, 413, "too_large"},
	}
	for _, tt := range tests {
		a := tt.send()
		var ae apiErr
		if a.status != tt.wantStatus {
			t.Errorf("%s: %d %s, want %d", tt.name, a.status, a.body, tt.wantStatus)
			continue
		}
		a.decode(t, &ae)
		if ae.Code != tt.wantCode || ae.Message == "" {
			t.Errorf("%s: %+v, want code %s", tt.name, ae, tt.wantCode)
		}
	}
}
