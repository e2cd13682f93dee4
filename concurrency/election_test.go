package concurrency_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/concurrency"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestElectionOneLeaderAndHandover(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	key := uniq(t, "leader")
	opts := testOpts(uniq(t, "s"))
	opts.SessionOptions.LockDelay = 3 * time.Second // handovers must not wait for it

	// An observer records each leader it sees.
	obs, err := concurrency.NewElection(c, key, nil)
	require.NoError(t, err)
	octx, ostop := context.WithCancel(ctx)
	var omu sync.Mutex
	var observed []string
	odone := make(chan struct{})
	go func() {
		defer close(odone)
		for l, err := range obs.Observe(octx, consul.WatchMinInterval(0)) {
			if err != nil {
				continue
			}
			omu.Lock()
			if l == nil {
				observed = append(observed, "-")
			} else {
				observed = append(observed, string(l.Value))
			}
			omu.Unlock()
		}
	}()

	const candidates, terms = 3, 2
	var leaders atomic.Int32
	var mu sync.Mutex
	var resignedAt time.Time
	var handovers []time.Duration
	var wg sync.WaitGroup
	for i := 0; i < candidates; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := concurrency.NewElection(c, key, opts)
			if !assert.NoError(t, err) {
				return
			}
			for term := 0; term < terms; term++ {
				me := fmt.Sprintf("node-%d-term-%d", i, term)
				lead, err := e.Campaign(ctx, []byte(me))
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				if !resignedAt.IsZero() {
					handovers = append(handovers, time.Since(resignedAt))
				}
				mu.Unlock()
				assert.Equal(t, int32(1), leaders.Add(1), "two leaders at once")
				cur, _, err := e.Leader(ctx)
				assert.NoError(t, err)
				if assert.NotNil(t, cur) {
					assert.Equal(t, me, string(cur.Value))
					assert.Equal(t, e.Session(), cur.Session)
				}
				time.Sleep(150 * time.Millisecond)
				assert.NoError(t, lead.Err())
				leaders.Add(-1)
				mu.Lock()
				resignedAt = time.Now()
				mu.Unlock()
				assert.NoError(t, e.Resign(ctx))
			}
		}()
	}
	wg.Wait()
	require.Len(t, handovers, candidates*terms-1)
	for _, d := range handovers {
		require.Less(t, d, opts.SessionOptions.LockDelay, "a new leader within the lock-delay after a resignation")
	}
	t.Logf("handovers after resign: %v", handovers)

	// The observer's watch answers late on a loaded machine: after the
	// answers in flight came, wait for it to show the vacancy.
	time.Sleep(300 * time.Millisecond)
	require.Eventually(t, func() bool {
		omu.Lock()
		defer omu.Unlock()
		return len(observed) > 0 && observed[len(observed)-1] == "-"
	}, 10*time.Second, 10*time.Millisecond, "the observer saw no vacancy after the last resignation")
	ostop()
	<-odone
	// The observer sees states, not every event (a release and the next
	// acquire can land between two of its reads): it saw leaders, and the
	// vacancy after the last resignation.
	require.NotEmpty(t, observed)
	require.Equal(t, "-", observed[len(observed)-1], "no leader after the last resignation")
	leadersSeen := 0
	for _, o := range observed {
		if o != "-" {
			leadersSeen++
		}
	}
	require.GreaterOrEqual(t, leadersSeen, 2, "observed: %v", observed)
}

func TestElectionProclaimAndLoss(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	key := uniq(t, "leader")
	e, err := concurrency.NewElection(c, key, testOpts(uniq(t, "s")))
	require.NoError(t, err)
	require.ErrorIs(t, e.Proclaim(ctx, []byte("x")), concurrency.ErrLockNotHeld)
	none, _, err := e.Leader(ctx)
	require.NoError(t, err)
	require.Nil(t, none)

	lead, err := e.Campaign(ctx, []byte("a"))
	require.NoError(t, err)
	require.NoError(t, e.Proclaim(ctx, []byte("b")))
	cur, _, err := e.Leader(ctx)
	require.NoError(t, err)
	require.Equal(t, "b", string(cur.Value))
	require.Equal(t, concurrency.ElectionFlags, mustGet(t, c, key).Flags)
	// The proclamation is the leader's own write: the term goes on.
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, lead.Err(), "lost by its own proclamation: %v", context.Cause(lead))

	// Losing the session ends the term.
	require.NoError(t, c.Session.Destroy(ctx, cur.Session))
	waitDone(t, lead, 5*time.Second, "leadership loss not noticed")
	require.ErrorIs(t, context.Cause(lead), concurrency.ErrLockLost)
	require.ErrorIs(t, e.Proclaim(ctx, []byte("c")), concurrency.ErrLockNotHeld)
	require.NoError(t, e.Resign(ctx))
}

