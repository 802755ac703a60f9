package importer_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"zhengzhao/license"
	"zhengzhao/registry/importer"
)

// FuzzReader: any file, CSV or JSON Lines, in any encoding, reads to rows
// or errors without panicking, every row either a request with a key or
// errors naming a line that exists.
func FuzzReader(f *testing.F) {
	typ, _ := license.DefaultCatalog().Type("11100000000013338W001")
	f.Add([]byte("\xef\xbb\xbf持证主体,持证主体代码,管辖属地编码\n甲,91310000MA1FL0000X,310115\n"), false)
	f.Add([]byte("holder,holderCode,jurisdiction\n\"a\"\"b\",x,1\n\"open\n"), false)
	f.Add([]byte("\xb3\xd6\xd6\xa4\xd6\xf7\xcc\xe5,holderCode,jurisdiction\n\xbc\xd7,1,2\n"), false)
	f.Add([]byte("{\"持证主体\":\"甲\",\"fields\":{\"x\":1}}\n{}\n[1]\n"), true)
	f.Fuzz(func(t *testing.T, file []byte, jsonl bool) {
		format := importer.CSV
		if jsonl {
			format = importer.JSONL
		}
		rd, err := importer.NewReader(bytes.NewReader(file), importer.Options{Department: "11310000MB2F00011G", Type: typ, Format: format})
		if err != nil {
			return
		}
		lines := bytes.Count(file, []byte("\n")) + 1
		for range 10000 {
			r, err := rd.Next()
			if errors.Is(err, io.EOF) || err != nil {
				return
			}
			if r.Line < 1 || r.Line > lines {
				t.Fatalf("row on line %d of %d", r.Line, lines)
			}
			if len(r.Errs) == 0 && r.Request.RequestKey == "" {
				t.Fatal("a row without errors and without a request key")
			}
		}
	})
}
