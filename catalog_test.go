package consul_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// --- wire tests ---

func TestCatalogRegisterWire(t *testing.T) {
	w, c := newWireConfig(t, consul.Config{Datacenter: "dc9", Token: "tok"}, reply{Body: "true"})
	reg := &consul.CatalogRegistration{
		Node:            "foobar",
		Address:         "192.168.10.10",
		TaggedAddresses: map[string]string{"wan": "10.0.0.1"},
		NodeMeta:        map[string]string{"env": "prod"},
		Service: &consul.NodeService{
			ID: "redis1", Service: "redis", Tags: []string{"master", "v1"},
			Address: "127.0.0.1", Port: 8000,
		},
		Check: &consul.HealthCheck{
			CheckID: "service:redis1", Name: "Redis health check", Status: consul.HealthPassing,
			ServiceID: "redis1", Notes: "Script based health check",
		},
	}
	require.NoError(t, c.Catalog.Register(testCtx(t), reg))
	r := w.only(t)
	// Consul reads the datacenter from the body only, so the client's
	// default goes there as well as in ?dc=.
	r.expect(t, "PUT", "/v1/catalog/register", q("dc", "dc9"))
	assert.Equal(t, "tok", r.Header.Get("X-Consul-Token"))
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.JSONEq(t, `{
		"Node":"foobar","Address":"192.168.10.10","Datacenter":"dc9",
		"TaggedAddresses":{"wan":"10.0.0.1"},"NodeMeta":{"env":"prod"},
		"Service":{"ID":"redis1","Service":"redis","Tags":["master","v1"],"Address":"127.0.0.1","Port":8000},
		"Check":{"Node":"","CheckID":"service:redis1","Name":"Redis health check","Status":"passing",
			"Notes":"Script based health check","ServiceID":"redis1","ServiceTags":null}
	}`, r.Body)
	assert.Empty(t, reg.Datacenter, "the caller's registration must not be modified")
}

func TestCatalogRegisterWireDatacenterAndChecks(t *testing.T) {
	w, c := newWireConfig(t, consul.Config{Datacenter: "dc9"}, reply{Body: "true"})
	require.NoError(t, c.Catalog.Register(testCtx(t), &consul.CatalogRegistration{
		ID: "40e4a748-2192-161a-0510-9bf59fe950b5", Node: "n1", SkipNodeUpdate: true,
		Checks: []*consul.HealthCheck{
			{CheckID: "c1", Name: "c1", Status: consul.HealthCritical, Definition: &consul.HealthCheckDefinition{TCP: "10.0.0.1:80", Interval: 10 * time.Second, Timeout: 2 * time.Second}},
			{Name: "c2"},
		},
	}, consul.Datacenter("dc2")))
	r := w.only(t)
	r.expect(t, "PUT", "/v1/catalog/register", q("dc", "dc2"))
	assert.JSONEq(t, `{
		"ID":"40e4a748-2192-161a-0510-9bf59fe950b5","Node":"n1","Datacenter":"dc2","SkipNodeUpdate":true,
		"Checks":[
			{"Node":"","CheckID":"c1","Name":"c1","Status":"critical","ServiceTags":null,
			 "Definition":{"TCP":"10.0.0.1:80","Interval":"10s","Timeout":"2s"}},
			{"Node":"","CheckID":"","Name":"c2","Status":"","ServiceTags":null}
		]
	}`, r.Body)

	// An explicit Datacenter in the body wins.
	w, c = newWireConfig(t, consul.Config{Datacenter: "dc9"}, reply{Body: "true"})
	require.NoError(t, c.Catalog.Register(testCtx(t), &consul.CatalogRegistration{Node: "n1", Address: "10.0.0.1", Datacenter: "dc3"}))
	assert.JSONEq(t, `{"Node":"n1","Address":"10.0.0.1","Datacenter":"dc3"}`, w.only(t).Body)
}

func TestCatalogRegisterWireError(t *testing.T) {
	w, c := newWire(t, reply{Status: 500, Body: "Must provide address if SkipNodeUpdate is not set"})
	err := c.Catalog.Register(testCtx(t), &consul.CatalogRegistration{Node: "n", Address: "x"})
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 500, se.StatusCode)
	assert.Contains(t, se.Body, "Must provide address")
	w.only(t)
}

