package consul

import (
	"context"
	"errors"
	"iter"
	"net"
	"strconv"
	"strings"
	"sync"
)

// errCacheClosed is WaitReady's error for a cache closed before its first
// value.
var errCacheClosed = errors.New("consul: cache closed before its first value")

// Cache keeps the answer of a blocking read fresh in memory with one
// watch (see Watch for the loop's rules), for readers that want the
// current value without a request: a service's healthy instances, a
// configuration prefix.
//
// While Consul is unreachable or has no leader, the cache keeps serving
// the last value it got (last-known-good) and Err reports the failure; it
// catches up once requests succeed again. Only a permanent error (a 4xx
// other than 429, e.g. a token without the permission) stops it.
//
//	cache := consul.NewCache(ctx, consul.Bind(client.KV.List, "app/config/"))
//	defer cache.Close()
//	if err := cache.WaitReady(ctx); err != nil { ... }
//	pairs, meta, _ := cache.Snapshot()
//
// Its methods are safe for concurrent use.
type Cache[T any] struct {
	hub    *watchHub[T]
	cancel context.CancelFunc
}

// NewCache starts keeping read's answer fresh, until ctx ends or Close is
// called. opts tune the watch (WatchDistinct makes Subscribe skip answers
// whose value did not change).
func NewCache[T any](ctx context.Context, read BlockingRead[T], opts ...WatchOption) *Cache[T] {
	cctx, cancel := context.WithCancel(ctx)
	c := &Cache[T]{hub: newWatchHub[T](), cancel: cancel}
	cfg := newWatchConfig(opts)
	go c.hub.run(cctx, read, &cfg)
	return c
}

// WaitReady waits until the cache holds a first value. It returns nil
// then, ctx's error if ctx ends first, or the error that stopped the cache
// before its first value.
func (c *Cache[T]) WaitReady(ctx context.Context) error {
	if c.zero() {
		return errCacheClosed
	}
	select {
	case <-c.hub.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	h := c.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.curVer > 0:
		return nil
	case h.endErr != nil:
		return h.endErr
	}
	return errCacheClosed
}

// Snapshot returns the last value read, with its Meta, and whether there
// is one yet (never for a nil or zero Cache). The value is shared with other readers: do not modify it.
func (c *Cache[T]) Snapshot() (T, *Meta, bool) {
	if c.zero() {
		var zero T
		return zero, nil, false
	}
	h := c.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur.Value, h.cur.Meta, h.curVer > 0
}

