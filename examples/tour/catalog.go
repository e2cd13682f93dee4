package main

import (
	"context"
	"fmt"
	"time"

	"github.com/goconsul/consul"
)

// tourCatalogNode is the seed tutorial's external node, made private to the
// run so that the tour never touches a real node of the agent's cluster.
func tourCatalogNode(t *tourEnv) string { return t.prefix + "-foobar" }

// tourCatalogService is the seed tutorial's "redis" service, private to the
// run in the same way.
func tourCatalogService(t *tourEnv) string { return t.prefix + "-redis" }

// tourCatalog follows aioconsul's "Catalog" section: register the foobar
// node with its redis1 service and check, read the catalog back, and
// deregister.
func tourCatalog(ctx context.Context, t *tourEnv) error {
	c := t.client.Catalog
	node, redis := tourCatalogNode(t), tourCatalogService(t)
	reg := &consul.CatalogRegistration{
		Node:    node,
		Address: "192.168.10.10",
		Service: &consul.NodeService{
			ID:      "redis1",
			Service: redis,
			Tags:    []string{"master", "v1"},
			Address: "127.0.0.1",
			Port:    8000,
		},
		Check: &consul.HealthCheck{
			CheckID:   "service:redis1",
			Name:      "Redis health check",
			Notes:     "Script based health check",
			Status:    consul.HealthPassing,
			ServiceID: "redis1",
		},
	}
	if err := c.Register(ctx, reg); err != nil {
		return err
	}
	step("catalog.register({Node: %q, Service: redis1, Check: service:redis1})", node)

	dcs, _, err := c.ListDatacenters(ctx)
	if err != nil {
		return err
	}
	step("catalog.datacenters() -> %v", dcs)

	// aioconsul's near="_self" is "_agent" in modern Consul.
	nodes, meta, err := c.ListNodes(ctx, consul.Near("_agent"))
	if err != nil {
		return err
	}
	for _, n := range nodes {
		step("catalog.nodes(near=_agent): %s %s", n.Node, n.Address)
	}

	// catalog.node(..., watch=(meta, "30s")): a blocking read. Another
	// registration on the node wakes it up before the 30s are over.
	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = c.Register(ctx, &consul.CatalogRegistration{Node: node, SkipNodeUpdate: true,
			Service: &consul.NodeService{ID: "redis2", Service: redis, Tags: []string{"replica", "v1"}, Port: 8001}})
	}()
	start := time.Now()
	cn, meta, err := c.GetNode(ctx, node, consul.WaitIndex(meta.Index), consul.WaitTime(30*time.Second))
	if err != nil {
		return err
	}
	if cn == nil {
		return fmt.Errorf("node %s is not in the catalog", node)
	}
	step("catalog.node(%q, WaitIndex, 30s) woke after %s with %d service(s), index %d",
		node, time.Since(start).Round(100*time.Millisecond), len(cn.Services), meta.Index)

	services, _, err := c.ListServices(ctx, consul.Stale())
	if err != nil {
		return err
	}
	step("catalog.services(consistency=stale) -> %s: %v", redis, services[redis])

	instances, _, err := c.ListServiceInstances(ctx, redis, consul.Tag("master"))
	if err != nil {
		return err
	}
	for _, in := range instances {
		step("catalog.service(%q, tag=master): %s on %s port %d", redis, in.ServiceID, in.Node, in.ServicePort)
	}

	// The health section reads the node next; the coordinates section
	// deregisters it.
	return nil
}

// tourEvent follows aioconsul's "Events" section and its Payload example:
// the payload goes out as raw bytes and comes back the same.
func tourEvent(ctx context.Context, t *tourEnv) error {
	name := t.prefix + "-my-event"
	payload := []byte("qux")
	ev, err := t.client.Event.Fire(ctx, name, payload, consul.EventNodeFilter(".*"))
	if err != nil {
		return err
	}
	step("event.fire(%q, b\"qux\", node=\".*\") -> ID %s, payload %q", name, ev.ID, ev.Payload)

	// Events travel by gossip: poll briefly until the agent lists it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		events, meta, err := t.client.Event.List(ctx, name)
		if err != nil {
			return err
		}
		if len(events) > 0 {
			last := events[len(events)-1]
			idx, err := consul.EventIDToIndex(last.ID)
			if err != nil {
				return err
			}
			step("event.items(%q) -> %d event(s), payload %q; Meta.Index %d == EventIDToIndex(ID) %d",
				name, len(events), last.Payload, meta.Index, idx)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("event %s was never listed", ev.ID)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tourHealth follows aioconsul's "Health Checks" section.
func tourHealth(ctx context.Context, t *tourEnv) error {
	h := t.client.Health
	node, redis := tourCatalogNode(t), tourCatalogService(t)

	checks, _, err := h.ListNodeChecks(ctx, node)
	if err != nil {
		return err
	}
	for _, c := range checks {
		step("health.node(%q): %s is %s", node, c.CheckID, c.Status)
	}
	checks, _, err = h.ListServiceChecks(ctx, redis)
	if err != nil {
		return err
	}
	step("health.checks(%q) -> %d check(s)", redis, len(checks))
	checks, _, err = h.ListChecksInState(ctx, consul.HealthPassing, consul.Near("_agent"))
	if err != nil {
		return err
	}
	step("health.state(\"passing\", near=_agent) -> %d check(s)", len(checks))

	// Turn redis1's check critical: Passing drops the instance.
	if err := t.client.Catalog.Register(ctx, &consul.CatalogRegistration{Node: node, SkipNodeUpdate: true,
		Check: &consul.HealthCheck{CheckID: "service:redis1", Name: "Redis health check",
			Status: consul.HealthCritical, ServiceID: "redis1", Output: "connection refused"}}); err != nil {
		return err
	}
	all, _, err := h.ListServiceInstances(ctx, redis)
	if err != nil {
		return err
	}
	passing, _, err := h.ListServiceInstances(ctx, redis, consul.Passing())
	if err != nil {
		return err
	}
	for _, e := range all {
		step("health.service(%q): %s is %s", redis, e.Service.ID, e.AggregatedStatus())
	}
	step("health.service(%q, passing) -> %d of %d instance(s)", redis, len(passing), len(all))
	return nil
}

// tourCoordinate follows aioconsul's "Network Coordinates" section, then
// removes the tour's catalog node.
func tourCoordinate(ctx context.Context, t *tourEnv) error {
	dcs, _, err := t.client.Coordinate.ListDatacenters(ctx)
	if err != nil {
		return err
	}
	for _, dc := range dcs {
		step("coordinate.datacenters(): %s with %d server(s)", dc.Datacenter, len(dc.Coordinates))
	}
	nodes, _, err := t.client.Coordinate.ListNodes(ctx)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		step("coordinate.nodes(): %s at %.4g (error %.3g)", n.Node, n.Coord.Vec, n.Coord.Error)
	}
	if len(nodes) == 0 {
		step("coordinate.nodes() -> none yet (agents send theirs every few seconds)")
	}

	node := tourCatalogNode(t)
	if err := t.client.Catalog.Deregister(ctx, &consul.CatalogDeregistration{Node: node}); err != nil {
		return err
	}
	gone, _, err := t.client.Catalog.GetNode(ctx, node)
	if err != nil {
		return err
	}
	step("catalog.deregister({Node: %q}); catalog.node now -> %v", node, gone)
	return nil
}