func TestCatalogDeregisterWire(t *testing.T) {
	w, c := newWire(t, reply{Body: "true"})
	require.NoError(t, c.Catalog.Deregister(testCtx(t), &consul.CatalogDeregistration{Node: "foobar", ServiceID: "redis1"}))
	r := w.only(t)
	r.expect(t, "PUT", "/v1/catalog/deregister", nil)
	assert.JSONEq(t, `{"Node":"foobar","ServiceID":"redis1"}`, r.Body)

	w, c = newWire(t, reply{Body: "true"})
	require.NoError(t, c.Catalog.Deregister(testCtx(t), &consul.CatalogDeregistration{Node: "foobar", CheckID: "service:redis1"}, consul.Datacenter("dc2")))
	r = w.only(t)
	r.expect(t, "PUT", "/v1/catalog/deregister", q("dc", "dc2"))
	assert.JSONEq(t, `{"Node":"foobar","CheckID":"service:redis1","Datacenter":"dc2"}`, r.Body)
}

func TestCatalogBadInput(t *testing.T) {
	w, c := newWire(t)
	ctx := testCtx(t)
	var ae *consul.ArgumentError
	for name, reg := range map[string]*consul.CatalogRegistration{
		"CatalogRegistration":                 nil,
		"CatalogRegistration.Node":            {Address: "10.0.0.1"},
		"CatalogRegistration.Address":         {Node: "n"},
		"CatalogRegistration.Service.Service": {Node: "n", Address: "a", Service: &consul.NodeService{ID: "x"}},
		"CatalogRegistration.Check.CheckID":   {Node: "n", Address: "a", Check: &consul.HealthCheck{Status: "passing"}},
		"CatalogRegistration.Checks":          {Node: "n", Address: "a", Checks: []*consul.HealthCheck{nil}},
	} {
		err := c.Catalog.Register(ctx, reg)
		require.ErrorAs(t, err, &ae, name)
		assert.Equal(t, name, ae.Arg)
	}
	require.ErrorAs(t, c.Catalog.Deregister(ctx, nil), &ae)
	require.ErrorAs(t, c.Catalog.Deregister(ctx, &consul.CatalogDeregistration{ServiceID: "x"}), &ae)
	assert.Equal(t, "CatalogDeregistration.Node", ae.Arg)
	_, _, err := c.Catalog.ListServiceInstances(ctx, "")
	require.ErrorAs(t, err, &ae)
	_, _, err = c.Catalog.ListConnectInstances(ctx, "")
	require.ErrorAs(t, err, &ae)
	_, _, err = c.Catalog.GetNode(ctx, "")
	require.ErrorAs(t, err, &ae)
	_, _, err = c.Catalog.GetNodeServices(ctx, "")
	require.ErrorAs(t, err, &ae)
	_, _, err = c.Catalog.ListGatewayServices(ctx, "")
	require.ErrorAs(t, err, &ae)
	_, _, err = c.Catalog.ListNodes(ctx, consul.WaitTime(-time.Second))
	require.ErrorAs(t, err, &ae)
	w.noRequest(t)
}

