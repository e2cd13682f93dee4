package connect_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/goconsul/consul/connect"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The agent is stopped for four seconds, eight times the authorization
// cache's TTL: the services keep their certificates, Dial keeps the last
// known instances, and a server keeps admitting the client it admitted
// before with the last decision Consul gave (WithAuthorizeMaxStale's
// default), on new connections; a server with WithAuthorizeMaxStale(0)
// refuses once its TTL has passed. Err reports the outage, Ready stays
// true, and everything answers again once the agent is back.
func TestAgentStoppedKeepsServing(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	agent := consultest.NewServer(t, consultest.Config{})
	client := newClient(t, agent.HTTPAddr)
	const ttl = 500 * time.Millisecond
	db := newService(t, ctx, client, "db", connect.WithAuthorizeCacheTTL(ttl))
	startMeshServer(t, ctx, client, db)
	strict := newService(t, ctx, client, "strict", connect.WithAuthorizeCacheTTL(ttl), connect.WithAuthorizeMaxStale(0))
	strictSrv := startMeshServer(t, ctx, client, strict)
	web := newService(t, ctx, client, "web")
	hc := web.HTTPClient()
	for _, target := range []string{"db", "strict"} {
		_, err := get(ctx, hc, target)
		require.NoError(t, err, target)
	}
	leaf := web.Leaf().SerialNumber

	require.NoError(t, agent.Stop())
	stopped := time.Now()
	var strictRefused bool
	calls := 0
	for time.Since(stopped) < 4*time.Second {
		body, err := get(ctx, hc, "db")
		require.NoError(t, err, "a call %s after the agent stopped", time.Since(stopped).Round(time.Millisecond))
		assert.Equal(t, "db to web "+leaf, body)
		calls++
		if _, err := get(ctx, hc, "strict"); err != nil {
			strictRefused = true
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%d calls on new connections while the agent was stopped", calls)
	assert.True(t, strictRefused, "WithAuthorizeMaxStale(0) refuses while the agent cannot answer")
	waitFor(t, 10*time.Second, "the strict server's refusal logged", func() bool {
		return strings.Contains(strictSrv.errLog.String(), "authorizing")
	})
	assert.True(t, web.Ready() && db.Ready())
	assert.Error(t, db.Err(), "the outage is reported")
	assert.Equal(t, leaf, web.Leaf().SerialNumber, "the same leaf is served")

	require.NoError(t, agent.Start())
	waitFor(t, 30*time.Second, "both servers admit web again", func() bool {
		_, err1 := get(ctx, hc, "db")
		_, err2 := get(ctx, hc, "strict")
		return err1 == nil && err2 == nil
	})
	waitFor(t, 30*time.Second, "the watches answer again", func() bool { return db.Err() == nil && web.Err() == nil })
}

// TestServiceNewCAAfterWipedRestart: an agent restarted with a wiped data
// directory has a new CA whose roots come back at the old roots' index:
// the Service serves the new roots and leaf (its TLS checks would fail
// otherwise).
func TestServiceNewCAAfterWipedRestart(t *testing.T) {
	ctx := testCtx(t)
	agent := consultest.NewServer(t, consultest.Config{})
	client := newClient(t, agent.HTTPAddr)
	web := newService(t, ctx, client, "web")
	leaf, roots := web.Leaf(), web.Roots()
	require.NoError(t, agent.Kill())
	waitFor(t, 10*time.Second, "the outage reported", func() bool { return web.Err() != nil })
	require.NoError(t, os.RemoveAll(agent.DataDir))
	require.NoError(t, agent.Start())
	now, _, err := client.Agent.CARoots(ctx)
	require.NoError(t, err)
	require.NotEqual(t, roots.ActiveRootID, now.ActiveRootID)
	waitFor(t, 20*time.Second, "the new CA roots and leaf served", func() bool {
		return web.Err() == nil && web.Roots().ActiveRootID == now.ActiveRootID && web.Leaf().CertPEM != leaf.CertPEM
	})
}
