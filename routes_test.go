package consul_test

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Route coverage: every public route of the agent's Consul version must be
// served by a real agent during the test suite. The evidence is the agents'
// own debug logs (Consul logs every request it handles), collected from
// every agent the tests start (consultest.OnClose), without consultest's own
// readiness probes. The route lists are testdata/consul-routes-<v>.txt, read
// from each version's agent/http_register.go. The check runs at the end of
// TestMain when the whole suite ran (no -run, -skip or -short).

var (
	servedMu sync.Mutex
	served   []consultest.Request
	versions = map[string]bool{} // versions of the agents that served them
)

func init() {
	consultest.OnClose(func(s *consultest.Server) {
		reqs := s.Requests()
		servedMu.Lock()
		defer servedMu.Unlock()
		served = append(served, reqs...)
		versions[s.Version] = true
	})
}

// route is one line of a route list: a method and a path, which takes a
// parameter after it when it ends in "/".
type route struct {
	Method, Path string
	// Suffix, for the prepared query routes that end after the ID
	// (/v1/query/<id>/execute and /explain).
	Suffix string
}

func (r route) String() string {
	if r.Suffix != "" {
		return r.Method + " " + r.Path + "<id>/" + r.Suffix
	}
	return r.Method + " " + r.Path
}

func (r route) internal() bool { return strings.HasPrefix(r.Path, "/v1/internal/") }

// readRoutes reads a route list; GET /v1/query/ also stands for the
// execute and explain routes under it, which count as routes of their own.
func readRoutes(path string) ([]route, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []route
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		method, path, ok := strings.Cut(line, " ")
		if !ok {
			return nil, fmt.Errorf("%s: bad line %q", path, line)
		}
		out = append(out, route{Method: method, Path: path})
		if method == "GET" && path == "/v1/query/" {
			out = append(out, route{Method: "GET", Path: path, Suffix: "execute"}, route{Method: "GET", Path: path, Suffix: "explain"})
		}
	}
	return out, sc.Err()
}

// match returns the route that serves a request (the longest path that
// matches), and false when none does.
func match(routes []route, method, rawURL string) (route, bool) {
	p := rawURL
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	var best route
	found := false
	for _, r := range routes {
		if r.Method != method {
			continue
		}
		var ok bool
		switch {
		case r.Suffix != "":
			rest, has := strings.CutPrefix(p, r.Path)
			id, suffix, cut := strings.Cut(rest, "/")
			ok = has && cut && id != "" && suffix == r.Suffix
		case strings.HasSuffix(r.Path, "/"):
			rest, has := strings.CutPrefix(p, r.Path)
			ok = has && (r.Path != "/v1/query/" || !strings.Contains(rest, "/"))
		default:
			ok = p == r.Path
		}
		if ok && (!found || len(r.Path)+len(r.Suffix) > len(best.Path)+len(best.Suffix)) {
			best, found = r, true
		}
	}
	return best, found
}

// routeList returns the route list of the agents' version: the 1.22.7 list
// for 1.22 and newer, else the 1.19.2 one (1.20 and 1.21 serve the same
// public routes as 1.19).
func routeList(version string) string {
	if version >= "1.22" {
		return filepath.Join("testdata", "consul-routes-1.22.7.txt")
	}
	return filepath.Join("testdata", "consul-routes-1.19.2.txt")
}

// wholeSuite reports whether every test ran: no -run, -skip or -short.
func wholeSuite() bool {
	for _, name := range []string{"test.run", "test.skip"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false
		}
	}
	return !testing.Short()
}

// checkRouteCoverage is called by TestMain after every agent was closed;
// it returns the exit code: code, or 1 when a public route of the agents'
// version was never served.
func checkRouteCoverage(code int) int {
	if code != 0 || !wholeSuite() {
		return code
	}
	servedMu.Lock()
	defer servedMu.Unlock()
	var vs []string
	for v := range versions {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	if len(vs) == 0 {
		fmt.Fprintln(os.Stderr, "route coverage: no agent ran")
		return 1
	}
	// The oldest version of the agents decides the list: every agent of
	// the run serves at least its routes.
	list := routeList(minorOf(vs[0]))
	routes, err := readRoutes(list)
	if err != nil {
		fmt.Fprintln(os.Stderr, "route coverage:", err)
		return 1
	}
	hit := map[route]int{}
	for _, r := range served {
		if m, ok := match(routes, r.Method, r.URL); ok {
			hit[m]++
		}
	}
	var public, publicHit, internal, internalHit int
	var missing []string
	for _, r := range routes {
		if r.internal() {
			internal++
			if hit[r] > 0 {
				internalHit++
			}
			continue
		}
		public++
		if hit[r] > 0 {
			publicHit++
		} else {
			missing = append(missing, r.String())
		}
	}
	fmt.Fprintf(os.Stderr, "route coverage: %d/%d public routes of %s served by real agents (consul %s, %d requests); internal UI routes: %d/%d\n",
		publicHit, public, list, strings.Join(vs, ", "), len(served), internalHit, internal)
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "route coverage: never served: %s\n", strings.Join(missing, ", "))
		return 1
	}
	return code
}

