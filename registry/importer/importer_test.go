package importer_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"zhengzhao/ledger/embedded"
	"zhengzhao/license"
	"zhengzhao/registry"
	"zhengzhao/registry/importer"
	"zhengzhao/render"
)

var pass = []byte("test-passphrase")

var readFont = sync.OnceValues(render.FindFont)

// world is a registry on a fresh data directory with the demo
// departments; dept is the one that issues 营业执照.
type world struct {
	t      *testing.T
	reg    *registry.Service
	ledger *embedded.Ledger
	dept   registry.DemoDepartment
	actor  registry.Actor
	typ    license.Type // 营业执照: one active license per company
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	p, err := registry.CreatePlatform(dir, pass, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	font, err := readFont()
	if err != nil {
		t.Fatal(err)
	}
	l, err := embedded.New(ctx, embedded.Config{Dir: filepath.Join(dir, registry.LedgerDir), Signer: p.Log, Origin: "test/ledger"})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Open(ctx, registry.Config{Dir: dir, Platform: p, Ledger: l, LogOrigin: "test/ledger", Passphrase: pass, Font: font})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close(); l.Close() })
	w := &world{t: t, reg: reg, ledger: l}
	admin := registry.Actor{Role: registry.RoleAdmin, Name: "admin"}
	for _, d := range registry.DemoDepartments(reg.Catalog()) {
		if _, err := reg.RegisterDepartment(ctx, admin, d.USCC, d.Name, d.Types); err != nil {
			t.Fatal(err)
		}
	}
	w.dept = registry.DemoDepartments(reg.Catalog())[0]
	w.typ, _ = reg.Catalog().Type(w.dept.Types[0])
	if w.typ.Name != "营业执照" || !w.typ.OneActive {
		t.Fatalf("department 0's first type is %s", w.typ.Name)
	}
	w.actor = registry.Actor{Role: registry.RoleIssuer, Department: w.dept.USCC, Name: "import test"}
	return w
}

var holderSeq atomic.Int64

// row is a valid CSV row of 营业执照 in the template's column order, for a
// company of its own, with original number number.
func (w *world) row(name, number string) []string {
	code, err := license.CompleteUSCC(fmt.Sprintf("91310000%09d", 700000+holderSeq.Add(1)))
	if err != nil {
		w.t.Fatal(err)
	}
	ex := w.typ.Example(w.dept.USCC, w.dept.Name)
	r := []string{name, code, ex.Jurisdiction, number, "2019-03-15", "", ""}
	for _, f := range w.typ.Fields {
		r = append(r, ex.Fields[f.Key])
	}
	return r
}

// csvFile is a CSV file of rows under the template's Chinese header.
func (w *world) csvFile(rows ...[]string) []byte {
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.Write(importer.Header(w.typ))
	cw.WriteAll(rows)
	return b.Bytes()
}

