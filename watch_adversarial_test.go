package consul_test

import (
	"context"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/require"
)

// TestCacheAndWatchGroupZeroValuesDoNotPanic: a nil or zero Cache, KVCache
// or HealthCache acts as a cache closed before its first value, and a
// zero WatchGroup (or one without a read function) yields an
// *ArgumentError; none panics or hangs.
func TestCacheAndWatchGroupZeroValuesDoNotPanic(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	for _, c := range []*consul.Cache[[]*consul.KVPair]{nil, {}} {
		v, meta, ok := c.Snapshot()
		require.Nil(t, v)
		require.Nil(t, meta)
		require.False(t, ok)
		require.NoError(t, c.Err())
		require.Error(t, c.WaitReady(ctx))
		n := 0
		for range c.Subscribe(ctx) {
			n++
		}
		require.Zero(t, n)
		c.Close()
		c.Close()
	}

	kv := &consul.KVCache{}
	p, ok := kv.Get("a")
	require.Nil(t, p)
	require.False(t, ok)
	require.Empty(t, kv.Prefix())
	kv.Close()
	var nilKV *consul.KVCache
	_, ok = nilKV.Get("a")
	require.False(t, ok)

	hc := &consul.HealthCache{}
	require.Empty(t, hc.Addresses())
	require.Empty(t, hc.Query().Service)
	hc.Close()

	var argErr *consul.ArgumentError
	groups := []*consul.WatchGroup[string, int]{nil, {}, consul.NewWatchGroup[string, int](nil)}
	for _, g := range groups {
		require.Zero(t, g.Len())
		n := 0
		for _, err := range g.Watch(ctx, "k") {
			require.ErrorAs(t, err, &argErr)
			n++
		}
		require.Equal(t, 1, n, "the error is yielded once, and the watch ends")
		require.Zero(t, g.Len())
	}
}