// Err returns the error of the latest request if it failed (the cache then
// serves older data), nil once a request succeeds again.
func (c *Cache[T]) Err() error {
	if c.zero() {
		return nil
	}
	h := c.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// Subscribe yields the current value at once, if there is one, then each
// change, and the errors of the loop as they happen, until ctx ends, the
// caller breaks or the cache stops. A slow subscriber skips to the latest
// value. Subscribing starts no goroutine and sends nothing.
func (c *Cache[T]) Subscribe(ctx context.Context) iter.Seq2[WatchUpdate[T], error] {
	return func(yield func(WatchUpdate[T], error) bool) {
		if c.zero() {
			return // never started: nothing will come
		}
		c.hub.subscribe(ctx, yield)
	}
}

// Close stops the cache's watch and waits until its goroutine has exited.
// Snapshot keeps returning the last value.
func (c *Cache[T]) Close() {
	if c.zero() || c.cancel == nil {
		return // nil, or never started: nothing to stop
	}
	c.cancel()
	<-c.hub.done
}

// zero reports whether c is nil or a zero value, not made by NewCache (or
// NewKVCache, NewHealthCache): it has no watch, and never a value. Its
// methods then act as those of a cache closed before its first value.
func (c *Cache[T]) zero() bool { return c == nil || c.hub == nil }

// version is the number of values the cache has had.
func (c *Cache[T]) version() uint64 {
	if c.zero() {
		return 0
	}
	c.hub.mu.Lock()
	defer c.hub.mu.Unlock()
	return c.hub.curVer
}

// KVCache is a Cache of every pair under a KV prefix (GET
// /v1/kv/:prefix?recurse), with lookups by key.
type KVCache struct {
	*Cache[[]*KVPair]

	mu     sync.Mutex
	ver    uint64
	byKey  map[string]*KVPair
	prefix string
}

// NewKVCache starts a cache of the pairs under prefix (an empty prefix is
// the whole store). opts may add read options, e.g.
// WatchRequestOptions(Stale()) to keep being served by any server while there
// is no leader.
func NewKVCache(ctx context.Context, client *Client, prefix string, opts ...WatchOption) (*KVCache, error) {
	if client == nil {
		return nil, argError("client", "nil")
	}
	if err := checkKey("prefix", prefix, true); err != nil {
		return nil, err
	}
	return &KVCache{Cache: NewCache(ctx, Bind(client.KV.List, prefix), withClientLogger(client, opts)...), prefix: prefix}, nil
}

// Prefix returns the cached prefix.
func (c *KVCache) Prefix() string {
	if c == nil {
		return ""
	}
	return c.prefix
}

// Get returns the cached pair of key, and whether it is there.
func (c *KVCache) Get(key string) (*KVPair, bool) {
	if c == nil || c.Cache.zero() || !strings.HasPrefix(key, c.prefix) {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// version before Snapshot: a value newer than ver is rebuilt next time.
	if v := c.version(); v != c.ver || c.byKey == nil {
		pairs, _, _ := c.Snapshot()
		c.byKey = make(map[string]*KVPair, len(pairs))
		for _, p := range pairs {
			c.byKey[p.Key] = p
		}
		c.ver = v
	}
	p, ok := c.byKey[key]
	return p, ok
}

// HealthCacheQuery selects the instances a HealthCache keeps.
type HealthCacheQuery struct {
	// Service is the service's name. Required.
	Service string
	// Tags keeps only the instances that have every one of these tags.
	Tags []string
	// PassingOnly keeps only the instances whose checks all pass.
	PassingOnly bool
}

// HealthCache is a Cache of a service's instances with their health (GET
// /v1/health/service/:service), for load balancers and clients that pick an
// instance per call without a request.
type HealthCache struct {
	*Cache[[]*ServiceEntry]
	query HealthCacheQuery
}

// NewHealthCache starts a cache of the instances of q.Service. opts may add
// read options (WatchRequestOptions(Stale()) lets any server answer while
// there is no leader; WatchRequestOptions(Cached()) uses the agent's cache).
func NewHealthCache(ctx context.Context, client *Client, q HealthCacheQuery, opts ...WatchOption) (*HealthCache, error) {
	if client == nil {
		return nil, argError("client", "nil")
	}
	if q.Service == "" {
		return nil, argError("HealthCacheQuery.Service", "empty")
	}
	ropts := make([]Option, 0, len(q.Tags)+1)
	for _, t := range q.Tags {
		ropts = append(ropts, Tag(t))
	}
	if q.PassingOnly {
		ropts = append(ropts, Passing())
	}
	q.Tags = append([]string(nil), q.Tags...)
	return &HealthCache{Cache: NewCache(ctx, Bind(client.Health.ListServiceInstances, q.Service, ropts...), withClientLogger(client, opts)...), query: q}, nil
}

// Query returns what the cache selects.
func (c *HealthCache) Query() HealthCacheQuery {
	if c == nil {
		return HealthCacheQuery{}
	}
	return c.query
}

// Addresses returns the "host:port" of each cached instance: the service's
// address, or its node's when the service has none.
func (c *HealthCache) Addresses() []string {
	if c == nil {
		return []string{}
	}
	entries, _, _ := c.Snapshot()
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		if e == nil || e.Service == nil {
			continue
		}
		host := e.Service.Address
		if host == "" && e.Node != nil {
			host = e.Node.Address
		}
		out = append(out, net.JoinHostPort(host, strconv.Itoa(e.Service.Port)))
	}
	return out
}

// withClientLogger puts the client's logger before opts, so that a
// WatchLogger among opts still wins.
func withClientLogger(c *Client, opts []WatchOption) []WatchOption {
	if c.logger == nil {
		return opts
	}
	return append([]WatchOption{WatchLogger(c.logger)}, opts...)
}
