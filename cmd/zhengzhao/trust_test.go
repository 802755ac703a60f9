package main

import (
	"context"
	"encoding/pem"
	"strings"
	"testing"

	"zhengzhao/ledger/tlog"
	"zhengzhao/signing"
	"zhengzhao/verifier"
)

// An office holding a bundle is a witness of the log: a later bundle must
// be newer and continue the same log.
func TestCheckSuccessor(t *testing.T) {
	k, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	logKey := signing.NewKeySigner(k)
	der, err := signing.MarshalPublicKey(logKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	const origin = "test/log"
	grow := func(tr *tlog.Tree, n int, tag string) {
		for tr.Size() < uint64(n) {
			tr.Append([]byte(tag + string(rune('a'+tr.Size()))))
		}
	}
	note := func(tr *tlog.Tree) string {
		n, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: origin, Size: tr.Size(), Root: tr.Root()}, origin, logKey)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	main := tlog.NewTree()
	grow(main, 3, "x")
	held := &trustFile{RootFingerprint: "x", Sequence: 7, Checkpoint: note(main), Origin: origin, LogKey: keyPEM}
	grow(main, 5, "x")
	fork := tlog.NewTree()
	grow(fork, 5, "y") // another history of the same length
	same := tlog.NewTree()
	grow(same, 3, "y")
	bundle := func(seq uint64, tr *tlog.Tree) *verifier.TrustBundle {
		return &verifier.TrustBundle{Sequence: seq, Checkpoint: note(tr), Log: verifier.LogInfo{Origin: origin, PublicKey: keyPEM}}
	}
	proofFrom := func(tr *tlog.Tree) func(context.Context, uint64, uint64) ([][]byte, error) {
		return func(_ context.Context, from, to uint64) ([][]byte, error) { return tr.ConsistencyProof(from, to) }
	}
	short := tlog.NewTree()
	grow(short, 2, "x")
	tests := []struct {
		name string
		b    *verifier.TrustBundle
		tr   *tlog.Tree
		want string // "" accepted, else a word of the refusal
	}{
		{"newer, continues the log", bundle(8, main), main, ""},
		{"the same sequence again", bundle(7, main), main, ""},
		{"an older sequence", bundle(6, main), main, "older"},
		{"a forked log", bundle(8, fork), fork, "fork"},
		{"a forked log of the same size", bundle(8, same), same, "fork"},
		{"a rolled-back log", bundle(8, short), short, "rolled back"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkSuccessor(context.Background(), held, tt.b, proofFrom(tt.tr))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want a refusal saying %q", err, tt.want)
			}
		})
	}
}
