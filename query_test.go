package consul_test

import (
	"context"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A prepared query as Consul 1.19.2 answers it.
const queryTestJSON = `{"ID":"q-1","Name":"web","Session":"","Token":"<hidden>",
"Template":{"Type":"","Regexp":"","RemoveEmptyTags":false},
"Service":{"Service":"web","SamenessGroup":"","Failover":{"NearestN":2,"Datacenters":["dc2"],"Targets":null},
"OnlyPassing":true,"IgnoreCheckIDs":["c1"],"Near":"_agent","Tags":["prod","!canary"],"NodeMeta":{"rack":"a"},
"ServiceMeta":{"v":"1"},"Connect":false,"Peer":""},"DNS":{"TTL":"10s"},"CreateIndex":20,"ModifyIndex":21}`

func queryCheckTest(t *testing.T, got any) {
	q := got.(*consul.PreparedQuery)
	require.NotNil(t, q)
	assert.Equal(t, "q-1", q.ID)
	assert.Equal(t, "web", q.Service.Service)
	assert.Equal(t, 2, q.Service.Failover.NearestN)
	assert.Equal(t, []string{"dc2"}, q.Service.Failover.Datacenters)
	assert.True(t, q.Service.OnlyPassing)
	assert.Equal(t, []string{"c1"}, q.Service.IgnoreCheckIDs)
	assert.Equal(t, []string{"prod", "!canary"}, q.Service.Tags)
	assert.Equal(t, map[string]string{"rack": "a"}, q.Service.NodeMeta)
	assert.Equal(t, 10*time.Second, q.DNS.TTL)
	assert.Equal(t, uint64(21), q.ModifyIndex)
}

const queryTestExecuteJSON = `{"Service":"web","Nodes":[{"Node":{"ID":"n-1","Node":"node1","Address":"10.0.0.1","Datacenter":"dc1",
"TaggedAddresses":null,"Meta":{"rack":"a"},"CreateIndex":5,"ModifyIndex":5},
"Service":{"ID":"web-1","Service":"web","Tags":["prod"],"Address":"","Meta":null,"Port":8080,"Weights":{"Passing":1,"Warning":1},
"EnableTagOverride":false,"CreateIndex":6,"ModifyIndex":6},
"Checks":[{"Node":"node1","CheckID":"serfHealth","Name":"Serf Health Status","Status":"passing","Notes":"","Output":"Agent alive",
"ServiceID":"","ServiceName":"","ServiceTags":[],"Type":"","Interval":"","Timeout":"","ExposedPort":0,"CreateIndex":5,"ModifyIndex":5}]}],
"DNS":{"TTL":""},"Datacenter":"dc2","PeerName":"","Failovers":1,"Index":0,"LastContact":0,"KnownLeader":true,"ConsistencyLevel":"leader"}`

func TestQueryWire(t *testing.T) {
	aclRunWire(t, []aclWireCase{
		{
			name: "Create", reply: `{"ID":"q-1"}`,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				return c.Query.Create(ctx, &consul.PreparedQuery{
					Name: "web", Token: "query-token",
					Service: consul.PreparedQueryService{
						Service: "web", OnlyPassing: true, Tags: []string{"prod"},
						Failover:    consul.PreparedQueryFailover{NearestN: 2, Datacenters: []string{"dc2"}},
						ServiceMeta: map[string]string{"v": "1"},
					},
					DNS: consul.PreparedQueryDNS{TTL: 10 * time.Second},
				})
			},
			method: "POST", path: "/v1/query",
			body: `{"Name":"web","Token":"query-token","Service":{"Service":"web","Failover":{"NearestN":2,"Datacenters":["dc2"]},
				"OnlyPassing":true,"Tags":["prod"],"ServiceMeta":{"v":"1"},"Connect":false},"DNS":{"TTL":"10s"},"Template":{}}`,
			check: func(t *testing.T, got any) { require.Equal(t, "q-1", got) },
		},
		{
			name: "CreateTemplate", reply: `{"ID":"q-2"}`,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				return c.Query.Create(ctx, &consul.PreparedQuery{
					Name:     "geo-",
					Service:  consul.PreparedQueryService{Service: "${name.suffix}", Failover: consul.PreparedQueryFailover{Targets: []consul.PreparedQueryFailoverTarget{{Peer: "p1"}, {Datacenter: "dc3"}}}},
					Template: consul.PreparedQueryTemplate{Type: consul.QueryTemplateNamePrefix, Regexp: "^geo-(.*)$", RemoveEmptyTags: true},
				})
			},
			method: "POST", path: "/v1/query",
			body: `{"Name":"geo-","Service":{"Service":"${name.suffix}","Failover":{"NearestN":0,"Targets":[{"Peer":"p1"},{"Datacenter":"dc3"}]},
				"OnlyPassing":false,"Connect":false},"DNS":{},"Template":{"Type":"name_prefix_match","Regexp":"^geo-(.*)$","RemoveEmptyTags":true}}`,
		},
		{
			name: "Update", reply: ``,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				return nil, c.Query.Update(ctx, &consul.PreparedQuery{ID: "q 1", Service: consul.PreparedQueryService{Service: "web", Connect: true}})
			},
			method: "PUT", path: "/v1/query/q%201",
			body: `{"ID":"q 1","Service":{"Service":"web","Failover":{"NearestN":0},"OnlyPassing":false,"Connect":true},"DNS":{},"Template":{}}`,
		},
		{
			name: "Read", reply: `[` + queryTestJSON + `]`,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				q, _, err := c.Query.Get(ctx, "q-1", consul.Stale())
				return q, err
			},
			method: "GET", path: "/v1/query/q-1", query: q("stale", ""), check: queryCheckTest,
		},
		{
			name: "ReadMissing", status: 404, reply: "Query not found",
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				pq, meta, err := c.Query.Get(ctx, "q-1")
				if err == nil && (pq != nil || meta.Index != 42) {
					err = errors.New("want nil query and a meta")
				}
				return nil, err
			},
			method: "GET", path: "/v1/query/q-1",
		},
		{
			name: "Delete", reply: ``,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				return nil, c.Query.Delete(ctx, "q-1")
			},
			method: "DELETE", path: "/v1/query/q-1",
		},
		{
			name: "List", reply: `[` + queryTestJSON + `]`,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				l, _, err := c.Query.List(ctx, consul.WaitIndex(7), consul.WaitTime(time.Second))
				return l, err
			},
			method: "GET", path: "/v1/query", query: q("index", "7", "wait", "1s"),
			check: func(t *testing.T, got any) { queryCheckTest(t, got.([]*consul.PreparedQuery)[0]) },
		},
		{
			name: "Execute", reply: queryTestExecuteJSON,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				r, _, err := c.Query.Execute(ctx, "web", &consul.QueryExecuteOptions{Limit: 3, Connect: true}, consul.Near("_agent"))
				return r, err
			},
			method: "GET", path: "/v1/query/web/execute", query: q("limit", "3", "connect", "true", "near", "_agent"),
			check: func(t *testing.T, got any) {
				r := got.(*consul.QueryExecuteResponse)
				assert.Equal(t, "web", r.Service)
				assert.Equal(t, "dc2", r.Datacenter)
				assert.Equal(t, 1, r.Failovers)
				assert.Zero(t, r.DNS.TTL)
				require.Len(t, r.Nodes, 1)
				assert.Equal(t, "node1", r.Nodes[0].Node.Node)
				assert.Equal(t, 8080, r.Nodes[0].Service.Port)
				assert.Equal(t, consul.HealthPassing, r.Nodes[0].Checks[0].Status)
			},
		},
		{
			name: "ExecuteNoParams", reply: `{"Service":"web","Nodes":null,"DNS":{"TTL":"5s"},"Datacenter":"dc1","Failovers":0}`,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				r, _, err := c.Query.Execute(ctx, "q-1", nil, consul.Cached())
				return r, err
			},
			method: "GET", path: "/v1/query/q-1/execute", query: q("cached", ""),
			check: func(t *testing.T, got any) {
				r := got.(*consul.QueryExecuteResponse)
				assert.NotNil(t, r.Nodes)
				assert.Empty(t, r.Nodes)
				assert.Equal(t, 5*time.Second, r.DNS.TTL)
			},
		},
		{
			name: "Explain", reply: `{"Query":` + queryTestJSON + `,"Index":0,"LastContact":0,"KnownLeader":true}`,
			call: func(ctx context.Context, c *consul.Client) (any, error) {
				pq, _, err := c.Query.Explain(ctx, "geo-web")
				return pq, err
			},
			method: "GET", path: "/v1/query/geo-web/explain", check: queryCheckTest,
		},
	})
}

