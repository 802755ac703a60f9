package server

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"zhengzhao/registry"
	"zhengzhao/registry/importer"
)

// TestImportThroughput measures batch import: ZZ_IMPORT_ROWS=100000 go test
// -run TestImportThroughput -v ./server/ runs that many distinct rows through
// a console import job (the same path as an uploaded CSV, minus the upload)
// and logs licenses per second, then runs them again and checks that the
// re-run issues nothing.
func TestImportThroughput(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ZZ_IMPORT_ROWS"))
	if n <= 0 {
		t.Skip("set ZZ_IMPORT_ROWS to measure batch import")
	}
	e := newWebEnv(t)
	typ, _ := e.reg.Catalog().Type(e.depts[0].Types[1]) // a type without the one-active rule
	rec := typ.Example(e.depts[0].USCC, e.depts[0].Name)
	actor := registry.Actor{Role: registry.RoleIssuer, Department: e.depts[0].USCC, Name: "import"}
	run := func() *registry.ImportJob {
		rows := make(importer.Rows, n)
		for i := range rows {
			req := registry.IssueRequest{TypeCode: typ.Code, Holder: fmt.Sprintf("导入测试公司%06d", i), HolderCode: rec.HolderCode, Jurisdiction: rec.Jurisdiction, Fields: rec.Fields}
			req.RequestKey = importer.RequestKey(e.depts[0].USCC, req, "")
			rows[i] = importer.Row{Line: i + 2, Request: req}
		}
		job := &registry.ImportJob{ID: fmt.Sprint(time.Now().UnixNano()), Department: e.depts[0].USCC, TypeCode: typ.Code, Started: time.Now(), Total: n}
		e.s.runImport(job, typ, actor, rows)
		return job
	}
	j := run()
	if j.Issued != n || j.Failed != 0 {
		t.Fatalf("first run: %+v", j)
	}
	secs := j.Finished.Sub(j.Started).Seconds()
	t.Logf("import of %d rows: %.1f s, %.0f licenses/s", n, secs, float64(n)/secs)
	j = run()
	if j.Issued != 0 || j.Existing != n {
		t.Fatalf("re-run: %+v", j)
	}
	t.Logf("re-run of the same %d rows: %.1f s, nothing issued", n, j.Finished.Sub(j.Started).Seconds())
}
