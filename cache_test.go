package consul_test

import (
	"context"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/require"
)

func TestKVCacheWire(t *testing.T) {
	w, c := newWire(t,
		reply{Header: map[string]string{"X-Consul-Index": "9"}, Body: `[{"Key":"p/a","ModifyIndex":8,"Value":"YQ=="},{"Key":"p/b","ModifyIndex":9,"Value":"Yg=="}]`},
		reply{Status: 403, Body: "Permission denied"})
	cache, err := consul.NewKVCache(testCtx(t), c, "p/", watchTestFast...)
	require.NoError(t, err)
	defer cache.Close()
	require.NoError(t, cache.WaitReady(testCtx(t)))
	pairs, meta, ok := cache.Snapshot()
	require.True(t, ok)
	require.Len(t, pairs, 2)
	require.Equal(t, uint64(9), meta.Index)
	b, ok := cache.Get("p/b")
	require.True(t, ok)
	require.Equal(t, "b", string(b.Value))
	_, ok = cache.Get("p/c")
	require.False(t, ok)
	_, ok = cache.Get("q/a")
	require.False(t, ok)

	// The 403 is permanent: the cache stops, keeping its data.
	for cache.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	require.ErrorIs(t, cache.Err(), consul.ErrPermissionDenied)
	pairs, _, ok = cache.Snapshot()
	require.True(t, ok)
	require.Len(t, pairs, 2)
	reqs := w.requests()
	require.Len(t, reqs, 2)
	reqs[0].expect(t, "GET", "/v1/kv/p/", q("recurse", ""))
	reqs[1].expect(t, "GET", "/v1/kv/p/", q("recurse", "", "index", "9", "wait", "1s"))

	_, err = consul.NewKVCache(testCtx(t), c, "/p", watchTestFast...)
	var ae *consul.ArgumentError
	require.ErrorAs(t, err, &ae)
}

func TestCacheWaitReadyErrors(t *testing.T) {
	_, c := newWire(t, reply{Status: 403, Body: "Permission denied"})
	cache := consul.NewCache(testCtx(t), consul.Bind(c.KV.List, "p/"), watchTestFast...)
	require.ErrorIs(t, cache.WaitReady(testCtx(t)), consul.ErrPermissionDenied)
	_, _, ok := cache.Snapshot()
	require.False(t, ok)
	cache.Close()

	// A cache closed before its first value; a WaitReady ctx that ends.
	_, c = newWire(t, reply{Status: 500})
	cache = consul.NewCache(testCtx(t), consul.Bind(c.KV.List, "p/"), consul.WatchBackoff(time.Hour, time.Hour))
	short, cancel := context.WithTimeout(testCtx(t), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, cache.WaitReady(short), context.DeadlineExceeded)
	cache.Close()
	require.Error(t, cache.WaitReady(testCtx(t)))
}

