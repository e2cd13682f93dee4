package consul_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTxnEveryVerbWire(t *testing.T) {
	w, c := newWire(t, reply{
		Header: map[string]string{"X-Consul-Index": "20"},
		Body:   `{"Results":[{"KV":{"Key":"a","Value":"dg==","Flags":0,"CreateIndex":5,"ModifyIndex":20,"LockIndex":0}}],"Errors":null}`,
	})
	res, meta, err := c.Txn.New().
		Set("a", []byte("v")).
		SetFlags("b", []byte("w"), 9).
		CAS("c", []byte("x"), 4).
		Lock("d", []byte("y"), "sess").
		Unlock("e", nil, "sess").
		Get("a").
		GetTree("dir/").
		CheckIndex("a", 20).
		CheckSession("d", "sess").
		CheckNotExists("f").
		Delete("g").
		DeleteCAS("h", 6).
		DeleteTree("old/").
		Execute(testCtx(t), consul.Datacenter("dc2"))
	require.NoError(t, err)
	assert.Equal(t, uint64(20), meta.Index)
	require.Len(t, res, 1)
	assert.Equal(t, "v", string(res[0].KV.Value))
	s := w.only(t)
	s.expect(t, "PUT", "/v1/txn", q("dc", "dc2"))
	assert.JSONEq(t, `[
		{"KV":{"Verb":"set","Key":"a","Value":"dg=="}},
		{"KV":{"Verb":"set","Key":"b","Value":"dw==","Flags":9}},
		{"KV":{"Verb":"cas","Key":"c","Value":"eA==","Index":4}},
		{"KV":{"Verb":"lock","Key":"d","Value":"eQ==","Session":"sess"}},
		{"KV":{"Verb":"unlock","Key":"e","Session":"sess"}},
		{"KV":{"Verb":"get","Key":"a"}},
		{"KV":{"Verb":"get-tree","Key":"dir/"}},
		{"KV":{"Verb":"check-index","Key":"a","Index":20}},
		{"KV":{"Verb":"check-session","Key":"d","Session":"sess"}},
		{"KV":{"Verb":"check-not-exists","Key":"f"}},
		{"KV":{"Verb":"delete","Key":"g"}},
		{"KV":{"Verb":"delete-cas","Key":"h","Index":6}},
		{"KV":{"Verb":"delete-tree","Key":"old/"}}
	]`, s.Body)
}

func TestTxnReadOnlyTakesConsistencyWire(t *testing.T) {
	w, c := newWire(t, reply{Body: `{"Results":[],"Errors":null}`})
	_, _, err := c.Txn.New().Get("a").CheckIndex("b", 3).Execute(testCtx(t), consul.Stale())
	require.NoError(t, err)
	// A transaction that writes is not a read: Consul ignores the
	// consistency modes there, so they are refused before sending.
	_, _, err = c.Txn.New().Get("a").Set("b", nil).Execute(testCtx(t), consul.Stale())
	var ae *consul.ArgumentError
	require.ErrorAs(t, err, &ae)
	require.Contains(t, err.Error(), "Txn.Execute")
	w.only(t).expect(t, "PUT", "/v1/txn", q("stale", ""))
}

func TestTxnRollbackWire(t *testing.T) {
	_, c := newWire(t, reply{Status: 409, Body: `{"Results":null,"Errors":[{"OpIndex":1,"What":"failed index check"},{"OpIndex":3,"What":"key missing"}]}`})
	_, _, err := c.Txn.New().Set("a", nil).CheckIndex("a", 1).Set("b", nil).Get("c").Execute(testCtx(t))
	var te *consul.TxnError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, []consul.TxnOpError{{OpIndex: 1, What: "failed index check"}, {OpIndex: 3, What: "key missing"}}, te.Errors)
	assert.ErrorIs(t, err, consul.ErrConflict)
	assert.Equal(t, "consul: transaction rolled back: op 1: failed index check; op 3: key missing", err.Error())
}

func TestTxnRefusesBadInput(t *testing.T) {
	w, c := newWire(t, reply{Body: `{}`})
	ctx := testCtx(t)
	tooMany := c.Txn.New()
	for i := 0; i <= consul.MaxTxnOps; i++ {
		tooMany.Set(fmt.Sprintf("k%d", i), nil)
	}
	for arg, txn := range map[string]*consul.Txn{
		"txn":              tooMany,
		"txn op 1 key":     c.Txn.New().Get("ok").Set("", nil),
		"txn op 0 key":     c.Txn.New().Delete("/abs"),
		"txn op 0 session": c.Txn.New().Lock("k", nil, ""),
		"txn op 0 value":   c.Txn.New().Set("k", make([]byte, consul.DefaultKVMaxValueSize+1)),
		"txn op 0 verb":    c.Txn.New().KV(consul.KVTxnOp{Verb: "explode", Key: "k"}),
	} {
		_, _, err := txn.Execute(ctx)
		var ae *consul.ArgumentError
		require.True(t, errors.As(err, &ae), "%s: %v", arg, err)
		assert.Equal(t, arg, ae.Arg)
	}
	_, _, err := c.Txn.New().Execute(ctx)
	assert.Error(t, err, "an empty transaction is refused")
	w.noRequest(t)
}

