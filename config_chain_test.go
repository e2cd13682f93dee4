package consul_test

import (
	"context"
	"fmt"
	"log"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An answer recorded from a Consul 1.19.2 dev agent.
const configTestChainJSON = `{"Chain":{"ServiceName":"web","Namespace":"default","Partition":"default","Datacenter":"dc1","CustomizationHash":"39c97fee",` +
	`"Protocol":"http","StartNode":"router:web.default.default","Nodes":{` +
	`"resolver:web.default.default.dc1":{"Type":"resolver","Name":"web.default.default.dc1","Resolver":{"ConnectTimeout":"7s","RequestTimeout":3000000000,"Target":"web.default.default.dc1"},` +
	`"LoadBalancer":{"Policy":"ring_hash","HashPolicies":[{"Field":"cookie","FieldValue":"x","CookieConfig":{"TTL":10000000000}}]}},` +
	`"router:web.default.default":{"Type":"router","Name":"web.default.default","Routes":[{"Definition":{"Match":{"HTTP":{"PathPrefix":"/v2"}},` +
	`"Destination":{"RequestTimeout":"2s","ServiceSubset":"v2"}},"NextNode":"resolver:v2.web.default.default.dc1"}]}},` +
	`"Targets":{"web.default.default.dc1":{"ConnectTimeout":"7s","ID":"web.default.default.dc1","Service":"web","Namespace":"default","Partition":"default",` +
	`"Datacenter":"dc1","MeshGateway":{"Mode":"local"},"Subset":{},"TransparentProxy":{},"SNI":"web.default.dc1.internal.5dd78cbc.consul","Name":"web.default.dc1.internal.5dd78cbc.consul"}},` +
	`"AutoVirtualIPs":["240.0.0.1"],"ManualVirtualIPs":[]}}`

func TestConfigEntriesDiscoveryChainWire(t *testing.T) {
	// No options: a plain GET, with the read options.
	w, c := newWire(t, reply{Header: map[string]string{"X-Consul-Index": "16"}, Body: configTestChainJSON})
	chain, meta, err := c.ConfigEntries.GetDiscoveryChain(testCtx(t), "web", nil, consul.WaitIndex(9), consul.Cached())
	require.NoError(t, err)
	r := w.only(t)
	r.expect(t, "GET", "/v1/discovery-chain/web", q("index", "9", "cached", ""))
	assert.Empty(t, r.Body)
	assert.EqualValues(t, 16, meta.Index)

	assert.Equal(t, "web", chain.ServiceName)
	assert.Equal(t, "http", chain.Protocol)
	assert.Equal(t, "dc1", chain.Datacenter)
	assert.Equal(t, "router:web.default.default", chain.StartNode)
	res := chain.Nodes["resolver:web.default.default.dc1"]
	require.NotNil(t, res)
	assert.Equal(t, "resolver", res.Type)
	assert.Equal(t, 7*time.Second, res.Resolver.ConnectTimeout)
	assert.Equal(t, 3*time.Second, res.Resolver.RequestTimeout, "nanoseconds read")
	assert.Equal(t, 10*time.Second, res.LoadBalancer.HashPolicies[0].CookieConfig.TTL)
	router := chain.Nodes[chain.StartNode]
	require.Len(t, router.Routes, 1)
	assert.Equal(t, 2*time.Second, router.Routes[0].Definition.Destination.RequestTimeout)
	assert.Equal(t, "resolver:v2.web.default.default.dc1", router.Routes[0].NextNode)
	target := chain.Targets["web.default.default.dc1"]
	require.NotNil(t, target)
	assert.Equal(t, 7*time.Second, target.ConnectTimeout)
	assert.Equal(t, "local", target.MeshGateway.Mode)
	assert.Equal(t, []string{"240.0.0.1"}, chain.AutoVirtualIPs)

	// Only the datacenter to compile in: still a GET.
	w, c = newWire(t, reply{Body: configTestChainJSON})
	_, _, err = c.ConfigEntries.GetDiscoveryChain(testCtx(t), "a b", &consul.DiscoveryChainOptions{EvaluateInDatacenter: "dc2"})
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/discovery-chain/a%20b", q("compile-dc", "dc2"))

	// Overrides: a POST read with them in the body, still blocking.
	w, c = newWire(t, reply{Body: configTestChainJSON})
	_, _, err = c.ConfigEntries.GetDiscoveryChain(testCtx(t), "web", &consul.DiscoveryChainOptions{
		EvaluateInDatacenter:   "dc1",
		OverrideMeshGateway:    consul.ConfigMeshGateway{Mode: "local"},
		OverrideProtocol:       "grpc",
		OverrideConnectTimeout: 2500 * time.Millisecond,
	}, consul.WaitIndex(4), consul.Consistent())
	require.NoError(t, err)
	r = w.only(t)
	r.expect(t, "POST", "/v1/discovery-chain/web", q("compile-dc", "dc1", "index", "4", "consistent", ""))
	assert.JSONEq(t, `{"OverrideMeshGateway":{"Mode":"local"},"OverrideProtocol":"grpc","OverrideConnectTimeout":"2.5s"}`, r.Body)

	w, c = newWire(t, reply{Body: configTestChainJSON})
	_, _, err = c.ConfigEntries.GetDiscoveryChain(testCtx(t), "web", &consul.DiscoveryChainOptions{OverrideProtocol: "http"})
	require.NoError(t, err)
	r = w.only(t)
	r.expect(t, "POST", "/v1/discovery-chain/web", nil)
	assert.JSONEq(t, `{"OverrideProtocol":"http"}`, r.Body)
}

func TestConfigEntriesDiscoveryChainIntegration(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	s := c.ConfigEntries
	name := configTestName(t, "web")
	t.Cleanup(func() {
		for _, kind := range []string{consul.ConfigKindServiceRouter, consul.ConfigKindServiceResolver, consul.ConfigKindServiceDefaults} {
			_ = s.Delete(ctx, kind, name)
		}
	})

	// Without any entry the chain is the default one.
	chain, meta, err := s.GetDiscoveryChain(ctx, name, nil)
	require.NoError(t, err)
	assert.Equal(t, name, chain.ServiceName)
	assert.Equal(t, "tcp", chain.Protocol)
	assert.True(t, chain.Default)
	assert.NotZero(t, meta.Index)

	require.NoError(t, s.Put(ctx, &consul.ServiceDefaultsConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: name}, Protocol: "http"}))
	require.NoError(t, s.Put(ctx, &consul.ServiceResolverConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Name: name},
		ConnectTimeout:    7 * time.Second,
		Subsets:           map[string]consul.ServiceResolverSubset{"v2": {Filter: "Service.Meta.version == v2"}},
	}))
	require.NoError(t, s.Put(ctx, &consul.ServiceRouterConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Name: name}, Routes: []consul.ServiceRouterRoute{{
			Match:       &consul.ServiceRouterMatch{HTTP: &consul.ServiceRouterHTTPMatch{PathPrefix: "/v2"}},
			Destination: &consul.ServiceRouterDestination{ServiceSubset: "v2", RequestTimeout: 2 * time.Second},
		}}}))

	entry, _, err := s.Get(ctx, consul.ConfigKindServiceRouter, name)
	require.NoError(t, err)
	router := entry.(*consul.ServiceRouterConfigEntry)
	require.Len(t, router.Routes, 1)
	assert.Equal(t, 2*time.Second, router.Routes[0].Destination.RequestTimeout)

	chain, _, err = s.GetDiscoveryChain(ctx, name, nil)
	require.NoError(t, err)
	assert.False(t, chain.Default)
	assert.Equal(t, "http", chain.Protocol)
	assert.Equal(t, "dc1", chain.Datacenter)
	start := chain.Nodes[chain.StartNode]
	require.NotNil(t, start, chain.StartNode)
	assert.Equal(t, "router", start.Type)
	require.NotEmpty(t, start.Routes)
	assert.Equal(t, 2*time.Second, start.Routes[0].Definition.Destination.RequestTimeout)
	v2 := chain.Nodes[start.Routes[0].NextNode]
	require.NotNil(t, v2)
	assert.Equal(t, 7*time.Second, v2.Resolver.ConnectTimeout)
	target := chain.Targets[v2.Resolver.Target]
	require.NotNil(t, target)
	assert.Equal(t, name, target.Service)
	assert.Equal(t, "v2", target.ServiceSubset)
	assert.Equal(t, 7*time.Second, target.ConnectTimeout)

	// Overrides: a POST compiles with them.
	chain, _, err = s.GetDiscoveryChain(ctx, name, &consul.DiscoveryChainOptions{
		EvaluateInDatacenter:   "dc1",
		OverrideProtocol:       "grpc",
		OverrideConnectTimeout: 2 * time.Second,
		OverrideMeshGateway:    consul.ConfigMeshGateway{Mode: "local"},
	})
	require.NoError(t, err)
	assert.Equal(t, "grpc", chain.Protocol)
	assert.NotEmpty(t, chain.CustomizationHash)
	for id, tg := range chain.Targets {
		assert.Equal(t, 2*time.Second, tg.ConnectTimeout, id)
		assert.Equal(t, "local", tg.MeshGateway.Mode, id)
	}

	// A datacenter that does not exist is Consul's error.
	_, _, err = s.GetDiscoveryChain(ctx, name, &consul.DiscoveryChainOptions{EvaluateInDatacenter: "nowhere"}, consul.Datacenter("nowhere"))
	require.Error(t, err)
}

func ExampleConfigEntriesService_GetDiscoveryChain() {
	client, _ := consul.NewClient(consul.Config{})
	ctx := context.Background()

	chain, _, err := client.ConfigEntries.GetDiscoveryChain(ctx, "web", &consul.DiscoveryChainOptions{
		OverrideConnectTimeout: time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	for id, target := range chain.Targets {
		fmt.Println(id, target.ConnectTimeout)
	}
}

// configTestOwnEntry is a ConfigEntry of another package: its kind is its