// minorOf returns "1.22" of "1.22.7", padded so that string comparison
// orders minor versions ("1.9" would sort after "1.19" otherwise).
func minorOf(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	if len(parts[1]) == 1 {
		parts[1] = "0" + parts[1]
	}
	return parts[0] + "." + parts[1]
}

func TestRouteMatch(t *testing.T) {
	routes, err := readRoutes(filepath.Join("testdata", "consul-routes-1.22.7.txt"))
	require.NoError(t, err)
	pub := 0
	for _, r := range routes {
		if !r.internal() {
			pub++
		}
	}
	assert.Equal(t, 146, pub, "public routes of 1.22.7, with the two prepared query routes under /v1/query/<id>/")
	old, err := readRoutes(filepath.Join("testdata", "consul-routes-1.19.2.txt"))
	require.NoError(t, err)
	assert.Len(t, old, len(routes)-2, "1.22 adds two routes")

	for _, tc := range []struct{ method, url, want string }{
		{"GET", "/v1/kv/a/b?recurse=", "GET /v1/kv/"},
		{"GET", "/v1/kv/", "GET /v1/kv/"},
		{"PUT", "/v1/acl/policy", "PUT /v1/acl/policy"},
		{"PUT", "/v1/acl/policy/1234", "PUT /v1/acl/policy/"},
		{"GET", "/v1/acl/policy/name/x", "GET /v1/acl/policy/name/"},
		{"GET", "/v1/query/abc", "GET /v1/query/"},
		{"GET", "/v1/query/abc/execute?near=_agent", "GET /v1/query/<id>/execute"},
		{"GET", "/v1/query/abc/explain", "GET /v1/query/<id>/explain"},
		{"GET", "/v1/imported-services?index=3", "GET /v1/imported-services"},
		{"GET", "/v1/operator/utilization", "GET /v1/operator/utilization"},
		{"GET", "/v1/internal/ui/nodes", "GET /v1/internal/ui/nodes"},
	} {
		r, ok := match(routes, tc.method, tc.url)
		if assert.True(t, ok, tc.url) {
			assert.Equal(t, tc.want, r.String(), tc.url)
		}
	}
	for _, tc := range []struct{ method, url string }{
		{"POST", "/v1/kv/a"},              // no such method
		{"GET", "/v1/acl/policy"},         // PUT only
		{"GET", "/v1/query/abc/other"},    // not a query route
		{"GET", "/v1/agent/selfish"},      // not a prefix route
		{"GET", "/v1/imported-services/"}, // exact route
	} {
		_, ok := match(routes, tc.method, tc.url)
		assert.False(t, ok, "%s %s", tc.method, tc.url)
	}
	assert.Less(t, minorOf("1.9.0"), minorOf("1.19.2"))
	assert.Equal(t, filepath.Join("testdata", "consul-routes-1.22.7.txt"), routeList(minorOf("1.22.7")))
	assert.Equal(t, filepath.Join("testdata", "consul-routes-1.19.2.txt"), routeList(minorOf("1.21.5")))
}

// TestRequestsRecordsServedRoutes proves the evidence: an agent's Requests
// lists what the code under test sent, and not consultest's own probes.
func TestRequestsRecordsServedRoutes(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	key := uniq(t, "k")
	require.NoError(t, c.KV.Put(testCtx(t), key, []byte("v")))
	reqs := srv.Requests()
	require.Contains(t, reqs, consultest.Request{Method: "PUT", URL: "/v1/kv/" + key})
	for _, r := range reqs {
		require.NotContains(t, r.URL, "consultest=probe")
	}
}