func TestTxnIntegration(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	p := uniq(t, "txn")

	res, meta, err := c.Txn.New().
		Set(p+"/a", []byte("1")).
		SetFlags(p+"/b", []byte("2"), 5).
		CheckNotExists(p + "/c").
		Get(p + "/a").
		GetTree(p + "/").
		Execute(ctx)
	require.NoError(t, err)
	assert.Zero(t, meta.Index, "a write transaction answers without an index")
	// set, set, get, and one result per key of the get-tree.
	require.Len(t, res, 5)
	assert.Equal(t, p+"/a", res[0].KV.Key)
	assert.Nil(t, res[0].KV.Value, "writes return the key without its value")
	assert.Equal(t, "1", string(res[2].KV.Value))
	assert.Equal(t, uint64(5), res[4].KV.Flags)

	a, _, err := c.KV.Get(ctx, p+"/a")
	require.NoError(t, err)
	read, meta, err := c.Txn.New().Get(p+"/a").CheckIndex(p+"/a", a.ModifyIndex).Execute(ctx, consul.Stale())
	require.NoError(t, err)
	require.Len(t, read, 2, "get and check-index both return the entry")
	// Consul answers a read-only transaction with KnownLeader and
	// LastContact (agent/txn_endpoint.go), but no index.
	assert.True(t, meta.KnownLeader)
	assert.Zero(t, meta.Index)

	sess, err := c.Session.Create(ctx, &consul.SessionEntry{LockDelay: consul.NoLockDelay})
	require.NoError(t, err)
	defer c.Session.Destroy(ctx, sess)
	_, _, err = c.Txn.New().
		CAS(p+"/a", []byte("10"), a.ModifyIndex).
		Lock(p+"/lock", []byte("L"), sess).
		CheckSession(p+"/lock", sess).
		DeleteCAS(p+"/b", 0).
		Execute(ctx)
	var te *consul.TxnError
	require.ErrorAs(t, err, &te, "delete-cas with index 0 on an existing key fails")
	assert.Equal(t, 3, te.Errors[0].OpIndex)
	still, _, err := c.KV.Get(ctx, p+"/a")
	require.NoError(t, err)
	assert.Equal(t, "1", string(still.Value), "a rolled back transaction changes nothing")

	_, _, err = c.Txn.New().
		CAS(p+"/a", []byte("10"), a.ModifyIndex).
		Lock(p+"/lock", []byte("L"), sess).
		CheckSession(p+"/lock", sess).
		Unlock(p+"/lock", []byte("U"), sess).
		Delete(p + "/b").
		Execute(ctx)
	require.NoError(t, err)
	got, _, err := c.KV.Get(ctx, p+"/a")
	require.NoError(t, err)
	assert.Equal(t, "10", string(got.Value))
	lock, _, err := c.KV.Get(ctx, p+"/lock")
	require.NoError(t, err)
	assert.Equal(t, "U", string(lock.Value))
	assert.Empty(t, lock.Session)
	b, _, err := c.KV.Get(ctx, p+"/b")
	require.NoError(t, err)
	assert.Nil(t, b)

	_, _, err = c.Txn.New().DeleteTree(p + "/").Execute(ctx)
	require.NoError(t, err)
	left, _, err := c.KV.ListKeys(ctx, p+"/")
	require.NoError(t, err)
	assert.Empty(t, left)
}

func TestTxnFailedCheckIndexChangesNothing(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	p := uniq(t, "rollback")
	require.NoError(t, c.KV.Put(ctx, p+"/x", []byte("orig")))
	x, _, err := c.KV.Get(ctx, p+"/x")
	require.NoError(t, err)

	_, _, err = c.Txn.New().
		Set(p+"/y", []byte("new")).
		Set(p+"/x", []byte("changed")).
		CheckIndex(p+"/x", x.ModifyIndex+100).
		Delete(p + "/x").
		Execute(ctx)
	var te *consul.TxnError
	require.ErrorAs(t, err, &te)
	require.Len(t, te.Errors, 1)
	assert.Equal(t, 2, te.Errors[0].OpIndex, "the check-index operation is reported")
	assert.Contains(t, te.Errors[0].What, "index")

	after, _, err := c.KV.Get(ctx, p+"/x")
	require.NoError(t, err)
	assert.Equal(t, "orig", string(after.Value))
	assert.Equal(t, x.ModifyIndex, after.ModifyIndex)
	y, _, err := c.KV.Get(ctx, p+"/y")
	require.NoError(t, err)
	assert.Nil(t, y, "no operation of a rolled back transaction applies")

	// MaxTxnOps operations go through: the limit is Consul's.
	big := c.Txn.New()
	for i := 0; i < consul.MaxTxnOps; i++ {
		big.Set(fmt.Sprintf("%s/many/%03d", p, i), []byte{byte(i)})
	}
	res, _, err := big.Execute(ctx)
	require.NoError(t, err)
	assert.Len(t, res, consul.MaxTxnOps)
	require.NoError(t, c.KV.DeleteTree(ctx, p+"/"))
}

