package registry

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"zhengzhao/credential"
	"zhengzhao/internal/cputime"
	"zhengzhao/ledger"
	"zhengzhao/license"
)

// TestCredentialDictPinned: rows compressed with the dictionary are
// readable only with its exact bytes.
func TestCredentialDictPinned(t *testing.T) {
	const want = "13440bd0580381d4b7d04bf02cbc67917a8b3483c439d02701db00521bba55dd"
	sum := sha256.Sum256([]byte(credentialDictV1))
	if got := hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("credentialDictV1 changed (SHA-256 %s, pinned %s): every row written with it would no longer read; add a new prefix and dictionary instead", got, want)
	}
}

// signedVector is the credential package's signed test vector and its
// compact form.
func signedVector(t *testing.T) (cred []byte, compact string) {
	t.Helper()
	cred, err := os.ReadFile("../credential/testdata/signed.json")
	if err != nil {
		t.Fatal(err)
	}
	cred = bytes.TrimSpace(cred)
	b, err := os.ReadFile("../credential/testdata/compact-vector.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Compact string }
	if err := json.Unmarshal(b, &v); err != nil || v.Compact == "" {
		t.Fatalf("compact vector: %v", err)
	}
	return cred, v.Compact
}

// packedLicense is a license with a real credential, anchored at, with an
// entry that rebuilds from it.
func packedLicense(t *testing.T, at time.Time) *License {
	t.Helper()
	cred, compact := signedVector(t)
	c, err := credential.Parse(cred)
	if err != nil {
		t.Fatal(err)
	}
	entry, err := anchorEntry(c, at)
	if err != nil {
		t.Fatal(err)
	}
	h := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	return &License{
		Identifier: c.CredentialSubject.Identifier, Department: c.CredentialSubject.IssuerCode, TypeCode: c.CredentialSubject.TypeCode,
		Serial: c.CredentialSubject.Number, Version: "001", Status: license.StatusActive, StatusIndex: 7,
		Record: c.CredentialSubject, Credential: cred, Compact: compact,
		Receipt: ledger.Receipt{Entry: entry, LogIndex: 1<<20 + 3, TreeSize: 1<<20 + 9,
			InclusionProof: [][]byte{h(1), h(2), h(3)}, Checkpoint: "zhengzhao/ledger\n1048585\nroot=\n\n— zhengzhao/ledger sig=\n"},
		IssuedAt:      at,
		SealSignature: []byte{0x30, 0x03, 0x02, 0x01, 0x07},
	}
}

// TestPackLicenseRoundTrip: what a row gives back is what was issued, byte
// for byte, whichever parts the row could leave out.
func TestPackLicenseRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 7, 19, 45, 48, 343655000, time.UTC)
	cases := []struct {
		name        string
		edit        func(l *License)
		rebuilt     bool // the entry is left out
		compactRaw  bool // the QR text is kept as text
		recordInRow bool
	}{
		{"as issued", func(*License) {}, true, false, false},
		{"entry that does not rebuild", func(l *License) {
			l.Receipt.Entry = []byte(`{"v":1,"kind":"license.anchored","at":"2026-12-07T19:45:48Z"}`)
		}, false, false, false},
		{"record not the subject", func(l *License) { l.Record.Holder = "另一人" }, true, false, true},
		{"compact not Base45", func(l *License) { l.Compact = "ZZ1:abc" }, true, true, false},
		{"compact of odd length", func(l *License) { l.Compact = "ZZ1:" + string(appendBase45(nil, []byte{1, 2, 3})) }, true, false, false},
		{"no compact, no checkpoint, empty proof", func(l *License) {
			l.Compact, l.Receipt.Checkpoint, l.Receipt.InclusionProof = "", "", [][]byte{}
		}, true, false, false},
		{"no proof, no entry", func(l *License) { l.Receipt.InclusionProof, l.Receipt.Entry = nil, nil }, false, false, false},
		{"proof hashes of different lengths", func(l *License) {
			l.Receipt.InclusionProof = [][]byte{{1, 2}, bytes.Repeat([]byte{3}, 32), {}}
		}, true, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := packedLicense(t, at)
			tc.edit(l)
			row, err := packLicense(l)
			if err != nil {
				t.Fatal(err)
			}
			if (row.record != "") != tc.recordInRow || row.receipt != "" || row.compact != "" {
				t.Errorf("row: record %d bytes, receipt %q, compact %q", len(row.record), row.receipt, row.compact)
			}
			if got := bytes.Contains(row.packed, l.Receipt.Entry); got == tc.rebuilt {
				t.Errorf("entry kept in the row: %v, want %v", got, !tc.rebuilt)
			}
			if got := bytes.Contains(row.packed, []byte(l.Compact)) && l.Compact != ""; got != tc.compactRaw {
				t.Errorf("QR text kept as text: %v, want %v", got, tc.compactRaw)
			}
			if (row.noteDigest != nil) != (l.Receipt.Checkpoint != "") || bytes.Contains(row.packed, []byte(l.Receipt.Checkpoint)) && l.Receipt.Checkpoint != "" {
				t.Errorf("checkpoint: digest %x, in the row: %v", row.noteDigest, bytes.Contains(row.packed, []byte(l.Receipt.Checkpoint)))
			}
			got := &License{Identifier: l.Identifier, Credential: row.credential}
			if err := unpackLicense(got, row.record, row.receipt, row.packed, row.note); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Credential, l.Credential) || got.Compact != l.Compact {
				t.Errorf("credential or compact form changed:\n%s\n%s", got.Compact, l.Compact)
			}
			if !reflect.DeepEqual(got.Record, l.Record) {
				t.Errorf("record:\n got %+v\nwant %+v", got.Record, l.Record)
			}
			if !reflect.DeepEqual(got.Receipt, l.Receipt) {
				t.Errorf("receipt:\n got %+v\nwant %+v", got.Receipt, l.Receipt)
			}
			// What a user receives: the receipt's JSON.
			gotJSON, _ := json.Marshal(got.Receipt)
			wantJSON, _ := json.Marshal(l.Receipt)
			if !bytes.Equal(gotJSON, wantJSON) {
				t.Errorf("receipt JSON:\n got %s\nwant %s", gotJSON, wantJSON)
			}
			rc, compact, err := unpackReceipt(row.credential, row.receipt, row.compact, row.packed, row.note)
			if err != nil || !reflect.DeepEqual(rc, l.Receipt) || compact != l.Compact {
				t.Errorf("unpackReceipt: %v", err)
			}
		})
	}
}

