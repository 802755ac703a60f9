package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"zhengzhao/internal/cputime"
	"zhengzhao/license"
	"zhengzhao/registry"
)

// severalConfig is `zhengzhao bench --several K`: K `serve` processes of
// this binary on one PostgreSQL database (store, empty) and one Fabric
// network (fabric, up.sh's connection.json), issuing n licenses in bulk
// (POST /api/v1/import, batches of batch rows) from conc clients per
// instance, all instances at once.
type severalConfig struct {
	instances int
	store     string
	fabric    string
	n         int
	conc      int
	batch     int
	keep      bool // keep the instances' data directories and logs
}

// severalResult is what the several-instances run measures.
type severalResult struct {
	Instances   int     `json:"instances"`
	Licenses    int     `json:"licenses"`
	Batch       int     `json:"batch"`
	Concurrency int     `json:"concurrency_per_instance"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"licenses_per_second"`
	// PerInstance is each instance's licenses/s over the whole run.
	PerInstance []float64 `json:"per_instance_per_second"`
	// CPU is the CPU time a license cost, in µs, by group of processes:
	// "serve" (all instances), "peer", "orderer", "chaincode", "postgres",
	// and "total" (their sum); "client" is this process (the load, not
	// counted in total). A group that could not be read is absent.
	CPU map[string]float64 `json:"cpu_us_per_license"`
	// Cores is the machine's cores; CoresBound is the rate the total CPU a
	// license allows on them (cores / total CPU per license).
	Cores      int     `json:"cores"`
	CoresBound float64 `json:"cores_bound_per_second,omitempty"`
	// Batches is the number of POST /api/v1/import calls; BatchP50MS and
	// BatchP99MS their latency.
	Batches    int     `json:"batches"`
	BatchP50MS float64 `json:"batch_p50_ms"`
	BatchP99MS float64 `json:"batch_p99_ms"`
}

func (c severalConfig) check() error {
	switch {
	case c.instances < 1 || c.instances > 8:
		return usagef("--several: %d instances; give 1 to 8", c.instances)
	case c.store == "" || !strings.HasPrefix(c.store, "postgres"):
		return usagef("--several needs --store postgres://… (an empty database all instances share)")
	case c.fabric == "":
		return usagef("--several needs --ledger fabric --fabric-config FILE (one network all instances share)")
	case c.batch < 1 || c.batch > registry.MaxBatch:
		return usagef("--several: --batch %d is outside 1..%d", c.batch, registry.MaxBatch)
	case c.conc < 1:
		return usagef("--several: --concurrency must be at least 1")
	case c.n < c.instances*c.batch:
		return usagef("--several: --issue-n %d is less than a batch for each instance (%d)", c.n, c.instances*c.batch)
	}
	return nil
}

// severalInstance is one `serve` child.
type severalInstance struct {
	dir    string
	url    string
	cmd    *exec.Cmd
	log    *os.File
	exited chan struct{} // closed when the process has ended
	issued atomic.Int64
}

// stop asks the instance to shut down (as Ctrl-C does) and kills it if it
// has not within 30 s.
func (in *severalInstance) stop() {
	in.cmd.Process.Signal(os.Interrupt)
	select {
	case <-in.exited:
	case <-time.After(30 * time.Second):
		in.cmd.Process.Kill()
		<-in.exited
	}
	in.log.Close()
}