func TestTxnConflictWithoutJSONIsAStatusError(t *testing.T) {
	_, c := newWire(t, reply{Status: 409, Body: "conflicting request\n"})
	_, _, err := c.Txn.New().Set("a", nil).Execute(testCtx(t))
	var se *consul.StatusError
	require.ErrorAs(t, err, &se, "a 409 that is not a transaction report is the plain status")
	assert.Equal(t, "conflicting request", se.Body)
	assert.ErrorIs(t, err, consul.ErrConflict)
}

func TestTxnCatalogVerbsWire(t *testing.T) {
	w, c := newWire(t, reply{
		Header: map[string]string{"X-Consul-Index": "30"},
		Body: `{"Results":[` +
			`{"Node":{"ID":"","Node":"n1","Address":"10.0.0.1","Datacenter":"dc1","TaggedAddresses":null,"Meta":{"rack":"r1"},"CreateIndex":19,"ModifyIndex":20}},` +
			`{"Service":{"ID":"web-1","Service":"web","Tags":["v1"],"Port":80,"Weights":{"Passing":1,"Warning":1},"Proxy":{"Mode":"","MeshGateway":{},"Expose":{}},"Connect":{},"CreateIndex":19,"ModifyIndex":21}},` +
			`{"Check":{"Node":"n1","CheckID":"web-1:alive","Name":"alive","Status":"passing","ServiceID":"web-1","ServiceName":"web","Interval":"","Timeout":"","Definition":{"Interval":"10s","HTTP":"http://10.0.0.1/health"},"CreateIndex":19,"ModifyIndex":22}},` +
			`{"KV":{"Key":"missing","Value":null,"CreateIndex":0,"ModifyIndex":0}}],"Errors":null}`,
	})
	node := &consul.Node{ID: "11111111-2222-4333-8444-555555555555", Node: "n1", Address: "10.0.0.1",
		TaggedAddresses: map[string]string{"lan": "10.0.0.1"}, Meta: map[string]string{"rack": "r1"},
		CreateIndex: 3, ModifyIndex: 4} // indexes read earlier: never sent, but by the CAS verbs' own index
	svc := &consul.NodeService{ID: "web-1", Service: "web", Tags: []string{"v1"}, Port: 80, Address: "10.0.0.1",
		Meta: map[string]string{"v": "1"}, Weights: &consul.Weights{Passing: 3, Warning: 1}, EnableTagOverride: true,
		TaggedAddresses: map[string]consul.ServiceAddress{"lan": {Address: "10.0.0.1", Port: 80}},
		Datacenter:      "dc1", ContentHash: "abc", CreateIndex: 7, ModifyIndex: 8} // read-only: not sent
	check := &consul.HealthCheck{Node: "n1", CheckID: "web-1:alive", Name: "alive", Status: consul.HealthPassing,
		Notes: "n", Output: "ok", ServiceID: "web-1", ServiceName: "web", ServiceTags: []string{"v1"},
		Interval: 10 * time.Second, // the read-back mirror of the definition's: not sent
		Definition: &consul.HealthCheckDefinition{HTTP: "http://10.0.0.1/health", Method: "GET",
			Header: map[string][]string{"X": {"1"}}, Interval: 10 * time.Second, Timeout: 2 * time.Second,
			DeregisterCriticalServiceAfter: time.Minute}}
	proxy := &consul.NodeService{Kind: consul.ServiceKindConnectProxy, ID: "web-1-proxy", Service: "web-proxy", Port: 21000,
		Proxy: &consul.ServiceProxy{DestinationServiceName: "web", DestinationServiceID: "web-1", LocalServicePort: 80}}
	res, meta, err := c.Txn.New().
		GetNode("n1").SetNode(node).SetNodeCAS(node, 20).DeleteNode("old").DeleteNodeCAS("n2", 9).
		GetService("n1", "web-1").SetService("n1", svc).SetServiceCAS("n1", svc, 0).SetService("n1", proxy).
		DeleteService("n1", &consul.NodeService{ID: "db", Service: "db", Port: 5432}).
		DeleteServiceCAS("n1", &consul.NodeService{ID: "cache-1", Service: "cache"}, 12).
		GetCheck("n1", "web-1:alive").SetCheck(check).SetCheckCAS(check, 22).
		DeleteCheck("n1", "old-check").DeleteCheckCAS("n1", "c2", 13).
		GetOrEmpty("missing").
		Execute(testCtx(t), consul.Datacenter("dc2"))
	require.NoError(t, err)
	assert.Equal(t, uint64(30), meta.Index)
	require.Len(t, res, 4)
	assert.Equal(t, &consul.Node{Node: "n1", Address: "10.0.0.1", Datacenter: "dc1", Meta: map[string]string{"rack": "r1"},
		CreateIndex: 19, ModifyIndex: 20}, res[0].Node)
	assert.Equal(t, "web", res[1].Service.Service)
	assert.Equal(t, &consul.Weights{Passing: 1, Warning: 1}, res[1].Service.Weights)
	assert.Equal(t, uint64(21), res[1].Service.ModifyIndex)
	assert.Equal(t, consul.HealthPassing, res[2].Check.Status)
	assert.Equal(t, 10*time.Second, res[2].Check.Definition.Interval)
	assert.Equal(t, "missing", res[3].KV.Key)
	assert.Nil(t, res[3].KV.Value)
	for i, r := range res {
		n := 0
		for _, set := range []bool{r.KV != nil, r.Node != nil, r.Service != nil, r.Check != nil} {
			if set {
				n++
			}
		}
		assert.Equal(t, 1, n, "result %d has exactly one field set", i)
	}

	s := w.only(t)
	s.expect(t, "PUT", "/v1/txn", q("dc", "dc2"))
	nodeJSON := `"ID":"11111111-2222-4333-8444-555555555555","Node":"n1","Address":"10.0.0.1","TaggedAddresses":{"lan":"10.0.0.1"},"Meta":{"rack":"r1"}`
	svcJSON := `"ID":"web-1","Service":"web","Tags":["v1"],"Address":"10.0.0.1","TaggedAddresses":{"lan":{"Address":"10.0.0.1","Port":80}},` +
		`"Meta":{"v":"1"},"Port":80,"Weights":{"Passing":3,"Warning":1},"EnableTagOverride":true`
	checkJSON := `"Node":"n1","CheckID":"web-1:alive","Name":"alive","Status":"passing","Notes":"n","Output":"ok","ServiceID":"web-1",` +
		`"ServiceName":"web","ServiceTags":["v1"],"Definition":{"HTTP":"http://10.0.0.1/health","Header":{"X":["1"]},"Method":"GET",` +
		`"Interval":"10s","Timeout":"2s","DeregisterCriticalServiceAfter":"1m0s"}`
	assert.JSONEq(t, `[
		{"Node":{"Verb":"get","Node":{"Node":"n1"}}},
		{"Node":{"Verb":"set","Node":{`+nodeJSON+`}}},
		{"Node":{"Verb":"cas","Node":{`+nodeJSON+`,"ModifyIndex":20}}},
		{"Node":{"Verb":"delete","Node":{"Node":"old"}}},
		{"Node":{"Verb":"delete-cas","Node":{"Node":"n2","ModifyIndex":9}}},
		{"Service":{"Verb":"get","Node":"n1","Service":{"ID":"web-1"}}},
		{"Service":{"Verb":"set","Node":"n1","Service":{`+svcJSON+`}}},
		{"Service":{"Verb":"cas","Node":"n1","Service":{`+svcJSON+`}}},
		{"Service":{"Verb":"set","Node":"n1","Service":{"Kind":"connect-proxy","ID":"web-1-proxy","Service":"web-proxy","Port":21000,
			"Proxy":{"DestinationServiceName":"web","DestinationServiceID":"web-1","LocalServicePort":80}}}},
		{"Service":{"Verb":"delete","Node":"n1","Service":{"ID":"db","Service":"db"}}},
		{"Service":{"Verb":"delete-cas","Node":"n1","Service":{"ID":"cache-1","Service":"cache","ModifyIndex":12}}},
		{"Check":{"Verb":"get","Check":{"Node":"n1","CheckID":"web-1:alive"}}},
		{"Check":{"Verb":"set","Check":{`+checkJSON+`}}},
		{"Check":{"Verb":"cas","Check":{`+checkJSON+`,"ModifyIndex":22}}},
		{"Check":{"Verb":"delete","Check":{"Node":"n1","CheckID":"old-check"}}},
		{"Check":{"Verb":"delete-cas","Check":{"Node":"n1","CheckID":"c2","ModifyIndex":13}}},
		{"KV":{"Verb":"get-or-empty","Key":"missing"}}
	]`, s.Body)

	// The builder copies what it is given: the caller's structs keep their
	// own indexes.
	assert.Equal(t, uint64(4), node.ModifyIndex)
	assert.Equal(t, uint64(8), svc.ModifyIndex)
	assert.Zero(t, check.ModifyIndex)
}

