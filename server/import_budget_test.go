package server

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"zhengzhao/internal/limits"
)

// A large CSV of bad rows: the job keeps the first limits.ImportErrorsKept
// errors and counts the rest, its page shows one page of them, and
// errors.csv is bounded and says how many were not kept.
func TestImportManyBadRows(t *testing.T) {
	e := newWebEnv(t)
	off := e.login("officer1")
	typ, _ := e.reg.Catalog().Type(e.depts[0].Types[0])
	cols := len(importHeader(typ))
	var b strings.Builder
	b.WriteString(strings.Join(importHeader(typ), ",") + "\n")
	const rows = 20000
	for i := range rows {
		if i%2 == 0 {
			b.WriteString("只有一列" + strings.Repeat("很长的名称", 40) + "\n") // wrong column count
		} else {
			b.WriteString(strings.Repeat(",", cols-1) + "\n") // every value empty
		}
	}
	a := off.upload("/console/import", map[string]string{"type": typ.Code}, "file", "bad.csv", []byte(b.String()))
	if a.status != http.StatusSeeOther {
		t.Fatalf("import: %d %s", a.status, snippet(a.body))
	}
	job := a.header.Get("Location")
	p := e.waitImport(off, job)
	if p.Total != rows || p.Issued != 0 || p.Failed != rows || p.Kept != limits.ImportErrorsKept || p.Unkept == 0 {
		t.Fatalf("progress %+v", p)
	}

	var page, csv webAnswer
	alloc := heapCost(func() { page = off.get(job) })
	t.Logf("job page: %d bytes, %.1f MiB allocated", len(page.body), float64(alloc)/(1<<20))
	if n := strings.Count(page.body, "<tr><td>"); n != limits.ImportErrorsPage {
		t.Errorf("job page shows %d errors, want one page of %d", n, limits.ImportErrorsPage)
	}
	if want := fmt.Sprintf("共 %d 行有错误；每个导入任务只保存前 %d 条错误，另有 %d 行的错误未保存", rows, limits.ImportErrorsKept, p.Unkept); !strings.Contains(page.body, want) {
		t.Errorf("job page does not say %q", want)
	}
	last := off.get(job + fmt.Sprintf("?page=%d", limits.ImportErrorsKept/limits.ImportErrorsPage))
	if !strings.Contains(last.body, "上一页") || strings.Contains(last.body, "下一页") {
		t.Errorf("last page has no way back or a way forward")
	}
	alloc = heapCost(func() { csv = off.get(job + "/errors.csv") })
	t.Logf("errors.csv: %d bytes, %.1f MiB allocated", len(csv.body), float64(alloc)/(1<<20))
	if n := strings.Count(csv.body, "\n"); n != limits.ImportErrorsKept+2 {
		t.Errorf("errors.csv has %d lines, want header + %d + a closing note", n, limits.ImportErrorsKept)
	}
	if want := fmt.Sprintf("另有 %d 行的错误未保存", p.Unkept); !strings.Contains(csv.body, want) {
		t.Errorf("errors.csv does not say %q", want)
	}
	if len(page.body) > 1<<20 || len(csv.body) > 1<<20 {
		t.Errorf("page %d bytes, errors.csv %d bytes: want each under 1 MiB", len(page.body), len(csv.body))
	}
}

// heapCost is the bytes f allocates (while nothing else runs much).
func heapCost(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
