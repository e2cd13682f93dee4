package consultest

import (
	"bufio"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Version is the Consul version consultest uses when none is requested: the
// newest supported one.
const Version = "1.22.7"

// versions are the Consul versions consultest can build, newest first; each
// has a build module under buildmod/<version>/.
var versions = []string{"1.22.7", "1.21.5", "1.20.6", "1.19.2"}

// Versions returns the Consul versions consultest can build from their Go
// modules, newest first. Version is the first. Any agent of the same minor
// series (1.19.x to 1.22.x) is supported when it comes from $CONSUL_BIN or
// PATH.
func Versions() []string { return slices.Clone(versions) }

// The build modules: for each version, a go.mod requiring
// github.com/hashicorp/consul at that version with the exclude block of
// Consul's own go.mod (plus what that version needs besides), and a go.sum
// that pins every module of the build. They are embedded rather than kept
// as nested modules of the repository because nested modules are left out
// of a module's zip: users of this package could not build from them.
//
//go:embed buildmod
var buildmod embed.FS

// AgentBinary is a consul binary and where it came from.
type AgentBinary struct {
	// Path of the binary.
	Path string
	// Version is what `consul version` reports, without the "v": "1.22.7".
	Version string
	// Source says how it was found: "$CONSUL_BIN", "PATH", "cache" (built
	// earlier into CacheDir) or "built" (built by this process).
	Source string
}

func (b AgentBinary) String() string {
	return fmt.Sprintf("consul %s at %s (%s)", b.Version, b.Path, b.Source)
}

var (
	binMu    sync.Mutex
	binFound = map[string]AgentBinary{} // by requested version
	binSaid  = map[string]bool{}        // paths announced on stderr
)

// RequestedVersion returns the Consul version asked for by $CONSUL_VERSION
// ("1.19.2" or "v1.19.2"), or "" when it is not set.
func RequestedVersion() string {
	return normVersion(os.Getenv("CONSUL_VERSION"))
}

// Binary returns the path of the consul binary for the version requested by
// $CONSUL_VERSION (see FindBinary).
func Binary() (string, error) {
	b, err := FindBinary("")
	return b.Path, err
}

// FindBinary returns a consul binary of the given version ("" means the one
// $CONSUL_VERSION requests, or none in particular), looking in this order:
//
//  1. $CONSUL_BIN, when set. If a version was requested and the binary
//     reports another, that is an error rather than a test run against the
//     wrong agent.
//  2. A consul on PATH whose `consul version` is the requested version or,
//     when none was requested, any supported version (1.19.x to 1.22.x).
//  3. The binary built from Consul's Go module into CacheDir, as
//     consul-<version> (Version when none was requested), built the first
//     time it is needed. Concurrent callers, in this process or in others
//     such as the test binaries of `go test ./...`, wait for one build
//     under a file lock. A cold build downloads about 2.4 GiB of modules and
//     takes minutes; it reports its progress on stderr (and on the terminal,
//     when stderr is not one, as under `go test`). Later calls return at
//     once.
//
// The binary used is announced once per process on stderr.
func FindBinary(version string) (AgentBinary, error) {
	want := normVersion(version)
	if want == "" {
		want = RequestedVersion()
	}
	binMu.Lock()
	defer binMu.Unlock()
	if b, ok := binFound[want]; ok {
		return b, nil
	}
	b, err := findBinary(want)
	if err != nil {
		return AgentBinary{}, err
	}
	binFound[want] = b
	if !binSaid[b.Path] {
		binSaid[b.Path] = true
		fmt.Fprintf(os.Stderr, "consultest: using %s\n", b)
	}
	return b, nil
}

func findBinary(want string) (AgentBinary, error) {
	if p := os.Getenv("CONSUL_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return AgentBinary{}, fmt.Errorf("consultest: CONSUL_BIN: %w", err)
		}
		v, err := BinaryVersion(p)
		if err != nil {
			return AgentBinary{}, fmt.Errorf("consultest: CONSUL_BIN: %w", err)
		}
		if want != "" && v != want {
			return AgentBinary{}, fmt.Errorf("consultest: CONSUL_BIN %s is consul %s, but %s was requested (CONSUL_VERSION or Config.Version)", p, v, want)
		}
		return AgentBinary{Path: p, Version: v, Source: "$CONSUL_BIN"}, nil
	}
	if p, err := exec.LookPath("consul"); err == nil {
		if v, err := BinaryVersion(p); err == nil && (v == want || want == "" && supportedSeries(v)) {
			return AgentBinary{Path: p, Version: v, Source: "PATH"}, nil
		}
	}
	if want == "" {
		want = Version
	}
	if !slices.Contains(versions, want) {
		return AgentBinary{}, fmt.Errorf("consultest: consul %s was requested, but consultest builds only %s; set CONSUL_BIN or put that consul on PATH", want, strings.Join(versions, ", "))
	}
	return buildCached(want)
}

// supportedSeries reports whether v is of a supported minor series.
func supportedSeries(v string) bool {
	for _, s := range versions {
		if minor(s) == minor(v) {
			return true
		}
	}
	return false
}

// minor returns "1.22" of "1.22.7".
func minor(v string) string {
	if i := strings.LastIndexByte(v, '.'); i > 0 && strings.Count(v, ".") == 2 {
		return v[:i]
	}
	return v
}

func normVersion(v string) string {
	return strings.TrimPrefix(strings.TrimSpace(v), "v")
}

var versionRE = regexp.MustCompile(`(?m)^Consul v(\S+)`)

// BinaryVersion runs `consul version` and returns the version it reports,
// without the "v": "1.22.7".
func BinaryVersion(path string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "version").Output()
	if err != nil {
		return "", fmt.Errorf("%s version: %w", path, err)
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("%s version: no version in %q", path, out)
	}
	return string(m[1]), nil
}

