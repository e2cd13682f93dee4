package concurrency_test

import (
	"context"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/concurrency"
	"github.com/stretchr/testify/require"
)

// TestZeroAndNilValuesRefusedWithoutPanic: every method of a nil or zero
// Session, Lock, Semaphore or Election (what a failed constructor
// returned, or a struct literal) returns an error or a zero result; none
// panics, hangs or sends anything. Constructors refuse a nil client, and
// a zero Session given as LockOptions.Session is refused.
func TestZeroAndNilValuesRefusedWithoutPanic(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var argErr *consul.ArgumentError

	for _, s := range []*concurrency.Session{nil, {}} {
		require.Empty(t, s.ID())
		require.Zero(t, s.TTL())
		require.ErrorIs(t, s.Err(), concurrency.ErrSessionClosed, "a session that never lived is not alive")
		select {
		case <-s.Done():
		default:
			t.Fatal("the Done channel of a session that never lived is open")
		}
		require.NoError(t, s.Close(ctx))
		require.NoError(t, s.Close(ctx))
	}

	for _, l := range []*concurrency.Lock{nil, {}} {
		_, err := l.Lock(ctx)
		require.ErrorAs(t, err, &argErr)
		_, err = l.TryLock(ctx)
		require.ErrorAs(t, err, &argErr)
		require.ErrorAs(t, l.Destroy(ctx), &argErr)
		require.ErrorIs(t, l.Unlock(ctx), concurrency.ErrLockNotHeld)
		require.Empty(t, l.Key())
		require.Empty(t, l.Session())
		require.Zero(t, l.Index())
	}

	for _, s := range []*concurrency.Semaphore{nil, {}} {
		_, err := s.Acquire(ctx)
		require.ErrorAs(t, err, &argErr)
		_, err = s.TryAcquire(ctx)
		require.ErrorAs(t, err, &argErr)
		require.ErrorAs(t, s.Destroy(ctx), &argErr)
		require.ErrorIs(t, s.Release(ctx), concurrency.ErrLockNotHeld)
		require.Empty(t, s.Prefix())
		require.Empty(t, s.Key())
		require.Empty(t, s.Session())
		require.Zero(t, s.Index())
	}

	for _, e := range []*concurrency.Election{nil, {}} {
		_, err := e.Campaign(ctx, []byte("v"))
		require.ErrorAs(t, err, &argErr)
		require.ErrorAs(t, e.Destroy(ctx), &argErr)
		_, _, err = e.Leader(ctx)
		require.ErrorAs(t, err, &argErr)
		n := 0
		for l, err := range e.Observe(ctx) {
			require.Nil(t, l)
			require.ErrorAs(t, err, &argErr)
			n++
		}
		require.Equal(t, 1, n, "Observe of a zero Election yields its error once and ends")
		require.ErrorIs(t, e.Resign(ctx), concurrency.ErrLockNotHeld)
		require.ErrorIs(t, e.Proclaim(ctx, []byte("v")), concurrency.ErrLockNotHeld)
		require.Empty(t, e.Key())
		require.Empty(t, e.Session())
		require.Zero(t, e.Index())
	}

	_, err := concurrency.NewSession(ctx, nil, nil)
	require.ErrorAs(t, err, &argErr)
	_, err = concurrency.NewSessionFromID(ctx, nil, "id")
	require.ErrorAs(t, err, &argErr)
	_, err = concurrency.NewLock(nil, "k", nil)
	require.ErrorAs(t, err, &argErr)
	_, err = concurrency.NewSemaphore(nil, "p", 1, nil)
	require.ErrorAs(t, err, &argErr)
	_, err = concurrency.NewElection(nil, "k", nil)
	require.ErrorAs(t, err, &argErr)

	c, err := consul.NewClient(consul.Config{Address: "127.0.0.1:1"})
	require.NoError(t, err)
	_, err = concurrency.NewLock(c, "k", &concurrency.LockOptions{Session: &concurrency.Session{}})
	require.ErrorAs(t, err, &argErr)
}
