package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"zhengzhao/credential"
	"zhengzhao/license"
	"zhengzhao/verifier"
)

// verdictLabel is what a window clerk reads.
func verdictLabel(r *verifier.Result) string {
	s := r.Verdict.Label() + " " + strings.ToUpper(strings.ReplaceAll(string(r.Verdict), "_", " "))
	if r.StaleDays > 0 && r.Verdict == verifier.VerdictStatusUnknown {
		s = fmt.Sprintf("无法确认（状态数据已过期 %d 天） STATUS UNKNOWN", r.StaleDays)
	}
	return s
}

type fileResult struct {
	File   string           `json:"file"`
	Error  string           `json:"error,omitempty"`
	Result *verifier.Result `json:"result,omitempty"`
}

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("verify", "verify --bundle FILE [--root-fingerprint HEX] [--trust FILE] [--at RFC3339] [--json] FILE...", stderr)
	bundleFile := fs.String("bundle", "", "信任包文件（必填）")
	rootFP := fs.String("root-fingerprint", "", "平台根证书指纹（根证书的 SM3，十六进制）；默认用信任文件中固定的指纹")
	trustPath := fs.String("trust", defaultTrustPath(), "zhengzhao bundle 保存的信任文件")
	at := fs.String("at", "", "按此时间核验（RFC 3339，默认现在）")
	asJSON := fs.Bool("json", false, "以 JSON 输出结果（供程序读取，代码为英文）")
	fetch := fs.Bool("fetch-status", false, "按凭证所载地址获取其状态列表（比信任包中的新；取不到则状态无法确认）")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *bundleFile == "" {
		return usagef("请用 --bundle 指定信任包文件")
	}
	if fs.NArg() == 0 {
		return usagef("请至少指定一个要核验的证照文件")
	}
	when := time.Now()
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return usagef("--at 须为 RFC 3339 时间，如 2026-12-07T10:00:00+08:00")
		}
		when = t
	}
	bundle, err := openPinnedBundle(*bundleFile, *rootFP, *trustPath)
	if err != nil {
		return err
	}
	var (
		results    []fileResult
		unreadable bool
		invalid    bool
		unknown    bool
		live       bool
	)
	for _, name := range fs.Args() {
		data, err := readInput(name)
		if err != nil {
			unreadable = true
			results = append(results, fileResult{File: name, Error: fileErrorZh(err)})
			continue
		}
		p := verifier.Policy{At: when}
		if *fetch {
			p.Lists = httpLists{}
		}
		res, err := verifier.Verify(ctx, data, bundle, p)
		if err != nil {
			return err
		}
		switch {
		case errors.Is(res.InputErr, verifier.ErrLiveCode):
			live = true
		case res.InputErr != nil: // a PDF or picture that is not a license
			unreadable = true
		case res.Verdict == verifier.VerdictStatusUnknown:
			unknown = true
		case !res.Valid:
			invalid = true
		}
		results = append(results, fileResult{File: name, Result: res})
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			printResult(stdout, r, bundle)
		}
	}
	switch {
	case live:
		return usageError{errLiveOffline}
	case unreadable:
		return usageError{errors.New("有文件无法读取或不是证照")}
	case invalid:
		return invalidError{}
	case unknown:
		return unknownError{}
	}
	return nil
}

// formLabel names the forms Verify recognises, for the human output.
var formLabel = map[string]string{
	verifier.FormCredential: "证照凭证（JSON）",
	verifier.FormDocument:   "证照凭证及上链回执（JSON）",
	verifier.FormPDF:        "证照 PDF（内嵌凭证、回执和电子印章）",
	verifier.FormCompact:    "二维码内容（ZZ1）",
	verifier.FormPhoto:      "二维码图片",
	verifier.FormLive:       "亮证码（ZZL1，只能在线核验）",
}

// checkMark is how a check's outcome is printed.
var checkMark = map[verifier.CheckStatus]string{verifier.CheckPass: "通过", verifier.CheckFail: "不通过", verifier.CheckSkip: "未检查"}

// errLiveOffline is what verify says of a live code (exit 2): it is never
// valid offline.
var errLiveOffline = errors.New("亮证码（ZZL1:）是手机证照页上一分钟内有效的动态码，由平台签名，只能在线核验：" +
	"请在窗口核验页粘贴或扫描，或调用 POST /api/v1/verify；离线核验请使用证照 PDF 上的 ZZ1: 二维码或证照文件。")

func printResult(w io.Writer, r fileResult, b *verifier.TrustBundle) {
	if r.Error != "" {
		fmt.Fprintf(w, "%s：无法读取：%s\n", r.File, r.Error)
		return
	}
	res := r.Result
	fmt.Fprintf(w, "%s：%s\n", r.File, verdictLabel(res))
	if res.Identifier != "" {
		fmt.Fprintf(w, "  证照      %s %s\n", res.TypeName, res.Identifier)
	}
	if res.IssuerName != "" || res.Issuer != "" {
		fmt.Fprintf(w, "  签发机构  %s（%s）\n", res.IssuerName, res.Issuer)
	}
	fmt.Fprintf(w, "  读作      %s\n", formLabel[res.Form])
	mode := "离线核验"
	if res.Mode == verifier.ModeOnline {
		mode = "在线核验"
	}
	fmt.Fprintf(w, "  核验方式  %s；状态截至 %s（信任包第 %d 版，有效至 %s）\n", mode,
		b.IssuedAt.In(license.ChinaTime).Format(time.DateTime), b.Sequence, b.ValidUntil.In(license.ChinaTime).Format(time.DateTime))
	for _, c := range res.Checks {
		fmt.Fprintf(w, "  [%s] %s：%s\n", checkMark[c.Status], verifier.CheckLabel(c.Name), c.Reason)
	}
}

// httpLists fetches status lists over HTTP(S), bounded in time and size.
type httpLists struct{}

func (httpLists) FetchStatusList(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s", resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, credential.MaxStatusListSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > credential.MaxStatusListSize {
		return nil, fmt.Errorf("larger than %d bytes", credential.MaxStatusListSize)
	}
	return b, nil
}

// fileErrorZh says in Chinese why a file could not be read.
func fileErrorZh(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "文件不存在"
	case errors.Is(err, fs.ErrPermission):
		return "没有读取权限"
	}
	return "无法读取"
}
