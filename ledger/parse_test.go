package ledger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// parseEventV1 is ParseEvent as it was with encoding/json: the reference
// the json v2 decoder is held to. Both must accept exactly the same bytes
// and read the same event from them, or a log one accepts the other refuses.
func parseEventV1(b []byte) (Event, error) {
	if len(b) > MaxEventSize {
		return Event{}, fmt.Errorf("%w: too long", ErrInvalidEvent)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var e Event
	if err := dec.Decode(&e); err != nil {
		return Event{}, fmt.Errorf("%w: decode event: %w", ErrInvalidEvent, err)
	}
	if dec.More() {
		return Event{}, fmt.Errorf("%w: trailing data after event", ErrInvalidEvent)
	}
	canon, err := e.normalized().canonicalJCS()
	if err != nil {
		return Event{}, err
	}
	if err := e.checkNormalizedShape(); err != nil {
		return Event{}, err
	}
	if !bytes.Equal(canon, b) {
		return Event{}, fmt.Errorf("%w: event bytes are not canonical", ErrInvalidEvent)
	}
	return e.normalized(), nil
}

// mutate returns b changed in one of the ways a log or a peer could present
// an event that is not its canonical form (or, by chance, still is).
func mutate(r *rand.Rand, b []byte) []byte {
	s := string(b)
	keys := []string{`"v"`, `"kind"`, `"at"`, `"anchor"`, `"id"`, `"issuer"`, `"signature"`, `"status"`, `"types"`, `"cert"`, `"seq"`, `"valid_until"`}
	switch r.IntN(16) {
	case 0: // one byte changed
		c := []byte(s)
		if len(c) > 0 {
			c[r.IntN(len(c))] = byte(r.UintN(256))
		}
		return c
	case 1: // whitespace
		i := r.IntN(len(s) + 1)
		return []byte(s[:i] + []string{" ", "\n", "\t", "\r"}[r.IntN(4)] + s[i:])
	case 2: // a member name in other case
		k := keys[r.IntN(len(keys))]
		return []byte(strings.Replace(s, k, strings.ToUpper(k), 1))
	case 3: // a member twice
		return []byte(strings.Replace(s, `{"at":`, `{"at":"2026-01-01T00:00:00Z","at":`, 1))
	case 4: // an unknown member
		return []byte(strings.Replace(s, `"v":`, `"w":1,"v":`, 1))
	case 5: // trailing data
		return []byte(s + []string{" ", "{}", "\n", "x", `{"v":1}`}[r.IntN(5)])
	case 6: // a time with another zone or precision
		return []byte(strings.Replace(s, `Z"`, []string{`+00:00"`, `.000Z"`, `+08:00"`, `z"`}[r.IntN(4)], 1))
	case 7: // an escape where the character stands for itself
		return []byte(strings.Replace(s, "A", `\u0041`, 1))
	case 8:
		return []byte(strings.Replace(s, "/", `\/`, 1))
	case 9: // base64 without padding, or URL-safe
		if r.IntN(2) == 0 {
			return []byte(strings.Replace(s, `="`, `"`, 1))
		}
		return []byte(strings.NewReplacer("+", "-", "/", "_").Replace(s))
	case 10: // numbers written otherwise
		return []byte(strings.Replace(s, `"v":1`, []string{`"v":1.0`, `"v":1e0`, `"v":01`, `"v":-0`, `"v":"1"`}[r.IntN(5)], 1))
	case 11: // null, empty lists and strings
		return []byte(strings.NewReplacer(`"types":null`, `"types":[]`, `"cert":null`, `"cert":""`, `"predecessor":{`, `"predecessor":null,"x":{`).Replace(s))
	case 12: // a member dropped
		k := keys[r.IntN(len(keys))]
		if i := strings.Index(s, ","+k+":"); i >= 0 {
			j := strings.IndexAny(s[i+1:], ",}")
			if j > 0 {
				return []byte(s[:i] + s[i+1+j:])
			}
		}
		return b
	case 13: // invalid UTF-8 or a lone surrogate escape
		return []byte(strings.Replace(s, `":"`, []string{"\":\"\xff", `":"\ud800`, `":"\udc00\ud800`}[r.IntN(3)], 1))
	case 14: // nesting where none belongs
		return []byte(strings.Replace(s, `"v":1`, `"v":[1]`, 1))
	}
	return b
}

// TestParseEventMatchesEncodingJSON: ParseEvent (json v2) accepts exactly
// the bytes the encoding/json version accepted and reads the same event,
// on canonical events of every kind and on many non-canonical variants.
func TestParseEventMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 11))
	var accepted, refused int
	check := func(b []byte) {
		t.Helper()
		want, wantErr := parseEventV1(b)
		got, err := ParseEvent(b)
		switch {
		case (err == nil) != (wantErr == nil):
			t.Fatalf("ParseEvent(%q): error %v, the encoding/json version's %v", b, err, wantErr)
		case err != nil:
			refused++
		case !reflect.DeepEqual(got, want):
			t.Fatalf("ParseEvent(%q):\n got %#v\nwant %#v", b, got, want)
		default:
			accepted++
		}
	}
	for range 4000 {
		e := randEvent(r, randString)
		b, err := e.Canonical()
		if err != nil {
			continue
		}
		check(b)
		for range 4 {
			check(mutate(r, b))
		}
	}
	t.Logf("accepted %d, refused %d", accepted, refused)
	if accepted < 1000 || refused < 5000 {
		t.Fatalf("accepted %d, refused %d: the cases no longer cover both", accepted, refused)
	}
}

// FuzzParseEventMatchesEncodingJSON is the same comparison on fuzzed bytes.
func FuzzParseEventMatchesEncodingJSON(f *testing.F) {
	f.Add([]byte(`{"at":"2026-11-23T09:30:00.123456Z","kind":"license.status","status":{"id":"X","issuer":"Y","reason":"","status":"revoked"},"v":1}`))
	f.Add([]byte(`{"at":"2026-11-23T09:30:00Z","department":{"name":"某市","types":null,"uscc":"u"},"key":{"cert":null,"department":"u","key_id":"k","valid_from":"0001-01-01T00:00:00Z","valid_until":"9999-12-31T23:59:59.999999Z"},"kind":"department.registered","v":1}`))
	f.Add([]byte(`{"at":"2026-11-23T09:30:00Z","kind":"records.head","records_head":{"chain":"c","hash":"","seq":9007199254740992},"v":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		want, wantErr := parseEventV1(b)
		got, err := ParseEvent(b)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("ParseEvent(%q): error %v, the encoding/json version's %v", b, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("ParseEvent(%q):\n got %#v\nwant %#v", b, got, want)
		}
	})
}
