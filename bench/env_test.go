package bench

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/bench/internal/fixture"
	"github.com/goconsul/consul/bench/internal/replay"
	"github.com/goconsul/consul/consultest"
	"github.com/hashicorp/consul/api"
)

// env is one target (the replay server or a real agent) and a client of
// each kind talking to it.
type env struct {
	addr     string
	base     string // "http://" + addr
	ours     *consul.Client
	official *api.Client
	floor    *http.Client
}

func newEnv(addr string) (*env, error) { return newEnvCompression(addr, true) }

// newEnvCompression returns clients that ask for gzip (as Go's transport
// does by default, and so both libraries) or that do not.
func newEnvCompression(addr string, gzip bool) (*env, error) {
	var oursCfg consul.Config
	if !gzip {
		oursCfg.Transport = &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64}
	}
	oursCfg.Address = addr
	ours, err := consul.NewClient(oursCfg)
	if err != nil {
		return nil, err
	}
	officialCfg := &api.Config{Address: addr}
	if !gzip {
		officialCfg.Transport = &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64}
	}
	official, err := api.NewClient(officialCfg)
	if err != nil {
		return nil, err
	}
	// The floor: net/http's own transport, as any program would use it.
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	t.DisableCompression = !gzip
	return &env{addr: addr, base: "http://" + addr, ours: ours, official: official, floor: &http.Client{Transport: t}}, nil
}

var (
	replayOnce sync.Once
	replayEnv  *env
	replaySrv  *replay.Server
	replayRec  *replay.Recording
	replayErr  error

	replayCmd   *exec.Cmd
	replayStdin io.WriteCloser

	identityOnce sync.Once
	identityEnv  *env

	agentOnce sync.Once
	agentEnv  *env
	agentSrv  *consultest.Server
	agentErr  error
)

// The replay server runs in a child process (this test binary run again
// with replayServeEnv set) so that its allocations are not counted in the
// clients' allocs/op; -replay.inproc runs it in the benchmark's process.
var replayInproc = flag.Bool("replay.inproc", false, "run the replay server in the benchmark process")

const replayServeEnv = "GOCONSUL_BENCH_REPLAY_SERVE"

func TestMain(m *testing.M) {
	if os.Getenv(replayServeEnv) == "1" {
		serveReplay()
		return
	}
	flag.Parse()
	code := m.Run()
	if replaySrv != nil {
		replaySrv.Close()
	}
	if replayCmd != nil {
		replayStdin.Close() // the child exits when its stdin closes
		_ = replayCmd.Wait()
	}
	if agentSrv != nil {
		agentSrv.Close()
	}
	os.Exit(code)
}

// replayTarget returns the environment of the replay server.
func replayTarget(tb testing.TB) *env {
	tb.Helper()
	replayOnce.Do(func() {
		var addr string
		if *replayInproc {
			replayRec, replayErr = replay.Load("testdata")
			if replayErr != nil {
				return
			}
			replaySrv = replay.NewServer(replayRec)
			addr = replaySrv.Addr()
		} else if addr, replayErr = startReplayChild(); replayErr != nil {
			return
		}
		replayEnv, replayErr = newEnv(addr)
	})
	if replayErr != nil {
		tb.Fatal(replayErr)
	}
	return replayEnv
}

// replayIdentityTarget returns clients of the replay server that do not
// ask for gzip.
func replayIdentityTarget(tb testing.TB) *env {
	tb.Helper()
	e := replayTarget(tb)
	identityOnce.Do(func() { identityEnv, replayErr = newEnvCompression(e.addr, false) })
	if replayErr != nil {
		tb.Fatal(replayErr)
	}
	return identityEnv
}

// agentTarget returns the environment of a real agent started with
// consultest and filled with the data set.
func agentTarget(tb testing.TB) *env {
	tb.Helper()
	agentOnce.Do(func() {
		agentSrv, agentErr = consultest.Start(consultest.Config{})
		if agentErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if agentErr = fixture.Populate(ctx, agentSrv.HTTPAddr); agentErr != nil {
			return
		}
		agentEnv, agentErr = newEnv(agentSrv.HTTPAddr)
	})
	if agentErr != nil {
		tb.Fatal(agentErr)
	}
	return agentEnv
}

// floorDo sends a request with the bare net/http client and throws the
// answer away unparsed.
func (e *env) floorDo(ctx context.Context, method, path string, body []byte) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.base+path, rd)
	if err != nil {
		return err
	}
	resp, err := e.floor.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return err
}

// floorIndex sends a GET and returns the X-Consul-Index header, throwing
// the body away.
func (e *env) floorIndex(ctx context.Context, path string) (uint64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.base+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := e.floor.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(resp.Header.Get("X-Consul-Index"), 10, 64)
}

// startReplayChild runs this test binary again as a replay server and
// returns its address.
func startReplayChild() (string, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), replayServeEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stdin.Close()
		_ = cmd.Wait()
		return "", fmt.Errorf("replay server: %w", err)
	}
	replayCmd, replayStdin = cmd, stdin
	return strings.TrimSpace(strings.TrimPrefix(line, "replay ")), nil
}

// serveReplay is the child process: it serves the recording and prints
// its address, until its stdin closes.
func serveReplay() {
	rec, err := replay.Load("testdata")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv := replay.NewServer(rec)
	fmt.Printf("replay %s\n", srv.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	srv.Close()
	os.Exit(0)
}
