// Package fabrictest runs the tests tagged "fabric" against a real local
// Fabric network (network/up.sh): it uses the one named by
// $ZZ_FABRIC_CONNECTION or starts its own, and stops and restarts nodes.
package fabrictest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"zhengzhao/signing"
)

// Net is a running network.
type Net struct {
	// Dir is the network directory (ZZ_FABRIC_NET).
	Dir string
	// Connection is its connection.json.
	Connection string
	root       string
	started    bool
}

// Shared returns the network $ZZ_FABRIC_CONNECTION names (CI starts one
// before the tests), or starts one as Start does.
func Shared(portBase int, args ...string) (*Net, error) {
	if c := os.Getenv("ZZ_FABRIC_CONNECTION"); c != "" {
		root, err := repoRoot()
		if err != nil {
			return nil, err
		}
		return &Net{Dir: filepath.Dir(c), Connection: c, root: root}, nil
	}
	return Start(portBase, args...)
}

// Start starts a network of its own with network/up.sh (args, for example
// "--raft", "3") in a new directory on the ports from portBase (see
// network/README.md; two networks need bases 1000 apart). network/install.sh
// must have run. Stop brings it down.
func Start(portBase int, args ...string) (*Net, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "zz-fabric-test-")
	if err != nil {
		return nil, err
	}
	n := &Net{Dir: dir, Connection: filepath.Join(dir, "connection.json"), root: root, started: true}
	cmd := exec.Command(filepath.Join(root, "network", "up.sh"), args...)
	cmd.Env = append(os.Environ(), "ZZ_FABRIC_NET="+dir, "ZZ_FABRIC_PORT_BASE="+strconv.Itoa(portBase))
	out, err := cmd.CombinedOutput()
	if err != nil {
		n.Stop()
		return nil, fmt.Errorf("network/up.sh: %w\n%s", err, out)
	}
	return n, nil
}

// Stop brings down a network Start started (not one named by the
// environment).
func (n *Net) Stop() error {
	if !n.started {
		return nil
	}
	cmd := exec.Command(filepath.Join(n.root, "network", "down.sh"))
	cmd.Env = append(os.Environ(), "ZZ_FABRIC_NET="+n.Dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("network/down.sh: %w\n%s", err, out)
	}
	return nil
}

// StopNode stops node name ("peer0.org2", "orderer1", …) by the PID file
// up.sh wrote, and returns a function that starts it again with the same
// command line and environment (read from /proc before stopping it).
func (n *Net) StopNode(name string) (restart func() error, err error) {
	pidFile := filepath.Join(n.Dir, "pids", name+".pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return nil, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pidFile, err)
	}
	argv, err := procList(pid, "cmdline")
	if err != nil {
		return nil, err
	}
	env, err := procList(pid, "environ")
	if err != nil {
		return nil, err
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, fmt.Errorf("process %d has no command line", pid)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return nil, fmt.Errorf("stop %s (pid %d): %w", name, pid, err)
	}
	for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if syscall.Kill(pid, 0) == nil {
		syscall.Kill(pid, syscall.SIGKILL)
		time.Sleep(200 * time.Millisecond)
	}
	return func() error {
		logf, err := os.OpenFile(filepath.Join(n.Dir, "logs", name+".log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		defer logf.Close()
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("restart %s: %w", name, err)
		}
		// down.sh stops it by this PID file.
		if err := os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
			return err
		}
		go cmd.Wait()
		return nil
	}, nil
}

func procList(pid int, what string) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, what))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0}) {
		out = append(out, string(f))
	}
	return out, nil
}

// testLogPassphrase protects the test log key; it is a test fixture.
var testLogPassphrase = []byte("zhengzhao fabric test log")

// LogKey returns the signer of the network's test log, creating it in the
// network directory the first time: the channel records one log key, so
// every test that publishes checkpoints on this network uses this one, with
// the log in LogDir.
func (n *Net) LogKey() (signing.Signer, error) {
	path := filepath.Join(n.Dir, "zz-testlog", "key.pem")
	if b, err := os.ReadFile(path); err == nil {
		k, err := signing.DecryptPrivateKey(b, testLogPassphrase)
		if err != nil {
			return nil, err
		}
		return signing.NewKeySigner(k), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	k, err := signing.GenerateKey()
	if err != nil {
		return nil, err
	}
	if err := signing.WriteKeyFile(path, k, testLogPassphrase); err != nil {
		return nil, err
	}
	return signing.NewKeySigner(k), nil
}

// LogDir is the directory of the network's test log (see LogKey).
func (n *Net) LogDir() string { return filepath.Join(n.Dir, "zz-testlog", "log") }

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module zhengzhao\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("fabrictest: not inside the zhengzhao module")
		}
		dir = parent
	}
}