// TestPackedReceiptMalformed: a packed column that is cut short, has bytes
// over or names a checkpoint the store lacks is an error, never a receipt.
func TestPackedReceiptMalformed(t *testing.T) {
	l := packedLicense(t, time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC))
	row, err := packLicense(l)
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(row.packed) {
		if _, err := parsePackedReceipt(row.packed[:i], row.note); !errors.Is(err, errPacked) {
			t.Fatalf("cut at %d of %d: %v", i, len(row.packed), err)
		}
	}
	if _, err := parsePackedReceipt(append(bytes.Clone(row.packed), 0), row.note); !errors.Is(err, errPacked) {
		t.Errorf("a byte over: %v", err)
	}
	if _, err := parsePackedReceipt(row.packed, ""); !errors.Is(err, errPacked) {
		t.Errorf("checkpoint missing: %v", err)
	}
}

func TestBase45(t *testing.T) {
	// RFC 9285 section 4.
	for _, v := range []struct{ raw, text string }{
		{"AB", "BB8"}, {"Hello!!", "%69 VD92EX0"}, {"base-45", "UJCLQE7W581"}, {"ietf!", "QED8WEX0"}, {"", ""},
	} {
		if got := string(appendBase45(nil, []byte(v.raw))); got != v.text {
			t.Errorf("Base45(%q) = %q, want %q", v.raw, got, v.text)
		}
		if got, err := decodeBase45(v.text); err != nil || string(got) != v.raw {
			t.Errorf("decode %q = %q, %v", v.text, got, err)
		}
	}
	for _, bad := range []string{"A", "GGW", "aaa", "ZZZZ", "::"} { // short, > 0xffff, outside, short, > 0xff
		if _, err := decodeBase45(bad); err == nil {
			t.Errorf("decode %q: no error", bad)
		}
	}
}

