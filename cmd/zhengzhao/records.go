package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"zhengzhao/license"
	"zhengzhao/registry"
	"zhengzhao/verifier"
)

// runRecords is `zhengzhao records`: record-log tools.
func runRecords(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	switch {
	case len(args) > 0 && args[0] == "verify":
		return runRecordsVerify(ctx, args[1:], stdout, stderr)
	case len(args) > 0 && args[0] == "check":
		return runRecordsCheck(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintln(stderr, "Usage: zhengzhao records verify --bundle FILE [--root-fingerprint HEX] [--trust FILE] [--json] EXPORT\n"+
		"       zhengzhao records check --data DIR [--passphrase-file FILE] [--json]\n\n"+
		"verify: check a holder's 用证记录 export (the PDF, which embeds records.json, or the JSON) offline.\n"+
		"check:  check the whole record log of a data directory against the ledger (the server must be stopped).")
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		return nil
	}
	return usagef("unknown or missing records command")
}

// runRecordsCheck runs the service's chain check on a data directory: every
// row against its chained bytes and hashes, every anchored head against the
// ledger. Exit 1 names each record that does not check out.
func runRecordsCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("records check", "records check --data DIR [--passphrase-file FILE] [--json]", stderr)
	data := fs.String("data", "", "the data directory (required)")
	passFile := fs.String("passphrase-file", "", "file holding the key passphrase (default: $"+passphraseEnv+")")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return usagef("--data is required")
	}
	pass, err := passphrase(*passFile)
	if err != nil {
		return err
	}
	in, err := openInstance(ctx, instanceConfig{Dir: *data, Passphrase: pass})
	if err != nil {
		return err
	}
	defer in.Close()
	rep, err := in.registry.CheckRecords(ctx, registry.Actor{Role: registry.RoleAdmin, Name: "zhengzhao records check"})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if len(rep.Problems) == 0 {
		fmt.Fprintf(stdout, "记录链校验：通过\n  记录 %d 条，链头 #%d\n  %d 个锚定点与账本一致（最新锚定 #%d）\n", rep.Records, rep.HeadSeq, rep.Anchored, rep.AnchoredSeq)
	} else {
		fmt.Fprintf(stdout, "记录链校验：未通过（共检查 %d 条记录，发现 %d 处问题）\n", rep.Records, len(rep.Problems))
		for _, p := range rep.Problems {
			fmt.Fprintln(stdout, "  "+p.String())
		}
	}
	if len(rep.Problems) > 0 {
		return invalidError{}
	}
	return nil
}

// recordsResult is the --json output of records verify.
type recordsResult struct {
	File     string                   `json:"file"`
	Valid    bool                     `json:"valid"`
	Error    string                   `json:"error,omitempty"`
	Segment  *int                     `json:"segment,omitempty"`
	Seq      *uint64                  `json:"seq,omitempty"`
	Verified *registry.VerifiedExport `json:"verified,omitempty"`
}

// runRecordsVerify checks a holder's record export offline: every record in
// it is in the record chain up to a head the ledger anchored, proved by a
// receipt whose checkpoint the trust bundle's log key signed.
func runRecordsVerify(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("records verify", "records verify --bundle FILE [--root-fingerprint HEX] [--trust FILE] [--json] EXPORT", stderr)
	bundleFile := fs.String("bundle", "", "trust bundle file (required): its log key checks the anchored heads")
	rootFP := fs.String("root-fingerprint", "", "the platform root's fingerprint (hex SM3 of its certificate); default: the one pinned in the trust file")
	trustPath := fs.String("trust", defaultTrustPath(), "the trust file zhengzhao bundle keeps")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *bundleFile == "" {
		return usagef("--bundle is required")
	}
	if fs.NArg() != 1 {
		return usagef("name one export file (PDF or JSON)")
	}
	bundle, err := openPinnedBundle(*bundleFile, *rootFP, *trustPath)
	if err != nil {
		return err
	}
	origin, logKey, err := registry.BundleLogKey(bundle)
	if err != nil {
		return usageError{err}
	}
	name := fs.Arg(0)
	data, err := readInput(name)
	if err != nil {
		return err
	}
	if bytes.HasPrefix(data, []byte("%PDF-")) {
		if data, err = verifier.ExtractAttachment(data, registry.AttachmentRecords); err != nil {
			return usagef("%s: 不是带核对文件的用证记录 PDF: %v", name, err)
		}
	}
	exp, err := registry.ParseRecordsExport(data)
	if err != nil {
		return usagef("%s: %v", name, err)
	}
	v, verr := registry.VerifyRecordsExport(exp, origin, logKey)
	res := recordsResult{File: name, Valid: verr == nil, Verified: v}
	var ee *registry.ExportError
	if errors.As(verr, &ee) {
		res.Error, res.Segment, res.Seq = ee.Reason, &ee.Segment, &ee.Seq
	} else if verr != nil {
		res.Error = verr.Error()
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		printRecords(stdout, res)
	}
	if verr != nil {
		return invalidError{}
	}
	return nil
}

// printRecords is the human output of records verify, in Chinese.
func printRecords(w io.Writer, res recordsResult) {
	if !res.Valid {
		fmt.Fprintf(w, "用证记录核对：未通过\n  文件：%s\n", res.File)
		if res.Seq != nil {
			fmt.Fprintf(w, "  问题：第 %d 段，记录 #%d：%s\n", *res.Segment+1, *res.Seq, res.Error)
		} else {
			fmt.Fprintf(w, "  问题：%s\n", res.Error)
		}
		fmt.Fprintln(w, "  该文件中的记录与账本锚定的记录链不符，不能作为用证记录的证明。")
		return
	}
	v := res.Verified
	fmt.Fprintf(w, "用证记录核对：通过\n  文件：%s\n  持证主体代码：%s\n  记录：%d 条，均在账本锚定的记录链中\n", res.File, v.Holder, len(v.Records))
	for _, h := range v.Heads {
		fmt.Fprintf(w, "  锚定点：链头 #%d，账本日志序号 %d，锚定于 %s\n", h.Seq, h.LogIndex, h.At.In(license.ChinaTime).Format("2006-01-02 15:04:05"))
	}
	if v.Unanchored > 0 {
		fmt.Fprintf(w, "  注意：另有 %d 条最新记录导出时尚未锚定，文件中没有它们的证明。\n", v.Unanchored)
	}
	for _, r := range v.Records {
		who := r.Actor.Name
		if r.Actor.Hall != "" {
			who += "（" + r.Actor.Hall + "）"
		}
		line := fmt.Sprintf("  #%d  %s  %s  %s  %s", r.Seq, r.At.In(license.ChinaTime).Format("2006-01-02 15:04:05"), registry.ActionLabel(r.Action), r.License, who)
		if r.Purpose != "" {
			line += "  事由：" + r.Purpose
		}
		if r.ServiceItem != "" {
			line += "  事项：" + r.ServiceItem
		}
		if l := registry.ResultLabel(r.Result); l != "" {
			line += "  结果：" + l
		}
		if r.Reason != "" {
			line += "  说明：" + registry.ReasonText(r.Reason)
		}
		fmt.Fprintln(w, line)
	}
}
