package main

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"zhengzhao/ledger/tlog"
	"zhengzhao/signing"
	"zhengzhao/verifier"
)

// trustFile is what an office pins once and updates with every bundle it
// accepts: the platform root, and the newest bundle sequence and log
// checkpoint it has seen. Every office is so a witness of the log: a later
// bundle must continue the log it saw.
type trustFile struct {
	Version         int    `json:"version"`
	Server          string `json:"server,omitempty"`
	RootFingerprint string `json:"root_fingerprint"`
	// Sequence is the highest bundle sequence accepted; Checkpoint its
	// signed checkpoint note and Origin and LogKey the log's, to check it.
	Sequence   uint64 `json:"sequence"`
	Checkpoint string `json:"checkpoint,omitempty"`
	Origin     string `json:"origin,omitempty"`
	LogKey     string `json:"log_key,omitempty"`
}

// howToPin says how to pin a platform root.
const howToPin = "尚未固定平台根证书：请取得平台公布的根证书指纹（平台公告，或在可信的连接上 GET /api/v1/trust），然后运行一次\n" +
	"  zhengzhao bundle --server URL --root-fingerprint HEX --out bundle.json\n" +
	"或在核验时加上 --root-fingerprint HEX"

// defaultTrustPath is $ZHENGZHAO_TRUST, or trust.json in the user's
// configuration directory.
func defaultTrustPath() string {
	if p := os.Getenv("ZHENGZHAO_TRUST"); p != "" {
		return p
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "zhengzhao-trust.json"
	}
	return filepath.Join(dir, "zhengzhao", "trust.json")
}

// loadTrust reads a trust file; a missing file is (nil, nil).
func loadTrust(path string) (*trustFile, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var t trustFile
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("trust file %s: %w", path, err)
	}
	if t.RootFingerprint == "" {
		return nil, fmt.Errorf("trust file %s pins no root", path)
	}
	return &t, nil
}

func saveTrust(path string, t *trustFile) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	data, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// pinnedRoot is the root fingerprint to verify with: the flag's, or the
// trust file's. A flag that contradicts the trust file is refused.
func pinnedRoot(flagFP string, t *trustFile, trustPath string) (string, error) {
	flagFP = strings.ToLower(strings.TrimSpace(flagFP))
	switch {
	case flagFP != "" && t != nil && t.RootFingerprint != flagFP:
		return "", usagef("--root-fingerprint %s 不是 %s 中固定的根证书（%s）；要改用另一根证书，请先删除该文件", flagFP, trustPath, t.RootFingerprint)
	case flagFP != "":
		if len(flagFP) != 64 || strings.Trim(flagFP, "0123456789abcdef") != "" {
			return "", usagef("--root-fingerprint 须为 64 位十六进制数（根证书的 SM3）")
		}
		return flagFP, nil
	case t != nil:
		return t.RootFingerprint, nil
	}
	return "", usageError{errors.New(howToPin)}
}

// checkSuccessor refuses a bundle older than the held one, or whose log
// does not continue the held one's (a fork or a rollback); proof fetches a
// consistency proof from the server when the log grew.
func checkSuccessor(ctx context.Context, held *trustFile, b *verifier.TrustBundle, proof func(ctx context.Context, from, to uint64) ([][]byte, error)) error {
	if held == nil || held.Checkpoint == "" {
		return nil
	}
	if b.Sequence < held.Sequence {
		return fmt.Errorf("refused: this bundle is sequence %d, older than sequence %d already accepted (a replayed old bundle would hide later cancellations)", b.Sequence, held.Sequence)
	}
	logKey, err := parsePEMPublicKey(held.LogKey)
	if err != nil {
		return fmt.Errorf("trust file: log key: %w", err)
	}
	old, err := tlog.VerifyCheckpoint(held.Checkpoint, held.Origin, logKey)
	if err != nil {
		return fmt.Errorf("trust file: checkpoint: %w", err)
	}
	cur, err := tlog.VerifyCheckpoint(b.Checkpoint, b.Log.Origin, logKey)
	if err != nil {
		return fmt.Errorf("refused: the bundle's checkpoint is not signed by the log key seen before: %w", err)
	}
	switch {
	case cur.Size < old.Size:
		return fmt.Errorf("refused: the log has %d entries, fewer than the %d seen before (rolled back)", cur.Size, old.Size)
	case cur.Size == old.Size:
		if string(cur.Root) != string(old.Root) {
			return fmt.Errorf("refused: the log of %d entries differs from the one seen before (a fork)", cur.Size)
		}
		return nil
	}
	p, err := proof(ctx, old.Size, cur.Size)
	if err != nil {
		return fmt.Errorf("consistency proof %d→%d: %w", old.Size, cur.Size, err)
	}
	if err := tlog.VerifyConsistency(old.Size, cur.Size, p, old.Root, cur.Root); err != nil {
		return fmt.Errorf("refused: the log of %d entries does not continue the %d seen before (a fork): %w", cur.Size, old.Size, err)
	}
	return nil
}

// serverConsistency asks a server for a consistency proof.
func serverConsistency(server string) func(ctx context.Context, from, to uint64) ([][]byte, error) {
	return func(ctx context.Context, from, to uint64) ([][]byte, error) {
		var resp struct {
			Proof [][]byte `json:"proof"`
		}
		url := strings.TrimRight(server, "/") + "/api/v1/log/consistency?from=" + strconv.FormatUint(from, 10) + "&to=" + strconv.FormatUint(to, 10)
		if err := call(ctx, http.MethodGet, url, "", nil, &resp); err != nil {
			return nil, err
		}
		return resp.Proof, nil
	}
}

// trustOf is the trust file after accepting b.
func trustOf(server, fp string, b *verifier.TrustBundle) *trustFile {
	return &trustFile{
		Version: 1, Server: server, RootFingerprint: fp,
		Sequence: b.Sequence, Checkpoint: b.Checkpoint, Origin: b.Log.Origin, LogKey: b.Log.PublicKey,
	}
}

// parsePEMPublicKey reads the log's PEM "PUBLIC KEY" as a bundle carries it.
func parsePEMPublicKey(s string) (*ecdsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM PUBLIC KEY")
	}
	return signing.ParsePublicKey(block.Bytes)
}

// openPinnedBundle reads and checks the trust bundle a command was given:
// signed by the pinned root (--root-fingerprint or the trust file), and not
// older than the bundle the trust file last accepted (a replayed old bundle
// would hide later revocations).
func openPinnedBundle(bundleFile, rootFP, trustPath string) (*verifier.TrustBundle, error) {
	held, err := loadTrust(trustPath)
	if err != nil {
		return nil, usageError{err}
	}
	fp, err := pinnedRoot(rootFP, held, trustPath)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(bundleFile)
	if err != nil {
		return nil, usageError{err}
	}
	bundle, err := verifier.ParseBundle(raw, verifier.WithRootFingerprint(fp))
	if err != nil {
		return nil, usagef("信任包 %s 无法使用：%s", bundleFile, verifier.Describe(err))
	}
	if held != nil && bundle.Sequence < held.Sequence {
		return nil, usagef("信任包 %s 是第 %d 版，比已接受的第 %d 版旧（重放的旧信任包会掩盖之后的注销）：请用 zhengzhao bundle 获取新的信任包", bundleFile, bundle.Sequence, held.Sequence)
	}
	return bundle, nil
}
