package main

import (
	"context"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/concurrency"
)

// tourWatch follows aioconsul's blocking queries (the watch=(meta, "30s")
// parameter), then the loop, lock, election and cache built on them.
func tourWatch(ctx context.Context, t *tourEnv) error {
	kv := t.client.KV
	key := t.prefix + "/watched"
	if err := kv.Put(ctx, key, []byte("v1")); err != nil {
		return err
	}
	_, meta, err := kv.Get(ctx, key)
	if err != nil {
		return err
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		_ = kv.Put(ctx, key, []byte("v2"))
	}()
	start := time.Now()
	pair, meta2, err := kv.Get(ctx, key, consul.WaitIndex(meta.Index), consul.WaitTime(30*time.Second))
	if err != nil {
		return err
	}
	step("kv.get(%q, watch=(meta, \"30s\")) blocked %s -> %q (index %d -> %d)",
		key, time.Since(start).Round(10*time.Millisecond), pair.Value, meta.Index, meta2.Index)

	// The loop: consul.Watch keeps the index, backs off on errors and
	// yields each new value.
	go func() {
		for _, v := range []string{"v3", "v4"} {
			time.Sleep(150 * time.Millisecond)
			_ = kv.Put(ctx, key, []byte(v))
		}
	}()
	for u, err := range consul.Watch(ctx, consul.Bind(kv.Get, key), consul.WatchDistinct()) {
		if err != nil {
			return err
		}
		step("consul.Watch(Bind(kv.Get, %q)) -> %q at index %d", key, u.Value.Value, u.Meta.Index)
		if string(u.Value.Value) == "v4" {
			break
		}
	}

	// A lock held by a session renewed in the background.
	opts := &concurrency.LockOptions{SessionOptions: &concurrency.SessionOptions{TTL: 10 * time.Second, LockDelay: consul.NoLockDelay}}
	lock, err := concurrency.NewLock(t.client, t.prefix+"/lock", opts)
	if err != nil {
		return err
	}
	held, err := lock.Lock(ctx)
	if err != nil {
		return err
	}
	other, _ := concurrency.NewLock(t.client, t.prefix+"/lock", opts)
	_, tryErr := other.TryLock(ctx)
	step("lock.Lock() held; another TryLock -> %v", tryErr)
	if err := lock.Unlock(ctx); err != nil {
		return err
	}
	step("lock.Unlock(): the lock's context ended: %v", held.Err())

	// An election.
	e, err := concurrency.NewElection(t.client, t.prefix+"/leader", opts)
	if err != nil {
		return err
	}
	if _, err := e.Campaign(ctx, []byte("tour-node")); err != nil {
		return err
	}
	leader, _, err := e.Leader(ctx)
	if err != nil {
		return err
	}
	step("election.Campaign(\"tour-node\") -> leader %s (session %s)", leader.Value, leader.Session[:8])
	if err := e.Resign(ctx); err != nil {
		return err
	}
	leader, _, _ = e.Leader(ctx)
	step("election.Resign() -> leader now %v", leader)

	// A cache of a KV prefix, kept fresh by one watch.
	cache, err := consul.NewKVCache(ctx, t.client, t.prefix+"/")
	if err != nil {
		return err
	}
	defer cache.Close()
	if err := cache.WaitReady(ctx); err != nil {
		return err
	}
	p, _ := cache.Get(key)
	pairs, _, _ := cache.Snapshot()
	step("NewKVCache(%q): %d keys in memory; %s = %q", t.prefix+"/", len(pairs), key, p.Value)
	return kv.DeleteTree(ctx, t.prefix+"/")
}
