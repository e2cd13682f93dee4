package consul_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Answers recorded from a Consul 1.19.2 agent.
const (
	healthTestChecksJSON  = `[{"Node":"foobar","CheckID":"service:redis1","Name":"Redis health check","Status":"passing","Notes":"Script based","Output":"","ServiceID":"redis1","ServiceName":"redis","ServiceTags":["master","v1"],"Type":"http","Interval":"","Timeout":"","ExposedPort":0,"Definition":{"Interval":"10s","HTTP":"http://x"},"CreateIndex":14,"ModifyIndex":14}]`
	healthTestServiceJSON = `[{"Node":{"ID":"","Node":"foobar","Address":"192.168.10.10","Datacenter":"dc1","TaggedAddresses":{"wan":"10.0.0.1"},"Meta":{"env":"prod"},"CreateIndex":14,"ModifyIndex":14},"Service":{"ID":"redis1","Service":"redis","Tags":["master","v1"],"Address":"127.0.0.1","Meta":{"a":"b"},"Port":8000,"Weights":{"Passing":1,"Warning":1},"EnableTagOverride":false,"Proxy":{"Mode":"","MeshGateway":{},"Expose":{}},"Connect":{},"PeerName":"","CreateIndex":14,"ModifyIndex":14},"Checks":[{"Node":"foobar","CheckID":"service:redis1","Name":"Redis health check","Status":"passing","Notes":"Script based","Output":"","ServiceID":"redis1","ServiceName":"redis","ServiceTags":["master","v1"],"Type":"http","Interval":"","Timeout":"","ExposedPort":0,"Definition":{"Interval":"10s","HTTP":"http://x"},"CreateIndex":14,"ModifyIndex":14},{"Node":"foobar","CheckID":"serfHealth","Name":"Serf Health Status","Status":"critical","Notes":"","Output":"Agent not live or unreachable","ServiceID":"","ServiceName":"","ServiceTags":[],"Type":"","Interval":"","Timeout":"","ExposedPort":0,"Definition":{},"CreateIndex":12,"ModifyIndex":20}]}]`
)

var healthTestHeader = map[string]string{"X-Consul-Index": "14", "X-Consul-KnownLeader": "true", "X-Consul-LastContact": "0", "X-Consul-Query-Backend": "blocking-query"}

func healthTestCheckRedis(t *testing.T, c *consul.HealthCheck) {
	t.Helper()
	assert.Equal(t, "foobar", c.Node)
	assert.Equal(t, "service:redis1", c.CheckID)
	assert.Equal(t, consul.HealthPassing, c.Status)
	assert.Equal(t, "redis", c.ServiceName)
	assert.Equal(t, []string{"master", "v1"}, c.ServiceTags)
	assert.Equal(t, "http", c.Type)
	require.NotNil(t, c.Definition)
	assert.Equal(t, "http://x", c.Definition.HTTP)
	assert.Equal(t, 10*time.Second, c.Definition.Interval)
	assert.Equal(t, uint64(14), c.ModifyIndex)
}

func TestHealthChecksWire(t *testing.T) {
	for _, tc := range []struct {
		name string
		call func(c *consul.Client) ([]*consul.HealthCheck, *consul.Meta, error)
		path string
		q    map[string][]string
	}{
		{"node", func(c *consul.Client) ([]*consul.HealthCheck, *consul.Meta, error) {
			return c.Health.ListNodeChecks(testCtx(t), "foo bar", consul.Filter(`Status == "passing"`), consul.Stale())
		}, "/v1/health/node/foo%20bar", q("filter", `Status == "passing"`, "stale", "")},
		{"checks", func(c *consul.Client) ([]*consul.HealthCheck, *consul.Meta, error) {
			return c.Health.ListServiceChecks(testCtx(t), "redis", consul.Near("_agent"), consul.NodeMeta("env", "prod"), consul.WaitIndex(9))
		}, "/v1/health/checks/redis", q("near", "_agent", "node-meta", "env:prod", "index", "9")},
		{"state", func(c *consul.Client) ([]*consul.HealthCheck, *consul.Meta, error) {
			return c.Health.ListChecksInState(testCtx(t), consul.HealthPassing, consul.Near("_agent"), consul.Datacenter("dc2"))
		}, "/v1/health/state/passing", q("dc", "dc2", "near", "_agent")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, c := newWire(t, reply{Header: healthTestHeader, Body: healthTestChecksJSON})
			checks, meta, err := tc.call(c)
			require.NoError(t, err)
			w.only(t).expect(t, "GET", tc.path, tc.q)
			assert.Equal(t, uint64(14), meta.Index)
			assert.Equal(t, "blocking-query", meta.QueryBackend)
			require.Len(t, checks, 1)
			healthTestCheckRedis(t, checks[0])
		})
	}
	for _, state := range []consul.HealthStatus{consul.HealthAny, consul.HealthWarning, consul.HealthCritical} {
		w, c := newWire(t, reply{Body: `[]`})
		checks, _, err := c.Health.ListChecksInState(testCtx(t), state)
		require.NoError(t, err)
		assert.Empty(t, checks)
		w.only(t).expect(t, "GET", "/v1/health/state/"+string(state), nil)
	}
}

