package concurrency_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/concurrency"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/require"
)

// Two goroutines proclaiming on one Election at once: the leader's own
// writes must not end its term.
func TestElectionConcurrentProclaimsKeepTerm(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	key := uniq(t, "leader")
	e, err := concurrency.NewElection(c, key, testOpts(uniq(t, "s")))
	require.NoError(t, err)
	lead, err := e.Campaign(ctx, []byte("v0"))
	require.NoError(t, err)
	defer e.Resign(context.Background())
	for round := 0; round < 30 && lead.Err() == nil; round++ {
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = e.Proclaim(ctx, []byte(fmt.Sprintf("r%d-g%d", round, g)))
			}()
		}
		wg.Wait()
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	require.NoError(t, lead.Err(), "term ended by its own proclamations: %v", context.Cause(lead))
}

// Concurrent Campaigns on one Election: the one that wins must lead with
// its own value, not with the value of a call that got ErrBusy.
func TestElectionConcurrentCampaignsWriteWinnersValue(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	key := uniq(t, "leader")
	e, err := concurrency.NewElection(c, key, testOpts(uniq(t, "s")))
	require.NoError(t, err)
	for round := 0; round < 100; round++ {
		start := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		winner := ""
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v := fmt.Sprintf("g%d", g)
				<-start
				_, err := e.Campaign(ctx, []byte(v))
				if err == nil {
					mu.Lock()
					winner = v
					mu.Unlock()
				} else if !errors.Is(err, concurrency.ErrBusy) {
					t.Errorf("campaign: %v", err)
				}
			}()
		}
		close(start)
		wg.Wait()
		require.NotEmpty(t, winner)
		got := string(mustGet(t, c, key).Value)
		require.NoError(t, e.Resign(ctx))
		require.Equal(t, winner, got, "round %d: the winner leads with another call's value", round)
	}
}

// Destroy must not delete what someone else wrote: an empty key without
// flags (a KV "folder", or an application's empty value) is not a
// primitive's key.
func TestLockDestroyKeepsEmptyPlainKey(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)

	key := uniq(t, "lock")
	require.NoError(t, c.KV.Put(ctx, key, nil)) // someone's empty key, flags 0
	l, err := concurrency.NewLock(c, key, nil)
	require.NoError(t, err)
	derr := l.Destroy(ctx)
	pair, _, err := c.KV.Get(ctx, key)
	require.NoError(t, err)
	require.NotNil(t, pair, "Lock.Destroy deleted an empty plain key (Destroy returned %v)", derr)
}

func TestSemaphoreDestroyKeepsOthersKeys(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	prefix := uniq(t, "sem")
	require.NoError(t, c.KV.Put(ctx, prefix+"/", nil))         // the UI's folder key
	require.NoError(t, c.KV.Put(ctx, prefix+"/app/", nil))     // a sub-folder
	require.NoError(t, c.KV.Put(ctx, prefix+"/app/flag", nil)) // someone's empty value
	s, err := concurrency.NewSemaphore(c, prefix, 1, nil)
	require.NoError(t, err)
	derr := s.Destroy(ctx)
	pairs, _, err := c.KV.List(ctx, prefix+"/")
	require.NoError(t, err)
	require.Len(t, pairs, 3, "Semaphore.Destroy deleted plain keys under its prefix (Destroy returned %v)", derr)
}

