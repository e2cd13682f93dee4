package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
)

// tourACLAgent is the ACL-enabled agent the ACL and prepared query sections
// share when the tour runs on its own agents; tourQuery closes it.
var tourACLAgent *consultest.Server

// tourACLGlobalManagement is the ID of Consul's builtin management policy.
const tourACLGlobalManagement = "00000000-0000-0000-0000-000000000001"

// tourACLClient returns a client holding a management token: on an ACL
// agent started here (default deny) when the tour runs on its own agent, or
// the tour's client when CONSUL_HTTP_ADDR is set and its token is a
// management token. ok is false, with a note printed, otherwise.
func tourACLClient(ctx context.Context, t *tourEnv) (c *consul.Client, ok bool, err error) {
	if t.agent == nil {
		self, _, err := t.client.ACL.GetSelfToken(ctx)
		if err == nil {
			for _, p := range self.Policies {
				if p.ID == tourACLGlobalManagement {
					return t.client, true, nil
				}
			}
		}
		step("skipped: CONSUL_HTTP_ADDR is set and CONSUL_HTTP_TOKEN is not a management token")
		return nil, false, nil
	}
	if tourACLAgent == nil {
		step("starting an agent with ACLs on (default deny) with consultest")
		srv, err := consultest.Start(consultest.Config{ACL: true})
		if err != nil {
			return nil, false, err
		}
		tourACLAgent = srv
	}
	c, err = consul.NewClient(consul.Config{Address: tourACLAgent.HTTPAddr, Token: tourACLAgent.ManagementToken})
	return c, err == nil, err
}

// tourACL follows aioconsul's "ACL" section on the token system: the rules
// of aioconsul's token become a policy the token links to.
func tourACL(ctx context.Context, t *tourEnv) error {
	c, ok, err := tourACLClient(ctx, t)
	if !ok {
		return err
	}
	acl := c.ACL

	rules := fmt.Sprintf(`key_prefix %q { policy = "read" }
key_prefix %q { policy = "deny" }`, t.prefix+"/", t.prefix+"/private/")
	policy, err := acl.CreatePolicy(ctx, &consul.ACLPolicy{Name: t.prefix + "-app-read", Rules: rules})
	if err != nil {
		return err
	}
	defer acl.DeletePolicy(context.WithoutCancel(ctx), policy.ID)
	step("acl.policy create %q -> %s, rules:\n%s", policy.Name, policy.ID[:8], rules)

	token, err := acl.CreateToken(ctx, &consul.ACLToken{
		Description: "my-app-token",
		Policies:    []consul.ACLLink{{Name: policy.Name}},
	})
	if err != nil {
		return err
	}
	step("acl.create({Description: my-app-token, Policies: [%s]}) -> accessor %s", policy.Name, token.AccessorID[:8])

	token.Description = "my-app-token (updated)"
	if token, err = acl.UpdateToken(ctx, token); err != nil {
		return err
	}
	info, _, err := acl.GetToken(ctx, token.AccessorID)
	if err != nil {
		return err
	}
	step("acl.update then acl.info(%s) -> %q, policies %v", info.AccessorID[:8], info.Description, info.Policies)

	defer c.KV.DeleteTree(context.WithoutCancel(ctx), t.prefix+"/")
	if err := c.KV.Put(ctx, t.prefix+"/x", []byte("public")); err != nil {
		return err
	}
	if err := c.KV.Put(ctx, t.prefix+"/private/y", []byte("secret")); err != nil {
		return err
	}
	app, err := consul.NewClient(consul.Config{Address: c.Address(), Token: token.SecretID})
	if err != nil {
		return err
	}
	pair, _, err := app.KV.Get(ctx, t.prefix+"/x")
	if err != nil {
		return err
	}
	step("with the token: kv.get(%q) -> %q", t.prefix+"/x", pair.Value)
	_, _, err = app.KV.Get(ctx, t.prefix+"/private/y")
	step("with the token: kv.get(%q) -> permission denied: %v", t.prefix+"/private/y", errors.Is(err, consul.ErrPermissionDenied))
	err = app.KV.Put(ctx, t.prefix+"/x", []byte("nope"))
	step("with the token: kv.put(%q) -> permission denied: %v", t.prefix+"/x", errors.Is(err, consul.ErrPermissionDenied))

	clone, err := acl.CloneToken(ctx, token.AccessorID, "my-app-token (clone)")
	if err != nil {
		return err
	}
	step("acl.clone(%s) -> new accessor %s with the same policies", token.AccessorID[:8], clone.AccessorID[:8])

	tokens, _, err := acl.ListTokens(ctx, &consul.ACLTokenFilter{Policy: policy.ID})
	if err != nil {
		return err
	}
	step("acl.items() linked to %s -> %d token(s)", policy.Name, len(tokens))

	for _, tok := range []*consul.ACLToken{token, clone} {
		if err := acl.DeleteToken(ctx, tok.AccessorID); err != nil {
			return err
		}
	}
	gone, _, err := acl.GetToken(ctx, token.AccessorID)
	if err != nil {
		return err
	}
	step("acl.destroy both -> acl.info now returns nil: %v", gone == nil)
	_, _, err = app.KV.Get(ctx, t.prefix+"/x")
	step("the deleted token reads nothing: permission denied: %v", errors.Is(err, consul.ErrPermissionDenied))

	repl, _, err := acl.Replication(ctx)
	if err != nil {
		return err
	}
	step("acl.replication() -> enabled %v, running %v", repl.Enabled, repl.Running)
	return nil
}

