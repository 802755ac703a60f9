package tlog

import "github.com/transparency-dev/merkle/proof"

func rootFromLeafHash(index, size uint64, leafHash []byte, p [][]byte) ([]byte, error) {
	return proof.RootFromInclusionProof(hasher, index, size, leafHash, p)
}
