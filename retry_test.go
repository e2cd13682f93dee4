package consul_test

import (
	"net"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// retryTestDeadAddr returns a loopback address nothing listens on.
func retryTestDeadAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func TestFailoverToFallbackAgent(t *testing.T) {
	w, _ := newWire(t, reply{Body: "true"})
	dead := retryTestDeadAddr(t)
	c, err := consul.NewClient(consul.Config{Address: dead, Fallbacks: []string{w.srv.URL}})
	require.NoError(t, err)
	assert.Equal(t, "http://"+dead, c.Address())

	// A write fails over too: its connection was never opened.
	require.NoError(t, c.KV.Put(testCtx(t), "k", []byte("v")))
	assert.Equal(t, w.srv.URL, c.Address(), "the client stays on the agent that answered")
	require.NoError(t, c.KV.Put(testCtx(t), "k", []byte("v")))
	assert.Len(t, w.requests(), 2)

	// Against the real agent, with two dead addresses before it.
	srv := testAgent(t)
	c, err = consul.NewClient(consul.Config{Address: retryTestDeadAddr(t), Fallbacks: []string{retryTestDeadAddr(t), srv.HTTPAddr}})
	require.NoError(t, err)
	leader, _, err := c.Status.Leader(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, srv.ServerAddr, leader)

	// All dead: the dial error comes back.
	c, err = consul.NewClient(consul.Config{Address: dead, Fallbacks: []string{retryTestDeadAddr(t)}})
	require.NoError(t, err)
	_, _, err = c.Status.Leader(testCtx(t))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "connection refused")
}

func TestRetriesOnlyWhereSafe(t *testing.T) {
	ctx := testCtx(t)
	flaky := []reply{{Status: 500, Body: "boom"}, {Status: 503}, {Body: `"10.0.0.1:8300"`}}

	w, c := newWireConfig(t, consul.Config{Retries: 2}, flaky...)
	leader, _, err := c.Status.Leader(ctx)
	require.NoError(t, err, "a read is retried on 5xx")
	assert.Equal(t, "10.0.0.1:8300", leader)
	assert.Len(t, w.requests(), 3)

	w, c = newWireConfig(t, consul.Config{Retries: 1}, flaky...)
	_, _, err = c.Status.Leader(ctx)
	require.Error(t, err, "retries are bounded")
	assert.Len(t, w.requests(), 2)

	w, c = newWireConfig(t, consul.Config{}, flaky...)
	_, _, err = c.Status.Leader(ctx)
	require.Error(t, err, "no retry by default")
	assert.Len(t, w.requests(), 1)

	w, c = newWireConfig(t, consul.Config{Retries: 3}, reply{Status: 500})
	require.Error(t, c.KV.Put(ctx, "k", []byte("v")))
	assert.Len(t, w.requests(), 1, "a write that reached the server is never retried")

	w, c = newWireConfig(t, consul.Config{Retries: 3}, reply{Status: 500})
	_, _, err = c.KV.Get(ctx, "k", consul.WaitIndex(5))
	require.Error(t, err)
	assert.Len(t, w.requests(), 1, "a blocking read is left to the watch loop")

	w, c = newWireConfig(t, consul.Config{Retries: 3}, reply{Status: 403})
	_, _, err = c.KV.Get(ctx, "k")
	require.ErrorIs(t, err, consul.ErrPermissionDenied)
	assert.Len(t, w.requests(), 1, "a 4xx is permanent")

	w, c = newWireConfig(t, consul.Config{Retries: 1}, reply{Status: 429, Header: map[string]string{"Retry-After": "1"}}, reply{Body: "[]"})
	start := time.Now()
	_, _, err = c.Status.Peers(ctx)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), time.Second, "Retry-After is honoured")
	assert.Len(t, w.requests(), 2)

	_, err = consul.NewClient(consul.Config{Retries: -1})
	assert.Error(t, err)
}
