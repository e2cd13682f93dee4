package main

import (
	"context"
	"time"

	"github.com/goconsul/consul"
)

// tourSession follows aioconsul's "Session" section and its "Locked
// operations" KV example.
func tourSession(ctx context.Context, t *tourEnv) error {
	s := t.client.Session
	id, err := s.Create(ctx, &consul.SessionEntry{
		Name:      t.prefix + "-session",
		TTL:       30 * time.Second,
		LockDelay: consul.NoLockDelay,
		Behavior:  consul.SessionRelease,
	})
	if err != nil {
		return err
	}
	step("session.create({Name, TTL: 30s}) -> %s", id)

	info, _, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	step("session.info(%s) -> node %s, TTL %s, behavior %s", id[:8], info.Node, info.TTL, info.Behavior)

	renewed, err := s.Renew(ctx, id)
	if err != nil {
		return err
	}
	step("session.renew(%s) -> TTL %s", id[:8], renewed.TTL)

	key := t.prefix + "/lock"
	locked, err := t.client.KV.Acquire(ctx, key, []byte("held"), id)
	if err != nil {
		return err
	}
	pair, _, err := t.client.KV.Get(ctx, key)
	if err != nil {
		return err
	}
	step("kv.lock(%q, session) -> %v; the key's Session is %s", key, locked, pair.Session[:8])

	unlocked, err := t.client.KV.Release(ctx, key, []byte("free"), id)
	if err != nil {
		return err
	}
	step("kv.unlock(%q, session) -> %v", key, unlocked)

	list, _, err := s.List(ctx)
	if err != nil {
		return err
	}
	step("session.items() -> %d session(s)", len(list))
	onNode, _, err := s.ListByNode(ctx, info.Node)
	if err != nil {
		return err
	}
	step("session.node(%q) -> %d session(s)", info.Node, len(onNode))

	if err := s.Destroy(ctx, id); err != nil {
		return err
	}
	gone, _, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	step("session.destroy(%s); session.info now -> %v", id[:8], gone)
	return t.client.KV.DeleteTree(ctx, t.prefix+"/")
}
