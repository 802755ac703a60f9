package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"zhengzhao/ledger/logfile"
	"zhengzhao/registry"
)

// checkpointEnds returns the byte offsets just past each checkpoint record
// of the ledger log at path.
func checkpointEnds(t *testing.T, path string) []int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for off := int64(len(logfile.Magic)); off+logfile.HeaderSize <= int64(len(b)); {
		n := int64(binary.BigEndian.Uint32(b[off+1:]))
		end := off + logfile.HeaderSize + n + logfile.DigestSize
		if b[off] == logfile.TypeCheckpoint {
			out = append(out, end)
		}
		off = end
	}
	return out
}

// TestLedgerRollback cuts the ledger log back to an earlier checkpoint, as a
// restored backup would: `ledger verify` fails naming both sizes, and
// `serve` refuses to start.
func TestLedgerRollback(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	tok := initDemo(t, data)
	srv := startServer(t, data)
	dept := tok.Departments[0]
	for range 3 {
		issueExample(t, srv, t.TempDir(), dept.Types[0], dept.IssuerToken)
	}
	srv.kill()

	out, errOut, code := zz(t, "ledger", "verify", "--data", data, "--progress")
	if code != 0 {
		t.Fatalf("ledger verify before the rollback: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "ETA") || !strings.Contains(errOut, "entries") {
		t.Fatalf("ledger verify --progress drew no progress bar on stderr: %q", errOut)
	}
	if !strings.Contains(out, "未被回滚") {
		t.Fatalf("ledger verify does not say it checked for a rollback: %q", out)
	}

	log := filepath.Join(data, registry.LedgerDir, "log")
	ends := checkpointEnds(t, log)
	if err := os.Truncate(log, ends[len(ends)-3]); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = zz(t, "ledger", "verify", "--data", data)
	if code != exitInvalid {
		t.Fatalf("ledger verify of a rolled back log: exit %d, want %d\n%s%s", code, exitInvalid, out, errOut)
	}
	m := regexp.MustCompile(`日志有 (\d+) 条，而它之前签署的检查点有 (\d+) 条`).FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("ledger verify does not name both sizes: %q", errOut)
	}
	if got, kept := atoi(t, m[1]), atoi(t, m[2]); got >= kept {
		t.Fatalf("sizes %d and %d: the log should be the shorter", got, kept)
	}
	if strings.Contains(errOut, "ETA") {
		t.Fatalf("progress bar drawn without a terminal or --progress: %q", errOut)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, "serve", "--data", data, "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "ZHENGZHAO_PASSPHRASE="+testPass)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("serve started on a rolled back log: %s", logs.String())
	}
	if err == nil || !strings.Contains(logs.String(), "rolled back") {
		t.Fatalf("serve on a rolled back log: %v, output %q; want a refusal naming the rollback", err, logs.String())
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