func TestHealthServiceWire(t *testing.T) {
	for _, tc := range []struct {
		name string
		call func(c *consul.Client) ([]*consul.ServiceEntry, *consul.Meta, error)
		path string
		q    map[string][]string
	}{
		{"service", func(c *consul.Client) ([]*consul.ServiceEntry, *consul.Meta, error) {
			return c.Health.ListServiceInstances(testCtx(t), "redis?x", consul.Tag("master"), consul.Tag("v1"), consul.Passing(),
				consul.Near("_agent"), consul.NodeMeta("env", "prod"), consul.Filter("Service.Port == 8000"),
				consul.WaitIndex(14), consul.WaitTime(time.Minute), consul.Cached())
		}, "/v1/health/service/redis%3Fx", map[string][]string{"tag": {"master", "v1"}, "passing": {""}, "near": {"_agent"},
			"node-meta": {"env:prod"}, "filter": {"Service.Port == 8000"}, "index": {"14"}, "wait": {"1m0s"}, "cached": {""}}},
		{"connect", func(c *consul.Client) ([]*consul.ServiceEntry, *consul.Meta, error) {
			return c.Health.ListConnectInstances(testCtx(t), "redis", consul.Passing())
		}, "/v1/health/connect/redis", q("passing", "")},
		{"ingress", func(c *consul.Client) ([]*consul.ServiceEntry, *consul.Meta, error) {
			return c.Health.ListIngressInstances(testCtx(t), "redis", consul.Tag("x"))
		}, "/v1/health/ingress/redis", q("tag", "x")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, c := newWire(t, reply{Header: healthTestHeader, Body: healthTestServiceJSON})
			entries, meta, err := tc.call(c)
			require.NoError(t, err)
			w.only(t).expect(t, "GET", tc.path, tc.q)
			assert.Equal(t, uint64(14), meta.Index)
			require.Len(t, entries, 1)
			e := entries[0]
			assert.Equal(t, "192.168.10.10", e.Node.Address)
			assert.Equal(t, map[string]string{"env": "prod"}, e.Node.Meta)
			assert.Equal(t, "redis1", e.Service.ID)
			assert.Equal(t, 8000, e.Service.Port)
			require.Len(t, e.Checks, 2)
			healthTestCheckRedis(t, e.Checks[0])
			assert.Equal(t, consul.HealthCritical, e.Checks[1].Status)
			assert.Equal(t, []string{}, e.Checks[1].ServiceTags)
			assert.Equal(t, consul.HealthCritical, e.AggregatedStatus())
		})
	}
}

func TestHealthBadInput(t *testing.T) {
	w, c := newWire(t)
	ctx := testCtx(t)
	var ae *consul.ArgumentError
	_, _, err := c.Health.ListNodeChecks(ctx, "")
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "node", ae.Arg)
	_, _, err = c.Health.ListServiceChecks(ctx, "")
	require.ErrorAs(t, err, &ae)
	for _, state := range []consul.HealthStatus{"", "bogus", "Passing", consul.HealthMaintenance, "passing/x"} {
		_, _, err = c.Health.ListChecksInState(ctx, state)
		require.ErrorAs(t, err, &ae, string(state))
		assert.Equal(t, "state", ae.Arg)
	}
	_, _, err = c.Health.ListServiceInstances(ctx, "")
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "service", ae.Arg)
	_, _, err = c.Health.ListConnectInstances(ctx, "")
	require.ErrorAs(t, err, &ae)
	_, _, err = c.Health.ListIngressInstances(ctx, "")
	require.ErrorAs(t, err, &ae)
	w.noRequest(t)
}

