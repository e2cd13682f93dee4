package discovery_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/discovery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseServiceHost(t *testing.T) {
	for host, want := range map[string]*discovery.Query{
		"web.service.consul":             {Service: "web"},
		"web.service.consul.":            {Service: "web"},
		"Web.SERVICE.Consul":             {Service: "Web"},
		"v2.web.service.consul":          {Service: "web", Tags: []string{"v2"}},
		"web.service.dc2.consul":         {Service: "web", Datacenter: "dc2"},
		"v2.web.service.dc2.consul":      {Service: "web", Tags: []string{"v2"}, Datacenter: "dc2"},
		"web.node.consul":                nil,
		"a.b.web.service.consul":         nil,
		"service.consul":                 nil,
		".service.consul":                nil,
		"web.service.consul.example.com": nil,
		"example.com":                    nil,
		"127.0.0.1":                      nil,
		"consul":                         nil,
	} {
		q, ok := discovery.ParseServiceHost(host)
		if want == nil {
			assert.False(t, ok, host)
			continue
		}
		if assert.True(t, ok, host) {
			assert.Equal(t, *want, q, host)
		}
	}
}

// backend is a real HTTP server on loopback registered as an instance.
type backend struct {
	srv  *httptest.Server
	reg  *discovery.Registration
	mu   sync.Mutex
	hits int
	host string // the Host header of the last request
	body string // the body of the last request
}

func (b *backend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hits
}

// startBackend starts an HTTP server and registers it as the instance id
// of name.
func startBackend(t *testing.T, client *consul.Client, name, id string) *backend {
	b := &backend{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.hits++
		b.host, b.body = r.Host, string(body)
		b.mu.Unlock()
		fmt.Fprint(w, id)
	}))
	t.Cleanup(b.srv.Close)
	b.reg = registerAt(t, client, name, id, b.srv.Listener.Addr().(*net.TCPAddr).Port)
	return b
}

// registerAt registers the instance id of name at 127.0.0.1:port.
func registerAt(t *testing.T, client *consul.Client, name, id string, port int) *discovery.Registration {
	r, err := discovery.Register(context.Background(), client, &consul.AgentServiceRegistration{
		Name: name, ID: id, Address: "127.0.0.1", Port: port,
	}, discovery.WithTTL(5*time.Second), discovery.WithDrainPeriod(0))
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

// deadPort returns a loopback port where nothing listens.
func deadPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func do(ctx context.Context, hc *http.Client, method, url, body string, header ...string) (string, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return "", err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	return string(b), err
}

// Requests to <service>.service.consul spread across three real servers;
// one is killed and marked critical: after the update no request fails,
// idempotent or not.
func TestTransportSpreadsAndSurvivesAKill(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	client := newClient(t, testAgent(t).HTTPAddr)
	name := serviceName(t)
	var bs []*backend
	for i := range 3 {
		bs = append(bs, startBackend(t, client, name, fmt.Sprintf("%s-%d", name, i)))
	}
	tr := discovery.NewTransport(client)
	defer tr.Close()
	hc := &http.Client{Transport: tr}
	url := "http://" + name + ".service.consul/hello"

	for range 30 {
		_, err := do(ctx, hc, http.MethodGet, url, "")
		require.NoError(t, err)
	}
	for i, b := range bs {
		assert.Equal(t, 10, b.count(), "backend %d", i)
	}
	bs[0].mu.Lock()
	assert.Equal(t, name+".service.consul", bs[0].host, "the Host header keeps the name")
	bs[0].mu.Unlock()

	// Kill one, mark it critical, and wait for the update.
	bs[1].srv.CloseClientConnections()
	bs[1].srv.Close()
	require.NoError(t, bs[1].reg.Fail(ctx, "killed"))
	in, ok, err := tr.Instances(name + ".service.consul")
	require.True(t, ok)
	require.NoError(t, err)
	waitFor(t, 5*time.Second, "the update", func() bool { return in.Len() == 2 })
	for i := range 60 {
		method := http.MethodGet
		if i%2 == 1 {
			method = http.MethodPost // never retried: it must reach a live one
		}
		_, err := do(ctx, hc, method, url, "")
		require.NoError(t, err, "request %d (%s)", i, method)
	}
	assert.Equal(t, 40, bs[0].count())
	assert.Equal(t, 40, bs[2].count())
}

// A refused connection is retried on another instance for idempotent
// requests only (a PUT's body replayed, a POST with an Idempotency-Key
// counted as idempotent), up to WithRetries; hosts that are not resolved
// go to the base transport unchanged.
func TestTransportRetriesIdempotentOnly(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	client := newClient(t, testAgent(t).HTTPAddr)
	name := serviceName(t)
	registerAt(t, client, name, name+"-0", deadPort(t)) // refuses connections
	live := startBackend(t, client, name, name+"-1")
	tr := discovery.NewTransport(client)
	defer tr.Close()
	hc := &http.Client{Transport: tr}
	url := "http://" + name + ".service.consul/"
	in, _, err := tr.Instances(name + ".service.consul")
	require.NoError(t, err)
	waitFor(t, 5*time.Second, "two instances", func() bool { return in.Len() == 2 })

	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodDelete, http.MethodOptions} {
		for range 4 {
			_, err := do(ctx, hc, m, url, "")
			require.NoError(t, err, m)
		}
	}
	for i := range 4 {
		got, err := do(ctx, hc, http.MethodPut, url, "payload-"+strconv.Itoa(i))
		require.NoError(t, err)
		assert.Equal(t, name+"-1", got)
		live.mu.Lock()
		assert.Equal(t, "payload-"+strconv.Itoa(i), live.body, "the body replayed whole")
		live.mu.Unlock()
	}
	for range 4 {
		_, err := do(ctx, hc, http.MethodPost, url, "x", "Idempotency-Key", "k1")
		require.NoError(t, err)
	}

	// POST: round-robin alternates, so half of them meet the dead one.
	var failed int
	for range 10 {
		_, err := do(ctx, hc, http.MethodPost, url, "x")
		if err != nil {
			failed++
			assert.True(t, errors.Is(err, syscall.ECONNREFUSED), "%v", err)
		}
	}
	assert.Equal(t, 5, failed, "POSTs are not retried")

	// Without retries, GETs fail too.
	none := discovery.NewTransport(client, discovery.WithRetries(0))
	defer none.Close()
	failed = 0
	for range 10 {
		if _, err := do(ctx, &http.Client{Transport: none}, http.MethodGet, url, ""); err != nil {
			failed++
		}
	}
	assert.Equal(t, 5, failed)

	// Another host: sent as it is.
	got, err := do(ctx, hc, http.MethodPost, live.srv.URL, "direct")
	require.NoError(t, err)
	assert.Equal(t, name+"-1", got)
	live.mu.Lock()
	assert.Equal(t, live.srv.Listener.Addr().String(), live.host)
	live.mu.Unlock()
}

