package consul_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lockTestOpts are fast lock options for tests: short TTL and waits, no
// lock-delay.
func lockTestOpts(name string) *consul.LockOptions {
	return &consul.LockOptions{
		SessionName:   name,
		SessionTTL:    10 * time.Second,
		LockDelay:     consul.NoLockDelay,
		WaitTime:      5 * time.Second,
		RetryInterval: 100 * time.Millisecond,
	}
}

// lockTestSessionsNamed counts the sessions with this name.
func lockTestSessionsNamed(t *testing.T, c *consul.Client, name string) int {
	t.Helper()
	list, _, err := c.Session.List(testCtx(t))
	require.NoError(t, err)
	n := 0
	for _, s := range list {
		if s.Name == name {
			n++
		}
	}
	return n
}

func TestLockBadInput(t *testing.T) {
	w, c := newWire(t)
	_, err := consul.NewLock(c, "", nil)
	var ae *consul.ArgumentError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "key", ae.Arg)
	_, err = consul.NewLock(c, "k", &consul.LockOptions{SessionTTL: -time.Second})
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "LockOptions.SessionTTL", ae.Arg)
	_, err = consul.NewSemaphore(c, "p", 0, nil)
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "limit", ae.Arg)
	_, err = consul.NewElection(c, "/k", nil)
	require.ErrorAs(t, err, &ae)
	l, err := consul.NewLock(c, "k", nil)
	require.NoError(t, err)
	require.ErrorIs(t, l.Unlock(testCtx(t)), consul.ErrLockNotHeld)
	w.noRequest(t)
}

func TestLockWire(t *testing.T) {
	// What Lock sends: a session with the options' TTL, lock-delay and
	// behavior, a read of the key, then the acquire.
	w, c := newWire(t,
		reply{Body: `{"ID":"adf4238a-882b-9ddc-4a9d-5b6758e4159e"}`},
		reply{Status: 404, Header: map[string]string{"X-Consul-Index": "5"}},
		reply{Body: "false"}, // refused: another session won the race
		reply{Header: map[string]string{"X-Consul-Index": "6"}, Body: `[{"Key":"k","ModifyIndex":6,"LockIndex":1,"Session":"other"}]`},
		reply{Status: 500, Body: "stop here"},
		reply{Status: 200}, // the session destroy
	)
	l, err := consul.NewLock(c, "k", &consul.LockOptions{Value: []byte("me"), SessionName: "n", SessionTTL: 20 * time.Second, LockDelay: 3 * time.Second, WaitTime: 2 * time.Second})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	held, err := l.Lock(ctx)
	require.Nil(t, held, "never a context with an error")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	reqs := w.requests()
	require.GreaterOrEqual(t, len(reqs), 6)
	reqs[0].expect(t, "PUT", "/v1/session/create", nil)
	require.JSONEq(t, `{"Name":"n","LockDelay":"3s","Behavior":"release","TTL":"20s"}`, reqs[0].Body)
	reqs[1].expect(t, "GET", "/v1/kv/k", nil)
	reqs[2].expect(t, "PUT", "/v1/kv/k", q("acquire", "adf4238a-882b-9ddc-4a9d-5b6758e4159e"))
	require.Equal(t, "me", reqs[2].Body)
	reqs[3].expect(t, "GET", "/v1/kv/k", nil) // refused: read again at once
	reqs[4].expect(t, "GET", "/v1/kv/k", q("index", "6", "wait", "2s"))
	last := reqs[len(reqs)-1]
	last.expect(t, "PUT", "/v1/session/destroy/adf4238a-882b-9ddc-4a9d-5b6758e4159e", nil)
}

func TestLockContention(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key := uniq(t, "lock")
	name := uniq(t, "s")

	const workers, rounds = 8, 25
	var inside atomic.Int32
	var counter atomic.Int64 // read then written: lost updates if two overlap
	var overlaps atomic.Int32
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := consul.NewLock(c, key, lockTestOpts(name))
			if !assert.NoError(t, err) {
				return
			}
			for r := 0; r < rounds; r++ {
				held, err := l.Lock(ctx)
				if !assert.NoError(t, err) {
					return
				}
				if !inside.CompareAndSwap(0, 1) {
					overlaps.Add(1)
				}
				v := counter.Load()
				time.Sleep(time.Millisecond)
				counter.Store(v + 1)
				assert.NoError(t, held.Err(), "the lock was lost while held")
				inside.Store(0)
				if !assert.NoError(t, l.Unlock(ctx)) {
					return
				}
				assert.Error(t, held.Err(), "Unlock ends the lock's context")
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	require.Zero(t, overlaps.Load(), "two holders at once")
	require.Equal(t, int64(workers*rounds), counter.Load())
	require.Zero(t, lockTestSessionsNamed(t, c, name), "every session is destroyed on unlock")
	t.Logf("%d lock/increment/unlock rounds by %d contenders took %s (%s per round)", workers*rounds, workers, elapsed, elapsed/(workers*rounds))
}

func TestLockLostWhenSessionDestroyed(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	key := uniq(t, "lock")
	opts := lockTestOpts(uniq(t, "s"))
	opts.SessionTTL = 2 * time.Second
	l, err := consul.NewLock(c, key, opts)
	require.NoError(t, err)
	held, err := l.Lock(ctx)
	require.NoError(t, err)
	pair, _, err := c.KV.Get(ctx, key)
	require.NoError(t, err)
	require.NotEmpty(t, pair.Session)

	// Renewal keeps it past its TTL.
	time.Sleep(3 * time.Second)
	require.NoError(t, held.Err(), "the session is renewed in the background")

	require.NoError(t, c.Session.Destroy(ctx, pair.Session))
	select {
	case <-held.Done():
	case <-time.After(opts.SessionTTL):
		t.Fatal("the lock's context did not end within the session's TTL")
	}
	require.ErrorIs(t, context.Cause(held), consul.ErrLockLost)
	require.NoError(t, l.Unlock(ctx), "unlocking a lost lock only cleans up")
	// It can be locked again.
	held, err = l.Lock(ctx)
	require.NoError(t, err)
	require.NoError(t, l.Unlock(ctx))
	require.ErrorIs(t, context.Cause(held), context.Canceled)
}

func TestLockTryLockAndAbort(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	key := uniq(t, "lock")
	name := uniq(t, "s")
	a, err := consul.NewLock(c, key, lockTestOpts(name))
	require.NoError(t, err)
	b, err := consul.NewLock(c, key, lockTestOpts(name))
	require.NoError(t, err)

	_, err = a.TryLock(ctx)
	require.NoError(t, err)
	_, err = a.Lock(ctx)
	require.Error(t, err, "a Lock holds once")

	held, err := b.TryLock(ctx)
	require.Nil(t, held)
	require.ErrorIs(t, err, consul.ErrLockHeld)

	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	held, err = b.Lock(short)
	require.Nil(t, held, "never (nil, nil) on abort")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, 1, lockTestSessionsNamed(t, c, name), "the aborted attempt's session is destroyed")

	require.NoError(t, a.Unlock(ctx))
	held, err = b.TryLock(ctx)
	require.NoError(t, err)
	require.NotNil(t, held)
	require.NoError(t, b.Unlock(ctx))
	require.Zero(t, lockTestSessionsNamed(t, c, name))
}

