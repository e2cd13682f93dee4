package main

import (
	"context"
	"time"

	"github.com/goconsul/consul"
)

// tourConfigEntries shows configuration entries, which aioconsul predates:
// typed entries by kind, CAS writes, the discovery chain Consul compiles from
// them, and exported services.
func tourConfigEntries(ctx context.Context, t *tourEnv) error {
	s := t.client.ConfigEntries
	name := t.prefix + "-web"
	defer func() {
		for _, kind := range []string{consul.ConfigKindServiceResolver, consul.ConfigKindServiceDefaults} {
			_ = s.Delete(ctx, kind, name)
		}
	}()

	if err := s.Put(ctx, &consul.ServiceDefaultsConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: name}, Protocol: "http"}); err != nil {
		return err
	}
	step("ConfigEntries.Put(service-defaults %s, Protocol http)", name)
	if err := s.Put(ctx, &consul.ServiceResolverConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Name: name},
		ConnectTimeout:    3 * time.Second,
		Subsets:           map[string]consul.ServiceResolverSubset{"v2": {Filter: "Service.Meta.version == v2"}},
	}); err != nil {
		return err
	}
	step("ConfigEntries.Put(service-resolver %s, ConnectTimeout 3s, subset v2)", name)

	entry, _, err := s.Get(ctx, consul.ConfigKindServiceDefaults, name)
	if err != nil {
		return err
	}
	sd := entry.(*consul.ServiceDefaultsConfigEntry)
	step("ConfigEntries.Get(service-defaults, %s) -> %T, Protocol %q, ModifyIndex %d", name, entry, sd.Protocol, sd.ModifyIndex)

	sd.Protocol = "grpc"
	ok, err := s.PutCAS(ctx, sd, sd.ModifyIndex-1)
	if err != nil {
		return err
	}
	step("ConfigEntries.PutCAS(Protocol grpc, stale index) -> %v", ok)
	ok, err = s.PutCAS(ctx, sd, sd.ModifyIndex)
	if err != nil {
		return err
	}
	step("ConfigEntries.PutCAS(Protocol grpc, index %d) -> %v", sd.ModifyIndex, ok)

	list, _, err := s.List(ctx, consul.ConfigKindServiceResolver)
	if err != nil {
		return err
	}
	step("ConfigEntries.List(service-resolver) -> %d entries", len(list))

	chain, _, err := s.GetDiscoveryChain(ctx, name, nil)
	if err != nil {
		return err
	}
	res := chain.Nodes[chain.StartNode].Resolver
	step("ConfigEntries.GetDiscoveryChain(%s) -> protocol %s, start %s, connect timeout %s",
		name, chain.Protocol, chain.StartNode, res.ConnectTimeout)
	chain, _, err = s.GetDiscoveryChain(ctx, name, &consul.DiscoveryChainOptions{OverrideConnectTimeout: time.Second})
	if err != nil {
		return err
	}
	step("  with OverrideConnectTimeout 1s -> %s", chain.Nodes[chain.StartNode].Resolver.ConnectTimeout)

	exported, _, err := s.ListExportedServices(ctx)
	if err != nil {
		return err
	}
	step("ConfigEntries.ListExportedServices() -> %d exported service(s)", len(exported))

	if err := s.Delete(ctx, consul.ConfigKindServiceResolver, name); err != nil {
		return err
	}
	gone, _, err := s.Get(ctx, consul.ConfigKindServiceResolver, name)
	if err != nil {
		return err
	}
	step("ConfigEntries.Delete(service-resolver, %s); Get -> %v", name, gone)
	return nil
}
