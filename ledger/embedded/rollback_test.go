package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"zhengzhao/ledger"
	"zhengzhao/ledger/ledgertest"
	"zhengzhao/ledger/tlog"
	"zhengzhao/license"
)

// checkpointEnds returns the offsets just past each checkpoint record.
func checkpointEnds(t *testing.T, path string) []int64 {
	t.Helper()
	var out []int64
	for _, r := range records(t, path) {
		if r.typ == recCheckpoint {
			out = append(out, r.offset+r.length)
		}
	}
	return out
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// openErr is New's error, closing a ledger that opened.
func openErr(cfg Config) error {
	l, err := New(context.Background(), cfg)
	if err == nil {
		l.Close()
	}
	return err
}

// wantRollback checks err is a *RollbackError with the two sizes, named in
// its message too.
func wantRollback(t *testing.T, what string, err error, logSize, kept uint64) {
	t.Helper()
	var rb *RollbackError
	if !errors.Is(err, ledger.ErrRollback) || !errors.As(err, &rb) {
		t.Fatalf("%s: %v, want a RollbackError", what, err)
	}
	if rb.LogSize != logSize || rb.CheckpointSize != kept {
		t.Fatalf("%s: sizes %d and %d (%v), want %d and %d", what, rb.LogSize, rb.CheckpointSize, err, logSize, kept)
	}
	msg := err.Error()
	if !strings.Contains(msg, fmt.Sprint(logSize)) || !strings.Contains(msg, fmt.Sprint(kept)) {
		t.Fatalf("%s: message %q does not name both sizes", what, msg)
	}
}

func TestRollbackTruncated(t *testing.T) {
	tests := []struct {
		name string
		cut  func(t *testing.T, path string) int64 // new length of the log
		size uint64                                // entries left
	}{
		// Entry 0 registers the department, then one anchor per commit:
		// the third checkpoint record (empty tree, 1, 2) closes 2 entries.
		{"at a checkpoint boundary", func(t *testing.T, path string) int64 { return checkpointEnds(t, path)[2] }, 2},
		{"in the middle of a record", func(t *testing.T, path string) int64 {
			r := entryRecord(t, path, 4)
			return r.offset + r.length/2
		}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.anchor(t, 6)
			f.l.Close()
			path := filepath.Join(f.cfg.Dir, logFile)
			if err := os.Truncate(path, tt.cut(t, path)); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(path)
			wantRollback(t, "New", openErr(f.cfg), tt.size, 7)
			_, err := Verify(context.Background(), f.cfg.Dir, "", f.cfg.Signer.Public(), nil)
			wantRollback(t, "Verify", err, tt.size, 7)
			if err := os.Remove(filepath.Join(f.cfg.Dir, indexFile)); err != nil {
				t.Fatal(err)
			}
			wantRollback(t, "New without index", openErr(f.cfg), tt.size, 7)
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Fatalf("a refused open changed the log")
			}
		})
	}
}