func TestTxnCatalogReadsTakeConsistencyWire(t *testing.T) {
	w, c := newWire(t, reply{Body: `{"Results":[],"Errors":null}`})
	_, _, err := c.Txn.New().GetNode("n").GetService("n", "s").GetCheck("n", "c").GetOrEmpty("k").Execute(testCtx(t), consul.Consistent())
	require.NoError(t, err)
	w.only(t).expect(t, "PUT", "/v1/txn", q("consistent", ""))
	for name, txn := range map[string]*consul.Txn{
		"set node":       c.Txn.New().GetNode("n").SetNode(&consul.Node{Node: "n", Address: "a"}),
		"delete service": c.Txn.New().GetNode("n").DeleteService("n", &consul.NodeService{Service: "s"}),
		"delete check":   c.Txn.New().GetCheck("n", "c").DeleteCheck("n", "c"),
	} {
		_, _, err := txn.Execute(testCtx(t), consul.Consistent())
		var ae *consul.ArgumentError
		require.ErrorAs(t, err, &ae, "%s: a transaction that writes takes no consistency mode", name)
	}
}

func TestTxnCatalogRefusesBadInput(t *testing.T) {
	w, c := newWire(t, reply{Body: `{}`})
	ctx := testCtx(t)
	tooMany := c.Txn.New()
	for i := 0; i <= consul.MaxTxnOps; i++ {
		switch i % 3 {
		case 0:
			tooMany.SetNode(&consul.Node{Node: fmt.Sprintf("n%d", i), Address: "10.0.0.1"})
		case 1:
			tooMany.GetService("n0", "s")
		default:
			tooMany.DeleteCheck("n0", "c")
		}
	}
	def := func(d consul.HealthCheckDefinition) *consul.HealthCheck {
		return &consul.HealthCheck{Node: "n", CheckID: "c", Definition: &d}
	}
	svc := func(s consul.NodeService) *consul.NodeService {
		s.Service = "s"
		return &s
	}
	for _, tc := range []struct {
		arg string
		txn *consul.Txn
	}{
		{"txn", tooMany},
		// The index is the operation's, whatever came before it.
		{"txn op 2 node", c.Txn.New().Set("k", nil).GetNode("n").GetNode("")},
		{"txn op 0 node", c.Txn.New().SetNode(&consul.Node{Address: "10.0.0.1"})},
		{"txn op 0 node", c.Txn.New().SetNodeCAS(nil, 1)},
		{"txn op 1 node", c.Txn.New().Get("k").SetService("", &consul.NodeService{Service: "web"})},
		{"txn op 1 node", c.Txn.New().Get("k").DeleteCheck("", "c")},
		{"txn op 0 verb", c.Txn.New().Node(consul.NodeTxnOp{Verb: "touch", Node: consul.Node{Node: "n"}})},
		{"txn op 1 verb", c.Txn.New().Get("k").Service(consul.ServiceTxnOp{Verb: "restart", Node: "n"})},
		{"txn op 2 verb", c.Txn.New().Get("k").Get("j").Check(consul.CheckTxnOp{Verb: "pass", Check: consul.HealthCheck{Node: "n", CheckID: "c"}})},
		{"txn op 0 service ID", c.Txn.New().GetService("n", "")},
		{"txn op 0 Service.Service", c.Txn.New().SetService("n", &consul.NodeService{Port: 80})},
		{"txn op 0 Service.Service", c.Txn.New().DeleteService("n", &consul.NodeService{ID: "web-1"})},
		{"txn op 0 service", c.Txn.New().DeleteServiceCAS("n", nil, 3)},
		{"txn op 1 service", c.Txn.New().Get("k").SetServiceCAS("n", nil, 1)},
		{"txn op 0 Service.Service", c.Txn.New().SetServiceCAS("n", &consul.NodeService{ID: "web-1"}, 0)},
		{"txn op 0 check ID", c.Txn.New().DeleteCheckCAS("n", "", 3)},
		{"txn op 1 check ID", c.Txn.New().GetNode("n").SetCheck(&consul.HealthCheck{Node: "n", Status: consul.HealthPassing})},
		{"txn op 0 check", c.Txn.New().SetCheck(nil).Set("k", nil)},
		// Fields /v1/txn would drop.
		{"txn op 0 Node.Locality", c.Txn.New().SetNode(&consul.Node{Node: "n", Locality: &consul.Locality{Region: "r"}})},
		{"txn op 0 Service.SocketPath", c.Txn.New().SetService("n", svc(consul.NodeService{SocketPath: "/tmp/s"}))},
		{"txn op 0 Service.Connect", c.Txn.New().SetService("n", svc(consul.NodeService{Connect: &consul.ServiceConnect{Native: true}}))},
		{"txn op 0 Service.Locality", c.Txn.New().SetService("n", svc(consul.NodeService{Locality: &consul.Locality{Zone: "z"}}))},
		{"txn op 0 Service.PeerName", c.Txn.New().SetService("n", svc(consul.NodeService{PeerName: "p"}))},
		{"txn op 0 Service.Proxy.Upstreams", c.Txn.New().SetService("n", svc(consul.NodeService{Proxy: &consul.ServiceProxy{Upstreams: []consul.ProxyUpstream{{DestinationName: "db"}}}}))},
		{"txn op 0 Service.Proxy.Config", c.Txn.New().SetService("n", svc(consul.NodeService{Proxy: &consul.ServiceProxy{Config: map[string]any{}}}))},
		{"txn op 0 Service.Proxy.Mode", c.Txn.New().SetServiceCAS("n", svc(consul.NodeService{Proxy: &consul.ServiceProxy{Mode: "transparent"}}), 0)},
		{"txn op 0 Check.Definition.TTL", c.Txn.New().SetCheck(def(consul.HealthCheckDefinition{TTL: time.Second}))},
		{"txn op 0 Check.Definition.UDP", c.Txn.New().SetCheck(def(consul.HealthCheckDefinition{UDP: "x:1"}))},
		{"txn op 0 Check.Definition.ScriptArgs", c.Txn.New().SetCheckCAS(def(consul.HealthCheckDefinition{ScriptArgs: []string{"true"}}), 0)},
		{"txn op 0 Check.Definition.AliasNode", c.Txn.New().SetCheck(def(consul.HealthCheckDefinition{AliasNode: "n"}))},
		{"txn op 0 Check.Interval", c.Txn.New().SetCheck(&consul.HealthCheck{Node: "n", CheckID: "c", Interval: time.Second})},
		{"txn op 0 Check.Timeout", c.Txn.New().SetCheck(&consul.HealthCheck{Node: "n", CheckID: "c", Timeout: time.Second,
			Definition: &consul.HealthCheckDefinition{Timeout: 2 * time.Second}})},
	} {
		_, _, err := tc.txn.Execute(ctx)
		var ae *consul.ArgumentError
		require.True(t, errors.As(err, &ae), "%s: %v", tc.arg, err)
		assert.Equal(t, tc.arg, ae.Arg, "%v", err)
	}
	// The first bad operation is the one reported; later ones are not added.
	bad := c.Txn.New().Set("k", nil).GetNode("").GetService("n", "")
	_, _, err := bad.Execute(ctx)
	require.ErrorContains(t, err, "txn op 1 node")
	assert.Len(t, bad.Ops(), 1)
	w.noRequest(t)
}