func TestQueryWireErrors(t *testing.T) {
	ctx := testCtx(t)
	w, c := newWire(t)
	var ae *consul.ArgumentError
	for name, err := range map[string]error{
		"nil":     func() error { _, err := c.Query.Create(ctx, nil); return err }(),
		"service": func() error { _, err := c.Query.Create(ctx, &consul.PreparedQuery{Name: "x"}); return err }(),
		"id create": func() error {
			_, err := c.Query.Create(ctx, &consul.PreparedQuery{ID: "x", Service: consul.PreparedQueryService{Service: "x"}})
			return err
		}(),
		"ttl": func() error {
			_, err := c.Query.Create(ctx, &consul.PreparedQuery{Service: consul.PreparedQueryService{Service: "x"}, DNS: consul.PreparedQueryDNS{TTL: -1}})
			return err
		}(),
		"nearestN": func() error {
			_, err := c.Query.Create(ctx, &consul.PreparedQuery{Service: consul.PreparedQueryService{Service: "x", Failover: consul.PreparedQueryFailover{NearestN: -1}}})
			return err
		}(),
		"id update":  c.Query.Update(ctx, &consul.PreparedQuery{Service: consul.PreparedQueryService{Service: "x"}}),
		"nil update": c.Query.Update(ctx, nil),
		"id read":    func() error { _, _, err := c.Query.Get(ctx, ""); return err }(),
		"id delete":  c.Query.Delete(ctx, ""),
		"id execute": func() error { _, _, err := c.Query.Execute(ctx, "", nil); return err }(),
		"limit": func() error {
			_, _, err := c.Query.Execute(ctx, "x", &consul.QueryExecuteOptions{Limit: -1})
			return err
		}(),
		"id explain": func() error { _, _, err := c.Query.Explain(ctx, ""); return err }(),
	} {
		require.ErrorAs(t, err, &ae, name)
	}
	w.noRequest(t)

	_, c = newWire(t, reply{Status: 404, Body: "Query not found"})
	_, _, err := c.Query.Execute(ctx, "nope", nil)
	require.ErrorIs(t, err, consul.ErrNotFound)
	_, _, err = c.Query.Explain(ctx, "nope")
	require.ErrorIs(t, err, consul.ErrNotFound)
}

