package importer

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"zhengzhao/internal/limits"
	"zhengzhao/license"
	"zhengzhao/registry"
)

// Format is a file's format.
type Format string

// The formats a file may be in.
const (
	CSV   Format = "csv"
	JSONL Format = "jsonl"
)

// FormatOf is the format a file name says: .jsonl, .ndjson and .json are
// JSON Lines, anything else CSV.
func FormatOf(name string) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jsonl", ".ndjson", ".json":
		return JSONL
	}
	return CSV
}

// Options say what a file holds: licenses of one type, for one department.
type Options struct {
	// Department is the issuing department's USCC; it is part of every
	// row's request key.
	Department string
	Type       license.Type
	Format     Format // "" is CSV
}

// Row is one row of a file: the request to issue, or why it cannot be.
type Row struct {
	// Line is the row's line in the file (RowError.Row).
	Line int
	// Request is the issue request, with a RequestKey (RequestKey).
	Request registry.IssueRequest
	// Errs, when not empty, say why the row is not issued.
	Errs []RowError
}

// Reader reads the rows of one file.
type Reader struct {
	opts  Options
	enc   Encoding
	idx   columnIndex
	cols  []Column      // CSV: the header's columns
	csv   *csv.Reader   // CSV
	lines *bufio.Reader // JSON Lines
	line  int           // JSON Lines: lines read
}

// NewReader reads a file's encoding and (CSV) its header. A header it
// cannot read with is a *HeaderError; nothing of the file is used.
func NewReader(r io.Reader, o Options) (*Reader, error) {
	text, enc, err := decode(r)
	if err != nil {
		return nil, err
	}
	text = &lineLimiter{r: text}
	rd := &Reader{opts: o, enc: enc, idx: newColumnIndex(o.Type)}
	if o.Format == JSONL {
		rd.lines = bufio.NewReaderSize(text, 64<<10)
		return rd, nil
	}
	rd.csv = csv.NewReader(text)
	rd.csv.FieldsPerRecord = -1
	header, err := rd.csv.Read()
	if errors.Is(err, io.EOF) {
		header, err = nil, nil
	}
	if err != nil {
		var le *limits.ExceededError
		if errors.As(err, &le) {
			return nil, le
		}
		return nil, &HeaderError{Rule: "syntax", Message: "第 1 行（表头）不是有效的 CSV：" + csvReason(err)}
	}
	if rd.cols, err = mapHeader(o.Type, header); err != nil {
		return nil, err
	}
	return rd, nil
}

// Encoding is the encoding the file was read in.
func (r *Reader) Encoding() Encoding { return r.enc }

// Next returns the next row, or io.EOF after the last. A row that cannot
// be read is returned with its errors and reading goes on; any other
// error (reading the file, a row over limits.ImportRecord) ends the file.
func (r *Reader) Next() (Row, error) {
	if r.lines != nil {
		return r.nextJSON()
	}
	for {
		rec, err := r.csv.Read()
		if errors.Is(err, io.EOF) {
			return Row{}, io.EOF
		}
		line, _ := r.csv.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return Row{}, err
			}
			return Row{Line: pe.StartLine, Errs: []RowError{{Row: pe.StartLine, Rule: "syntax", Message: "不是有效的 CSV：" + csvReason(err)}}}, nil
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a line of blanks
		}
		if len(rec) != len(r.cols) {
			return Row{Line: line, Errs: []RowError{{Row: line, Rule: "columns",
				Message: fmt.Sprintf("有 %d 列，表头有 %d 列：每行的列数应与表头一致", len(rec), len(r.cols))}}}, nil
		}
		return r.cells(line, rec), nil
	}
}

// cells makes a row from a CSV record under the header's columns.
func (r *Reader) cells(line int, rec []string) Row {
	vals := make([]value, len(rec))
	for i, v := range rec {
		vals[i] = value{col: r.cols[i], v: v}
	}
	return r.build(line, vals)
}

// csvReason says why encoding/csv refused a line, in Chinese.
func csvReason(err error) string {
	switch {
	case errors.Is(err, csv.ErrQuote):
		return "引号使用错误（字段中的引号应写成两个引号 \"\"）"
	case errors.Is(err, csv.ErrBareQuote):
		return "未加引号的字段中出现了引号"
	}
	return err.Error()
}

func (r *Reader) nextJSON() (Row, error) {
	for {
		raw, err := r.lines.ReadBytes('\n')
		if len(raw) == 0 && errors.Is(err, io.EOF) {
			return Row{}, io.EOF
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return Row{}, err
		}
		r.line++
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		return r.parseJSON(r.line, raw), nil
	}
}