// A transaction mixing KV, node, service and check operations applies as
// one: the catalog and the KV store both show it, and its results are
// typed.
func TestTxnMixedCatalogIntegration(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	p := uniq(t, "mixed")
	node := p + "-node"
	t.Cleanup(func() { _, _, _ = c.Txn.New().DeleteNode(node).DeleteTree(p + "/").Execute(context.Background()) })

	res, _, err := c.Txn.New().
		Set(p+"/config", []byte("v1")).
		SetNode(&consul.Node{Node: node, Address: "10.1.2.3", Meta: map[string]string{"rack": "r1"}}).
		SetService(node, &consul.NodeService{ID: "web-1", Service: "web", Tags: []string{"v1"}, Port: 8080}).
		SetCheck(&consul.HealthCheck{Node: node, CheckID: "web-1:alive", Name: "alive", Status: consul.HealthPassing,
			ServiceID: "web-1", Definition: &consul.HealthCheckDefinition{HTTP: "http://10.1.2.3:8080/health", Interval: 10 * time.Second}}).
		Execute(ctx)
	require.NoError(t, err)
	require.Len(t, res, 4, "a KV set, then the node, the service and the check as stored")
	assert.Equal(t, p+"/config", res[0].KV.Key)
	require.NotNil(t, res[1].Node)
	assert.Equal(t, "10.1.2.3", res[1].Node.Address)
	assert.NotZero(t, res[1].Node.ModifyIndex)
	require.NotNil(t, res[2].Service)
	assert.Equal(t, "web", res[2].Service.Service)
	assert.Equal(t, &consul.Weights{Passing: 1, Warning: 1}, res[2].Service.Weights, "Consul's default weights")
	require.NotNil(t, res[3].Check)
	assert.Equal(t, consul.HealthPassing, res[3].Check.Status)
	assert.Equal(t, "web", res[3].Check.ServiceName, "Consul fills the service's name in")
	assert.Equal(t, 10*time.Second, res[3].Check.Definition.Interval)
	// One Raft index for all: they applied as one.
	idx := res[1].Node.ModifyIndex
	assert.Equal(t, idx, res[2].Service.ModifyIndex)
	assert.Equal(t, idx, res[3].Check.ModifyIndex)

	cn, _, err := c.Catalog.GetNode(ctx, node)
	require.NoError(t, err)
	require.NotNil(t, cn)
	assert.Equal(t, "r1", cn.Node.Meta["rack"])
	require.Contains(t, cn.Services, "web-1")
	assert.Equal(t, 8080, cn.Services["web-1"].Port)
	checks, _, err := c.Health.ListNodeChecks(ctx, node)
	require.NoError(t, err)
	require.Len(t, checks, 1)
	assert.Equal(t, "web-1:alive", checks[0].CheckID)
	kv, _, err := c.KV.Get(ctx, p+"/config")
	require.NoError(t, err)
	assert.Equal(t, idx, kv.ModifyIndex)

	// A read-only transaction takes a consistency mode and reads all kinds.
	read, meta, err := c.Txn.New().GetNode(node).GetService(node, "web-1").GetCheck(node, "web-1:alive").
		GetOrEmpty(p+"/absent").Get(p+"/config").Execute(ctx, consul.Stale())
	require.NoError(t, err)
	assert.True(t, meta.KnownLeader)
	require.Len(t, read, 5)
	assert.Equal(t, node, read[0].Node.Node)
	assert.Equal(t, []string{"v1"}, read[1].Service.Tags)
	assert.Equal(t, "alive", read[2].Check.Name)
	assert.Equal(t, p+"/absent", read[3].KV.Key)
	assert.Zero(t, read[3].KV.ModifyIndex, "get-or-empty of a missing key: an empty entry")
	assert.Equal(t, "v1", string(read[4].KV.Value))

	// CAS by the indexes read: the service and the check move on together.
	svc := read[1].Service
	svc.Tags = []string{"v2"}
	chk := read[2].Check
	chk.Status = consul.HealthWarning
	res, _, err = c.Txn.New().
		SetServiceCAS(node, svc, svc.ModifyIndex).
		SetCheckCAS(chk, chk.ModifyIndex).
		SetNodeCAS(read[0].Node, read[0].Node.ModifyIndex).
		CAS(p+"/config", []byte("v2"), kv.ModifyIndex).
		Execute(ctx)
	require.NoError(t, err)
	require.Len(t, res, 4)
	assert.Equal(t, []string{"v2"}, res[0].Service.Tags)
	assert.Equal(t, consul.HealthWarning, res[1].Check.Status)

	// Deleting by stale indexes fails, naming the operation; by the right
	// ones, the catalog forgets the node.
	_, _, err = c.Txn.New().DeleteCheckCAS(node, "web-1:alive", chk.ModifyIndex).Execute(ctx)
	var te *consul.TxnError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, 0, te.Errors[0].OpIndex)
	_, _, err = c.Txn.New().
		DeleteCheckCAS(node, "web-1:alive", res[1].Check.ModifyIndex).
		DeleteServiceCAS(node, res[0].Service, res[0].Service.ModifyIndex).
		DeleteNodeCAS(node, res[2].Node.ModifyIndex).
		Execute(ctx)
	require.NoError(t, err)
	cn, _, err = c.Catalog.GetNode(ctx, node)
	require.NoError(t, err)
	assert.Nil(t, cn)
}

