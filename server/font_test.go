package server_test

import (
	"sync"
	"testing"

	"zhengzhao/render"
)

// readFont reads the CJK font once for every test; CI installs it.
var readFont = sync.OnceValues(render.FindFont)

func testFont(t testing.TB) []byte {
	t.Helper()
	font, err := readFont()
	if err != nil {
		t.Fatal(err)
	}
	return font
}
