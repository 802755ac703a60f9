package importer

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"zhengzhao/internal/limits"
	"zhengzhao/license"
	"zhengzhao/registry"
)

// RowError is why one row was not issued. Row, Field and Rule are for
// machines; Column and Message for people, in Chinese.
type RowError struct {
	// Row is the row's line in the file: the header is line 1 of a CSV
	// file; a JSON Lines file has no header, its first line is 1.
	Row int `json:"row"`
	// Field is the column's stable key ("holderCode", "fields.address"),
	// empty when the error is the row's as a whole.
	Field string `json:"field,omitempty"`
	// Column is the column's Chinese label.
	Column string `json:"column,omitempty"`
	// Rule is a stable English token: a license.FieldError rule
	// ("required", "pattern", "check", …), or "one_active", "key_reused",
	// "columns", "encoding", "syntax", "forbidden".
	Rule string `json:"rule"`
	// Message says what is wrong, in Chinese.
	Message string `json:"message"`
}

// Error returns "第 3 行「持证主体代码」：…".
func (e RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("第 %d 行：%s", e.Row, e.Message)
	}
	return fmt.Sprintf("第 %d 行「%s」：%s", e.Row, e.Column, e.Message)
}

// ruleText says each license.FieldError rule in Chinese.
var ruleText = map[string]string{
	"required": "必填，不能为空",
	"length":   "长度超出上限",
	"charset":  "含有不允许的字符",
	"pattern":  "格式不符合要求",
	"enum":     "不是允许的取值之一",
	"date":     "应为真实日期，格式 YYYY-MM-DD",
	"number":   "应为非负数字，如 12.5",
	"check":    "校验位错误",
	"area":     "行政区划代码不存在",
	"range":    "超出允许的范围",
	"mismatch": "与其他内容不一致",
	"prefix":   "开头不符合要求",
	"unknown":  "不是该证照类型的字段",
}

var englishWords = regexp.MustCompile(`[A-Za-z]{2,}[ ,][A-Za-z]{2,}`)

// chinese reports whether a message reads as Chinese: it has Chinese
// characters and no English phrase.
func chinese(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0 && !englishWords.MatchString(s)
}

// IssueErrors turns what issuing a row answered into the row's errors.
// ok is false when err is not the row's fault (the ledger or the store
// failed, the request was cancelled): the caller stops and tries again
// later rather than reporting the row.
func IssueErrors(row int, t license.Type, err error) (errs []RowError, ok bool) {
	labels := map[string]string{}
	for _, c := range Columns(t) {
		labels[c.Key] = c.Label
	}
	var fes []*license.FieldError
	var walk func(error)
	walk = func(err error) {
		var fe *license.FieldError
		if errors.As(err, &fe) && err == error(fe) {
			fes = append(fes, fe)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	for _, fe := range fes {
		msg := fe.Message
		if !chinese(msg) {
			msg = ruleText[fe.Rule]
			if msg == "" {
				msg = "不符合规则（" + fe.Rule + "）"
			}
		}
		errs = append(errs, RowError{Row: row, Field: fe.Field, Column: labels[fe.Field], Rule: fe.Rule, Message: cut(msg)})
	}
	if len(errs) > 0 {
		return errs, true
	}
	var oa *registry.OneActiveError
	var kr *registry.KeyReuseError
	switch {
	case errors.As(err, &oa):
		return []RowError{{Row: row, Field: "holderCode", Column: labels["holderCode"], Rule: "one_active", Message: cut(oa.Error())}}, true
	case errors.As(err, &kr):
		col := labels[kr.Field]
		if col == "" {
			col = kr.Field
		}
		return []RowError{{Row: row, Field: kr.Field, Rule: "key_reused", Column: labels[kr.Field],
			Message: cut(fmt.Sprintf("本行与之前导入的一行是同一张证照（证照编号或行键相同），但「%s」不同；已签发的证照不会被覆盖，如需修改请办理变更", col))}}, true
	case errors.Is(err, license.ErrInvalid):
		return []RowError{{Row: row, Rule: "invalid", Message: cut("内容不符合规则：" + err.Error())}}, true
	case errors.Is(err, registry.ErrConflict):
		return []RowError{{Row: row, Rule: "conflict", Message: cut("与已有证照冲突：" + err.Error())}}, true
	}
	return nil, false
}

// cut shortens a message to limits.ImportMessage bytes, at a character
// boundary, ending in "…".
func cut(s string) string {
	if len(s) <= limits.ImportMessage {
		return s
	}
	n := limits.ImportMessage
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// ErrorWriter writes row errors as CSV for people with Excel: 行号, 列,
// 错误, then the stable 字段 and 规则 for machines.
type ErrorWriter struct{ w *csv.Writer }

// ErrorHeader is the header row of an errors file.
var ErrorHeader = []string{"行号", "列", "错误", "字段", "规则"}

// NewErrorWriter starts an errors file on w: a UTF-8 byte-order mark and
// ErrorHeader.
func NewErrorWriter(w io.Writer) (*ErrorWriter, error) {
	if _, err := io.WriteString(w, bom); err != nil {
		return nil, err
	}
	ew := &ErrorWriter{w: csv.NewWriter(w)}
	return ew, ew.w.Write(ErrorHeader)
}

// AppendErrorWriter goes on with an errors file NewErrorWriter started.
func AppendErrorWriter(w io.Writer) *ErrorWriter { return &ErrorWriter{w: csv.NewWriter(w)} }

// Write writes one row error; a Row of 0 (a note on the whole file) has an
// empty 行号.
func (w *ErrorWriter) Write(e RowError) error {
	row := ""
	if e.Row > 0 {
		row = strconv.Itoa(e.Row)
	}
	return w.w.Write([]string{row, e.Column, e.Message, e.Field, e.Rule})
}

// Flush writes what is buffered.
func (w *ErrorWriter) Flush() error {
	w.w.Flush()
	return w.w.Error()
}
