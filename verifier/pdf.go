package verifier

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"zhengzhao/internal/limits"
)

// What render embeds in a license PDF and the verifier reads back: the
// Document JSON (credential and receipt) and the seal's SES_Signature. The
// render package writes the same names (a test checks they agree).
const (
	AttachmentCredential = "credential.json"
	AttachmentSeal       = "seal.sig"
)

// Limits on PDFs read back by ExtractAttachments and VisibleIdentifier;
// internal/limits holds them with the others.
const (
	// MaxPDFSize is the largest PDF accepted, in bytes.
	MaxPDFSize = limits.PDFSize
	// MaxAttachmentSize is the largest attachment returned, in bytes
	// (after decompression).
	MaxAttachmentSize = limits.PDFAttachmentSize
	// maxPages bounds the pages VisibleIdentifier scans.
	maxPages = limits.PDFPages
)

// pdfcpu writes a config.yml to the user's config directory unless told
// not to; a library must not do that.
var pdfcpuConfig = sync.OnceFunc(func() {
	if model.ConfigPath == "default" {
		model.ConfigPath = "disable"
	}
})

// readPDF reads a PDF within the limits of internal/limits: its size, and
// (pdfBudget) the work reading it may cost.
func readPDF(pdf []byte) (*model.Context, error) {
	if len(pdf) > MaxPDFSize {
		return nil, tooMuch(limits.ExceededBytes("pdf_size", "PDF 文件大小", MaxPDFSize))
	}
	if err := pdfBudget(pdf); err != nil {
		return nil, err
	}
	pdfcpuConfig()
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	ctx, err := api.ReadAndValidate(bytes.NewReader(pdf), conf)
	if err != nil {
		return nil, notLicensePDF("文件无法作为 PDF 读取", "cannot read the PDF: %v", err)
	}
	return ctx, nil
}

// recoverMalformed turns a panic inside pdfcpu, which reads untrusted
// input, into ErrNotLicensePDF.
func recoverMalformed(err *error) {
	if r := recover(); r != nil {
		*err = notLicensePDF("PDF 结构损坏", "malformed PDF: %v", r)
	}
}

// ExtractAttachments returns the two files a license PDF carries by name,
// AttachmentCredential and AttachmentSeal (others are counted, never
// inflated). A PDF over a limit of internal/limits (its size, objects,
// streams, inflated bytes, attachments or an attachment's size) is
// ErrTooLarge wrapping a *limits.ExceededError; one that cannot be read or
// carries no AttachmentCredential is ErrNotLicensePDF.
func ExtractAttachments(pdf []byte) (_ map[string][]byte, err error) {
	defer recoverMalformed(&err)
	ctx, err := readPDF(pdf)
	if err != nil {
		return nil, err
	}
	return attachments(ctx)
}

// attachments is ExtractAttachments on a PDF already read.
func attachments(ctx *model.Context) (map[string][]byte, error) {
	if err := ctx.LocateNameTree("EmbeddedFiles", false); err != nil || ctx.Names["EmbeddedFiles"] == nil {
		return nil, notLicensePDF("PDF 中没有内嵌的证照凭证文件", "no embedded files")
	}
	// List first (nothing is inflated), then inflate only the two files a
	// license PDF carries.
	stubs, err := ctx.ListAttachments()
	if err != nil {
		return nil, notLicensePDF("PDF 的内嵌文件无法读取", "embedded files: %v", err)
	}
	if len(stubs) > limits.PDFAttachments {
		return nil, tooMuch(limits.Exceeded("pdf_attachments", "附件数量", limits.PDFAttachments))
	}
	seen := make(map[string]bool, len(stubs))
	out := make(map[string][]byte, 2)
	for _, stub := range stubs {
		if seen[stub.FileName] {
			return nil, notLicensePDF("内嵌文件 "+stub.FileName+" 出现了两次", "attachment %q appears twice", stub.FileName)
		}
		seen[stub.FileName] = true
		if stub.FileName != AttachmentCredential && stub.FileName != AttachmentSeal {
			continue
		}
		a, err := ctx.ExtractAttachment(stub)
		if err != nil || a == nil {
			return nil, notLicensePDF("内嵌文件 "+stub.FileName+" 无法读取", "attachment %q: %v", stub.FileName, err)
		}
		data, err := io.ReadAll(io.LimitReader(a.Reader, MaxAttachmentSize+1))
		if err != nil {
			return nil, notLicensePDF("内嵌文件 "+stub.FileName+" 无法读取", "attachment %q: %v", stub.FileName, err)
		}
		if len(data) > MaxAttachmentSize {
			return nil, tooMuch(limits.ExceededBytes("pdf_attachment_size", "附件 "+stub.FileName+" 的大小", MaxAttachmentSize))
		}
		out[stub.FileName] = data
	}
	if _, ok := out[AttachmentCredential]; !ok {
		return nil, notLicensePDF("PDF 中没有内嵌的证照凭证（"+AttachmentCredential+"）", "no %s attachment", AttachmentCredential)
	}
	return out, nil
}

// VisibleIdentifier returns the license identifier drawn on the face: the
// text shown in a Courier font, which the renderer uses for nothing else.
// A verifier compares it with the identifier of the embedded credential.
// No such text, or two different ones, is ErrNotLicensePDF.
func VisibleIdentifier(pdf []byte) (_ string, err error) {
	defer recoverMalformed(&err)
	ctx, err := readPDF(pdf)
	if err != nil {
		return "", err
	}
	return visibleIdentifier(ctx)
}

