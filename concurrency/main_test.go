package concurrency_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/concurrency"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/require"
)

// The shared agent: started on first use, stopped after every test ran.
// Tests that stop or restart an agent start their own with
// consultest.NewServer instead.
var sharedAgent = consultest.NewSharedServer(consultest.Config{})

// defaultParallel is the parallelism of this package's tests unless
// -test.parallel is given: they spend their time waiting for TTLs and
// blocking reads, not computing, so GOMAXPROCS (the default) would leave
// them queued behind each other on a small machine.
const defaultParallel = 8

func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", strconv.Itoa(max(defaultParallel, runtime.GOMAXPROCS(0))))
	}
	os.Exit(sharedAgent.Run(m))
}

// testAgent returns the shared agent (ACLs off, session_ttl_min 1s).
func testAgent(t testing.TB) *consultest.Server {
	t.Helper()
	return sharedAgent.Server(t)
}

// newClient returns a client of srv; cfg's Address is filled in.
func newClient(t testing.TB, srv *consultest.Server, cfg ...consul.Config) *consul.Client {
	t.Helper()
	var c consul.Config
	if len(cfg) > 0 {
		c = cfg[0]
	}
	c.Address = srv.HTTPAddr
	client, err := consul.NewClient(c)
	require.NoError(t, err)
	return client
}

// testCtx is a context that ends with the test, bounded to a minute.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// uniq returns a name unique to the test, for keys and sessions that must
// not collide with other tests on the shared agent.
func uniq(t testing.TB, s string) string {
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	return fmt.Sprintf("%s-%s-%d", name, s, time.Now().UnixNano()%1e9)
}

// testOpts are fast options for tests: a short TTL and waits, no
// lock-delay, sessions named name.
func testOpts(name string) *concurrency.LockOptions {
	return &concurrency.LockOptions{
		SessionOptions: &concurrency.SessionOptions{Name: name, TTL: 10 * time.Second, LockDelay: consul.NoLockDelay},
		WaitTime:       5 * time.Second,
		RetryInterval:  100 * time.Millisecond,
	}
}

// faultOpts are the options of the fault tests: a 2s TTL (the test agents
// accept TTLs from 1s), no lock-delay, short waits and backoffs.
func faultOpts(name string) *concurrency.LockOptions {
	return &concurrency.LockOptions{
		SessionOptions: &concurrency.SessionOptions{Name: name, TTL: 2 * time.Second, LockDelay: consul.NoLockDelay},
		WaitTime:       time.Second,
		RetryInterval:  100 * time.Millisecond,
		MaxBackoff:     500 * time.Millisecond,
	}
}

// sessionsNamed counts the sessions with this name.
func sessionsNamed(t *testing.T, c *consul.Client, name string) int {
	t.Helper()
	list, _, err := c.Session.List(testCtx(t))
	require.NoError(t, err)
	n := 0
	for _, s := range list {
		if s.Name == name {
			n++
		}
	}
	return n
}

// waitDone waits for ctx to end, failing the test after d.
func waitDone(t *testing.T, ctx context.Context, d time.Duration, what string) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(d):
		t.Fatalf("%s: not within %s", what, d)
	}
}

// --- wire tests: an httptest server that records exactly what is sent ---

// sent is one request as the server received it.
type sent struct {
	Method  string
	RawPath string // escaped path as sent
	Query   url.Values
	Body    string
}

// reply is what the wire server answers.
type reply struct {
	Status int               // 0 means 200
	Header map[string]string // response headers
	Body   string
}

// wire serves replies in order (the last one repeats) and records requests.
type wire struct {
	mu      sync.Mutex
	reqs    []sent
	replies []reply
}

// newWire starts a wire server and returns it with a client pointed at it.
func newWire(t testing.TB, replies ...reply) (*wire, *consul.Client) {
	t.Helper()
	w := &wire{replies: replies}
	srv := httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(srv.Close)
	c, err := consul.NewClient(consul.Config{Address: srv.URL})
	require.NoError(t, err)
	return w, c
}

func (w *wire) serve(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.mu.Lock()
	w.reqs = append(w.reqs, sent{Method: r.Method, RawPath: r.URL.EscapedPath(), Query: r.URL.Query(), Body: string(body)})
	rep := reply{}
	if n := len(w.reqs); len(w.replies) > 0 {
		rep = w.replies[min(n-1, len(w.replies)-1)]
	}
	w.mu.Unlock()
	// Consul's own answers say the default ACL policy: the 404 rule counts
	// on it.
	rw.Header().Set("X-Consul-Default-ACL-Policy", "allow")
	for k, v := range rep.Header {
		rw.Header().Set(k, v)
	}
	if rep.Status == 0 {
		rep.Status = http.StatusOK
	}
	rw.WriteHeader(rep.Status)
	_, _ = io.WriteString(rw, rep.Body)
}

// requests returns what was sent so far.
func (w *wire) requests() []sent {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]sent(nil), w.reqs...)
}

// expect checks a request's method, escaped path and exact query.
func (s sent) expect(t testing.TB, method, rawPath string, query url.Values) {
	t.Helper()
	require.Equal(t, method, s.Method, "method")
	require.Equal(t, rawPath, s.RawPath, "path")
	if query == nil {
		query = url.Values{}
	}
	require.Equal(t, query, s.Query, "query")
}

// q builds url.Values from key, value pairs; "" values are bare keys.
func q(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

// sharedSession is a session for LockOptions.Session (TTL 10s, no
// lock-delay), closed when the test ends.
func sharedSession(t testing.TB, c *consul.Client) *concurrency.Session {
	t.Helper()
	sess, err := concurrency.NewSession(testCtx(t), c, &concurrency.SessionOptions{TTL: 10 * time.Second, LockDelay: consul.NoLockDelay})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sess.Close(context.Background()) })
	return sess
}

// proxiedTerm starts a term of an election (value "a") on a client behind
// a fault proxy, resigned when the test ends.
func proxiedTerm(t *testing.T) (srv *consultest.Server, p *consultest.FaultProxy, key string, e *concurrency.Election, term context.Context) {
	t.Helper()
	srv = testAgent(t)
	c, p := proxiedClient(t, srv)
	key = uniq(t, "leader")
	e, err := concurrency.NewElection(c, key, testOpts(uniq(t, "s")))
	require.NoError(t, err)
	term, err = e.Campaign(testCtx(t), []byte("a"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Resign(context.Background()) })
	return srv, p, key, e, term
}
