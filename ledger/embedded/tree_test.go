package embedded

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"path/filepath"
	"testing"

	"github.com/transparency-dev/merkle/proof"

	"zhengzhao/ledger/index"
	"zhengzhao/ledger/tlog"
)

// TestInclusionProofsMatchOneByOne: the proofs of a run of leaves made in
// one go are those made leaf by leaf, and they verify, whether the nodes
// they need are pending or already in the index, in trees of every shape.
func TestInclusionProofsMatchOneByOne(t *testing.T) {
	idx, err := index.Open(filepath.Join(t.TempDir(), "index"), index.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	tr, err := loadTree(idx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var leaves [][]byte
	// Grow the tree in uneven commits, writing the nodes to the index now
	// and then, and check the proofs of each commit's leaves.
	commits := []int{1, 1, 2, 3, 5, 8, 13, 1, 64, 100, 7, 256, 3, 500, 1, 29}
	for c, n := range commits {
		first := tr.size()
		for range n {
			h := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(len(leaves))))
			leaf := hasher.HashLeaf(h[:])
			leaves = append(leaves, leaf)
			if err := tr.append(leaf); err != nil {
				t.Fatal(err)
			}
		}
		size := tr.size()
		root := tr.root()
		// Every run within the commit, and runs reaching into earlier ones.
		for _, run := range [][2]uint64{{first, size - first}, {0, size}, {first / 2, size - first/2}, {size - 1, 1}, {first, 0}} {
			got, err := tr.inclusionProofs(run[0], run[1], size)
			if err != nil {
				t.Fatalf("commit %d: inclusionProofs(%d, %d, %d): %v", c, run[0], run[1], size, err)
			}
			if uint64(len(got)) != run[1] {
				t.Fatalf("commit %d: %d proofs for %d leaves", c, len(got), run[1])
			}
			for i, p := range got {
				leaf := run[0] + uint64(i)
				want, err := tr.inclusionProof(leaf, size)
				if err != nil {
					t.Fatal(err)
				}
				if len(p) != len(want) {
					t.Fatalf("leaf %d of %d: %d hashes, want %d", leaf, size, len(p), len(want))
				}
				for j := range want {
					if !bytes.Equal(p[j], want[j]) {
						t.Fatalf("leaf %d of %d: hash %d differs", leaf, size, j)
					}
				}
				if err := proof.VerifyInclusion(hasher, leaf, size, leaves[leaf], p, root); err != nil {
					t.Fatalf("leaf %d of %d: %v", leaf, size, err)
				}
			}
		}
		if c%3 == 2 {
			if err := idx.Write(&index.Batch{Nodes: tr.take(), Mark: index.Mark{Size: size, Root: root}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	size := tr.size()
	for _, bad := range [][3]uint64{{0, size + 1, size}, {size, 1, size}, {0, 1, size + 1}, {^uint64(0), 2, size}} {
		if _, err := tr.inclusionProofs(bad[0], bad[1], bad[2]); !errors.Is(err, tlog.ErrRange) {
			t.Errorf("inclusionProofs(%d, %d, %d) = %v, want tlog.ErrRange", bad[0], bad[1], bad[2], err)
		}
	}
}
