package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
)

// tourConnect shows the service mesh CA and intentions, which aioconsul
// predates: read the CA's roots, allow web to reach db and deny everything
// else, ask Consul what it decides, and clean up.
func tourConnect(ctx context.Context, t *tourEnv) error {
	c := t.client.Connect
	roots, meta, err := c.CARoots(ctx)
	if err != nil {
		return err
	}
	if active := roots.Active(); active != nil {
		step("connect.ca_roots() -> trust domain %s, active root %q (%s), index %d",
			roots.TrustDomain, active.Name, active.PrivateKeyType, meta.Index)
	}
	cfg, _, err := c.CAConfiguration(ctx)
	if err != nil {
		return err
	}
	step("connect.ca_configuration() -> provider %s, leaf certificates live %v", cfg.Provider, cfg.Config["LeafCertTTL"])

	web, db := t.prefix+"-web", t.prefix+"-db"
	defer func() {
		_ = c.DeleteIntentionExact(context.WithoutCancel(ctx), web, db)
		_ = c.DeleteIntentionExact(context.WithoutCancel(ctx), "*", db)
	}()
	for _, ixn := range []*consul.Intention{
		{SourceName: "*", DestinationName: db, Action: consul.IntentionDeny, Description: "deny by default"},
		{SourceName: web, DestinationName: db, Action: consul.IntentionAllow, Description: "web reads db"},
	} {
		if _, err := c.PutIntention(ctx, ixn); err != nil {
			return err
		}
		step("connect.put_intention(%s -> %s: %s)", ixn.SourceName, ixn.DestinationName, ixn.Action)
	}
	for _, src := range []string{web, t.prefix + "-batch"} {
		ok, _, err := c.CheckIntention(ctx, src, db)
		if err != nil {
			return err
		}
		step("connect.check_intention(%s -> %s) -> allowed=%v", src, db, ok)
	}
	m, _, err := c.MatchIntentions(ctx, consul.IntentionMatchDestination, []string{db})
	if err != nil {
		return err
	}
	for _, ixn := range m[db] {
		step("connect.match_intentions(destination=%s): %s -> %s %s (precedence %d)",
			db, ixn.SourceName, ixn.DestinationName, ixn.Action, ixn.Precedence)
	}
	if err := c.DeleteIntentionExact(ctx, web, db); err != nil {
		return err
	}
	got, _, err := c.GetIntentionExact(ctx, web, db)
	if err != nil {
		return err
	}
	step("connect.delete_intention_exact(%s -> %s); reading it back -> %v", web, db, got)
	return nil
}

// tourSnapshot saves a snapshot of the servers' state and, on the tour's
// own throwaway agent only, restores it to undo a KV change.
func tourSnapshot(ctx context.Context, t *tourEnv) error {
	key := t.prefix + "/snapshot/color"
	if err := t.client.KV.Put(ctx, key, []byte("blue")); err != nil {
		return err
	}
	body, meta, err := t.client.Snapshot.Save(ctx)
	if err != nil {
		return err
	}
	// The snapshot streams: here into memory because it is small, into a
	// file in real life (io.Copy(file, body)).
	snap, err := io.ReadAll(body)
	body.Close()
	if err != nil {
		return err
	}
	step("snapshot.save() -> %d bytes at index %d", len(snap), meta.Index)

	if t.agent == nil {
		step("not restoring: a restore would rewrite the state of the agent you pointed the tour at")
		return t.client.KV.Delete(ctx, key)
	}
	if err := t.client.KV.Put(ctx, key, []byte("red")); err != nil {
		return err
	}
	step("kv.set(%q, red)", key)
	if err := t.client.Snapshot.Restore(ctx, bytes.NewReader(snap)); err != nil {
		return err
	}
	v, _, err := t.client.KV.GetRaw(ctx, key)
	if err != nil {
		return err
	}
	step("snapshot.restore(); kv.get(%q) -> %s again", key, v)
	return t.client.KV.Delete(ctx, key)
}

// tourPeering peers two clusters. Peering needs the servers' gRPC TLS
// port, so on its own throwaway agents the tour starts two fresh
// single-server clusters, dc1 and dc2; against another agent it only lists
// the peerings.
func tourPeering(ctx context.Context, t *tourEnv) error {
	if t.agent == nil {
		list, _, err := t.client.Peering.List(ctx)
		if err != nil {
			return err
		}
		for _, p := range list {
			step("peering.list(): %s %s (remote datacenter %s)", p.Name, p.State, p.Remote.Datacenter)
		}
		step("peering.list() -> %d peering(s)", len(list))
		return nil
	}
	acc, err := consultest.Start(consultest.Config{GRPC: true, Datacenter: "dc1", Bind: "127.0.0.3"})
	if err != nil {
		return err
	}
	defer acc.Close()
	dia, err := consultest.Start(consultest.Config{GRPC: true, Datacenter: "dc2", Bind: "127.0.0.4"})
	if err != nil {
		return err
	}
	defer dia.Close()
	ca, err := consul.NewClient(consul.Config{Address: acc.HTTPAddr})
	if err != nil {
		return err
	}
	cd, err := consul.NewClient(consul.Config{Address: dia.HTTPAddr})
	if err != nil {
		return err
	}
	step("started two clusters: dc1 on %s and dc2 on %s", acc.HTTPAddr, dia.HTTPAddr)

	tok, err := ca.Peering.GenerateToken(ctx, consul.PeeringGenerateTokenRequest{PeerName: "dc2"})
	if err != nil {
		return err
	}
	step("dc1: peering.generate_token(dc2) -> %d-byte token", len(tok))
	if err := cd.Peering.Establish(ctx, consul.PeeringEstablishRequest{PeerName: "dc1", PeeringToken: tok}); err != nil {
		return err
	}
	step("dc2: peering.establish(dc1, token)")

	// Follow the dialing side with blocking reads until it is active.
	var idx uint64
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		p, meta, err := cd.Peering.Get(ctx, "dc1", consul.WaitIndex(idx), consul.WaitTime(5*time.Second))
		if err != nil {
			return err
		}
		if p == nil {
			return fmt.Errorf("the peering dc1 disappeared")
		}
		step("dc2: peering.read(dc1) -> %s", p.State)
		if p.State == consul.PeeringStateActive {
			break
		}
		idx = meta.Index
	}
	list, _, err := ca.Peering.List(ctx)
	if err != nil {
		return err
	}
	for _, p := range list {
		step("dc1: peering.list(): %s %s, remote datacenter %q", p.Name, p.State, p.Remote.Datacenter)
	}
	if err := cd.Peering.Delete(ctx, "dc1"); err != nil {
		return err
	}
	step("dc2: peering.delete(dc1)")
	return nil
}
