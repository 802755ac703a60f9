package server

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"zhengzhao/registry"
)

// TestImportThroughput measures batch import: ZZ_IMPORT_ROWS=100000 go test
// -run TestImportThroughput -v ./server/ runs that many distinct rows through
// the import workers (the same path as an uploaded CSV, minus the upload)
// and logs licenses per second, then runs them again and checks that the
// re-run issues nothing.
func TestImportThroughput(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ZZ_IMPORT_ROWS"))
	if n <= 0 {
		t.Skip("set ZZ_IMPORT_ROWS to measure batch import")
	}
	e := newWebEnv(t)
	typ, _ := e.reg.Catalog().Type(e.licA.TypeCode)
	rec := typ.Example(e.depts[0].USCC, e.depts[0].Name)
	actor := registry.Actor{Role: registry.RoleIssuer, Department: e.depts[0].USCC, Name: "import"}
	run := func() importProgress {
		job := &importJob{ID: fmt.Sprint(time.Now().UnixNano()), Department: e.depts[0].USCC, TypeCode: typ.Code, Started: time.Now(), total: n}
		rows := make(chan []string, 1024)
		go func() {
			for i := range n {
				row := []string{fmt.Sprint(i + 2), fmt.Sprintf("导入测试公司%06d", i), rec.HolderCode, rec.Jurisdiction, "", "", "", ""}
				for _, f := range typ.Fields {
					row = append(row, rec.Fields[f.Key])
				}
				rows <- row
			}
			close(rows)
		}()
		e.s.runImport(job, typ, actor, rows)
		return job.progress(false)
	}
	p := run()
	if p.Issued != n || p.Failed != 0 {
		t.Fatalf("first run: %+v", p)
	}
	t.Logf("import of %d rows: %.1f s, %.0f licenses/s", n, p.Seconds, float64(n)/p.Seconds)
	p = run()
	if p.Issued != 0 || p.Existing != n {
		t.Fatalf("re-run: %+v", p)
	}
	t.Logf("re-run of the same %d rows: %.1f s, nothing issued", n, p.Seconds)
}
