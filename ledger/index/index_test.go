package index

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/compact"
	bolt "go.etcd.io/bbolt"
)

func openTemp(t *testing.T) (*Index, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "index")
	x, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x, path
}

func TestWriteAndRead(t *testing.T) {
	x, path := openTemp(t)
	if _, ok, err := x.Mark(); ok || err != nil {
		t.Fatalf("Mark of a new index: ok=%v err=%v, want none", ok, err)
	}
	at := time.Date(2026, 12, 7, 9, 0, 0, 123000, time.UTC)
	want := Mark{Size: 3, Root: bytes.Repeat([]byte{7}, 32), CheckpointOffset: 100, End: 180, Time: at}
	err := x.Write(&Batch{
		Licenses: map[string][]byte{"a": []byte("1"), "b": []byte("2")},
		Nodes:    []Node{{compact.NewNodeID(0, 0), []byte("h00")}, {compact.NewNodeID(1, 0), []byte("h10")}},
		Events:   []Event{{Index: 5, Offset: 50}, {Index: 0, Offset: 8}},
		Mark:     want,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Write(&Batch{Licenses: map[string][]byte{"a": nil, "b": []byte("3")}, Mark: want}); err != nil {
		t.Fatal(err)
	}
	x.Close()
	x, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()

	got, ok, err := x.Mark()
	if err != nil || !ok || got.Size != want.Size || !bytes.Equal(got.Root, want.Root) || got.CheckpointOffset != 100 || got.End != 180 || !got.Time.Equal(at) {
		t.Fatalf("Mark after reopen = %+v, %v, %v; want %+v", got, ok, err, want)
	}
	if _, ok, _ := x.License("a"); ok {
		t.Fatalf("deleted license a is still there")
	}
	if v, ok, _ := x.License("b"); !ok || string(v) != "3" {
		t.Fatalf("License(b) = %q, %v; want 3", v, ok)
	}
	hs, err := x.Nodes([]compact.NodeID{compact.NewNodeID(1, 0), compact.NewNodeID(0, 0)})
	if err != nil || string(hs[0]) != "h10" || string(hs[1]) != "h00" {
		t.Fatalf("Nodes = %q, %v", hs, err)
	}
	if _, err := x.Nodes([]compact.NodeID{compact.NewNodeID(0, 1)}); !errors.Is(err, ErrIndex) {
		t.Fatalf("missing node: %v, want ErrIndex", err)
	}
	var events []Event
	if err := x.Events(func(e Event) error { events = append(events, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 || events[0] != (Event{0, 8}) || events[1] != (Event{5, 50}) {
		t.Fatalf("Events = %v, want in log order", events)
	}
}

func TestUnusable(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("x"), 8192), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(garbage, Options{}); !errors.Is(err, ErrIndex) {
		t.Fatalf("Open of garbage: %v, want ErrIndex", err)
	}
	other := filepath.Join(dir, "other")
	db, err := bolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		b, _ := tx.CreateBucket(bucketMeta)
		return b.Put(keyVersion, []byte{0, 0, 0, 0, 0, 0, 0, 9})
	})
	db.Close()
	if _, err := Open(other, Options{}); !errors.Is(err, ErrIndex) {
		t.Fatalf("Open of another version: %v, want ErrIndex", err)
	}
}
