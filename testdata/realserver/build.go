package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// errUnreachable marks a failure to reach the module proxy: the driver
// then prints a SKIP line and exits 0.
var errUnreachable = errors.New("module proxy unreachable")

// networkHints are substrings of the go command's errors when it cannot
// reach the proxy (as opposed to a wrong module or version).
var networkHints = []string{
	"dial tcp", "no such host", "connection refused", "i/o timeout",
	"network is unreachable", "TLS handshake", "connection reset",
	"temporary failure in name resolution", "Client.Timeout", "proxyconnect",
}

// goCmd runs the go command in dir with env added to the environment and
// returns its standard output; a failure carries its standard error, and
// wraps errUnreachable when that looks like a network failure.
func goCmd(ctx context.Context, dir string, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		for _, h := range networkHints {
			if strings.Contains(msg, h) {
				return nil, fmt.Errorf("%w: go %s: %s", errUnreachable, strings.Join(args, " "), msg)
			}
		}
		return nil, fmt.Errorf("go %s: %v: %s", strings.Join(args, " "), err, msg)
	}
	return stdout.Bytes(), nil
}

// moduleSource downloads module@version into the module cache (a no-op
// when it is there) and returns its directory.
func moduleSource(ctx context.Context, tmp, module, version string) (string, error) {
	out, err := goCmd(ctx, tmp, nil, "mod", "download", "-json", module+"@"+version)
	if err != nil {
		return "", err
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", fmt.Errorf("go mod download -json %s@%s: %v", module, version, err)
	}
	if info.Error != "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", module, version, info.Error)
	}
	return info.Dir, nil
}

// shimImport is the file added beside the server's main.go: the one line
// a user adds to deploy the shim.
const shimImport = `// Added by wakeshim's realserver driver.

package main

import _ "github.com/wakeshim/wakeshim/shim/auto"
`

// buildServer builds the server module's main package (at its root) with
// the shim's blank import added and the wakeshim module replaced by the
// repository at repo, into tmp/NAME. The source is copied out of the
// read-only module cache; -trimpath keeps the build cache's keys free of the
// temporary directory, so a second build with an unchanged shim is a link.
func buildServer(ctx context.Context, src, repo, tmp, name string) (string, error) {
	dst := filepath.Join(tmp, "src")
	if err := copyTree(src, dst); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dst, "wakeshim_auto.go"), []byte(shimImport), 0o644); err != nil {
		return "", err
	}
	// GOTOOLCHAIN=local and no toolchain line: build with the Go at hand,
	// never download another toolchain.
	env := []string{"GOTOOLCHAIN=local", "GOFLAGS=-mod=mod -buildvcs=false"}
	if _, err := goCmd(ctx, dst, env, "mod", "edit", "-toolchain=none",
		"-require=github.com/wakeshim/wakeshim@v0.0.0",
		"-replace=github.com/wakeshim/wakeshim="+repo); err != nil {
		return "", err
	}
	bin := filepath.Join(tmp, name)
	if _, err := goCmd(ctx, dst, env, "build", "-trimpath", "-o", bin, "."); err != nil {
		return "", err
	}
	return bin, nil
}

// copyTree copies the regular files and directories under src to dst,
// writable.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

// timed runs f and returns how long it took.
func timed(f func() error) (time.Duration, error) {
	t0 := time.Now()
	err := f()
	return time.Since(t0), err
}
