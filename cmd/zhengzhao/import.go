package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"time"

	"zhengzhao/internal/limits"
	"zhengzhao/ledger/logfile"
	"zhengzhao/license"
	"zhengzhao/registry"
	"zhengzhao/registry/importer"
)

// importSummary is what `zhengzhao import --json` prints.
type importSummary struct {
	File       string `json:"file"`
	Type       string `json:"type"`
	Department string `json:"department"`
	Encoding   string `json:"encoding"`
	Format     string `json:"format"`
	// Rows, Issued, Existing and Failed count the whole file, the batches
	// of an earlier interrupted run included.
	Rows     int `json:"rows"`
	Issued   int `json:"issued"`
	Existing int `json:"existing"`
	Failed   int `json:"failed"`
	Batches  int `json:"batches"`
	// ResumedAt is the number of rows an earlier run had finished, skipped
	// by this one.
	ResumedAt int     `json:"resumed_at,omitempty"`
	Seconds   float64 `json:"seconds"`
	// PerSecond is this run's rows per second.
	PerSecond  float64 `json:"rows_per_second"`
	ErrorsFile string  `json:"errors_file,omitempty"`
	// Stopped says why the run stopped before the end of the file; running
	// the same command again resumes it.
	Stopped string `json:"stopped,omitempty"`
}

