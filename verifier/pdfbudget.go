package verifier

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"strconv"

	"zhengzhao/internal/limits"
)

// pdfBudget scans a PDF's bytes before the PDF library reads it and
// refuses one that would make it do more work than the limits allow: too
// many objects or streams, streams that inflate past limits.PDFInflated
// together (a deflate bomb), or filters that can expand without bound
// (chains of filters, LZW, run-length, ASCII encodings), none of which a
// license PDF uses. The work it does itself is bounded by the same limits:
// it inflates at most limits.PDFInflated bytes, into no buffer.
//
// The scan is a superset of what the library will read: every stream
// starts with the keyword "stream" in the file (streams cannot sit in
// object streams), and a zlib stream ends by itself, so a /Length that lies
// cannot hide bytes from it.
func pdfBudget(pdf []byte) error {
	if bytes.Contains(pdf, []byte("/Encrypt")) {
		return notLicensePDF("PDF 已加密，证照 PDF 不加密", "encrypted PDFs are not license PDFs")
	}
	objects := countObjects(pdf)
	if objects > limits.PDFObjects {
		return tooMuch(limits.Exceeded("pdf_objects", "PDF 对象数量", limits.PDFObjects))
	}
	var (
		streams  int
		inflated int64
		zr       io.ReadCloser
	)
	for i := 0; ; {
		k := bytes.Index(pdf[i:], []byte("stream"))
		if k < 0 {
			break
		}
		at := i + k
		i = at + len("stream")
		if at >= 3 && string(pdf[at-3:at]) == "end" {
			continue
		}
		start := i
		switch {
		case bytes.HasPrefix(pdf[start:], []byte("\r\n")):
			start += 2
		case bytes.HasPrefix(pdf[start:], []byte("\n")), bytes.HasPrefix(pdf[start:], []byte("\r")):
			start++
		default:
			continue // not the keyword
		}
		dict := dictBefore(pdf, at)
		if dict == nil {
			continue // a word in some data, not a stream
		}
		streams++
		if streams > limits.PDFStreams {
			return tooMuch(limits.Exceeded("pdf_streams", "PDF 数据流数量", limits.PDFStreams))
		}
		filters, ok := streamFilters(dict)
		if !ok {
			return notLicensePDF("PDF 数据流的 /Filter 格式错误", "a stream's /Filter is not a name or an array of names")
		}
		if n := objStmCount(dict); n > 0 {
			objects += n
			if objects > limits.PDFObjects {
				return tooMuch(limits.Exceeded("pdf_objects", "PDF 对象数量", limits.PDFObjects))
			}
		}
		if len(filters) == 0 {
			continue
		}
		if len(filters) > 1 {
			return notLicensePDF(fmt.Sprintf("PDF 数据流串了 %d 个压缩过滤器，证照 PDF 只用一个", len(filters)), "a stream has %d filters chained; a license PDF uses one", len(filters))
		}
		switch filters[0] {
		case "FlateDecode", "Fl":
		case "DCTDecode", "JPXDecode", "CCITTFaxDecode":
			continue // pictures: kept as they are, never inflated
		default:
			return notLicensePDF(fmt.Sprintf("不接受 PDF 数据流过滤器 /%s（证照 PDF 只用 /FlateDecode）", filters[0]), "stream filter /%s is not accepted (a license PDF uses /FlateDecode)", filters[0])
		}
		br := bytes.NewReader(pdf[start:])
		var err error
		if zr == nil {
			zr, err = zlib.NewReader(br)
		} else {
			err = zr.(zlib.Resetter).Reset(br, nil)
		}
		if err != nil {
			continue // not zlib: the library will fail on it, cheaply
		}
		n, _ := io.Copy(io.Discard, io.LimitReader(zr, limits.PDFInflated-inflated+1))
		inflated += n
		if inflated > limits.PDFInflated {
			return tooMuch(limits.ExceededBytes("pdf_inflated", "PDF 解压后的总大小", limits.PDFInflated))
		}
	}
	return nil
}

// tooMuch wraps a limit error as ErrTooLarge.
func tooMuch(e *limits.ExceededError) error {
	return fmt.Errorf("%w: %w", ErrTooLarge, e)
}

// countObjects counts "N G obj" headers.
func countObjects(pdf []byte) int {
	n := 0
	for i := 0; ; {
		k := bytes.Index(pdf[i:], []byte("obj"))
		if k < 0 {
			return n
		}
		at := i + k
		i = at + 3
		if at >= 3 && string(pdf[at-3:at]) == "end" {
			continue
		}
		if i < len(pdf) && !isDelim(pdf[i]) {
			continue
		}
		j := at
		for j > 0 && isSpace(pdf[j-1]) {
			j--
		}
		if j < at && j > 0 && pdf[j-1] >= '0' && pdf[j-1] <= '9' {
			n++
		}
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

// dictBefore returns the dictionary that ends just before the stream
// keyword at at, or nil. It looks back at most 64 KiB.
func dictBefore(pdf []byte, at int) []byte {
	j := at
	for j > 0 && isSpace(pdf[j-1]) {
		j--
	}
	if j < 2 || string(pdf[j-2:j]) != ">>" {
		return nil
	}
	end := j
	depth := 0
	for k := j - 1; k > 0 && end-k < 64<<10; k-- {
		switch {
		case pdf[k] == '>' && pdf[k-1] == '>':
			depth++
			k--
		case pdf[k] == '<' && pdf[k-1] == '<':
			depth--
			k--
			if depth == 0 {
				return pdf[k:end]
			}
		}
	}
	return nil
}

// streamFilters returns the filter names of a stream dictionary; ok is
// false when /Filter is something else (such as an indirect reference).
func streamFilters(dict []byte) (names []string, ok bool) {
	k := bytes.Index(dict, []byte("/Filter"))
	if k < 0 {
		return nil, true
	}
	s := dict[k+len("/Filter"):]
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	switch {
	case len(s) > 0 && s[0] == '/':
		return []string{nameAt(s)}, true
	case len(s) > 0 && s[0] == '[':
		end := bytes.IndexByte(s, ']')
		if end < 0 {
			return nil, false
		}
		for _, f := range bytes.Fields(s[1:end]) {
			for _, part := range bytes.Split(f, []byte("/"))[1:] {
				names = append(names, string(part))
			}
			if f[0] != '/' {
				return nil, false
			}
		}
		return names, true
	}
	return nil, false
}

// nameAt returns the PDF name at the start of s (which starts with '/').
func nameAt(s []byte) string {
	j := 1
	for j < len(s) && !isDelim(s[j]) {
		j++
	}
	return string(s[1:j])
}

// objStmCount is /N of an object stream dictionary, or 0.
func objStmCount(dict []byte) int {
	if !bytes.Contains(dict, []byte("/ObjStm")) {
		return 0
	}
	k := bytes.Index(dict, []byte("/N"))
	for k >= 0 && k+2 < len(dict) && !isDelim(dict[k+2]) {
		next := bytes.Index(dict[k+2:], []byte("/N"))
		if next < 0 {
			k = -1
			break
		}
		k += 2 + next
	}
	if k < 0 {
		return limits.PDFObjects + 1 // an object stream that does not say how many: refuse
	}
	s := bytes.TrimLeft(dict[k+2:], " \r\n\t\f")
	j := 0
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	n, err := strconv.Atoi(string(s[:j]))
	if err != nil {
		return limits.PDFObjects + 1
	}
	return n
}
