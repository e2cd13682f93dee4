package concurrency_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/concurrency"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/require"
)

// proxiedClient returns a client of srv that goes through a new fault
// proxy.
func proxiedClient(t *testing.T, srv *consultest.Server, cfg ...consul.Config) (*consul.Client, *consultest.FaultProxy) {
	t.Helper()
	p := consultest.NewFaultProxy(t, srv.HTTPAddr)
	var c consul.Config
	if len(cfg) > 0 {
		c = cfg[0]
	}
	c.Address = p.Addr()
	client, err := consul.NewClient(c)
	require.NoError(t, err)
	return client, p
}

// holder is what the tests do with a Lock, a Semaphore or an Election.
type holder struct {
	acquire func(ctx context.Context) (context.Context, error)
	release func(ctx context.Context) error
	destroy func(ctx context.Context) error
	session func() string
	index   func() uint64
	// fenceKey is the key a holder's session holds.
	fenceKey func(sid string) string
}

// primitive makes holders of one kind on one name, and says which
// requests are the holder's watch (blocking reads).
type primitive struct {
	name  string
	make  func(t *testing.T, c *consul.Client, name string, opts *concurrency.LockOptions) holder
	watch func(name string, r *http.Request) bool
}

var (
	kindLock = primitive{
		name: "lock",
		make: func(t *testing.T, c *consul.Client, key string, opts *concurrency.LockOptions) holder {
			l, err := concurrency.NewLock(c, key, opts)
			require.NoError(t, err)
			return holder{
				acquire:  l.Lock,
				release:  l.Unlock,
				destroy:  l.Destroy,
				session:  l.Session,
				index:    l.Index,
				fenceKey: func(string) string { return key },
			}
		},
		watch: func(key string, r *http.Request) bool {
			return r.Method == http.MethodGet && r.URL.Path == "/v1/kv/"+key && r.URL.Query().Has("index")
		},
	}
	kindSemaphore = primitive{
		name: "semaphore",
		make: func(t *testing.T, c *consul.Client, prefix string, opts *concurrency.LockOptions) holder {
			s, err := concurrency.NewSemaphore(c, prefix, 1, opts)
			require.NoError(t, err)
			return holder{
				acquire:  s.Acquire,
				release:  s.Release,
				destroy:  s.Destroy,
				session:  s.Session,
				index:    s.Index,
				fenceKey: func(sid string) string { return prefix + "/" + sid },
			}
		},
		watch: func(prefix string, r *http.Request) bool {
			return r.Method == http.MethodGet && r.URL.Path == "/v1/kv/"+prefix+"/" && r.URL.Query().Has("index")
		},
	}
	kindElection = primitive{
		name: "election",
		make: func(t *testing.T, c *consul.Client, key string, opts *concurrency.LockOptions) holder {
			e, err := concurrency.NewElection(c, key, opts)
			require.NoError(t, err)
			return holder{
				acquire:  func(ctx context.Context) (context.Context, error) { return e.Campaign(ctx, []byte("me")) },
				release:  e.Resign,
				destroy:  e.Destroy,
				session:  e.Session,
				index:    e.Index,
				fenceKey: func(string) string { return key },
			}
		},
		watch: func(key string, r *http.Request) bool { return kindLock.watch(key, r) },
	}
	kinds = []primitive{kindLock, kindSemaphore, kindElection}
)

// isTxn matches the transactions, by which every primitive takes its key
// (and which the fencers send).
func isTxn(r *http.Request) bool { return r.Method == http.MethodPut && r.URL.Path == "/v1/txn" }

// lockFaults are the faults of the holder's requests in the fault tests.
var lockFaults = []struct {
	name  string
	apply func(r *consultest.FaultRule)
}{
	{"503 Retry-After 30s", func(r *consultest.FaultRule) { r.Status(503, 30*time.Second, "") }},
	{"500", func(r *consultest.FaultRule) { r.Status(500, 0, "rpc error: no cluster leader") }},
	{"hang", func(r *consultest.FaultRule) { r.Hang() }},
	{"slow answers", func(r *consultest.FaultRule) { r.Delay(6 * time.Second) }}, // 3 TTLs
	{"cut mid-body", func(r *consultest.FaultRule) { r.CutMidBody() }},
}