// importState is the progress file: which batches of which file are done.
type importState struct {
	File       string            `json:"file"`
	Identity   string            `json:"identity"` // size, modification time and SHA-256 of the first MiB
	Type       string            `json:"type"`
	Department string            `json:"department"`
	Batch      int               `json:"batch"`
	Progress   importer.Progress `json:"progress"`
}

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("import", "import --file F --type CODE --department USCC (--server URL --token T | --data DIR [--store URI]) [--batch 1000] [--in-flight 4] [--errors FILE] [--json]", stderr)
	file := fs.String("file", "", "CSV or JSON Lines file of existing licenses (required)")
	typeCode := fs.String("type", "", "license type code of every row (required)")
	dept := fs.String("department", "", "issuing department's USCC (required)")
	srv := fs.String("server", "", "import through this server's API (with --token)")
	token := fs.String("token", os.Getenv("ZHENGZHAO_TOKEN"), "the department's issuer bearer token (default: $ZHENGZHAO_TOKEN)")
	dir := fs.String("data", "", "import straight into this data directory (the server must not be running on it)")
	passFile := fs.String("passphrase-file", "", "with --data: file holding the key passphrase (default: $"+passphraseEnv+")")
	storeURI := storeFlag(fs)
	format := fs.String("format", "", "csv or jsonl (default: from the file name: .jsonl/.ndjson/.json are JSON Lines)")
	// The largest batch the API takes: a batch is one store transaction, and
	// its rows land on their own pages of the indexes with random keys
	// (request key, holder, status slot), so fewer, larger transactions
	// write less (1,000 rows: ~26 % fewer bytes to disk than 500, ~10 %
	// more licenses/s, docs/import.md).
	batch := fs.Int("batch", limits.ImportBatchRows, fmt.Sprintf("rows per batch (at most %d)", limits.ImportBatchRows))
	inFlight := fs.Int("in-flight", 4, "batches issued at once (1 to 8): one is signed while another is anchored and stored")
	errFile := fs.String("errors", "", "where row errors go, CSV (default: FILE.errors.csv)")
	stateFile := fs.String("progress-file", "", "where the finished batches are kept, to resume (default: FILE.progress.json)")
	restart := fs.Bool("restart", false, "ignore the progress file and read the file from its start (nothing is issued twice either way)")
	showBar := fs.Bool("progress", false, "draw the progress bar on stderr even when it is not a terminal")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	traceFile := fs.String("trace", "", "write an execution trace of the whole run to this file (go tool trace)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *file == "":
		return usagef("--file is required")
	case *typeCode == "":
		return usagef("--type is required")
	case license.ValidateUSCC(*dept) != nil:
		return usagef("--department must be the department's USCC: %v", license.ValidateUSCC(*dept))
	case (*srv == "") == (*dir == ""):
		return usagef("give either --server URL (with --token) or --data DIR")
	case *srv != "" && *token == "":
		return usagef("--server needs --token (or $ZHENGZHAO_TOKEN): the department's issuer token")
	case *batch < 1 || *batch > limits.ImportBatchRows:
		return usagef("--batch must be between 1 and %d", limits.ImportBatchRows)
	case *inFlight < 1 || *inFlight > 8:
		return usagef("--in-flight must be between 1 and 8")
	}
	f, err := os.Open(*file)
	if err != nil {
		return usageError{err}
	}
	defer f.Close()
	identity, total, err := fileIdentity(f)
	if err != nil {
		return err
	}
	fmtName := importer.FormatOf(*file)
	switch *format {
	case "":
	case "csv", "jsonl":
		fmtName = importer.Format(*format)
	default:
		return usagef("--format must be csv or jsonl")
	}
	if fmtName == importer.CSV {
		total-- // the header
	}
	if *errFile == "" {
		*errFile = *file + ".errors.csv"
	}
	if *stateFile == "" {
		*stateFile = *file + ".progress.json"
	}
	stopProfiles, err := startProfiles(*cpuProfile, *traceFile)
	defer stopProfiles()
	if err != nil {
		return err
	}
	if *cpuProfile != "" {
		defer startSchedSampler().report(stderr)
	}

	// The type, and how a batch is issued.
	var (
		typ   license.Type
		issue importer.IssueFunc
	)
	if *dir != "" {
		in, err := openForImport(ctx, *dir, *storeURI, *passFile)
		if err != nil {
			return err
		}
		defer in.Close()
		t, ok := in.registry.Catalog().Type(*typeCode)
		if !ok {
			return usagef("--type %s: no such license type in the catalog", *typeCode)
		}
		depts, err := in.registry.Departments(ctx)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(depts, func(d *registry.Department) bool { return d.USCC == *dept })
		if i < 0 {
			return usagef("--department %s is not registered in %s", *dept, *dir)
		}
		if !slices.Contains(depts[i].Types, t.Code) {
			return usagef("department %s (%s) does not issue %s (%s)", *dept, depts[i].Name, t.Code, t.Name)
		}
		typ, issue = t, importer.Local(in.registry, registry.Actor{Role: registry.RoleIssuer, Department: *dept, Name: importActorName()}, t)
	} else {
		base := strings.TrimRight(*srv, "/")
		var types []license.Type
		if err := call(ctx, http.MethodGet, base+"/api/v1/types", "", nil, &types); err != nil {
			return fmt.Errorf("license types of %s: %w", base, err)
		}
		i := slices.IndexFunc(types, func(t license.Type) bool { return t.Code == *typeCode })
		if i < 0 {
			return usagef("--type %s: %s has no such license type", *typeCode, base)
		}
		typ, issue = types[i], remoteIssue(base, *token, *dept, types[i].Code)
	}

	rd, err := importer.NewReader(bufio.NewReaderSize(f, 1<<20), importer.Options{Department: *dept, Type: typ, Format: fmtName})
	if err != nil {
		var he *importer.HeaderError
		if errors.As(err, &he) {
			return usageError{fmt.Errorf("%s：%s；模板的表头为：%s", *file, he.Message, strings.Join(importer.Header(typ), ","))}
		}
		return err
	}

	// Resume from the progress file when it is for this file, type,
	// department and batch size. Without --batch the run takes the
	// progress file's (an import begun with another default goes on where
	// it stopped).
	prev, err := readImportState(*stateFile)
	if err != nil {
		return err
	}
	same := prev != nil && !*restart && prev.Identity == identity && prev.Type == typ.Code && prev.Department == *dept
	if same && !flagSet(fs, "batch") && prev.Batch >= 1 && prev.Batch <= limits.ImportBatchRows {
		*batch = prev.Batch
	}
	state := importState{File: *file, Identity: identity, Type: typ.Code, Department: *dept, Batch: *batch}
	if same && prev.Batch == *batch {
		state.Progress = prev.Progress
	}
	resumed := state.Progress.Rows
	var ef *os.File
	var ew *importer.ErrorWriter
	if resumed > 0 {
		if ef, err = os.OpenFile(*errFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err == nil {
			ew = importer.AppendErrorWriter(ef)
		}
	} else if ef, err = os.Create(*errFile); err == nil {
		ew, err = importer.NewErrorWriter(ef)
	}
	if err != nil {
		return err
	}
	defer ef.Close()

	var bar *importBar
	if *showBar || isTerminal(stderr) {
		bar = &importBar{w: stderr, start: time.Now(), total: max(total, 0), from: resumed}
		if resumed > 0 {
			fmt.Fprintf(stderr, "从上次中断处继续：前 %d 批（%d 行）已完成，跳过\n", state.Progress.Batches, resumed)
		}
	}
	started := time.Now()
	unsynced := false // row errors written since the last sync
	p, runErr := importer.Run(ctx, rd, importer.Config{
		BatchSize: *batch, InFlight: *inFlight, OneActive: typ.OneActive, Issue: issue, Start: state.Progress,
		RowErrors: func(errs []importer.RowError) error {
			for _, e := range errs {
				if err := ew.Write(e); err != nil {
					return err
				}
			}
			unsynced = true
			return nil
		},
		OnBatch: func(p importer.Progress) error {
			// The errors first: a batch counted done has its errors on
			// disk (a batch without errors has nothing to sync).
			if unsynced {
				if err := ew.Flush(); err != nil {
					return err
				}
				if err := ef.Sync(); err != nil {
					return err
				}
				unsynced = false
			}
			state.Progress = p
			if err := writeImportState(*stateFile, state); err != nil {
				return err
			}
			bar.update(p)
			return nil
		},
	})
	bar.finish()
	took := time.Since(started)
	if err := ew.Flush(); err != nil {
		return err
	}
	sum := importSummary{File: *file, Type: typ.Code, Department: *dept, Encoding: string(rd.Encoding()), Format: string(fmtName),
		Rows: p.Rows, Issued: p.Issued, Existing: p.Existing, Failed: p.Failed, Batches: p.Batches, ResumedAt: resumed,
		Seconds: took.Seconds()}
	if s := took.Seconds(); s > 0 {
		sum.PerSecond = float64(p.Rows-resumed) / s
	}
	if p.Failed > 0 {
		sum.ErrorsFile = *errFile
	}
	if runErr != nil {
		sum.Stopped = runErr.Error()
	} else {
		// Finished: the next run reads the file again (and issues nothing twice).
		if err := os.Remove(*stateFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if p.Failed == 0 {
			ef.Close()
			_ = os.Remove(*errFile)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(sum); err != nil {
			return err
		}
	} else {
		printImportSummary(stdout, sum, typ)
	}
	switch {
	case runErr != nil && *asJSON:
		return invalidError{}
	case runErr != nil:
		return fmt.Errorf("导入中止于第 %d 行之后：%w；再次运行同一命令将从中断处继续", p.Rows, runErr)
	case p.Failed > 0:
		return invalidError{}
	}
	return nil
}

func printImportSummary(w io.Writer, s importSummary, t license.Type) {
	fmt.Fprintf(w, "%s「%s」导入：共 %d 行，新签发 %d，已存在（未重复签发）%d，错误 %d 行；文件编码 %s；用时 %.1f 秒，%.0f 行/秒\n",
		s.File, t.Name, s.Rows, s.Issued, s.Existing, s.Failed, importer.Encoding(s.Encoding).Label(), s.Seconds, s.PerSecond)
	if s.ResumedAt > 0 {
		fmt.Fprintf(w, "本次从第 %d 行之后继续（之前的批次已在上次完成）\n", s.ResumedAt)
	}
	if s.Failed > 0 {
		fmt.Fprintf(w, "逐行错误已写入 %s（行号、列、错误）；修正后再次导入同一文件，已签发的行不会重复签发\n", s.ErrorsFile)
	}
}

// openForImport opens a data directory the way the admin commands do.
func openForImport(ctx context.Context, dir, storeURI, passFile string) (*instance, error) {
	if !registry.Initialized(dir) {
		return nil, usagef("%s is not a data directory (run zhengzhao init)", dir)
	}
	pass, err := passphrase(passFile)
	if err != nil {
		return nil, err
	}
	in, err := openInstance(ctx, instanceConfig{Dir: dir, Passphrase: pass, Store: storeURI})
	if errors.Is(err, logfile.ErrLocked) {
		return nil, fmt.Errorf("%w (is `zhengzhao serve` running on %s? stop it, or import through it with --server)", err, dir)
	}
	return in, err
}

func importActorName() string {
	name := "?"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return "zhengzhao import (" + name + ")"
}

// remoteIssue issues a batch with POST /api/v1/import.
func remoteIssue(base, token, dept, typeCode string) importer.IssueFunc {
	type row struct {
		Row     int                   `json:"row"`
		Request registry.IssueRequest `json:"request"`
	}
	return func(ctx context.Context, rows []importer.Row) ([]importer.Result, error) {
		body := struct {
			Type       string `json:"type"`
			Department string `json:"department"`
			Rows       []row  `json:"rows"`
		}{Type: typeCode, Department: dept, Rows: make([]row, len(rows))}
		for i, r := range rows {
			body.Rows[i] = row{Row: r.Line, Request: r.Request}
		}
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		var ans struct {
			Results []importer.Result `json:"results"`
		}
		if err := call(ctx, http.MethodPost, base+"/api/v1/import", token, raw, &ans); err != nil {
			return nil, err
		}
		return ans.Results, nil
	}
}

// fileIdentity names a file's content cheaply: its size, modification time
// and the SHA-256 of its first MiB; and counts its lines. It leaves f at
// its start.
func fileIdentity(f *os.File) (string, int, error) {
	fi, err := f.Stat()
	if err != nil {
		return "", 0, err
	}
	h := sha256.New()
	buf := make([]byte, 1<<20)
	lines, hashed := 0, 0
	for {
		n, err := f.Read(buf)
		lines += bytes.Count(buf[:n], []byte{'\n'})
		if hashed < 1<<20 {
			k := min(n, 1<<20-hashed)
			h.Write(buf[:k])
			hashed += k
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", 0, err
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", 0, err
	}
	return fmt.Sprintf("%d-%d-%s", fi.Size(), fi.ModTime().UnixNano(), hex.EncodeToString(h.Sum(nil))), lines, nil
}

func readImportState(path string) (*importState, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s importState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, usagef("progress file %s: %v (delete it or pass --restart)", path, err)
	}
	return &s, nil
}

// writeImportState replaces the progress file atomically.
func writeImportState(path string, s importState) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Clean(path))
}

