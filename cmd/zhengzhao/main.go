// Command zhengzhao is the one Zhengzhao binary: init a data directory,
// serve the API, issue through it, fetch a trust bundle, verify offline,
// check the ledger and measure performance.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes of verify (and the other commands): 0 all good, 1 something is
// not valid, 2 bad usage or unreadable input, 3 status unknown (the trust
// bundle's status data expired, or a status list is missing): never valid.
const (
	exitOK      = 0
	exitInvalid = 1
	exitUsage   = 2
	exitUnknown = 3
)

// unknownError marks a verification whose status could not be known (exit 3).
type unknownError struct{}

func (unknownError) Error() string { return "status unknown" }

// usageError marks errors that are the caller's to fix (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// invalidError marks a verification or check that failed (exit 1).
type invalidError struct{ msg string }

func (e invalidError) Error() string { return e.msg }

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"init", "create a data directory: platform root key, ledger, store, first admin (--demo: demo data)", runInit},
		{"admin", "manage departments, web accounts and API tokens (zhengzhao admin --help)", runAdmin},
		{"serve", "serve the JSON API", runServe},
		{"migrate", "bring a registry store's schema up to date (migrate --store URI)", runMigrate},
		{"issue", "issue a license through a server", runIssue},
		{"import", "import existing licenses from CSV or JSON Lines (through a server or into a data directory)", runImport},
		{"bundle", "download the signed trust bundle from a server", runBundle},
		{"verify", "verify licenses offline with a trust bundle", runVerify},
		{"ledger", "ledger tools: ledger verify --data DIR", runLedger},
		{"keys", "department keys: keys revoke (declare one compromised), keys rotate", runKeys},
		{"records", "record log: records verify (a holder's 用证记录 export, offline), records check (the whole log)", runRecords},
		{"bench", "measure signing, verification and issuing throughput", runBench},
	}
}

func main() {
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		var ue usageError
		var ie invalidError
		switch {
		case err == nil:
			return exitOK
		case errors.As(err, new(unknownError)):
			return exitUnknown
		case errors.Is(err, flag.ErrHelp):
			return exitOK
		case errors.As(err, &ie):
			if ie.msg != "" {
				fmt.Fprintln(stderr, ie.msg)
			}
			return exitInvalid
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "zhengzhao %s: %v\n", c.name, err)
			return exitUsage
		default:
			fmt.Fprintf(stderr, "zhengzhao %s: %v\n", c.name, err)
			return exitInvalid
		}
	}
	fmt.Fprintf(stderr, "zhengzhao: unknown command %q\n\n", args[0])
	printUsage(stderr)
	return exitUsage
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "Zhengzhao (证照): electronic licenses signed with SM2 and anchored on a ledger.")
	fmt.Fprintln(w, "\nUsage: zhengzhao <command> [flags]   (zhengzhao <command> --help for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
}

// newFlags makes a flag set that reports errors instead of exiting.
func newFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("zhengzhao "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: zhengzhao %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; a flag error is a usage error, --help is ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}