// One failing operation rolls back all of them, KV and catalog alike, and
// the error names it by its index.
func TestTxnCatalogRollbackIntegration(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	p := uniq(t, "rollback")
	node := p + "-node"
	t.Cleanup(func() { _, _, _ = c.Txn.New().DeleteNode(node).DeleteTree(p + "/").Execute(context.Background()) })
	_, _, err := c.Txn.New().SetNode(&consul.Node{Node: node, Address: "10.1.2.4"}).Execute(ctx)
	require.NoError(t, err)

	for _, tc := range []struct {
		name string
		txn  *consul.Txn
		at   int
	}{
		{"a missing service read", c.Txn.New().
			Set(p+"/a", []byte("x")).
			SetService(node, &consul.NodeService{Service: "web", Port: 80}).
			SetCheck(&consul.HealthCheck{Node: node, CheckID: "c1", Name: "c1", Status: consul.HealthPassing}).
			GetService(node, "nope").
			Set(p+"/b", []byte("y")), 3},
		{"a stale node CAS", c.Txn.New().
			Set(p+"/a", []byte("x")).
			SetService(node, &consul.NodeService{Service: "web", Port: 80}).
			SetNodeCAS(&consul.Node{Node: node, Address: "10.9.9.9"}, 1), 2},
		{"a service CAS meant for a new service", c.Txn.New().
			SetService(node, &consul.NodeService{Service: "db", Port: 5432}).
			SetCheck(&consul.HealthCheck{Node: node, CheckID: "c2", Name: "c2", ServiceID: "db"}).
			SetServiceCAS(node, &consul.NodeService{Service: "db", Port: 5433}, 0).
			Set(p+"/a", []byte("x")), 2},
		{"a check on a missing node", c.Txn.New().
			Set(p+"/a", []byte("x")).
			DeleteService(node, &consul.NodeService{Service: "web"}).
			SetCheck(&consul.HealthCheck{Node: p + "-nowhere", CheckID: "c3", Name: "c3"}), 2},
	} {
		_, _, err := tc.txn.Execute(ctx)
		var te *consul.TxnError
		require.ErrorAs(t, err, &te, tc.name)
		require.Len(t, te.Errors, 1, tc.name)
		assert.Equal(t, tc.at, te.Errors[0].OpIndex, "%s: %s", tc.name, te.Errors[0].What)
		assert.ErrorIs(t, err, consul.ErrConflict)

		// Nothing applied: no key, no service, no check; the node as it was.
		keys, _, err := c.KV.ListKeys(ctx, p+"/")
		require.NoError(t, err)
		assert.Empty(t, keys, tc.name)
		cn, _, err := c.Catalog.GetNode(ctx, node)
		require.NoError(t, err)
		require.NotNil(t, cn, tc.name)
		assert.Equal(t, "10.1.2.4", cn.Node.Address, tc.name)
		assert.Empty(t, cn.Services, tc.name)
		checks, _, err := c.Health.ListNodeChecks(ctx, node)
		require.NoError(t, err)
		assert.Empty(t, checks, tc.name)
	}
}

