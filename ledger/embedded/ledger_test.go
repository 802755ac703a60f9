package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"zhengzhao/internal/cputime"
	"zhengzhao/ledger"
	"zhengzhao/ledger/ledgertest"
	"zhengzhao/ledger/tlog"
	"zhengzhao/license"
	"zhengzhao/signing"
)

func newSigner(t testing.TB) signing.Signer {
	t.Helper()
	k, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return signing.NewKeySigner(k)
}

func open(t testing.TB, cfg Config) *Ledger {
	t.Helper()
	l, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestConformance(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledger.Ledger {
		return open(t, Config{Dir: t.TempDir(), Signer: newSigner(t)})
	})
}

func TestConfigValidate(t *testing.T) {
	s := newSigner(t)
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"minimal", Config{Dir: "x", Signer: s}, true},
		{"origin", Config{Dir: "x", Signer: s, Origin: "ledger.example.gov.cn/zz"}, true},
		{"no dir", Config{Signer: s}, false},
		{"no signer", Config{Dir: "x"}, false},
		{"origin with space", Config{Dir: "x", Signer: s, Origin: "a b"}, false},
		{"origin with plus", Config{Dir: "x", Signer: s, Origin: "a+b"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if got := err == nil; got != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Fatalf("Validate() = %v, want ErrConfig", err)
			}
		})
	}
}

// fixture is a ledger with one registered department.
type fixture struct {
	cfg  Config
	l    *Ledger
	dept *ledgertest.Dept
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	cfg := Config{Dir: t.TempDir(), Signer: newSigner(t)}
	l := open(t, cfg)
	d := ledgertest.NewWorld(t, time.Now()).NewDepartment("某市市场监督管理局")
	ledgertest.Register(t, l, d)
	return &fixture{cfg: cfg, l: l, dept: d}
}

func (f *fixture) anchor(t testing.TB, n int) []ledger.Receipt {
	t.Helper()
	var out []ledger.Receipt
	for range n {
		rs, err := f.l.Anchor(context.Background(), []ledger.Anchor{f.dept.Anchor()})
		if err != nil {
			t.Fatalf("Anchor: %v", err)
		}
		out = append(out, rs...)
	}
	return out
}

func TestReceiptsVerify(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	rs, err := f.l.Anchor(ctx, []ledger.Anchor{f.dept.Anchor(), f.dept.Anchor()})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		cp, err := tlog.VerifyCheckpoint(r.Checkpoint, DefaultOrigin, f.cfg.Signer.Public())
		if err != nil {
			t.Fatalf("VerifyCheckpoint: %v", err)
		}
		if cp.Size != r.TreeSize {
			t.Fatalf("checkpoint size %d, receipt tree size %d", cp.Size, r.TreeSize)
		}
		if err := tlog.VerifyInclusion(r.Entry, r.LogIndex, cp.Size, r.InclusionProof, cp.Root); err != nil {
			t.Fatalf("VerifyInclusion: %v", err)
		}
		if _, err := tlog.VerifyCheckpoint(r.Checkpoint, DefaultOrigin, newSigner(t).Public()); !errors.Is(err, tlog.ErrUnknownKey) {
			t.Fatalf("VerifyCheckpoint with another key: %v, want ErrUnknownKey", err)
		}
	}
	latest, err := f.l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if latest.Note != rs[0].Checkpoint {
		t.Fatalf("latest checkpoint is not the one in the last receipt")
	}
}

// TestNoPersonalData checks that an anchor entry carries exactly the anchor's
// fields: identifiers, digests, a signature and dates.
func TestNoPersonalData(t *testing.T) {
	f := newFixture(t)
	r := f.anchor(t, 1)[0]
	var entry map[string]json.RawMessage
	if err := json.Unmarshal(r.Entry, &entry); err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(mapsKeys(entry)), []string{"anchor", "at", "kind", "v"}; !slices.Equal(got, want) {
		t.Fatalf("entry members %v, want %v", got, want)
	}
	var anchor map[string]json.RawMessage
	if err := json.Unmarshal(entry["anchor"], &anchor); err != nil {
		t.Fatal(err)
	}
	want := []string{"document_hash", "id", "issuer", "key_id", "proof_hash", "signature", "type", "valid_from", "valid_until"}
	if got := slices.Sorted(mapsKeys(anchor)); !slices.Equal(got, want) {
		t.Fatalf("anchor members %v, want %v", got, want)
	}
}

