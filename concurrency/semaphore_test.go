package concurrency_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/concurrency"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSemaphoreLimit(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	prefix := uniq(t, "sem")
	name := uniq(t, "s")

	const workers, rounds, limit = 10, 3, 3
	var inside, most atomic.Int32
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := concurrency.NewSemaphore(c, prefix, limit, testOpts(name))
			if !assert.NoError(t, err) {
				return
			}
			for r := 0; r < rounds; r++ {
				held, err := s.Acquire(ctx)
				if !assert.NoError(t, err) {
					return
				}
				n := inside.Add(1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				assert.Equal(t, s.Prefix()+s.Session(), s.Key())
				assert.NotZero(t, s.Index())
				time.Sleep(30 * time.Millisecond)
				assert.NoError(t, held.Err())
				inside.Add(-1)
				if !assert.NoError(t, s.Release(ctx)) {
					return
				}
			}
		}()
	}
	wg.Wait()
	require.LessOrEqual(t, most.Load(), int32(limit), "a 4th holder was admitted")
	require.GreaterOrEqual(t, most.Load(), int32(2), "the semaphore admits several holders")
	t.Logf("%d acquisitions by %d workers, limit %d: at most %d at once, %s", workers*rounds, workers, limit, most.Load(), time.Since(start))

	// Everything is cleaned up: no holder left, no contender key, no session.
	pair, _, err := c.KV.Get(ctx, prefix+"/.lock")
	require.NoError(t, err)
	require.Equal(t, concurrency.SemaphoreFlags, pair.Flags)
	var st struct {
		Limit   int
		Holders map[string]bool
	}
	require.NoError(t, json.Unmarshal(pair.Value, &st))
	require.Equal(t, limit, st.Limit)
	require.Empty(t, st.Holders)
	keys, _, err := c.KV.ListKeys(ctx, prefix+"/")
	require.NoError(t, err)
	require.Equal(t, []string{prefix + "/.lock"}, keys)
	require.Zero(t, sessionsNamed(t, c, name))
}

func TestSemaphoreTryAcquireLostAndLimitMismatch(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	prefix := uniq(t, "sem")
	opts := testOpts(uniq(t, "s"))
	a, err := concurrency.NewSemaphore(c, prefix, 1, opts)
	require.NoError(t, err)
	b, err := concurrency.NewSemaphore(c, prefix, 1, opts)
	require.NoError(t, err)
	heldA, err := a.TryAcquire(ctx)
	require.NoError(t, err)
	_, err = a.TryAcquire(ctx)
	require.ErrorIs(t, err, concurrency.ErrBusy)
	held, err := b.TryAcquire(ctx)
	require.Nil(t, held)
	require.ErrorIs(t, err, concurrency.ErrLockHeld)

	other, err := concurrency.NewSemaphore(c, prefix, 2, opts)
	require.NoError(t, err)
	held, err = other.Acquire(ctx)
	require.Nil(t, held)
	var ae *consul.ArgumentError
	require.ErrorAs(t, err, &ae, "a different limit is refused")

	// a's session dies: its slot is lost, and b takes it (the dead holder is
	// pruned).
	keys, _, err := c.KV.ListKeys(ctx, prefix+"/")
	require.NoError(t, err)
	var sid string
	for _, k := range keys {
		if k != prefix+"/.lock" {
			sid = strings.TrimPrefix(k, prefix+"/")
		}
	}
	require.Equal(t, a.Session(), sid, "only a's contender key is left")
	require.NoError(t, c.Session.Destroy(ctx, sid))
	waitDone(t, heldA, 5*time.Second, "the slot was not seen lost")
	require.ErrorIs(t, context.Cause(heldA), concurrency.ErrLockLost)
	heldB, err := b.Acquire(ctx)
	require.NoError(t, err)
	require.NoError(t, heldB.Err())
	require.NoError(t, a.Release(ctx))
	require.NoError(t, b.Release(ctx))
	require.ErrorIs(t, b.Release(ctx), concurrency.ErrLockNotHeld)
}

func TestSemaphoreContenderWaitsFiveTTLs(t *testing.T) {
	t.Parallel()
	testContenderWaitsFiveTTLs(t, kindSemaphore)
}