// Answers recorded from a Consul 1.19.2 agent.
const (
	catalogTestNodesJSON   = `[{"ID":"ef3a5572-4e5c-8487-bc0c-3e8dac15f2b4","Node":"consultest-34057","Address":"127.0.0.1","Datacenter":"dc1","TaggedAddresses":null,"Meta":{"consul-version":"1.19.2"},"CreateIndex":12,"ModifyIndex":12},{"ID":"","Node":"foobar","Address":"192.168.10.10","Datacenter":"dc1","TaggedAddresses":{"wan":"10.0.0.1"},"Meta":{"env":"prod"},"CreateIndex":14,"ModifyIndex":14}]`
	catalogTestServiceJSON = `[{"ID":"","Node":"foobar","Address":"192.168.10.10","Datacenter":"dc1","TaggedAddresses":{"wan":"10.0.0.1"},"NodeMeta":{"env":"prod"},"ServiceKind":"","ServiceID":"redis1","ServiceName":"redis","ServiceTags":["master","v1"],"ServiceAddress":"127.0.0.1","ServiceWeights":{"Passing":1,"Warning":1},"ServiceMeta":{"a":"b"},"ServicePort":8000,"ServiceSocketPath":"","ServiceEnableTagOverride":false,"ServiceProxy":{"Mode":"","MeshGateway":{},"Expose":{}},"ServiceConnect":{},"ServiceLocality":null,"CreateIndex":14,"ModifyIndex":14}]`
	catalogTestNodeJSON    = `{"Node":{"ID":"","Node":"foobar","Address":"192.168.10.10","Datacenter":"dc1","TaggedAddresses":{"wan":"10.0.0.1"},"Meta":{"env":"prod"},"CreateIndex":14,"ModifyIndex":14},"Services":{"redis1":{"ID":"redis1","Service":"redis","Tags":["master","v1"],"Address":"127.0.0.1","Meta":{"a":"b"},"Port":8000,"Weights":{"Passing":1,"Warning":1},"EnableTagOverride":false,"Proxy":{"Mode":"","MeshGateway":{},"Expose":{}},"Connect":{},"PeerName":"","CreateIndex":14,"ModifyIndex":14}}}`
	catalogTestNodeSvcJSON = `{"Node":{"ID":"","Node":"foobar","Address":"192.168.10.10","Datacenter":"dc1","TaggedAddresses":{"wan":"10.0.0.1"},"Meta":{"env":"prod"},"CreateIndex":14,"ModifyIndex":14},"Services":[{"ID":"redis1","Service":"redis","Tags":["master","v1"],"Address":"127.0.0.1","Meta":{"a":"b"},"Port":8000,"Weights":{"Passing":1,"Warning":1},"EnableTagOverride":false,"Proxy":{"Mode":"","MeshGateway":{},"Expose":{}},"Connect":{},"PeerName":"","CreateIndex":14,"ModifyIndex":14}]}`
	catalogTestGatewayJSON = `[{"Gateway":{"Name":"tgw"},"Service":{"Name":"redis"},"GatewayKind":"terminating-gateway","CAFile":"/ca.pem","SNI":"x.example","ServiceKind":"service","CreateIndex":16,"ModifyIndex":16,"AutoHostRewrite":true},{"Gateway":{"Name":"gw"},"Service":{"Name":"redis"},"GatewayKind":"ingress-gateway","Port":8080,"Protocol":"tcp","Hosts":["redis.example"],"CreateIndex":15,"ModifyIndex":15}]`
)

var catalogTestIndexHeader = map[string]string{"X-Consul-Index": "14", "X-Consul-KnownLeader": "true", "X-Consul-LastContact": "0"}

func TestCatalogDatacentersWire(t *testing.T) {
	w, c := newWire(t, reply{Body: `["dc1","dc2"]`})
	dcs, _, err := c.Catalog.ListDatacenters(testCtx(t), consul.Cached())
	require.NoError(t, err)
	assert.Equal(t, []string{"dc1", "dc2"}, dcs)
	w.only(t).expect(t, "GET", "/v1/catalog/datacenters", q("cached", ""))
}

func TestCatalogNodesWire(t *testing.T) {
	w, c := newWire(t, reply{Header: catalogTestIndexHeader, Body: catalogTestNodesJSON})
	nodes, meta, err := c.Catalog.ListNodes(testCtx(t), consul.Near("_agent"), consul.NodeMeta("env", "prod"),
		consul.Filter(`Meta.env == "prod"`), consul.Stale(), consul.WaitIndex(10), consul.WaitTime(30*time.Second))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/catalog/nodes", q("near", "_agent", "node-meta", "env:prod",
		"filter", `Meta.env == "prod"`, "stale", "", "index", "10", "wait", "30s"))
	assert.Equal(t, uint64(14), meta.Index)
	assert.True(t, meta.KnownLeader)
	require.Len(t, nodes, 2)
	assert.Equal(t, "ef3a5572-4e5c-8487-bc0c-3e8dac15f2b4", nodes[0].ID)
	assert.Equal(t, &consul.Node{Node: "foobar", Address: "192.168.10.10", Datacenter: "dc1",
		TaggedAddresses: map[string]string{"wan": "10.0.0.1"}, Meta: map[string]string{"env": "prod"},
		CreateIndex: 14, ModifyIndex: 14}, nodes[1])
}

func TestCatalogServicesWire(t *testing.T) {
	w, c := newWire(t, reply{Header: catalogTestIndexHeader, Body: `{"consul":[],"redis":["master","v1"]}`})
	svcs, meta, err := c.Catalog.ListServices(testCtx(t), consul.NodeMeta("env", "prod"), consul.Datacenter("dc2"))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/catalog/services", q("dc", "dc2", "node-meta", "env:prod"))
	assert.Equal(t, map[string][]string{"consul": {}, "redis": {"master", "v1"}}, svcs)
	assert.Equal(t, uint64(14), meta.Index)
}

