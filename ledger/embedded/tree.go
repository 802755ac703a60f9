package embedded

import (
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"zhengzhao/ledger"
	"zhengzhao/ledger/index"
	"zhengzhao/ledger/tlog"
)

var (
	hasher       = rfc6962.DefaultHasher
	rangeFactory = &compact.RangeFactory{Hash: hasher.HashChildren}
)

// tree is the log's Merkle tree with only its right edge (a compact range,
// O(log n) hashes) in memory. The hash of every complete subtree goes to the
// index; those not written yet wait in pending. It is not safe for
// concurrent use; the ledger's mutex guards it.
type tree struct {
	idx     *index.Index
	rng     *compact.Range
	pending map[compact.NodeID][]byte
	order   []compact.NodeID
}

// loadTree returns the tree of the first size leaves whose nodes are in idx.
func loadTree(idx *index.Index, size uint64) (*tree, error) {
	t := &tree{idx: idx, pending: map[compact.NodeID][]byte{}}
	hashes, err := idx.Nodes(compact.RangeNodes(0, size, nil))
	if err != nil {
		return nil, err
	}
	t.rng, err = rangeFactory.NewRange(0, size, hashes)
	if err != nil {
		return nil, fmt.Errorf("%w: tree of size %d: %w", index.ErrIndex, size, err)
	}
	return t, nil
}

func (t *tree) size() uint64 { return t.rng.End() }

// append adds a leaf by its leaf hash.
func (t *tree) append(leafHash []byte) error {
	if len(leafHash) != tlog.HashSize {
		return fmt.Errorf("leaf hash is %d bytes, want %d", len(leafHash), tlog.HashSize)
	}
	return t.rng.Append(leafHash, func(id compact.NodeID, h []byte) {
		t.pending[id] = h
		t.order = append(t.order, id)
	})
}

// root returns the root of the whole tree.
func (t *tree) root() []byte {
	if t.size() == 0 {
		return hasher.EmptyRoot()
	}
	r, _ := t.rng.GetRootHash(nil) // cannot fail: the range starts at 0
	return r
}

// take hands the nodes not yet in the index to a batch.
func (t *tree) take() []index.Node {
	out := make([]index.Node, len(t.order))
	for i, id := range t.order {
		out[i] = index.Node{ID: id, Hash: t.pending[id]}
	}
	clear(t.pending)
	t.order = t.order[:0]
	return out
}

// drop forgets the nodes not yet in the index (after a failed write the
// ledger is reopened anyway).
func (t *tree) drop() {
	clear(t.pending)
	t.order = t.order[:0]
}

func (t *tree) nodes(ids []compact.NodeID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	var missing []compact.NodeID
	var at []int
	for i, id := range ids {
		if h, ok := t.pending[id]; ok {
			out[i] = h
			continue
		}
		missing = append(missing, id)
		at = append(at, i)
	}
	if len(missing) > 0 {
		hs, err := t.idx.Nodes(missing)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ledger.ErrUnavailable, err)
		}
		for j, h := range hs {
			out[at[j]] = h
		}
	}
	return out, nil
}

// rootAt returns the root of the tree's first size leaves.
func (t *tree) rootAt(size uint64) ([]byte, error) {
	if size > t.size() {
		return nil, fmt.Errorf("%w: size %d > tree size %d", tlog.ErrRange, size, t.size())
	}
	if size == 0 {
		return hasher.EmptyRoot(), nil
	}
	hashes, err := t.nodes(compact.RangeNodes(0, size, nil))
	if err != nil {
		return nil, err
	}
	root := hashes[len(hashes)-1]
	for i := len(hashes) - 2; i >= 0; i-- {
		root = hasher.HashChildren(hashes[i], root)
	}
	return root, nil
}

// inclusionProof returns the audit path of leaf index in the tree of size.
func (t *tree) inclusionProof(index, size uint64) ([][]byte, error) {
	if size > t.size() || index >= size {
		return nil, fmt.Errorf("%w: inclusion of leaf %d in size %d (tree size %d)", tlog.ErrRange, index, size, t.size())
	}
	n, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", tlog.ErrRange, err)
	}
	hs, err := t.nodes(n.IDs)
	if err != nil {
		return nil, err
	}
	return n.Rehash(hs, hasher.HashChildren)
}

// consistencyProof proves the tree of oldSize is a prefix of newSize.
func (t *tree) consistencyProof(oldSize, newSize uint64) ([][]byte, error) {
	if newSize > t.size() || oldSize > newSize {
		return nil, fmt.Errorf("%w: consistency of size %d with %d (tree size %d)", tlog.ErrRange, oldSize, newSize, t.size())
	}
	n, err := proof.Consistency(oldSize, newSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", tlog.ErrRange, err)
	}
	hs, err := t.nodes(n.IDs)
	if err != nil {
		return nil, err
	}
	return n.Rehash(hs, hasher.HashChildren)
}

// inclusionProofs returns the audit paths of the count leaves from first in
// the tree of size: the same as inclusionProof for each, but the paths of
// neighbouring leaves share most of their nodes (and the ephemeral node of
// the tree's right edge), so each node is looked up, and each ephemeral node
// hashed, once. The paths share the hashes they have in common.
func (t *tree) inclusionProofs(first, count, size uint64) ([][][]byte, error) {
	if size > t.size() || first+count > size || first+count < first {
		return nil, fmt.Errorf("%w: inclusion of leaves %d+%d in size %d (tree size %d)", tlog.ErrRange, first, count, size, t.size())
	}
	plans := make([]proof.Nodes, count)
	hashes := make(map[compact.NodeID][]byte)
	var missing []compact.NodeID
	for i := range plans {
		n, err := proof.Inclusion(first+uint64(i), size)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", tlog.ErrRange, err)
		}
		plans[i] = n
		for _, id := range n.IDs {
			if _, ok := hashes[id]; ok {
				continue
			}
			if h, ok := t.pending[id]; ok {
				hashes[id] = h
				continue
			}
			hashes[id] = nil
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		hs, err := t.idx.Nodes(missing)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ledger.ErrUnavailable, err)
		}
		for j, h := range hs {
			hashes[missing[j]] = h
		}
	}
	// As proof.Nodes.Rehash: the nodes IDs[begin:end] fold, lowest first,
	// into the ephemeral node, whose hash depends only on it (and size).
	ephems := make(map[compact.NodeID][]byte)
	out := make([][][]byte, count)
	for i, n := range plans {
		ephem, begin, end := n.Ephem()
		p := make([][]byte, 0, len(n.IDs))
		for j := 0; j < len(n.IDs); j++ {
			if j != begin || begin >= end {
				p = append(p, hashes[n.IDs[j]])
				continue
			}
			h, ok := ephems[ephem]
			if !ok {
				h = hashes[n.IDs[begin]]
				for k := begin + 1; k < end; k++ {
					h = hasher.HashChildren(hashes[n.IDs[k]], h)
				}
				ephems[ephem] = h
			}
			p = append(p, h)
			j = end - 1
		}
		out[i] = p
	}
	return out, nil
}