// TestLockFaultsNeverTwoHolders: the holder's client goes through a fault
// proxy. Under each fault, first on the holder's blocking reads of the key
// only (its renewals pass: it must keep the lock, its renewals never
// starved by the watch's backoff), then on its session renewals too (it
// must give the lock up no later than the TTL after the last renewal that
// could have been confirmed). A contender waits all along on a healthy
// client. Never two holders at any instant: the holder's context ends
// before the contender's acquisition is even sent, every fenced write the
// holder sent while it believed it held was accepted, and the stale
// holder's fenced writes are refused once the contender holds.
func TestLockFaultsNeverTwoHolders(t *testing.T) {
	t.Parallel()
	for _, fault := range lockFaults {
		t.Run(fault.name, func(t *testing.T) {
			t.Parallel()
			testNoOverlapUnderFault(t, kindLock, fault.apply)
		})
	}
}

// TestSemaphoreFaultsNeverTwoHolders is TestLockFaultsNeverTwoHolders for
// a semaphore of one slot.
func TestSemaphoreFaultsNeverTwoHolders(t *testing.T) {
	t.Parallel()
	for _, fault := range lockFaults {
		t.Run(fault.name, func(t *testing.T) {
			t.Parallel()
			testNoOverlapUnderFault(t, kindSemaphore, fault.apply)
		})
	}
}

// TestElectionFaultsNeverTwoLeaders is TestLockFaultsNeverTwoHolders for
// an election, under the first three faults.
func TestElectionFaultsNeverTwoLeaders(t *testing.T) {
	t.Parallel()
	for _, fault := range lockFaults[:3] {
		t.Run(fault.name, func(t *testing.T) {
			t.Parallel()
			testNoOverlapUnderFault(t, kindElection, fault.apply)
		})
	}
}

