package registry

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"zhengzhao/license"
)

// TestStoreCatalogTypes: the catalog's type versions on every store kind —
// stored once per code and version, read back byte for byte, marked
// anchored, deleted only while unanchored; and what issued licenses of a
// type use, superseded versions left out.
func TestStoreCatalogTypes(t *testing.T) {
	eachStore(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		st := db.open(t)
		defer st.Close()
		at := time.Date(2026, 12, 7, 8, 0, 0, 123456789, time.UTC)
		v1 := storedType{Code: "11100000000013338W071", Version: 1, Name: "备案凭证", Definition: []byte(`{"code":"11100000000013338W071"}`),
			Digest: bytes.Repeat([]byte{7}, 32), Actor: "admin:admin", CreatedAt: at}
		if err := st.insertCatalogType(ctx, v1); err != nil {
			t.Fatal(err)
		}
		if err := st.insertCatalogType(ctx, v1); !errors.Is(err, ErrConflict) {
			t.Fatalf("the same version again: %v, want ErrConflict", err)
		}
		v2 := v1
		v2.Version, v2.Digest = 2, bytes.Repeat([]byte{8}, 32)
		if err := st.insertCatalogType(ctx, v2); err != nil {
			t.Fatal(err)
		}
		if err := st.markCatalogTypeAnchored(ctx, v1.Code, 1, `{"log_index":3}`); err != nil {
			t.Fatal(err)
		}
		if err := st.deleteCatalogType(ctx, v1.Code, 1); err != nil {
			t.Fatal(err)
		}
		if err := st.deleteCatalogType(ctx, v1.Code, 2); err != nil {
			t.Fatal(err)
		}
		got, err := st.catalogTypes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Fatalf("%d versions stored, want 1 (the anchored one survives deletion, the unanchored one does not)", len(got))
		}
		g := got[0]
		if g.Code != v1.Code || g.Version != 1 || !bytes.Equal(g.Definition, v1.Definition) || !bytes.Equal(g.Digest, v1.Digest) ||
			!g.Anchored || g.Receipt != `{"log_index":3}` || g.Actor != v1.Actor || !g.CreatedAt.Equal(at) {
			t.Fatalf("read back %+v, want %+v anchored", g, v1)
		}

		a, b, c := testLicense(1, "U1", 1), testLicense(2, "U1", 2), testLicense(3, "U1", 3)
		a.Record.Fields = map[string]string{"remark": "首次备案", "filingNumber": "WC20240001"}
		b.Record.Fields = map[string]string{"filingNumber": "WC20240002", "remark": ""}
		c.Record.Fields = map[string]string{"filingNumber": "WC20240003", "remark": "旧版本"}
		c.Status = license.StatusSuperseded
		for _, l := range []*License{a, b, c} {
			if err := st.insertLicense(ctx, l, "", nil); err != nil {
				t.Fatal(err)
			}
		}
		use, err := st.typeUse(ctx, a.TypeCode)
		if err != nil {
			t.Fatal(err)
		}
		if use.Licenses != 2 || use.Fields["filingNumber"] != 2 || use.Fields["remark"] != 1 {
			t.Fatalf("typeUse = %+v, want 2 licenses, filingNumber 2, remark 1 (empty values and superseded versions not counted)", use)
		}
	})
}
