package tlog

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
)

// rfc6962Vectors is testdata/rfc6962.json: the leaf inputs and the root hash
// of every prefix, from transparency-dev/merkle's testonly constants (the
// RFC 6962 test vectors of the Certificate Transparency reference code).
type rfc6962Vectors struct {
	Leaves []string `json:"leaves"`
	Roots  []string `json:"roots"`
}

func loadVectors(t *testing.T) ([][]byte, [][]byte) {
	t.Helper()
	b, err := os.ReadFile("testdata/rfc6962.json")
	if err != nil {
		t.Fatal(err)
	}
	var v rfc6962Vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	dec := func(ss []string) [][]byte {
		out := make([][]byte, len(ss))
		for i, s := range ss {
			if out[i], err = hex.DecodeString(s); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	return dec(v.Leaves), dec(v.Roots)
}

func TestRFC6962Roots(t *testing.T) {
	leaves, roots := loadVectors(t)
	tr := NewTree()
	if got := tr.Root(); !bytes.Equal(got, roots[0]) {
		t.Fatalf("empty root %x, want %x", got, roots[0])
	}
	for i, l := range leaves {
		if idx := tr.Append(l); idx != uint64(i) {
			t.Fatalf("Append gave index %d, want %d", idx, i)
		}
		if got := tr.Root(); !bytes.Equal(got, roots[i+1]) {
			t.Fatalf("root of size %d = %x, want %x", i+1, got, roots[i+1])
		}
	}
	for size := range uint64(len(leaves) + 1) {
		got, err := tr.RootAt(size)
		if err != nil || !bytes.Equal(got, roots[size]) {
			t.Fatalf("RootAt(%d) = %x, %v; want %x", size, got, err, roots[size])
		}
	}
	if _, err := tr.RootAt(uint64(len(leaves)) + 1); !errors.Is(err, ErrRange) {
		t.Fatalf("RootAt past the end: %v, want ErrRange", err)
	}
}

// TestProofsAgainstReference compares proofs with transparency-dev/merkle's
// reference tree for every index and size pair up to 70 leaves, and checks
// they verify.
func TestProofsAgainstReference(t *testing.T) {
	const n = 70
	ref := testonly.New(rfc6962.DefaultHasher)
	tr := NewTree()
	var data [][]byte
	for i := range n {
		d := []byte(fmt.Sprintf("leaf %d", i))
		data = append(data, d)
		ref.AppendData(d)
		tr.Append(d)
	}
	for size := uint64(1); size <= n; size++ {
		root, _ := tr.RootAt(size)
		if !bytes.Equal(root, ref.HashAt(size)) {
			t.Fatalf("root at %d differs from the reference", size)
		}
		for i := range size {
			got, err := tr.InclusionProof(i, size)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := ref.InclusionProof(i, size)
			if !equalProofs(got, want) {
				t.Fatalf("inclusion proof (%d, %d) differs from the reference", i, size)
			}
			if err := VerifyInclusion(data[i], i, size, got, root); err != nil {
				t.Fatalf("VerifyInclusion(%d, %d): %v", i, size, err)
			}
			if err := VerifyInclusion(append(data[i], 'x'), i, size, got, root); !errors.Is(err, ErrProof) {
				t.Fatalf("VerifyInclusion of other data: %v, want ErrProof", err)
			}
		}
		for old := uint64(0); old <= size; old++ {
			got, err := tr.ConsistencyProof(old, size)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := ref.ConsistencyProof(old, size)
			if !equalProofs(got, want) {
				t.Fatalf("consistency proof (%d, %d) differs from the reference", old, size)
			}
			oldRoot, _ := tr.RootAt(old)
			if err := VerifyConsistency(old, size, got, oldRoot, root); err != nil {
				t.Fatalf("VerifyConsistency(%d, %d): %v", old, size, err)
			}
			if old > 0 && old < size {
				if err := VerifyConsistency(old, size, got, root, root); !errors.Is(err, ErrProof) {
					t.Fatalf("VerifyConsistency with a wrong old root: %v, want ErrProof", err)
				}
			}
		}
	}
}

func equalProofs(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func TestProofRange(t *testing.T) {
	tr := NewTree()
	for i := range 5 {
		tr.Append([]byte{byte(i)})
	}
	tests := []struct {
		name string
		err  error
	}{
		{"inclusion index = size", func() error { _, err := tr.InclusionProof(3, 3); return err }()},
		{"inclusion size past tree", func() error { _, err := tr.InclusionProof(0, 6); return err }()},
		{"consistency old > new", func() error { _, err := tr.ConsistencyProof(4, 3); return err }()},
		{"consistency new past tree", func() error { _, err := tr.ConsistencyProof(1, 6); return err }()},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, ErrRange) {
			t.Errorf("%s: %v, want ErrRange", tt.name, tt.err)
		}
	}
	if _, err := tr.AppendLeafHash([]byte{1, 2}); err == nil {
		t.Error("AppendLeafHash of a short hash succeeded")
	}
}

// TestLargeTree checks a million leaves build quickly and prove in
// logarithmic size.
func TestLargeTree(t *testing.T) {
	if testing.Short() {
		t.Skip("large tree")
	}
	const n = 1 << 20
	tr := NewTree()
	var h [HashSize]byte
	for i := range n {
		h[0], h[1], h[2] = byte(i), byte(i>>8), byte(i>>16)
		if _, err := tr.AppendLeafHash(h[:]); err != nil {
			t.Fatal(err)
		}
	}
	root := tr.Root()
	p, err := tr.InclusionProof(123456, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 20 {
		t.Fatalf("proof of %d hashes in a tree of 2^20", len(p))
	}
	const leaf = 123456
	h[0], h[1], h[2] = byte(leaf&0xff), byte(leaf>>8&0xff), byte(leaf>>16)
	got, _ := rootFromLeafHash(leaf, n, h[:], p)
	if !bytes.Equal(got, root) {
		t.Fatal("inclusion proof in the large tree does not verify")
	}
}

func BenchmarkAppend(b *testing.B) {
	tr := NewTree()
	d := []byte("an event of about this size or a bit more")
	for b.Loop() {
		tr.Append(d)
	}
}

func BenchmarkInclusionProof(b *testing.B) {
	tr := NewTree()
	for i := range 1 << 20 {
		tr.Append([]byte{byte(i), byte(i >> 8), byte(i >> 16)})
	}
	i := uint64(0)
	for b.Loop() {
		if _, err := tr.InclusionProof(i%tr.Size(), tr.Size()); err != nil {
			b.Fatal(err)
		}
		i += 7919
	}
}
