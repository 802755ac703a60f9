package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"zhengzhao/ledger/embedded"
	"zhengzhao/registry"
)

func runLedger(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(stderr, "Usage: zhengzhao ledger verify --data DIR")
			return nil
		}
		return usagef("usage: zhengzhao ledger verify --data DIR")
	}
	fs := newFlags("ledger verify", "ledger verify --data DIR", stderr)
	dir := fs.String("data", "", "data directory (required)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *dir == "" {
		return usagef("--data is required")
	}
	logKey, err := registry.LogPublicKey(*dir)
	if err != nil {
		return usageError{err}
	}
	rep, err := embedded.Verify(ctx, filepath.Join(*dir, registry.LedgerDir), logOrigin, logKey)
	if err != nil {
		return invalidError{msg: fmt.Sprintf("ledger does NOT verify: %v", err)}
	}
	fmt.Fprintf(stdout, "ledger verifies: %d entries, the latest checkpoint is signed by the log key\n", rep.Checkpoint.Size)
	if rep.UnacknowledgedBytes > 0 {
		fmt.Fprintf(stdout, "%d bytes after the last checkpoint were never acknowledged (%s); they are cut off on the next start\n", rep.UnacknowledgedBytes, rep.Tail)
	}
	return nil
}