// queryTestRegister registers a service instance on its own node with one
// service check in the given status, with the library's catalog register.
func queryTestRegister(t *testing.T, c *consul.Client, node, service string, status consul.HealthStatus, tags ...string) {
	t.Helper()
	id := service + "-" + node
	require.NoError(t, c.Catalog.Register(testCtx(t), &consul.CatalogRegistration{
		Node: node, Address: "127.0.0.1",
		Service: &consul.NodeService{ID: id, Service: service, Port: 8080, Tags: tags},
		Check:   &consul.HealthCheck{CheckID: "health-" + node, Name: "health", Status: status, ServiceID: id},
	}))
	t.Cleanup(func() { _ = c.Catalog.Deregister(testCtx(t), &consul.CatalogDeregistration{Node: node}) })
}

func queryTestNodes(r *consul.QueryExecuteResponse) []string {
	var nodes []string
	for _, e := range r.Nodes {
		nodes = append(nodes, e.Node.Node)
	}
	sort.Strings(nodes)
	return nodes
}

// TestQueryExecute runs prepared queries on the ACL agent: OnlyPassing,
// Limit, explain, a name-prefix template, and the query's own Token.
func TestQueryExecute(t *testing.T) {
	srv, admin := aclTestAdmin(t)
	ctx := testCtx(t)
	svc := aclTestName(t, "web")
	good, warn, bad := svc+"-good", svc+"-warn", svc+"-bad"
	queryTestRegister(t, admin, good, svc, consul.HealthPassing, "prod")
	queryTestRegister(t, admin, warn, svc, consul.HealthWarning, "prod")
	queryTestRegister(t, admin, bad, svc, consul.HealthCritical, "prod")

	id, err := admin.Query.Create(ctx, &consul.PreparedQuery{
		Name:    svc,
		Service: consul.PreparedQueryService{Service: svc, OnlyPassing: true, Tags: []string{"prod"}},
		DNS:     consul.PreparedQueryDNS{TTL: 10 * time.Second},
	})
	require.NoError(t, err)
	require.NotEmpty(t, id)
	t.Cleanup(func() { _ = admin.Query.Delete(testCtx(t), id) })

	res, meta, err := admin.Query.Execute(ctx, id, nil)
	require.NoError(t, err)
	require.NotNil(t, meta)
	require.Equal(t, []string{good}, queryTestNodes(res), "OnlyPassing keeps only the passing instance")
	require.Equal(t, svc, res.Service)
	require.Equal(t, "dc1", res.Datacenter)
	require.Equal(t, 10*time.Second, res.DNS.TTL)
	require.Equal(t, consul.HealthPassing, res.Nodes[0].Checks[0].Status)

	// By name too; without OnlyPassing the warning one comes back, the critical never.
	q, _, err := admin.Query.Get(ctx, id)
	require.NoError(t, err)
	q.Service.OnlyPassing = false
	require.NoError(t, admin.Query.Update(ctx, q))
	res, _, err = admin.Query.Execute(ctx, svc, nil, consul.Near("_agent"))
	require.NoError(t, err)
	require.Equal(t, []string{good, warn}, queryTestNodes(res))
	res, _, err = admin.Query.Execute(ctx, svc, &consul.QueryExecuteOptions{Limit: 1})
	require.NoError(t, err)
	require.Len(t, res.Nodes, 1)

	explained, _, err := admin.Query.Explain(ctx, svc)
	require.NoError(t, err)
	require.Equal(t, id, explained.ID)
	require.Equal(t, svc, explained.Service.Service)
	require.False(t, explained.Service.OnlyPassing)

	// A template answers every name with its prefix.
	prefix := aclTestName(t, "geo") + "-"
	tid, err := admin.Query.Create(ctx, &consul.PreparedQuery{
		Name:     prefix,
		Service:  consul.PreparedQueryService{Service: "${name.suffix}", OnlyPassing: true},
		Template: consul.PreparedQueryTemplate{Type: consul.QueryTemplateNamePrefix},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.Query.Delete(testCtx(t), tid) })
	explained, _, err = admin.Query.Explain(ctx, prefix+svc)
	require.NoError(t, err)
	require.Equal(t, svc, explained.Service.Service, "the template is rendered for the name")
	require.Equal(t, consul.QueryTemplateNamePrefix, explained.Template.Type)
	res, _, err = admin.Query.Execute(ctx, prefix+svc, nil)
	require.NoError(t, err)
	require.Equal(t, svc, res.Service)
	require.Equal(t, []string{good}, queryTestNodes(res))

	// ACLs apply: an anonymous caller sees no instance, unless the query
	// carries a token that may read them.
	anon := newClient(t, srv)
	res, _, err = anon.Query.Execute(ctx, id, nil)
	require.NoError(t, err)
	require.Empty(t, res.Nodes, "default deny filters the instances")
	reader, err := admin.ACL.CreateToken(ctx, &consul.ACLToken{ServiceIdentities: []consul.ACLServiceIdentity{{ServiceName: svc}}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.ACL.DeleteToken(testCtx(t), reader.AccessorID) })
	q, _, err = admin.Query.Get(ctx, id)
	require.NoError(t, err)
	q.Token = reader.SecretID
	require.NoError(t, admin.Query.Update(ctx, q))
	res, _, err = anon.Query.Execute(ctx, id, nil)
	require.NoError(t, err)
	require.Equal(t, []string{good, warn}, queryTestNodes(res), "the query's token reads the instances")
}