// With a shared session, an Unlock whose release failed (agent 500) keeps
// the hold on record: the value stays busy, a second Unlock releases the
// key, and the next Lock takes it again with a new fencing index.
func TestSharedSessionFailedUnlockCanBeRetried(t *testing.T) {
	t.Parallel()
	srv := testAgent(t)
	direct := newClient(t, srv)
	c, p := proxiedClient(t, srv)
	ctx := testCtx(t)
	sess := sharedSession(t, direct)
	key := uniq(t, "lock")
	l, err := concurrency.NewLock(c, key, &concurrency.LockOptions{Session: sess})
	require.NoError(t, err)
	held, err := l.Lock(ctx)
	require.NoError(t, err)
	idx1 := l.Index()

	rule := p.OnFunc(isTxn).Status(500, 0, "rpc error: no cluster leader")
	require.Error(t, l.Unlock(ctx), "the release was refused")
	rule.Remove()
	require.Error(t, held.Err(), "the hold ended with the Unlock")
	require.Zero(t, l.Index(), "nothing is held")
	require.Equal(t, sess.ID(), mustGet(t, direct, key).Session, "the live shared session still holds the key")
	_, err = l.Lock(ctx)
	require.ErrorIs(t, err, concurrency.ErrBusy, "the value is busy until the release went through")

	require.NoError(t, l.Unlock(ctx), "the release can be tried again")
	require.Empty(t, mustGet(t, direct, key).Session)
	_, err = l.Lock(ctx)
	require.NoError(t, err)
	require.Greater(t, l.Index(), idx1, "a new acquisition, a new fencing index")
	require.NoError(t, l.Unlock(ctx))
}

// A key held with a shared session's ID by someone outside the Lock value
// (here a plain acquire with the session) is not taken over: TryLock says
// it is held, and Lock waits for its release.
func TestLockDoesNotTakeOverKeyHeldWithItsSessionElsewhere(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	sess := sharedSession(t, c)
	key := uniq(t, "lock")
	ok, err := c.KV.Acquire(ctx, key, nil, sess.ID(), consul.Flags(concurrency.LockFlags))
	require.NoError(t, err)
	require.True(t, ok)
	l, err := concurrency.NewLock(c, key, &concurrency.LockOptions{Session: sess, WaitTime: time.Second})
	require.NoError(t, err)
	_, err = l.TryLock(ctx)
	require.ErrorIs(t, err, concurrency.ErrLockHeld)
	wctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	_, err = l.Lock(wctx)
	require.ErrorIs(t, err, context.DeadlineExceeded, "Lock waited")
	ok, err = c.KV.Release(ctx, key, nil, sess.ID(), consul.Flags(concurrency.LockFlags))
	require.NoError(t, err)
	require.True(t, ok)
	_, err = l.Lock(ctx)
	require.NoError(t, err)
	require.NoError(t, l.Unlock(ctx))
}

func TestPrimitivesOnUnusualKeys(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	base := uniq(t, "k")
	for _, name := range []string{"a b", "a?b", "a#b", "a%2Fb", "a%b", "ü", "a+b", "a;b", "a\\b", "a/", ".lock", "a/.lock/x", "..a", "a..", "*"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			opts := testOpts(uniq(t, "s"))
			opts.WaitTime = time.Second
			key := base + "/" + name
			// Every one is a valid KV key: none is refused.
			l, err := concurrency.NewLock(c, key, opts)
			require.NoError(t, err)
			held, err := l.Lock(ctx)
			require.NoError(t, err)
			time.Sleep(1500 * time.Millisecond)
			require.NoError(t, held.Err(), "%v", context.Cause(held))
			require.NoError(t, l.Unlock(ctx))
			pair := mustGet(t, c, key)
			require.Empty(t, pair.Session)

			s, err := concurrency.NewSemaphore(c, key+"-sem", 1, opts)
			require.NoError(t, err)
			held, err = s.Acquire(ctx)
			require.NoError(t, err)
			time.Sleep(1500 * time.Millisecond)
			require.NoError(t, held.Err(), "%v", context.Cause(held))
			require.NoError(t, s.Release(ctx))
		})
	}
}

// A key under a semaphore's prefix that is none of its keys (another
// primitive's key, plain data) is refused at acquisition; does it also end
// the slots already held?
func TestSemaphoreSlotSurvivesForeignKeyUnderPrefix(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	prefix := uniq(t, "sem")
	opts := testOpts(uniq(t, "s"))
	s, err := concurrency.NewSemaphore(c, prefix, 2, opts)
	require.NoError(t, err)
	held, err := s.Acquire(ctx)
	require.NoError(t, err)
	defer s.Release(context.Background())
	l, err := concurrency.NewLock(c, prefix+"/unrelated", opts)
	require.NoError(t, err)
	_, err = l.Lock(ctx) // the lock sees a free key of its own
	require.NoError(t, err)
	defer l.Unlock(context.Background())
	time.Sleep(2 * time.Second)
	require.NoError(t, held.Err(), "slot ended by a foreign key: %v", context.Cause(held))
}

