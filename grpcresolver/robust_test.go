package grpcresolver_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/grpcresolver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/resolver"
)

// fakeAgent answers every health read with an empty list and records the
// requests' paths, queries and tokens.
type seenReq struct {
	path  string
	query url.Values
	token string
}

func fakeAgent(t *testing.T) (*httptest.Server, chan seenReq) {
	reqs := make(chan seenReq, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case reqs <- seenReq{r.URL.EscapedPath(), r.URL.Query(), r.Header.Get("X-Consul-Token")}:
		default:
		}
		if r.URL.Query().Has("index") {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
		}
		w.Header().Set("X-Consul-Index", "3")
		w.Header().Set("X-Consul-Default-ACL-Policy", "allow")
		w.Write([]byte("[]"))
	}))
	t.Cleanup(srv.Close)
	return srv, reqs
}

func firstReq(t *testing.T, reqs chan seenReq) seenReq {
	select {
	case r := <-reqs:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no request reached the agent")
		return seenReq{}
	}
}

// TestOpaqueTargetUnescaped: consul:name is unescaped as consul:///name is.
func TestOpaqueTargetUnescaped(t *testing.T) {
	srv, reqs := fakeAgent(t)
	client, err := consul.NewClient(consul.Config{Address: srv.Listener.Addr().String()})
	require.NoError(t, err)
	_, err = build(t, grpcresolver.NewBuilder(client), "consul:my%2Dweb", &fakeCC{})
	require.NoError(t, err)
	assert.Equal(t, "/v1/health/service/my-web", firstReq(t, reqs).path)
}

// TestNewBuilderAuthorityWithPathPrefix: a target may name the client's
// agent, whatever the client's PathPrefix.
func TestNewBuilderAuthorityWithPathPrefix(t *testing.T) {
	srv, _ := fakeAgent(t)
	addr := srv.Listener.Addr().String()
	client, err := consul.NewClient(consul.Config{Address: addr, PathPrefix: "consul"})
	require.NoError(t, err)
	_, err = build(t, grpcresolver.NewBuilder(client), "consul://"+addr+"/web", &fakeCC{})
	assert.NoError(t, err, "the target names the client's own agent")
}

// TestNewBuilderAuthorityAfterFailover: a target naming the configured
// agent still resolves after the client failed over to a fallback (gRPC
// builds the resolver again on leaving idle mode).
func TestNewBuilderAuthorityAfterFailover(t *testing.T) {
	srv, _ := fakeAgent(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := l.Addr().String()
	require.NoError(t, l.Close())
	client, err := consul.NewClient(consul.Config{Address: dead, Fallbacks: []string{srv.Listener.Addr().String()}})
	require.NoError(t, err)
	b := grpcresolver.NewBuilder(client)
	_, err = build(t, b, "consul://"+dead+"/web", &fakeCC{})
	require.NoError(t, err, "before the failover")
	_, _, _ = client.Status.Leader(testCtx(t)) // fails over (the fake's answer does not decode: no matter)
	require.NotEqual(t, "http://"+dead, client.Address(), "the client failed over")
	_, err = build(t, b, "consul://"+dead+"/web", &fakeCC{})
	assert.NoError(t, err, "the same target, after the failover")
}

// TestAuthorityKeepsEnvScheme: with CONSUL_HTTP_ADDR=https://..., a target's
// authority is reached over HTTPS too: the token never goes in clear. The
// first byte the agent's address receives opens a TLS handshake.
func TestAuthorityKeepsEnvScheme(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	first := make(chan byte, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var b [1]byte
		if _, err := c.Read(b[:]); err == nil {
			first <- b[0]
		}
	}()
	addr := l.Addr().String()
	t.Setenv("CONSUL_HTTP_ADDR", "https://"+addr)
	t.Setenv("CONSUL_HTTP_TOKEN", "s3cret-token")
	u, err := url.Parse("consul://" + addr + "/web")
	require.NoError(t, err)
	r, err := (&grpcresolver.Builder{}).Build(resolver.Target{URL: *u}, &fakeCC{}, resolver.BuildOptions{})
	require.NoError(t, err)
	t.Cleanup(r.Close)
	select {
	case b := <-first:
		require.Equal(t, byte(0x16), b, "the first byte is not a TLS handshake record: the request went in clear")
	case <-time.After(5 * time.Second):
		t.Fatal("no connection reached the target's agent")
	}
}
