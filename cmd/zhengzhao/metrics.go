package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"zhengzhao/server"
)

// minMetricsToken is the shortest metrics token serve accepts, in bytes.
const minMetricsToken = 16

// metricsChoice is where serve offers the Prometheus metrics: on a listen
// address of their own, behind a bearer token on the main address, both,
// or (the default) nowhere.
type metricsChoice struct {
	listen    *string
	tokenFile *string
}

func metricsFlags(fs *flag.FlagSet) *metricsChoice {
	return &metricsChoice{
		listen:    fs.String("metrics-listen", "", "serve /metrics on this address of its own, such as 127.0.0.1:9464 (default: not served)"),
		tokenFile: fs.String("metrics-token-file", "", "serve /metrics on --addr to requests bearing the token in this file (at least 16 characters)"),
	}
}

// token reads the metrics token, or "" when no file was given.
func (m *metricsChoice) token() (string, error) {
	if *m.tokenFile == "" {
		return "", nil
	}
	f, err := os.Open(*m.tokenFile)
	if err != nil {
		return "", usagef("--metrics-token-file: %v", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return "", usagef("--metrics-token-file: %v", err)
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < minMetricsToken || strings.ContainsAny(tok, " \t\r\n") {
		return "", usagef("--metrics-token-file: the token must be one word of at least %d characters", minMetricsToken)
	}
	return tok, nil
}

// serve runs the server on addr, and the metrics on their own address when
// asked, until ctx ends or either fails; then both are shut down.
func (m *metricsChoice) serve(ctx context.Context, srv *server.Server, addr string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n, errc := 1, make(chan error, 2)
	go func() { errc <- srv.ListenAndServe(ctx, addr) }()
	if *m.listen != "" {
		n++
		go func() {
			if err := srv.ServeMetrics(ctx, *m.listen); err != nil {
				errc <- fmt.Errorf("metrics on %s: %w", *m.listen, err)
				return
			}
			errc <- nil
		}()
	}
	var first error
	for i := 0; i < n; i++ {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
		cancel()
	}
	return first
}
