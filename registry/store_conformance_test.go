package registry

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"zhengzhao/ledger"
	"zhengzhao/license"
)

// The store conformance suite: every Store implementation must pass it.
// It runs against SQLite always and against PostgreSQL when ZZ_POSTGRES
// names a database (postgres://user@host:port/db) in which it may create
// schemas; with ZZ_REQUIRE_POSTGRES=1 (as CI sets) a missing ZZ_POSTGRES
// fails instead of skipping.

// testDB opens handles on one fresh database of a kind.
type testDB struct {
	kind string
	open func(t testing.TB) *store
}

// testDBs returns a fresh database of each kind the machine has.
func testDBs(t testing.TB) []testDB {
	t.Helper()
	dir := t.TempDir()
	dbs := []testDB{{"sqlite", func(t testing.TB) *store {
		t.Helper()
		st, err := openSQLite(filepath.Join(dir, "registry.db"))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}}}
	if uri := postgresForTest(t); uri != "" {
		dbs = append(dbs, testDB{"postgres", func(t testing.TB) *store {
			t.Helper()
			st, err := openPostgres(context.Background(), uri)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}})
	}
	return dbs
}

// postgresForTest returns the URI of a fresh, empty schema of ZZ_POSTGRES's
// database, dropped when the test ends; "" when ZZ_POSTGRES is unset (a
// failure when ZZ_REQUIRE_POSTGRES=1).
func postgresForTest(t testing.TB) string {
	t.Helper()
	base := os.Getenv("ZZ_POSTGRES")
	if base == "" {
		if os.Getenv("ZZ_REQUIRE_POSTGRES") == "1" {
			t.Fatal("ZZ_REQUIRE_POSTGRES=1 but ZZ_POSTGRES is unset: start one with .ci/postgres.sh start")
		}
		t.Log("ZZ_POSTGRES unset: PostgreSQL not tested (.ci/postgres.sh start makes one)")
		return ""
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		admin.Close()
		t.Fatalf("ZZ_POSTGRES=%s: %v", redactURI(base), err)
	}
	t.Cleanup(func() {
		admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// eachStore runs f against a fresh database of each kind.
func eachStore(t *testing.T, f func(t *testing.T, db testDB)) {
	for _, db := range testDBs(t) {
		t.Run(db.kind, func(t *testing.T) { f(t, db) })
	}
}

func testLicense(n int, uscc string, slot int) *License {
	id := fmt.Sprintf("11100000000000000X-%s-2026%07d-001", uscc, n)
	return &License{
		Identifier: id, Department: uscc, TypeCode: "111", Serial: fmt.Sprintf("2026%07d", n), Version: "001",
		Status: license.StatusActive, StatusIndex: slot,
		Record:        license.Record{TypeCode: "111", Identifier: id, HolderCode: "H" + uscc, Holder: "张三", Number: fmt.Sprintf("2026%07d", n)},
		Credential:    []byte(`{"credential":` + fmt.Sprint(n) + `}`),
		Receipt:       ledger.Receipt{LogIndex: uint64(n), TreeSize: uint64(n + 1)},
		IssuedAt:      time.Date(2026, 12, 7, 8, 0, n, 123456789, time.UTC),
		Compact:       "ZZ1:" + id,
		SealSignature: []byte{0x30, 0x03, 0x02, 0x01, byte(n)},
	}
}

func TestStoreLicenses(t *testing.T) {
	eachStore(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		st := db.open(t)
		defer st.Close()
		a, b := testLicense(1, "U1", 7), testLicense(2, "U1", 8)
		a.RequestKey = "rk-1"
		for _, l := range []*License{a, b} {
			if err := st.insertLicense(ctx, l, "", nil); err != nil {
				t.Fatal(err)
			}
		}
		got, err := st.license(ctx, a.Identifier)
		if err != nil {
			t.Fatal(err)
		}
		if got.Record.Holder != "张三" || string(got.Credential) != string(a.Credential) || !got.IssuedAt.Equal(a.IssuedAt) ||
			got.StatusIndex != 7 || got.Receipt.LogIndex != 1 || got.Compact != a.Compact || string(got.SealSignature) != string(a.SealSignature) {
			t.Errorf("stored license came back as %+v", got)
		}
		if _, err := st.license(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown license: %v", err)
		}
		// Idempotent request keys: the key finds its license; a second
		// license with the same key of the department is refused.
		if l, err := st.licenseByRequestKey(ctx, "U1", "rk-1"); err != nil || l == nil || l.Identifier != a.Identifier {
			t.Errorf("by request key: %v %v", l, err)
		}
		if l, err := st.licenseByRequestKey(ctx, "U1", "rk-2"); err != nil || l != nil {
			t.Errorf("unknown request key: %v %v", l, err)
		}
		dup := testLicense(3, "U1", 9)
		dup.RequestKey = "rk-1"
		if err := st.insertLicense(ctx, dup, "", nil); err == nil {
			t.Error("a second license with one request key was stored")
		}
		// A slot held by a stored license is refused to another.
		if err := st.insertLicense(ctx, testLicense(4, "U1", 7), "", nil); err == nil {
			t.Error("two licenses in one status slot")
		}
		list, err := st.list(ctx, ListFilter{Department: "U1"})
		if err != nil || len(list) != 2 || list[0].Identifier != b.Identifier {
			t.Errorf("list newest first: %d licenses, %v", len(list), err)
		}
		// Statuses follow the ledger's order, whatever order they come in.
		w := statusWrite{ID: a.Identifier, Status: license.StatusRevoked, Reason: "penalty", Actor: "officer", At: time.Now(), LogIndex: 10,
			Receipt: &ledger.Receipt{LogIndex: 10, TreeSize: 11}}
		if changed, err := st.writeStatus(ctx, w); err != nil || !changed {
			t.Fatalf("write status: %v %v", changed, err)
		}
		w.Status, w.LogIndex = license.StatusSuspended, 5
		if changed, err := st.writeStatus(ctx, w); err != nil || changed {
			t.Errorf("an older status overwrote a newer: %v %v", changed, err)
		}
		if s, _, idx, err := st.statusOf(ctx, a.Identifier); err != nil || s != license.StatusRevoked || idx != 10 {
			t.Errorf("status: %s %d %v", s, idx, err)
		}
		got, _ = st.license(ctx, a.Identifier)
		if len(got.History) != 1 || got.History[0].Status != license.StatusRevoked {
			t.Errorf("history: %+v", got.History)
		}
		if seen, err := st.ledgerSizeSeen(ctx); err != nil || seen != 11 {
			t.Errorf("ledger size seen: %d %v", seen, err)
		}
		if err := st.sawLedgerSize(ctx, 3); err != nil {
			t.Fatal(err)
		}
		if seen, _ := st.ledgerSizeSeen(ctx); seen != 11 {
			t.Errorf("ledger size went down to %d", seen)
		}
	})
}

// Two store handles on one database (two instances) never hand out one
// serial twice, and a handle that closes gives back what it did not use.
func TestStoreSerialsShared(t *testing.T) {
	eachStore(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		h1, h2 := db.open(t), db.open(t)
		const perWorker, workers = 100, 4
		var mu sync.Mutex
		seen := map[int]bool{}
		var wg sync.WaitGroup
		for w := range workers {
			st := []*store{h1, h2}[w%2]
			wg.Go(func() {
				for range perWorker {
					n, err := st.nextSerial(ctx, "U1", "111", "2026")
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					if seen[n] {
						t.Errorf("serial %d handed out twice", n)
					}
					seen[n] = true
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != perWorker*workers {
			t.Fatalf("%d serials", len(seen))
		}
		top := 0
		for n := range seen {
			top = max(top, n)
		}
		h2.Close()
		h1.Close()
		h3 := db.open(t)
		defer h3.Close()
		n, err := h3.nextSerial(ctx, "U1", "111", "2026")
		if err != nil || n != top+1 {
			t.Errorf("after both closed: serial %d (%v), want %d", n, err, top+1)
		}
		// Another type or year has a sequence of its own, which starts
		// after the largest serial stored.
		if err := h3.insertLicense(ctx, testLicense(41, "U2", 1), "", nil); err != nil {
			t.Fatal(err)
		}
		if n, err := h3.nextSerial(ctx, "U2", "111", "2026"); err != nil || n != 42 {
			t.Errorf("first serial after a stored 20260000041: %d %v", n, err)
		}
	})
}

// A batch takes the serials of many years at once (nextSerials): each
// year's numbers come in order, no number goes out twice across handles
// and single calls, and what a closing handle did not use goes back, even
// when it reserved more than a block.
func TestStoreSerialsBatched(t *testing.T) {
	eachStore(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		h1, h2 := db.open(t), db.open(t)
		need := map[string]int{"2019": 37, "2020": allocBlock + 100, "2021": 1}
		var mu sync.Mutex
		seen := map[string]map[int]bool{}
		add := func(year string, n int) {
			mu.Lock()
			defer mu.Unlock()
			if seen[year] == nil {
				seen[year] = map[int]bool{}
			}
			if seen[year][n] {
				t.Errorf("serial %s/%d handed out twice", year, n)
			}
			seen[year][n] = true
		}
		var wg sync.WaitGroup
		for w := range 4 {
			st := []*store{h1, h2}[w%2]
			wg.Go(func() {
				for range 5 {
					got, err := st.nextSerials(ctx, "U1", "111", need)
					if err != nil {
						t.Error(err)
						return
					}
					for year, want := range need {
						nums := got[year]
						if len(nums) != want {
							t.Errorf("%s: %d serials, want %d", year, len(nums), want)
						}
						for i, n := range nums {
							if i > 0 && n <= nums[i-1] {
								t.Errorf("%s: serials out of order: %v", year, nums)
								break
							}
							add(year, n)
						}
					}
					n, err := st.nextSerial(ctx, "U1", "111", "2020")
					if err != nil {
						t.Error(err)
						return
					}
					add("2020", n)
				}
			})
		}
		wg.Wait()
		h2.Close()
		h1.Close()
		h3 := db.open(t)
		defer h3.Close()
		for year, nums := range seen {
			top := 0
			for n := range nums {
				top = max(top, n)
			}
			if n, err := h3.nextSerial(ctx, "U1", "111", year); err != nil || n != top+1 {
				t.Errorf("%s after both closed: serial %d (%v), want %d", year, n, err, top+1)
			}
		}
	})
}

// When a year's serials run out, a batch gets the ones left, in order, and
// an ErrConflict for the rest; later calls get none. Other years go on.
func TestStoreSerialsExhausted(t *testing.T) {
	eachStore(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		st := db.open(t)
		defer st.Close()
		if _, err := st.db.ExecContext(ctx, `INSERT INTO serials (uscc, type_code, year, last) VALUES ('U1', '111', '2026', ?)`, maxSerialNumber-2); err != nil {
			t.Fatal(err)
		}
		got, err := st.nextSerials(ctx, "U1", "111", map[string]int{"2026": 5, "2025": 2})
		if !errors.Is(err, ErrConflict) {
			t.Fatalf("err = %v, want ErrConflict", err)
		}
		if want := []int{maxSerialNumber - 1, maxSerialNumber}; fmt.Sprint(got["2026"]) != fmt.Sprint(want) {
			t.Errorf("2026: %v, want the two left: %v", got["2026"], want)
		}
		if len(got["2025"]) != 2 {
			t.Errorf("2025: %v, want two numbers", got["2025"])
		}
		if n, err := st.nextSerial(ctx, "U1", "111", "2026"); !errors.Is(err, ErrConflict) {
			t.Errorf("after they ran out: %d, %v; want ErrConflict", n, err)
		}
	})
}

// Two store handles never hand out one status-list slot twice; a list is
// filled to half, then the next one opens.
func TestStoreSlotsShared(t *testing.T) {
	eachStore(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		h1, h2 := db.open(t), db.open(t)
		defer h1.Close()
		defer h2.Close()
		const perWorker, workers = 150, 4
		var mu sync.Mutex
		seen := map[int]bool{}
		opened := 0
		var wg sync.WaitGroup
		for w := range workers {
			st := []*store{h1, h2}[w%2]
			wg.Go(func() {
				for range perWorker {
					slot, op, err := st.allocateSlot(ctx, "U1", randomListIndex)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					if seen[slot] {
						t.Errorf("slot %d handed out twice", slot)
					}
					if slot < 0 || slot >= StatusListSize {
						t.Errorf("slot %d outside the first list", slot)
					}
					seen[slot] = true
					if op {
						opened++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != perWorker*workers || opened != 1 {
			t.Fatalf("%d slots, the first list opened %d times", len(seen), opened)
		}
		// Fill the first list to three short of half: the next slots come
		// from it, then from the second list, which opens once.
		if _, err := h1.db.ExecContext(ctx, `UPDATE status_lists SET used = ? WHERE uscc = 'U1' AND list = 0`, StatusListSize/2-3); err != nil {
			t.Fatal(err)
		}
		h3 := db.open(t)
		defer h3.Close()
		var lists []int
		opened = 0
		for range 10 {
			slot, op, err := h3.allocateSlot(ctx, "U1", randomListIndex)
			if err != nil {
				t.Fatal(err)
			}
			if seen[slot] {
				t.Errorf("slot %d handed out twice", slot)
			}
			seen[slot] = true
			lists = append(lists, slot/StatusListSize)
			if op {
				opened++
			}
		}
		if want := []int{0, 0, 0, 1, 1, 1, 1, 1, 1, 1}; fmt.Sprint(lists) != fmt.Sprint(want) || opened != 1 {
			t.Errorf("lists of the slots: %v (want %v), opened %d times", lists, want, opened)
		}
		rows, err := h3.statusLists(ctx)
		if err != nil || len(rows) != 2 {
			t.Errorf("status lists: %+v %v", rows, err)
		}
		// A batch takes its slots at once, across a list that fills up:
		// none handed out before, the third list opened once.
		if _, err := h1.db.ExecContext(ctx, `UPDATE status_lists SET used = ? WHERE uscc = 'U1' AND list = 1`, StatusListSize/2-100); err != nil {
			t.Fatal(err)
		}
		h4 := db.open(t)
		defer h4.Close()
		batch, op, err := h4.allocateSlots(ctx, "U1", 700, randomListIndex)
		if err != nil || len(batch) != 700 || !op {
			t.Fatalf("a batch of 700 slots: %d slots, opened %v, %v", len(batch), op, err)
		}
		perList := map[int]int{}
		for _, slot := range batch {
			if seen[slot] {
				t.Errorf("slot %d handed out twice", slot)
			}
			seen[slot] = true
			perList[slot/StatusListSize]++
		}
		if perList[1] != 100 || perList[2] != 600 {
			t.Errorf("slots of the batch per list: %v, want 100 from list 1 and 600 from list 2", perList)
		}
	})
}

// heldLicenses answers for many holders at once what heldLicense answers
// for one: only active or suspended licenses of the holder's own type.
func TestStoreHeldLicenses(t *testing.T) {
	eachStore(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		st := db.open(t)
		defer st.Close()
		// a and d: two active licenses of one holder (the lowest identifier
		// answers); c: a revoked one of another holder, which holds none.
		a, b, c, d := testLicense(4, "U1", 1), testLicense(2, "U1", 2), testLicense(3, "U1", 3), testLicense(1, "U1", 4)
		b.Record.HolderCode = "H-other"
		c.Record.HolderCode, c.Status = "H-revoked", license.StatusRevoked
		for _, l := range []*License{a, b, c, d} {
			if err := st.insertLicense(ctx, l, "", nil); err != nil {
				t.Fatal(err)
			}
		}
		typ := a.TypeCode
		holders := []holderOf{{typ, a.Record.HolderCode}, {typ, "H-other"}, {"999", a.Record.HolderCode}, {typ, "H-none"}, {typ, "H-revoked"}}
		got, err := st.heldLicenses(ctx, holders)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range holders {
			id, status, err := st.heldLicense(ctx, h.typeCode, h.holderCode)
			if err != nil {
				t.Fatal(err)
			}
			if g := got[h]; g.identifier != id || g.status != status {
				t.Errorf("%+v: heldLicenses %+v, heldLicense %q %q", h, g, id, status)
			}
		}
		if len(got) != 2 || got[holderOf{typ, a.Record.HolderCode}].identifier != d.Identifier {
			t.Errorf("held: %+v, want %s and %s", got, d.Identifier, b.Identifier)
		}
	})
}

func TestStoreDirectory(t *testing.T) {
	eachStore(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		st := db.open(t)
		defer st.Close()
		now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
		a := &Account{Username: "clerk", Name: "窗口", Role: RoleVerifier, Hall: "A", CreatedAt: now}
		if err := st.insertAccount(ctx, a, "hash"); err != nil || a.ID == 0 {
			t.Fatalf("insert account: id %d, %v", a.ID, err)
		}
		if err := st.insertAccount(ctx, &Account{Username: "clerk", Role: RoleVerifier, CreatedAt: now}, "h"); !errors.Is(err, ErrConflict) {
			t.Errorf("a taken user name: %v", err)
		}
		if got, hash, err := st.accountByUsername(ctx, "clerk"); err != nil || got.ID != a.ID || hash != "hash" || !got.CreatedAt.Equal(now) {
			t.Errorf("account by name: %+v %q %v", got, hash, err)
		}
		// Sessions.
		if err := st.insertSession(ctx, "s1", a.ID, now, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, exp, err := st.session(ctx, "s1"); err != nil || got.Username != "clerk" || !exp.Equal(now.Add(time.Hour)) {
			t.Errorf("session: %+v %v %v", got, exp, err)
		}
		if err := st.prune(ctx, now.Add(2*time.Hour), now); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.session(ctx, "s1"); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("expired session after prune: %v", err)
		}
		// Sign-in throttles: past the free attempts an attempt must wait,
		// whichever handle it comes through.
		keys := []throttleKey{{"pair:clerk|1.2.3.4", 2}}
		for i := range 2 {
			if err := st.takeAttempt(ctx, keys, now); err != nil {
				t.Fatalf("attempt %d: %v", i+1, err)
			}
		}
		other := db.open(t)
		defer other.Close()
		var te *ThrottledError
		if err := other.takeAttempt(ctx, keys, now); !errors.As(err, &te) || te.RetryAfter <= 0 {
			t.Errorf("attempt past the free ones, on another handle: %v", err)
		}
		if err := other.forgetLoginFailures(ctx, "clerk"); err != nil {
			t.Fatal(err)
		}
		if err := st.takeAttempt(ctx, keys, now); err != nil {
			t.Errorf("attempt after the failures were forgotten: %v", err)
		}
		if err := st.forgiveAttempt(ctx, []throttleKey{{"x", 1}, {"pair:clerk|1.2.3.4", 2}}); err != nil {
			t.Errorf("forgive: %v", err)
		}
		if err := st.setDisabled(ctx, a.ID, true); err != nil {
			t.Errorf("disable: %v", err)
		}
		if got, _ := st.accountByID(ctx, a.ID); got == nil || !got.Disabled {
			t.Errorf("disabled account: %+v", got)
		}
		// Use codes are spent once, across handles.
		lic := testLicense(1, "U1", 1)
		if err := st.insertLicense(ctx, lic, "", nil); err != nil {
			t.Fatal(err)
		}
		u := &UseCode{ID: "u1", Identifier: lic.Identifier, Fields: []string{"name"}, Purpose: "开户", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := st.insertUseCode(ctx, "code-hash", "H1", u); err != nil {
			t.Fatal(err)
		}
		if ok, err := other.spendUseCode(ctx, "code-hash", "clerk", now.Add(time.Minute)); err != nil || !ok {
			t.Errorf("spend: %v %v", ok, err)
		}
		if ok, err := st.spendUseCode(ctx, "code-hash", "clerk", now.Add(time.Minute)); err != nil || ok {
			t.Errorf("spent twice: %v %v", ok, err)
		}
		if got, holder, err := st.useCodeByHash(ctx, "code-hash"); err != nil || holder != "H1" || got.UsedAt == nil || got.UsedBy != "clerk" {
			t.Errorf("use code: %+v %q %v", got, holder, err)
		}
		// The usage record and the report count by China-time day.
		at := time.Date(2026, 12, 7, 17, 0, 0, 0, time.UTC) // 01:00 on the 8th in China
		if err := st.insertUse(ctx, usageRow{HolderCode: "H1", UsageRecord: UsageRecord{Identifier: lic.Identifier, Department: "U1", TypeCode: "111", Mode: UseByCode, At: at}}); err != nil {
			t.Fatal(err)
		}
		if recs, err := st.usageRecords(ctx, "H1"); err != nil || len(recs) != 1 || !recs[0].At.Equal(at) {
			t.Errorf("usage records: %+v %v", recs, err)
		}
		rows, err := st.report(ctx, at.Add(-48*time.Hour), at.Add(48*time.Hour), "")
		if err != nil {
			t.Fatal(err)
		}
		want := "[{2026-12-07 U1 111 1 0 0 0} {2026-12-08 U1 111 0 0 0 1}]"
		if fmt.Sprint(rows) != want {
			t.Errorf("report: %v, want %s", rows, want)
		}
	})
}

// Migrations run once: opening again, or two handles opening a new database
// at once, applies nothing twice.
func TestStoreMigrations(t *testing.T) {
	eachStore(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		var wg sync.WaitGroup
		handles := make([]*store, 2)
		for i := range handles {
			wg.Go(func() { handles[i] = db.open(t) })
		}
		wg.Wait()
		for _, h := range handles {
			if h == nil {
				t.FailNow()
			}
			h.Close()
		}
		st := db.open(t)
		defer st.Close()
		state, err := Migrations(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		if len(state.Applied) != len(migrations) || state.Applied[len(state.Applied)-1] != state.Latest {
			t.Errorf("migrations: %+v", state)
		}
		if err := migrate(ctx, st.db); err != nil {
			t.Errorf("migrating again: %v", err)
		}
		var n int
		if err := st.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(migrations) {
			t.Errorf("%d rows in schema_migrations (%v), want %d", n, err, len(migrations))
		}
	})
}

// A one-active holder claimed through one handle is refused to another
// until released or expired; a claim renews for its owner.
func TestStoreHolderClaims(t *testing.T) {
	eachStore(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		h1, h2 := db.open(t), db.open(t)
		defer h1.Close()
		defer h2.Close()
		now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
		a, b, c := holderOf{"111", "H1"}, holderOf{"111", "H2"}, holderOf{"222", "H1"}
		claim := func(st *store, owner string, at time.Time, hs ...holderOf) map[holderOf]bool {
			t.Helper()
			taken, err := st.claimHolders(ctx, owner, hs, at)
			if err != nil {
				t.Fatal(err)
			}
			return taken
		}
		if taken := claim(h1, "one", now, a, b); len(taken) != 0 {
			t.Fatalf("first claims: taken %v", taken)
		}
		if taken := claim(h2, "two", now, a, c); !taken[a] || taken[c] || len(taken) != 1 {
			t.Errorf("claims of a held holder and a free one: taken %v, want only %v", taken, a)
		}
		if taken := claim(h1, "one", now.Add(time.Minute), a, b); len(taken) != 0 {
			t.Errorf("the owner renews its claims: taken %v", taken)
		}
		if err := h1.releaseHolders(ctx, "one", []holderOf{a}); err != nil {
			t.Fatal(err)
		}
		if taken := claim(h2, "two", now, a); len(taken) != 0 {
			t.Errorf("a released holder: taken %v", taken)
		}
		if taken := claim(h2, "two", now.Add(claimTTL), b); !taken[b] {
			t.Errorf("a claim renewed a minute later still holds at its first expiry: taken %v", taken)
		}
		if taken := claim(h2, "two", now.Add(time.Minute+claimTTL+time.Second), b); len(taken) != 0 {
			t.Errorf("an expired claim (a crashed instance) is taken over: taken %v", taken)
		}
		// A restarted instance drops what its earlier run claimed, and
		// only that.
		d, e := holderOf{"111", "H4"}, holderOf{"111", "H5"}
		claim(h1, "A/call1", now, d)
		claim(h2, "AB/call2", now, e)
		if err := h2.releaseInstanceClaims(ctx, "A"); err != nil {
			t.Fatal(err)
		}
		if taken := claim(h2, "C/call3", now, d, e); !taken[e] || taken[d] {
			t.Errorf("after instance A restarted: taken %v, want only %v (instance AB's)", taken, e)
		}
	})
}
