package server

import (
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