func concGoroutines() (int, string) {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "consul/concurrency.") && !strings.Contains(g, "concurrency_test.") {
			n++
			out = append(out, g)
		}
	}
	return n, strings.Join(out, "\n\n")
}

func TestPrimitivesLeaveNoGoroutines(t *testing.T) {
	// not parallel: counts goroutines of the package
	srv := testAgent(t)
	c, p := proxiedClient(t, srv)
	ctx := testCtx(t)
	base := uniq(t, "k")
	opts := faultOpts(uniq(t, "s"))
	for i := 0; i < 3; i++ {
		for _, kind := range kinds {
			a := kind.make(t, c, base+"-"+kind.name, opts)
			b := kind.make(t, c, base+"-"+kind.name, opts)
			_, err := a.acquire(ctx)
			require.NoError(t, err)
			cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			_, err = b.acquire(cctx) // waits, then gives up
			cancel()
			require.Error(t, err)
			require.NoError(t, a.release(ctx))
			// a hold lost by a deleted key
			h, err := b.acquire(ctx)
			require.NoError(t, err)
			_ = c.KV.DeleteTree(ctx, base+"-"+kind.name)
			waitDone(t, h, 5*time.Second, "loss")
			_ = b.release(ctx)
			// a release whose txn fails
			_, err = a.acquire(ctx)
			require.NoError(t, err)
			r := p.OnFunc(isTxn).Status(500, 0, "")
			_ = a.release(ctx)
			r.Remove()
		}
	}
	var n int
	var stacks string
	for i := 0; i < 50; i++ {
		if n, stacks = concGoroutines(); n == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%d goroutines of the package left:\n%s", n, stacks)
}

// TestPrimitivesReadFromLeader: a client whose default consistency is
// stale still reads the primitives' keys and sessions from the leader
// (?leader): a stale read could end a live hold, or miss one.
func TestPrimitivesReadFromLeader(t *testing.T) {
	t.Parallel()
	srv := testAgent(t)
	var mu sync.Mutex
	var gets []string
	proxy := consultest.NewFaultProxy(t, srv.HTTPAddr)
	proxy.OnFunc(func(r *http.Request) bool {
		if r.Method == http.MethodGet {
			mu.Lock()
			gets = append(gets, r.URL.RawQuery)
			mu.Unlock()
		}
		return false
	})
	c, err := consul.NewClient(consul.Config{Address: proxy.URL(), Consistency: consul.ConsistencyStale})
	require.NoError(t, err)
	ctx := testCtx(t)
	for _, kind := range kinds {
		h := kind.make(t, c, uniq(t, kind.name), testOpts(uniq(t, "s")))
		_, err := h.acquire(ctx)
		require.NoError(t, err)
		time.Sleep(200 * time.Millisecond) // the watches run
		require.NoError(t, h.release(ctx))
	}
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, gets)
	for _, q := range gets {
		v, err := url.ParseQuery(q)
		require.NoError(t, err)
		require.True(t, v.Has("leader"), "read without ?leader: %q", q)
		require.False(t, v.Has("stale"), "stale read: %q", q)
	}
}

