package consul_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// limitsAgent is an agent of its own with Consul's default connection
// limit (limits.http_max_conns_per_client = 200), so that no other test's
// connections count.
func limitsAgent(t *testing.T) *consultest.Server {
	t.Helper()
	return consultest.NewServer(t, consultest.Config{})
}

// One client under default settings, used by 200 goroutines mixing reads,
// writes and watches for 10 seconds, never exceeds the agent's default
// per-client connection limit: not one error.
func TestConnectionLimitUnderMixedLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("10s of load")
	}
	srv := limitsAgent(t)
	c := newClient(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	const workers = 200
	var ops, errs atomic.Int64
	var firstErr atomic.Value
	fail := func(err error) {
		if ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return // the run ended mid-call
		}
		errs.Add(1)
		firstErr.CompareAndSwap(nil, err.Error())
	}
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := "limits/k" + strconv.Itoa(i%50)
			switch i % 4 {
			case 0: // a watcher of its own key: a long blocking read
				for _, err := range consul.Watch(ctx, consul.Bind(c.KV.Get, key), consul.WatchWait(2*time.Second), consul.WatchMinInterval(0)) {
					if err != nil {
						fail(err)
						continue
					}
					ops.Add(1)
				}
			case 1: // a writer
				for n := 0; ctx.Err() == nil; n++ {
					if err := c.KV.Put(ctx, key, []byte(strconv.Itoa(n))); err != nil {
						fail(err)
						continue
					}
					ops.Add(1)
				}
			default: // readers
				for ctx.Err() == nil {
					var err error
					if i%8 == 2 {
						_, _, err = c.Catalog.ListServices(ctx)
					} else {
						_, _, err = c.KV.Get(ctx, key)
					}
					if err != nil {
						fail(err)
						continue
					}
					ops.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d operations, %d errors in 10s from %d goroutines", ops.Load(), errs.Load(), workers)
	require.Zero(t, errs.Load(), "first error: %v", firstErr.Load())
	require.Greater(t, ops.Load(), int64(workers))
}

// Long blocking reads cannot starve other calls: with more blocking reads
// in flight than the agent admits connections, a plain read still goes
// through at once, and no blocking read is refused by the agent.
func TestBlockingReadsDoNotStarveOtherCalls(t *testing.T) {
	srv := limitsAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	require.NoError(t, c.KV.Put(ctx, "starve/k", []byte("v")))
	_, meta, err := c.KV.Get(ctx, "starve/k")
	require.NoError(t, err)

	bctx, cancel := context.WithCancel(ctx)
	const blockers = 300
	var started, refused atomic.Int64
	var wg sync.WaitGroup
	for range blockers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Add(1)
			_, _, err := c.KV.Get(bctx, "starve/k", consul.WaitIndex(meta.Index), consul.WaitTime(30*time.Second))
			if err != nil && bctx.Err() == nil {
				refused.Add(1)
			}
		}()
	}
	for started.Load() < blockers {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Second) // let the blocking reads take their connections

	for i := range 20 {
		start := time.Now()
		pair, _, err := c.KV.Get(ctx, "starve/k")
		require.NoError(t, err, "read %d", i)
		require.NotNil(t, pair)
		assert.Less(t, time.Since(start), 2*time.Second, "read %d waited behind the blocking reads", i)
		_, _, err = c.Status.Leader(ctx)
		require.NoError(t, err)
	}
	// A write wakes every blocking read; none was refused by the agent.
	require.NoError(t, c.KV.Put(ctx, "starve/k", []byte("w")))
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Error("blocking reads still waiting 20s after the write")
	}
	cancel()
	<-done
	assert.Zero(t, refused.Load(), "blocking reads refused (the agent's connection limit)")
}
