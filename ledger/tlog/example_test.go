package tlog_test

import (
	"fmt"

	"zhengzhao/ledger/tlog"
	"zhengzhao/signing"
)

// Example builds a small log, signs its checkpoint and verifies an entry's
// inclusion the way an offline verifier does.
func Example() {
	key, err := signing.GenerateKey()
	if err != nil {
		panic(err)
	}
	signer := signing.NewKeySigner(key)

	tree := tlog.NewTree()
	for _, e := range []string{"event 0", "event 1", "event 2"} {
		tree.Append([]byte(e))
	}
	note, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "zhengzhao.local/ledger", Size: tree.Size(), Root: tree.Root()}, "zhengzhao.local/ledger", signer)
	if err != nil {
		panic(err)
	}
	proof, err := tree.InclusionProof(1, tree.Size())
	if err != nil {
		panic(err)
	}

	// The verifier has the note, the entry, its index, the proof and the key.
	cp, err := tlog.VerifyCheckpoint(note, "zhengzhao.local/ledger", signer.Public())
	if err != nil {
		panic(err)
	}
	fmt.Println("checkpoint size:", cp.Size)
	fmt.Println("inclusion:", tlog.VerifyInclusion([]byte("event 1"), 1, cp.Size, proof, cp.Root))
	// Output:
	// checkpoint size: 3
	// inclusion: <nil>
}
