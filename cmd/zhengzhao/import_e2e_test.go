package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"zhengzhao/license"
	"zhengzhao/registry/importer"
)

// bizLicense is the 营业执照 type: one active license per company.
const bizLicense = "11100000000013338W001"

// migrationCSV writes n rows of 营业执照 with original numbers and dates,
// each for a company of its own (numbered from first), under the Chinese
// header, encoded in GBK when gbk; edit may change a row (by index).
func migrationCSV(t *testing.T, path string, first, n int, gbk bool, edit func(i int, row []string)) {
	t.Helper()
	typ, _ := license.DefaultCatalog().Type(bizLicense)
	ex := typ.Example("11310000MB2F00011G", "")
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(importer.Header(typ))
	for i := range n {
		code, err := license.CompleteUSCC(fmt.Sprintf("91310000%09d", 600000000+first+i))
		if err != nil {
			t.Fatal(err)
		}
		row := []string{fmt.Sprintf("迁移测试商贸有限公司%06d", first+i), code, "310115", fmt.Sprintf("31011500%07d", first+i), "2018-07-02", "", ""}
		for _, f := range typ.Fields {
			row = append(row, ex.Fields[f.Key])
		}
		if edit != nil {
			edit(i, row)
		}
		w.Write(row)
	}
	w.Flush()
	data := b.Bytes()
	if gbk {
		var err error
		if data, err = simplifiedchinese.GBK.NewEncoder().Bytes(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// importResult runs `zhengzhao import --json` and decodes its summary.
func importResult(t *testing.T, args ...string) (importSummary, string, int) {
	t.Helper()
	out, errOut, code := zz(t, append([]string{"import", "--json"}, args...)...)
	var s importSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("import --json: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}
	return s, errOut, code
}

var entriesRE = regexp.MustCompile(`账本核验通过：共 (\d+) 条`)

// ledgerEntries is the number of ledger entries `ledger verify` counts.
func ledgerEntries(t *testing.T, dir string) int {
	t.Helper()
	out, errOut, code := zz(t, "ledger", "verify", "--data", dir)
	m := entriesRE.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("ledger verify: exit %d %s %s", code, out, errOut)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// Straight into a data directory: a GBK file from Excel with a bad row
// and a second 营业执照 for one company; the others are issued, the two
// are in the errors file on their lines in Chinese, the exit code says
// something failed; running it again issues nothing.
func TestImportIntoDataDir(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "data")
	tok := initDemo(t, dir)
	dept := tok.Departments[0]
	file := filepath.Join(tmp, "存量营业执照.csv")
	var firstCode string
	migrationCSV(t, file, 0, 40, true, func(i int, row []string) {
		switch i {
		case 0:
			firstCode = row[1]
		case 6: // line 8: a wrong check character
			row[1] = row[1][:17] + map[bool]string{true: "1", false: "0"}[row[1][17] == '0']
		case 30: // line 32: the first company again
			row[1] = firstCode
		}
	})
	before := ledgerEntries(t, dir)
	s, errOut, code := importResult(t, "--data", dir, "--file", file, "--type", bizLicense, "--department", dept.USCC, "--batch", "15")
	if code != exitInvalid || s.Rows != 40 || s.Issued != 38 || s.Failed != 2 || s.Existing != 0 || s.Encoding != "gb18030" || s.Batches != 3 {
		t.Fatalf("import: exit %d %+v %s", code, s, errOut)
	}
	// 38 licenses, and the head of the record chain (their 38 issue
	// records) anchored when the import closes the registry.
	if got := ledgerEntries(t, dir) - before; got != 38+1 {
		t.Errorf("%d ledger entries added, want 38 anchors and 1 records head", got)
	}
	raw, err := os.ReadFile(s.ErrorsFile)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")))).ReadAll()
	if err != nil || !bytes.HasPrefix(raw, []byte("\xef\xbb\xbf行号,列,错误")) || len(recs) != 3 {
		t.Fatalf("errors file %q: %v", raw, err)
	}
	if r := recs[1]; r[0] != "8" || r[1] != "持证主体代码" || !strings.Contains(r[2], "校验位") || r[4] != "check" {
		t.Errorf("bad row error %q", r)
	}
	if r := recs[2]; r[0] != "32" || r[4] != "one_active" || !strings.Contains(r[2], "1.2.156.3005.2."+bizLicense) || !strings.Contains(r[2], "变更") {
		t.Errorf("second 营业执照 error %q", r)
	}

	// Again from the start: nothing is issued twice.
	before = ledgerEntries(t, dir)
	s, _, code = importResult(t, "--data", dir, "--file", file, "--type", bizLicense, "--department", dept.USCC, "--batch", "15", "--restart")
	if code != exitInvalid || s.Issued != 0 || s.Existing != 38 || s.Failed != 2 {
		t.Fatalf("re-run: exit %d %+v", code, s)
	}
	if got := ledgerEntries(t, dir); got != before {
		t.Errorf("the re-run added %d ledger entries", got-before)
	}
	// An import stopped after its first batch of 15 (its progress file as
	// it left it): without --batch the run goes on after those 15 rows with
	// the progress file's batch size, not the default.
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	identity, _, err := fileIdentity(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	stopped := importState{File: file, Identity: identity, Type: bizLicense, Department: dept.USCC, Batch: 15,
		Progress: importer.Progress{Batches: 1, Rows: 15, Issued: 14, Failed: 1}}
	if err := writeImportState(file+".progress.json", stopped); err != nil {
		t.Fatal(err)
	}
	s, _, _ = importResult(t, "--data", dir, "--file", file, "--type", bizLicense, "--department", dept.USCC)
	if s.ResumedAt != 15 || s.Batches != 3 || s.Rows != 40 || s.Issued != 14 || s.Existing != 24 {
		t.Fatalf("resumed with the progress file's batch size: %+v", s)
	}
	if got := ledgerEntries(t, dir); got != before {
		t.Errorf("the resumed run added %d ledger entries", got-before)
	}

	// A header the type does not have changes nothing: exit 2, in Chinese.
	os.WriteFile(file, []byte("名称,代码\n甲,1\n"), 0o644)
	if _, errOut, code := zz(t, "import", "--data", dir, "--file", file, "--type", bizLicense, "--department", dept.USCC); code != exitUsage || !strings.Contains(errOut, "表头第 1 列「名称」不是「营业执照」的字段") {
		t.Errorf("bad header: exit %d %s", code, errOut)
	}
}

// Through the HTTP API of a running server, which is killed in the middle:
// the import stops with the batches done in its progress file; once the
// server is back, the same command resumes after them, and every row ends
// up issued exactly once.
func TestImportThroughAPIResumes(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "data")
	tok := initDemo(t, dir)
	dept := tok.Departments[0]
	before := ledgerEntries(t, dir)
	started := time.Now()
	srv := startServer(t, dir)
	file := filepath.Join(tmp, "licenses.csv")
	const rows = 600
	migrationCSV(t, file, 1000, rows, false, nil)

	args := func(url string) []string {
		return []string{"--server", url, "--token", dept.IssuerToken, "--file", file, "--type", bizLicense, "--department", dept.USCC, "--batch", "20", "--in-flight", "4"}
	}
	cmd := exec.Command(binPath, append([]string{"import", "--json"}, args(srv.url)...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	state := file + ".progress.json"
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(state); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress file: %s", errOut.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	srv.kill()
	err := cmd.Wait()
	var first importSummary
	if json.Unmarshal(out.Bytes(), &first) != nil || err == nil || first.Stopped == "" || first.Rows == 0 || first.Rows >= rows {
		t.Fatalf("interrupted import: %v %+v\n%s\n%s", err, first, out.String(), errOut.String())
	}
	t.Logf("interrupted after %d rows: %s", first.Rows, first.Stopped)

	srv = startServer(t, dir)
	s, errs, code := importResult(t, args(srv.url)...)
	if code != 0 || s.ResumedAt != first.Rows || s.Rows != rows || s.Issued+s.Existing != rows || s.Failed != 0 {
		t.Fatalf("resumed import: exit %d %+v %s", code, s, errs)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Error("the progress file is left after a finished import")
	}
	// A re-run from the start issues nothing.
	s, _, code = importResult(t, args(srv.url)...)
	if code != 0 || s.Issued != 0 || s.Existing != rows {
		t.Errorf("re-run: exit %d %+v", code, s)
	}
	srv.kill()
	// Each license anchored once (the re-run found every row's one license
	// by its request key); besides them only the heads of the record chain
	// the server anchors once a minute (it is killed, not closed), and the
	// anchors of a batch the kill caught between the ledger's append and
	// the store's commit: the registry anchors first, so such a batch
	// leaves anchors of identifiers no license has, and is issued again
	// under new serials when the import resumes. At most the batches in
	// flight (--in-flight 4 of 20 rows) can be caught so.
	const caught = 4 * 20
	if got, heads := ledgerEntries(t, dir)-before, int(time.Since(started)/time.Minute)+1; got < rows || got > rows+caught+heads {
		t.Errorf("%d ledger entries for %d rows imported twice and a half (and at most %d record-chain heads, %d anchors of batches caught by the kill)", got, rows, heads, caught)
	} else if got > rows+heads {
		t.Logf("%d anchors of batches the kill caught between ledger and store", got-rows)
	}
}