// CacheDir is where consultest builds and keeps consul binaries, one per
// version (consul-<version>): $GOCONSUL_CACHE if set, else goconsul under
// the user cache directory (~/.cache/goconsul on Linux).
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

func buildCached(version string) (AgentBinary, error) {
	dir, err := CacheDir()
	if err != nil {
		return AgentBinary{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return AgentBinary{}, fmt.Errorf("consultest: %w", err)
	}
	bin := filepath.Join(dir, "consul-"+version)
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	found := AgentBinary{Path: bin, Version: version, Source: "cache"}
	if isFile(bin) {
		return found, nil
	}
	unlock, err := lockFile(filepath.Join(dir, "build-"+version+".lock"))
	if err != nil {
		return AgentBinary{}, err
	}
	defer unlock()
	if isFile(bin) { // built by another process while we waited
		return found, nil
	}
	if err := build(version, dir, bin); err != nil {
		return AgentBinary{}, err
	}
	found.Source = "built"
	return found, nil
}

// build builds consul at version from its build module into bin, in two
// steps that each report progress: downloading the modules (go list -deps
// loads every package of the build), then compiling.
func build(version, dir, bin string) error {
	src := filepath.Join(dir, "src-"+version)
	if err := os.MkdirAll(src, 0o755); err != nil {
		return fmt.Errorf("consultest: %w", err)
	}
	for _, name := range []string{"go.mod", "go.sum"} {
		b, err := buildmod.ReadFile("buildmod/" + version + "/" + name + ".txt")
		if err != nil {
			return fmt.Errorf("consultest: build module of consul %s: %w", version, err)
		}
		if err := os.WriteFile(filepath.Join(src, name), b, 0o644); err != nil {
			return fmt.Errorf("consultest: %w", err)
		}
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	p := newProgress()
	defer p.close()
	start := time.Now()
	p.say("consultest: consul %s is not in the cache: building it from its Go module into %s, once.\n"+
		"consultest: a cold build downloads about 2.4 GiB of modules into the Go module cache and compiles for several minutes; set CONSUL_BIN to use a consul binary you have.", version, dir)

	tmp := bin + ".tmp"
	steps := []struct {
		what string
		args []string
	}{
		{"downloading modules", []string{"list", "-mod=mod", "-deps", "github.com/hashicorp/consul"}},
		{"compiling", []string{"build", "-mod=mod", "-trimpath", "-ldflags=-s -w", "-o", tmp, "github.com/hashicorp/consul"}},
	}
	for i, st := range steps {
		if err := p.run(version, fmt.Sprintf("step %d/%d, %s", i+1, len(steps), st.what), src, goBin, st.args); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, bin); err != nil {
		return fmt.Errorf("consultest: %w", err)
	}
	p.say("consultest: built consul %s in %s: %s", version, time.Since(start).Round(time.Second), bin)
	return nil
}

// progress reports a build's progress: on stderr and, when stderr is not a
// terminal (go test keeps a test's output until it ends), on the terminal
// too, if there is one.
type progress struct {
	w   io.Writer
	tty *os.File
}

func newProgress() *progress {
	p := &progress{w: os.Stderr}
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice == 0 {
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			p.tty = tty
			p.w = io.MultiWriter(os.Stderr, tty)
		}
	}
	return p
}

func (p *progress) close() {
	if p.tty != nil {
		p.tty.Close()
	}
}

func (p *progress) say(format string, args ...any) {
	fmt.Fprintf(p.w, format+"\n", args...)
}

// progressEvery is how often a running build step says it still runs.
var progressEvery = 15 * time.Second

// run runs one go command in dir, saying every progressEvery that it still
// runs (with the number of modules downloaded so far), and returns its
// output in the error when it fails.
func (p *progress) run(version, step, dir, goBin string, args []string) error {
	cmd := exec.Command(goBin, args...)
	cmd.Dir = dir
	// The caller's GOFLAGS (say -mod=vendor) and workspace must not leak in.
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off", "CGO_ENABLED=0")
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return fmt.Errorf("consultest: %w", err)
	}
	p.say("consultest: consul %s: %s: go %s", version, step, strings.Join(args, " "))
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("consultest: building consul %s: %w", version, err)
	}
	var (
		mu        sync.Mutex
		downloads int
		tail      []string // the last lines, for the error
	)
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			if strings.HasPrefix(line, "go: downloading ") {
				downloads++
			} else {
				tail = append(tail, line)
				if len(tail) > 60 {
					tail = tail[len(tail)-40:]
				}
			}
			mu.Unlock()
		}
	}()
	exited := make(chan error, 1)
	go func() {
		<-read
		exited <- cmd.Wait()
	}()
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				return fmt.Errorf("consultest: building consul %s, %s: %w\n%s", version, step, err, strings.Join(tail, "\n"))
			}
			p.say("consultest: consul %s: %s: done in %s%s", version, step, time.Since(start).Round(time.Second), modules(downloads, ""))
			return nil
		case <-tick.C:
			mu.Lock()
			n := downloads
			mu.Unlock()
			p.say("consultest: consul %s: %s: still running (%s%s)", version, step, time.Since(start).Round(time.Second), modules(n, " so far"))
		}
	}
}

// modules says how many modules a step downloaded, if any.
func modules(n int, suffix string) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", %d modules downloaded%s", n, suffix)
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
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); errors.Is(err, syscall.EWOULDBLOCK) {
		fmt.Fprintf(os.Stderr, "consultest: waiting for another process building consul (lock %s)\n", path)
	} else if err == nil {
		return unlocker(f), nil
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
	return unlocker(f), nil
}

func unlocker(f *os.File) func() {
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
}
