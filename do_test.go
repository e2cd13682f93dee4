package consul_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDoWire(t *testing.T) {
	w, c := newWireConfig(t, consul.Config{Token: "t0", Datacenter: "dc9"},
		reply{Header: map[string]string{"X-Consul-Index": "12"}, Body: `{"Name":"team-a","Description":"d"}`})
	ctx := testCtx(t)
	var ns struct{ Name, Description string }
	meta, err := c.Do(ctx, &consul.Request{Route: "/v1/namespace/{name}", Args: []string{"team a"}}, &ns, consul.Stale(), consul.Token("t1"))
	require.NoError(t, err)
	assert.Equal(t, "team-a", ns.Name)
	assert.Equal(t, uint64(12), meta.Index)
	r := w.only(t)
	r.expect(t, "GET", "/v1/namespace/team%20a", q("dc", "dc9", "stale", ""))
	assert.Equal(t, "t1", r.Header.Get("X-Consul-Token"))

	// A write with params in key order, a JSON body and a raw answer.
	w.reset(reply{Body: "true"})
	var raw []byte
	_, err = c.Do(ctx, &consul.Request{Method: "PUT", Route: "/v1/kv/{key...}", Args: []string{"a/b c"},
		Params: url.Values{"flags": {"3"}, "cas": {"0"}, "acquire": nil}, Body: map[string]int{"x": 1}}, &raw)
	require.NoError(t, err)
	assert.Equal(t, "true", string(raw))
	r = w.only(t)
	r.expect(t, "PUT", "/v1/kv/a/b%20c", q("acquire", "", "cas", "0", "flags", "3", "dc", "dc9"))
	assert.JSONEq(t, `{"x":1}`, r.Body)
	assert.Equal(t, "t0", r.Header.Get("X-Consul-Token"))

	// Optional applies the 404 rule; without it a 404 is an error.
	w.reset(reply{Status: 404, Header: map[string]string{"X-Consul-Index": "3"}})
	var out map[string]any
	meta, err = c.Do(ctx, &consul.Request{Route: "/v1/namespace/{name}", Args: []string{"x"}, Optional: true}, &out)
	require.NoError(t, err)
	assert.Nil(t, out)
	assert.Equal(t, uint64(3), meta.Index)
	_, err = c.Do(ctx, &consul.Request{Route: "/v1/namespace/{name}", Args: []string{"x"}}, &out)
	require.ErrorIs(t, err, consul.ErrNotFound)

	// A blocking read sends its index and wait.
	w.reset(reply{Header: map[string]string{"X-Consul-Index": "13"}, Body: `[]`})
	_, err = c.Do(ctx, &consul.Request{Route: "/v1/namespaces"}, nil, consul.WaitIndex(12), consul.WaitTime(time.Second))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/namespaces", q("dc", "dc9", "index", "12", "wait", "1s"))
}

func TestDoRefusesBadRequests(t *testing.T) {
	w, c := newWire(t, reply{Body: "{}"})
	ctx := testCtx(t)
	for _, req := range []*consul.Request{
		nil,
		{Route: "v1/kv/x"},
		{Route: "/v2/x"},
		{Route: "/v1/kv/../acl/token/self"},
		{Route: "/v1/kv/./x"},
		{Route: "/v1//x"},
		{Route: "/v1/kv/x?raw"},
		{Route: "/v1/kv/x#y"},
		{Route: "/v1/kv/a b"},
		{Route: "/v1/kv/a%2Fb"},
		{Route: "/v1/kv/\x00"},
		{Route: "/v1/namespace/{name}"},
		{Route: "/v1/namespace/{name}", Args: []string{"a", "b"}},
		{Route: "/v1/namespace", Args: []string{"a"}},
		{Route: "/v1/namespace/{name}", Args: []string{".."}},
		{Route: "/v1/namespace/{name}", Args: []string{"../acl"}},
		{Route: "/v1/namespace/{name}", Args: []string{"a/b"}},
		{Route: "/v1/namespace/{name}", Args: []string{"%2e%2e"}},
		{Route: "/v1/namespace/{name}", Args: []string{""}},
		{Route: "/v1/namespace/{name}", Args: []string{"a\nb"}},
		{Method: "get", Route: "/v1/namespaces"},
		{Method: "GET /x", Route: "/v1/namespaces"},
	} {
		_, err := c.Do(ctx, req, nil)
		var ae *consul.ArgumentError
		require.ErrorAs(t, err, &ae, "%+v", req)
	}
	w.noRequest(t)
}

