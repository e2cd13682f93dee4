package consultest

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
)

// Version is the Consul version Binary builds.
const Version = "1.19.2"

// The build module: a go.mod requiring github.com/hashicorp/consul at
// Version with the exclude block of Consul's own go.mod, and its go.sum.
// It is embedded rather than kept as a nested module of the repository
// because nested modules are left out of a module's zip: users of this
// package could not build from it.
//
//go:embed buildmod/go.mod.txt buildmod/go.sum.txt
var buildmod embed.FS

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Binary returns the path of a consul binary: $CONSUL_BIN when set, else one
// built from Consul's Go module at Version into the cache directory
// (CacheDir) the first time it is needed. Concurrent callers, in this
// process or in others such as the test binaries of `go test ./...`, wait
// for one build under a file lock. A cold build downloads about 2.4 GiB of
// modules and takes minutes; later calls return at once.
func Binary() (string, error) {
	binOnce.Do(func() { binPath, binErr = findOrBuild() })
	return binPath, binErr
}

// CacheDir is where Binary builds and keeps the consul binary:
// $GOCONSUL_CACHE if set, else goconsul under the user cache directory.
func CacheDir() (string, error) {
	if d := os.Getenv("GOCONSUL_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("consultest: no cache directory (set GOCONSUL_CACHE): %w", err)
	}
	return filepath.Join(d, "goconsul"), nil
}

func findOrBuild() (string, error) {
	if p := os.Getenv("CONSUL_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("consultest: CONSUL_BIN: %w", err)
		}
		return p, nil
	}
	dir, err := CacheDir()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("consultest: %w", err)
	}
	bin := filepath.Join(dir, "consul-"+Version)
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	if isFile(bin) {
		return bin, nil
	}

	unlock, err := lockFile(filepath.Join(dir, "build.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if isFile(bin) { // built by another process while we waited
		return bin, nil
	}
	if err := build(dir, bin); err != nil {
		return "", err
	}
	return bin, nil
}

func build(dir, bin string) error {
	src := filepath.Join(dir, "src-"+Version)
	if err := os.MkdirAll(src, 0o755); err != nil {
		return fmt.Errorf("consultest: %w", err)
	}
	for _, name := range []string{"go.mod", "go.sum"} {
		b, err := buildmod.ReadFile("buildmod/" + name + ".txt")
		if err != nil {
			return fmt.Errorf("consultest: %w", err)
		}
		if err := os.WriteFile(filepath.Join(src, name), b, 0o644); err != nil {
			return fmt.Errorf("consultest: %w", err)
		}
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	tmp := bin + ".tmp"
	cmd := exec.Command(goBin, "build", "-mod=mod", "-trimpath", "-ldflags=-s -w", "-o", tmp, "github.com/hashicorp/consul")
	cmd.Dir = src
	// The caller's GOFLAGS (say -mod=vendor) and workspace must not leak in.
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off", "CGO_ENABLED=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	fmt.Fprintf(os.Stderr, "consultest: building consul %s from its Go module into %s (once; a cold build takes minutes)\n", Version, dir)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("consultest: building consul %s: %w\n%s", Version, err, out.Bytes())
	}
	if err := os.Rename(tmp, bin); err != nil {
		return fmt.Errorf("consultest: %w", err)
	}
	return nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// lockFile takes an exclusive advisory lock on path, waiting for it.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("consultest: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("consultest: lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