func testNoOverlapUnderFault(t *testing.T, kind primitive, fault func(r *consultest.FaultRule)) {
	srv := testAgent(t)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	opts := faultOpts(uniq(t, "s"))
	ttl := opts.SessionOptions.TTL
	name := uniq(t, kind.name)
	counter := name + "-fence"

	holderClient, hp := proxiedClient(t, srv)
	// The contender's client goes through a proxy without faults that
	// notes when its transactions (those that take the lock) are sent.
	contenderClient, cp := proxiedClient(t, srv)
	var lastTakeSent atomic.Int64
	cp.OnFunc(func(r *http.Request) bool {
		if isTxn(r) {
			lastTakeSent.Store(time.Now().UnixNano())
		}
		return false
	})

	h := kind.make(t, holderClient, name, opts)
	held, err := h.acquire(ctx)
	require.NoError(t, err)
	// When the holder's context ends, as the holder's code sees it.
	var ended time.Time
	endedSeen := make(chan struct{})
	context.AfterFunc(held, func() { ended = time.Now(); close(endedSeen) })
	holderSID := h.session()
	require.NotEmpty(t, holderSID)
	hf := &fencer{c: holderClient, key: h.fenceKey(holderSID), counter: counter, sid: holderSID}
	hfDone := make(chan struct{})
	go func() { defer close(hfDone); hf.run(held) }()

	reads := hp.OnFunc(func(r *http.Request) bool { return kind.watch(name, r) })
	renews := hp.On(http.MethodPut, "/v1/session/renew/")
	fault(reads)

	contender := kind.make(t, contenderClient, name, opts)
	type result struct {
		held    context.Context
		err     error
		takeAt  time.Time
		session string
	}
	acquired := make(chan result, 1)
	go func() {
		held, err := contender.acquire(ctx)
		r := result{held: held, err: err, takeAt: time.Unix(0, lastTakeSent.Load())}
		if err == nil {
			r.session = contender.session()
		}
		acquired <- r
	}()

	// The watch is faulted, the renewals are not: the holder keeps the lock
	// well past twice the TTL.
	time.Sleep(2*ttl + ttl/2)
	require.NoError(t, held.Err(), "the holder lost the lock while its renewals went through: %v", context.Cause(held))
	select {
	case r := <-acquired:
		t.Fatalf("the contender acquired the lock while the holder held it: %v", r.err)
	default:
	}
	require.GreaterOrEqual(t, renews.Count(), 3, "renewals every TTL/2 whatever the watch meets")
	require.Positive(t, reads.Count())

	// Now the renewals fail too: the last renewal that can have been
	// confirmed was sent before faultAt.
	faultAt := time.Now()
	fault(renews)
	select {
	case <-endedSeen:
	case <-time.After(ttl + 2*time.Second):
		t.Fatalf("the holder kept the lock %s after its renewals started failing (TTL %s)", time.Since(faultAt), ttl)
	}
	require.ErrorIs(t, context.Cause(held), concurrency.ErrLockLost)
	require.LessOrEqual(t, ended.Sub(faultAt), ttl, "the holder's context outlived the TTL after its last confirmed renewal")

	var r result
	select {
	case r = <-acquired:
	case <-time.After(4*ttl + 5*time.Second):
		t.Fatal("the contender never acquired the lock")
	}
	require.NoError(t, r.err)
	require.True(t, ended.Before(r.takeAt), "two holders: the holder's context ended %s after the contender's acquisition was sent", ended.Sub(r.takeAt))
	t.Logf("holder gave up %s after the fault on renewals (TTL %s); the contender's acquisition was sent %s later; %d renewals, %d watch reads faulted; cause: %v",
		ended.Sub(faultAt).Round(time.Millisecond), ttl, r.takeAt.Sub(ended).Round(time.Millisecond), renews.Count(), reads.Count(), context.Cause(held))

	<-hfDone
	require.NotEmpty(t, r.session)
	cf := &fencer{c: contenderClient, key: contender.fenceKey(r.session), counter: counter, sid: r.session}
	n, refused, err := cf.increment(ctx)
	require.NoError(t, err)
	require.False(t, refused, "the new holder's fenced write is accepted")
	stale := &fencer{c: contenderClient, key: hf.key, counter: counter, sid: hf.sid}
	_, refused, err = stale.increment(ctx)
	require.NoError(t, err)
	require.True(t, refused, "the stale holder's fenced write is refused")

	require.Zero(t, hf.refusedLive, "a fenced write sent while the holder believed it held was refused")
	require.NotEmpty(t, hf.values, "the holder wrote while it held")
	require.Equal(t, len(hf.values)+1, n, "the counter counts exactly the accepted fenced writes")

	require.NoError(t, r.held.Err())
	require.NoError(t, contender.release(ctx))
	require.Error(t, r.held.Err())
	hp.Clear()
	uctx, ucancel := context.WithTimeout(ctx, 5*time.Second)
	defer ucancel()
	_ = h.release(uctx) // only cleans up
}

// fencer performs fenced increments of a counter key for one holder: a
// transaction that checks that the holder's session holds the lock key,
// then writes the counter with check-and-set. Consul refuses it once the
// session no longer holds the lock.
type fencer struct {
	c            *consul.Client
	key, counter string
	sid          string

	mu          sync.Mutex
	values      []int // the counter values this holder wrote
	refusedLive int   // refusals of writes sent while the holder believed it held the lock
}