// healthTestSetStatus re-registers the service check of an instance
// registered by catalogTestRegister with a new status.
func healthTestSetStatus(t *testing.T, c *consul.Client, node, service string, status consul.HealthStatus) {
	t.Helper()
	require.NoError(t, c.Catalog.Register(testCtx(t), &consul.CatalogRegistration{
		Node: node, SkipNodeUpdate: true,
		Check: &consul.HealthCheck{CheckID: "service:" + service + "1", Name: "check of " + service,
			Status: status, ServiceID: service + "1", Output: "set to " + string(status)},
	}))
}

func TestHealthServicePassing(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	svc := uniq(t, "redis")
	good, bad := uniq(t, "good"), uniq(t, "bad")
	catalogTestRegister(t, c, good, svc, []string{"v1"}, consul.HealthPassing)
	catalogTestRegister(t, c, bad, svc, []string{"v1"}, consul.HealthPassing)

	nodesOf := func(entries []*consul.ServiceEntry) []string {
		var out []string
		for _, e := range entries {
			out = append(out, e.Node.Node)
		}
		slices.Sort(out)
		return out
	}
	both := []string{bad, good}
	slices.Sort(both)

	entries, meta, err := c.Health.ListServiceInstances(ctx, svc, consul.Passing())
	require.NoError(t, err)
	assert.Equal(t, both, nodesOf(entries))

	// The bad instance turns critical: a blocking read wakes up and
	// Passing drops it; without Passing it is still listed.
	setErr := make(chan error, 1)
	go func() {
		time.Sleep(200 * time.Millisecond)
		setErr <- c.Catalog.Register(ctx, &consul.CatalogRegistration{
			Node: bad, SkipNodeUpdate: true,
			Check: &consul.HealthCheck{CheckID: "service:" + svc + "1", Name: "check of " + svc,
				Status: consul.HealthCritical, ServiceID: svc + "1"},
		})
	}()
	start := time.Now()
	entries, _, err = c.Health.ListServiceInstances(ctx, svc, consul.Passing(), consul.WaitIndex(meta.Index), consul.WaitTime(10*time.Second))
	require.NoError(t, err)
	require.NoError(t, <-setErr)
	assert.Less(t, time.Since(start), 9*time.Second, "the blocking read must wake up on the change")
	assert.Equal(t, []string{good}, nodesOf(entries))

	all, _, err := c.Health.ListServiceInstances(ctx, svc)
	require.NoError(t, err)
	require.Equal(t, both, nodesOf(all))
	for _, e := range all {
		want := consul.HealthPassing
		if e.Node.Node == bad {
			want = consul.HealthCritical
		}
		assert.Equal(t, want, e.AggregatedStatus(), e.Node.Node)
	}

	// A warning also fails Passing.
	healthTestSetStatus(t, c, bad, svc, consul.HealthWarning)
	entries, _, err = c.Health.ListServiceInstances(ctx, svc, consul.Passing())
	require.NoError(t, err)
	assert.Equal(t, []string{good}, nodesOf(entries))

	// Passing again: it is back.
	healthTestSetStatus(t, c, bad, svc, consul.HealthPassing)
	entries, _, err = c.Health.ListServiceInstances(ctx, svc, consul.Passing())
	require.NoError(t, err)
	assert.Equal(t, both, nodesOf(entries))

	// Tag and NodeMeta select too.
	entries, _, err = c.Health.ListServiceInstances(ctx, svc, consul.Tag("v1"), consul.NodeMeta("catalogtest", good))
	require.NoError(t, err)
	assert.Equal(t, []string{good}, nodesOf(entries))
	entries, _, err = c.Health.ListServiceInstances(ctx, svc, consul.Tag("v1"), consul.Tag("v2"))
	require.NoError(t, err)
	assert.Empty(t, entries)
}

