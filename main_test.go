package consul_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/require"
)

// The shared agents: started on first use, stopped after every test ran.
// Tests that stop or restart an agent start their own with
// consultest.NewServer instead.
var (
	sharedAgent    = consultest.NewSharedServer(consultest.Config{})
	sharedACLAgent = consultest.NewSharedServer(consultest.Config{ACL: true})
)

func TestMain(m *testing.M) {
	code := sharedAgent.Run(m, sharedACLAgent)
	code = checkRouteCoverage(code) // routes_test.go
	os.Exit(code)
}

// testAgent returns the shared agent with ACLs off.
func testAgent(t testing.TB) *consultest.Server {
	t.Helper()
	return sharedAgent.Server(t)
}

// testACLAgent returns the shared agent with ACLs on, default deny; its
// ManagementToken is the management token.
func testACLAgent(t testing.TB) *consultest.Server {
	t.Helper()
	return sharedACLAgent.Server(t)
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

// uniq returns a name unique to the test, for keys and services that must
// not collide with other tests on the shared agent.
func uniq(t testing.TB, s string) string {
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	return fmt.Sprintf("%s-%s-%d", name, s, time.Now().UnixNano()%1e9)
}

// --- wire tests: an httptest server that records exactly what is sent ---

// sent is one request as the server received it.
type sent struct {
	Method  string
	Path    string // decoded path
	RawPath string // escaped path as sent
	Query   url.Values
	Header  http.Header
	Body    string
}

// reply is what the wire server answers.
type reply struct {
	Status int               // 0 means 200
	Header map[string]string // response headers; "" removes a default one
	Body   string
}

// wire serves replies in order (the last one repeats) and records requests.
type wire struct {
	mu      sync.Mutex
	reqs    []sent
	replies []reply
	srv     *httptest.Server
}

// newWire starts a wire server and returns it with a client pointed at it.
// cfg's Address is filled in.
func newWire(t testing.TB, replies ...reply) (*wire, *consul.Client) {
	return newWireConfig(t, consul.Config{}, replies...)
}

func newWireConfig(t testing.TB, cfg consul.Config, replies ...reply) (*wire, *consul.Client) {
	t.Helper()
	w := &wire{replies: replies}
	w.srv = httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(w.srv.Close)
	cfg.Address = w.srv.URL
	c, err := consul.NewClient(cfg)
	require.NoError(t, err)
	return w, c
}

func (w *wire) serve(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.mu.Lock()
	w.reqs = append(w.reqs, sent{
		Method:  r.Method,
		Path:    r.URL.Path,
		RawPath: r.URL.EscapedPath(),
		Query:   r.URL.Query(),
		Header:  r.Header.Clone(),
		Body:    string(body),
	})
	rep := reply{}
	if n := len(w.reqs); len(w.replies) > 0 {
		rep = w.replies[min(n-1, len(w.replies)-1)]
	}
	w.mu.Unlock()
	// Every answer of Consul's HTTP handlers says the default ACL policy;
	// the 404 rule counts on it to tell Consul's own 404 from a proxy's. A
	// reply may override it, "" for an answer that is not Consul's.
	rw.Header().Set("X-Consul-Default-ACL-Policy", "allow")
	for k, v := range rep.Header {
		if v == "" {
			rw.Header().Del(k)
			continue
		}
		rw.Header().Set(k, v)
	}
	if rep.Status == 0 {
		rep.Status = http.StatusOK
	}
	rw.WriteHeader(rep.Status)
	_, _ = io.WriteString(rw, rep.Body)
}

// reset replaces the replies to come and forgets the requests so far.
func (w *wire) reset(replies ...reply) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.replies, w.reqs = replies, nil
}

// requests returns what was sent so far.
func (w *wire) requests() []sent {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]sent(nil), w.reqs...)
}

// only returns the single request sent, failing if there were more or none.
func (w *wire) only(t testing.TB) sent {
	t.Helper()
	reqs := w.requests()
	require.Len(t, reqs, 1, "want exactly one request")
	return reqs[0]
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

// noRequest fails unless nothing reached the server.
func (w *wire) noRequest(t testing.TB) {
	t.Helper()
	require.Empty(t, w.requests(), "nothing may be sent")
}
