package discovery_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/discovery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Query.Connect reads /v1/health/connect/:service: of two instances of a
// service, only the Connect-native one is listed, and the plain query of
// the same service (a watch of its own) still lists both. When the native
// instance leaves, the Connect set empties within the Connect watch's
// wait (10s) although Consul answers that change with an older index, that
// of a service that disappeared from the catalog before, and the watch's
// next blocking request (held back 300ms by the test's transport) reaches
// the agent after the change: with the default wait of 5 minutes, the
// change would be seen minutes late.
func TestInstancesConnectQuery(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	client := newClient(t, testAgent(t).HTTPAddr)
	watchClient := newClient(t, testAgent(t).HTTPAddr, consul.Config{Transport: lateBlockingReads{}})
	name := serviceName(t)

	// A service disappearing from the catalog: the index Consul gives an
	// empty Connect answer.
	gone := name + "-gone"
	require.NoError(t, client.Services.Register(ctx, &consul.AgentServiceRegistration{Name: gone, ID: gone}))
	waitFor(t, 5*time.Second, "the service in the catalog", func() bool {
		svcs, _, err := client.Catalog.ListServices(ctx)
		_, ok := svcs[gone]
		return err == nil && ok
	})
	require.NoError(t, client.Services.Deregister(ctx, gone))
	waitFor(t, 5*time.Second, "the service gone from the catalog", func() bool {
		svcs, _, err := client.Catalog.ListServices(ctx)
		_, ok := svcs[gone]
		return err == nil && !ok
	})
	var regs []*discovery.Registration
	for i, native := range []bool{false, true} {
		reg := &consul.AgentServiceRegistration{
			Name: name, ID: name + []string{"-plain", "-native"}[i], Address: "127.0.0.1", Port: 20000 + i,
		}
		if native {
			reg.Connect = &consul.AgentServiceConnect{Native: true}
		}
		r, err := discovery.Register(ctx, client, reg, discovery.WithTTL(5*time.Second), discovery.WithDrainPeriod(0))
		require.NoError(t, err)
		t.Cleanup(func() { r.Close() })
		regs = append(regs, r)
	}

	mesh, err := discovery.NewInstances(ctx, watchClient, discovery.Query{Service: name, Connect: true})
	require.NoError(t, err)
	defer mesh.Close()
	all, err := discovery.NewInstances(ctx, watchClient, discovery.Query{Service: name})
	require.NoError(t, err)
	defer all.Close()
	require.NoError(t, mesh.WaitReady(ctx))
	require.NoError(t, all.WaitReady(ctx))
	waitFor(t, 5*time.Second, "both instances passing", func() bool { return all.Len() == 2 })
	waitFor(t, 5*time.Second, "the native instance", func() bool { return mesh.Len() == 1 })
	assert.Equal(t, []string{name + "-native"}, ids(mesh.All()))
	assert.Equal(t, 20001, mesh.All()[0].Port)
	assert.True(t, mesh.Query().Connect)

	// The two queries are two watches: the native instance leaving empties
	// the Connect set only.
	require.NoError(t, regs[1].Close())
	waitFor(t, 5*time.Second, "the plain instance left", func() bool { return all.Len() == 1 })
	took := waitFor(t, 12*time.Second, "the native instance gone", func() bool { return mesh.Len() == 0 })
	t.Logf("the Connect set emptied %s after the native instance left", took.Round(time.Millisecond))
	assert.Equal(t, []string{name + "-plain"}, ids(all.All()))
}

// lateBlockingReads sends every blocking read 300ms late.
type lateBlockingReads struct{}

func (lateBlockingReads) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Query().Has("index") {
		select {
		case <-time.After(300 * time.Millisecond):
		case <-req.Context().Done():
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, req.Context().Err()
		}
	}
	return http.DefaultTransport.RoundTrip(req)
}
