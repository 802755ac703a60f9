package registry_test

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var docs = flag.Bool("docs", false, "write ../docs/licenses/<type code>.png: the demo licenses as issued, at 80 dpi")

// TestDocsPictures issues one demo license of every type the demo
// departments issue, with the catalog's example record, and writes the first
// page of each PDF as a picture for the README. Run with -docs, then look at
// every picture before committing it.
func TestDocsPictures(t *testing.T) {
	if !*docs {
		t.Skip("run with -docs to write ../docs/licenses/*.png")
	}
	w := newWorld(t)
	ctx := context.Background()
	dir := filepath.Join("..", "docs", "licenses")
	old, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	for _, f := range old {
		os.Remove(f)
	}
	for i, d := range w.depts {
		for _, code := range d.Types {
			req := w.request(i)
			typ, _ := w.reg.Catalog().Type(code)
			rec := typ.Example(d.USCC, d.Name)
			req.TypeCode, req.Holder, req.HolderCode, req.Fields = code, rec.Holder, rec.HolderCode, rec.Fields
			lic, err := w.reg.Issue(ctx, w.issuer(i), req)
			if err != nil {
				t.Fatalf("%s: %v", typ.Name, err)
			}
			pdf, err := w.reg.PDF(ctx, lic.Identifier)
			if err != nil {
				t.Fatal(err)
			}
			in := filepath.Join(t.TempDir(), "l.pdf")
			os.WriteFile(in, pdf, 0o644)
			out := filepath.Join(dir, code)
			if b, err := exec.Command("pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", in, out).CombinedOutput(); err != nil {
				t.Fatalf("pdftoppm: %v %s", err, b)
			}
			t.Logf("%s %s: %d bytes PDF, QR %d characters", code, typ.Name, len(pdf), len(lic.Compact))
		}
	}
}