func TestCatalogServiceWire(t *testing.T) {
	w, c := newWire(t, reply{Header: catalogTestIndexHeader, Body: catalogTestServiceJSON})
	nodes, _, err := c.Catalog.ListServiceInstances(testCtx(t), "redis db?x", consul.Tag("v1"), consul.Tag("master"),
		consul.Near("_agent"), consul.NodeMeta("env", "prod"), consul.Filter("ServicePort == 8000"))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/catalog/service/redis%20db%3Fx",
		catalogTestAdd(q("tag", "v1", "near", "_agent", "node-meta", "env:prod", "filter", "ServicePort == 8000"), "tag", "master"))
	require.Len(t, nodes, 1)
	n := nodes[0]
	assert.Equal(t, "foobar", n.Node)
	assert.Equal(t, "redis1", n.ServiceID)
	assert.Equal(t, "redis", n.ServiceName)
	assert.Equal(t, []string{"master", "v1"}, n.ServiceTags)
	assert.Equal(t, 8000, n.ServicePort)
	assert.Equal(t, consul.Weights{Passing: 1, Warning: 1}, n.ServiceWeights)
	assert.Equal(t, map[string]string{"env": "prod"}, n.NodeMeta)
	assert.Equal(t, map[string]string{"a": "b"}, n.ServiceMeta)

	w, c = newWire(t, reply{Body: `[]`})
	nodes, _, err = c.Catalog.ListConnectInstances(testCtx(t), "redis")
	require.NoError(t, err)
	assert.Empty(t, nodes)
	w.only(t).expect(t, "GET", "/v1/catalog/connect/redis", nil)
}

// catalogTestAdd adds one more value to a query built with q.
func catalogTestAdd(v url.Values, k, val string) url.Values {
	v.Add(k, val)
	return v
}

func TestCatalogNodeWire(t *testing.T) {
	w, c := newWire(t, reply{Header: catalogTestIndexHeader, Body: catalogTestNodeJSON})
	n, meta, err := c.Catalog.GetNode(testCtx(t), "foo bar", consul.WaitIndex(5), consul.Consistent())
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/catalog/node/foo%20bar", q("consistent", "", "index", "5"))
	assert.Equal(t, uint64(14), meta.Index)
	require.NotNil(t, n)
	assert.Equal(t, "192.168.10.10", n.Node.Address)
	require.Contains(t, n.Services, "redis1")
	assert.Equal(t, "redis", n.Services["redis1"].Service)
	assert.Equal(t, []string{"master", "v1"}, n.Services["redis1"].Tags)
	assert.Equal(t, &consul.Weights{Passing: 1, Warning: 1}, n.Services["redis1"].Weights)

	w, c = newWire(t, reply{Header: catalogTestIndexHeader, Body: catalogTestNodeSvcJSON})
	l, _, err := c.Catalog.GetNodeServices(testCtx(t), "foobar", consul.Filter("Port == 8000"))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/catalog/node-services/foobar", q("filter", "Port == 8000"))
	require.NotNil(t, l)
	assert.Equal(t, "foobar", l.Node.Node)
	require.Len(t, l.Services, 1)
	assert.Equal(t, 8000, l.Services[0].Port)
}

func TestCatalogNodeMissingWire(t *testing.T) {
	// Consul 1.19 answers a missing node with 200 and null ...
	_, c := newWire(t, reply{Header: map[string]string{"X-Consul-Index": "1"}, Body: "null"})
	n, meta, err := c.Catalog.GetNode(testCtx(t), "missing")
	require.NoError(t, err)
	assert.Nil(t, n)
	require.NotNil(t, meta)
	assert.Equal(t, uint64(1), meta.Index)
	// ... and node-services with a null Node.
	_, c = newWire(t, reply{Header: map[string]string{"X-Consul-Index": "1"}, Body: `{"Node":null,"Services":null}`})
	l, meta, err := c.Catalog.GetNodeServices(testCtx(t), "missing")
	require.NoError(t, err)
	assert.Nil(t, l)
	assert.Equal(t, uint64(1), meta.Index)
	// A 404 is the same nil.
	_, c = newWire(t, reply{Status: 404, Header: map[string]string{"X-Consul-Index": "3"}})
	n, meta, err = c.Catalog.GetNode(testCtx(t), "missing")
	require.NoError(t, err)
	assert.Nil(t, n)
	assert.Equal(t, uint64(3), meta.Index)
	l, _, err = c.Catalog.GetNodeServices(testCtx(t), "missing")
	require.NoError(t, err)
	assert.Nil(t, l)
	// Other errors stay errors.
	_, c = newWire(t, reply{Status: 403, Body: "Permission denied"})
	_, _, err = c.Catalog.GetNode(testCtx(t), "n")
	require.ErrorIs(t, err, consul.ErrPermissionDenied)
}

