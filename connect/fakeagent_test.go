package connect_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeAgent serves the agent routes a Service uses, for what a real agent
// cannot be made to do: hold the first leaf certificate back, give a leaf
// that expires in seconds (Consul's shortest is an hour), refuse for good.
// Blocking reads wait for a change, their wait, or the client to leave.
type fakeAgent struct {
	t    testing.TB
	ca   *testCA
	td   string
	http *httptest.Server

	mu        sync.Mutex
	leaf      *consul.AgentLeafCert // nil holds leaf requests back
	leafIndex uint64
	leafCode  int    // answer leaf requests with this status when set
	down      bool   // answer everything 500
	instances string // the JSON of /v1/health/connect/:service
	changed   chan struct{}
}

func newFakeAgent(t testing.TB) *fakeAgent {
	t.Helper()
	td := "11111111-2222-3333-4444-555555555555.consul"
	f := &fakeAgent{t: t, ca: newTestCA(t, td), td: td, changed: make(chan struct{}), instances: "[]"}
	f.http = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.http.Close)
	return f
}

func (f *fakeAgent) client(t testing.TB) *consul.Client {
	return newClient(t, f.http.Listener.Addr().String())
}

func (f *fakeAgent) update(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
	close(f.changed)
	f.changed = make(chan struct{})
}

// setLeaf gives the service a new leaf, valid until notAfter.
func (f *fakeAgent) setLeaf(service string, notAfter time.Time) {
	_, _, certPEM, keyPEM := f.ca.mint(f.t, leafSpec{uris: []string{svcURI(f.td, "dc1", service)}, notAfter: notAfter})
	f.update(func() {
		f.leafIndex++
		f.leaf = &consul.AgentLeafCert{
			SerialNumber: strconv.FormatUint(f.leafIndex, 16), CertPEM: certPEM, PrivateKeyPEM: keyPEM,
			Service: service, ServiceURI: svcURI(f.td, "dc1", service), ValidBefore: notAfter,
			CreateIndex: f.leafIndex + 10, ModifyIndex: f.leafIndex + 10,
		}
	})
}

// setInstance makes addr the one Connect-capable instance of service.
func (f *fakeAgent) setInstance(service, addr string) {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	b, _ := json.Marshal([]*consul.ServiceEntry{{
		Node:    &consul.Node{Node: "n1", Address: host, Datacenter: "dc1"},
		Service: &consul.NodeService{ID: service + "-1", Service: service, Address: host, Port: p},
		Checks:  []*consul.HealthCheck{{CheckID: "c", Status: consul.HealthPassing}},
	}})
	f.update(func() { f.instances = string(b) })
}

func (f *fakeAgent) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	down, changed := f.down, f.changed
	f.mu.Unlock()
	if down {
		http.Error(w, "agent down", http.StatusInternalServerError)
		return
	}
	index, _ := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64)
	wait := 5 * time.Second
	if d, err := time.ParseDuration(r.URL.Query().Get("wait")); err == nil && d < wait {
		wait = d
	}
	block := func() {
		select {
		case <-changed:
		case <-time.After(wait):
		case <-r.Context().Done():
		}
	}
	reply := func(idx uint64, v string) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Consul-Index", strconv.FormatUint(idx, 10))
		fmt.Fprint(w, v)
	}
	switch {
	case r.URL.Path == "/v1/agent/connect/ca/roots":
		if index >= 1 {
			block()
		}
		b, _ := json.Marshal(&consul.ConnectCARoots{ActiveRootID: "root", TrustDomain: f.td, Roots: []*consul.ConnectCARoot{{
			ID: "root", Name: "fake", RootCert: f.ca.certPEM, Active: true,
		}}})
		reply(1, string(b))
	case strings.HasPrefix(r.URL.Path, "/v1/agent/connect/ca/leaf/"):
		for {
			f.mu.Lock()
			leaf, code, changed := f.leaf, f.leafCode, f.changed
			f.mu.Unlock()
			if code != 0 {
				http.Error(w, http.StatusText(code), code)
				return
			}
			if leaf != nil && leaf.ModifyIndex > index {
				b, _ := json.Marshal(leaf)
				reply(leaf.ModifyIndex, string(b))
				return
			}
			if leaf != nil && index > 0 {
				block()
				b, _ := json.Marshal(leaf)
				reply(leaf.ModifyIndex, string(b))
				return
			}
			// No leaf yet: hold the request until there is one.
			select {
			case <-changed:
			case <-r.Context().Done():
				return
			}
		}
	case strings.HasPrefix(r.URL.Path, "/v1/health/connect/"):
		if index >= 1 {
			block()
		}
		f.mu.Lock()
		v := f.instances
		f.mu.Unlock()
		reply(1, v)
	case r.URL.Path == "/v1/agent/connect/authorize":
		reply(0, `{"Authorized":true,"Reason":"fake"}`)
	default:
		http.NotFound(w, r)
	}
}

// serveTLS accepts connections with cfg and writes "k" to each after its
// handshake; it returns the address and the handshake errors.
func serveTLS(t testing.TB, cfg *tls.Config) (string, <-chan error) {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	errs := make(chan error, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				err := c.(*tls.Conn).HandshakeContext(ctx)
				if err == nil {
					_, err = c.Write([]byte("k"))
				}
				select {
				case errs <- err:
				default:
				}
			}()
		}
	}()
	return l.Addr().String(), errs
}