// tourQuery follows aioconsul's "Prepared Queries" section, over a service
// with a passing and a critical instance registered in the catalog.
func tourQuery(ctx context.Context, t *tourEnv) error {
	c, ok, err := tourACLClient(ctx, t)
	if tourACLAgent != nil {
		defer func() {
			tourACLAgent.Close()
			tourACLAgent = nil
		}()
	}
	if !ok {
		return err
	}
	q := c.Query

	svc := t.prefix + "-web"
	for i, status := range []consul.HealthStatus{consul.HealthPassing, consul.HealthCritical} {
		node := fmt.Sprintf("%s-node-%d", t.prefix, i+1)
		err := c.Catalog.Register(ctx, &consul.CatalogRegistration{
			Node: node, Address: fmt.Sprintf("10.0.0.%d", i+1),
			Service: &consul.NodeService{ID: svc, Service: svc, Port: 8080},
			Check:   &consul.HealthCheck{CheckID: "web-health", Name: "web health", Status: status, ServiceID: svc},
		})
		if err != nil {
			return err
		}
		defer c.Catalog.Deregister(context.WithoutCancel(ctx), &consul.CatalogDeregistration{Node: node})
		step("catalog.register %s on %s, check %s", svc, node, status)
	}

	id, err := q.Create(ctx, &consul.PreparedQuery{
		Name:    svc,
		Service: consul.PreparedQueryService{Service: svc, OnlyPassing: true},
	})
	if err != nil {
		return err
	}
	defer q.Delete(context.WithoutCancel(ctx), id)
	step("query.create({Name: %s, Service: %s, OnlyPassing}) -> %s", svc, svc, id[:8])

	read, _, err := q.Get(ctx, id)
	if err != nil {
		return err
	}
	step("query.read(%s) -> service %q, only passing %v", id[:8], read.Service.Service, read.Service.OnlyPassing)

	read.Service.Near = "_agent"
	if err := q.Update(ctx, read); err != nil {
		return err
	}
	step("query.update(%s, Near: _agent) -> ok", id[:8])

	res, _, err := q.Execute(ctx, read.Name, &consul.QueryExecuteOptions{Limit: 3})
	if err != nil {
		return err
	}
	step("query.execute(%s) -> %d instance(s) in %s: only the passing one", read.Name, len(res.Nodes), res.Datacenter)
	for _, e := range res.Nodes {
		step("  %s on %s (%s:%d), %s", e.Service.Service, e.Node.Node, e.Node.Address, e.Service.Port, e.AggregatedStatus())
	}

	tid, err := q.Create(ctx, &consul.PreparedQuery{
		Name:     t.prefix + "-",
		Service:  consul.PreparedQueryService{Service: "${name.suffix}"},
		Template: consul.PreparedQueryTemplate{Type: consul.QueryTemplateNamePrefix},
	})
	if err != nil {
		return err
	}
	defer q.Delete(context.WithoutCancel(ctx), tid)
	explained, _, err := q.Explain(ctx, t.prefix+"-db")
	if err != nil {
		return err
	}
	step("query.explain(%s-db) on the template %q -> service %q", t.prefix, t.prefix+"-", explained.Service.Service)

	list, _, err := q.List(ctx)
	if err != nil {
		return err
	}
	step("query.items() -> %d quer(ies)", len(list))

	if err := q.Delete(ctx, tid); err != nil {
		return err
	}
	gone, _, err := q.Get(ctx, tid)
	if err != nil {
		return err
	}
	step("query.delete(%s) -> query.read now returns nil: %v", tid[:8], gone == nil)
	return nil
}
