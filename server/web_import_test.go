package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"zhengzhao/internal/limits"
	"zhengzhao/ledger/embedded"
	"zhengzhao/registry"
	"zhengzhao/registry/importer"
)

// The template is a CSV with a UTF-8 byte-order mark and the Chinese
// labels as its header.
func TestImportTemplateIsChineseWithBOM(t *testing.T) {
	e := newWebEnv(t)
	a := e.login("officer1").get("/console/import/template/" + e.licA.TypeCode)
	if a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("template: %d %s", a.status, a.header.Get("Content-Type"))
	}
	if !strings.HasPrefix(a.body, "\xef\xbb\xbf持证主体,持证主体代码,管辖属地编码,证照编号,颁发日期,有效期起,有效期止,类型,法定代表人") {
		t.Errorf("template starts %q", a.body[:min(len(a.body), 120)])
	}
}

// gbkImport is a GBK CSV (as Excel saves it on Chinese Windows) of
// department 0's 营业执照 with the given holders, one bad ("BAD").
func (e *webEnv) gbkImport(holders ...string) []byte {
	e.t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes(e.importCSV(holders...))
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// A GBK file with one bad row: the job page counts rows, names the bad
// row's line and column in Chinese, and the job (counts and row errors)
// is still there after the registry and the server restart.
func TestImportGBKJobSurvivesRestart(t *testing.T) {
	e := newWebEnv(t)
	off := e.login("officer1")
	a := off.upload("/console/import", map[string]string{"type": e.licA.TypeCode}, "file", "存量营业执照.csv", e.gbkImport("甲科技有限公司", "乙商贸有限公司", "BAD", "丁餐饮有限公司"))
	if a.status != http.StatusSeeOther {
		t.Fatalf("import: %d %s", a.status, snippet(a.body))
	}
	job := a.header.Get("Location")
	p := e.waitImport(off, job)
	if p.Total != 4 || p.Done != 4 || p.Issued != 3 || p.Failed != 1 {
		t.Fatalf("progress %+v, want 4 rows: 3 issued, 1 failed", p)
	}
	page := off.get(job).body
	for _, want := range []string{"已处理 <b id=\"done\">4</b> / <b id=\"total\">4</b> 行", "错误 <b id=\"failed\">1</b> 行", "文件编码 GB18030/GBK", "<td>4</td><td>持证主体代码</td><td>统一社会信用代码的校验位是"} {
		if !strings.Contains(page, want) {
			t.Errorf("job page lacks %q", want)
		}
	}
	lics, _ := e.reg.List(context.Background(), registry.ListFilter{Department: e.depts[0].USCC, Limit: 100})
	names := map[string]bool{}
	for _, l := range lics {
		names[l.Record.Holder] = true
	}
	if !names["甲科技有限公司"] || !names["丁餐饮有限公司"] {
		t.Errorf("GBK names not issued as they read: %v", names)
	}

	// Restart: close the server and the ledger, open the registry and the
	// ledger from the data directory again and serve them with a new
	// server. (The old registry's store stays open, idle, until the test's
	// cleanup closes it: Service.Close may run only once.)
	e.srv.Close()
	e.ledger.Close()
	ctx := context.Background()
	pass := []byte("web-test")
	plat, err := registry.LoadPlatform(e.dir, pass)
	if err != nil {
		t.Fatal(err)
	}
	l, err := embedded.New(ctx, embedded.Config{Dir: filepath.Join(e.dir, registry.LedgerDir), Signer: plat.Log, Origin: "test/ledger"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	reg, err := registry.Open(ctx, registry.Config{Dir: e.dir, Platform: plat, Ledger: l, LogOrigin: "test/ledger", Passphrase: pass, Font: webFont(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	e.reg, e.ledger = reg, l
	if e.s, err = New(Config{Registry: reg, Ledger: l}); err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.s.Handler())
	t.Cleanup(e.srv.Close)
	off = e.login("officer1")
	if got := e.waitImport(off, job); got.Total != 4 || got.Issued != 3 || got.Failed != 1 || got.Interrupted {
		t.Errorf("after a restart the job reads %+v", got)
	}
	if page := off.get(job).body; !strings.Contains(page, "<td>4</td><td>持证主体代码</td>") {
		t.Error("after a restart the job page lost its row errors")
	}
	// Another department's officer does not see it.
	if a := e.login("officer2").get(job); a.status != http.StatusNotFound {
		t.Errorf("another department's officer: %d", a.status)
	}

	// A job the server stopped in the middle of says so.
	stopped := &registry.ImportJob{ID: "stoppedjob", Department: e.depts[0].USCC, TypeCode: e.licA.TypeCode, TypeName: "营业执照",
		FileName: "a.csv", Actor: "officer", Encoding: "utf-8", Started: time.Now().Add(-time.Hour), Updated: time.Now().Add(-50 * time.Minute), Total: 1000, Done: 300, Issued: 300}
	if err := reg.SaveImportJob(ctx, stopped); err != nil {
		t.Fatal(err)
	}
	if page := off.get("/console/import/stoppedjob").body; !strings.Contains(page, "导入在 300 / 1000 行处中断") {
		t.Errorf("an interrupted job's page does not say so: %s", snippet(page))
	}
	// One that saved a moment ago runs on another instance: not interrupted.
	elsewhere := *stopped
	elsewhere.ID, elsewhere.Updated = "elsewhere", time.Now().Add(-10*time.Second)
	if err := reg.SaveImportJob(ctx, &elsewhere); err != nil {
		t.Fatal(err)
	}
	if page := off.get("/console/import/elsewhere").body; strings.Contains(page, "中断") || !strings.Contains(page, "导入进行中") {
		t.Errorf("a job running on another instance reads as interrupted: %s", snippet(page))
	}
}

// POST /api/v1/import: one batch through the importer's code path; bad
// rows and a second active 营业执照 are reported per row, a re-sent batch
// issues nothing again, and an oversized batch is 413.
func TestAPIImportBatch(t *testing.T) {
	e := newWebEnv(t)
	ctx := context.Background()
	api := e.client()
	api.token, _ = e.reg.CreateToken(ctx, registry.Actor{Role: registry.RoleIssuer, Department: e.depts[0].USCC, Name: "迁移脚本"})
	typ, _ := e.reg.Catalog().Type(e.licA.TypeCode)
	rd, err := importer.NewReader(strings.NewReader(string(e.importCSV("甲公司", "BAD", "乙公司"))), importer.Options{Department: e.depts[0].USCC, Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	var rows []importBatchRow
	for {
		r, err := rd.Next()
		if err != nil {
			break
		}
		rows = append(rows, importBatchRow{Row: r.Line, Request: r.Request})
	}
	dup := rows[0]
	dup.Row, dup.Request.Holder, dup.Request.RequestKey = 5, "甲公司（重复）", ""
	rows = append(rows, dup)
	send := func(req importBatchRequest) (int, importBatchAnswer, string) {
		body, _ := json.Marshal(req)
		a := api.do("POST", "/api/v1/import", "application/json", body)
		var ans importBatchAnswer
		json.Unmarshal([]byte(a.body), &ans)
		return a.status, ans, a.body
	}
	status, ans, body := send(importBatchRequest{Type: typ.Code, Department: e.depts[0].USCC, Rows: rows})
	if status != 200 || len(ans.Results) != 4 {
		t.Fatalf("import: %d %s", status, body)
	}
	r := ans.Results
	if r[0].Identifier == "" || r[2].Identifier == "" || r[0].Existing || len(r[1].Errs) == 0 || len(r[3].Errs) != 1 {
		t.Fatalf("results %+v", r)
	}
	if e := r[1].Errs[0]; e.Row != 3 || e.Field != "holderCode" || e.Column != "持证主体代码" {
		t.Errorf("bad row error %+v", e)
	}
	if e := r[3].Errs[0]; e.Row != 5 || e.Rule != "one_active" || !strings.Contains(e.Message, r[0].Identifier) {
		t.Errorf("second 营业执照: %+v, want one_active naming %s", e, r[0].Identifier)
	}
	size := e.treeSize()
	_, again, _ := send(importBatchRequest{Type: typ.Code, Rows: rows})
	if !again.Results[0].Existing || again.Results[0].Identifier != r[0].Identifier || !again.Results[2].Existing || e.treeSize() != size {
		t.Errorf("re-sent batch: %+v, tree %d → %d", again.Results, size, e.treeSize())
	}
	if status, _, body := send(importBatchRequest{Type: typ.Code, Rows: make([]importBatchRow, limits.ImportBatchRows+1)}); status != http.StatusRequestEntityTooLarge || !strings.Contains(body, "import_batch_rows") {
		t.Errorf("oversized batch: %d %s", status, body)
	}
	if status, _, body := send(importBatchRequest{Type: typ.Code, Department: e.depts[1].USCC, Rows: rows[:1]}); status != http.StatusForbidden {
		t.Errorf("another department: %d %s", status, body)
	}
}
