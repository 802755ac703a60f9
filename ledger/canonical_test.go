package ledger

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"zhengzhao/license"
)

// The canonical bytes are defined by canonicalJCS (JCS of encoding/json);
// appendCanonical writes them directly. These tests hold the two to the same
// bytes on varied events: a divergence would change ledger entries.

// tricky are the pieces the generated strings are made of.
var tricky = []string{
	"", "a", "某市市场监督管理局", "营业执照", "证照/电子", "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
	`"`, `\`, `\"`, "/", "<", ">", "&", "<&>", "'", "\x00", "\x01", "\b", "\t", "\n", "\v", "\f", "\r", "\x1b", "\x1f",
	" ", "\x7f", "\u0080", "\u00e9", "\u2028", "\u2029", "\ufeff", "\ufffd", "\U0001F600", "\U00020000", "𠀀",
	"\xff", "\xc3", "\xe4\xb8", "\xed\xa0\x80", // not UTF-8: the general path's
	"ā", "ß", "ﬁ", "\u0301", "e\u0301", "٣", "🇨🇳",
}

func randString(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(5) {
		b.WriteString(tricky[r.IntN(len(tricky))])
	}
	return b.String()
}

// validString is randString without the pieces that are not UTF-8.
func validString(r *rand.Rand) string {
	for {
		if s := randString(r); strings.ToValidUTF8(s, "") == s {
			return s
		}
	}
}

func randBytes(r *rand.Rand) []byte {
	switch r.IntN(6) {
	case 0:
		return nil
	case 1:
		return []byte{}
	}
	b := make([]byte, r.IntN(70))
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

var zones = []*time.Location{
	time.UTC, time.FixedZone("CST", 8*3600), time.FixedZone("odd", -(3*3600 + 17*60 + 5)), time.FixedZone("", 14*3600), time.Local,
}

func randTime(r *rand.Rand) time.Time {
	var t time.Time
	switch r.IntN(12) {
	case 0:
		return time.Time{}
	case 1: // truncates to the zero time
		t = time.Time{}.Add(time.Duration(r.IntN(1000)))
	case 2: // outside what encoding/json writes
		t = time.Date(10000+r.IntN(3), 1, 1, 0, 0, 0, 0, time.UTC)
	case 3:
		t = time.Date(-1-r.IntN(3), 12, 31, 23, 59, 59, 0, time.UTC)
	case 4: // the last instants encoding/json still writes
		t = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
	case 5:
		t = time.Date(0, 1, 1, 0, 0, 0, r.IntN(1e9), time.UTC)
	case 6: // whole seconds, milliseconds, microseconds
		t = time.Date(2026, time.Month(1+r.IntN(12)), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), []int{0, 1e8, 123e6, 120e3, 1e3, 999999e3}[r.IntN(6)], time.UTC)
	case 7: // with a monotonic reading
		t = time.Now().Add(time.Duration(r.Int64N(1e15)))
	default:
		t = time.Unix(r.Int64N(253402300799+62135596800)-62135596800, r.Int64N(1e9))
	}
	return t.In(zones[r.IntN(len(zones))])
}

var edgeInts = []int64{0, 1, -1, 7, 1 << 31, -1 << 31, 1<<53 - 1, 1 << 53, 1<<53 + 1, -1 << 53, -1<<53 - 1, 1<<63 - 1, -1 << 63, 1e15, 1e16 + 1, 999999999999999999}

func randInt(r *rand.Rand) int64 {
	if r.IntN(2) == 0 {
		return edgeInts[r.IntN(len(edgeInts))]
	}
	return r.Int64N(1<<54) - 1<<53
}

func randUint(r *rand.Rand) uint64 {
	switch r.IntN(4) {
	case 0:
		return []uint64{0, 1, 1 << 53, 1<<53 + 1, 1<<53 + 2, 1<<63 + 1, math.MaxUint64, 1e19}[r.IntN(8)]
	case 1:
		return r.Uint64()
	}
	return r.Uint64N(1 << 54)
}

var allKinds = []Kind{KindDepartmentRegistered, KindKeyAdded, KindKeyRevoked, KindLicenseAnchored, KindLicenseStatus, KindCatalogType, KindRecordsHead}

