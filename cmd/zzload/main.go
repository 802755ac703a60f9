// Command zzload puts a bounded, mixed load on a demo Zhengzhao server and
// reports the p99 latency of each kind of request and the server's peak
// resident memory.
//
// It builds the zhengzhao binary (or takes --bin), starts
// `zhengzhao serve --demo` on a free loopback port with a fresh data
// directory, signs in a demo officer, then runs --workers clients for
// --duration (at most 60 s) that issue licenses (POST /api/v1/licenses),
// verify license PDFs and credentials (POST /api/v1/verify), download the
// trust bundle (GET /api/v1/bundle) and load console pages (GET /console).
// It stops the server and removes the data directory when done. Nothing
// leaves 127.0.0.1.
//
//	go run ./cmd/zzload --duration 30s
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"
)

// maxDuration bounds a run, whatever --duration says.
const maxDuration = 60 * time.Second

func main() {
	bin := flag.String("bin", "", "zhengzhao binary (default: go build ./cmd/zhengzhao into a temporary directory)")
	duration := flag.Duration("duration", 30*time.Second, "how long to put load on the server (at most 60s)")
	workers := flag.Int("workers", 8, "concurrent clients")
	flag.Parse()
	if err := run(*bin, min(*duration, maxDuration), max(1, *workers)); err != nil {
		fmt.Fprintln(os.Stderr, "zzload:", err)
		os.Exit(1)
	}
}

// demoTokens is the part of DIR/demo-tokens.json the load uses.
type demoTokens struct {
	VerifierToken string `json:"verifier_token"`
	Departments   []struct {
		Types       []string `json:"types"`
		IssuerToken string   `json:"issuer_token"`
	} `json:"departments"`
	Accounts []struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Role     string `json:"role"`
	} `json:"accounts"`
}

func run(bin string, duration time.Duration, workers int) error {
	tmp, err := os.MkdirTemp("", "zzload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if bin == "" {
		bin = filepath.Join(tmp, "zhengzhao")
		fmt.Println("building zhengzhao …")
		build := exec.Command("go", "build", "-o", bin, "zhengzhao/cmd/zhengzhao")
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build: %w", err)
		}
	}
	addr, err := freeLoopbackAddr()
	if err != nil {
		return err
	}
	data := filepath.Join(tmp, "data")
	srv := exec.Command(bin, "serve", "--demo", "--data", data, "--addr", addr)
	srv.Env = append(os.Environ(), "ZHENGZHAO_PASSPHRASE=zzload-demo-passphrase")
	logf, err := os.Create(filepath.Join(tmp, "server.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	srv.Stdout, srv.Stderr = logf, logf
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = srv.Process.Kill()
			<-done
		}
	}()
	base := "http://" + addr
	fmt.Printf("server pid %d on %s; waiting for the demo data …\n", srv.Process.Pid, base)
	if err := waitReady(base, filepath.Join(data, "demo-tokens.json"), 120*time.Second); err != nil {
		return err
	}
	var tok demoTokens
	b, err := os.ReadFile(filepath.Join(data, "demo-tokens.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &tok); err != nil {
		return fmt.Errorf("demo-tokens.json: %w", err)
	}
	if len(tok.Departments) == 0 {
		return errors.New("demo-tokens.json lists no departments")
	}
	l := &load{base: base, tok: tok, client: &http.Client{Timeout: 30 * time.Second}}
	if err := l.prepare(); err != nil {
		return err
	}
	fmt.Printf("load: %d workers for %s\n", workers, duration)
	stats := l.run(duration, workers)
	hwm, rss := procMemory(srv.Process.Pid)
	report(os.Stdout, stats, duration)
	fmt.Printf("server peak RSS (VmHWM): %.1f MiB; RSS at the end: %.1f MiB\n", float64(hwm)/1024, float64(rss)/1024)
	return nil
}

