package registry

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// The direct writer of a record's canonical bytes gives what the general
// path (encoding/json, then JCS) gives, on many varied records; the values
// it leaves to the general path (invalid UTF-8, integers beyond 2^53, years
// beyond 9999) do go there, and both paths are exercised.
func TestRecordCanonicalDirect(t *testing.T) {
	texts := []string{"", "a", "张三", "窗口 A 区", `quote " and \ back`, "tab\tnew\nline\r", "\x00\x01\x1f\x7f",
		"<script>&amp;</script>", "line\u2028sep\u2029", "emoji 😀", "\ufeffbom", "\ue000private", "bad \xff utf-8", "a/b"}
	ints := []int64{0, 1, -1, 42, 1 << 53, 1<<53 + 1, -(1 << 53), -(1<<53 + 1), math.MaxInt64, math.MinInt64}
	zones := []*time.Location{time.UTC, time.FixedZone("CST", 8*3600), time.FixedZone("W", -5*3600)}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func() string { return texts[rng.IntN(len(texts))] }
	direct, general := 0, 0
	for i := range 20000 {
		at := time.Date(1990+rng.IntN(60), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60), rng.IntN(1e9), zones[rng.IntN(len(zones))])
		switch i % 50 {
		case 0:
			at = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
		case 1:
			at = time.Time{}
		case 2:
			at = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC) // no fraction
		}
		var salt []byte
		if i%7 != 0 {
			salt = make([]byte, rng.IntN(20))
			for k := range salt {
				salt[k] = byte(rng.IntN(256))
			}
		}
		seq := uint64(rng.Int64())
		if i%3 != 0 {
			seq = uint64(rng.IntN(1e6))
		}
		r := Record{V: int(ints[rng.IntN(len(ints))] % 1e6), Chain: pick(), Seq: seq, At: at,
			Actor:  RecordActor{Account: ints[rng.IntN(len(ints))], Role: Role(pick()), Name: pick(), Department: pick(), Hall: pick()},
			Action: pick(), Purpose: pick(), ServiceItem: pick(), License: pick(), Holder: pick(), Result: pick(), Reason: pick(), Salt: salt}
		if i%5 == 0 {
			r.V = int(ints[rng.IntN(len(ints))])
		}
		want, wantErr := func() ([]byte, error) {
			r := r
			r.At = r.At.UTC().Truncate(time.Microsecond)
			return r.canonicalJCS()
		}()
		got, err := r.Canonical()
		if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("record %d: direct %s (%v), general %s (%v)", i, got, err, want, wantErr)
		}
		rr := r
		rr.At = rr.At.UTC().Truncate(time.Microsecond)
		if _, ok := rr.appendCanonical(nil); ok {
			direct++
		} else {
			general++
		}
	}
	if direct < 1000 || general < 1000 {
		t.Fatalf("direct path %d times, general %d: both must be exercised", direct, general)
	}
}
