package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/goconsul/consul"
)

// tourMembers follows aioconsul's "Agent's Members" section: members.items,
// members.join (here to the agent's own Serf LAN address, the only one a
// lone agent has) and force_leave.
func tourMembers(ctx context.Context, t *tourEnv) error {
	m := t.client.Members
	members, _, err := m.List(ctx)
	if err != nil {
		return err
	}
	step("members.items() -> %d member(s)", len(members))
	for _, mb := range members {
		step("  %s %s:%d %s (role %s)", mb.Name, mb.Addr, mb.Port, mb.Status, mb.Tags["role"])
	}
	if len(members) > 0 {
		self := members[0]
		for _, mb := range members {
			if t.agent != nil && mb.Name == t.agent.NodeName {
				self = mb
			}
		}
		addr := net.JoinHostPort(self.Addr, strconv.Itoa(int(self.Port)))
		if err := m.Join(ctx, addr); err != nil {
			return err
		}
		step("members.join(%q) -> ok (joining itself is a no-op)", addr)
	}
	wan, _, err := m.List(ctx, consul.MembersWAN())
	if err != nil {
		return err
	}
	step("members.items(wan=True) -> %d server(s) in the WAN pool", len(wan))
	err = m.ForceLeave(ctx, t.prefix+"-no-such-node")
	step("members.force_leave(%q) -> %v", t.prefix+"-no-such-node", err)
	return nil
}

// tourAgent follows aioconsul's "Agent" section: agent.info, agent.disable
// and agent.enable (node maintenance).
func tourAgent(ctx context.Context, t *tourEnv) error {
	a := t.client.Agent
	self, _, err := a.Self(ctx)
	if err != nil {
		return err
	}
	step("agent.info() -> node %s in %s, server=%v, version %s", self.Config.NodeName,
		self.Config.Datacenter, self.Config.Server, self.Config.Version)

	if err := a.EnableMaintenance(ctx, "migrating"); err != nil {
		return err
	}
	checks, _, err := t.client.Checks.List(ctx)
	if err != nil {
		return err
	}
	if c := checks["_node_maintenance"]; c != nil {
		step("agent.disable(reason=%q) -> node in maintenance: %s check %q", "migrating", c.Status, c.Notes)
	}
	if err := a.DisableMaintenance(ctx); err != nil {
		return err
	}
	checks, _, err = t.client.Checks.List(ctx)
	if err != nil {
		return err
	}
	_, still := checks["_node_maintenance"]
	step("agent.enable(reason=%q) -> maintenance check present: %v", "migration done", still)

	// Beyond aioconsul: a few log lines of the agent, streamed.
	mctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	go func() { // something to log
		time.Sleep(300 * time.Millisecond)
		_, _, _ = a.Version(mctx)
	}()
	n := 0
	for line, err := range a.Monitor(mctx, "debug") {
		if err != nil {
			return err
		}
		if n == 0 {
			step("agent monitor -> %s", line)
		}
		if n++; n == 3 {
			break
		}
	}
	step("agent monitor: %d line(s), then the loop broke and the stream closed", n)
	return nil
}

// tourServices follows aioconsul's "Agent's Services" section: register,
// items, disable, enable and deregister.
func tourServices(ctx context.Context, t *tourEnv) error {
	s := t.client.Services
	id := t.prefix + "-redis1"
	name := t.prefix + "-redis"
	err := s.Register(ctx, &consul.AgentServiceRegistration{
		ID: id, Name: name, Tags: []string{"master", "v1"}, Port: 6379,
		Check: &consul.AgentCheckRegistration{ID: id + "-ttl", TTL: 30 * time.Second, Status: consul.HealthPassing},
	})
	if err != nil {
		return err
	}
	step("services.register({ID: %q, Name: %q, Tags: [master v1]}) -> ok", id, name)

	services, _, err := s.List(ctx)
	if err != nil {
		return err
	}
	step("services.items() -> %d service(s); %s has tags %v", len(services), id, services[id].Tags)

	if err := s.EnableMaintenance(ctx, id, "migrating"); err != nil {
		return err
	}
	h, _, err := s.GetHealthByID(ctx, id)
	if err != nil {
		return err
	}
	step("services.disable(%q, reason=%q) -> local health %s", id, "migrating", h.AggregatedStatus)

	if err := s.DisableMaintenance(ctx, id); err != nil {
		return err
	}
	status, _, _, err := s.GetHealthByName(ctx, name)
	if err != nil {
		return err
	}
	step("services.enable(%q) -> local health of %q: %s", id, name, status)

	if err := s.Deregister(ctx, id); err != nil {
		return err
	}
	gone, _, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	step("services.deregister(%q) -> ok; services.get now -> %v", id, gone)
	return nil
}

// tourChecks follows aioconsul's "Agent's Checks" section: register, items,
// critical, warning, passing and deregister of a TTL check.
func tourChecks(ctx context.Context, t *tourEnv) error {
	c := t.client.Checks
	id := t.prefix + "-mem"
	// The seed's check, Interval included: a TTL check has none, and it is
	// not sent (Consul would refuse the pair).
	err := c.Register(ctx, &consul.AgentCheckRegistration{ID: id, Name: "Memory utilization", TTL: 15 * time.Second, Interval: 10 * time.Second})
	if err != nil {
		return err
	}
	step("checks.register({ID: %q, Name: %q, TTL: 15s, Interval: 10s}) -> ok", id, "Memory utilization")

	show := func(what string) error {
		checks, _, err := c.List(ctx, consul.Filter(`CheckID == "`+id+`"`))
		if err != nil {
			return err
		}
		chk := checks[id]
		if chk == nil {
			return fmt.Errorf("check %s not listed", id)
		}
		step("%s -> status %s, output %q", what, chk.Status, chk.Output)
		return nil
	}
	if err := show("checks.items()[" + id + "]"); err != nil {
		return err
	}
	for _, mark := range []struct {
		what string
		call func() error
	}{
		{`checks.critical(check, note="Fatal")`, func() error { return c.Fail(ctx, id, "Fatal") }},
		{`checks.warning(check, note="Warning")`, func() error { return c.Warn(ctx, id, "Warning") }},
		{`checks.passing(check, note="Back to normal")`, func() error { return c.Pass(ctx, id, "Back to normal") }},
	} {
		if err := mark.call(); err != nil {
			return err
		}
		if err := show(mark.what); err != nil {
			return err
		}
	}
	if err := c.Deregister(ctx, id); err != nil {
		return err
	}
	checks, _, err := c.List(ctx)
	if err != nil {
		return err
	}
	_, still := checks[id]
	step("checks.deregister(check) -> listed: %v", still)
	return nil
}