func gbk(t *testing.T, utf8 []byte) []byte {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes(utf8)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// run imports file with batches of size n and returns the progress and
// the row errors reported.
func (w *world) run(file []byte, format importer.Format, n int, start importer.Progress, onBatch func(importer.Progress) error) (importer.Progress, []importer.RowError, error) {
	w.t.Helper()
	rd, err := importer.NewReader(bytes.NewReader(file), importer.Options{Department: w.dept.USCC, Type: w.typ, Format: format})
	if err != nil {
		w.t.Fatal(err)
	}
	var errs []importer.RowError
	p, err := importer.Run(context.Background(), rd, importer.Config{
		BatchSize: n, Start: start, Issue: importer.Local(w.reg, w.actor, w.typ), OnBatch: onBatch,
		RowErrors: func(e []importer.RowError) error { errs = append(errs, e...); return nil },
	})
	return p, errs, err
}

// licenses is how many licenses the department holds in the store.
func (w *world) licenses() int {
	w.t.Helper()
	l, err := w.reg.List(context.Background(), registry.ListFilter{Department: w.dept.USCC, Limit: 100000})
	if err != nil {
		w.t.Fatal(err)
	}
	return len(l)
}

func (w *world) treeSize() uint64 {
	cp, err := w.ledger.Checkpoint(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return cp.Size
}

// A GBK file from Excel with one bad row: the other rows are issued with
// their original numbers and dates, the bad one is reported on its line,
// naming its column and the rule in Chinese; running the file again
// issues nothing twice.
func TestGBKFileWithABadRow(t *testing.T) {
	w := newWorld(t)
	bad := w.row("乙贸易有限公司", "310115000000002")
	bad[1] = bad[1][:17] + flip(bad[1][17]) // a wrong check character
	file := gbk(t, w.csvFile(w.row("甲科技有限公司", "310115000000001"), bad, w.row("丙餐饮管理有限公司", "310115000000003")))

	rd, err := importer.NewReader(bytes.NewReader(file), importer.Options{Department: w.dept.USCC, Type: w.typ})
	if err != nil {
		t.Fatal(err)
	}
	if rd.Encoding() != importer.GB18030 {
		t.Errorf("encoding %s, want gb18030", rd.Encoding())
	}
	p, errs, err := w.run(file, importer.CSV, 500, importer.Progress{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Rows != 3 || p.Issued != 2 || p.Failed != 1 || p.Existing != 0 {
		t.Fatalf("progress %+v, want 3 rows, 2 issued, 1 failed", p)
	}
	if len(errs) != 1 {
		t.Fatalf("row errors %v", errs)
	}
	e := errs[0]
	if e.Row != 3 || e.Field != "holderCode" || e.Column != "持证主体代码" || e.Rule != "check" {
		t.Errorf("row error %+v, want line 3, 持证主体代码, check", e)
	}
	if !strings.HasPrefix(e.Error(), "第 3 行「持证主体代码」：") || !strings.Contains(e.Message, "校验") {
		t.Errorf("message %q is not Chinese naming the row, column and rule", e.Error())
	}
	held, err := w.reg.List(context.Background(), registry.ListFilter{Department: w.dept.USCC, Limit: 10})
	if err != nil || len(held) != 2 {
		t.Fatalf("%d licenses, %v", len(held), err)
	}
	numbers := map[string]string{}
	for _, l := range held {
		numbers[l.Record.Number] = l.Record.Holder
		if l.Record.IssueDate != "2019-03-15" {
			t.Errorf("%s issued %s, want the original date 2019-03-15", l.Record.Number, l.Record.IssueDate)
		}
	}
	if numbers["310115000000001"] != "甲科技有限公司" || numbers["310115000000003"] != "丙餐饮管理有限公司" {
		t.Errorf("numbers and holders %v: GBK names not decoded or numbers not kept", numbers)
	}

	size := w.treeSize()
	p, errs, err = w.run(file, importer.CSV, 500, importer.Progress{}, nil)
	if err != nil || p.Issued != 0 || p.Existing != 2 || p.Failed != 1 || len(errs) != 1 {
		t.Fatalf("re-run: %+v %v %v", p, errs, err)
	}
	if w.licenses() != 2 || w.treeSize() != size {
		t.Errorf("the re-run issued again: %d licenses, tree %d → %d", w.licenses(), size, w.treeSize())
	}
}

func flip(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

// UTF-8 with and without a byte-order mark, Chinese or English headers,
// and JSON Lines read to the same requests, with the same request keys.
func TestEncodingsAndFormats(t *testing.T) {
	w := newWorld(t)
	rows := [][]string{w.row("甲科技有限公司", "N-1"), w.row("乙科技有限公司", "")}
	chinese := w.csvFile(rows...)
	var english bytes.Buffer
	cw := csv.NewWriter(&english)
	var keys []string
	for _, c := range importer.Columns(w.typ) {
		keys = append(keys, c.Key)
	}
	cw.Write(keys)
	cw.WriteAll(rows)
	var jsonl bytes.Buffer
	for _, r := range rows {
		var members []string
		fields := []string{}
		for i, c := range importer.Columns(w.typ) {
			if k, ok := strings.CutPrefix(c.Key, "fields."); ok {
				fields = append(fields, fmt.Sprintf("%q:%q", k, r[i]))
			} else {
				members = append(members, fmt.Sprintf("%q:%q", c.Label, r[i]))
			}
		}
		fmt.Fprintf(&jsonl, "{%s,\"fields\":{%s}}\n\n", strings.Join(members, ","), strings.Join(fields, ","))
	}
	for _, tt := range []struct {
		name   string
		file   []byte
		format importer.Format
		enc    importer.Encoding
	}{
		{"utf-8", chinese, importer.CSV, importer.UTF8},
		{"utf-8 with BOM", append([]byte("\xef\xbb\xbf"), chinese...), importer.CSV, importer.UTF8BOM},
		{"gbk", gbk(t, chinese), importer.CSV, importer.GB18030},
		{"english keys", english.Bytes(), importer.CSV, importer.UTF8},
		{"json lines", jsonl.Bytes(), importer.JSONL, importer.UTF8},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rd, err := importer.NewReader(bytes.NewReader(tt.file), importer.Options{Department: w.dept.USCC, Type: w.typ, Format: tt.format})
			if err != nil {
				t.Fatal(err)
			}
			if rd.Encoding() != tt.enc {
				t.Errorf("encoding %s, want %s", rd.Encoding(), tt.enc)
			}
			var got []importer.Row
			for {
				r, err := rd.Next()
				if err != nil { // io.EOF
					break
				}
				got = append(got, r)
			}
			if len(got) != 2 {
				t.Fatalf("%d rows", len(got))
			}
			for i, r := range got {
				if len(r.Errs) > 0 {
					t.Fatalf("row %d: %v", i, r.Errs)
				}
				q := r.Request
				if q.Holder != rows[i][0] || q.HolderCode != rows[i][1] || q.Number != rows[i][3] || q.IssueDate != "2019-03-15" || len(q.Fields) == 0 {
					t.Errorf("row %d read as %+v", i, q)
				}
				want := importer.RequestKey(w.dept.USCC, q, "")
				if q.RequestKey != want || !strings.HasPrefix(q.RequestKey, "imp-") {
					t.Errorf("row %d key %q, want %q", i, q.RequestKey, want)
				}
			}
			if !strings.HasPrefix(got[0].Request.RequestKey, "imp-n-") || !strings.HasPrefix(got[1].Request.RequestKey, "imp-c-") {
				t.Errorf("keys %s %s: want one from the number, one from the content", got[0].Request.RequestKey, got[1].Request.RequestKey)
			}
		})
	}
}

// An interrupted run leaves its finished batches behind; resumed from its
// progress, it skips them (issuing none of their rows again) and finishes
// the rest.
func TestInterruptedRunResumes(t *testing.T) {
	w := newWorld(t)
	var rows [][]string
	for i := range 7 {
		rows = append(rows, w.row(fmt.Sprintf("续传测试公司%d", i), fmt.Sprintf("R-%d", i)))
	}
	file := w.csvFile(rows...)
	stop := errors.New("interrupted")
	p, _, err := w.run(file, importer.CSV, 3, importer.Progress{}, func(p importer.Progress) error {
		if p.Batches == 1 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || p.Batches != 1 || p.Issued != 3 {
		t.Fatalf("interrupted run: %+v %v", p, err)
	}
	if n := w.licenses(); n != 3 {
		t.Fatalf("%d licenses after the first batch", n)
	}

	var issued atomic.Int64
	rd, _ := importer.NewReader(bytes.NewReader(file), importer.Options{Department: w.dept.USCC, Type: w.typ})
	local := importer.Local(w.reg, w.actor, w.typ)
	p, err = importer.Run(context.Background(), rd, importer.Config{BatchSize: 3, Start: p,
		Issue: func(ctx context.Context, rows []importer.Row) ([]importer.Result, error) {
			issued.Add(int64(len(rows)))
			for _, r := range rows {
				if r.Request.Number < "R-3" {
					t.Errorf("the resumed run issued %s of a finished batch", r.Request.Number)
				}
			}
			return local(ctx, rows)
		}})
	if err != nil || p.Batches != 3 || p.Rows != 7 || p.Issued != 7 || p.Existing != 0 {
		t.Fatalf("resumed run: %+v %v", p, err)
	}
	if issued.Load() != 4 || w.licenses() != 7 {
		t.Errorf("resumed run sent %d rows, %d licenses; want 4 and 7", issued.Load(), w.licenses())
	}
}

// Two rows for one company of a one-active type: the first is issued, the
// second is reported on its row, naming the license the company holds.
func TestSecondActiveLicensePerRow(t *testing.T) {
	w := newWorld(t)
	first, second := w.row("甲科技有限公司", "A-1"), w.row("甲科技有限公司（重复）", "A-2")
	second[1] = first[1]
	p, errs, err := w.run(w.csvFile(first, second), importer.CSV, 500, importer.Progress{}, nil)
	if err != nil || p.Issued != 1 || p.Failed != 1 || len(errs) != 1 {
		t.Fatalf("%+v %v %v", p, errs, err)
	}
	held, _ := w.reg.List(context.Background(), registry.ListFilter{HolderCode: first[1]})
	if len(held) != 1 {
		t.Fatalf("the company holds %d licenses", len(held))
	}
	e := errs[0]
	if e.Row != 3 || e.Rule != "one_active" || e.Column != "持证主体代码" || !strings.Contains(e.Message, held[0].Identifier) || !strings.Contains(e.Message, "变更") {
		t.Errorf("row error %+v: want line 3, one_active, naming %s and 变更", e, held[0].Identifier)
	}
}

// Rows that cannot be read are reported on their line and never stop the
// others; a header the type cannot use stops the file before any row.
func TestBadRowsAndHeaders(t *testing.T) {
	w := newWorld(t)
	file := w.csvFile(w.row("甲科技有限公司", "B-1"))
	file = append(file, "  \n只有一列\n"...) // a line of blanks is skipped
	file = append(file, w.csvFile(w.row("乙科技有限公司", "B-2"))[len(strings.Join(importer.Header(w.typ), ","))+1:]...)
	p, errs, err := w.run(file, importer.CSV, 500, importer.Progress{}, nil)
	if err != nil || p.Rows != 3 || p.Issued != 2 || p.Failed != 1 || len(errs) != 1 || errs[0].Row != 4 || errs[0].Rule != "columns" {
		t.Fatalf("%+v %+v %v", p, errs, err)
	}

	jl := "{\"持证主体\": 12}\n{not json\n{\"type\":\"x\",\"color\":\"red\"}\n"
	_, errs, err = w.run([]byte(jl), importer.JSONL, 500, importer.Progress{}, nil)
	if err != nil || len(errs) != 4 {
		t.Fatalf("json lines errors %+v %v", errs, err)
	}
	for i, want := range []struct {
		row  int
		rule string
	}{{1, "syntax"}, {2, "syntax"}, {3, "unknown"}, {3, "mismatch"}} {
		if errs[i].Row != want.row || errs[i].Rule != want.rule {
			t.Errorf("error %d: %+v, want line %d %s", i, errs[i], want.row, want.rule)
		}
	}

	for _, tt := range []struct {
		header, rule, says string
	}{
		{"持证主体,持证主体代码,管辖属地编码,颜色", "unknown", "表头第 4 列「颜色」"},
		{"持证主体,管辖属地编码", "missing", "缺少必填列「持证主体代码」"},
		{"持证主体,holder,持证主体代码,管辖属地编码", "duplicate", "第 2 列与第 1 列"},
		{"", "empty", "文件为空"},
	} {
		_, err := importer.NewReader(strings.NewReader(tt.header+"\n"), importer.Options{Department: w.dept.USCC, Type: w.typ})
		var he *importer.HeaderError
		if !errors.As(err, &he) || he.Rule != tt.rule || !strings.Contains(he.Message, tt.says) {
			t.Errorf("header %q: %v, want %s saying %q", tt.header, err, tt.rule, tt.says)
		}
	}
}

// The template starts with a byte-order mark and the Chinese labels, and
// its example row imports as it is.
func TestTemplate(t *testing.T) {
	w := newWorld(t)
	var b bytes.Buffer
	if err := importer.WriteTemplate(&b, w.typ, w.typ.Example(w.dept.USCC, w.dept.Name)); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "\xef\xbb\xbf持证主体,持证主体代码,管辖属地编码,证照编号,颁发日期,有效期起,有效期止,") {
		t.Fatalf("template starts %q", b.String()[:min(80, b.Len())])
	}
	p, errs, err := w.run(b.Bytes(), importer.CSV, 500, importer.Progress{}, nil)
	if err != nil || p.Issued != 1 {
		t.Fatalf("template row: %+v %v %v", p, errs, err)
	}
}

// A line longer than limits.ImportRecord ends the file with a limit error.
func TestLongLine(t *testing.T) {
	w := newWorld(t)
	file := append(w.csvFile(), strings.Repeat("很", 30000)...)
	_, _, err := w.run(file, importer.CSV, 500, importer.Progress{}, nil)
	if err == nil || !strings.Contains(err.Error(), "第 2 行的长度超过上限 64 KiB") {
		t.Errorf("long line: %v", err)
	}
}

// BenchmarkReadGBK reads a GBK file of 营业执照 rows to requests with
// their keys: the importer's own cost per row, without issuing.
// benchRows is the number of rows of benchFile.
const benchRows = 10000

// benchFile is a GBK CSV file of benchRows rows of 营业执照, as Excel saves it.
func benchFile(b *testing.B) (license.Type, []byte) {
	typ, _ := license.DefaultCatalog().Type("11100000000013338W001")
	ex := typ.Example("11310000MB2F00011G", "上海市市场监督管理局")
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.Write(importer.Header(typ))
	for i := range benchRows {
		r := []string{fmt.Sprintf("迁移测试公司%06d", i), ex.HolderCode, ex.Jurisdiction, fmt.Sprintf("N%08d", i), "2019-03-15", "", ""}
		for _, f := range typ.Fields {
			r = append(r, ex.Fields[f.Key])
		}
		cw.Write(r)
	}
	cw.Flush()
	file, err := simplifiedchinese.GBK.NewEncoder().Bytes(buf.Bytes())
	if err != nil {
		b.Fatal(err)
	}
	return typ, file
}

func BenchmarkReadGBK(b *testing.B) {
	typ, file := benchFile(b)
	const rows = benchRows
	b.SetBytes(int64(len(file)))
	b.ResetTimer()
	for b.Loop() {
		rd, err := importer.NewReader(bytes.NewReader(file), importer.Options{Department: "11310000MB2F00011G", Type: typ})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			r, err := rd.Next()
			if err != nil {
				break
			}
			if len(r.Errs) > 0 {
				b.Fatal(r.Errs)
			}
			n++
		}
		if n != rows {
			b.Fatalf("%d rows", n)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