// TestRollbackRewritten replaces the log with another one of the same size
// (same key, same origin, a different entry): not consistent with the
// checkpoint kept apart from it.
func TestRollbackRewritten(t *testing.T) {
	ctx := context.Background()
	signer := newSigner(t)
	w := ledgertest.NewWorld(t, time.Now())
	d := w.NewDepartment("某市市场监督管理局")
	build := func(statusOf int) Config {
		cfg := Config{Dir: t.TempDir(), Signer: signer}
		l := open(t, cfg)
		ledgertest.Register(t, l, d)
		as := []ledger.Anchor{d.Anchor(), d.Anchor(), d.Anchor()}
		for _, a := range as {
			mustAnchor(t, l, a)
		}
		// The two logs differ in their last entry only.
		if _, err := l.SetStatus(ctx, ledger.StatusChange{Identifier: as[statusOf].Identifier, Issuer: d.Department.USCC, Status: license.StatusSuspended, Reason: "under_investigation"}); err != nil {
			t.Fatal(err)
		}
		l.Close()
		return cfg
	}
	a, b := build(0), build(1)
	for _, tt := range []struct {
		name  string
		files []string
	}{
		{"log", []string{logFile}},
		{"log and index", []string{logFile, indexFile}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, name := range []string{logFile, indexFile, checkpointFile} {
				from := a.Dir
				for _, n := range tt.files {
					if n == name {
						from = b.Dir
					}
				}
				copyFile(t, filepath.Join(from, name), filepath.Join(dir, name))
			}
			cfg := Config{Dir: dir, Signer: signer}
			wantRollback(t, "New", openErr(cfg), 5, 5)
			_, err := Verify(ctx, dir, "", signer.Public(), nil)
			wantRollback(t, "Verify", err, 5, 5)
		})
	}
	// Each log on its own is fine.
	for _, cfg := range []Config{a, b} {
		if err := openErr(cfg); err != nil {
			t.Fatal(err)
		}
	}
}

// answers is what a ledger says about a set of licenses: compared before
// and after the index is rebuilt or caught up.
type answers struct {
	CP       ledger.SignedCheckpoint
	Licenses []*ledger.LicenseState
	Dept     *ledger.DepartmentState
	Proofs   [][][]byte
	Cons     [][]byte
}

func ask(t *testing.T, l *Ledger, f *fixture, rs []ledger.Receipt, ids []string) answers {
	t.Helper()
	ctx := context.Background()
	var a answers
	var err error
	if a.CP, err = l.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		ls, err := l.License(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		a.Licenses = append(a.Licenses, ls)
	}
	if a.Dept, err = l.Department(ctx, f.dept.Department.USCC); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		p, err := l.InclusionProof(ctx, r.LogIndex, a.CP.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.VerifyInclusion(r.Entry, r.LogIndex, a.CP.Size, p, a.CP.Root); err != nil {
			t.Fatalf("receipt of entry %d: %v", r.LogIndex, err)
		}
		a.Proofs = append(a.Proofs, p)
	}
	if a.Cons, err = l.ConsistencyProof(ctx, 3, a.CP.Size); err != nil {
		t.Fatal(err)
	}
	return a
}

// history anchors licenses in several commits and changes a status, so the
// index holds departments, licenses with history and tree nodes.
func history(t *testing.T, f *fixture, n int) ([]ledger.Receipt, []string) {
	t.Helper()
	rs := f.anchor(t, n)
	var ids []string
	for _, r := range rs {
		e, err := ledger.ParseEvent(r.Entry)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.Anchor.Identifier)
	}
	if _, err := f.l.SetStatus(context.Background(), ledger.StatusChange{Identifier: ids[1], Issuer: f.dept.Department.USCC, Status: license.StatusSuspended, Reason: "under_investigation"}); err != nil {
		t.Fatal(err)
	}
	return rs, ids
}

