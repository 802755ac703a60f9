package importer

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"zhengzhao/license"
)

// Column is one column a file for a license type may have.
type Column struct {
	// Key is the stable name: an IssueRequest member ("holder",
	// "holderCode", …), "rowKey", or "fields.<key>" for a type field.
	Key string
	// Label is the Chinese header the template writes.
	Label string
	// Required columns must be in the header and have a value in each row.
	Required bool
}

// English name of a type field column, as the key in IssueRequest.Fields.
func (c Column) fieldKey() (string, bool) { return strings.CutPrefix(c.Key, "fields.") }

// The core columns, before the type's fields.
var coreColumns = []Column{
	{Key: "holder", Label: "持证主体", Required: true},
	{Key: "holderCode", Label: "持证主体代码", Required: true},
	{Key: "jurisdiction", Label: "管辖属地编码", Required: true},
	{Key: "number", Label: "证照编号"},
	{Key: "issueDate", Label: "颁发日期"},
	{Key: "validFrom", Label: "有效期起"},
	{Key: "validUntil", Label: "有效期止"},
}

// rowKeyColumn names a row when the file has no original numbers: rows
// with the same key are the same license on a re-run. It is optional and
// not in the template.
var rowKeyColumn = Column{Key: "rowKey", Label: "行键"}

// Columns are the columns of the template for type t, in order: the core
// columns, then the type's fields in the order of the license face.
func Columns(t license.Type) []Column {
	cols := append([]Column{}, coreColumns...)
	for _, f := range t.Fields {
		cols = append(cols, Column{Key: "fields." + f.Key, Label: f.Label, Required: f.Required})
	}
	return cols
}

// Header is the template's header row for type t: the Chinese labels.
func Header(t license.Type) []string {
	cols := Columns(t)
	h := make([]string, len(cols))
	for i, c := range cols {
		h[i] = c.Label
	}
	return h
}

// WriteTemplate writes the CSV template for type t: a UTF-8 byte-order
// mark (so that Excel opens it as UTF-8), the Chinese header and one
// example row from ex (number and dates left empty: their defaults).
func WriteTemplate(w io.Writer, t license.Type, ex license.Record) error {
	if _, err := io.WriteString(w, bom); err != nil {
		return err
	}
	row := []string{ex.Holder, ex.HolderCode, ex.Jurisdiction, "", "", "", ""}
	for _, f := range t.Fields {
		row = append(row, ex.Fields[f.Key])
	}
	cw := csv.NewWriter(w)
	_ = cw.Write(Header(t))
	_ = cw.Write(row)
	cw.Flush()
	return cw.Error()
}

// columnIndex finds columns by what a header may call them: the Chinese
// label, the English key (any case), "fields.<key>", with spaces and a
// trailing "*" (a required mark) ignored.
type columnIndex map[string]Column

func newColumnIndex(t license.Type) columnIndex {
	idx := columnIndex{}
	add := func(name string, c Column) {
		if _, taken := idx[name]; !taken { // a core column wins over a field
			idx[name] = c
		}
	}
	for _, c := range append(Columns(t), rowKeyColumn) {
		add(normalize(c.Label), c)
		add(strings.ToLower(c.Key), c)
		if k, ok := c.fieldKey(); ok {
			add(strings.ToLower(k), c)
		}
	}
	return idx
}

func normalize(name string) string {
	name = strings.TrimSpace(strings.TrimPrefix(name, bom))
	name = strings.TrimSpace(strings.TrimRight(name, "*＊ "))
	return name
}

func (idx columnIndex) lookup(name string) (Column, bool) {
	n := normalize(name)
	if c, ok := idx[n]; ok {
		return c, true
	}
	c, ok := idx[strings.ToLower(n)]
	return c, ok
}

// HeaderError is a header the file cannot be read with: nothing is
// imported. Message is Chinese.
type HeaderError struct {
	// Rule is "unknown" (a column the type lacks), "duplicate", "missing"
	// (a required column absent) or "empty" (no header at all).
	Rule    string
	Column  string
	Message string
	// Header is the header as read.
	Header []string
}

func (e *HeaderError) Error() string { return e.Message }

// mapHeader maps each header cell to its column.
func mapHeader(t license.Type, header []string) ([]Column, error) {
	cols, err := mapColumns(t, header)
	var he *HeaderError
	if errors.As(err, &he) {
		he.Header = header
	}
	return cols, err
}

func mapColumns(t license.Type, header []string) ([]Column, error) {
	idx := newColumnIndex(t)
	cols := make([]Column, len(header))
	seen := map[string]int{}
	if len(header) == 0 || (len(header) == 1 && normalize(header[0]) == "") {
		return nil, &HeaderError{Rule: "empty", Message: "文件为空：第 1 行应为表头"}
	}
	for i, h := range header {
		c, ok := idx.lookup(h)
		if !ok {
			return nil, &HeaderError{Rule: "unknown", Column: h,
				Message: fmt.Sprintf("表头第 %d 列「%s」不是「%s」的字段；可用的列见导入模板", i+1, h, t.Name)}
		}
		if j, dup := seen[c.Key]; dup {
			return nil, &HeaderError{Rule: "duplicate", Column: h,
				Message: fmt.Sprintf("表头第 %d 列与第 %d 列都是「%s」", i+1, j+1, c.Label)}
		}
		seen[c.Key] = i
		cols[i] = c
	}
	for _, c := range Columns(t) {
		if _, ok := seen[c.Key]; c.Required && !ok {
			return nil, &HeaderError{Rule: "missing", Column: c.Label,
				Message: fmt.Sprintf("表头缺少必填列「%s」", c.Label)}
		}
	}
	return cols, nil
}