// visibleIdentifier is VisibleIdentifier on a PDF already read.
func visibleIdentifier(ctx *model.Context) (string, error) {
	if err := ctx.EnsurePageCount(); err != nil {
		return "", notLicensePDF("PDF 的页面无法读取", "page tree: %v", err)
	}
	found := ""
	for pg := 1; pg <= min(ctx.PageCount, maxPages); pg++ {
		d, _, inh, err := ctx.PageDict(pg, false)
		if err != nil {
			return "", notLicensePDF(fmt.Sprintf("第 %d 页无法读取", pg), "page %d: %v", pg, err)
		}
		courier := courierFonts(ctx, d, inh)
		if len(courier) == 0 {
			continue
		}
		content, err := ctx.PageContent(d, pg)
		if err != nil {
			continue // a page without content
		}
		for _, s := range courierStrings(content, courier) {
			switch {
			case s == "":
			case found == "":
				found = s
			case found != s:
				return "", notLicensePDF("页面上印了两个不同的电子证照标识："+found+" 和 "+s, "two different identifiers drawn: %q and %q", found, s)
			}
		}
	}
	if found == "" {
		return "", notLicensePDF("页面上没有印电子证照标识", "no identifier drawn on the page")
	}
	return found, nil
}

// courierFonts returns the resource names of the page's Courier fonts.
func courierFonts(ctx *model.Context, page types.Dict, inh *model.InheritedPageAttrs) map[string]bool {
	var res types.Dict
	if o, ok := page.Find("Resources"); ok {
		res, _ = ctx.DereferenceDict(o)
	}
	if res == nil && inh != nil {
		res = inh.Resources
	}
	if res == nil {
		return nil
	}
	fo, ok := res.Find("Font")
	if !ok {
		return nil
	}
	fonts, err := ctx.DereferenceDict(fo)
	if err != nil || fonts == nil {
		return nil
	}
	out := map[string]bool{}
	for name, o := range fonts {
		fd, err := ctx.DereferenceDict(o)
		if err != nil || fd == nil {
			continue
		}
		if base := fd.NameEntry("BaseFont"); base != nil && *base == "Courier" {
			out[name] = true
		}
	}
	return out
}

// courierStrings scans a content stream and returns the strings shown
// (Tj, TJ, ', ") while one of the given fonts is selected.
func courierStrings(content []byte, fonts map[string]bool) []string {
	var (
		out      []string
		operands []any // string, name (as "/x") or nil for other operands
		inFont   bool
		arr      []string
		inArr    bool
	)
	s := content
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0:
			i++
		case c == '%':
			for i < len(s) && s[i] != '\n' && s[i] != '\r' {
				i++
			}
		case c == '(':
			str, n := literalString(s[i:])
			i += n
			if inArr {
				arr = append(arr, str)
			} else {
				operands = append(operands, str)
			}
		case c == '<' && i+1 < len(s) && s[i+1] == '<':
			i += 2 // inline dictionaries (BI ... ID) are not expected here
		case c == '>' && i+1 < len(s) && s[i+1] == '>':
			i += 2
		case c == '<':
			j := bytes.IndexByte(s[i:], '>')
			if j < 0 {
				return out
			}
			str := hexString(s[i+1 : i+j])
			i += j + 1
			if inArr {
				arr = append(arr, str)
			} else {
				operands = append(operands, str)
			}
		case c == '[':
			inArr, arr = true, nil
			i++
		case c == ']':
			inArr = false
			joined := ""
			for _, a := range arr {
				joined += a
			}
			operands = append(operands, joined)
			i++
		case c == '/':
			j := i + 1
			for j < len(s) && !isDelim(s[j]) {
				j++
			}
			operands = append(operands, "/"+string(s[i+1:j]))
			i = j
		default:
			j := i
			for j < len(s) && !isDelim(s[j]) {
				j++
			}
			if j == i {
				j++
			}
			tok := string(s[i:j])
			i = j
			if inArr {
				continue // numbers inside TJ arrays
			}
			if (tok[0] >= '0' && tok[0] <= '9') || tok[0] == '-' || tok[0] == '+' || tok[0] == '.' {
				operands = append(operands, nil)
				continue
			}
			switch tok {
			case "Tf":
				if len(operands) >= 2 {
					name, _ := operands[len(operands)-2].(string)
					inFont = len(name) > 1 && name[0] == '/' && fonts[name[1:]]
				}
			case "Tj", "TJ", "'", "\"":
				if inFont && len(operands) > 0 {
					if str, ok := operands[len(operands)-1].(string); ok {
						out = append(out, str)
					}
				}
			}
			operands = operands[:0]
		}
	}
	return out
}

func isDelim(c byte) bool {
	switch c {
	case ' ', '\n', '\r', '\t', '\f', 0, '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// literalString decodes a PDF literal string at the start of s and returns
// it and the bytes consumed.
func literalString(s []byte) (string, int) {
	var b []byte
	depth := 0
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == '(':
			if depth > 0 {
				b = append(b, c)
			}
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return string(b), i + 1
			}
			b = append(b, c)
		case c == '\\' && i+1 < len(s):
			i++
			switch e := s[i]; e {
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case '\r', '\n': // line continuation
			default:
				if e >= '0' && e <= '7' {
					v := 0
					k := 0
					for k < 3 && i < len(s) && s[i] >= '0' && s[i] <= '7' {
						v = v*8 + int(s[i]-'0')
						i++
						k++
					}
					b = append(b, byte(v))
					continue
				}
				b = append(b, e)
			}
		default:
			b = append(b, c)
		}
		i++
	}
	return string(b), i
}

func hexString(h []byte) string {
	var b []byte
	var hi byte
	half := false
	for _, c := range h {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			continue
		}
		if half {
			b = append(b, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	if half {
		b = append(b, hi<<4)
	}
	return string(b)
}
