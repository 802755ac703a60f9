package importer

import (
	"bufio"
	"bytes"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// Encoding names the text encoding a file was read in.
type Encoding string

// The encodings a file may be in.
const (
	UTF8    Encoding = "utf-8"
	UTF8BOM Encoding = "utf-8-bom"
	GB18030 Encoding = "gb18030" // a superset of GBK and GB2312
)

// Label is the encoding's name for people.
func (e Encoding) Label() string {
	switch e {
	case UTF8BOM:
		return "UTF-8（带 BOM）"
	case GB18030:
		return "GB18030/GBK"
	}
	return "UTF-8"
}

const bom = "\xef\xbb\xbf"

// sniffBytes is how much of a file decides its encoding.
const sniffBytes = 64 << 10

// decode returns a reader of r's text in UTF-8 and the encoding found: a
// byte-order mark means UTF-8; otherwise the first sniffBytes decide: valid
// UTF-8 is UTF-8, anything else GB18030. A file whose first 64 KiB are
// ASCII is read as UTF-8; a later byte that is not UTF-8 then fails its
// row (see checkUTF8).
func decode(r io.Reader) (io.Reader, Encoding, error) {
	br := bufio.NewReaderSize(r, sniffBytes)
	head, err := br.Peek(sniffBytes)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, "", err
	}
	if bytes.HasPrefix(head, []byte(bom)) {
		_, _ = br.Discard(len(bom))
		return br, UTF8BOM, nil
	}
	if validUTF8Prefix(head, len(head) == sniffBytes) {
		return br, UTF8, nil
	}
	return transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder()), GB18030, nil
}

// validUTF8Prefix reports whether b is UTF-8; when cut, b is a prefix and
// may end inside a character.
func validUTF8Prefix(b []byte, cut bool) bool {
	if cut {
		// Drop an incomplete last character (at most 3 bytes).
		for i := 0; i < utf8.UTFMax-1 && len(b) > 0; i++ {
			if utf8.Valid(b) {
				return true
			}
			b = b[:len(b)-1]
		}
	}
	return utf8.Valid(b)
}