func TestReopenChecksOnlyTheTail(t *testing.T) {
	f := newFixture(t)
	rs, ids := history(t, f, 8)
	f.l.Close()

	// Keep the index and the checkpoint as they are now, append more, and
	// put them back: the log is ahead of the index, as after a crash
	// between the log's fsync and the index write.
	save := t.TempDir()
	for _, name := range []string{indexFile, checkpointFile} {
		copyFile(t, filepath.Join(f.cfg.Dir, name), filepath.Join(save, name))
	}
	f.l = open(t, f.cfg)
	if got := f.l.Opened(); got.Verified != 0 || got.Rebuilt != "" || got.Size != 10 {
		t.Fatalf("reopen with an up-to-date index: %+v, want nothing checked, size 10", got)
	}
	more, moreIDs := history(t, f, 5) // 5 anchors and a status change
	rs, ids = append(rs, more...), append(ids, moreIDs...)
	want := ask(t, f.l, f, rs, ids)
	f.l.Close()
	for _, name := range []string{indexFile, checkpointFile} {
		copyFile(t, filepath.Join(save, name), filepath.Join(f.cfg.Dir, name))
	}

	var logged bytes.Buffer
	cfg := f.cfg
	cfg.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	l := open(t, cfg)
	if got := l.Opened(); got.Verified != 6 || got.Rebuilt != "" || got.Size != 16 {
		t.Fatalf("reopen with the index 6 entries behind: %+v, want 6 checked, size 16", got)
	}
	if !strings.Contains(logged.String(), "checked_entries=6") {
		t.Fatalf("log output %q does not say the index was brought up to date", logged.String())
	}
	if got := ask(t, l, f, rs, ids); !jsonEqual(t, got, want) {
		t.Fatalf("answers after catching up differ:\n%+v\nwant\n%+v", got, want)
	}
	mustAnchor(t, l, f.dept.Anchor())
	l.Close()
	l = open(t, f.cfg)
	if got := l.Opened(); got.Verified != 0 {
		t.Fatalf("reopen after catching up: %+v, want nothing checked", got)
	}
}

