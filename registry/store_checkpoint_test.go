package registry

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// walProgress reads, from the WAL index (the -shm file, laid out as
// https://sqlite.org/walformat.html says, in the machine's byte order),
// how many frames the WAL holds (mxFrame) and how many of them a
// checkpoint has copied into the database (nBackfill). Reading the file
// takes no lock and checkpoints nothing, unlike asking SQLite.
func walProgress(t *testing.T, dbPath string) (frames, copied uint32) {
	t.Helper()
	b, err := os.ReadFile(dbPath + "-shm")
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 100 {
		t.Fatalf("WAL index of %d bytes", len(b))
	}
	return binary.NativeEndian.Uint32(b[16:]), binary.NativeEndian.Uint32(b[96:])
}

// The store's writer leaves the WAL to the background checkpointer: a
// commit past SQLite's usual 1000-page mark copies nothing back itself,
// and the checkpointer, running, copies back all of it. Once it has, the
// writer's next commit starts the WAL over and cuts the file back to
// walKeepBytes.
func TestSQLiteCheckpointsInBackground(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	st, err := openSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { st.Close() }()
	// Stop the checkpointer and write ~6,000 pages (16 KiB each), ~96 MiB.
	if err := st.ckpt.Close(); err != nil {
		t.Fatal(err)
	}
	st.ckpt = nil
	ctx := context.Background()
	note := strings.Repeat("检", 8000) // 24 KB: a page and a half each
	const notes = 4000
	for i := range notes {
		if _, err := st.db.ExecContext(ctx, `INSERT INTO checkpoint_notes (digest, note) VALUES (?, ?)`, fmt.Appendf(nil, "d%05d", i), note); err != nil {
			t.Fatal(err)
		}
	}
	frames, copied := walProgress(t, path)
	if frames < 1000 || copied != 0 {
		t.Fatalf("without the checkpointer: %d frames in the WAL, %d copied back; want over 1000 and none (the writer must not checkpoint)", frames, copied)
	}
	if st.ckpt, err = startCheckpointer(path); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for copied != frames {
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s the checkpointer has copied %d of %d frames", copied, frames)
		}
		time.Sleep(50 * time.Millisecond)
		frames, copied = walProgress(t, path)
	}
	if _, err := st.db.ExecContext(ctx, `INSERT INTO checkpoint_notes (digest, note) VALUES ('last', '')`); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > walKeepBytes+1<<20 {
		t.Errorf("after the WAL started over its file is %d bytes, want at most ~%d", fi.Size(), walKeepBytes)
	}
	// Everything written is read back whole from a fresh handle.
	st.Close()
	st, err = openSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	var n, bytes int
	if err := st.db.QueryRowContext(ctx, `SELECT COUNT(*), SUM(LENGTH(CAST(note AS BLOB))) FROM checkpoint_notes`).Scan(&n, &bytes); err != nil {
		t.Fatal(err)
	}
	if n != notes+1 || bytes != notes*len(note) {
		t.Fatalf("read back %d notes of %d bytes, want %d of %d", n, bytes, notes+1, notes*len(note))
	}
}