func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitReady(base, tokens string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(tokens); err == nil {
			if resp, err := http.Get(base + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return nil
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("the server did not answer /healthz within %s", within)
}

// load holds what the clients send.
type load struct {
	base   string
	tok    demoTokens
	client *http.Client

	examples [][]byte // issue request bodies, one per department's first type
	pdf      []byte   // a license PDF to verify
	document []byte   // a credential with its receipt to verify
	pages    *http.Client
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// prepare fetches issue examples, issues one license for the verify load,
// and signs in a demo officer for the page load.
func (l *load) prepare() error {
	for _, d := range l.tok.Departments {
		if len(d.Types) == 0 {
			continue
		}
		b, err := l.do("GET", "/api/v1/types/"+d.Types[0]+"/example", "", nil, http.StatusOK)
		if err != nil {
			return err
		}
		l.examples = append(l.examples, b)
	}
	d := l.tok.Departments[0]
	b, err := l.do("POST", "/api/v1/licenses", d.IssuerToken, l.examples[0], http.StatusCreated)
	if err != nil {
		return err
	}
	var doc struct {
		ID         string          `json:"id"`
		Credential json.RawMessage `json:"credential"`
		Receipt    json.RawMessage `json:"receipt"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return err
	}
	l.document, _ = json.Marshal(map[string]json.RawMessage{"credential": doc.Credential, "receipt": doc.Receipt})
	if l.pdf, err = l.do("GET", "/api/v1/licenses/"+doc.ID+"/pdf", d.IssuerToken, nil, http.StatusOK); err != nil {
		return err
	}
	for _, a := range l.tok.Accounts {
		if a.Role != "issuer" {
			continue
		}
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(l.base + "/login")
		if err != nil {
			return err
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		form := url.Values{"username": {a.Username}, "password": {a.Password}}
		if m := csrfRE.FindSubmatch(page); m != nil {
			form.Set("csrf", string(m[1]))
		}
		resp, err = c.PostForm(l.base+"/login", form)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			return fmt.Errorf("sign-in as %s: %s", a.Username, resp.Status)
		}
		l.pages = c
		break
	}
	if l.pages == nil {
		return errors.New("demo-tokens.json has no officer account for the page load")
	}
	return nil
}

func (l *load) do(method, path, token string, body []byte, want int) ([]byte, error) {
	req, err := http.NewRequest(method, l.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return b, fmt.Errorf("%s %s: %s %.200s", method, path, resp.Status, b)
	}
	return b, nil
}

// classes are the kinds of request, in the order each worker cycles
// through them.
var classes = []string{"issue", "verify pdf", "verify credential", "bundle", "page"}

// one sends one request of class k; worker spreads issuing over the
// departments.
func (l *load) one(k string, worker, n int) error {
	switch k {
	case "issue":
		i := (worker + n) % len(l.examples)
		_, err := l.do("POST", "/api/v1/licenses", l.tok.Departments[i].IssuerToken, l.examples[i], http.StatusCreated)
		return err
	case "verify pdf":
		_, err := l.do("POST", "/api/v1/verify", l.tok.VerifierToken, l.pdf, http.StatusOK)
		return err
	case "verify credential":
		_, err := l.do("POST", "/api/v1/verify", l.tok.VerifierToken, l.document, http.StatusOK)
		return err
	case "bundle":
		_, err := l.do("GET", "/api/v1/bundle", "", nil, http.StatusOK)
		return err
	case "page":
		resp, err := l.pages.Get(l.base + "/console")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /console: %s", resp.Status)
		}
		return nil
	}
	return fmt.Errorf("unknown class %s", k)
}

type classStats struct {
	latencies []time.Duration
	errors    int
	lastErr   error
}

func (l *load) run(duration time.Duration, workers int) map[string]*classStats {
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var mu sync.Mutex
	stats := map[string]*classStats{}
	for _, k := range classes {
		stats[k] = &classStats{}
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				k := classes[(w+n)%len(classes)]
				start := time.Now()
				err := l.one(k, w, n)
				took := time.Since(start)
				mu.Lock()
				s := stats[k]
				if err != nil {
					s.errors++
					s.lastErr = err
				} else {
					s.latencies = append(s.latencies, took)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return stats
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

func report(w io.Writer, stats map[string]*classStats, duration time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "class\trequests\terrors\treq/s\tp50\tp99\tmax\t")
	for _, k := range classes {
		s := stats[k]
		slices.Sort(s.latencies)
		ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%s\t%s\t%s\t\n", k, len(s.latencies), s.errors,
			float64(len(s.latencies))/duration.Seconds(),
			ms(percentile(s.latencies, 0.5)), ms(percentile(s.latencies, 0.99)), ms(percentile(s.latencies, 1)))
	}
	tw.Flush()
	for _, k := range classes {
		if err := stats[k].lastErr; err != nil {
			fmt.Fprintf(w, "last %s error: %v\n", k, err)
		}
	}
}

// procMemory reads VmHWM (peak resident set) and VmRSS of a process, in
// KiB, from /proc.
func procMemory(pid int) (hwm, rss int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		var v int64
		switch {
		case strings.HasPrefix(line, "VmHWM:"):
			fmt.Sscan(strings.TrimPrefix(line, "VmHWM:"), &v)
			hwm = v
		case strings.HasPrefix(line, "VmRSS:"):
			fmt.Sscan(strings.TrimPrefix(line, "VmRSS:"), &v)
			rss = v
		}
	}
	return hwm, rss
}
