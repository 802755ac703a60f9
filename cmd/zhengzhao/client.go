package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"zhengzhao/license"
	"zhengzhao/verifier"
)

var httpClient = &http.Client{Timeout: 60 * time.Second}

// call sends one API request and decodes a 2xx JSON answer into out; any
// other answer becomes an error carrying the server's message.
func call(ctx context.Context, method, url, token string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return usagef("%v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Code, Message, Field string }
		if json.Unmarshal(data, &e) == nil && e.Message != "" {
			if e.Field != "" {
				return fmt.Errorf("%s: %s (field %s)", resp.Status, e.Message, e.Field)
			}
			return fmt.Errorf("%s: %s", resp.Status, e.Message)
		}
		return fmt.Errorf("%s", resp.Status)
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = data
		return nil
	}
	return json.Unmarshal(data, out)
}

func runIssue(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("issue", "issue --server URL --token TOKEN --request FILE", stderr)
	srv := fs.String("server", "http://127.0.0.1:8080", "server URL")
	token := fs.String("token", os.Getenv("ZHENGZHAO_TOKEN"), "issuer bearer token (default: $ZHENGZHAO_TOKEN)")
	reqFile := fs.String("request", "", "issue request JSON file, - for stdin (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *reqFile == "" {
		return usagef("--request is required")
	}
	body, err := readInput(*reqFile)
	if err != nil {
		return err
	}
	var doc verifier.Document
	if err := call(ctx, http.MethodPost, strings.TrimRight(*srv, "/")+"/api/v1/licenses", *token, body, &doc); err != nil {
		return err
	}
	// Exactly the credential and its receipt: the form `verify` reads.
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}

func runBundle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bundle", "bundle --server URL [--root-fingerprint HEX] --out FILE [--trust FILE]", stderr)
	srv := fs.String("server", "http://127.0.0.1:8080", "server URL")
	out := fs.String("out", "", "where to write the bundle (required; - for stdout)")
	rootFP := fs.String("root-fingerprint", "", "the platform root's fingerprint (hex SM3 of its certificate) to pin, the first time")
	trustPath := fs.String("trust", defaultTrustPath(), "the trust file: the pinned root and the newest bundle accepted")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out is required")
	}
	held, err := loadTrust(*trustPath)
	if err != nil {
		return usageError{err}
	}
	fp, err := pinnedRoot(*rootFP, held, *trustPath)
	if err != nil {
		return err
	}
	var raw []byte
	if err := call(ctx, http.MethodGet, strings.TrimRight(*srv, "/")+"/api/v1/bundle", "", nil, &raw); err != nil {
		return err
	}
	b, err := verifier.ParseBundle(raw, verifier.WithRootFingerprint(fp))
	if err != nil {
		return fmt.Errorf("the server's bundle does not verify: %w", err)
	}
	if err := checkSuccessor(ctx, held, b, serverConsistency(*srv)); err != nil {
		return err
	}
	if *out == "-" {
		if _, err = stdout.Write(raw); err != nil {
			return err
		}
	} else if err := os.WriteFile(*out, raw, 0o644); err != nil {
		return err
	}
	if err := saveTrust(*trustPath, trustOf(*srv, fp, b)); err != nil {
		return fmt.Errorf("trust file: %w", err)
	}
	if *out != "-" {
		fmt.Fprintf(stdout, "信任包第 %d 版（%s 签发，有效至 %s）：%d 个部门，%d 个状态列表；已写入 %s\n平台根证书指纹 %s 已固定在 %s\n",
			b.Sequence, b.IssuedAt.In(license.ChinaTime).Format(time.DateTime), b.ValidUntil.In(license.ChinaTime).Format(time.DateTime),
			len(b.Departments), len(b.StatusLists), *out, fp, *trustPath)
	}
	return nil
}

func readInput(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(io.LimitReader(os.Stdin, 64<<20))
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, usageError{err}
	}
	return b, nil
}
