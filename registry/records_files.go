package registry

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"zhengzhao/license"
	"zhengzhao/render"
	"zhengzhao/verifier"
)

// recordColumnsZH are the columns of the 用证记录 CSV and PDF.
var recordColumnsZH = []render.Column{
	{Header: "序号", Width: 12},
	{Header: "时间", Width: 29},
	{Header: "操作", Width: 16},
	{Header: "证照标识", Width: 62, Size: 6.5},
	{Header: "使用方", Width: 37},
	{Header: "用证事由", Width: 36},
	{Header: "办理事项", Width: 34},
	{Header: "结果", Width: 14},
	{Header: "说明", Width: 18},
	{Header: "记录摘要", Width: 15, Size: 6.5},
}

// ResultLabel is a record's result in Chinese: a verdict, a status, "ok"
// or "refused".
func ResultLabel(result string) string {
	if l, ok := liveResultLabels[result]; ok {
		return l
	}
	switch result {
	case "ok":
		return "完成"
	case "refused":
		return "已拒绝"
	case "":
		return ""
	}
	if st := license.Status(result); st.Valid() {
		return st.Label()
	}
	if v := verifier.Verdict(result); v == verifier.VerdictUnverifiable || v.Label() != verifier.VerdictUnverifiable.Label() {
		return v.Label()
	}
	return result
}

// liveResultLabels are the results of a refused live code (server/livecode.go
// records "live_code_" + the reason).
var liveResultLabels = map[string]string{
	"live_code_" + LiveCodeMalformed: "亮证码无法识别",
	"live_code_" + LiveCodeForged:    "亮证码签名无效",
	"live_code_" + LiveCodeExpired:   "亮证码已过期",
	"live_code_" + LiveCodeFuture:    "亮证码时间异常",
	"live_code_" + LiveCodeUnknown:   "亮证码所指证照不存在",
}

// reasonLabels are the Chinese texts of refusal reasons.
var reasonLabels = map[string]string{
	UseCodeUnknown:   "用证码不存在",
	UseCodeExpired:   "用证码已过期",
	UseCodeUsed:      "用证码已使用",
	UseCodeRevoked:   "用证码已撤回",
	UseCodeWrongItem: "办理事项与授权不符",
}

// ReasonText is a record's reason in Chinese where one is known.
func ReasonText(reason string) string {
	if l, ok := reasonLabels[reason]; ok {
		return l
	}
	return license.ReasonLabel(reason)
}

// recordRowZH is one record as the CSV and the PDF show it.
func (s *Service) recordRowZH(r Record) []string {
	who := r.Actor.Name
	switch {
	case r.Actor.Hall != "":
		who += "，" + r.Actor.Hall
	case r.Actor.Department != "":
		if d := s.departmentName(r.Actor.Department); d != "" {
			who += "，" + d
		}
	}
	item := r.ServiceItem
	if it, ok := s.ServiceItem(item); ok && item != "" {
		item += " " + it.Name
	}
	canon, _ := r.Canonical()
	return []string{
		strconv.FormatUint(r.Seq, 10),
		r.At.In(license.ChinaTime).Format("2006-01-02 15:04:05"),
		ActionLabel(r.Action),
		r.License,
		who,
		r.Purpose,
		item,
		ResultLabel(r.Result),
		ReasonText(r.Reason),
		hex.EncodeToString(RecordDigest(canon))[:16],
	}
}

// departmentName is the name of a registered department, or "".
func (s *Service) departmentName(uscc string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.deptByID[uscc]; ok {
		return d.Name
	}
	return ""
}

// RecordsCSV is the holder's 用证记录 as CSV for Excel: UTF-8 with a byte
// order mark, Chinese headers, oldest first.
func (s *Service) RecordsCSV(ctx context.Context, a Actor) ([]byte, error) {
	_, recs, err := s.ExportRecords(ctx, a)
	if err != nil {
		return nil, err
	}
	return s.recordsCSV(recs)
}

func (s *Service) recordsCSV(recs []Record) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("\uFEFF")
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	head := make([]string, len(recordColumnsZH))
	for i, c := range recordColumnsZH {
		head[i] = c.Header
	}
	if err := w.Write(head); err != nil {
		return nil, err
	}
	for _, r := range recs {
		row := s.recordRowZH(r)
		for i, c := range row {
			row[i] = csvSafe(c)
		}
		if err := w.Write(row); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return b.Bytes(), w.Error()
}

// csvSafe keeps a cell from being read as a formula by a spreadsheet.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// RecordsPDF is the holder's 用证记录 as a PDF: a table of every record,
// with the verifiable export (records.json) embedded, so that
// `zhengzhao records verify` checks the PDF alone.
func (s *Service) RecordsPDF(ctx context.Context, a Actor) ([]byte, error) {
	exp, recs, err := s.ExportRecords(ctx, a)
	if err != nil {
		return nil, err
	}
	js, err := MarshalExport(exp)
	if err != nil {
		return nil, err
	}
	return s.recordsPDF(exp, recs, js)
}

func (s *Service) recordsPDF(exp *RecordsExport, recs []Record, js []byte) ([]byte, error) {
	rows := make([][]string, len(recs))
	for i, r := range recs {
		rows[i] = s.recordRowZH(r)
	}
	proved := len(recs) - exp.Unanchored
	sub := []string{
		"持证主体代码：" + exp.Holder,
		fmt.Sprintf("导出时间：%s    记录 %d 条，其中 %d 条已由账本锚定的链头证明", exp.ExportedAt.In(license.ChinaTime).Format("2006-01-02 15:04"), len(recs), proved),
		"核对方法：zhengzhao records verify 本文件.pdf --bundle 信任包.json（离线核对每条记录都在账本锚定的记录链中）",
	}
	return s.render.TablePDF(render.Table{
		Title:     "用证记录",
		Subtitle:  sub,
		Columns:   recordColumnsZH,
		Rows:      rows,
		Footer:    "证照平台 用证记录 · 记录摘要为该条记录规范字节的 SM3 前 8 字节",
		CreatedAt: exp.ExportedAt,
		Attachments: []render.Attachment{{Name: AttachmentRecords, Data: js,
			Description: "用证记录及其哈希链证明（" + RecordsExportFormat + "）"}},
	})
}
