package connect_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Two Go services speak HTTP over mTLS through the package, on a real
// agent: with an allow intention web gets 200 and the server sees web's
// identity; replacing it with deny refuses web's new connections within
// the authorization cache's TTL (measured), while the server logs why; a
// third service, evil, presenting its own genuine Consul certificate, is
// refused since no intention allows it (a wildcard deny); and TLS clients
// without a Connect certificate, or with a self-signed one, are refused.
func TestIntentions(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	client := newClient(t, testAgent(t).HTTPAddr)
	dbName, webName, evilName := uniqueName("db"), uniqueName("web"), uniqueName("evil")
	const ttl = 2 * time.Second
	db := newService(t, ctx, client, dbName, connect.WithAuthorizeCacheTTL(ttl))
	server := startMeshServer(t, ctx, client, db)
	web := newService(t, ctx, client, webName)
	evil := newService(t, ctx, client, evilName)

	put := func(src, action string) {
		t.Helper()
		_, err := client.Connect.PutIntention(ctx, &consul.Intention{SourceName: src, DestinationName: dbName, Action: action})
		require.NoError(t, err)
	}
	put("*", consul.IntentionDeny)
	put(webName, consul.IntentionAllow)

	t.Run("allow gives 200", func(t *testing.T) {
		body, err := get(ctx, web.HTTPClient(), dbName)
		require.NoError(t, err)
		assert.Equal(t, dbName+" to "+webName+" "+web.Leaf().SerialNumber, body)
	})

	t.Run("another service's certificate is refused", func(t *testing.T) {
		_, err := get(ctx, evil.HTTPClient(), dbName)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "tls")
		waitFor(t, 10*time.Second, "the refusal in the server's log", func() bool {
			return strings.Contains(server.errLog.String(), evilName+" may not connect to "+dbName)
		})
		// Dial sees the refusal at the first read (TLS 1.3).
		conn, err := evil.Dial(ctx, dbName)
		if err == nil {
			_, err = conn.Write([]byte("GET / HTTP/1.1\r\nHost: db\r\n\r\n"))
			if err == nil {
				_, err = conn.Read(make([]byte, 1))
			}
			conn.Close()
		}
		require.Error(t, err)
	})

	t.Run("a client without a Connect certificate is refused", func(t *testing.T) {
		for name, certs := range map[string][]tls.Certificate{"none": nil, "self-signed": {selfSigned(t, svcURI(web.ID().TrustDomain, "dc1", webName))}} {
			conn, err := tls.Dial("tcp", server.addr, &tls.Config{InsecureSkipVerify: true, Certificates: certs})
			if err == nil {
				_, err = conn.Read(make([]byte, 1))
				conn.Close()
			}
			require.Error(t, err, name)
		}
		// The server logs the handshake's error after sending its alert.
		waitFor(t, 10*time.Second, "both refusals in the server's log", func() bool {
			log := server.errLog.String()
			return strings.Contains(log, "client didn't provide a certificate") && strings.Contains(log, "not signed by the Consul CA")
		})
	})

	t.Run("deny refuses new connections within the cache TTL", func(t *testing.T) {
		_, err := get(ctx, web.HTTPClient(), dbName) // a fresh allow in the cache
		require.NoError(t, err)
		put(webName, consul.IntentionDeny)
		start := time.Now()
		var lastErr error
		waited := waitFor(t, ttl+3*time.Second, "web refused", func() bool {
			_, lastErr = get(ctx, web.HTTPClient(), dbName)
			return lastErr != nil
		})
		t.Logf("deny applied to new connections after %s (cache TTL %s)", waited.Round(time.Millisecond), ttl)
		assert.LessOrEqual(t, time.Since(start), ttl+3*time.Second)
		// It stays refused.
		for range 3 {
			_, err := get(ctx, web.HTTPClient(), dbName)
			require.Error(t, err)
		}
		waitFor(t, 10*time.Second, "the refusal in the server's log", func() bool {
			return strings.Contains(server.errLog.String(), webName+" may not connect to "+dbName)
		})
	})
}