func TestCatalogGatewayServicesWire(t *testing.T) {
	w, c := newWire(t, reply{Header: catalogTestIndexHeader, Body: catalogTestGatewayJSON})
	gs, _, err := c.Catalog.ListGatewayServices(testCtx(t), "tgw")
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/catalog/gateway-services/tgw", nil)
	require.Len(t, gs, 2)
	assert.Equal(t, &consul.CatalogGatewayService{
		Gateway: consul.CatalogServiceName{Name: "tgw"}, Service: consul.CatalogServiceName{Name: "redis"},
		GatewayKind: consul.ServiceKindTerminatingGateway, CAFile: "/ca.pem", SNI: "x.example",
		ServiceKind: "service", AutoHostRewrite: true, CreateIndex: 16, ModifyIndex: 16,
	}, gs[0])
	assert.Equal(t, consul.ServiceKindIngressGateway, gs[1].GatewayKind)
	assert.Equal(t, 8080, gs[1].Port)
	assert.Equal(t, "tcp", gs[1].Protocol)
	assert.Equal(t, []string{"redis.example"}, gs[1].Hosts)

	_, c = newWire(t, reply{Body: `null`})
	gs, _, err = c.Catalog.ListGatewayServices(testCtx(t), "none")
	require.NoError(t, err)
	assert.NotNil(t, gs)
	assert.Empty(t, gs)
}

// --- integration tests ---

// catalogTestRegister registers an external node with one service and a
// service check in status, and deregisters the node when the test ends.
func catalogTestRegister(t *testing.T, c *consul.Client, node, service string, tags []string, status consul.HealthStatus) {
	t.Helper()
	err := c.Catalog.Register(testCtx(t), &consul.CatalogRegistration{
		Node:     node,
		Address:  "192.168.10.10",
		NodeMeta: map[string]string{"catalogtest": node},
		Service:  &consul.NodeService{ID: service + "1", Service: service, Tags: tags, Address: "127.0.0.1", Port: 8000},
		Check: &consul.HealthCheck{CheckID: "service:" + service + "1", Name: "check of " + service,
			Status: status, ServiceID: service + "1"},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Catalog.Deregister(ctx, &consul.CatalogDeregistration{Node: node})
	})
}

