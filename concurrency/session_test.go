package concurrency_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/concurrency"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSessionOptionsWire(t *testing.T) {
	t.Parallel()
	const sid = "5e1a2c3d-0000-4000-8000-000000000001"
	w, c := newWire(t, reply{Body: `{"ID":"` + sid + `"}`}, reply{Body: "true"})
	ctx := testCtx(t)
	s, err := concurrency.NewSession(ctx, c, &concurrency.SessionOptions{
		Name:          "n",
		TTL:           20 * time.Second,
		LockDelay:     20 * time.Second, // tied to a check: at least the TTL
		Behavior:      consul.SessionDelete,
		Node:          "node-1",
		NodeChecks:    []string{},
		ServiceChecks: []consul.SessionServiceCheck{{ID: "web-check"}},
	})
	require.NoError(t, err)
	require.Equal(t, sid, s.ID())
	require.Equal(t, 20*time.Second, s.TTL())
	require.NoError(t, s.Err())
	require.NoError(t, s.Close(ctx))
	require.NoError(t, s.Close(ctx), "closing twice")
	reqs := w.requests()
	require.Len(t, reqs, 2, "one create, one destroy, no renewal yet")
	reqs[0].expect(t, "PUT", "/v1/session/create", nil)
	require.JSONEq(t, `{"Name":"n","Node":"node-1","LockDelay":"20s","Behavior":"delete","TTL":"20s","NodeChecks":[],"ServiceChecks":[{"ID":"web-check"}]}`, reqs[0].Body)
	reqs[1].expect(t, "PUT", "/v1/session/destroy/"+sid, nil)
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed by Close")
	}
	require.ErrorIs(t, s.Err(), concurrency.ErrSessionClosed)

	// The defaults.
	w, c = newWire(t, reply{Body: `{"ID":"` + sid + `"}`}, reply{Body: "true"})
	s, err = concurrency.NewSession(ctx, c, nil)
	require.NoError(t, err)
	require.Equal(t, concurrency.DefaultSessionTTL, s.TTL())
	require.NoError(t, s.Close(ctx))
	// NodeChecks sent empty: left out, Consul would tie the session to
	// the node's serfHealth check.
	require.JSONEq(t, `{"Name":"goconsul session","Behavior":"release","TTL":"15s","NodeChecks":[]}`, w.requests()[0].Body)
}

// TestSessionRenewedUntilClosed: a session lives well past twice its TTL
// (Consul would have invalidated it without renewals), and Close ends and
// destroys it.
func TestSessionRenewedUntilClosed(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	s, err := concurrency.NewSession(ctx, c, &concurrency.SessionOptions{TTL: 2 * time.Second})
	require.NoError(t, err)
	time.Sleep(5 * time.Second)
	require.NoError(t, s.Err())
	info, _, err := c.Session.Get(ctx, s.ID())
	require.NoError(t, err)
	require.NotNil(t, info, "not renewed")
	require.NoError(t, s.Close(ctx))
	require.ErrorIs(t, s.Err(), concurrency.ErrSessionClosed)
	info, _, err = c.Session.Get(ctx, s.ID())
	require.NoError(t, err)
	require.Nil(t, info, "Close destroys the session")
}

func TestSessionLostWhenDestroyed(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	s, err := concurrency.NewSession(ctx, c, &concurrency.SessionOptions{TTL: 2 * time.Second})
	require.NoError(t, err)
	require.NoError(t, c.Session.Destroy(ctx, s.ID()))
	select {
	case <-s.Done():
	case <-time.After(s.TTL()/2 + time.Second):
		t.Fatal("the loss was not seen at the next renewal")
	}
	require.ErrorIs(t, s.Err(), concurrency.ErrSessionLost)
	require.NoError(t, s.Close(ctx))
	require.ErrorIs(t, s.Err(), concurrency.ErrSessionLost, "Close keeps the reason of a loss")
}