// TestElectionProclaimOutrunsStaleAnswer: an answer of the term's watch
// that left the agent before a proclamation and arrives after it shows
// the old value; it is older than the proclamation, which proved the
// session held the key, and ends nothing.
func TestElectionProclaimOutrunsStaleAnswer(t *testing.T) {
	t.Parallel()
	srv := testAgent(t)
	c, p := proxiedClient(t, srv)
	ctx := testCtx(t)
	key := uniq(t, "leader")
	reads := p.On("GET", "/v1/kv/"+key).DelayAnswer(time.Second)
	e, err := concurrency.NewElection(c, key, testOpts(uniq(t, "s")))
	require.NoError(t, err)
	lead, err := e.Campaign(ctx, []byte("a"))
	require.NoError(t, err)
	// The watch's first read reaches the agent, which answers "a" at
	// once; the answer is held back while "b" is proclaimed.
	n := reads.Count()
	require.Eventually(t, func() bool { return reads.Count() > n }, 5*time.Second, 5*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, e.Proclaim(ctx, []byte("b")))
	require.Equal(t, "b", string(mustGet(t, newClient(t, srv), key).Value))
	// The stale "a" arrives, then the next read shows "b".
	require.Eventually(t, func() bool { return reads.Count() >= n+2 }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(1200 * time.Millisecond)
	require.NoError(t, lead.Err(), "lost by a stale answer: %v", context.Cause(lead))

	// A real overwrite after the proclamation still ends the term.
	reads.Pass()
	require.NoError(t, newClient(t, srv).KV.Put(ctx, key, []byte("b"), consul.Flags(concurrency.ElectionFlags)))
	waitDone(t, lead, 5*time.Second, "an overwrite with the same value and flags went unnoticed")
	require.ErrorIs(t, context.Cause(lead), concurrency.ErrLockLost)
	require.NoError(t, e.Resign(ctx))
}

func TestElectionCandidateWaitsFiveTTLs(t *testing.T) {
	t.Parallel()
	testContenderWaitsFiveTTLs(t, kindElection)
}

// mustGet reads a key that must exist.
func mustGet(t *testing.T, c *consul.Client, key string) *consul.KVPair {
	t.Helper()
	pair, _, err := c.KV.Get(testCtx(t), key)
	require.NoError(t, err)
	require.NotNil(t, pair, "key %s", key)
	return pair
}

// TestElectionProclaimNeverWritesIntoNextTerm: a proclamation still on its
// way when its term ends and a new one begins on the same shared session
// is refused (it writes on the term's last write), instead of writing into
// the new term and ending it.
func TestElectionProclaimNeverWritesIntoNextTerm(t *testing.T) {
	t.Parallel()
	srv := testAgent(t)
	direct := newClient(t, srv)
	c, p := proxiedClient(t, srv)
	ctx := testCtx(t)
	sess := sharedSession(t, direct)
	key := uniq(t, "leader")
	e, err := concurrency.NewElection(c, key, &concurrency.LockOptions{Session: sess, WaitTime: time.Second})
	require.NoError(t, err)
	_, err = e.Campaign(ctx, []byte("a"))
	require.NoError(t, err)

	var n atomic.Int32
	p.OnFunc(func(r *http.Request) bool { return isTxn(r) && n.Add(1) == 1 }).Delay(1500 * time.Millisecond)
	proclaimed := make(chan error, 1)
	go func() { proclaimed <- e.Proclaim(ctx, []byte("b")) }()
	require.Eventually(t, func() bool { return n.Load() >= 1 }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, e.Resign(ctx))
	term2, err := e.Campaign(ctx, []byte("c"))
	require.NoError(t, err)
	require.ErrorIs(t, <-proclaimed, concurrency.ErrLockNotHeld, "the first term's proclamation reached the second")
	require.Equal(t, "c", string(mustGet(t, direct, key).Value))
	time.Sleep(500 * time.Millisecond)
	require.NoError(t, term2.Err(), "the second term ended: %v", context.Cause(term2))
	require.NoError(t, e.Resign(ctx))
}

// TestElectionProclaimWithLostAnswer: a proclamation applied whose answer
// was cut reports success once the key shows it, and the term goes on
// with it (the next proclamation writes on it).
func TestElectionProclaimWithLostAnswer(t *testing.T) {
	t.Parallel()
	srv, p, key, e, term := proxiedTerm(t)
	ctx := testCtx(t)
	var n atomic.Int32
	p.OnFunc(func(r *http.Request) bool { return isTxn(r) && n.Add(1) == 1 }).CutMidBody()
	require.NoError(t, e.Proclaim(ctx, []byte("b")), "applied, though its answer was cut")
	require.Equal(t, int32(1), n.Load())
	require.Equal(t, "b", string(mustGet(t, newClient(t, srv), key).Value))
	require.NoError(t, e.Proclaim(ctx, []byte("c")))
	require.Equal(t, "c", string(mustGet(t, newClient(t, srv), key).Value))
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, term.Err(), "%v", context.Cause(term))
	require.NoError(t, e.Resign(ctx))
}
