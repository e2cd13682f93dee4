package consultest

import (
	"fmt"
	"maps"
	"os"
	"sync"
	"testing"
)

// SharedServer is an agent shared by the tests of a package: it starts on
// the first test that asks for it, and TestMain stops it once every test
// ran, printing its log when a test failed. Tests that stop, restart or
// reconfigure an agent start their own with NewServer instead.
//
//	var agent = consultest.NewSharedServer(consultest.Config{})
//
//	func TestMain(m *testing.M) { os.Exit(agent.Run(m)) }
//
//	func TestSomething(t *testing.T) {
//		srv := agent.Server(t)
//		...
//	}
//
// Its methods are safe for concurrent use.
type SharedServer struct {
	cfg  Config
	once sync.Once
	srv  *Server
	err  error
}

// NewSharedServer returns a shared agent of cfg; nothing starts yet.
//
// A shared agent serves every test of a package, all from one loopback
// address, and Consul counts connections per client address (200 by
// default, then 429 Too Many Requests): unless cfg.Extra sets "limits",
// its limits.http_max_conns_per_client is SharedMaxConnsPerClient.
func NewSharedServer(cfg Config) *SharedServer {
	if _, ok := cfg.Extra["limits"]; !ok {
		extra := maps.Clone(cfg.Extra)
		if extra == nil {
			extra = map[string]any{}
		}
		extra["limits"] = map[string]any{"http_max_conns_per_client": SharedMaxConnsPerClient}
		cfg.Extra = extra
	}
	return &SharedServer{cfg: cfg}
}

// SharedMaxConnsPerClient is a shared agent's per-client connection limit:
// room for many parallel tests, each with clients and fault proxies of its
// own, whose idle connections outlive the test.
const SharedMaxConnsPerClient = 4096

// Server returns the shared agent, starting it on first use; a failure to
// start fails t (and every later caller's test, with the same error).
func (s *SharedServer) Server(t testing.TB) *Server {
	t.Helper()
	s.once.Do(func() { s.srv, s.err = Start(s.cfg) })
	if s.err != nil {
		t.Fatal(s.err)
	}
	return s.srv
}

// Close stops the agent if it was started; failed prints the last lines
// of its log on stderr first, for a suite that failed.
func (s *SharedServer) Close(failed bool) error {
	s.once.Do(func() {}) // no start after Close
	if s.srv == nil {
		return nil
	}
	if failed {
		fmt.Fprintf(os.Stderr, "log of shared agent %s:\n%s\n", s.srv.NodeName, s.srv.LogTail(100))
	}
	return s.srv.Close()
}

// Run runs the package's tests and closes the shared agents, returning
// m.Run's code for os.Exit: the one-line TestMain of a package.
func (s *SharedServer) Run(m *testing.M, more ...*SharedServer) int {
	code := m.Run()
	for _, sh := range append([]*SharedServer{s}, more...) {
		_ = sh.Close(code != 0)
	}
	return code
}