// TestCloseAndUnlockOnNilAndZeroValues: what a failed constructor returned
// (nil), or a zero value, neither panics nor hangs.
func TestCloseAndUnlockOnNilAndZeroValues(t *testing.T) {
	ctx := testCtx(t)
	var s *concurrency.Session
	require.NoError(t, s.Close(ctx))
	require.NoError(t, (&concurrency.Session{}).Close(ctx))
	require.ErrorIs(t, (&concurrency.Lock{}).Unlock(ctx), concurrency.ErrLockNotHeld)
	require.ErrorIs(t, (&concurrency.Semaphore{}).Release(ctx), concurrency.ErrLockNotHeld)
	var l *concurrency.Lock
	require.ErrorIs(t, l.Unlock(ctx), concurrency.ErrLockNotHeld)
	var s2 *concurrency.Semaphore
	require.ErrorIs(t, s2.Release(ctx), concurrency.ErrLockNotHeld)
	var e *concurrency.Election
	require.ErrorIs(t, e.Resign(ctx), concurrency.ErrLockNotHeld)
	require.ErrorIs(t, (&concurrency.Election{}).Resign(ctx), concurrency.ErrLockNotHeld)
	require.ErrorIs(t, (&concurrency.Election{}).Proclaim(ctx, []byte("v")), concurrency.ErrLockNotHeld)
}

// A proclamation applied whose answer is lost, and which the term's watch
// confirms before Proclaim's own confirming read: the key shows it, and
// Proclaim returns nil.
func TestElectionProclaimLostAnswerConfirmedByWatchFirst(t *testing.T) {
	t.Parallel()
	srv, p, key, e, term := proxiedTerm(t)
	ctx := testCtx(t)
	time.Sleep(200 * time.Millisecond) // the watch is blocking
	var n atomic.Int32
	// The agent applies the txn at once; its answer is held back 2s, and
	// the caller gives up after 500ms.
	p.OnFunc(func(r *http.Request) bool { return isTxn(r) && n.Add(1) == 1 }).DelayAnswer(2 * time.Second)
	pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	perr := e.Proclaim(pctx, []byte("b"))
	require.Equal(t, "b", string(mustGet(t, newClient(t, srv), key).Value), "the proclamation was applied")
	require.NoError(t, term.Err())
	require.NoError(t, perr, "the key shows the proclamation, but Proclaim failed")
}

// A snapshot restore puts the key back as it was before the hold (free,
// at a lower ModifyIndex): the holder loses at once, though the state is
// older than its last write (only a stale answer of its own hold is
// ignored).
func TestLockLossSeenAfterSnapshotRestore(t *testing.T) {
	t.Parallel()
	srv := consultest.NewServer(t, consultest.Config{})
	c := newClient(t, srv)
	ctx := testCtx(t)
	key := uniq(t, "lock")
	opts := func() *concurrency.LockOptions {
		o := testOpts(uniq(t, "s"))
		o.WaitTime = time.Second
		return o
	}
	// The key exists, free, with the lock's marker.
	b, err := concurrency.NewLock(c, key, opts())
	require.NoError(t, err)
	_, err = b.Lock(ctx)
	require.NoError(t, err)
	require.NoError(t, b.Unlock(ctx))
	// A's session exists before the snapshot: it survives the restore.
	sess := sharedSession(t, c)
	rc, _, err := c.Snapshot.Save(ctx)
	require.NoError(t, err)
	snap, err := io.ReadAll(rc)
	rc.Close()
	require.NoError(t, err)

	a, err := concurrency.NewLock(c, key, &concurrency.LockOptions{Session: sess, WaitTime: time.Second})
	require.NoError(t, err)
	heldA, err := a.Lock(ctx)
	require.NoError(t, err)
	defer a.Unlock(context.Background())

	require.NoError(t, c.Snapshot.Restore(ctx, bytes.NewReader(snap)))
	pair := mustGet(t, c, key)
	require.Empty(t, pair.Session, "the restored key is free")
	t.Logf("restored ModifyIndex %d, A's index %d", pair.ModifyIndex, a.Index())

	// The key is free in Consul: the holder must lose within a blocking
	// round or two (WaitTime 1s), before anyone else takes it.
	waitDone(t, heldA, 3*time.Second, "A still holds a key that Consul shows free after the restore")
}

