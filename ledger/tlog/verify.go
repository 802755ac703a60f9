package tlog

import (
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/proof"
)

// ErrProof means an inclusion or consistency proof does not verify.
var ErrProof = errors.New("tlog: proof does not verify")

// VerifyInclusion checks that leafData is the leaf at index of the tree of
// the given size whose root hash is root.
func VerifyInclusion(leafData []byte, index, size uint64, inclusion [][]byte, root []byte) error {
	if err := proof.VerifyInclusion(hasher, index, size, LeafHash(leafData), inclusion, root); err != nil {
		return fmt.Errorf("%w: inclusion of leaf %d in tree size %d: %w", ErrProof, index, size, err)
	}
	return nil
}

// VerifyConsistency checks that the tree of oldSize leaves with root oldRoot
// is a prefix of the tree of newSize leaves with root newRoot.
func VerifyConsistency(oldSize, newSize uint64, consistency [][]byte, oldRoot, newRoot []byte) error {
	if err := proof.VerifyConsistency(hasher, oldSize, newSize, consistency, oldRoot, newRoot); err != nil {
		return fmt.Errorf("%w: consistency of tree size %d with %d: %w", ErrProof, oldSize, newSize, err)
	}
	return nil
}