// TestSessionSharedByPrimitives: a lock, a semaphore and an election hold
// with one session; the same key cannot be held twice with it; when the
// session is lost, every hold ends, and a new acquisition says why.
func TestSessionSharedByPrimitives(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	s, err := concurrency.NewSession(ctx, c, &concurrency.SessionOptions{TTL: 10 * time.Second, LockDelay: consul.NoLockDelay})
	require.NoError(t, err)
	defer s.Close(ctx)
	opts := &concurrency.LockOptions{Session: s}
	base := uniq(t, "k")
	l, err := concurrency.NewLock(c, base+"/lock", opts)
	require.NoError(t, err)
	sem, err := concurrency.NewSemaphore(c, base+"/sem", 2, opts)
	require.NoError(t, err)
	e, err := concurrency.NewElection(c, base+"/leader", opts)
	require.NoError(t, err)
	var holds []context.Context
	for _, acquire := range []func(context.Context) (context.Context, error){
		l.Lock, sem.Acquire, func(ctx context.Context) (context.Context, error) { return e.Campaign(ctx, []byte("me")) },
	} {
		held, err := acquire(ctx)
		require.NoError(t, err)
		holds = append(holds, held)
	}
	require.Equal(t, s.ID(), l.Session())
	require.Equal(t, s.ID(), sem.Session())
	require.Equal(t, s.ID(), e.Session())

	twin, err := concurrency.NewLock(c, base+"/lock", opts)
	require.NoError(t, err)
	_, err = twin.TryLock(ctx)
	require.ErrorIs(t, err, concurrency.ErrBusy, "Consul cannot tell two holders of one session apart")

	// Releasing one leaves the session and the others alone.
	require.NoError(t, sem.Release(ctx))
	require.NoError(t, s.Err())
	require.NoError(t, holds[0].Err())
	held, err := sem.Acquire(ctx)
	require.NoError(t, err)
	holds[1] = held

	require.NoError(t, c.Session.Destroy(ctx, s.ID()))
	for i, h := range holds {
		waitDone(t, h, 6*time.Second, "a hold outlived its session")
		require.ErrorIs(t, context.Cause(h), concurrency.ErrLockLost, "hold %d", i)
	}
	select {
	case <-s.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("the loss of a hold did not end the session it showed gone")
	}
	require.ErrorIs(t, s.Err(), concurrency.ErrSessionLost)
	_, err = twin.Lock(ctx)
	require.ErrorIs(t, err, concurrency.ErrSessionLost)
	require.NoError(t, l.Unlock(ctx))
	require.NoError(t, sem.Release(ctx))
	require.NoError(t, e.Resign(ctx))
}

// TestSessionEndsAtItsDeadline: when no renewal is confirmed, the session
// ends no later than its TTL after the last one that could have been, and
// so do the holds on it.
func TestSessionEndsAtItsDeadline(t *testing.T) {
	t.Parallel()
	pc, p := proxiedClient(t, testAgent(t))
	ctx := testCtx(t)
	s, err := concurrency.NewSession(ctx, pc, &concurrency.SessionOptions{TTL: 2 * time.Second, LockDelay: consul.NoLockDelay})
	require.NoError(t, err)
	l, err := concurrency.NewLock(pc, uniq(t, "lock"), &concurrency.LockOptions{Session: s})
	require.NoError(t, err)
	held, err := l.Lock(ctx)
	require.NoError(t, err)
	time.Sleep(1500 * time.Millisecond)
	require.NoError(t, s.Err())
	faultAt := time.Now()
	p.On(http.MethodPut, "/v1/session/renew/").Status(500, 0, "")
	select {
	case <-s.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("the session outlived its deadline")
	}
	lost := time.Since(faultAt)
	require.LessOrEqual(t, lost, s.TTL())
	require.ErrorIs(t, s.Err(), concurrency.ErrSessionLost)
	waitDone(t, held, 100*time.Millisecond, "the hold outlived its session")
	require.ErrorIs(t, context.Cause(held), concurrency.ErrSessionLost)
	t.Logf("ended %s after the renewals started failing (TTL %s): %v", lost.Round(time.Millisecond), s.TTL(), s.Err())
	p.Clear()
	require.NoError(t, l.Unlock(ctx))
	require.NoError(t, s.Close(ctx))
}

// logBuffer is a concurrency-safe text log.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLoggerReceivesRenewalFailuresAndLosses: the renewal failures (Warn)
// and the losses of the session and of the lock (Error) reach the client's
// logger, and the token never does, even one echoed by the agent.
func TestLoggerReceivesRenewalFailuresAndLosses(t *testing.T) {
	t.Parallel()
	const token = "7c1d9e2f-3a4b-4c5d-8e6f-0a1b2c3d4e5f"
	buf := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	pc, p := proxiedClient(t, testAgent(t), consul.Config{Token: token, Logger: logger})
	ctx := testCtx(t)
	opts := faultOpts(uniq(t, "s"))
	l, err := concurrency.NewLock(pc, uniq(t, "lock"), opts)
	require.NoError(t, err)
	held, err := l.Lock(ctx)
	require.NoError(t, err)
	p.On(http.MethodPut, "/v1/session/renew/").Status(500, 0, "no leader, token "+token)
	waitDone(t, held, opts.SessionOptions.TTL+time.Second, "the lock outlived its session's deadline")
	p.Clear()
	require.NoError(t, l.Unlock(ctx))
	out := buf.String()
	assert.Contains(t, out, `level=WARN msg="consul: session renewal failed, retrying"`)
	assert.Contains(t, out, `level=ERROR msg="consul: session lost"`)
	assert.Contains(t, out, `level=ERROR msg="consul: lock lost"`)
	assert.Contains(t, out, "session="+l.Key()[:0]) // attributes are there
	assert.NotContains(t, out, token, "a token reached the log")
	assert.Contains(t, out, "<redacted>", "the echoed token was logged redacted")
	require.True(t, strings.Count(out, "session renewal failed") >= 2, out)
}