// Do against a real agent: a route the package has methods for, and an
// Enterprise route that Consul CE does not serve.
func TestDoIntegration(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	key := uniq(t, "do") + "/x y"
	var ok bool
	_, err := c.Do(ctx, &consul.Request{Method: "PUT", Route: "/v1/kv/{key...}", Args: []string{key}, Body: []byte("v1")}, &ok)
	require.NoError(t, err)
	require.True(t, ok)
	var raw []byte
	meta, err := c.Do(ctx, &consul.Request{Route: "/v1/kv/{key...}", Args: []string{key}, Params: url.Values{"raw": nil}}, &raw)
	require.NoError(t, err)
	assert.Equal(t, "v1", string(raw))
	assert.NotZero(t, meta.Index)
	pair, _, err := c.KV.Get(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, "v1", string(pair.Value))

	raw = nil
	_, err = c.Do(ctx, &consul.Request{Route: "/v1/kv/{key...}", Args: []string{key + "-missing"}, Optional: true}, &raw)
	require.NoError(t, err)
	assert.Nil(t, raw)

	var leader string
	_, err = c.Do(ctx, &consul.Request{Route: "/v1/status/leader"}, &leader)
	require.NoError(t, err)
	assert.Equal(t, srv.ServerAddr, leader)

	// Consul CE does not serve the namespace routes: a 404 that is an
	// error, not an absent object, even with Optional (it is not the
	// answer of a handler of Consul's, which would carry its headers).
	_, err = c.Do(ctx, &consul.Request{Route: "/v1/namespaces"}, nil)
	require.ErrorIs(t, err, consul.ErrNotFound)
}

// PathPrefix reaches an agent behind a reverse proxy at a sub-path, and
// applies to the fallbacks too.
func TestPathPrefixBehindReverseProxy(t *testing.T) {
	srv := testAgent(t)
	target, err := url.Parse("http://" + srv.HTTPAddr)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var seen []string
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.URL.Path)
		rest, ok := strings.CutPrefix(r.URL.Path, "/consul/")
		if !ok {
			http.Error(w, "not under /consul", http.StatusNotFound)
			return
		}
		r.URL.Path = "/" + rest
		r.URL.RawPath = ""
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := l.Addr().String()
	require.NoError(t, l.Close())

	for _, prefix := range []string{"/consul", "consul/", "/consul/"} {
		c, err := consul.NewClient(consul.Config{Address: dead, Fallbacks: []string{front.URL}, PathPrefix: prefix})
		require.NoError(t, err)
		ctx := testCtx(t)
		key := uniq(t, "prefixed")
		require.NoError(t, c.KV.Put(ctx, key, []byte("v")))
		assert.Equal(t, front.URL+"/consul", c.Address())
		pair, _, err := c.KV.Get(ctx, key)
		require.NoError(t, err)
		assert.Equal(t, "v", string(pair.Value))
		missing, _, err := c.KV.Get(ctx, key+"-missing")
		require.NoError(t, err, "Consul's 404 passes the proxy with its headers")
		assert.Nil(t, missing)
	}
	for _, p := range seen {
		assert.True(t, strings.HasPrefix(p, "/consul/v1/"), p)
	}
	for _, bad := range []string{"/a/../b", "/a b", "/a?b", "/a//b", "/%2e"} {
		_, err := consul.NewClient(consul.Config{PathPrefix: bad})
		var ae *consul.ArgumentError
		require.ErrorAs(t, err, &ae, bad)
	}
}