// randEvent returns an event of a random kind with random values; now and
// then with a payload too many or too few, a wrong version or kind.
// strs gives the strings (randString, or validString for events that must
// take the direct path).
func randEvent(r *rand.Rand, strs func(*rand.Rand) string) Event {
	k := allKinds[r.IntN(len(allKinds))]
	e := Event{V: EventVersion, Kind: k, At: randTime(r)}
	key := func() *Key {
		return &Key{Department: strs(r), KeyID: strs(r), CertDER: randBytes(r), ValidFrom: randTime(r), ValidUntil: randTime(r)}
	}
	switch k {
	case KindDepartmentRegistered:
		d := &Department{USCC: strs(r), Name: strs(r)}
		switch r.IntN(3) {
		case 0:
		case 1:
			d.Types = []string{}
		default:
			for range 1 + r.IntN(4) {
				d.Types = append(d.Types, strs(r))
			}
		}
		e.Department, e.Key = d, key()
	case KindKeyAdded:
		e.Key = key()
	case KindKeyRevoked:
		e.Revocation = &KeyRevocation{Department: strs(r), KeyID: strs(r), RevokedFrom: randTime(r), Reason: strs(r)}
	case KindLicenseAnchored:
		a := &Anchor{Identifier: strs(r), Issuer: strs(r), TypeCode: strs(r), KeyID: strs(r), ProofHash: randBytes(r), DocumentHash: randBytes(r), Signature: randBytes(r), ValidFrom: randTime(r)}
		if r.IntN(2) == 0 {
			a.ValidUntil = randTime(r)
		}
		if r.IntN(2) == 0 {
			a.Predecessor = &Predecessor{Identifier: strs(r), DocumentHash: randBytes(r), Reason: strs(r)}
		}
		e.Anchor = a
	case KindLicenseStatus:
		e.Status = &StatusChange{Identifier: strs(r), Issuer: strs(r), Status: license.StatusSuspended, Reason: strs(r)}
		if r.IntN(2) == 0 {
			e.Status.Status = license.Status("吊销" + strs(r))
		}
	case KindCatalogType:
		e.CatalogType = &TypeVersion{Code: strs(r), Version: int(randInt(r)), Digest: randBytes(r)}
	case KindRecordsHead:
		e.RecordsHead = &RecordsHead{Chain: strs(r), Seq: randUint(r), Hash: randBytes(r)}
	}
	switch r.IntN(40) {
	case 0:
		e.V = int(randInt(r))
	case 1:
		e.Kind = Kind(strs(r))
	case 2:
		e.Status = &StatusChange{Identifier: strs(r)}
	case 3:
		e.Anchor, e.Department, e.Key, e.Revocation, e.Status, e.CatalogType, e.RecordsHead = nil, nil, nil, nil, nil, nil, nil
	}
	return e
}

// checkSamePaths fails the test if Canonical (which writes directly when it
// can) and the JCS path disagree on e, and reports whether the direct path
// wrote e.
func checkSamePaths(t *testing.T, e Event) (direct bool) {
	t.Helper()
	want, wantErr := func() ([]byte, error) {
		n := e.normalized()
		if err := n.checkShape(); err != nil {
			return nil, err
		}
		return n.canonicalJCS()
	}()
	got, err := e.Canonical()
	switch {
	case wantErr != nil && err == nil:
		t.Fatalf("Canonical(%#v) = %s, want the JCS path's error %v", e, got, wantErr)
	case wantErr == nil && err != nil:
		t.Fatalf("Canonical(%#v) failed: %v; the JCS path gives %s", e, err, want)
	case err != nil:
		if !errors.Is(err, ErrInvalidEvent) || err.Error() != wantErr.Error() {
			t.Fatalf("Canonical(%#v) error %q, the JCS path's %q", e, err, wantErr)
		}
		return false
	case !bytes.Equal(got, want):
		t.Fatalf("Canonical differs from the JCS path for %#v:\n got %s\nwant %s", e, got, want)
	}
	// The direct writer alone, where it claims the event.
	if e.checkNormalizedShape() != nil {
		return false
	}
	b, ok := appendCanonical([]byte("prefix"), &e)
	if ok && !bytes.Equal(b, append([]byte("prefix"), want...)) {
		t.Fatalf("appendCanonical differs from the JCS path for %#v:\n got %s\nwant %s", e, b[len("prefix"):], want)
	}
	// Entry gives the same bytes and the event ParseEvent reads from them,
	// or ParseEvent's error (JCS may round a number out of its field's range).
	parsed, perr := ParseEvent(want)
	n, eb, err := e.Entry()
	switch {
	case perr != nil && ok:
		t.Fatalf("appendCanonical wrote %s, which ParseEvent refuses: %v", want, perr)
	case perr != nil && (err == nil || err.Error() != perr.Error()):
		t.Fatalf("Entry(%#v) error %v, ParseEvent's of %s is %v", e, err, want, perr)
	case perr != nil:
		return ok
	case err != nil:
		t.Fatalf("Entry(%#v): %v; Canonical gave %s", e, err, got)
	case !bytes.Equal(eb, want):
		t.Fatalf("Entry bytes differ for %#v:\n got %s\nwant %s", e, eb, want)
	case !reflect.DeepEqual(n, parsed):
		t.Fatalf("Entry's event differs from ParseEvent's of its bytes %s:\n got %#v\nwant %#v", want, n, parsed)
	}
	return ok
}

func TestCanonicalDirectMatchesJCS(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 2026))
	var direct, general, refused int
	for range 10000 {
		e := randEvent(r, randString)
		switch {
		case checkSamePaths(t, e):
			direct++
		case e.checkNormalizedShape() == nil:
			general++
		default:
			refused++
		}
	}
	t.Logf("direct %d, general path %d, refused shape %d", direct, general, refused)
	// Both paths must have been exercised, or the comparison proves little.
	if direct < 2000 || general < 1000 || refused < 500 {
		t.Fatalf("direct %d, general %d, refused %d: the generator no longer covers both paths", direct, general, refused)
	}
}