// TestOldRowsReadable: rows written before migration 10 (credential whole or
// DEFLATE without a dictionary, receipt JSON with or without its entry,
// compact text) read back the same after it.
func TestOldRowsReadable(t *testing.T) {
	eachStore(t, func(t *testing.T, tdb testDB) {
		ctx := context.Background()
		at := time.Date(2026, 12, 7, 19, 45, 48, 343655000, time.UTC)
		st := tdb.open(t)
		// Undo migration 10's columns' use: write rows as version 9 did.
		l := packedLicense(t, at)
		var z1 bytes.Buffer
		z1.WriteString(packedCredential)
		w, _ := flate.NewWriter(&z1, flate.DefaultCompression)
		w.Write(l.Credential)
		w.Close()
		withEntry, _ := json.Marshal(storedReceipt{Receipt: l.Receipt})
		rebuilt := l.Receipt
		rebuilt.Entry = nil
		withoutEntry, _ := json.Marshal(storedReceipt{Receipt: rebuilt, AnchoredAt: &at})
		rows := []struct {
			id, record, receipt string
			cred                []byte
		}{
			{"whole", "", string(withEntry), l.Credential},
			{"z1", "", string(withoutEntry), z1.Bytes()},
		}
		for i, r := range rows {
			if _, err := st.db.ExecContext(ctx, `INSERT INTO licenses (identifier, uscc, type_code, serial, version, holder_code, status, status_index,
				record, credential, receipt, issued_at, compact) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				r.id, l.Department, l.TypeCode, r.id, "001", l.Record.HolderCode, string(l.Status), i, r.record, r.cred, r.receipt,
				sortableTime(at), l.Compact); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range rows {
			got, err := st.license(ctx, r.id)
			if err != nil {
				t.Fatalf("%s: %v", r.id, err)
			}
			if !bytes.Equal(got.Credential, l.Credential) || got.Compact != l.Compact || !reflect.DeepEqual(got.Receipt, l.Receipt) ||
				!reflect.DeepEqual(got.Record, l.Record) {
				t.Errorf("%s row read back differently", r.id)
			}
		}
		var anchors int
		if err := st.eachAnchor(ctx, l.Department, func(rc ledger.Receipt, compact string) error {
			if !reflect.DeepEqual(rc, l.Receipt) || compact != l.Compact {
				t.Errorf("eachAnchor: receipt or compact form differ")
			}
			anchors++
			return nil
		}); err != nil || anchors != len(rows) {
			t.Errorf("eachAnchor: %d anchors, %v", anchors, err)
		}
		st.Close()
	})
}

// TestOpenVersion9Store: a SQLite store made by version 9 of the schema,
// with a license in it, opens (migration 10 runs) and reads the license.
func TestOpenVersion9Store(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	db := sqlDB{raw, dialectSQLite}
	if err := createMigrationsTable(ctx, db); err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations {
		if m.version > 9 {
			break
		}
		if err := runMigration(ctx, db, m); err != nil {
			t.Fatal(err)
		}
	}
	l := packedLicense(t, time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC))
	rc, _ := json.Marshal(storedReceipt{Receipt: l.Receipt})
	if _, err := raw.Exec(`INSERT INTO licenses (identifier, uscc, type_code, serial, version, holder_code, status, status_index,
		record, credential, receipt, issued_at, compact) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		l.Identifier, l.Department, l.TypeCode, l.Serial, "001", l.Record.HolderCode, string(l.Status), 0, "", l.Credential, string(rc),
		sortableTime(l.IssuedAt), l.Compact); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	st, err := openSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.license(ctx, l.Identifier)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Credential, l.Credential) || got.Compact != l.Compact || !reflect.DeepEqual(got.Receipt, l.Receipt) {
		t.Error("the version 9 row read back differently")
	}
	// A new row beside it is packed, and both read back.
	l2 := packedLicense(t, time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC))
	l2.Identifier, l2.Serial, l2.StatusIndex = l2.Identifier+"-2", l2.Serial+"2", 1
	if err := st.insertLicense(ctx, l2, "", nil); err != nil {
		t.Fatal(err)
	}
	var rcpt, compact string
	var packed []byte
	if err := st.db.QueryRowContext(ctx, `SELECT receipt, compact, packed FROM licenses WHERE identifier = ?`, l2.Identifier).Scan(&rcpt, &compact, &packed); err != nil {
		t.Fatal(err)
	}
	if rcpt != "" || compact != "" || len(packed) == 0 {
		t.Errorf("new row not packed: receipt %q, compact %q, packed %d bytes", rcpt, compact, len(packed))
	}
	got2, err := st.license(ctx, l2.Identifier)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got2.Credential, l2.Credential) || got2.Compact != l2.Compact || !reflect.DeepEqual(got2.Receipt, l2.Receipt) {
		t.Error("the new row read back differently")
	}
}

// BenchmarkPackLicense is the CPU of making a license's row (the pack check
// included) and of reading it back, in CPU µs an operation (the rate falls
// on a busy machine; the CPU time does not).
func BenchmarkPackLicense(b *testing.B) {
	t := &testing.T{}
	l := packedLicense(t, time.Date(2026, 12, 7, 19, 45, 48, 343655000, time.UTC))
	row, err := packLicense(l)
	if err != nil {
		b.Fatal(err)
	}
	run := func(name string, f func() error) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := cputime.Process()
			for b.Loop() {
				if err := f(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cputime.Process()-cpu).Nanoseconds())/1e3/float64(b.N), "cpu-µs/op")
			b.ReportMetric(float64(len(row.credential)), "credential-B")
			b.ReportMetric(float64(len(row.packed)), "packed-B")
		})
	}
	run("pack", func() error { _, err := packLicense(l); return err })
	run("compress", func() error { _, err := packCredential(l.Credential); return err })
	run("unpack", func() error {
		return unpackLicense(&License{Credential: row.credential}, row.record, row.receipt, row.packed, row.note)
	})
}

// TestPackedCredentialCorrupt: a compressed credential column cut short or
// with a byte flipped does not read back as some other credential.
func TestPackedCredentialCorrupt(t *testing.T) {
	cred, _ := signedVector(t)
	col, err := packCredential(cred)
	if err != nil {
		t.Fatal(err)
	}
	if len(col) > len(cred)*2/5 {
		t.Errorf("credential of %d bytes packed into %d", len(cred), len(col))
	}
	if _, err := unpackCredential(col[:len(col)-5]); err == nil {
		t.Error("a column cut short read back")
	}
	for i := len(packedCredentialV2); i < len(col); i += 7 {
		bad := bytes.Clone(col)
		bad[i] ^= 0x40
		if got, err := unpackCredential(bad); err == nil && !bytes.Equal(got, cred) {
			t.Fatalf("byte %d flipped: read back a different credential without an error", i)
		}
	}
}