// importBar draws "[####......]  42.0%  8,400 / 20,000 行  5,123 行/s  ETA 2s"
// on stderr, at most five times a second. No progress library is in
// go.mod and `ledger verify` draws its bar the same way: 40 lines do not
// earn a dependency. A nil bar draws nothing.
type importBar struct {
	w           io.Writer
	start, last time.Time
	total, from int // rows in the file (lines, an estimate for CSV with line breaks in values); rows done before this run
	p           importer.Progress
	drawn       bool
	drawnRows   int // rows the last drawing showed
}

func (b *importBar) update(p importer.Progress) {
	if b == nil {
		return
	}
	b.p = p
	if now := time.Now(); now.Sub(b.last) >= 200*time.Millisecond {
		b.last = now
		b.draw(now)
	}
}

func (b *importBar) finish() {
	if b == nil || !b.drawn {
		return
	}
	if b.drawnRows != b.p.Rows {
		b.draw(time.Now())
	}
	fmt.Fprintln(b.w)
}

func (b *importBar) draw(now time.Time) {
	const width = 30
	done := b.p.Rows
	frac := 1.0
	if b.total > 0 {
		frac = min(1, float64(done)/float64(b.total))
	}
	rate := 0.0
	if s := now.Sub(b.start).Seconds(); s > 0 {
		rate = float64(done-b.from) / s
	}
	eta := "?"
	switch {
	case frac >= 1:
		eta = "0s"
	case rate > 0:
		eta = (time.Duration(float64(b.total-done) / rate * float64(time.Second))).Round(time.Second).String()
	}
	filled := int(frac * width)
	fmt.Fprintf(b.w, "\r[%s%s] %5.1f%%  %s / %s 行  %s 行/s  错误 %d  ETA %s ", strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		100*frac, groupDigits(uint64(done)), groupDigits(uint64(b.total)), groupDigits(uint64(rate)), b.p.Failed, eta)
	b.drawn, b.drawnRows = true, done
}

