package registry

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// Two handles on one database (two instances): the change counter adds up;
// a signed bundle or list replaces the stored one only from the version
// the writer read (and a bundle only with a higher sequence), so two
// instances that sign at once store one result; the first shared key wins.
func TestStoreSharedSigned(t *testing.T) {
	eachStore(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		a, b := db.open(t), db.open(t)
		defer a.Close()
		defer b.Close()
		for _, st := range []*store{a, b, a} {
			if err := st.bumpSharedChanges(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := b.sharedChanges(ctx); err != nil || n != 3 {
			t.Fatalf("changes counted by two handles: %d %v, want 3", n, err)
		}
		for i, st := range []*store{a, b} {
			if n, err := st.bumpCounter(ctx, "departments"); err != nil || n != int64(i+1) {
				t.Fatalf("bump %d of another counter: %d %v, want %d", i+1, n, err, i+1)
			}
		}

		until := time.Date(2026, 12, 8, 8, 0, 0, 123456789, time.UTC)
		row := func(seq uint64, body string) *sharedBundleRow {
			return &sharedBundleRow{Seq: seq, Changes: 3, TreeSize: 10, Body: []byte(body), ETag: `"` + body + `"`, Note: "note",
				History: []string{"n1", "n2"}, ValidUntil: until, RefreshAt: until.Add(-12 * time.Hour)}
		}
		swap := func(st *store, prev int64, r *sharedBundleRow, want bool) {
			t.Helper()
			ok, err := st.swapSharedBundle(ctx, prev, r)
			if err != nil || ok != want {
				t.Fatalf("swap bundle %d over version %d: %v %v, want %v", r.Seq, prev, ok, err, want)
			}
		}
		if got, err := a.sharedBundle(ctx); err != nil || got != nil {
			t.Fatalf("no bundle stored yet: %+v %v", got, err)
		}
		swap(a, 0, row(5, "a5"), true)
		swap(b, 0, row(5, "b5"), false) // both signed sequence 5: one is stored
		got, err := b.sharedBundle(ctx)
		if err != nil || got.Ver != 1 || got.Seq != 5 || !bytes.Equal(got.Body, []byte("a5")) || got.ETag != `"a5"` ||
			!got.ValidUntil.Equal(until) || !got.RefreshAt.Equal(until.Add(-12*time.Hour)) || len(got.History) != 2 || got.TreeSize != 10 {
			t.Fatalf("stored bundle read through the other handle: %+v %v", got, err)
		}
		swap(b, 1, row(5, "b5"), false) // not a higher sequence
		swap(b, 1, row(6, "b6"), true)
		swap(a, 1, row(7, "a7"), false) // read version 1, it is 2 now
		if seq, err := a.sharedBundleSeq(ctx); err != nil || seq != 6 {
			t.Fatalf("stored sequence %d %v, want 6", seq, err)
		}

		list := func(gen int64, body string) *sharedListRow {
			return &sharedListRow{Gen: gen, Body: []byte(body), ETag: body, ValidUntil: until, RefreshAt: until}
		}
		for i, c := range []struct {
			st   *store
			prev int64
			r    *sharedListRow
			want bool
		}{
			{a, 0, list(1, "a1"), true}, {b, 0, list(1, "b1"), false}, {b, 1, list(2, "b2"), true}, {a, 1, list(2, "a2"), false},
		} {
			ok, err := c.st.swapSharedList(ctx, "U1", 0, c.prev, c.r)
			if err != nil || ok != c.want {
				t.Fatalf("list swap %d: %v %v, want %v", i, ok, err, c.want)
			}
		}
		if l, err := a.sharedList(ctx, "U1", 0); err != nil || l.Gen != 2 || string(l.Body) != "b2" || l.Ver != 2 {
			t.Fatalf("stored list: %+v %v", l, err)
		}
		if l, err := a.sharedList(ctx, "U1", 1); err != nil || l != nil {
			t.Fatalf("a list never stored: %+v %v", l, err)
		}

		if v, err := a.metaOnce(ctx, "shared_key:test", "first"); err != nil || v != "first" {
			t.Fatalf("metaOnce: %q %v", v, err)
		}
		if v, err := b.metaOnce(ctx, "shared_key:test", "second"); err != nil || v != "first" {
			t.Fatalf("metaOnce from the other handle: %q %v, want the first value", v, err)
		}
	})
}