func TestKVCacheServesLastKnownGoodWhileAgentDown(t *testing.T) {
	srv := consultest.NewServer(t, consultest.Config{})
	tr := &http.Transport{}
	c := newClient(t, srv, consul.Config{Transport: tr})
	ctx := testCtx(t)
	prefix := uniq(t, "cfg") + "/"
	require.NoError(t, c.KV.Put(ctx, prefix+"a", []byte("1")))
	require.NoError(t, c.KV.Put(ctx, prefix+"b", []byte("2")))
	tr.CloseIdleConnections()
	before := runtime.NumGoroutine()

	cache, err := consul.NewKVCache(ctx, c, prefix,
		consul.WatchWait(5*time.Second), consul.WatchBackoff(100*time.Millisecond, 300*time.Millisecond))
	require.NoError(t, err)
	require.NoError(t, cache.WaitReady(ctx))
	pairs, _, _ := cache.Snapshot()
	require.Len(t, pairs, 2)

	// Subscribers see the changes.
	sctx, sstop := context.WithCancel(ctx)
	defer sstop()
	updates := make(chan []*consul.KVPair, 16)
	go func() {
		for u, err := range cache.Subscribe(sctx) {
			if err == nil {
				updates <- u.Value
			}
		}
		close(updates)
	}()
	require.Len(t, <-updates, 2, "the current value at once")

	require.NoError(t, srv.Stop())
	deadline := time.Now().Add(10 * time.Second)
	for cache.Err() == nil {
		require.True(t, time.Now().Before(deadline), "the failure is reported")
		time.Sleep(20 * time.Millisecond)
	}
	// Last-known-good data while the agent is down.
	pairs, _, ok := cache.Snapshot()
	require.True(t, ok)
	require.Len(t, pairs, 2)
	a, ok := cache.Get(prefix + "a")
	require.True(t, ok)
	require.Equal(t, "1", string(a.Value))

	require.NoError(t, srv.Start())
	deadline = time.Now().Add(30 * time.Second)
	for {
		if err := c.KV.Put(ctx, prefix+"c", []byte("3")); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "agent back")
		time.Sleep(100 * time.Millisecond)
	}
	// It catches up.
	for {
		select {
		case v := <-updates:
			if len(v) < 3 {
				continue
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the cache did not catch up")
		}
		break
	}
	cv, ok := cache.Get(prefix + "c")
	require.True(t, ok)
	require.Equal(t, "3", string(cv.Value))
	require.NoError(t, cache.Err())

	sstop()
	for range updates {
	}
	cache.Close()
	tr.CloseIdleConnections()
	watchTestSettle(t, before)
}

func TestHealthCache(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	svc := uniq(t, "api")
	n1, n2 := uniq(t, "n1"), uniq(t, "n2")
	watchTestRegister(t, c, n1, svc, []string{"v2"}, consul.HealthPassing)
	watchTestRegister(t, c, n2, svc, []string{"v2"}, consul.HealthPassing)

	cache, err := consul.NewHealthCache(ctx, c, consul.HealthCacheQuery{Service: svc, Tags: []string{"v2"}, PassingOnly: true})
	require.NoError(t, err)
	defer cache.Close()
	require.NoError(t, cache.WaitReady(ctx))
	require.Equal(t, []string{"127.0.0.1:8080", "127.0.0.1:8080"}, cache.Addresses())

	// n2's check goes critical: it leaves the passing-only cache.
	watchTestRegister(t, c, n2, svc, []string{"v2"}, consul.HealthCritical)
	deadline := time.Now().Add(10 * time.Second)
	for {
		entries, _, _ := cache.Snapshot()
		if len(entries) == 1 {
			require.Equal(t, n1, entries[0].Node.Node)
			break
		}
		require.True(t, time.Now().Before(deadline), "the cache did not drop the critical instance")
		time.Sleep(20 * time.Millisecond)
	}
	require.Equal(t, svc, cache.Query().Service)

	_, err = consul.NewHealthCache(ctx, c, consul.HealthCacheQuery{})
	var ae *consul.ArgumentError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "HealthCacheQuery.Service", ae.Arg)
}

func TestHealthCacheWire(t *testing.T) {
	w, c := newWire(t, reply{Header: map[string]string{"X-Consul-Index": "3"},
		Body: `[{"Node":{"Node":"n1","Address":"10.0.0.1"},"Service":{"ID":"web1","Service":"web","Port":80},"Checks":[]},
		        {"Node":{"Node":"n2","Address":"10.0.0.2"},"Service":{"ID":"web2","Service":"web","Address":"10.1.0.2","Port":81},"Checks":[]}]`})
	cache, err := consul.NewHealthCache(testCtx(t), c, consul.HealthCacheQuery{Service: "web", Tags: []string{"a", "b"}, PassingOnly: true}, watchTestFast...)
	require.NoError(t, err)
	defer cache.Close()
	require.NoError(t, cache.WaitReady(testCtx(t)))
	require.Equal(t, []string{"10.0.0.1:80", "10.1.0.2:81"}, cache.Addresses())
	w.requests()[0].expect(t, "GET", "/v1/health/service/web", q("tag", "a", "tag", "b", "passing", ""))
}