// selfSigned returns a certificate with a service's SPIFFE ID that no
// Consul CA signed.
func selfSigned(t testing.TB, uri string) tls.Certificate {
	t.Helper()
	ca := newTestCA(t, "other.consul")
	der, key, _, _ := ca.mint(t, leafSpec{uris: []string{uri}})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// Authorization decisions are cached per client for the TTL: many new
// connections of one client, at once and one after another, cost one
// request to the agent until the TTL passes, then one more.
func TestAuthorizeCache(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	agent := testAgent(t)
	counter := &countingTransport{base: http.DefaultTransport}
	dbClient := newClient(t, agent.HTTPAddr, consul.Config{Transport: counter})
	client := newClient(t, agent.HTTPAddr)
	dbName, webName := uniqueName("db"), uniqueName("web")
	const ttl = 1500 * time.Millisecond
	db := newService(t, ctx, dbClient, dbName, connect.WithAuthorizeCacheTTL(ttl))
	startMeshServer(t, ctx, client, db)
	web := newService(t, ctx, client, webName)

	before := counter.authorizations()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := web.Dial(ctx, dbName)
			if err == nil {
				// The server's handshake (and its authorization) ends with
				// the first exchange.
				_, err = conn.Write([]byte("GET / HTTP/1.1\r\nHost: db\r\nConnection: close\r\n\r\n"))
				if err == nil {
					_, err = conn.Read(make([]byte, 1))
				}
				conn.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	// The decision was cached when the agent answered, before the dials
	// returned: its TTL runs out at the latest ttl after now (a loaded
	// machine can make the dials take longer than the margin past start).
	dialed := time.Now()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for range 5 {
		_, err := get(ctx, web.HTTPClient(), dbName)
		require.NoError(t, err)
	}
	if time.Since(start) < ttl {
		assert.Equal(t, int64(1), counter.authorizations()-before, "one authorization for 13 connections within the TTL")
	}
	time.Sleep(time.Until(dialed.Add(ttl + 100*time.Millisecond)))
	_, err := get(ctx, web.HTTPClient(), dbName)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, counter.authorizations()-before, int64(2), "asked again after the TTL")
}

type countingTransport struct {
	base  http.RoundTripper
	authz atomic.Int64
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Path == "/v1/agent/connect/authorize" {
		c.authz.Add(1)
	}
	return c.base.RoundTrip(req)
}

func (c *countingTransport) authorizations() int64 { return c.authz.Load() }

// Dial resolves the Connect-capable instances through the discovery
// layer and moves on to another instance when one refuses connections;
// an instance registered without Connect is never dialled, and a target
// without instances is ErrNoInstances.
func TestDialInstances(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	client := newClient(t, testAgent(t).HTTPAddr)
	dbName, webName := uniqueName("db"), uniqueName("web")
	db := newService(t, ctx, client, dbName)
	startMeshServer(t, ctx, client, db)
	web := newService(t, ctx, client, webName)

	// A Connect-native instance that refuses connections (a closed port),
	// and a plain instance at the same closed port.
	dead := closedPort(t)
	for i, native := range []bool{true, false} {
		reg := &consul.AgentServiceRegistration{
			Name: dbName, ID: dbName + []string{"-dead", "-plain"}[i], Address: "127.0.0.1", Port: dead,
			Check: &consul.AgentCheckRegistration{TTL: time.Minute, Status: consul.HealthPassing},
		}
		if native {
			reg.Connect = &consul.AgentServiceConnect{Native: true}
		}
		require.NoError(t, client.Services.Register(ctx, reg))
		t.Cleanup(func() { client.Services.Deregister(context.Background(), reg.ID) })
	}
	waitFor(t, 10*time.Second, "two Connect instances", func() bool {
		entries, _, err := client.Health.ListConnectInstances(ctx, dbName, consul.Passing())
		return err == nil && len(entries) == 2
	})

	for range 6 {
		conn, err := web.Dial(ctx, dbName)
		require.NoError(t, err)
		cs := conn.(*tls.Conn).ConnectionState()
		id, err := connect.PeerServiceID(&cs)
		require.NoError(t, err)
		assert.Equal(t, dbName, id.Service)
		conn.Close()
	}

	conn, err := web.Dial(ctx, uniqueName("nothing"))
	require.ErrorIs(t, err, connect.ErrNoInstances)
	assert.Nil(t, conn, "a failed Dial returns a nil net.Conn")

	_, err = web.HTTPClient().Get("http://" + dbName + ".service.consul/")
	require.ErrorContains(t, err, "only https://")
	_, err = web.HTTPClient().Get("https://example.com/")
	require.ErrorContains(t, err, "not a <service>.service.consul name")
}

func closedPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// The leaf and roots the Service holds are the agent's; its SPIFFE ID is
// its own service's in the agent's datacenter and trust domain.
func TestServiceIdentity(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	client := newClient(t, testAgent(t).HTTPAddr)
	name := uniqueName("ident")
	svc := newService(t, ctx, client, name)
	assert.True(t, svc.Ready())
	assert.Equal(t, name, svc.Name())
	leaf := svc.Leaf()
	require.NotNil(t, leaf)
	assert.Equal(t, name, leaf.Service)
	roots, _, err := client.Agent.CARoots(ctx)
	require.NoError(t, err)
	assert.Equal(t, roots.ActiveRootID, svc.Roots().ActiveRootID)
	id := svc.ID()
	assert.Equal(t, connect.ServiceID{TrustDomain: roots.TrustDomain, Partition: "default", Namespace: "default", Datacenter: "dc1", Service: name}, id)
	assert.Equal(t, leaf.ServiceURI, id.String())
	require.NoError(t, svc.Err())

	require.NoError(t, svc.Close())
	assert.False(t, svc.Ready())
	require.ErrorIs(t, svc.WaitReady(ctx), connect.ErrClosed)
	_, err = svc.Dial(ctx, "x")
	require.ErrorIs(t, err, connect.ErrClosed)
	require.NoError(t, svc.Close())
}