func TestHealthChecksNodeState(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	svc, node := uniq(t, "db"), uniq(t, "node")
	catalogTestRegister(t, c, node, svc, nil, consul.HealthCritical)
	checkID := "service:" + svc + "1"

	checks, _, err := c.Health.ListNodeChecks(ctx, node)
	require.NoError(t, err)
	require.Len(t, checks, 1)
	assert.Equal(t, checkID, checks[0].CheckID)
	assert.Equal(t, consul.HealthCritical, checks[0].Status)
	assert.Equal(t, svc, checks[0].ServiceName)

	checks, _, err = c.Health.ListNodeChecks(ctx, srv.NodeName)
	require.NoError(t, err)
	assert.True(t, slices.ContainsFunc(checks, func(c *consul.HealthCheck) bool { return c.CheckID == "serfHealth" }))

	checks, _, err = c.Health.ListNodeChecks(ctx, uniq(t, "missing"))
	require.NoError(t, err)
	assert.Empty(t, checks)

	checks, _, err = c.Health.ListServiceChecks(ctx, svc)
	require.NoError(t, err)
	require.Len(t, checks, 1)
	assert.Equal(t, node, checks[0].Node)

	hasOurs := func(checks []*consul.HealthCheck) bool {
		return slices.ContainsFunc(checks, func(c *consul.HealthCheck) bool { return c.Node == node && c.CheckID == checkID })
	}
	critical, _, err := c.Health.ListChecksInState(ctx, consul.HealthCritical)
	require.NoError(t, err)
	assert.True(t, hasOurs(critical))
	for _, c := range critical {
		assert.Equal(t, consul.HealthCritical, c.Status)
	}
	passing, _, err := c.Health.ListChecksInState(ctx, consul.HealthPassing, consul.Near("_agent"))
	require.NoError(t, err)
	assert.False(t, hasOurs(passing))
	anyState, _, err := c.Health.ListChecksInState(ctx, consul.HealthAny, consul.Filter(`Node == "`+node+`"`))
	require.NoError(t, err)
	require.Len(t, anyState, 1)
	assert.True(t, hasOurs(anyState))
}

func TestHealthConnectAndIngress(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	node, svc, gw := uniq(t, "node"), uniq(t, "api"), uniq(t, "igw")
	catalogTestRegister(t, c, node, svc, nil, consul.HealthPassing)

	entries, _, err := c.Health.ListConnectInstances(ctx, svc)
	require.NoError(t, err)
	assert.Empty(t, entries)
	entries, _, err = c.Health.ListIngressInstances(ctx, svc)
	require.NoError(t, err)
	assert.Empty(t, entries)

	require.NoError(t, c.Catalog.Register(ctx, &consul.CatalogRegistration{
		Node: node, SkipNodeUpdate: true,
		Service: &consul.NodeService{
			Kind: consul.ServiceKindConnectProxy, ID: svc + "-sidecar", Service: svc + "-sidecar-proxy", Port: 21000,
			Proxy: &consul.ServiceProxy{DestinationServiceName: svc, LocalServicePort: 8000},
		},
	}))
	require.NoError(t, c.Catalog.Register(ctx, &consul.CatalogRegistration{
		Node: node, SkipNodeUpdate: true,
		Service: &consul.NodeService{Kind: consul.ServiceKindIngressGateway, ID: gw, Service: gw, Port: 8443},
	}))
	catalogTestPutConfig(t, srv, "ingress-gateway", gw, `{"Kind":"ingress-gateway","Name":"`+gw+`",
		"Listeners":[{"Port":8080,"Protocol":"tcp","Services":[{"Name":"`+svc+`"}]}]}`)

	entries, _, err = c.Health.ListConnectInstances(ctx, svc, consul.Passing())
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, consul.ServiceKindConnectProxy, entries[0].Service.Kind)
	assert.Equal(t, svc+"-sidecar", entries[0].Service.ID)
	assert.Equal(t, node, entries[0].Node.Node)

	entries, _, err = c.Health.ListIngressInstances(ctx, svc)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, consul.ServiceKindIngressGateway, entries[0].Service.Kind)
	assert.Equal(t, gw, entries[0].Service.Service)
}

func TestHealthServiceCancelled(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx, cancel := context.WithCancel(testCtx(t))
	_, meta, err := c.Health.ListServiceInstances(ctx, "consul")
	require.NoError(t, err)
	time.AfterFunc(200*time.Millisecond, cancel)
	_, _, err = c.Health.ListServiceInstances(ctx, "consul", consul.WaitIndex(meta.Index), consul.WaitTime(time.Minute))
	require.ErrorIs(t, err, context.Canceled)
}

// A watch loop over the healthy instances of a service: each read blocks
// until the list changes (or the wait runs out) and starts from the index
// of the previous answer.
func ExampleHealthService_ListServiceInstances() {
	client, err := consul.NewClient(consul.Config{})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var index uint64
	for ctx.Err() == nil {
		entries, meta, err := client.Health.ListServiceInstances(ctx, "redis", consul.Passing(), consul.Tag("prod"),
			consul.WaitIndex(index), consul.WaitTime(30*time.Second))
		if err != nil {
			time.Sleep(time.Second)
			continue
		}
		if meta.Index < index {
			index = 0 // the index went backwards: start over
		} else {
			index = meta.Index
		}
		for _, e := range entries {
			fmt.Printf("%s:%d\n", e.Service.Address, e.Service.Port)
		}
	}
}