// TestCanonicalDirectTakesUsualEvents: an event with valid UTF-8, integers
// below 2^53 and years 0–9999 is written directly (the speed of the
// ledger's writer depends on it), every kind.
func TestCanonicalDirectTakesUsualEvents(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 36))
	seen := map[Kind]int{}
	for range 5000 {
		e := randEvent(r, validString)
		if e.checkNormalizedShape() != nil || !plainNumbersAndYears(e) {
			continue
		}
		if !checkSamePaths(t, e) {
			t.Fatalf("usual event %#v not written directly", e)
		}
		seen[e.Kind]++
	}
	for _, k := range allKinds {
		if seen[k] < 50 {
			t.Errorf("kind %s: %d usual events checked, want at least 50", k, seen[k])
		}
	}
}

// plainNumbersAndYears reports whether e's integers are within ±2^53 and
// its times' years, normalised, within 0–9999.
func plainNumbersAndYears(e Event) bool {
	ok := func(n int64) bool { return n >= -1<<53 && n <= 1<<53 }
	year := func(t time.Time) bool { y := normTime(t).Year(); return y >= 0 && y <= 9999 }
	if !ok(int64(e.V)) || !year(e.At) {
		return false
	}
	if k := e.Key; k != nil && (!year(k.ValidFrom) || !year(k.ValidUntil)) {
		return false
	}
	if v := e.Revocation; v != nil && !year(v.RevokedFrom) {
		return false
	}
	if a := e.Anchor; a != nil && (!year(a.ValidFrom) || !year(a.ValidUntil)) {
		return false
	}
	if c := e.CatalogType; c != nil && !ok(int64(c.Version)) {
		return false
	}
	if h := e.RecordsHead; h != nil && h.Seq > 1<<53 {
		return false
	}
	return true
}

// TestEntrySharesNothing: the event Entry returns is the ledger's own; the
// caller changing its values afterwards changes nothing in it.
func TestEntrySharesNothing(t *testing.T) {
	a := &Anchor{Identifier: "X", Issuer: "Y", TypeCode: "T", KeyID: "k", ProofHash: []byte{1}, DocumentHash: []byte{2}, Signature: []byte{3},
		ValidFrom: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Predecessor: &Predecessor{Identifier: "P", DocumentHash: []byte{4}, Reason: "changed"}}
	e := Event{V: EventVersion, Kind: KindLicenseAnchored, At: time.Date(2026, 12, 7, 8, 0, 0, 1234567, time.UTC), Anchor: a}
	n, b, err := e.Entry()
	if err != nil {
		t.Fatal(err)
	}
	a.Identifier, a.ProofHash[0], a.DocumentHash[0], a.Signature[0], a.Predecessor.DocumentHash[0], a.Predecessor.Reason = "Z", 9, 9, 9, 9, "renewed"
	again, err := n.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, b) {
		t.Fatalf("Entry's event changed with the caller's values:\n%s\n%s", again, b)
	}
}

// FuzzCanonical holds the direct writer to the JCS path on fuzzed strings,
// bytes, numbers and times.
func FuzzCanonical(f *testing.F) {
	f.Add("某市市场监督管理局", "\x00\"\\\u2028", []byte{1, 2}, int64(1), uint64(1<<53+1), int64(1764806400), int64(123456789))
	f.Add("\xff", "", []byte(nil), int64(-1<<53-1), uint64(0), int64(-62135596800), int64(0))
	f.Fuzz(func(t *testing.T, s1, s2 string, p []byte, n int64, u uint64, sec, nsec int64) {
		at := time.Unix(sec, nsec)
		events := []Event{
			{V: EventVersion, Kind: KindLicenseAnchored, At: at, Anchor: &Anchor{Identifier: s1, Issuer: s2, TypeCode: s1 + s2, KeyID: s2, ProofHash: p, DocumentHash: p, Signature: p, ValidFrom: at, ValidUntil: at.Add(time.Duration(n)), Predecessor: &Predecessor{Identifier: s2, DocumentHash: p, Reason: s1}}},
			{V: EventVersion, Kind: KindDepartmentRegistered, At: at, Department: &Department{USCC: s1, Name: s2, Types: []string{s1, s2}}, Key: &Key{Department: s1, KeyID: s2, CertDER: p, ValidFrom: at, ValidUntil: time.Unix(n, 0)}},
			{V: EventVersion, Kind: KindKeyRevoked, At: at, Revocation: &KeyRevocation{Department: s1, KeyID: s2, RevokedFrom: at, Reason: s1}},
			{V: EventVersion, Kind: KindLicenseStatus, At: at, Status: &StatusChange{Identifier: s1, Issuer: s2, Status: "revoked", Reason: s2}},
			{V: EventVersion, Kind: KindCatalogType, At: at, CatalogType: &TypeVersion{Code: s1, Version: int(n), Digest: p}},
			{V: EventVersion, Kind: KindRecordsHead, At: at, RecordsHead: &RecordsHead{Chain: s2, Seq: u, Hash: p}},
			{V: int(n), Kind: Kind(s1), At: at},
		}
		for _, e := range events {
			checkSamePaths(t, e)
		}
	})
}