// parseJSON reads one JSON line: an object whose members are column names
// (as a CSV header may have them) with string values, or an
// IssueRequest's JSON ("fields" holding the type's fields by key).
func (r *Reader) parseJSON(line int, raw []byte) Row {
	bad := func(rule, msg string) Row {
		return Row{Line: line, Errs: []RowError{{Row: line, Rule: rule, Message: msg}}}
	}
	if !utf8.Valid(raw) {
		return bad("encoding", "不是有效的 UTF-8 文本")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return bad("syntax", "不是一个 JSON 对象："+err.Error())
	}
	str := func(name string, m json.RawMessage) (string, *RowError) {
		var s string
		if err := json.Unmarshal(m, &s); err != nil {
			return "", &RowError{Row: line, Field: name, Column: name, Rule: "syntax", Message: "值应为字符串"}
		}
		return s, nil
	}
	var vals []value
	var errs []RowError
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, name := range names {
		m := obj[name]
		switch name {
		case "type":
			s, e := str(name, m)
			if e == nil && s != r.opts.Type.Code {
				e = &RowError{Row: line, Field: "type", Column: "type", Rule: "mismatch",
					Message: fmt.Sprintf("证照类型代码 %s 与本次导入的类型「%s」（%s）不同", s, r.opts.Type.Name, r.opts.Type.Code)}
			}
			if e != nil {
				errs = append(errs, *e)
			}
			continue
		case "fields":
			var fields map[string]json.RawMessage
			if err := json.Unmarshal(m, &fields); err != nil {
				errs = append(errs, RowError{Row: line, Field: "fields", Column: "fields", Rule: "syntax", Message: "fields 应为对象"})
				continue
			}
			keys := make([]string, 0, len(fields))
			for k := range fields {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				c, ok := r.idx.lookup("fields." + k)
				if !ok {
					errs = append(errs, RowError{Row: line, Field: "fields." + k, Column: k, Rule: "unknown",
						Message: fmt.Sprintf("「%s」没有这个字段", r.opts.Type.Name)})
					continue
				}
				s, e := str(k, fields[k])
				if e != nil {
					errs = append(errs, *e)
					continue
				}
				vals = append(vals, value{col: c, v: s})
			}
			continue
		case "requestKey":
			name = "rowKey"
		}
		c, ok := r.idx.lookup(name)
		if !ok {
			errs = append(errs, RowError{Row: line, Column: name, Rule: "unknown",
				Message: fmt.Sprintf("「%s」没有这个字段；可用的列见导入模板", r.opts.Type.Name)})
			continue
		}
		s, e := str(name, m)
		if e != nil {
			errs = append(errs, *e)
			continue
		}
		vals = append(vals, value{col: c, v: s})
	}
	if len(errs) > 0 {
		return Row{Line: line, Errs: errs}
	}
	return r.build(line, vals)
}

// value is one cell: its column and text.
type value struct {
	col Column
	v   string
}

// build makes a row's request from its cells.
func (r *Reader) build(line int, vals []value) Row {
	req := registry.IssueRequest{TypeCode: r.opts.Type.Code, Fields: map[string]string{}}
	var rowKey string
	var errs []RowError
	for _, cell := range vals {
		v := strings.TrimSpace(cell.v)
		if !utf8.ValidString(v) {
			errs = append(errs, RowError{Row: line, Field: cell.col.Key, Column: cell.col.Label, Rule: "encoding",
				Message: "不是有效的 UTF-8 文本（文件开头按 UTF-8 识别；GBK 文件请整个以 GBK 保存）"})
			continue
		}
		if k, ok := cell.col.fieldKey(); ok {
			if v != "" {
				req.Fields[k] = v
			}
			continue
		}
		switch cell.col.Key {
		case "holder":
			req.Holder = v
		case "holderCode":
			req.HolderCode = strings.ToUpper(v)
		case "jurisdiction":
			req.Jurisdiction = v
		case "number":
			req.Number = v
		case "issueDate":
			req.IssueDate = v
		case "validFrom":
			req.ValidFrom = v
		case "validUntil":
			req.ValidUntil = v
		case "rowKey":
			rowKey = v
		}
	}
	if len(errs) > 0 {
		return Row{Line: line, Errs: errs}
	}
	req.RequestKey = RequestKey(r.opts.Department, req, rowKey)
	return Row{Line: line, Request: req}
}

// RequestKey is the stable request key of a row of department dept: from
// its original license number when it has one, else from its row key,
// else from its whole content. The same row of the same file, read again,
// has the same key, so issuing it again answers the license it issued.
func RequestKey(dept string, req registry.IssueRequest, rowKey string) string {
	h := sha256.New()
	kind := "c"
	parts := []string{dept, req.TypeCode}
	switch {
	case req.Number != "":
		kind = "n"
		parts = append(parts, req.Number)
	case rowKey != "":
		kind = "k"
		parts = append(parts, rowKey)
	default:
		parts = append(parts, req.Holder, req.HolderCode, req.Jurisdiction, req.IssueDate, req.ValidFrom, req.ValidUntil)
		keys := make([]string, 0, len(req.Fields))
		for k := range req.Fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			parts = append(parts, k+"="+req.Fields[k])
		}
	}
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "imp-" + kind + "-" + hex.EncodeToString(h.Sum(nil)[:20])
}

// lineLimiter fails a read once limits.ImportRecord bytes have passed
// without a line break, so one huge line cannot fill memory.
type lineLimiter struct {
	r    io.Reader
	run  int // bytes since the last line break
	line int // line breaks seen
}

func (l *lineLimiter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for _, b := range p[:n] {
		if b == '\n' {
			l.run = 0
			l.line++
			continue
		}
		if l.run++; l.run > limits.ImportRecord {
			return 0, limits.ExceededBytes("import_record", fmt.Sprintf("第 %d 行的长度", l.line+1), limits.ImportRecord)
		}
	}
	return n, err
}
