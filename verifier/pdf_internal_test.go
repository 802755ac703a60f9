package verifier

import "testing"

// FuzzCourierStrings checks that the content-stream scanner never panics
// or loops.
func FuzzCourierStrings(f *testing.F) {
	f.Add([]byte("BT /F2 8.00 Tf 10 10 Td (1.2.156\\051) Tj [(a) -3 (b)] TJ <414243> Tj ET"))
	f.Fuzz(func(t *testing.T, b []byte) {
		courierStrings(b, map[string]bool{"F2": true})
	})
}