func TestIndexRebuilt(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"deleted", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}},
		{"deleted with the kept checkpoint (a log from before the index)", func(t *testing.T, path string) {
			for _, name := range []string{indexFile, checkpointFile} {
				if err := os.Remove(filepath.Join(filepath.Dir(path), name)); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"garbage", func(t *testing.T, path string) {
			if err := os.WriteFile(path, bytes.Repeat([]byte("不是索引"), 4096), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"of another log", func(t *testing.T, path string) {
			g := newFixture(t)
			g.anchor(t, 2)
			g.l.Close()
			copyFile(t, filepath.Join(g.cfg.Dir, indexFile), path)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			rs, ids := history(t, f, 6)
			want := ask(t, f.l, f, rs, ids)
			f.l.Close()
			tt.damage(t, filepath.Join(f.cfg.Dir, indexFile))

			var logged bytes.Buffer
			cfg := f.cfg
			cfg.Logger = slog.New(slog.NewTextHandler(&logged, nil))
			l := open(t, cfg)
			got := l.Opened()
			if got.Rebuilt == "" || got.Verified != 8 {
				t.Fatalf("open with the index %s: %+v, want rebuilt from all 8 entries", tt.name, got)
			}
			if !strings.Contains(logged.String(), "rebuilt") {
				t.Fatalf("log output %q does not say the index was rebuilt", logged.String())
			}
			if a := ask(t, l, f, rs, ids); !jsonEqual(t, a, want) {
				t.Fatalf("answers after rebuilding differ:\n%+v\nwant\n%+v", a, want)
			}
			if w, err := readWitness(f.cfg.Dir, DefaultOrigin, f.cfg.Signer.Public()); err != nil || w == nil || w.Note != want.CP.Note {
				t.Fatalf("kept checkpoint after rebuilding: %v, %v; want the log's latest", w, err)
			}
			if _, err := l.Anchor(context.Background(), []ledger.Anchor{want.Licenses[0].Anchor}); !errors.Is(err, ledger.ErrDuplicate) {
				t.Fatalf("anchor again after rebuilding: %v, want ErrDuplicate", err)
			}
		})
	}
}

// TestTailDamageAfterMark damages an entry the index does not cover yet:
// the open that catches up finds it.
func TestTailDamageAfterMark(t *testing.T) {
	f := newFixture(t)
	f.anchor(t, 3)
	f.l.Close()
	save := t.TempDir()
	copyFile(t, filepath.Join(f.cfg.Dir, indexFile), filepath.Join(save, indexFile))
	f.l = open(t, f.cfg)
	f.anchor(t, 3)
	f.l.Close()
	copyFile(t, filepath.Join(save, indexFile), filepath.Join(f.cfg.Dir, indexFile))
	path := filepath.Join(f.cfg.Dir, logFile)
	b, _ := os.ReadFile(path)
	r := entryRecord(t, path, 5)
	b[r.offset+headerSize+r.length/3] ^= 0x01
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var ce *CorruptError
	if err := openErr(f.cfg); !errors.As(err, &ce) || ce.Index != 5 {
		t.Fatalf("New with a damaged entry after the index's mark: %v, want a CorruptError at entry 5", err)
	}
}

func TestKeptCheckpointDamaged(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
		want   error // nil: the older slot is used and the ledger opens
	}{
		{"forged size under the old signature", func(t *testing.T, path string) {
			b, _ := os.ReadFile(path)
			var latest witness
			var best uint64
			for off := 0; off < len(b); off += slotSize {
				if w, s, ok := parseSlot(b[off:min(len(b), off+slotSize)]); ok && s >= best {
					latest, best = w, s
				}
			}
			forged := strings.Replace(latest.Note, "\n3\n", "\n9\n", 1)
			if forged == latest.Note {
				t.Fatalf("no size 3 in the kept checkpoint %q", latest.Note)
			}
			latest.Note = forged
			wf, err := openWitnessFile(filepath.Dir(path), best)
			if err != nil {
				t.Fatal(err)
			}
			defer wf.close()
			if err := wf.write(&latest); err != nil {
				t.Fatal(err)
			}
		}, ledger.ErrCorrupt},
		{"both slots garbage", func(t *testing.T, path string) {
			if err := os.WriteFile(path, bytes.Repeat([]byte{0x5a}, 2*slotSize), 0o600); err != nil {
				t.Fatal(err)
			}
		}, ledger.ErrCorrupt},
		{"latest slot torn", func(t *testing.T, path string) {
			b, _ := os.ReadFile(path)
			latest, best := -1, uint64(0)
			for off := 0; off < len(b); off += slotSize {
				if _, s, ok := parseSlot(b[off:min(len(b), off+slotSize)]); ok && s >= best {
					latest, best = off, s
				}
			}
			clear(b[latest+slotHeader+10 : latest+slotHeader+40])
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.anchor(t, 2)
			f.l.Close()
			tt.damage(t, filepath.Join(f.cfg.Dir, checkpointFile))
			err := openErr(f.cfg)
			_, verr := Verify(ctx, f.cfg.Dir, "", f.cfg.Signer.Public(), nil)
			if tt.want == nil {
				if err != nil || verr != nil {
					t.Fatalf("New: %v, Verify: %v; want both to use the older slot", err, verr)
				}
				return
			}
			if !errors.Is(err, tt.want) || !errors.Is(verr, tt.want) {
				t.Fatalf("New: %v, Verify: %v; want %v", err, verr, tt.want)
			}
		})
	}
}

func TestVerifyProgress(t *testing.T) {
	f := newFixture(t)
	f.anchor(t, 4)
	f.l.Close()
	var got []Progress
	rep, err := Verify(context.Background(), f.cfg.Dir, "", f.cfg.Signer.Public(), func(p Progress) { got = append(got, p) })
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kept != 5 {
		t.Fatalf("Verify checked against kept checkpoint size %d, want 5", rep.Kept)
	}
	last := got[len(got)-1]
	if last.Entries != 5 || last.Bytes != last.Total || last.Total != logSize(t, filepath.Join(f.cfg.Dir, logFile)) {
		t.Fatalf("last progress %+v, want 5 entries and the whole log", last)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Bytes < got[i-1].Bytes || got[i].Entries < got[i-1].Entries {
			t.Fatalf("progress goes backwards: %+v", got)
		}
	}
}

// TestReceiptOnDemand checks receipts computed from the log later verify
// against the checkpoint of the time, for licenses both in the index and
// still waiting to be written to it.
func TestReceiptOnDemand(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	rs, ids := history(t, f, 3)
	f.l.Close()
	f.l = open(t, f.cfg) // the first three are in the index now
	more, moreIDs := history(t, f, 2)
	rs, ids = append(rs, more...), append(ids, moreIDs...)
	cp, err := f.l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		r, err := f.l.Receipt(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(r.Entry, rs[i].Entry) || r.LogIndex != rs[i].LogIndex {
			t.Fatalf("receipt of %s: entry %d, want the anchoring entry %d", id, r.LogIndex, rs[i].LogIndex)
		}
		if r.TreeSize != cp.Size || r.Checkpoint != cp.Note {
			t.Fatalf("receipt of %s is for size %d, want the latest checkpoint %d", id, r.TreeSize, cp.Size)
		}
		if err := tlog.VerifyInclusion(r.Entry, r.LogIndex, r.TreeSize, r.InclusionProof, cp.Root); err != nil {
			t.Fatalf("receipt of %s: %v", id, err)
		}
	}
	if _, err := f.l.Receipt(ctx, f.dept.Anchor().Identifier); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("receipt of a license never anchored: %v, want ErrNotFound", err)
	}
}

