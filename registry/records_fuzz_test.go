package registry_test

import (
	"bytes"
	"testing"
	"time"

	"zhengzhao/registry"
	"zhengzhao/signing"
)

// ParseRecord accepts only canonical bytes: whatever it accepts encodes
// back to exactly the input.
func FuzzParseRecord(f *testing.F) {
	rec := registry.Record{V: registry.RecordVersion, Chain: "main", Seq: 3, At: time.Date(2026, 12, 7, 8, 0, 0, 123456000, time.UTC),
		Action: registry.ActionUseRedeem, Purpose: "办理食品经营许可", License: "1.2.156", Holder: "H", Result: "active", Salt: []byte{1, 2}}
	b, err := rec.Canonical()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`{"v":2,"chain":"main"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := registry.ParseRecord(b)
		if err != nil {
			return
		}
		c, err := r.Canonical()
		if err != nil || !bytes.Equal(c, b) {
			t.Fatalf("accepted %q, encodes to %q (%v)", b, c, err)
		}
	})
}

// A record export from outside never panics the check, and one that is not
// proved is refused with an error.
func FuzzVerifyRecordsExport(f *testing.F) {
	k, err := signing.GenerateKey()
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"format":"zhengzhao-records-export/1","chain":"main","holder":"H","exported_at":"2026-12-07T00:00:00Z","segments":[]}`))
	f.Add([]byte(`{"format":"zhengzhao-records-export/1","chain":"main","holder":"H","exported_at":"2026-12-07T00:00:00Z","segments":[{"first_seq":1,"prev_hash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","links":[{"digest":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}],"head":{"entry":"e30=","log_index":0,"tree_size":1,"inclusion_proof":[],"checkpoint":""}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		exp, err := registry.ParseRecordsExport(b)
		if err != nil {
			return
		}
		v, err := registry.VerifyRecordsExport(exp, "test/ledger", &k.PublicKey)
		if err == nil && len(exp.Segments) > 0 {
			t.Fatalf("an export with %d segments verified without a signed checkpoint: %+v", len(exp.Segments), v)
		}
	})
}