// runSeveral starts the instances, warms each with one small batch, then
// issues cfg.n licenses into all of them at once and measures the rate and
// the CPU every process of the system spent on it.
func runSeveral(ctx context.Context, cfg severalConfig, asJSON bool, stdout, stderr io.Writer) error {
	if err := cfg.check(); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	base, err := os.MkdirTemp("", "zhengzhao-several-")
	if err != nil {
		return err
	}
	if cfg.keep {
		fmt.Fprintf(stderr, "bench: data directories and logs in %s\n", base)
	} else {
		defer os.RemoveAll(base)
	}
	const pass = "bench-only-passphrase"
	public := ""
	var ins []*severalInstance
	defer func() {
		for _, in := range ins {
			in.stop()
		}
	}()
	start := func(i int) (*severalInstance, error) {
		addr, err := loopbackAddr()
		if err != nil {
			return nil, err
		}
		if public == "" {
			public = "http://" + addr
		}
		in := &severalInstance{dir: filepath.Join(base, string(rune('a'+i))), url: "http://" + addr}
		args := []string{"serve", "--data", in.dir, "--addr", addr, "--public-url", public,
			"--store", cfg.store, "--ledger", ledgerFabric, "--fabric-config", cfg.fabric}
		if i == 0 {
			args = append(args, "--demo")
		} else if err := copyPlatform(ins[0].dir, in.dir); err != nil {
			return nil, err
		}
		if in.log, err = os.Create(filepath.Join(base, fmt.Sprintf("serve-%c.log", 'a'+i))); err != nil {
			return nil, err
		}
		in.cmd = exec.Command(exe, args...)
		in.cmd.Env = append(os.Environ(), passphraseEnv+"="+pass)
		in.cmd.Stdout, in.cmd.Stderr = in.log, in.log
		if err := in.cmd.Start(); err != nil {
			in.log.Close()
			return nil, err
		}
		in.exited = make(chan struct{})
		go func() { in.cmd.Wait(); close(in.exited) }()
		ins = append(ins, in)
		if err := waitHealthy(ctx, in); err != nil {
			return nil, fmt.Errorf("%w (its log: %s; --keep keeps it)", err, in.log.Name())
		}
		return in, nil
	}
	for i := range cfg.instances {
		if _, err := start(i); err != nil {
			return fmt.Errorf("bench: start instance %d: %w", i+1, err)
		}
	}
	var tok struct {
		Departments []struct {
			USCC        string   `json:"uscc"`
			Types       []string `json:"types"`
			IssuerToken string   `json:"issuer_token"`
		} `json:"departments"`
	}
	raw, err := os.ReadFile(filepath.Join(ins[0].dir, "demo-tokens.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &tok); err != nil || len(tok.Departments) == 0 {
		return fmt.Errorf("bench: demo tokens of the first instance: %v", err)
	}
	dept := tok.Departments[0]
	typ, ok := license.DefaultCatalog().Type(dept.Types[0])
	if !ok {
		return fmt.Errorf("bench: type %s is not in the catalog", dept.Types[0])
	}
	var holders atomic.Int64
	rows := func(k int) []byte {
		rec := typ.Example(dept.USCC, "")
		type row struct {
			Row     int                   `json:"row"`
			Request registry.IssueRequest `json:"request"`
		}
		body := struct {
			Type string `json:"type"`
			Rows []row  `json:"rows"`
		}{Type: typ.Code}
		for j := range k {
			n := holders.Add(1)
			req := registry.IssueRequest{TypeCode: typ.Code, Holder: rec.Holder, HolderCode: benchHolderCode(typ.HolderKind, n),
				Jurisdiction: rec.Jurisdiction, Fields: rec.Fields, RequestKey: "bench-several-" + strconv.FormatInt(n, 10)}
			body.Rows = append(body.Rows, row{Row: j + 1, Request: req})
		}
		b, _ := json.Marshal(body)
		return b
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.conc + 1}, Timeout: 5 * time.Minute}
	post := func(in *severalInstance, body []byte) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.url+"/api/v1/import", bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+dept.IssuerToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("POST %s/api/v1/import: %d %s", in.url, resp.StatusCode, b)
		}
		var ans struct {
			Results []struct {
				ID       string            `json:"id"`
				Existing bool              `json:"existing"`
				Errs     []json.RawMessage `json:"errors"`
			} `json:"results"`
		}
		if err := json.Unmarshal(b, &ans); err != nil {
			return 0, err
		}
		for _, r := range ans.Results {
			if len(r.Errs) > 0 || r.Existing || r.ID == "" {
				return 0, fmt.Errorf("POST %s/api/v1/import: a row was not issued: %s", in.url, b)
			}
		}
		return len(ans.Results), nil
	}
	// Warm-up: one small batch on each (status lists opened, statements
	// prepared, connections made), not counted.
	for _, in := range ins {
		if _, err := post(in, rows(10)); err != nil {
			return fmt.Errorf("bench: warm-up: %w", err)
		}
	}
	groups := cpuGroups(cfg, ins)
	before := readGroupsCPU(groups)
	clientBefore := cputime.Process()

	var (
		mu        sync.Mutex
		latencies []time.Duration
		firstErr  error
		wg        sync.WaitGroup
	)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	begin := time.Now()
	for _, in := range ins {
		var left atomic.Int64
		left.Store(int64(cfg.n / len(ins)))
		for range cfg.conc {
			wg.Go(func() {
				for runCtx.Err() == nil {
					k := int64(cfg.batch)
					if rest := left.Add(-k); rest < 0 {
						k += rest
						if k <= 0 {
							return
						}
					}
					body := rows(int(k))
					t0 := time.Now()
					got, err := post(in, body)
					if err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
						cancel()
						return
					}
					in.issued.Add(int64(got))
					mu.Lock()
					latencies = append(latencies, time.Since(t0))
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(begin)
	if firstErr != nil {
		return fmt.Errorf("bench: %w", firstErr)
	}
	after := readGroupsCPU(groups)
	clientCPU := cputime.Process() - clientBefore

	res := severalResult{Instances: len(ins), Batch: cfg.batch, Concurrency: cfg.conc, Seconds: elapsed.Seconds(),
		Cores: runtime.NumCPU(), Batches: len(latencies), CPU: map[string]float64{}}
	for _, in := range ins {
		n := in.issued.Load()
		res.Licenses += int(n)
		res.PerInstance = append(res.PerInstance, float64(n)/elapsed.Seconds())
	}
	res.PerSecond = float64(res.Licenses) / elapsed.Seconds()
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(res.Licenses) }
	var total time.Duration
	for name, b := range before {
		a, ok := after[name]
		if !ok {
			continue
		}
		res.CPU[name] = per(a - b)
		total += a - b
	}
	if len(res.CPU) > 0 {
		res.CPU["total"] = per(total)
		res.CoresBound = float64(res.Cores) / (per(total) / 1e6)
	}
	res.CPU["client"] = per(clientCPU)
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	if len(latencies) > 0 {
		res.BatchP50MS = float64(latencies[len(latencies)/2].Microseconds()) / 1000
		res.BatchP99MS = float64(latencies[len(latencies)*99/100].Microseconds()) / 1000
	}
	if asJSON {
		b, _ := json.Marshal(res)
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	printSeveral(stdout, res)
	return nil
}

func printSeveral(w io.Writer, r severalResult) {
	fmt.Fprintf(w, "%d instances on one PostgreSQL and one Fabric network: %d licenses in %.1f s, batches of %d, %d in flight per instance\n",
		r.Instances, r.Licenses, r.Seconds, r.Batch, r.Concurrency)
	var each []string
	for i, v := range r.PerInstance {
		each = append(each, fmt.Sprintf("%c %.0f/s", 'A'+i, v))
	}
	fmt.Fprintf(w, "issue together      %8.0f licenses/s  (%s)\n", r.PerSecond, strings.Join(each, ", "))
	fmt.Fprintf(w, "batch latency       p50 %.0f ms, p99 %.0f ms (%d batches)\n", r.BatchP50MS, r.BatchP99MS, r.Batches)
	names := make([]string, 0, len(r.CPU))
	for k := range r.CPU {
		if k != "total" && k != "client" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var parts []string
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, r.CPU[k]))
	}
	if t, ok := r.CPU["total"]; ok {
		fmt.Fprintf(w, "CPU µs a license    %8.0f  (%s; the load client %.0f, not counted)\n", t, strings.Join(parts, ", "), r.CPU["client"])
		fmt.Fprintf(w, "bound by the CPU    %8.0f licenses/s on %d cores (cores ÷ CPU a license)\n", r.CoresBound, r.Cores)
	}
}

// waitHealthy waits until in answers /healthz; an error if its process
// ends first or it does not answer within 3 minutes.
func waitHealthy(ctx context.Context, in *severalInstance) error {
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		if err := ctx.Err(); err != nil {
			return err
		}
		select {
		case <-in.exited:
			return fmt.Errorf("serve exited: %v", in.cmd.ProcessState)
		default:
		}
		if resp, err := http.Get(in.url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return errors.New("did not answer /healthz within 3 minutes")
}

// loopbackAddr is a free port on 127.0.0.1.
func loopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// copyPlatform copies what another instance needs from the first one's data
// directory: the platform's keys and certificates, none of its own state
// (the store is PostgreSQL, the log is rebuilt from the channel).
func copyPlatform(from, to string) error {
	return filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		top := strings.Split(rel, string(filepath.Separator))[0]
		switch {
		case top == fabricLogDir || top == registry.LedgerDir || strings.HasPrefix(top, "registry.db") || top == "demo-tokens.json" ||
			top == registry.InstanceIDFile:
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		case d.IsDir():
			return os.MkdirAll(filepath.Join(to, rel), 0o700)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, info.Mode().Perm())
	})
}