func TestLockDelayRespected(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	key := uniq(t, "lock")
	opts := lockTestOpts(uniq(t, "s"))
	opts.LockDelay = 2 * time.Second
	a, err := consul.NewLock(c, key, opts)
	require.NoError(t, err)
	b, err := consul.NewLock(c, key, opts)
	require.NoError(t, err)
	heldA, err := a.Lock(ctx)
	require.NoError(t, err)
	pair, _, err := c.KV.Get(ctx, key)
	require.NoError(t, err)

	// Invalidating the holder's session starts the lock-delay: nobody gets
	// the key before it ends, and b gets it soon after.
	require.NoError(t, c.Session.Destroy(ctx, pair.Session))
	destroyed := time.Now()
	heldB, err := b.Lock(ctx)
	require.NoError(t, err)
	waited := time.Since(destroyed)
	<-heldA.Done()
	require.GreaterOrEqual(t, waited, 1500*time.Millisecond, "acquired during the lock-delay")
	require.Less(t, waited, 2*time.Second+2*opts.RetryInterval+time.Second)
	require.NoError(t, heldB.Err())
	require.NoError(t, a.Unlock(ctx))
	require.NoError(t, b.Unlock(ctx))
	t.Logf("acquired %s after the holder's session was destroyed (lock-delay 2s)", waited)
}

func TestLockExistingSession(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	sid, err := c.Session.Create(ctx, &consul.SessionEntry{TTL: 10 * time.Second, LockDelay: consul.NoLockDelay})
	require.NoError(t, err)
	defer c.Session.Destroy(ctx, sid)
	key := uniq(t, "lock")
	l, err := consul.NewLock(c, key, &consul.LockOptions{Session: sid, Value: []byte("v")})
	require.NoError(t, err)
	_, err = l.Lock(ctx)
	require.NoError(t, err)
	pair, _, err := c.KV.Get(ctx, key)
	require.NoError(t, err)
	require.Equal(t, sid, pair.Session)
	require.Equal(t, "v", string(pair.Value))
	require.NoError(t, l.Unlock(ctx))
	info, _, err := c.Session.Get(ctx, sid)
	require.NoError(t, err)
	require.NotNil(t, info, "a given session is not destroyed")
	pair, _, err = c.KV.Get(ctx, key)
	require.NoError(t, err)
	require.Empty(t, pair.Session)
	require.False(t, errors.Is(nil, consul.ErrLockLost))
}

func TestLockLostWhenAgentUnreachable(t *testing.T) {
	// The holder cannot renew its session while its agent is down: it
	// gives the lock up once the TTL has passed since its last renewal,
	// before Consul (which waits twice the TTL) could hand it to another.
	srv := consultest.NewServer(t, consultest.Config{})
	c := newClient(t, srv)
	ctx := testCtx(t)
	opts := lockTestOpts(uniq(t, "s"))
	opts.SessionTTL = 2 * time.Second
	l, err := consul.NewLock(c, uniq(t, "lock"), opts)
	require.NoError(t, err)
	held, err := l.Lock(ctx)
	require.NoError(t, err)
	require.NoError(t, srv.Stop())
	stopped := time.Now()
	select {
	case <-held.Done():
	case <-time.After(2*opts.SessionTTL + 2*time.Second):
		t.Fatal("the lock was not given up while its session could not be renewed")
	}
	lostAfter := time.Since(stopped)
	require.ErrorIs(t, context.Cause(held), consul.ErrLockLost)
	require.LessOrEqual(t, lostAfter, opts.SessionTTL+time.Second)
	t.Logf("lost %s after the agent stopped (TTL %s): %v", lostAfter, opts.SessionTTL, context.Cause(held))
	require.NoError(t, srv.Start())
	uctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_ = l.Unlock(uctx) // the session may be gone already
}

func TestLockContenderWaitsFiveTTLs(t *testing.T) {
	testContenderWaitsFiveTTLs(t, lockKindLock)
}
