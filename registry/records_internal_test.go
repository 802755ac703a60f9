package registry

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"zhengzhao/ledger/embedded"
	"zhengzhao/signing"
)

// Two instances (two store handles, two record writers) append to the one
// chain at once, on SQLite and (with ZZ_POSTGRES) PostgreSQL: every record
// gets its own sequence, chained to the one before, and the check finds
// nothing wrong. Then the head is anchored and checked against the ledger.
func TestRecordsTwoWritersOneChain(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "registry.db")
		testTwoWriters(t, func() (*store, error) { return openSQLite(path) })
	})
	t.Run("postgres", func(t *testing.T) {
		uri := postgresForTest(t)
		if uri == "" {
			t.Skip("ZZ_POSTGRES unset")
		}
		testTwoWriters(t, func() (*store, error) { return openPostgres(context.Background(), uri) })
	})
}

func testTwoWriters(t *testing.T, open func() (*store, error)) {
	ctx := context.Background()
	dir := t.TempDir()
	k, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	led, err := embedded.New(ctx, embedded.Config{Dir: filepath.Join(dir, "ledger"), Signer: signing.NewKeySigner(k), Origin: "test/ledger"})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	log := slog.New(slog.DiscardHandler)
	var svcs [2]*Service
	for i := range svcs {
		st, err := open()
		if err != nil {
			t.Fatal(err)
		}
		svcs[i] = &Service{store: st, ledger: led, log: log, now: time.Now, records: newRecordLog(st, led, time.Now, log)}
		defer st.Close()
		defer svcs[i].records.stop()
	}
	const per = 60
	var wg sync.WaitGroup
	for i := range 6 {
		s := svcs[i%2]
		wg.Go(func() {
			for range per {
				if _, err := s.AppendRecord(ctx, Actor{Role: RoleVerifier, Name: "clerk"}, Record{Action: ActionUseWindow, License: "L", Holder: "H", Result: "valid"}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if _, err := svcs[1].AnchorRecords(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := svcs[0].checkRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Err() != nil || rep.Records != 6*per || rep.HeadSeq != 6*per || rep.Anchored != 1 || rep.AnchoredSeq != 6*per {
		t.Fatalf("report %+v, err %v", rep, rep.Err())
	}
	// The other instance sees the head anchored and does not anchor again.
	if h, err := svcs[0].AnchorRecords(ctx); err != nil || h.Seq != 6*per {
		t.Fatalf("second anchoring: %+v %v", h, err)
	}
}

// The service's loop anchors a moved head by itself, and Close anchors what
// came after the last tick.
func TestRecordsAnchorLoopAndClose(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	k, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	led, err := embedded.New(ctx, embedded.Config{Dir: filepath.Join(dir, "ledger"), Signer: signing.NewKeySigner(k), Origin: "test/ledger"})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	st, err := openSQLite(filepath.Join(dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	old := anchorEvery
	anchorEvery = 50 * time.Millisecond
	log := slog.New(slog.DiscardHandler)
	s := &Service{store: st, ledger: led, log: log, now: time.Now, records: newRecordLog(st, led, time.Now, log)}
	anchorEvery = old
	add := func(n int) {
		for range n {
			if _, err := s.AppendRecord(ctx, Actor{Role: RoleAdmin, Name: "admin"}, Record{Action: ActionAccountNew, Result: "ok"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	add(3)
	deadline := time.Now().Add(10 * time.Second)
	for {
		h, err := led.RecordsHead(ctx, RecordChain)
		if err == nil && h.Seq == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the loop did not anchor the head of 3 records: %+v %v", h, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.records.stop() // what Close does before closing the store
	add0 := func() error {
		_, err := s.AppendRecord(ctx, Actor{Role: RoleAdmin, Name: "admin"}, Record{Action: ActionAccountNew, Result: "ok"})
		return err
	}
	if err := add0(); err == nil {
		t.Fatal("appended after close")
	}
	// A new writer (the next start) appends two more; closing anchors them.
	s.records = newRecordLog(st, led, time.Now, log)
	add(2)
	s.records.stop()
	if h, err := led.RecordsHead(ctx, RecordChain); err != nil || h.Seq != 5 {
		t.Fatalf("after close the ledger head is %+v (%v), want seq 5", h, err)
	}
}

// A batch of records goes in together, in order, one chain.
func TestRecordsAppendMany(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	k, _ := signing.GenerateKey()
	led, err := embedded.New(ctx, embedded.Config{Dir: filepath.Join(dir, "ledger"), Signer: signing.NewKeySigner(k), Origin: "test/ledger"})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	st, err := openSQLite(filepath.Join(dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.DiscardHandler)
	s := &Service{store: st, ledger: led, log: log, now: time.Now, records: newRecordLog(st, led, time.Now, log)}
	defer s.records.stop()
	lics := make([]*License, 1200)
	for i := range lics {
		lics[i] = &License{Identifier: "L" + string(rune('A'+i%26)), Status: "active"}
		lics[i].Record.HolderCode = "H"
	}
	s.RecordLicenses(ctx, Actor{Role: RoleIssuer, Name: "officer"}, ActionIssue, lics)
	rep, err := s.checkRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Err() != nil || rep.Records != 1200 {
		t.Fatalf("report %+v %v", rep, rep.Err())
	}
}
