package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"zhengzhao/ledger"
	"zhengzhao/ledger/embedded"
	"zhengzhao/registry"
)

func runLedger(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(stderr, "Usage: zhengzhao ledger verify --data DIR [--progress]")
			return nil
		}
		return usagef("usage: zhengzhao ledger verify --data DIR [--progress]")
	}
	fs := newFlags("ledger verify", "ledger verify --data DIR [--progress]", stderr)
	dir := fs.String("data", "", "data directory (required)")
	showProgress := fs.Bool("progress", false, "show a progress bar on stderr even when it is not a terminal")
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
	var bar *progressBar
	if *showProgress || isTerminal(stderr) {
		bar = &progressBar{w: stderr, start: time.Now()}
	}
	rep, err := embedded.Verify(ctx, filepath.Join(*dir, registry.LedgerDir), logOrigin, logKey, bar.update)
	bar.finish()
	if err != nil {
		var rb *embedded.RollbackError
		if errors.As(err, &rb) {
			return invalidError{msg: fmt.Sprintf("账本核验不通过：日志被回滚或替换：日志有 %d 条，而它之前签署的检查点有 %d 条（技术细节：%s）", rb.LogSize, rb.CheckpointSize, rb.Reason)}
		}
		if errors.Is(err, ledger.ErrRollback) {
			return invalidError{msg: fmt.Sprintf("账本核验不通过：日志被回滚（技术细节：%v）", err)}
		}
		return invalidError{msg: fmt.Sprintf("账本核验不通过（技术细节：%v）", err)}
	}
	fmt.Fprintf(stdout, "账本核验通过：共 %d 条，最新检查点由日志密钥签署\n", rep.Checkpoint.Size)
	if rep.Kept > 0 {
		fmt.Fprintf(stdout, "日志与它之前签署的 %d 条检查点一致（未被回滚）\n", rep.Kept)
	}
	if rep.UnacknowledgedBytes > 0 {
		fmt.Fprintf(stdout, "最后一个检查点之后有 %d 字节从未确认（%s）；下次启动时截去\n", rep.UnacknowledgedBytes, rep.Tail)
	}
	return nil
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressBar draws "[####......]  42.0%  1,234,567 entries  9,876/s  ETA 1m40s"
// on one line, at most five times a second. A nil bar draws nothing.
type progressBar struct {
	w     io.Writer
	start time.Time
	last  time.Time
	p     embedded.Progress
	drawn bool
}

func (b *progressBar) update(p embedded.Progress) {
	if b == nil {
		return
	}
	b.p = p
	if now := time.Now(); now.Sub(b.last) >= 200*time.Millisecond {
		b.last = now
		b.draw(now)
	}
}

func (b *progressBar) finish() {
	if b == nil || !b.drawn {
		return
	}
	b.draw(time.Now())
	fmt.Fprintln(b.w)
}

func (b *progressBar) draw(now time.Time) {
	const width = 30
	frac := 1.0
	if b.p.Total > 0 {
		frac = min(1, float64(b.p.Bytes)/float64(b.p.Total))
	}
	elapsed := now.Sub(b.start)
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(b.p.Entries) / s
	}
	eta := "?"
	if frac > 0 && frac < 1 {
		eta = (time.Duration(float64(elapsed) * (1 - frac) / frac)).Round(time.Second).String()
	} else if frac >= 1 {
		eta = "0s"
	}
	filled := int(frac * width)
	fmt.Fprintf(b.w, "\r[%s%s] %5.1f%%  %s entries  %s/s  ETA %s ", strings.Repeat("#", filled), strings.Repeat(".", width-filled), 100*frac, groupDigits(b.p.Entries), groupDigits(uint64(rate)), eta)
	b.drawn = true
}

// groupDigits writes n with thousands separators.
func groupDigits(n uint64) string {
	s := fmt.Sprint(n)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
