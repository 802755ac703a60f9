package tlog

import (
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// HashSize is the length of every hash in the tree (SHA-256).
const HashSize = 32

// ErrRange means an index or tree size outside the tree.
var ErrRange = errors.New("tlog: index or size out of range")

var hasher = rfc6962.DefaultHasher

// LeafHash returns the RFC 6962 hash of a leaf: SHA-256(0x00 ‖ data).
func LeafHash(data []byte) []byte { return hasher.HashLeaf(data) }

// EmptyRoot returns the root of the empty tree: SHA-256 of nothing.
func EmptyRoot() []byte { return hasher.EmptyRoot() }

// Tree is an append-only RFC 6962 Merkle tree held in memory. It keeps the
// hash of every complete subtree, level by level (about two hashes, 64 bytes,
// per leaf), so appending is amortised O(1) and a root, an inclusion proof or
// a consistency proof for any size up to Size costs O(log n).
//
// A Tree is not safe for concurrent use.
type Tree struct {
	// levels[l][i] is the hash of the complete subtree of 2^l leaves that
	// starts at leaf i·2^l.
	levels [][][HashSize]byte
	size   uint64
}

// NewTree returns an empty tree.
func NewTree() *Tree { return &Tree{} }

// Size returns the number of leaves.
func (t *Tree) Size() uint64 { return t.size }

// Append adds a leaf with the given data and returns its index.
func (t *Tree) Append(leafData []byte) uint64 {
	var h [HashSize]byte
	copy(h[:], LeafHash(leafData))
	return t.appendHash(h)
}

// AppendLeafHash adds a leaf given its leaf hash (LeafHash of its data) and
// returns its index.
func (t *Tree) AppendLeafHash(leafHash []byte) (uint64, error) {
	if len(leafHash) != HashSize {
		return 0, fmt.Errorf("tlog: leaf hash is %d bytes, want %d", len(leafHash), HashSize)
	}
	var h [HashSize]byte
	copy(h[:], leafHash)
	return t.appendHash(h), nil
}

func (t *Tree) appendHash(h [HashSize]byte) uint64 {
	index := t.size
	level := 0
	for ; (t.size>>level)&1 == 1; level++ {
		row := t.levels[level]
		t.levels[level] = append(row, h)
		var p [HashSize]byte
		copy(p[:], hasher.HashChildren(row[len(row)-1][:], h[:]))
		h = p
	}
	if level == len(t.levels) {
		t.levels = append(t.levels, nil)
	}
	t.levels[level] = append(t.levels[level], h)
	t.size++
	return index
}

// Root returns the root hash of the whole tree.
func (t *Tree) Root() []byte {
	r, _ := t.RootAt(t.size) // t.size is always in range
	return r
}

// RootAt returns the root hash of the tree's first size leaves.
func (t *Tree) RootAt(size uint64) ([]byte, error) {
	if size > t.size {
		return nil, fmt.Errorf("%w: size %d > tree size %d", ErrRange, size, t.size)
	}
	if size == 0 {
		return EmptyRoot(), nil
	}
	hashes := t.nodes(compact.RangeNodes(0, size, nil))
	root := hashes[len(hashes)-1]
	for i := len(hashes) - 2; i >= 0; i-- {
		root = hasher.HashChildren(hashes[i], root)
	}
	return root, nil
}

// InclusionProof returns the RFC 6962 audit path of leaf index in the tree
// of the given size (index < size ≤ Size).
func (t *Tree) InclusionProof(index, size uint64) ([][]byte, error) {
	if size > t.size || index >= size {
		return nil, fmt.Errorf("%w: inclusion of leaf %d in size %d (tree size %d)", ErrRange, index, size, t.size)
	}
	n, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRange, err)
	}
	return n.Rehash(t.nodes(n.IDs), hasher.HashChildren)
}

// ConsistencyProof returns the RFC 6962 proof that the tree of size oldSize is
// a prefix of the tree of size newSize (oldSize ≤ newSize ≤ Size).
func (t *Tree) ConsistencyProof(oldSize, newSize uint64) ([][]byte, error) {
	if newSize > t.size || oldSize > newSize {
		return nil, fmt.Errorf("%w: consistency of size %d with %d (tree size %d)", ErrRange, oldSize, newSize, t.size)
	}
	n, err := proof.Consistency(oldSize, newSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRange, err)
	}
	return n.Rehash(t.nodes(n.IDs), hasher.HashChildren)
}

// nodes returns fresh copies of the hashes of the given complete subtrees.
func (t *Tree) nodes(ids []compact.NodeID) [][]byte {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		h := t.levels[id.Level][id.Index]
		out[i] = append([]byte(nil), h[:]...)
	}
	return out
}