func TestCatalogRegisterAndRead(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	node, svc := uniq(t, "node"), uniq(t, "redis")

	// Nothing yet: the node read is nil, with a usable index.
	missing, meta, err := c.Catalog.GetNode(ctx, node)
	require.NoError(t, err)
	assert.Nil(t, missing)
	require.NotNil(t, meta)
	assert.NotZero(t, meta.Index)

	catalogTestRegister(t, c, node, svc, []string{"master", "v1"}, consul.HealthPassing)

	n, meta, err := c.Catalog.GetNode(ctx, node)
	require.NoError(t, err)
	require.NotNil(t, n)
	assert.Equal(t, "192.168.10.10", n.Node.Address)
	assert.Equal(t, map[string]string{"catalogtest": node}, n.Node.Meta)
	require.Contains(t, n.Services, svc+"1")
	assert.Equal(t, []string{"master", "v1"}, n.Services[svc+"1"].Tags)
	assert.Equal(t, 8000, n.Services[svc+"1"].Port)
	assert.NotZero(t, meta.Index)

	l, _, err := c.Catalog.GetNodeServices(ctx, node)
	require.NoError(t, err)
	require.NotNil(t, l)
	require.Len(t, l.Services, 1)
	assert.Equal(t, svc, l.Services[0].Service)

	nodes, _, err := c.Catalog.ListNodes(ctx, consul.Near("_agent"))
	require.NoError(t, err)
	require.NotEmpty(t, nodes)
	assert.Equal(t, srv.NodeName, nodes[0].Node, "near=_agent sorts the agent's own node first")
	assert.True(t, slices.ContainsFunc(nodes, func(n *consul.Node) bool { return n.Node == node }))

	nodes, _, err = c.Catalog.ListNodes(ctx, consul.NodeMeta("catalogtest", node))
	require.NoError(t, err)
	require.Len(t, nodes, 1)
	assert.Equal(t, node, nodes[0].Node)
	nodes, _, err = c.Catalog.ListNodes(ctx, consul.Filter(`Node == "`+node+`"`))
	require.NoError(t, err)
	require.Len(t, nodes, 1)

	svcs, _, err := c.Catalog.ListServices(ctx, consul.Stale())
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"master", "v1"}, svcs[svc], "Consul does not order these tags")

	instances, _, err := c.Catalog.ListServiceInstances(ctx, svc)
	require.NoError(t, err)
	require.Len(t, instances, 1)
	assert.Equal(t, node, instances[0].Node)
	assert.Equal(t, svc+"1", instances[0].ServiceID)
	assert.Equal(t, 8000, instances[0].ServicePort)

	dcs, _, err := c.Catalog.ListDatacenters(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{srv.Datacenter}, dcs)

	// Deregister the service: the node stays, the service goes.
	require.NoError(t, c.Catalog.Deregister(ctx, &consul.CatalogDeregistration{Node: node, ServiceID: svc + "1"}))
	instances, _, err = c.Catalog.ListServiceInstances(ctx, svc)
	require.NoError(t, err)
	assert.Empty(t, instances)
	n, _, err = c.Catalog.GetNode(ctx, node)
	require.NoError(t, err)
	require.NotNil(t, n)
	assert.Empty(t, n.Services)

	// Deregister the node: reads of it are nil again.
	require.NoError(t, c.Catalog.Deregister(ctx, &consul.CatalogDeregistration{Node: node}))
	n, _, err = c.Catalog.GetNode(ctx, node)
	require.NoError(t, err)
	assert.Nil(t, n)
	l, _, err = c.Catalog.GetNodeServices(ctx, node)
	require.NoError(t, err)
	assert.Nil(t, l)
}

func TestCatalogServiceTags(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	svc := uniq(t, "web")
	for i, tags := range [][]string{{"prod", "v1"}, {"prod", "v2"}, {"dev", "v1"}} {
		catalogTestRegister(t, c, uniq(t, "n"+string(rune('a'+i))), svc, tags, consul.HealthPassing)
	}
	tagsOf := func(opts ...consul.Option) [][]string {
		instances, _, err := c.Catalog.ListServiceInstances(ctx, svc, opts...)
		require.NoError(t, err)
		var out [][]string
		for _, in := range instances {
			out = append(out, in.ServiceTags)
		}
		slices.SortFunc(out, func(a, b []string) int { return strings.Compare(strings.Join(a, ","), strings.Join(b, ",")) })
		return out
	}
	assert.Len(t, tagsOf(), 3)
	assert.Equal(t, [][]string{{"prod", "v1"}, {"prod", "v2"}}, tagsOf(consul.Tag("prod")))
	assert.Equal(t, [][]string{{"dev", "v1"}, {"prod", "v1"}}, tagsOf(consul.Tag("v1")))
	// Several tags: instances must carry all of them.
	assert.Equal(t, [][]string{{"prod", "v1"}}, tagsOf(consul.Tag("prod"), consul.Tag("v1")))
	assert.Empty(t, tagsOf(consul.Tag("dev"), consul.Tag("v2")))
	assert.Equal(t, [][]string{{"prod", "v2"}}, tagsOf(consul.Filter(`"v2" in ServiceTags`)))
}

func TestCatalogNodeBlocking(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	node := uniq(t, "node")
	n, meta, err := c.Catalog.GetNode(ctx, node)
	require.NoError(t, err)
	require.Nil(t, n)

	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = c.Catalog.Register(context.Background(), &consul.CatalogRegistration{Node: node, Address: "10.1.1.1"})
	}()
	t.Cleanup(func() { _ = c.Catalog.Deregister(context.Background(), &consul.CatalogDeregistration{Node: node}) })
	start := time.Now()
	for time.Since(start) < 20*time.Second {
		n, meta, err = c.Catalog.GetNode(ctx, node, consul.WaitIndex(meta.Index), consul.WaitTime(10*time.Second))
		require.NoError(t, err)
		if n != nil {
			break
		}
	}
	require.NotNil(t, n, "the blocking read must wake up when the node is registered")
	assert.Equal(t, "10.1.1.1", n.Node.Address)
	assert.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond, "the read must have blocked")
}

