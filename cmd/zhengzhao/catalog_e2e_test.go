package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"zhengzhao/license"
)

// TestAdminCatalogAdd: the real binary adds a license type from a file,
// refuses a broken pattern naming the field, lists the new type from the
// instance's catalog, and a department registered for it.
func TestAdminCatalogAdd(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "data")
	write := func(name, s string) string {
		f := filepath.Join(tmp, name)
		if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	if _, errOut, code := zz(t, "init", "--data", dir, "--admin-password-file", write("admin.pw", "correct horse battery 9\n")); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errOut)
	}
	def := `{"code": "11100000000013338W071", "name": "网络餐饮服务第三方平台备案凭证", "authority": "国家市场监督管理总局",
	  "authorityUSCC": "11100000000013338W", "authorityUSCCSource": "real", "holderKind": "organization", "validityYears": 3,
	  "fields": [{"key": "platformName", "label": "平台名称", "type": "string", "required": true},
	             {"key": "filingNumber", "label": "备案编号", "type": "string", "required": true, "pattern": "WC[0-9]{8}", "example": "WC20240001"}]}`

	broken := write("broken.json", strings.Replace(def, "WC[0-9]{8}", "WC[0-9{8}", 1))
	_, errOut, code := zz(t, "admin", "catalog", "add", "--data", dir, "--file", broken)
	if code != exitUsage || !strings.Contains(errOut, "fields[1].pattern") || !strings.Contains(errOut, "无法编译") {
		t.Fatalf("broken pattern: exit %d, %q; want exit %d naming fields[1].pattern", code, errOut, exitUsage)
	}
	out, errOut, code := zz(t, "admin", "catalog", "add", "--data", dir, "--file", write("type.json", def))
	if code != 0 || !strings.Contains(out, "第 1 版") {
		t.Fatalf("catalog add: exit %d, %q %q", code, out, errOut)
	}
	out, errOut, code = zz(t, "admin", "catalog", "list", "--data", dir)
	if code != 0 || !strings.Contains(out, "11100000000013338W071") || !strings.Contains(out, "网络餐饮服务第三方平台备案凭证") {
		t.Fatalf("catalog list --data: exit %d, %q %q", code, out, errOut)
	}
	uscc, err := license.CompleteUSCC("11310000002507031")
	if err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := zz(t, "admin", "department", "register", "--data", dir, "--uscc", uscc, "--name", "上海市市场监督管理局网络交易监督管理处", "--types", "11100000000013338W071"); code != 0 {
		t.Fatalf("register a department for the new type: exit %d, %q %q", code, out, errOut)
	}
}
