package concurrency_test

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/concurrency"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLockBadInput(t *testing.T) {
	t.Parallel()
	w, c := newWire(t)
	var ae *consul.ArgumentError
	_, err := concurrency.NewLock(c, "", nil)
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "key", ae.Arg)
	// Every key a KV call would refuse is refused here, by the same rules
	// (consul.CheckKey), not only the ones this package once listed.
	for _, key := range []string{"/k", "a//b", "a/../b", "k\x00", "a\u00a0b", "a\u2028b", "bad\xff", " k", "k ", "a/%2e%2e/b"} {
		_, err = concurrency.NewLock(c, key, nil)
		require.ErrorAs(t, err, &ae, "%q", key)
		require.Equal(t, "key", ae.Arg)
		require.Equal(t, consul.CheckKey(key).(*consul.ArgumentError).Reason, ae.Reason)
		_, err = concurrency.NewSemaphore(c, key, 1, nil)
		require.ErrorAs(t, err, &ae, "%q", key)
		require.Equal(t, "prefix", ae.Arg)
	}
	require.NoError(t, consul.CheckKey("app/caf\u00e9 db/100%"))
	_, err = concurrency.NewLock(c, "k", &concurrency.LockOptions{SessionOptions: &concurrency.SessionOptions{TTL: -time.Second}})
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "LockOptions.SessionOptions.TTL", ae.Arg)
	_, err = concurrency.NewLock(c, "k", &concurrency.LockOptions{MaxBackoff: -time.Second})
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "LockOptions.MaxBackoff", ae.Arg)
	_, err = concurrency.NewLock(c, "k", &concurrency.LockOptions{Session: &concurrency.Session{}, SessionOptions: &concurrency.SessionOptions{}})
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "LockOptions.SessionOptions", ae.Arg)
	_, err = concurrency.NewSemaphore(c, "p", 0, nil)
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "limit", ae.Arg)
	_, err = concurrency.NewElection(c, "/k", nil)
	require.ErrorAs(t, err, &ae)
	_, err = concurrency.NewLock(c, "a//b", nil)
	require.ErrorAs(t, err, &ae)
	_, err = concurrency.NewSession(testCtx(t), c, &concurrency.SessionOptions{LockDelay: -2})
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "SessionOptions.LockDelay", ae.Arg)
	l, err := concurrency.NewLock(c, "k", nil)
	require.NoError(t, err)
	require.ErrorIs(t, l.Unlock(testCtx(t)), concurrency.ErrLockNotHeld)
	require.Empty(t, l.Session())
	require.Zero(t, l.Index())
	require.Empty(t, w.requests(), "nothing may be sent")
}