func TestCatalogDatacenterOption(t *testing.T) {
	// A datacenter that does not exist: Consul must see it in the body and
	// refuse it, proving the option reached the body (it ignores ?dc=).
	c := newClient(t, testAgent(t), consul.Config{Datacenter: "nowhere"})
	err := c.Catalog.Register(testCtx(t), &consul.CatalogRegistration{Node: uniq(t, "n"), Address: "10.0.0.1"})
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	assert.Contains(t, se.Body, "No path to datacenter")
}

func TestCatalogConnect(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	node, svc := uniq(t, "node"), uniq(t, "api")
	catalogTestRegister(t, c, node, svc, nil, consul.HealthPassing)
	proxies, _, err := c.Catalog.ListConnectInstances(ctx, svc)
	require.NoError(t, err)
	assert.Empty(t, proxies, "no sidecar yet")

	require.NoError(t, c.Catalog.Register(ctx, &consul.CatalogRegistration{
		Node: node, SkipNodeUpdate: true,
		Service: &consul.NodeService{
			Kind: consul.ServiceKindConnectProxy, ID: svc + "-sidecar", Service: svc + "-sidecar-proxy", Port: 21000,
			Proxy: &consul.ServiceProxy{DestinationServiceName: svc, DestinationServiceID: svc + "1", LocalServicePort: 8000},
		},
	}))
	proxies, _, err = c.Catalog.ListConnectInstances(ctx, svc)
	require.NoError(t, err)
	require.Len(t, proxies, 1)
	assert.Equal(t, consul.ServiceKindConnectProxy, proxies[0].ServiceKind)
	assert.Equal(t, svc+"-sidecar", proxies[0].ServiceID)
	require.NotNil(t, proxies[0].ServiceProxy)
	assert.Equal(t, svc, proxies[0].ServiceProxy.DestinationServiceName)
	assert.Equal(t, 21000, proxies[0].ServicePort)
}

// catalogTestPutConfig writes a config entry with plain HTTP (the config
// entry API is another group's) and deletes it when the test ends.
func catalogTestPutConfig(t *testing.T, srv *consultest.Server, kind, name, body string) {
	t.Helper()
	catalogTestHTTP(t, srv, "PUT", "/v1/config", body)
	t.Cleanup(func() { catalogTestHTTP(t, srv, "DELETE", "/v1/config/"+kind+"/"+name, "") })
}

func catalogTestHTTP(t *testing.T, srv *consultest.Server, method, path, body string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+srv.HTTPAddr+path, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, 200, resp.StatusCode, "%s %s: %s", method, path, b)
}

func TestCatalogGatewayServices(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	gw, tgw, svc := uniq(t, "igw"), uniq(t, "tgw"), uniq(t, "db")

	gs, _, err := c.Catalog.ListGatewayServices(ctx, gw)
	require.NoError(t, err)
	assert.NotNil(t, gs)
	assert.Empty(t, gs)

	catalogTestPutConfig(t, srv, "ingress-gateway", gw, `{"Kind":"ingress-gateway","Name":"`+gw+`",
		"Listeners":[{"Port":8080,"Protocol":"tcp","Services":[{"Name":"`+svc+`"}]}]}`)
	catalogTestPutConfig(t, srv, "terminating-gateway", tgw, `{"Kind":"terminating-gateway","Name":"`+tgw+`",
		"Services":[{"Name":"`+svc+`","CAFile":"/etc/ca.pem","SNI":"db.example"}]}`)

	gs, meta, err := c.Catalog.ListGatewayServices(ctx, gw)
	require.NoError(t, err)
	require.Len(t, gs, 1)
	assert.Equal(t, gw, gs[0].Gateway.Name)
	assert.Equal(t, svc, gs[0].Service.Name)
	assert.Equal(t, consul.ServiceKindIngressGateway, gs[0].GatewayKind)
	assert.Equal(t, 8080, gs[0].Port)
	assert.Equal(t, "tcp", gs[0].Protocol)
	assert.NotZero(t, meta.Index)

	gs, _, err = c.Catalog.ListGatewayServices(ctx, tgw)
	require.NoError(t, err)
	require.Len(t, gs, 1)
	assert.Equal(t, consul.ServiceKindTerminatingGateway, gs[0].GatewayKind)
	assert.Equal(t, "/etc/ca.pem", gs[0].CAFile)
	assert.Equal(t, "db.example", gs[0].SNI)
	assert.Equal(t, svc, gs[0].Service.Name)
}