// benchHolderCode is the n-th made-up holder code of a kind: a valid USCC
// or citizen ID no other license of the run has.
func benchHolderCode(kind license.HolderKind, n int64) string {
	if kind == license.HolderOrganization {
		code, _ := license.CompleteUSCC(fmt.Sprintf("91310000%09d", n))
		return code
	}
	born := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(n/1000))
	code, _ := license.CompleteCitizenID("310101" + born.Format("20060102") + fmt.Sprintf("%03d", n%1000))
	return code
}

// cpuGroups names the root processes whose CPU (with their children's) the
// run counts: each instance, the Fabric network's processes (PID files
// next to its connection.json, as network/up.sh writes them) and the
// PostgreSQL server (when it runs on this machine).
func cpuGroups(cfg severalConfig, ins []*severalInstance) map[string][]int {
	g := map[string][]int{}
	for _, in := range ins {
		g["serve"] = append(g["serve"], in.cmd.Process.Pid)
	}
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(cfg.fabric), "pids", "*.pid"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(f), ".pid")
		switch {
		case strings.HasPrefix(name, "peer"):
			name = "peer"
		case strings.HasPrefix(name, "orderer"):
			name = "orderer"
		case strings.HasPrefix(name, "chaincode"):
			name = "chaincode"
		}
		g[name] = append(g[name], pid)
	}
	if pid := postgresServerPID(cfg.store); pid > 0 {
		g["postgres"] = []int{pid}
	}
	return g
}

