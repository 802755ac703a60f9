package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"zhengzhao/registry"
	"zhengzhao/verifier"
)

const recordsPass = "records-test"

// recordsFixture opens a registry in-process, records uses of one holder's
// license, and writes the trust bundle and the holder's PDF and JSON
// exports to files.
type recordsFixture struct {
	dir, bundle, pdf, json, fp string
	holder                     string
}

func newRecordsFixture(t *testing.T) *recordsFixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	in, err := openInstance(ctx, instanceConfig{Dir: dir, Passphrase: []byte(recordsPass), Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	reg := in.registry
	admin := registry.Actor{Role: registry.RoleAdmin, Name: "admin"}
	depts := registry.DemoDepartments(reg.Catalog())
	for _, d := range depts {
		if _, err := reg.RegisterDepartment(ctx, admin, d.USCC, d.Name, d.Types); err != nil {
			t.Fatal(err)
		}
	}
	typ, _ := reg.Catalog().Type(depts[0].Types[0])
	rec := typ.Example(depts[0].USCC, depts[0].Name)
	lic, err := reg.Issue(ctx, registry.Actor{Role: registry.RoleIssuer, Department: depts[0].USCC, Name: "officer"},
		registry.IssueRequest{TypeCode: typ.Code, Holder: rec.Holder, HolderCode: rec.HolderCode, Jurisdiction: rec.Jurisdiction, Fields: rec.Fields})
	if err != nil {
		t.Fatal(err)
	}
	clerk := registry.Actor{Account: 5, Role: registry.RoleVerifier, Name: "张晓燕 (clerk1)", Hall: "浦东新区市民中心"}
	for range 3 {
		if err := reg.RecordUse(ctx, clerk, registry.UseRequest{License: lic, Mode: registry.UseByVerify, Purpose: "核验营业执照", ServiceItem: "310100-SC-0001", Verdict: "valid"}); err != nil {
			t.Fatal(err)
		}
	}
	holder := registry.Actor{Role: registry.RoleHolder, Name: rec.Holder, HolderCode: rec.HolderCode}
	f := &recordsFixture{dir: dir, holder: rec.HolderCode,
		bundle: filepath.Join(dir, "bundle.json"), pdf: filepath.Join(dir, "用证记录.pdf"), json: filepath.Join(dir, "records.json")}
	pdf, err := reg.RecordsPDF(ctx, holder)
	if err != nil {
		t.Fatal(err)
	}
	exp, _, err := reg.ExportRecords(ctx, holder)
	if err != nil {
		t.Fatal(err)
	}
	js, err := registry.MarshalExport(exp)
	if err != nil {
		t.Fatal(err)
	}
	b, err := reg.Bundle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.fp, _, _ = reg.Trust()
	for name, data := range map[string][]byte{f.pdf: pdf, f.json: js, f.bundle: b.JSON} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *recordsFixture) verify(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	all := append([]string{"records", "verify", "--bundle", f.bundle, "--root-fingerprint", f.fp, "--trust", filepath.Join(f.dir, "no-trust.json")}, args...)
	code := run(context.Background(), all, &out, &errOut)
	return out.String(), errOut.String(), code
}

// The holder's PDF and JSON exports verify offline against the anchored
// head with the pinned root's bundle; a record changed in the export does
// not, and the output names it; a bundle of another root is refused.
func TestRecordsVerify(t *testing.T) {
	f := newRecordsFixture(t)
	for _, file := range []string{f.pdf, f.json} {
		out, errOut, code := f.verify(t, file)
		if code != exitOK || !strings.Contains(out, "用证记录核对：通过") || !strings.Contains(out, "记录：4 条") || !strings.Contains(out, "窗口核验") {
			t.Fatalf("%s: exit %d\n%s%s", file, code, out, errOut)
		}
	}
	out, _, code := f.verify(t, "--json", f.json)
	var res recordsResult
	if code != exitOK || json.Unmarshal([]byte(out), &res) != nil || !res.Valid || len(res.Verified.Records) != 4 {
		t.Fatalf("--json: exit %d %s", code, out)
	}

	// Change the purpose of the holder's second record in the JSON export.
	raw, _ := os.ReadFile(f.json)
	exp, err := registry.ParseRecordsExport(raw)
	if err != nil {
		t.Fatal(err)
	}
	var seq uint64
	for i, l := range exp.Segments[0].Links {
		if l.Record != nil && bytes.Contains(l.Record, []byte("核验营业执照")) {
			exp.Segments[0].Links[i].Record = bytes.Replace(l.Record, []byte("核验营业执照"), []byte("随便看看营业执照"), 1)
			seq = exp.Segments[0].FirstSeq + uint64(i)
			break
		}
	}
	if seq == 0 {
		t.Fatal("no use in the export")
	}
	bad, _ := registry.MarshalExport(exp)
	tampered := filepath.Join(f.dir, "tampered.json")
	os.WriteFile(tampered, bad, 0o600)
	out, _, code = f.verify(t, tampered)
	if code != exitInvalid || !strings.Contains(out, "未通过") || !strings.Contains(out, fmt.Sprintf("记录 #%d：", seq)) {
		t.Fatalf("tampered export: exit %d\n%s", code, out)
	}
	out, _, code = f.verify(t, "--json", tampered)
	if json.Unmarshal([]byte(out), &res) != nil || res.Valid || res.Seq == nil || *res.Seq != seq {
		t.Fatalf("tampered --json: exit %d %s", code, out)
	}

	// An older bundle than the trust file accepted (a replay hiding later
	// records and revocations) is refused, as verify refuses it.
	held := filepath.Join(f.dir, "trust.json")
	raw, _ = os.ReadFile(f.bundle)
	b, err := verifier.ParseBundle(raw, verifier.WithRootFingerprint(f.fp))
	if err != nil {
		t.Fatal(err)
	}
	if err := saveTrust(held, &trustFile{Version: 1, RootFingerprint: f.fp, Sequence: b.Sequence + 1}); err != nil {
		t.Fatal(err)
	}
	var o, e bytes.Buffer
	if code := run(context.Background(), []string{"records", "verify", "--bundle", f.bundle, "--trust", held, f.json}, &o, &e); code != exitUsage || !strings.Contains(e.String(), "比已接受的") {
		t.Fatalf("older bundle: exit %d %s%s", code, o.String(), e.String())
	}

	// Another root's fingerprint: the bundle is refused before anything.
	_, errOut, code := f.verify(t, "--root-fingerprint", strings.Repeat("ab", 32), f.json)
	if code != exitUsage || !strings.Contains(errOut, "bundle") {
		t.Fatalf("wrong root: exit %d %s", code, errOut)
	}
}

// records check runs the service's chain check on a data directory: a
// purpose edited with SQL is named with its record and both values.
func TestRecordsCheck(t *testing.T) {
	f := newRecordsFixture(t)
	t.Setenv(passphraseEnv, recordsPass)
	check := func() (string, int) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"records", "check", "--data", f.dir}, &out, &errOut)
		return out.String() + errOut.String(), code
	}
	if out, code := check(); code != exitOK || !strings.Contains(out, "记录链校验：通过") {
		t.Fatalf("untouched: exit %d\n%s", code, out)
	}
	db, err := sql.Open("sqlite", filepath.Join(f.dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	var seq int
	if err := db.QueryRow(`SELECT MAX(seq) FROM records WHERE action = 'use.window_verify'`).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE records SET purpose = '随便看看' WHERE seq = ?`, seq); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out, code := check()
	want := fmt.Sprintf(`记录 #%d：字段 purpose 被改动（库中为 "随便看看"，链上为 "核验营业执照"）`, seq)
	if code != exitInvalid || !strings.Contains(out, want) {
		t.Fatalf("edited: exit %d\n%s\nwant %s", code, out, want)
	}
}