// schedSampler samples the Go scheduler every 10 ms while an import runs
// with --cpuprofile: how many goroutines were ready (running or runnable)
// against GOMAXPROCS. Unlike a rate, this does not depend on what else the
// machine runs: an import whose goroutines keep every P busy would use
// every core of an idle machine; one that often has fewer ready waits.
type schedSampler struct {
	stop    chan struct{}
	done    chan struct{}
	samples int
	ready   float64 // sum of min(ready, GOMAXPROCS)
	full    int     // samples with every P busy
}

func startSchedSampler() *schedSampler {
	s := &schedSampler{stop: make(chan struct{}), done: make(chan struct{})}
	ms := []metrics.Sample{{Name: "/sched/goroutines/running:goroutines"}, {Name: "/sched/goroutines/runnable:goroutines"}}
	go func() {
		defer close(s.done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		procs := runtime.GOMAXPROCS(0)
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
			metrics.Read(ms)
			if ms[0].Value.Kind() != metrics.KindUint64 {
				return
			}
			n := int(ms[0].Value.Uint64()+ms[1].Value.Uint64()) - 1 // not counting the sampler
			s.samples++
			s.ready += float64(min(n, procs))
			if n >= procs {
				s.full++
			}
		}
	}()
	return s
}

// report stops the sampler and writes what it saw.
func (s *schedSampler) report(w io.Writer) {
	close(s.stop)
	<-s.done
	if s.samples == 0 {
		return
	}
	fmt.Fprintf(w, "Go scheduler, %d samples: %.2f of %d cores busy on average; every core busy %.0f %% of the time\n",
		s.samples, s.ready/float64(s.samples), runtime.GOMAXPROCS(0), 100*float64(s.full)/float64(s.samples))
}
