package ledger_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"zhengzhao/ledger"
	"zhengzhao/ledger/ledgertest"
	"zhengzhao/license"
)

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEventRoundTrip(t *testing.T) {
	w := ledgertest.NewWorld(t, t0)
	d := w.NewDepartment("某市市场监督管理局")
	cst := license.ChinaTime
	a := d.Anchor()
	a.ValidFrom = a.ValidFrom.In(cst)
	events := []ledger.Event{
		register(d, t0.Add(123456789*time.Nanosecond).In(cst)),
		addKey(d.Key, t0),
		revoke(ledger.KeyRevocation{Department: d.Department.USCC, KeyID: d.Key.KeyID, RevokedFrom: t0, Reason: "keyCompromise <&>"}, t0),
		anchor(a, t0),
		status(a.Identifier, d.Department.USCC, license.StatusSuspended, t0),
	}
	for _, e := range events {
		t.Run(string(e.Kind), func(t *testing.T) {
			b, err := e.Canonical()
			if err != nil {
				t.Fatalf("Canonical: %v", err)
			}
			got, err := ledger.ParseEvent(b)
			if err != nil {
				t.Fatalf("ParseEvent(%s): %v", b, err)
			}
			again, err := got.Canonical()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, b) {
				t.Fatalf("canonical form not stable:\n%s\n%s", b, again)
			}
			if !got.At.Equal(e.At.Truncate(ledger.TimePrecision)) || got.At.Location() != time.UTC {
				t.Fatalf("At = %v, want %v in UTC", got.At, e.At.Truncate(ledger.TimePrecision))
			}
			if mustJSON(t, got) != string(mustJSONRaw(t, b)) {
				t.Fatalf("parsed event does not re-encode to the same JSON")
			}
		})
	}
}

func mustJSONRaw(t *testing.T, canonical []byte) []byte {
	t.Helper()
	var e ledger.Event
	if err := json.Unmarshal(canonical, &e); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEventVector pins the canonical form: key order, time format, base64.
func TestEventVector(t *testing.T) {
	e := ledger.Event{
		V:    1,
		Kind: ledger.KindLicenseStatus,
		At:   time.Date(2026, 11, 23, 17, 30, 0, 123456789, license.ChinaTime),
		Status: &ledger.StatusChange{
			Identifier: "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
			Issuer:     "11430000006122244L",
			Status:     license.StatusRevoked,
			Reason:     "注销 <申请>",
		},
	}
	const want = `{"at":"2026-11-23T09:30:00.123456Z","kind":"license.status","status":{"id":"1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U","issuer":"11430000006122244L","reason":"注销 <申请>","status":"revoked"},"v":1}`
	got, err := e.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("Canonical =\n%s\nwant\n%s", got, want)
	}
}

func TestParseEventRejects(t *testing.T) {
	good := `{"at":"2026-11-23T09:30:00.123456Z","kind":"license.status","status":{"id":"X","issuer":"Y","reason":"","status":"revoked"},"v":1}`
	if _, err := ledger.ParseEvent([]byte(good)); err != nil {
		t.Fatalf("ParseEvent(good): %v", err)
	}
	tests := []struct{ name, in string }{
		{"whitespace", strings.Replace(good, `"v":1`, `"v": 1`, 1)},
		{"trailing newline", good + "\n"},
		{"key order", `{"kind":"license.status","at":"2026-11-23T09:30:00.123456Z","status":{"id":"X","issuer":"Y","reason":"","status":"revoked"},"v":1}`},
		{"unknown member", strings.Replace(good, `"v":1`, `"v":1,"x":1`, 1)},
		{"duplicate member", strings.Replace(good, `"v":1`, `"v":1,"v":1`, 1)},
		{"nanoseconds", strings.Replace(good, `.123456Z`, `.123456789Z`, 1)},
		{"offset time", strings.Replace(good, `09:30:00.123456Z`, `17:30:00.123456+08:00`, 1)},
		{"version 2", strings.Replace(good, `"v":1`, `"v":2`, 1)},
		{"unknown kind", strings.Replace(good, `license.status`, `license.lost`, 1)},
		{"null payload", strings.Replace(good, `"v":1`, `"anchor":null,"v":1`, 1)},
		{"extra payload", `{"at":"2026-11-23T09:30:00.123456Z","key":{"cert":"","department":"","key_id":"","valid_from":"0001-01-01T00:00:00Z","valid_until":"0001-01-01T00:00:00Z"},"kind":"license.status","status":{"id":"X","issuer":"Y","reason":"","status":"revoked"},"v":1}`},
		{"missing payload", `{"at":"2026-11-23T09:30:00.123456Z","kind":"license.status","v":1}`},
		{"escaped character", strings.Replace(good, `"X"`, `"\u0058"`, 1)},
		{"two values", good + good},
		{"not JSON", "v1"},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ledger.ParseEvent([]byte(tt.in)); !errors.Is(err, ledger.ErrInvalidEvent) {
				t.Fatalf("ParseEvent(%s) = %v, want ErrInvalidEvent", tt.in, err)
			}
		})
	}
}

// A version's anchor carries its predecessor through the canonical form and
// DecodeEntry; an anchor without one (every entry made before versions)
// has no predecessor member at all, so old entries keep their bytes.
func TestEventPredecessor(t *testing.T) {
	w := ledgertest.NewWorld(t, t0)
	d := w.NewDepartment("某市市场监督管理局")
	v1 := d.Anchor()
	old, err := anchor(v1, t0).Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(old, []byte("predecessor")) {
		t.Fatalf("first version's entry names a predecessor: %s", old)
	}
	if e, err := ledger.ParseEvent(old); err != nil || e.Anchor.Predecessor != nil {
		t.Fatalf("ParseEvent(first version) = %+v, %v", e.Anchor, err)
	}
	v2 := d.NextVersion(v1, "renewed")
	b, err := anchor(v2, t0).Canonical()
	if err != nil {
		t.Fatal(err)
	}
	for name, parse := range map[string]func([]byte) (ledger.Event, error){"ParseEvent": ledger.ParseEvent, "DecodeEntry": ledger.DecodeEntry} {
		e, err := parse(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p := e.Anchor.Predecessor
		if p == nil || p.Identifier != v1.Identifier || !bytes.Equal(p.DocumentHash, v1.DocumentHash) || p.Reason != "renewed" {
			t.Fatalf("%s: predecessor %+v, want %s", name, p, v1.Identifier)
		}
	}
}