// increment makes one fenced increment. It reports whether Consul
// refused it because the session does not hold the lock.
func (f *fencer) increment(ctx context.Context) (written int, refused bool, err error) {
	pair, _, err := f.c.KV.Get(ctx, f.counter)
	if err != nil {
		return 0, false, err
	}
	n, idx := 0, uint64(0)
	if pair != nil {
		n, _ = strconv.Atoi(string(pair.Value))
		idx = pair.ModifyIndex
	}
	_, _, err = f.c.Txn.New().
		CheckSession(f.key, f.sid).
		CAS(f.counter, []byte(strconv.Itoa(n+1)), idx).
		Execute(ctx)
	var te *consul.TxnError
	if errors.As(err, &te) {
		for _, e := range te.Errors {
			if e.OpIndex == 0 {
				return 0, true, nil
			}
		}
		return 0, false, err // a CAS conflict
	}
	if err != nil {
		return 0, false, err
	}
	return n + 1, false, nil
}

// run increments every 20ms while held is live, recording what Consul
// said. It stops when held ends.
func (f *fencer) run(held context.Context) {
	for held.Err() == nil {
		live := held.Err() == nil
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		n, refused, err := f.increment(ctx)
		cancel()
		f.mu.Lock()
		switch {
		case err != nil:
		case refused && live:
			f.refusedLive++
		case !refused:
			f.values = append(f.values, n)
		}
		f.mu.Unlock()
		select {
		case <-held.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// testContenderWaitsFiveTTLs: a contender waits five TTLs for a holder,
// then acquires as soon as the holder releases, on a live session that it
// keeps.
func testContenderWaitsFiveTTLs(t *testing.T, kind primitive) {
	c := newClient(t, testAgent(t))
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	opts := faultOpts(uniq(t, "s"))
	// 2s: the agents' session_ttl_min is 1s, but a renewal under -race on a
	// loaded 2-core machine can take most of a second, and the hold's
	// deadline (the TTL after the last confirmed renewal) would then end it.
	opts.SessionOptions.TTL = 2 * time.Second
	ttl := opts.SessionOptions.TTL
	name := uniq(t, kind.name)

	h := kind.make(t, c, name, opts)
	held, err := h.acquire(ctx)
	require.NoError(t, err)
	contender := kind.make(t, c, name, opts)
	type result struct {
		held context.Context
		err  error
		at   time.Time
	}
	acquired := make(chan result, 1)
	go func() {
		held, err := contender.acquire(ctx)
		acquired <- result{held, err, time.Now()}
	}()

	time.Sleep(5 * ttl)
	select {
	case r := <-acquired:
		t.Fatalf("the contender got through while the holder held: %v", r.err)
	default:
	}
	require.NoError(t, held.Err())
	released := time.Now()
	require.NoError(t, h.release(ctx))

	var r result
	select {
	case r = <-acquired:
	case <-time.After(3 * time.Second):
		t.Fatal("the contender did not acquire after the holder released")
	}
	require.NoError(t, r.err)
	t.Logf("acquired %s after the release, having waited %s (TTL %s)", r.at.Sub(released).Round(time.Millisecond), 5*ttl, ttl)
	require.NotZero(t, contender.index())
	sid := contender.session()
	info, _, err := c.Session.Get(ctx, sid)
	require.NoError(t, err)
	require.NotNil(t, info, "the contender holds on a live session")
	f := &fencer{c: c, key: contender.fenceKey(sid), counter: name + "-fence", sid: sid}
	_, refused, err := f.increment(ctx)
	require.NoError(t, err)
	require.False(t, refused, "Consul agrees that the contender holds")
	// And it keeps holding.
	time.Sleep(2 * ttl)
	require.NoError(t, r.held.Err(), "lost soon after acquiring: %v", context.Cause(r.held))
	require.NoError(t, contender.release(ctx))
}

// testContenderSessionReplaced: a contender whose session is destroyed
// while it waits creates a new one and acquires after the holder
// releases, never on the destroyed session.
func testContenderSessionReplaced(t *testing.T, kind primitive) {
	c := newClient(t, testAgent(t))
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	name := uniq(t, kind.name)
	holderOpts := faultOpts(uniq(t, "holder"))
	contenderOpts := faultOpts(uniq(t, "contender"))

	h := kind.make(t, c, name, holderOpts)
	_, err := h.acquire(ctx)
	require.NoError(t, err)
	contender := kind.make(t, c, name, contenderOpts)
	type result struct {
		held context.Context
		err  error
	}
	acquired := make(chan result, 1)
	go func() {
		held, err := contender.acquire(ctx)
		acquired <- result{held, err}
	}()
	var first string
	require.Eventually(t, func() bool {
		list, _, err := c.Session.List(ctx)
		require.NoError(t, err)
		for _, s := range list {
			if s.Name == contenderOpts.SessionOptions.Name {
				first = s.ID
			}
		}
		return first != ""
	}, 5*time.Second, 20*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // let it wait
	require.NoError(t, c.Session.Destroy(ctx, first))
	time.Sleep(contenderOpts.SessionOptions.TTL) // it notices, at the latest at its next renewal
	require.NoError(t, h.release(ctx))

	var r result
	select {
	case r = <-acquired:
	case <-time.After(5 * time.Second):
		t.Fatal("the contender did not acquire after its session was destroyed and the holder released")
	}
	require.NoError(t, r.err)
	sid := contender.session()
	require.NotEqual(t, first, sid, "held on the destroyed session")
	info, _, err := c.Session.Get(ctx, sid)
	require.NoError(t, err)
	require.NotNil(t, info)
	require.NoError(t, r.held.Err())
	require.NoError(t, contender.release(ctx))
	require.Zero(t, sessionsNamed(t, c, contenderOpts.SessionOptions.Name), "every session of the contender is destroyed")
}

func TestLockContenderSessionReplaced(t *testing.T) {
	t.Parallel()
	testContenderSessionReplaced(t, kindLock)
}

func TestSemaphoreContenderSessionReplaced(t *testing.T) {
	t.Parallel()
	testContenderSessionReplaced(t, kindSemaphore)
}

func TestLockGivenSessionInvalidatedWhileWaiting(t *testing.T) {
	t.Parallel()
	// A session the caller gave is not ours to replace: once it is found
	// invalid, Lock says so.
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	key := uniq(t, "lock")
	h, err := concurrency.NewLock(c, key, faultOpts(uniq(t, "s")))
	require.NoError(t, err)
	_, err = h.Lock(ctx)
	require.NoError(t, err)
	sid, err := c.Session.Create(ctx, &consul.SessionEntry{TTL: 10 * time.Second, LockDelay: consul.NoLockDelay})
	require.NoError(t, err)
	sess, err := concurrency.NewSessionFromID(ctx, c, sid)
	require.NoError(t, err)
	opts := faultOpts("")
	opts.SessionOptions = nil
	opts.Session = sess
	l, err := concurrency.NewLock(c, key, opts)
	require.NoError(t, err)
	errc := make(chan error, 1)
	go func() {
		held, err := l.Lock(ctx)
		if err == nil {
			err = errors.New("acquired")
			_ = held
		}
		errc <- err
	}()
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, c.Session.Destroy(ctx, sid))
	select {
	case <-sess.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the session's end was not noticed")
	}
	require.ErrorIs(t, sess.Err(), concurrency.ErrSessionLost)
	require.NoError(t, h.Unlock(ctx))
	select {
	case err := <-errc:
		require.ErrorIs(t, err, concurrency.ErrSessionLost)
	case <-time.After(5 * time.Second):
		t.Fatal("Lock kept trying with an invalid session")
	}
	pair, _, err := c.KV.Get(ctx, key)
	require.NoError(t, err)
	require.Empty(t, pair.Session)
}

func TestLockRetryAfterCapped(t *testing.T) {
	t.Parallel()
	// A contender's blocking reads answered 503 with Retry-After: 30 wait
	// at most MaxBackoff between tries: it acquires soon after the holder
	// releases, not 30s later.
	srv := testAgent(t)
	ctx := testCtx(t)
	key := uniq(t, "lock")
	opts := faultOpts(uniq(t, "s"))
	h, err := concurrency.NewLock(newClient(t, srv), key, opts)
	require.NoError(t, err)
	_, err = h.Lock(ctx)
	require.NoError(t, err)

	pc, p := proxiedClient(t, srv)
	reads := p.OnFunc(func(r *http.Request) bool { return kindLock.watch(key, r) }).Status(503, 30*time.Second, "")
	contender, err := concurrency.NewLock(pc, key, opts)
	require.NoError(t, err)
	errc := make(chan error, 1)
	go func() {
		_, err := contender.Lock(ctx)
		errc <- err
	}()
	time.Sleep(2 * time.Second)
	n := reads.Count()
	// Honouring the Retry-After would allow one read in 2s; capped at
	// MaxBackoff (500ms), a failed blocking read is followed by a plain read
	// (not faulted here) and the next blocking read: at least two in 2s,
	// even on a loaded machine.
	require.GreaterOrEqual(t, n, 2, "a Retry-After of 30s was honoured beyond MaxBackoff (%s)", opts.MaxBackoff)
	released := time.Now()
	require.NoError(t, h.Unlock(ctx))
	select {
	case err := <-errc:
		require.NoError(t, err)
	case <-time.After(opts.MaxBackoff + 3*time.Second):
		t.Fatal("the contender slept a Retry-After longer than MaxBackoff")
	}
	t.Logf("%d blocking reads answered 503 Retry-After: 30 in 2s (MaxBackoff %s); acquired %s after the release", n, opts.MaxBackoff, time.Since(released).Round(time.Millisecond))
	require.NoError(t, contender.Unlock(ctx))
}

func TestLockLossSeenByRenewerDespiteWatchFault(t *testing.T) {
	t.Parallel()
	// The watch of the key is stuck behind 503s with Retry-After: 30; the
	// renewer still sees the session destroyed at its next renewal.
	srv := testAgent(t)
	ctx := testCtx(t)
	key := uniq(t, "lock")
	opts := faultOpts(uniq(t, "s"))
	pc, p := proxiedClient(t, srv)
	l, err := concurrency.NewLock(pc, key, opts)
	require.NoError(t, err)
	held, err := l.Lock(ctx)
	require.NoError(t, err)
	sid := l.Session()
	// Every read of the key fails: the blocking reads of the watch and the
	// plain read it makes after a failure.
	p.OnFunc(func(r *http.Request) bool { return r.Method == http.MethodGet && r.URL.Path == "/v1/kv/"+key }).Status(503, 30*time.Second, "")
	time.Sleep(200 * time.Millisecond)
	destroyed := time.Now()
	require.NoError(t, newClient(t, srv).Session.Destroy(ctx, sid))
	waitDone(t, held, opts.SessionOptions.TTL/2+time.Second, "the loss went unnoticed")
	require.ErrorIs(t, context.Cause(held), concurrency.ErrLockLost)
	require.ErrorIs(t, context.Cause(held), concurrency.ErrSessionLost)
	t.Logf("lost %s after the session was destroyed: %v", time.Since(destroyed).Round(time.Millisecond), context.Cause(held))
	p.Clear()
	require.NoError(t, l.Unlock(ctx))
}

// TestLockLossSeenThroughWatchedKey: the key goes to another session while
// the holder's session stays alive and renewed, with the same value and
// marker: only the watch of the key, comparing the session that holds it,
// can see the loss, within one blocking round.
func TestLockLossSeenThroughWatchedKey(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	key := uniq(t, "lock")
	opts := testOpts(uniq(t, "s"))
	opts.Value = []byte("v")
	l, err := concurrency.NewLock(c, key, opts)
	require.NoError(t, err)
	held, err := l.Lock(ctx)
	require.NoError(t, err)
	sid := l.Session()
	other, err := c.Session.Create(ctx, &consul.SessionEntry{TTL: 10 * time.Second, LockDelay: consul.NoLockDelay})
	require.NoError(t, err)
	defer c.Session.Destroy(ctx, other)

	// Anyone may release a key with its session's ID; the other session
	// takes it in the same transaction, writing what the holder wrote.
	stolen := time.Now()
	_, _, err = c.Txn.New().
		KV(consul.KVTxnOp{Verb: consul.KVUnlock, Key: key, Value: []byte("v"), Flags: concurrency.LockFlags, Session: sid}).
		KV(consul.KVTxnOp{Verb: consul.KVLock, Key: key, Value: []byte("v"), Flags: concurrency.LockFlags, Session: other}).
		Execute(ctx)
	require.NoError(t, err)
	waitDone(t, held, 2*time.Second, "the key went to another session unnoticed")
	require.ErrorIs(t, context.Cause(held), concurrency.ErrLockLost)
	require.NotErrorIs(t, context.Cause(held), concurrency.ErrSessionLost, "seen through the key, not the session")
	t.Logf("lost %s after the key went to another session: %v", time.Since(stolen).Round(time.Millisecond), context.Cause(held))
	// Seen through the key: the cause names the session now holding it.
	// (The holder's session was alive, renewed, until the loss; the lock
	// then destroys the session it created, so it is not looked up here.)
	require.Contains(t, context.Cause(held).Error(), "held by session "+other)
	require.NoError(t, l.Unlock(ctx))
	pair, _, err := c.KV.Get(ctx, key)
	require.NoError(t, err)
	require.Equal(t, other, pair.Session, "Unlock leaves another session's hold alone")
}

func TestLockNotHeldOnUnconfirmedSession(t *testing.T) {
	t.Parallel()
	// A contender whose renewals fail, and whose acquisitions are answered
	// only after its session's deadline, is never told it holds the lock,
	// and the key is never held by it meanwhile: its session ends at the
	// deadline, which abandons the acquisition; it waits with a new session
	// and acquires once its requests go through again.
	srv := testAgent(t)
	ctx := testCtx(t)
	key := uniq(t, "lock")
	opts := faultOpts(uniq(t, "s"))
	c := newClient(t, srv)
	h, err := concurrency.NewLock(c, key, opts)
	require.NoError(t, err)
	_, err = h.Lock(ctx)
	require.NoError(t, err)

	pc, p := proxiedClient(t, srv)
	contender, err := concurrency.NewLock(pc, key, opts)
	require.NoError(t, err)
	type result struct {
		held context.Context
		err  error
		at   time.Time
	}
	acquired := make(chan result, 1)
	go func() {
		held, err := contender.Lock(ctx)
		acquired <- result{held, err, time.Now()}
	}()
	time.Sleep(500 * time.Millisecond)

	p.On(http.MethodPut, "/v1/session/renew/").Status(500, 0, "")
	acquires := p.OnFunc(isTxn).Delay(2 * time.Second)
	require.NoError(t, h.Unlock(ctx))
	heldBy := map[string]bool{}
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		pair, _, err := c.KV.Get(ctx, key)
		require.NoError(t, err)
		if pair != nil && pair.Session != "" {
			heldBy[pair.Session] = true
		}
	}
	select {
	case r := <-acquired:
		t.Fatalf("Lock returned while no renewal of its session could be confirmed: %v", r.err)
	default:
	}
	require.Positive(t, acquires.Count())
	require.Empty(t, heldBy, "the key was held by a session that could not be vouched for")

	healed := time.Now()
	p.Clear()
	var r result
	select {
	case r = <-acquired:
	case <-time.After(5 * time.Second):
		t.Fatal("the contender did not acquire once its requests went through again")
	}
	require.NoError(t, r.err)
	t.Logf("acquired %s after the faults ended; %d acquisitions delayed", r.at.Sub(healed).Round(time.Millisecond), acquires.Count())
	f := &fencer{c: c, key: key, counter: key + "-fence", sid: contender.Session()}
	_, refused, err := f.increment(ctx)
	require.NoError(t, err)
	require.False(t, refused)
	require.NoError(t, r.held.Err())
	require.NoError(t, contender.Unlock(ctx))
}
