package concurrency_test

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/concurrency"
	"github.com/stretchr/testify/require"
)

// A session tied to checks is refused unless its lock-delay covers its
// TTL, before anything is sent: Consul invalidates it the moment a check
// is critical, and only the lock-delay keeps others out until the holder,
// who may not hear of it, has stopped.
func TestSessionTiedToChecksNeedsLockDelay(t *testing.T) {
	t.Parallel()
	w, c := newWire(t)
	ctx := testCtx(t)
	web := []consul.SessionServiceCheck{{ID: "web-check"}}
	for _, o := range []concurrency.SessionOptions{
		{ServiceChecks: web, LockDelay: consul.NoLockDelay},
		{ServiceChecks: web, TTL: 20 * time.Second},                  // Consul's 15s lock-delay
		{NodeChecks: []string{"serfHealth"}, TTL: 20 * time.Second},  // likewise
		{NodeChecks: []string{"serfHealth"}, LockDelay: time.Second}, // below the default TTL
		{ServiceChecks: web, TTL: 3 * time.Second, LockDelay: 2999 * time.Millisecond},
	} {
		_, err := concurrency.NewSession(ctx, c, &o)
		var ae *consul.ArgumentError
		require.ErrorAs(t, err, &ae, "%+v", o)
		require.Equal(t, "SessionOptions.LockDelay", ae.Arg)
		_, err = concurrency.NewLock(c, "k", &concurrency.LockOptions{SessionOptions: &o})
		require.ErrorAs(t, err, &ae, "%+v", o)
		_, err = concurrency.NewSemaphore(c, "k", 2, &concurrency.LockOptions{SessionOptions: &o})
		require.ErrorAs(t, err, &ae, "%+v", o)
		_, err = concurrency.NewElection(c, "k", &concurrency.LockOptions{SessionOptions: &o})
		require.ErrorAs(t, err, &ae, "%+v", o)
	}
	require.Empty(t, w.requests(), "a refused session was sent")
}

// The package's sessions are tied to no check unless told: the agent's
// node failing (a partition, a dead agent) does not invalidate them before
// twice their TTL, which is what the holds' deadlines rest on.
func TestSessionDefaultsToNoCheck(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	s, err := concurrency.NewSession(ctx, c, &concurrency.SessionOptions{TTL: 10 * time.Second, LockDelay: consul.NoLockDelay})
	require.NoError(t, err)
	defer s.Close(ctx)
	info, _, err := c.Session.Get(ctx, s.ID())
	require.NoError(t, err)
	require.NotNil(t, info)
	require.Empty(t, info.NodeChecks, "tied to a node check")
	require.Empty(t, info.ServiceChecks)

	// Named, serfHealth ties it, with a lock-delay covering the TTL.
	tied, err := concurrency.NewSession(ctx, c, &concurrency.SessionOptions{NodeChecks: []string{"serfHealth"}, TTL: 10 * time.Second, LockDelay: 10 * time.Second})
	require.NoError(t, err)
	defer tied.Close(ctx)
	info, _, err = c.Session.Get(ctx, tied.ID())
	require.NoError(t, err)
	require.Equal(t, []string{"serfHealth"}, info.NodeChecks)
}

// A lock whose session is tied to a service's check: the check fails
// while the holder cannot reach its agent (every request of its client
// hangs), so the holder learns nothing and keeps its hold until its own
// deadline. Consul invalidates the session at once; the contender must
// still not get the lock before the holder's context ended.
func TestLockTiedToFailedCheckNeverOverlaps(t *testing.T) {
	t.Parallel()
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	name := uniq(t, "svc")
	checkID := name + "-ttl"
	require.NoError(t, c.Services.Register(ctx, &consul.AgentServiceRegistration{
		Name: name, ID: name, Port: 1,
		Check: &consul.AgentCheckRegistration{ID: checkID, Name: checkID, TTL: time.Minute, Status: consul.HealthPassing},
	}))
	t.Cleanup(func() { _ = c.Services.Deregister(context.Background(), name) })

	hc, proxy := proxiedClient(t, srv)
	key := uniq(t, "lock")
	const ttl = 2 * time.Second
	opts := faultOpts(uniq(t, "holder"))
	opts.SessionOptions.LockDelay = ttl
	opts.SessionOptions.ServiceChecks = []consul.SessionServiceCheck{{ID: checkID}}
	holder, err := concurrency.NewLock(hc, key, opts)
	require.NoError(t, err)
	held, err := holder.Lock(ctx)
	require.NoError(t, err)
	start := time.Now()

	var heldEnded atomic.Int64
	go func() {
		<-held.Done()
		heldEnded.Store(time.Now().UnixNano())
	}()

	// The holder's agent goes silent, then the check fails.
	proxy.On("", "/").Hang()
	require.NoError(t, c.Checks.Fail(ctx, checkID, "down"))

	contender, err := concurrency.NewLock(c, key, faultOpts(uniq(t, "contender")))
	require.NoError(t, err)
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	got, err := contender.Lock(cctx)
	require.NoError(t, err, "the contender never got the lock")
	acquired := time.Now().UnixNano()
	t.Logf("the contender got the lock after %v", time.Since(start))
	require.NoError(t, got.Err())
	require.NoError(t, contender.Unlock(ctx))
	// The holder's agent answers again: its hold is over, and Unlock
	// only cleans up.
	proxy.Clear()
	uctx, ucancel := context.WithTimeout(ctx, 10*time.Second)
	defer ucancel()
	if err := holder.Unlock(uctx); err != nil {
		require.ErrorIs(t, err, concurrency.ErrLockNotHeld)
	}

	ended := heldEnded.Load()
	require.NotZero(t, ended, "two holders: the contender got the lock while the holder's context was still alive")
	require.Less(t, ended, acquired)
	require.True(t, errors.Is(context.Cause(held), concurrency.ErrLockLost), "cause: %v", context.Cause(held))
}

// followers counts the goroutines following a hold (core.follow), the
// clean-up after a loss included.
func followers() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "concurrency.(*core).follow")
}

// A hold lost while its agent hangs is cleaned up within bounded time:
// nothing of it waits on the agent for the client's whole timeout. The
// holder sees its loss through its watch (its session destroyed), and
// every other request of its client then hangs. Not parallel: it counts
// goroutines.
func TestLostHoldCleanupBoundedWhenAgentHangs(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	hc, proxy := proxiedClient(t, srv, consul.Config{Timeout: 5 * time.Minute})
	ctx := testCtx(t)
	before := followers()
	l, err := concurrency.NewLock(hc, uniq(t, "lock"), testOpts(uniq(t, "s")))
	require.NoError(t, err)
	held, err := l.Lock(ctx)
	require.NoError(t, err)
	require.Positive(t, followers(), "no goroutine follows the hold")

	proxy.OnFunc(func(r *http.Request) bool { return r.URL.Query().Get("index") == "" }).Hang()
	require.NoError(t, c.Session.Destroy(ctx, l.Session()))
	waitDone(t, held, 10*time.Second, "the watch did not see the loss")
	require.ErrorIs(t, context.Cause(held), concurrency.ErrLockLost)
	deadline := time.Now().Add(20 * time.Second)
	for followers() > before && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	require.Equal(t, before, followers(), "the clean-up after the loss still waits on the hung agent")
	proxy.Clear()
	uctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := l.Unlock(uctx); err != nil {
		require.ErrorIs(t, err, concurrency.ErrLockNotHeld)
	}
}
