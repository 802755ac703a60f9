package ledger_test

import (
	"bytes"
	"testing"

	"zhengzhao/ledger"
)

// FuzzParseEvent checks that ParseEvent never panics and that whatever it
// accepts is canonical: it re-encodes to exactly the input.
func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(`{"at":"2026-11-23T09:30:00.123456Z","kind":"license.status","status":{"id":"X","issuer":"Y","reason":"","status":"revoked"},"v":1}`))
	f.Add([]byte(`{"anchor":{"document_hash":"AAAA","id":"i","issuer":"u","key_id":"k","proof_hash":"AAAA","signature":"AAAA","type":"t","valid_from":"2026-01-01T00:00:00Z"},"at":"2026-11-23T09:30:00Z","kind":"license.anchored","v":1}`))
	f.Add([]byte(`{"anchor":{"document_hash":"AAAA","id":"i","issuer":"u","key_id":"k","predecessor":{"document_hash":"AAAA","id":"p","reason":"changed"},"proof_hash":"AAAA","signature":"AAAA","type":"t","valid_from":"2026-01-01T00:00:00Z"},"at":"2026-11-23T09:30:00Z","kind":"license.anchored","v":1}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ledger.ParseEvent(b)
		if err != nil {
			return
		}
		c, err := e.Canonical()
		if err != nil {
			t.Fatalf("accepted event does not canonicalise: %v", err)
		}
		if !bytes.Equal(c, b) {
			t.Fatalf("accepted non-canonical bytes:\n%q\n%q", b, c)
		}
	})
}