func TestLockWire(t *testing.T) {
	t.Parallel()
	// What Lock sends: a session with the options' TTL, lock-delay and
	// behavior, a read of the key, then the acquisition: a transaction
	// that checks the key is as read and locks it with the marker.
	const sid = "adf4238a-882b-9ddc-4a9d-5b6758e4159e"
	w, c := newWire(t,
		reply{Body: `{"ID":"` + sid + `"}`},
		reply{Status: 404, Header: map[string]string{"X-Consul-Index": "5"}},
		reply{Status: 409, Body: `{"Errors":[{"OpIndex":1,"What":"failed to lock key \"k\", lock is already held"}]}`},
		reply{Header: map[string]string{"X-Consul-Index": "6"},
			Body: `[{"Key":"k","ModifyIndex":6,"LockIndex":1,"Flags":` + strconv.FormatUint(concurrency.LockFlags, 10) + `,"Session":"other"}]`},
		reply{Status: 500, Body: "stop here"}, // repeats: the blocking reads and the destroy
	)
	l, err := concurrency.NewLock(c, "k", &concurrency.LockOptions{
		Value:          []byte("me"),
		SessionOptions: &concurrency.SessionOptions{Name: "n", TTL: 20 * time.Second, LockDelay: 3 * time.Second},
		WaitTime:       2 * time.Second,
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	held, err := l.Lock(ctx)
	require.Nil(t, held, "never a context with an error")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	reqs := w.requests()
	require.GreaterOrEqual(t, len(reqs), 6)
	reqs[0].expect(t, "PUT", "/v1/session/create", nil)
	require.JSONEq(t, `{"Name":"n","LockDelay":"3s","Behavior":"release","TTL":"20s","NodeChecks":[]}`, reqs[0].Body)
	// Every read of the primitives is the leader's (?leader), whatever
	// the client's default consistency.
	reqs[1].expect(t, "GET", "/v1/kv/k", q("leader", ""))
	reqs[2].expect(t, "PUT", "/v1/txn", nil)
	var ops []map[string]map[string]any
	d := json.NewDecoder(stringsReader(reqs[2].Body))
	d.UseNumber()
	require.NoError(t, d.Decode(&ops))
	require.Len(t, ops, 2)
	require.Equal(t, map[string]any{"Verb": "check-not-exists", "Key": "k"}, ops[0]["KV"])
	require.Equal(t, map[string]any{"Verb": "lock", "Key": "k", "Value": "bWU=", // "me"
		"Flags": json.Number(strconv.FormatUint(concurrency.LockFlags, 10)), "Session": sid}, ops[1]["KV"])
	reqs[3].expect(t, "GET", "/v1/kv/k", q("leader", ""))                             // refused: read again at once
	reqs[4].expect(t, "GET", "/v1/kv/k", q("leader", "", "index", "6", "wait", "2s")) // held by another: block
	last := reqs[len(reqs)-1]
	last.expect(t, "PUT", "/v1/session/destroy/"+sid, nil)
}

func TestLockContention(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key := uniq(t, "lock")
	name := uniq(t, "s")

	const workers, rounds = 8, 25
	var inside atomic.Int32
	var counter atomic.Int64 // read then written: lost updates if two overlap
	var overlaps atomic.Int32
	var lastIndex atomic.Uint64
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := concurrency.NewLock(c, key, testOpts(name))
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
				// The fencing token grows with each acquisition.
				idx := l.Index()
				assert.Greater(t, idx, lastIndex.Load())
				lastIndex.Store(idx)
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
	require.Zero(t, sessionsNamed(t, c, name), "every session is destroyed on unlock")
	t.Logf("%d lock/increment/unlock rounds by %d contenders took %s (%s per round)", workers*rounds, workers, elapsed, elapsed/(workers*rounds))
}

// TestLockOwnSessionRenewed: a lock's own session is renewed in the
// background: the lock is still held, on the same live session, well past
// twice the TTL, when Consul would have invalidated a session that was
// not renewed.
func TestLockOwnSessionRenewed(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	key := uniq(t, "lock")
	opts := testOpts(uniq(t, "s"))
	opts.SessionOptions.TTL = 2 * time.Second // held past 2×TTL, when Consul invalidates an unrenewed session
	l, err := concurrency.NewLock(c, key, opts)
	require.NoError(t, err)
	held, err := l.Lock(ctx)
	require.NoError(t, err)
	sid := l.Session()
	require.NotEmpty(t, sid)

	time.Sleep(2*opts.SessionOptions.TTL + time.Second)
	require.NoError(t, held.Err(), "lost: %v", context.Cause(held))
	info, _, err := c.Session.Get(ctx, sid)
	require.NoError(t, err)
	require.NotNil(t, info, "Consul invalidated the lock's session: it was not renewed")
	pair, _, err := c.KV.Get(ctx, key)
	require.NoError(t, err)
	require.Equal(t, sid, pair.Session)
	require.NoError(t, l.Unlock(ctx))
}

func TestLockLostWhenSessionDestroyed(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	key := uniq(t, "lock")
	opts := testOpts(uniq(t, "s"))
	l, err := concurrency.NewLock(c, key, opts)
	require.NoError(t, err)
	held, err := l.Lock(ctx)
	require.NoError(t, err)
	pair, _, err := c.KV.Get(ctx, key)
	require.NoError(t, err)
	require.NotEmpty(t, pair.Session)
	require.Equal(t, concurrency.LockFlags, pair.Flags, "the key carries the lock's marker")

	require.NoError(t, c.Session.Destroy(ctx, pair.Session))
	waitDone(t, held, 5*time.Second, "the lock's context did not end")
	require.ErrorIs(t, context.Cause(held), concurrency.ErrLockLost)
	require.NoError(t, l.Unlock(ctx), "unlocking a lost lock only cleans up")
	// It can be locked again.
	held, err = l.Lock(ctx)
	require.NoError(t, err)
	require.NoError(t, l.Unlock(ctx))
	require.ErrorIs(t, context.Cause(held), context.Canceled)
}

func TestLockTryLockAndAbort(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	key := uniq(t, "lock")
	name := uniq(t, "s")
	a, err := concurrency.NewLock(c, key, testOpts(name))
	require.NoError(t, err)
	b, err := concurrency.NewLock(c, key, testOpts(name))
	require.NoError(t, err)

	_, err = a.TryLock(ctx)
	require.NoError(t, err)
	_, err = a.Lock(ctx)
	require.ErrorIs(t, err, concurrency.ErrBusy, "a Lock holds once")
	require.NotErrorIs(t, err, concurrency.ErrLockHeld)

	held, err := b.TryLock(ctx)
	require.Nil(t, held)
	require.ErrorIs(t, err, concurrency.ErrLockHeld)

	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	held, err = b.Lock(short)
	require.Nil(t, held, "never (nil, nil) on abort")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, 1, sessionsNamed(t, c, name), "the aborted attempt's session is destroyed")

	require.NoError(t, a.Unlock(ctx))
	held, err = b.TryLock(ctx)
	require.NoError(t, err)
	require.NotNil(t, held)
	require.NoError(t, b.Unlock(ctx))
	require.Zero(t, sessionsNamed(t, c, name))
}

// TestLockBusyWhileAcquiring: a second Lock on a value that is waiting for
// the lock returns ErrBusy at once, and the first goes on.
func TestLockBusyWhileAcquiring(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	key := uniq(t, "lock")
	opts := testOpts(uniq(t, "s"))
	holder, err := concurrency.NewLock(c, key, opts)
	require.NoError(t, err)
	_, err = holder.Lock(ctx)
	require.NoError(t, err)
	l, err := concurrency.NewLock(c, key, opts)
	require.NoError(t, err)
	errc := make(chan error, 1)
	go func() {
		_, err := l.Lock(ctx)
		errc <- err
	}()
	require.Eventually(t, func() bool { return sessionsNamed(t, c, opts.SessionOptions.Name) == 2 }, 5*time.Second, 10*time.Millisecond)
	_, err = l.TryLock(ctx)
	require.ErrorIs(t, err, concurrency.ErrBusy)
	require.ErrorIs(t, l.Destroy(ctx), concurrency.ErrInUse)
	require.NoError(t, holder.Unlock(ctx))
	require.NoError(t, <-errc)
	require.NoError(t, l.Unlock(ctx))
}

func TestLockDelayRespected(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	key := uniq(t, "lock")
	opts := testOpts(uniq(t, "s"))
	opts.SessionOptions.LockDelay = 2 * time.Second
	a, err := concurrency.NewLock(c, key, opts)
	require.NoError(t, err)
	b, err := concurrency.NewLock(c, key, opts)
	require.NoError(t, err)
	heldA, err := a.Lock(ctx)
	require.NoError(t, err)

	// Invalidating the holder's session starts the lock-delay: nobody gets
	// the key before it ends, and b gets it soon after.
	require.NoError(t, c.Session.Destroy(ctx, a.Session()))
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
	t.Parallel()
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	sid, err := c.Session.Create(ctx, &consul.SessionEntry{TTL: 10 * time.Second, LockDelay: consul.NoLockDelay})
	require.NoError(t, err)
	defer c.Session.Destroy(ctx, sid)
	_, err = concurrency.NewSessionFromID(ctx, c, "0d9a7c34-0000-4000-8000-000000000000")
	require.ErrorIs(t, err, concurrency.ErrSessionLost, "a session that does not exist")
	sess, err := concurrency.NewSessionFromID(ctx, c, sid)
	require.NoError(t, err)
	require.Zero(t, sess.TTL())
	key := uniq(t, "lock")
	l, err := concurrency.NewLock(c, key, &concurrency.LockOptions{Session: sess, Value: []byte("v")})
	require.NoError(t, err)
	_, err = l.Lock(ctx)
	require.NoError(t, err)
	pair, _, err := c.KV.Get(ctx, key)
	require.NoError(t, err)
	require.Equal(t, sid, pair.Session)
	require.Equal(t, "v", string(pair.Value))
	require.NoError(t, l.Unlock(ctx))
	require.NoError(t, sess.Err(), "unlocking leaves a shared session alone")
	info, _, err := c.Session.Get(ctx, sid)
	require.NoError(t, err)
	require.NotNil(t, info, "a given session is not destroyed")
	pair, _, err = c.KV.Get(ctx, key)
	require.NoError(t, err)
	require.Empty(t, pair.Session)
	require.Equal(t, "v", string(pair.Value), "a release leaves the value")
	require.Equal(t, concurrency.LockFlags, pair.Flags, "a release leaves the marker")
	require.NoError(t, sess.Close(ctx))
	require.ErrorIs(t, sess.Err(), concurrency.ErrSessionClosed)
	info, _, err = c.Session.Get(ctx, sid)
	require.NoError(t, err)
	require.NotNil(t, info, "closing a session made from an ID does not destroy it")
}

func TestLockLostWhenAgentUnreachable(t *testing.T) {
	t.Parallel()
	// The holder cannot renew its session while its agent is down: it
	// gives the lock up once the TTL has passed since its last renewal,
	// before Consul (which waits twice the TTL) could hand it to another.
	srv := consultest.NewServer(t, consultest.Config{})
	c := newClient(t, srv)
	ctx := testCtx(t)
	opts := testOpts(uniq(t, "s"))
	opts.SessionOptions.TTL = 2 * time.Second
	l, err := concurrency.NewLock(c, uniq(t, "lock"), opts)
	require.NoError(t, err)
	held, err := l.Lock(ctx)
	require.NoError(t, err)
	require.NoError(t, srv.Stop())
	stopped := time.Now()
	waitDone(t, held, 2*opts.SessionOptions.TTL+2*time.Second, "the lock was not given up while its session could not be renewed")
	lostAfter := time.Since(stopped)
	require.ErrorIs(t, context.Cause(held), concurrency.ErrLockLost)
	require.ErrorIs(t, context.Cause(held), concurrency.ErrSessionLost)
	require.LessOrEqual(t, lostAfter, opts.SessionOptions.TTL+time.Second)
	t.Logf("lost %s after the agent stopped (TTL %s): %v", lostAfter, opts.SessionOptions.TTL, context.Cause(held))
	require.NoError(t, srv.Start())
	uctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_ = l.Unlock(uctx) // the session may be gone already
}

// TestLockFencedWriteRefusedWhenStale is the README's fencing: a write in a
// transaction that checks the holder's session is accepted while it holds,
// and refused, with nothing written, once the lock went to another; the
// fencing token of the new holder is higher.
func TestLockFencedWriteRefusedWhenStale(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	key := uniq(t, "lock")
	out := key + "-out"
	opts := testOpts(uniq(t, "s"))
	a, err := concurrency.NewLock(c, key, opts)
	require.NoError(t, err)
	heldA, err := a.Lock(ctx)
	require.NoError(t, err)
	sidA, tokenA := a.Session(), a.Index()
	require.NotZero(t, tokenA)
	fenced := func(sid string, v string) error {
		_, _, err := c.Txn.New().CheckSession(key, sid).Set(out, []byte(v)).Execute(ctx)
		return err
	}
	require.NoError(t, fenced(sidA, "a"))

	// a's session dies (as if a were paused past its TTL); b takes over.
	require.NoError(t, c.Session.Destroy(ctx, sidA))
	b, err := concurrency.NewLock(c, key, opts)
	require.NoError(t, err)
	_, err = b.Lock(ctx)
	require.NoError(t, err)
	waitDone(t, heldA, 5*time.Second, "a's loss unnoticed")
	require.Empty(t, a.Session())

	err = fenced(sidA, "stale")
	require.ErrorIs(t, err, consul.ErrConflict, "the stale holder's fenced write is refused")
	pair, _, err := c.KV.Get(ctx, out)
	require.NoError(t, err)
	require.Equal(t, "a", string(pair.Value), "nothing was written")
	require.NoError(t, fenced(b.Session(), "b"))
	require.Greater(t, b.Index(), tokenA, "the fencing token grows")
	require.NoError(t, a.Unlock(ctx))
	require.NoError(t, b.Unlock(ctx))
}

func TestLockContenderWaitsFiveTTLs(t *testing.T) {
	t.Parallel()
	testContenderWaitsFiveTTLs(t, kindLock)
}