// A Lock on a shared session whose acquisition txn was applied but lost
// its answer (the caller gave up), and whose cleanup release then failed:
// the key stays held with the session, and the next attempt of the Lock
// value takes it as its own (it is), rather than waiting for it forever.
func TestSharedSessionFailedCleanupRetakenByNextAttempt(t *testing.T) {
	t.Parallel()
	srv := testAgent(t)
	direct := newClient(t, srv)
	c, p := proxiedClient(t, srv)
	ctx := testCtx(t)
	sess := sharedSession(t, direct)
	key := uniq(t, "lock")
	l, err := concurrency.NewLock(c, key, &concurrency.LockOptions{Session: sess, WaitTime: time.Second})
	require.NoError(t, err)

	var n atomic.Int32
	first := p.OnFunc(func(r *http.Request) bool { return isTxn(r) && n.Add(1) == 1 }).DelayAnswer(2 * time.Second)
	rest := p.OnFunc(isTxn).Status(500, 0, "rpc error: no cluster leader")
	lctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	_, err = l.Lock(lctx)
	cancel()
	require.Error(t, err)
	first.Remove()
	rest.Remove()
	require.Equal(t, sess.ID(), mustGet(t, direct, key).Session, "the lost acquisition was applied and not given back")

	_, err = l.TryLock(ctx)
	require.NoError(t, err, "this value's own leftover acquisition is now 'held elsewhere'")
	require.NoError(t, l.Unlock(ctx))
}

// A Proclaim refused with a status (a 503 in front of the agent) does not
// leave its value pending: an overwrite of the key with that value and the
// marker (a plain put keeps the session) ends the term, as one with any
// other value does.
func TestElectionRefusedProclaimNotPending(t *testing.T) {
	t.Parallel()
	srv, p, key, e, term := proxiedTerm(t)
	ctx := testCtx(t)
	r := p.OnFunc(isTxn).Status(503, 0, "no leader")
	require.Error(t, e.Proclaim(ctx, []byte("b")))
	r.Remove()
	time.Sleep(2 * time.Second)
	require.NoError(t, term.Err())
	require.Equal(t, "a", string(mustGet(t, newClient(t, srv), key).Value), "never written")
	// Someone else overwrites the key.
	require.NoError(t, newClient(t, srv).KV.Put(ctx, key, []byte("b"), consul.Flags(concurrency.ElectionFlags)))
	waitDone(t, term, 5*time.Second, "an overwrite with a failed proclamation's value went unnoticed")
}

// TestContenderSurvivesOutage: a contender waiting while the agent is down
// for longer than its session's TTL replaces the session once the agent is
// back, and acquires; it does not give up with the failed create.
func TestContenderSurvivesOutage(t *testing.T) {
	t.Parallel()
	srv := consultest.NewServer(t, consultest.Config{})
	ctx := testCtx(t)
	key := uniq(t, "lock")
	opts := faultOpts(uniq(t, "s")) // TTL 2s
	a, err := concurrency.NewLock(newClient(t, srv), key, opts)
	require.NoError(t, err)
	heldA, err := a.Lock(ctx)
	require.NoError(t, err)
	b, err := concurrency.NewLock(newClient(t, srv), key, opts)
	require.NoError(t, err)
	type res struct {
		ctx context.Context
		err error
	}
	got := make(chan res, 1)
	go func() { h, err := b.Lock(ctx); got <- res{h, err} }()
	time.Sleep(time.Second)
	require.NoError(t, srv.Stop())
	time.Sleep(4 * time.Second) // two TTLs
	waitDone(t, heldA, 5*time.Second, "the holder's hold outlived its TTL without the agent")
	require.NoError(t, srv.Start())
	uctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_ = a.Unlock(uctx)
	cancel()
	select {
	case r := <-got:
		require.NoError(t, r.err, "the waiting contender gave up during the outage")
		require.NoError(t, r.ctx.Err())
		require.NoError(t, b.Unlock(ctx))
	case <-time.After(30 * time.Second):
		t.Fatal("the contender did not acquire after the restart")
	}
}
