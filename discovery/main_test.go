package discovery_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/require"
)

// The shared agent, started on first use; tests that stop or restart an
// agent start their own.
var sharedAgent = consultest.NewSharedServer(consultest.Config{})

func TestMain(m *testing.M) {
	os.Exit(sharedAgent.Run(m))
}

func testAgent(t testing.TB) *consultest.Server {
	t.Helper()
	return sharedAgent.Server(t)
}

// newClient returns a client of the agent at addr; cfg's Address is set.
func newClient(t testing.TB, addr string, cfg ...consul.Config) *consul.Client {
	t.Helper()
	var c consul.Config
	if len(cfg) > 0 {
		c = cfg[0]
	}
	c.Address = addr
	client, err := consul.NewClient(c)
	require.NoError(t, err)
	return client
}

// testCtx ends with the test, and after a minute at most.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

var serviceSeq atomic.Int64

// serviceName is a service name of its own for each call: tests on the
// shared agent do not see each other's services.
func serviceName(t testing.TB) string {
	n := strings.ToLower(t.Name())
	n = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, n)
	if len(n) > 40 {
		n = n[len(n)-40:]
	}
	return fmt.Sprintf("%s-%d", strings.Trim(n, "-"), serviceSeq.Add(1))
}

// waitFor polls cond every 5ms until it holds, failing the test after d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// checkStatus returns the agent's status of a check, "" when it has none.
func checkStatus(t testing.TB, client *consul.Client, checkID string) consul.HealthStatus {
	t.Helper()
	checks, _, err := client.Checks.List(context.Background())
	require.NoError(t, err)
	if c := checks[checkID]; c != nil {
		return c.Status
	}
	return ""
}

// faultTransport fails the requests whose path contains one of the
// blocked substrings, as if the agent could not be reached, and counts
// the blocking reads in flight per path.
type faultTransport struct {
	base http.RoundTripper

	mu       sync.Mutex
	blocked  []string
	inFlight map[string]int // blocking reads by path and query
	maxIn    map[string]int
}

func newFaultTransport() *faultTransport {
	return &faultTransport{base: http.DefaultTransport, inFlight: map[string]int{}, maxIn: map[string]int{}}
}

func (f *faultTransport) block(substr ...string) {
	f.mu.Lock()
	f.blocked = substr
	f.mu.Unlock()
}

func (f *faultTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	for _, b := range f.blocked {
		if strings.Contains(req.URL.Path, b) {
			f.mu.Unlock()
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, fmt.Errorf("fault: %s blocked", req.URL.Path)
		}
	}
	key := ""
	if req.URL.Query().Has("index") {
		q := req.URL.Query()
		q.Del("index")
		q.Del("wait")
		key = req.URL.Path + "?" + q.Encode()
		f.inFlight[key]++
		f.maxIn[key] = max(f.maxIn[key], f.inFlight[key])
	}
	f.mu.Unlock()
	resp, err := f.base.RoundTrip(req)
	if key != "" {
		f.mu.Lock()
		f.inFlight[key]--
		f.mu.Unlock()
	}
	return resp, err
}

// maxInFlight returns the most blocking reads of path seen at once, by
// query (index and wait left out).
func (f *faultTransport) maxInFlight(path string) map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.maxIn {
		if strings.HasPrefix(k, path+"?") {
			out[k] = v
		}
	}
	return out
}

func (f *faultTransport) totalInFlight() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, v := range f.inFlight {
		n += v
	}
	return n
}