func mapsKeys(m map[string]json.RawMessage) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestReopenPreservesEverything(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	rs := f.anchor(t, 5)
	id := f.dept.Anchor()
	if _, err := f.l.Anchor(ctx, []ledger.Anchor{id}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.l.SetStatus(ctx, ledger.StatusChange{Identifier: id.Identifier, Issuer: f.dept.Department.USCC, Status: license.StatusSuspended, Reason: "under_investigation"}); err != nil {
		t.Fatal(err)
	}
	wantCP, _ := f.l.Checkpoint(ctx)
	wantLic, _ := f.l.License(ctx, id.Identifier)
	wantDept, _ := f.l.Department(ctx, f.dept.Department.USCC)
	if err := f.l.Close(); err != nil {
		t.Fatal(err)
	}

	l2 := open(t, f.cfg)
	gotCP, err := l2.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if gotCP.Note != wantCP.Note {
		t.Fatalf("checkpoint after reopen:\n%s\nwant\n%s", gotCP.Note, wantCP.Note)
	}
	gotLic, err := l2.License(ctx, id.Identifier)
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(t, gotLic, wantLic) {
		t.Fatalf("license after reopen %+v, want %+v", gotLic, wantLic)
	}
	gotDept, err := l2.Department(ctx, f.dept.Department.USCC)
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(t, gotDept, wantDept) {
		t.Fatalf("department after reopen %+v, want %+v", gotDept, wantDept)
	}
	for _, r := range rs {
		p, err := l2.InclusionProof(ctx, r.LogIndex, gotCP.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.VerifyInclusion(r.Entry, r.LogIndex, gotCP.Size, p, gotCP.Root); err != nil {
			t.Fatalf("entry %d after reopen: %v", r.LogIndex, err)
		}
	}
	more, err := l2.Anchor(ctx, []ledger.Anchor{f.dept.Anchor()})
	if err != nil {
		t.Fatal(err)
	}
	if more[0].LogIndex != wantCP.Size {
		t.Fatalf("first index after reopen %d, want %d", more[0].LogIndex, wantCP.Size)
	}
	_, err = l2.Anchor(ctx, []ledger.Anchor{id})
	if !errors.Is(err, ledger.ErrDuplicate) {
		t.Fatalf("anchor recorded before reopen: %v, want ErrDuplicate", err)
	}
	if _, err := Verify(ctx, f.cfg.Dir, "", f.cfg.Signer.Public(), nil); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ja, jb)
}

// TestGroupCommit checks that concurrent writers share fsyncs.
func TestGroupCommit(t *testing.T) {
	f := newFixture(t)
	const n = 50
	anchors := make([]ledger.Anchor, n)
	for i := range anchors {
		anchors[i] = f.dept.Anchor()
	}
	before := f.l.syncs.Load()
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, a := range anchors {
		wg.Go(func() {
			<-start
			_, err := f.l.Anchor(context.Background(), []ledger.Anchor{a})
			errs <- err
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	syncs := f.l.syncs.Load() - before
	t.Logf("%d anchors from %d goroutines took %d fsyncs", n, n, syncs)
	if syncs >= n {
		t.Fatalf("%d fsyncs for %d concurrent anchors; writes are not grouped", syncs, n)
	}
}

func TestMonotonicClock(t *testing.T) {
	base := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	times := []time.Time{base, base.Add(time.Hour), base.Add(-time.Hour)}
	var mu sync.Mutex
	i := 0
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t := times[min(i, len(times)-1)]
		i++
		return t
	}
	w := ledgertest.NewWorld(t, base)
	cfg := Config{Dir: t.TempDir(), Signer: newSigner(t), Now: now}
	l := open(t, cfg)
	d := w.NewDepartment("某市税务局")
	r1 := ledgertest.Register(t, l, d)
	r2 := mustAnchor(t, l, d.Anchor())
	r3 := mustAnchor(t, l, d.Anchor())
	var at []time.Time
	for _, r := range []ledger.Receipt{r1, r2, r3} {
		e, err := ledger.ParseEvent(r.Entry)
		if err != nil {
			t.Fatal(err)
		}
		at = append(at, e.At)
	}
	want := []time.Time{base, base.Add(time.Hour), base.Add(time.Hour)}
	for k := range want {
		if !at[k].Equal(want[k]) {
			t.Fatalf("event times %v, want %v", at, want)
		}
	}
}

func mustAnchor(t *testing.T, l ledger.Ledger, a ledger.Anchor) ledger.Receipt {
	t.Helper()
	rs, err := l.Anchor(context.Background(), []ledger.Anchor{a})
	if err != nil {
		t.Fatalf("Anchor: %v", err)
	}
	return rs[0]
}

func TestLocked(t *testing.T) {
	f := newFixture(t)
	_, err := New(context.Background(), f.cfg)
	if !errors.Is(err, ErrLocked) || !errors.Is(err, ledger.ErrUnavailable) {
		t.Fatalf("second New on an open directory: %v, want ErrLocked", err)
	}
	f.l.Close()
	l2 := open(t, f.cfg)
	l2.Close()
}

// record is the position of one record in a log file.
type record struct {
	typ            byte
	offset, length int64 // of the whole record
}

func records(t *testing.T, path string) []record {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []record
	for off := int64(len(logMagic)); off < int64(len(b)); {
		n := int64(binary.BigEndian.Uint32(b[off+1:]))
		rl := headerSize + n + digestSize
		out = append(out, record{typ: b[off], offset: off, length: rl})
		off += rl
	}
	return out
}

// entryRecord returns the record of entry index.
func entryRecord(t *testing.T, path string, index int) record {
	t.Helper()
	i := 0
	for _, r := range records(t, path) {
		if r.typ != recEntry {
			continue
		}
		if i == index {
			return r
		}
		i++
	}
	t.Fatalf("no entry %d in %s", index, path)
	return record{}
}

func logSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestTornTail(t *testing.T) {
	tests := []struct {
		name string
		tail func(t *testing.T, path string) []byte
	}{
		{"partial header", func(t *testing.T, path string) []byte { return []byte{recEntry, 0, 0} }},
		{"partial record", func(t *testing.T, path string) []byte {
			b, _ := os.ReadFile(path)
			r := entryRecord(t, path, 1)
			return b[r.offset : r.offset+r.length/2]
		}},
		{"zeros", func(t *testing.T, path string) []byte { return make([]byte, 300) }},
		{"unwritten record end", func(t *testing.T, path string) []byte {
			b, _ := os.ReadFile(path)
			r := entryRecord(t, path, 1)
			rec := bytes.Clone(b[r.offset : r.offset+r.length])
			clear(rec[len(rec)-digestSize:])
			return rec
		}},
		{"entry without checkpoint", func(t *testing.T, path string) []byte {
			b, _ := os.ReadFile(path)
			r := entryRecord(t, path, 1)
			return bytes.Clone(b[r.offset : r.offset+r.length])
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.anchor(t, 3)
			ctx := context.Background()
			want, _ := f.l.Checkpoint(ctx)
			f.l.Close()
			path := filepath.Join(f.cfg.Dir, logFile)
			good := logSize(t, path)
			tail := tt.tail(t, path)
			appendFile(t, path, tail)

			rep, err := Verify(ctx, f.cfg.Dir, "", f.cfg.Signer.Public(), nil)
			if err != nil {
				t.Fatalf("Verify with a torn tail: %v", err)
			}
			if rep.UnacknowledgedBytes != int64(len(tail)) || rep.Tail == "" {
				t.Fatalf("Verify report %+v, want %d unacknowledged bytes", rep, len(tail))
			}
			l := open(t, f.cfg)
			got, err := l.Checkpoint(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got.Note != want.Note {
				t.Fatalf("checkpoint after a torn tail changed")
			}
			if s := logSize(t, path); s != good {
				t.Fatalf("log is %d bytes after reopen, want the torn tail cut to %d", s, good)
			}
			mustAnchor(t, l, f.dept.Anchor())
		})
	}
}

func appendFile(t *testing.T, path string, b []byte) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCorruption(t *testing.T) {
	const bad = 3 // entry 0 registers the department, 1.. are anchors
	tests := []struct {
		name   string
		damage func(t *testing.T, path string, b []byte)
		index  uint64
	}{
		{"payload byte", func(t *testing.T, path string, b []byte) {
			r := entryRecord(t, path, bad)
			b[r.offset+headerSize+r.length/3] ^= 0x01
		}, bad},
		{"digest byte", func(t *testing.T, path string, b []byte) {
			r := entryRecord(t, path, bad)
			b[r.offset+r.length-1] ^= 0x80
		}, bad},
		{"length", func(t *testing.T, path string, b []byte) {
			r := entryRecord(t, path, bad)
			b[r.offset+3] ^= 0x10
		}, bad},
		{"record type", func(t *testing.T, path string, b []byte) {
			r := entryRecord(t, path, bad)
			b[r.offset] = recCheckpoint
		}, bad},
		{"zeroed middle", func(t *testing.T, path string, b []byte) {
			r := entryRecord(t, path, bad)
			clear(b[r.offset : r.offset+r.length])
		}, bad},
		{"entry removed", func(t *testing.T, path string, b []byte) {
			r := entryRecord(t, path, bad)
			copy(b[r.offset:], b[r.offset+r.length:])
			clear(b[len(b)-int(r.length):])
			// Keep the length; the zeros at the end look torn, the
			// checkpoint after the gap does not match.
		}, bad},
		{"file header", func(t *testing.T, path string, b []byte) { b[0] = 'X' }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.anchor(t, 6)
			f.l.Close()
			path := filepath.Join(f.cfg.Dir, logFile)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			tt.damage(t, path, b)
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			// New checks only what the index does not cover: with the
			// index gone it re-checks the whole log, as Verify always does.
			for name, check := range map[string]func() error{
				"New without index": func() error {
					if err := os.Remove(filepath.Join(f.cfg.Dir, indexFile)); err != nil {
						t.Fatal(err)
					}
					l, err := New(context.Background(), f.cfg)
					if err == nil {
						l.Close()
					}
					return err
				},
				"Verify": func() error {
					_, err := Verify(context.Background(), f.cfg.Dir, "", f.cfg.Signer.Public(), nil)
					return err
				},
			} {
				err := check()
				var ce *CorruptError
				if !errors.Is(err, ledger.ErrCorrupt) || !errors.As(err, &ce) {
					t.Fatalf("%s on a damaged log: %v, want a CorruptError", name, err)
				}
				if ce.Index != tt.index {
					t.Fatalf("%s names entry %d (%v), want %d", name, ce.Index, err, tt.index)
				}
			}
		})
	}
}

func TestWrongKeyOrOrigin(t *testing.T) {
	f := newFixture(t)
	f.anchor(t, 2)
	f.l.Close()
	ctx := context.Background()

	other := f.cfg
	other.Signer = newSigner(t)
	if _, err := New(ctx, other); !errors.Is(err, ledger.ErrCorrupt) {
		t.Fatalf("New with another checkpoint key: %v, want ErrCorrupt", err)
	}
	if _, err := Verify(ctx, f.cfg.Dir, "", other.Signer.Public(), nil); !errors.Is(err, ledger.ErrCorrupt) {
		t.Fatalf("Verify with another key: %v, want ErrCorrupt", err)
	}
	moved := f.cfg
	moved.Origin = "elsewhere.example/ledger"
	if _, err := New(ctx, moved); !errors.Is(err, ledger.ErrCorrupt) {
		t.Fatalf("New with another origin: %v, want ErrCorrupt", err)
	}
	rep, err := Verify(ctx, f.cfg.Dir, "", f.cfg.Signer.Public(), nil)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if rep.Checkpoint.Size != 3 || rep.UnacknowledgedBytes != 0 {
		t.Fatalf("Verify report %+v, want size 3 and no tail", rep)
	}
}

func TestCrashDuringCreate(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, logFile), []byte(logMagic[:3]), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Dir: dir, Signer: newSigner(t)}
	l := open(t, cfg)
	cp, err := l.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != 0 || !bytes.Equal(cp.Root, tlog.EmptyRoot()) {
		t.Fatalf("checkpoint of a new log = %+v", cp)
	}
	if _, err := tlog.VerifyCheckpoint(cp.Note, DefaultOrigin, cfg.Signer.Public()); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkAnchorConcurrent measures licenses anchored per second with 64
// goroutines each anchoring one license per call (so group commit decides).
func BenchmarkAnchorConcurrent(b *testing.B) {
	f := newFixture(b)
	anchors := make([]ledger.Anchor, b.N)
	for i := range anchors {
		anchors[i] = f.dept.Anchor()
	}
	syncs := f.l.syncs.Load()
	var next sync.Mutex
	i := 0
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	start := time.Now()
	cpu := cputime.Process()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			next.Lock()
			a := anchors[i]
			i++
			next.Unlock()
			if _, err := f.l.Anchor(context.Background(), []ledger.Anchor{a}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cputime.Process()-cpu).Nanoseconds())/1e3/float64(b.N), "cpu-µs/license")
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "licenses/s")
	b.ReportMetric(float64(b.N)/float64(max(1, f.l.syncs.Load()-syncs)), "licenses/fsync")
}