func TestCatalogRegisterRefusedByConsul(t *testing.T) {
	// A check bound to a service that is not on the node is refused by
	// Consul: the error carries its reason.
	c := newClient(t, testAgent(t))
	node := uniq(t, "n")
	t.Cleanup(func() { _ = c.Catalog.Deregister(context.Background(), &consul.CatalogDeregistration{Node: node}) })
	err := c.Catalog.Register(testCtx(t), &consul.CatalogRegistration{
		Node: node, Address: "10.0.0.1",
		Check: &consul.HealthCheck{CheckID: "c", Name: "c", ServiceID: "nope"},
	})
	var se *consul.StatusError
	require.True(t, errors.As(err, &se), "%v", err)
	assert.Contains(t, se.Body, "nope")
}

// Register an external node with a service and a passing check, as
// aioconsul's tutorial does, then list the service's instances.
func ExampleCatalogService_Register() {
	client, err := consul.NewClient(consul.Config{})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	err = client.Catalog.Register(ctx, &consul.CatalogRegistration{
		Node:    "foobar",
		Address: "192.168.10.10",
		Service: &consul.NodeService{ID: "redis1", Service: "redis", Tags: []string{"master", "v1"}, Port: 8000},
		Check: &consul.HealthCheck{CheckID: "service:redis1", Name: "Redis health check",
			Status: consul.HealthPassing, ServiceID: "redis1"},
	})
	if err != nil {
		panic(err)
	}
	instances, _, err := client.Catalog.ListServiceInstances(ctx, "redis", consul.Tag("master"), consul.Near("_agent"))
	if err != nil {
		panic(err)
	}
	for _, in := range instances {
		fmt.Println(in.Node, in.ServiceAddress, in.ServicePort)
	}
}

func TestCatalogACL(t *testing.T) {
	srv := testACLAgent(t)
	anon := newClient(t, srv)
	admin := newClient(t, srv, consul.Config{Token: srv.ManagementToken})
	ctx := testCtx(t)
	node := uniq(t, "n")
	reg := &consul.CatalogRegistration{Node: node, Address: "10.0.0.1"}

	require.ErrorIs(t, anon.Catalog.Register(ctx, reg), consul.ErrPermissionDenied)
	_, err := anon.Event.Fire(ctx, uniq(t, "ev"), nil)
	require.ErrorIs(t, err, consul.ErrPermissionDenied)

	require.NoError(t, admin.Catalog.Register(ctx, reg))
	t.Cleanup(func() { _ = admin.Catalog.Deregister(context.Background(), &consul.CatalogDeregistration{Node: node}) })
	// The anonymous token sees nothing: the node is filtered, not an error.
	n, meta, err := anon.Catalog.GetNode(ctx, node)
	require.NoError(t, err)
	assert.Nil(t, n)
	require.NotNil(t, meta)
	n, _, err = anon.Catalog.GetNode(ctx, node, consul.Token(srv.ManagementToken))
	require.NoError(t, err)
	require.NotNil(t, n)
	nodes, meta, err := anon.Catalog.ListNodes(ctx)
	require.NoError(t, err)
	assert.Empty(t, nodes)
	assert.Equal(t, "deny", meta.DefaultACLPolicy)
	require.NoError(t, anon.Catalog.Deregister(ctx, &consul.CatalogDeregistration{Node: node}, consul.Token(srv.ManagementToken)))
}

func TestCatalogLocalityRoundTrip(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	node := uniq(t, "node")
	loc := &consul.Locality{Region: "eu-west-1", Zone: "eu-west-1a"}
	require.NoError(t, c.Catalog.Register(ctx, &consul.CatalogRegistration{
		Node: node, Address: "10.9.9.9", Locality: loc,
		Service: &consul.NodeService{ID: "web1", Service: node + "-web", Port: 80, Locality: loc},
	}))
	defer c.Catalog.Deregister(ctx, &consul.CatalogDeregistration{Node: node})
	n, _, err := c.Catalog.GetNode(ctx, node)
	require.NoError(t, err)
	require.NotNil(t, n)
	assert.Equal(t, loc, n.Node.Locality)
	assert.Equal(t, loc, n.Services["web1"].Locality)
	inst, _, err := c.Catalog.ListServiceInstances(ctx, node+"-web")
	require.NoError(t, err)
	require.Len(t, inst, 1)
	assert.Equal(t, loc, inst[0].ServiceLocality)
}