// Nothing uses a Service before its first certificate: while the agent
// holds the leaf back, Ready is false, handshakes of both TLS configs fail
// at once with ErrNotReady (none presents an empty certificate), and a
// Dial started meanwhile waits and succeeds once the leaf arrives, as
// WaitReady returns.
func TestNotReadyBeforeFirstCertificate(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	agent := newFakeAgent(t)
	svc, err := connect.NewService(ctx, agent.client(t), "web")
	require.NoError(t, err)
	defer svc.Close()
	addr, serverErrs := serveTLS(t, svc.ServerTLSConfig())
	agent.setInstance("web", addr)

	time.Sleep(200 * time.Millisecond) // the roots are in; the leaf is held
	assert.False(t, svc.Ready())
	assert.Nil(t, svc.Leaf())

	// The server side refuses at once.
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err == nil {
		conn.Close()
	}
	require.Error(t, err)
	require.ErrorIs(t, <-serverErrs, connect.ErrNotReady)
	// So does the client side.
	err = clientHandshake(t, &tls.Config{Certificates: []tls.Certificate{selfSigned(t, svcURI(agent.td, "dc1", "web"))}},
		svc.ClientTLSConfig("web"))
	require.ErrorIs(t, err, connect.ErrNotReady)

	// A Dial waits for the first certificate.
	type result struct {
		conn net.Conn
		err  error
	}
	dialed := make(chan result, 1)
	go func() {
		c, err := svc.Dial(ctx, "web")
		dialed <- result{c, err}
	}()
	ready := make(chan error, 1)
	go func() { ready <- svc.WaitReady(ctx) }()
	select {
	case r := <-dialed:
		t.Fatalf("Dial returned before the first certificate: %v", r.err)
	case err := <-ready:
		t.Fatalf("WaitReady returned before the first certificate: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	agent.setLeaf("web", time.Now().Add(time.Hour))
	require.NoError(t, <-ready)
	r := <-dialed
	require.NoError(t, r.err)
	defer r.conn.Close()
	b := make([]byte, 1)
	_, err = r.conn.Read(b)
	require.NoError(t, err)
	assert.Equal(t, "k", string(b))
	assert.True(t, svc.Ready())
}

// A Service whose agent refuses the leaf for good (a 403: the token may
// not write the service) ends WaitReady with that error instead of
// waiting forever, and becomes ready once the agent gives the leaf.
func TestWaitReadyReturnsPermanentError(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	agent := newFakeAgent(t)
	agent.update(func() { agent.leafCode = http.StatusForbidden })
	svc, err := connect.NewService(ctx, agent.client(t), "web")
	require.NoError(t, err)
	defer svc.Close()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = svc.WaitReady(wctx)
	require.ErrorIs(t, err, consul.ErrPermissionDenied)
	require.ErrorIs(t, svc.Err(), consul.ErrPermissionDenied)

	agent.update(func() { agent.leafCode = 0 })
	agent.setLeaf("web", time.Now().Add(time.Hour))
	waitFor(t, 10*time.Second, "ready after the agent gives the leaf", svc.Ready)
	require.NoError(t, svc.WaitReady(ctx))
	require.NoError(t, svc.Err())
}

// When the agent stays unreachable, the leaf serves until it expires and
// never after: handshakes then fail with an error saying the leaf expired
// and was not renewed, with the agent's error. The leaf lives three
// seconds, which a real agent cannot be made to give.
func TestExpiredLeafIsNotPresented(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	agent := newFakeAgent(t)
	expiry := time.Now().Add(3 * time.Second)
	agent.setLeaf("web", expiry)
	svc, err := connect.NewService(ctx, agent.client(t), "web")
	require.NoError(t, err)
	defer svc.Close()
	require.NoError(t, svc.WaitReady(ctx))
	addr, serverErrs := serveTLS(t, svc.ServerTLSConfig())
	dial := func() error {
		raw, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		defer raw.Close()
		conn := tls.Client(raw, svc.ClientTLSConfig("web"))
		if err := conn.HandshakeContext(ctx); err != nil {
			return err
		}
		_, err = conn.Read(make([]byte, 1))
		return err
	}
	require.NoError(t, dial())
	require.NoError(t, <-serverErrs)

	agent.update(func() { agent.down = true })
	// Before expiry, the leaf keeps serving although the agent is down.
	waitFor(t, 5*time.Second, "the outage seen", func() bool { return svc.Err() != nil })
	// (A dial on a loaded machine can take hundreds of milliseconds: only
	// with a second left is the leaf sure to outlive it.)
	if time.Until(expiry) > time.Second {
		require.NoError(t, dial())
		require.NoError(t, <-serverErrs)
	}
	time.Sleep(time.Until(expiry.Add(100 * time.Millisecond)))
	require.Error(t, dial())
	err = <-serverErrs
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the leaf certificate of web expired at")
	assert.Contains(t, err.Error(), "the agent has not renewed it")
	var se *consul.StatusError
	assert.True(t, errors.As(err, &se) && se.StatusCode == http.StatusInternalServerError, "the agent's error: %v", err)
}

// A server that accepts the connection and never answers the handshake
// cannot hold Dial beyond the dialer's Timeout, even with a context that
// has no deadline.
func TestDialHandshakeIsBounded(t *testing.T) {
	t.Parallel()
	agent := newFakeAgent(t)
	agent.setLeaf("web", time.Now().Add(time.Hour))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // silent until the test ends
		}
	}()
	agent.setInstance("db", l.Addr().String())
	svc, err := connect.NewService(testCtx(t), agent.client(t), "web", connect.WithDialer(&net.Dialer{Timeout: 300 * time.Millisecond}))
	require.NoError(t, err)
	defer svc.Close()

	done := make(chan error, 1)
	start := time.Now()
	go func() {
		conn, err := svc.Dial(context.Background(), "db")
		if err == nil {
			conn.Close()
		} else if conn != nil {
			err = errors.New("a non-nil net.Conn with an error")
		}
		done <- err
	}()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.DeadlineExceeded)
		t.Logf("Dial gave up after %s", time.Since(start).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("Dial still waits for the handshake after 10s")
	}
}