// The 128-operation limit holds before sending: 129 mixed operations are
// refused and nothing reaches the agent; 128 go through.
func TestTxnOpLimitIntegration(t *testing.T) {
	obs := &recordingObserver{}
	c := newClient(t, testAgent(t), consul.Config{Observer: obs})
	ctx := testCtx(t)
	p := uniq(t, "limit")
	node := p + "-node"
	t.Cleanup(func() { _, _, _ = c.Txn.New().DeleteNode(node).DeleteTree(p + "/").Execute(context.Background()) })
	build := func(n int) *consul.Txn {
		txn := c.Txn.New().SetNode(&consul.Node{Node: node, Address: "10.1.2.5"})
		for i := 1; i < n; i++ {
			switch i % 3 {
			case 0:
				txn.Set(fmt.Sprintf("%s/k%03d", p, i), []byte{byte(i)})
			case 1:
				txn.SetService(node, &consul.NodeService{ID: fmt.Sprintf("s%03d", i), Service: "svc", Port: i})
			default:
				txn.SetCheck(&consul.HealthCheck{Node: node, CheckID: fmt.Sprintf("c%03d", i), Name: "c", Status: consul.HealthPassing})
			}
		}
		return txn
	}
	_, _, err := build(consul.MaxTxnOps + 1).Execute(ctx)
	var ae *consul.ArgumentError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "txn", ae.Arg)
	assert.Contains(t, err.Error(), "129 operations")
	assert.Empty(t, obs.all(), "nothing was sent")
	cn, _, err := c.Catalog.GetNode(ctx, node)
	require.NoError(t, err)
	assert.Nil(t, cn)

	res, _, err := build(consul.MaxTxnOps).Execute(ctx)
	require.NoError(t, err)
	assert.Len(t, res, consul.MaxTxnOps)
	cn, _, err = c.Catalog.GetNode(ctx, node)
	require.NoError(t, err)
	require.NotNil(t, cn)
	assert.Len(t, cn.Services, 43)
}