// postgresServerPID is the PID of the PostgreSQL server the URI names when
// it runs on this machine: the parent of this connection's backend; 0 when
// it cannot be told.
func postgresServerPID(uri string) int {
	db, err := sql.Open("pgx", uri)
	if err != nil {
		return 0
	}
	defer db.Close()
	var backend int
	if err := db.QueryRow(`SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		return 0
	}
	procs, err := readProcs()
	if err != nil {
		return 0
	}
	p, ok := procs[backend]
	if !ok {
		return 0 // another machine
	}
	return p.ppid
}

// procStat is what /proc/PID/stat tells of a process: its parent and its
// CPU time, its own and its waited-for children's.
type procStat struct {
	ppid int
	cpu  time.Duration
}

// clockTick is Linux's USER_HZ, the unit of /proc's CPU times (100 on every
// architecture Go runs Linux on).
const clockTick = 10 * time.Millisecond

// readProcs reads every process's parent and CPU time from /proc.
func readProcs() (map[int]procStat, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	out := map[int]procStat{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command name may hold spaces: the fields start after its ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 15 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		var ticks int64
		for _, k := range []int{11, 12, 13, 14} { // utime stime cutime cstime
			v, _ := strconv.ParseInt(f[k], 10, 64)
			ticks += v
		}
		out[pid] = procStat{ppid: ppid, cpu: time.Duration(ticks) * clockTick}
	}
	return out, nil
}

// readGroupsCPU is the CPU time of each group: its roots, their live
// descendants, and the children they reaped. A group none of whose roots
// is found is absent.
func readGroupsCPU(groups map[string][]int) map[string]time.Duration {
	procs, err := readProcs()
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for pid, p := range procs {
		children[p.ppid] = append(children[p.ppid], pid)
	}
	var tree func(pid int) time.Duration
	tree = func(pid int) time.Duration {
		d := procs[pid].cpu
		for _, c := range children[pid] {
			d += tree(c)
		}
		return d
	}
	out := map[string]time.Duration{}
	for name, roots := range groups {
		found := false
		var d time.Duration
		for _, pid := range roots {
			if _, ok := procs[pid]; ok {
				found = true
				d += tree(pid)
			}
		}
		if found {
			out[name] = d
		}
	}
	return out
}

// flagSet tells whether the command line gave the flag name.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
