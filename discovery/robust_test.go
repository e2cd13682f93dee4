package discovery_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/goconsul/consul/discovery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Register returns an error when the output update that follows the
// registration fails, and promises that nothing runs then: the service it
// registered is removed, not left without a heartbeat.
func TestRegisterFailureLeavesNothingRegistered(t *testing.T) {
	ctx := testCtx(t)
	srv := testAgent(t)
	p := consultest.NewFaultProxy(t, srv.HTTPAddr)
	client := newClient(t, p.Addr())
	direct := newClient(t, srv.HTTPAddr)
	name := serviceName(t)
	p.On(http.MethodPut, "/v1/agent/check/update/").Status(500, 0, "agent hiccup")

	r, err := discovery.Register(ctx, client, &consul.AgentServiceRegistration{Name: name, Port: 1},
		discovery.WithInitialStatus(consul.HealthPassing, "ready"), discovery.WithDrainPeriod(0))
	require.Error(t, err)
	require.Nil(t, r)
	t.Cleanup(func() { direct.Services.Deregister(context.Background(), name) })

	s, _, err := direct.Services.Get(ctx, name)
	require.NoError(t, err)
	assert.Nil(t, s, "Register failed, yet its service was left registered in the agent")
}

// Two Registrations of one service ID (a process restarted on the same
// host while the old one drains): the old one's Close leaves the new
// process's registration alone.
func TestCloseLeavesAnotherProcessRegistration(t *testing.T) {
	ctx := testCtx(t)
	client := newClient(t, testAgent(t).HTTPAddr)
	name := serviceName(t)
	id := name + "-1"
	old, err := discovery.Register(ctx, client, &consul.AgentServiceRegistration{Name: name, ID: id, Port: 1000},
		discovery.WithDrainPeriod(0))
	require.NoError(t, err)
	// The new process registers the same ID, with its own port.
	cur, err := discovery.Register(ctx, client, &consul.AgentServiceRegistration{Name: name, ID: id, Port: 2000},
		discovery.WithTTL(30*time.Second), discovery.WithDrainPeriod(0))
	require.NoError(t, err)
	defer cur.Close()

	require.NoError(t, old.Close())
	s, _, err := client.Services.Get(ctx, id)
	require.NoError(t, err)
	assert.NotNil(t, s, "the old Registration's Close deregistered the new process's service")
}

// Register copies the caller's registration whole (Tags, Meta, a
// sidecar's tags, however deep): a caller that reuses its registration
// struct for the next instance does not change what the heartbeat
// registers again after a 404.
func TestRegisterCopiesCallerRegistration(t *testing.T) {
	ctx := testCtx(t)
	client := newClient(t, testAgent(t).HTTPAddr)
	name := serviceName(t)
	tmpl := &consul.AgentServiceRegistration{Name: name, ID: name + "-0", Port: 1,
		Tags: []string{"slot-0"}, Meta: map[string]string{"slot": "0"},
		Connect: &consul.AgentServiceConnect{SidecarService: &consul.AgentServiceRegistration{Tags: []string{"side-0"}}}}
	r, err := discovery.Register(ctx, client, tmpl, discovery.WithTTL(900*time.Millisecond), discovery.WithDrainPeriod(0))
	require.NoError(t, err)
	defer r.Close()
	// The caller prepares its next instance in the same struct.
	tmpl.ID, tmpl.Meta["slot"], tmpl.Tags[0] = name+"-1", "1", "slot-1"
	tmpl.Connect.SidecarService.Tags[0] = "side-1"

	require.NoError(t, client.Services.Deregister(ctx, r.ID()))
	waitFor(t, 10*time.Second, "registered again", func() bool { return r.State().Reregistrations == 1 })
	s, _, err := client.Services.Get(ctx, r.ID())
	require.NoError(t, err)
	require.NotNil(t, s)
	assert.Equal(t, "0", s.Meta["slot"])
	assert.Equal(t, []string{"slot-0"}, s.Tags)
	side, _, err := client.Services.Get(ctx, r.ID()+"-sidecar-proxy")
	require.NoError(t, err)
	require.NotNil(t, side)
	assert.Equal(t, []string{"side-0"}, side.Tags)
	t.Cleanup(func() { _ = client.Services.Deregister(context.Background(), r.ID()+"-sidecar-proxy") })
}

// One transient failure of the deregistration (a 503 while the agent
// restarts, or a refused connection) is retried within Close's bound: the
// service does not stay registered for good.
func TestCloseRetriesDeregistration(t *testing.T) {
	ctx := testCtx(t)
	srv := testAgent(t)
	p := consultest.NewFaultProxy(t, srv.HTTPAddr)
	client := newClient(t, p.Addr())
	direct := newClient(t, srv.HTTPAddr)
	name := serviceName(t)
	var n atomic.Int32
	p.OnFunc(func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/v1/agent/service/deregister/") && n.Add(1) == 1
	}).Status(503, 0, "restarting")

	r, err := discovery.Register(ctx, client, &consul.AgentServiceRegistration{Name: name, Port: 1},
		discovery.WithDrainPeriod(0))
	require.NoError(t, err)
	t.Cleanup(func() { direct.Services.Deregister(context.Background(), name) })
	closeErr := r.Close()
	s, _, err := direct.Services.Get(ctx, name)
	require.NoError(t, err)
	assert.Nil(t, s, "a single transient failure left the service registered (Close: %v)", closeErr)
}

// TestCloseOnNilAndZeroValues: Close on what a failed constructor returned
// (nil), or on a zero value, does nothing.
func TestCloseOnNilAndZeroValues(t *testing.T) {
	var r *discovery.Registration
	require.NoError(t, r.Close())
	require.NoError(t, (&discovery.Registration{}).Close())
	var in *discovery.Instances
	in.Close()
	(&discovery.Instances{}).Close()
	var tr *discovery.Transport
	tr.Close()
	(&discovery.Transport{}).Close()
	var d *discovery.Dialer
	d.Close()
	(&discovery.Dialer{}).Close()
}

// TestRegisterWithFullMeta: a service whose Meta already holds the 64
// pairs Consul allows registers without the Registration's marker (one
// more pair would be refused), and Close still deregisters it.
func TestRegisterWithFullMeta(t *testing.T) {
	ctx := testCtx(t)
	client := newClient(t, testAgent(t).HTTPAddr)
	name := serviceName(t)
	meta := map[string]string{}
	for i := range 64 {
		meta[fmt.Sprintf("k%d", i)] = "v"
	}
	r, err := discovery.Register(ctx, client, &consul.AgentServiceRegistration{Name: name, Port: 1, Meta: meta}, discovery.WithDrainPeriod(0))
	require.NoError(t, err)
	s, _, err := client.Services.Get(ctx, name)
	require.NoError(t, err)
	require.NotNil(t, s)
	require.Len(t, s.Meta, 64)
	require.NoError(t, r.Close())
	s, _, err = client.Services.Get(ctx, name)
	require.NoError(t, err)
	require.Nil(t, s, "deregistered")
}