func TestQueryCRUD(t *testing.T) {
	_, admin := aclTestAdmin(t)
	ctx := testCtx(t)
	name := aclTestName(t, "q")

	id, err := admin.Query.Create(ctx, &consul.PreparedQuery{
		Name: name,
		Service: consul.PreparedQueryService{
			Service: "db", Tags: []string{"primary"}, IgnoreCheckIDs: []string{"maint"},
			NodeMeta: map[string]string{"rack": "a"}, ServiceMeta: map[string]string{"v": "2"},
			Failover: consul.PreparedQueryFailover{NearestN: 1, Datacenters: []string{"dc2"}},
		},
		DNS: consul.PreparedQueryDNS{TTL: 30 * time.Second},
	})
	require.NoError(t, err)

	got, meta, err := admin.Query.Get(ctx, id)
	require.NoError(t, err)
	require.NotZero(t, meta.Index)
	require.Equal(t, name, got.Name)
	require.Equal(t, "db", got.Service.Service)
	require.Equal(t, []string{"primary"}, got.Service.Tags)
	require.Equal(t, []string{"maint"}, got.Service.IgnoreCheckIDs)
	require.Equal(t, map[string]string{"rack": "a"}, got.Service.NodeMeta)
	require.Equal(t, map[string]string{"v": "2"}, got.Service.ServiceMeta)
	require.Equal(t, 1, got.Service.Failover.NearestN)
	require.Equal(t, []string{"dc2"}, got.Service.Failover.Datacenters)
	require.Equal(t, 30*time.Second, got.DNS.TTL)

	got.Service.Tags = []string{"replica"}
	got.DNS.TTL = 0
	require.NoError(t, admin.Query.Update(ctx, got))
	again, _, err := admin.Query.Get(ctx, id)
	require.NoError(t, err)
	require.Equal(t, []string{"replica"}, again.Service.Tags)
	require.Zero(t, again.DNS.TTL)
	require.Greater(t, again.ModifyIndex, got.ModifyIndex)

	list, _, err := admin.Query.List(ctx)
	require.NoError(t, err)
	var found bool
	for _, pq := range list {
		found = found || pq.ID == id
	}
	require.True(t, found)

	// A second query of the same name is refused by Consul.
	_, err = admin.Query.Create(ctx, &consul.PreparedQuery{Name: name, Service: consul.PreparedQueryService{Service: "db"}})
	require.Equal(t, 500, aclStatus(err), "%v", err)

	require.NoError(t, admin.Query.Delete(ctx, id))
	gone, meta, err := admin.Query.Get(ctx, id)
	require.NoError(t, err, "the 404 rule")
	require.Nil(t, gone)
	require.NotNil(t, meta)
	_, _, err = admin.Query.Execute(ctx, id, nil)
	require.ErrorIs(t, err, consul.ErrNotFound)
	_, _, err = admin.Query.Explain(ctx, id)
	require.ErrorIs(t, err, consul.ErrNotFound)
	err = admin.Query.Delete(ctx, id)
	require.Equal(t, 500, aclStatus(err), "%v", err)
	err = admin.Query.Update(ctx, got)
	require.Equal(t, 500, aclStatus(err), "%v", err)

	// Without a token that may write the name, creating is denied.
	_, err = newClient(t, testACLAgent(t)).Query.Create(ctx, &consul.PreparedQuery{Name: name, Service: consul.PreparedQueryService{Service: "db"}})
	require.ErrorIs(t, err, consul.ErrPermissionDenied)
}