// A service without healthy instances fails at once with ErrNoInstances;
// a custom host mapping resolves other names.
func TestTransportNoInstancesAndMapping(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	client := newClient(t, testAgent(t).HTTPAddr)
	name := serviceName(t)
	tr := discovery.NewTransport(client, discovery.WithHostMapping(func(host string) (discovery.Query, bool) {
		svc, ok := strings.CutSuffix(host, ".internal")
		return discovery.Query{Service: svc}, ok
	}))
	defer tr.Close()
	hc := &http.Client{Transport: tr}
	_, err := do(ctx, hc, http.MethodGet, "http://"+name+".internal/", "")
	assert.ErrorIs(t, err, discovery.ErrNoInstances)

	startBackend(t, client, name, name+"-0")
	in, _, err := tr.Instances(name + ".internal")
	require.NoError(t, err)
	waitFor(t, 5*time.Second, "the instance", func() bool { return in.Len() == 1 })
	got, err := do(ctx, hc, http.MethodGet, "http://"+name+".internal/", "")
	require.NoError(t, err)
	assert.Equal(t, name+"-0", got)
	_, ok, _ := tr.Instances(name + ".service.consul")
	assert.False(t, ok, "the default mapping is replaced")

	tr.Close()
	_, err = do(ctx, hc, http.MethodGet, "http://"+name+".internal/", "")
	assert.Error(t, err, "closed")
}

// The Dialer connects to a live instance, trying another after a refused
// connection; other addresses are dialled as they are.
func TestDialer(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	client := newClient(t, testAgent(t).HTTPAddr)
	name := serviceName(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hi"))
			c.Close()
		}
	}()
	registerAt(t, client, name, name+"-0", deadPort(t))
	registerAt(t, client, name, name+"-1", l.Addr().(*net.TCPAddr).Port)
	d := discovery.NewDialer(client)
	defer d.Close()
	in, _, err := d.Instances(name + ".service.consul")
	require.NoError(t, err)
	waitFor(t, 5*time.Second, "two instances", func() bool { return in.Len() == 2 })
	read := func(addr string) string {
		c, err := d.DialContext(ctx, "tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		b, _ := io.ReadAll(c)
		return string(b)
	}
	for range 6 {
		assert.Equal(t, "hi", read(name+".service.consul:1"))
	}
	assert.Equal(t, "hi", read(l.Addr().String()))

	// Without retries, half the dials are refused.
	d0 := discovery.NewDialer(client, discovery.WithRetries(0))
	defer d0.Close()
	failed := 0
	for range 6 {
		c, err := d0.DialContext(ctx, "tcp", name+".service.consul")
		if err != nil {
			failed++
			continue
		}
		c.Close()
	}
	assert.Equal(t, 3, failed)
}