// Why the builder has no session operation: Consul's servers know one
// (delete), but /v1/txn refuses it, in every supported version.
func TestTxnSessionOpsAreNotServed(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	sess, err := c.Session.Create(ctx, &consul.SessionEntry{})
	require.NoError(t, err)
	defer c.Session.Destroy(ctx, sess)
	body := []map[string]any{{"Session": map[string]any{"Verb": "delete", "Session": map[string]any{"ID": sess}}}}
	_, err = c.Do(ctx, &consul.Request{Method: "PUT", Route: "/v1/txn", Body: body}, nil)
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 400, se.StatusCode)
	s, _, err := c.Session.Get(ctx, sess)
	require.NoError(t, err)
	assert.NotNil(t, s, "the session lives on")
}

// A rolled back transaction ends its call with the *TxnError: an Observer
// (tracing) sees it failed.
func TestTxnRollbackSeenByObserverWire(t *testing.T) {
	obs := &recordingObserver{}
	_, c := newWireConfig(t, consul.Config{Observer: obs},
		reply{Status: 409, Body: `{"Results":null,"Errors":[{"OpIndex":0,"What":"failed index check"}]}`})
	_, _, err := c.Txn.New().CheckIndex("a", 1).Execute(testCtx(t))
	var te *consul.TxnError
	require.ErrorAs(t, err, &te)
	calls := obs.all()
	require.Len(t, calls, 1)
	assert.Equal(t, 409, calls[0].end.StatusCode)
	assert.ErrorAs(t, calls[0].end.Err, &te)
	assert.Equal(t, 1, calls[0].end.Attempts)
}