// TestReadsDuringWrites reads acknowledged licenses while other callers
// anchor: each one is found (from the changes not yet in the index or from
// the index) with a receipt that verifies.
func TestReadsDuringWrites(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	acked := make(chan string, 1000)
	var writers sync.WaitGroup
	for range 8 {
		anchors := make([]ledger.Anchor, 20)
		for i := range anchors {
			anchors[i] = f.dept.Anchor()
		}
		writers.Go(func() {
			for _, a := range anchors {
				if _, err := f.l.Anchor(ctx, []ledger.Anchor{a}); err != nil {
					t.Error(err)
					return
				}
				acked <- a.Identifier
			}
		})
	}
	go func() { writers.Wait(); close(acked) }()
	var readers sync.WaitGroup
	for id := range acked {
		readers.Go(func() {
			ls, err := f.l.License(ctx, id)
			if err != nil || ls.Anchor.Identifier != id {
				t.Errorf("License(%s) right after its anchor was acknowledged: %v", id, err)
				return
			}
			r, err := f.l.Receipt(ctx, id)
			if err != nil {
				t.Errorf("Receipt(%s): %v", id, err)
				return
			}
			cp, err := tlog.ParseCheckpoint(r.Checkpoint)
			if err != nil {
				t.Error(err)
				return
			}
			if err := tlog.VerifyInclusion(r.Entry, r.LogIndex, r.TreeSize, r.InclusionProof, cp.Root); err != nil {
				t.Errorf("Receipt(%s): %v", id, err)
			}
		})
	}
	readers.Wait()
}

// TestFailureAfterLogFsync makes keeping the checkpoint fail after the log
// is durable: the caller still gets its receipt (the event is in the log),
// later calls fail until a reopen, which finds the event.
func TestFailureAfterLogFsync(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.l.wit.f.Close() // the next write of the kept checkpoint fails
	a := f.dept.Anchor()
	r := mustAnchor(t, f.l, a)
	if _, err := f.l.Anchor(ctx, []ledger.Anchor{f.dept.Anchor()}); !errors.Is(err, ledger.ErrUnavailable) {
		t.Fatalf("anchor after the failure: %v, want ErrUnavailable until reopened", err)
	}
	f.l.Close()
	l := open(t, f.cfg)
	got, err := l.License(ctx, a.Identifier)
	if err != nil || got.LogIndex != r.LogIndex {
		t.Fatalf("license acknowledged before the failure, after reopen: %+v, %v", got, err)
	}
	// At least the anchor did not reach the index (written every 4096
	// entries, every second or on a clean Close); the registration before
	// it neither, unless a second passed in between.
	if rep := l.Opened(); rep.Verified < 1 || rep.Verified > 2 {
		t.Fatalf("reopen checked %d entries, want the 1 or 2 the index missed", rep.Verified)
	}
}
