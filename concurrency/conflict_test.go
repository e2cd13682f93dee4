package concurrency_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/concurrency"
	"github.com/stretchr/testify/require"
)

// on makes a holder of kind whose keys collide with every other kind's on
// base: a lock's and an election's key is base/.lock, a semaphore's prefix
// is base (its holders are in base/.lock).
func on(t *testing.T, kind primitive, c *consul.Client, base string, opts *concurrency.LockOptions) holder {
	if kind.name == "semaphore" {
		return kind.make(t, c, base, opts)
	}
	return kind.make(t, c, base+"/.lock", opts)
}

// snapshot is every key under base/ as it is: value, flags, session and
// index.
func snapshot(t *testing.T, c *consul.Client, base string) map[string]string {
	t.Helper()
	pairs, _, err := c.KV.List(testCtx(t), base+"/")
	require.NoError(t, err)
	m := make(map[string]string, len(pairs))
	for _, p := range pairs {
		m[p.Key] = fmt.Sprintf("value=%q flags=%#x session=%s modify=%d lock=%d", p.Value, p.Flags, p.Session, p.ModifyIndex, p.LockIndex)
	}
	return m
}

// requireConflict checks that err is a *KeyConflictError saying that key
// holds holds.
func requireConflict(t *testing.T, err error, key, holds string) {
	t.Helper()
	require.ErrorIs(t, err, concurrency.ErrKeyConflict)
	var ke *concurrency.KeyConflictError
	require.ErrorAs(t, err, &ke)
	require.Equal(t, key, ke.Key)
	require.Equal(t, holds, ke.Holds)
}

var holdsOf = map[string]string{"lock": "a lock", "semaphore": "a semaphore", "election": "an election"}

// TestPrimitivesRefuseEachOthersKeys: for every pair of primitives, one
// holds and the other is asked to use the same keys (a lock or an
// election on a semaphore's .lock key, a semaphore on the prefix of a
// lock's or an election's .lock key): it is refused with a
// *KeyConflictError naming the key and what it holds, at once, nothing is
// overwritten, the holder keeps its hold, and the refused primitive's
// session is cleaned up.
func TestPrimitivesRefuseEachOthersKeys(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	for _, first := range kinds {
		for _, second := range kinds {
			if first.name == second.name {
				continue
			}
			t.Run(first.name+" then "+second.name, func(t *testing.T) {
				t.Parallel()
				ctx := testCtx(t)
				base := uniq(t, "k")
				h := on(t, first, c, base, testOpts(uniq(t, "first")))
				held, err := h.acquire(ctx)
				require.NoError(t, err)
				before := snapshot(t, c, base)

				name := uniq(t, "second")
				o := on(t, second, c, base, testOpts(name))
				// Refused at once, not after waiting.
				short, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				got, err := o.acquire(short)
				require.Nil(t, got)
				requireConflict(t, err, base+"/.lock", holdsOf[first.name])
				require.Equal(t, before, snapshot(t, c, base), "nothing was overwritten")
				require.NoError(t, held.Err(), "the holder lost its hold: %v", context.Cause(held))
				require.Zero(t, sessionsNamed(t, c, name), "the refused primitive's session is destroyed")
				require.ErrorIs(t, o.destroy(ctx), concurrency.ErrKeyConflict, "Destroy refuses another primitive's keys")
				require.Equal(t, before, snapshot(t, c, base))
				require.NoError(t, h.release(ctx))
			})
		}
	}
	// A lock on a semaphore's contender key.
	t.Run("semaphore then lock on a contender key", func(t *testing.T) {
		t.Parallel()
		ctx := testCtx(t)
		base := uniq(t, "k")
		s, err := concurrency.NewSemaphore(c, base, 2, testOpts(uniq(t, "sem")))
		require.NoError(t, err)
		held, err := s.Acquire(ctx)
		require.NoError(t, err)
		before := snapshot(t, c, base)
		l, err := concurrency.NewLock(c, s.Key(), testOpts(uniq(t, "lock")))
		require.NoError(t, err)
		_, err = l.TryLock(ctx)
		requireConflict(t, err, s.Key(), "a semaphore")
		require.Equal(t, before, snapshot(t, c, base))
		require.NoError(t, held.Err())
		require.NoError(t, s.Release(ctx))
	})
}

// TestPrimitivesRefusePlainData: every primitive refuses a key or prefix
// holding data it did not write (a value without a marker, or flags that
// are no marker), and writes nothing.
func TestPrimitivesRefusePlainData(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	cases := []struct {
		name  string
		key   string // under base
		flags uint64
		holds string
	}{
		{"plain data on the key", ".lock", 0, "plain data"},
		{"foreign flags on the key", ".lock", 42, "data with flags 0x2a"},
	}
	for _, kind := range kinds {
		for _, tc := range cases {
			t.Run(kind.name+" "+tc.name, func(t *testing.T) {
				t.Parallel()
				ctx := testCtx(t)
				base := uniq(t, "k")
				require.NoError(t, c.KV.Put(ctx, base+"/"+tc.key, []byte("someone's data"), consul.Flags(tc.flags)))
				before := snapshot(t, c, base)
				name := uniq(t, "s")
				h := on(t, kind, c, base, testOpts(name))
				short, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				held, err := h.acquire(short)
				require.Nil(t, held)
				requireConflict(t, err, base+"/"+tc.key, tc.holds)
				require.Equal(t, before, snapshot(t, c, base), "nothing was overwritten")
				require.Zero(t, sessionsNamed(t, c, name))
			})
		}
	}
	// A semaphore refuses a prefix holding plain data under any key.
	t.Run("semaphore with plain data under its prefix", func(t *testing.T) {
		t.Parallel()
		ctx := testCtx(t)
		base := uniq(t, "k")
		require.NoError(t, c.KV.Put(ctx, base+"/config", []byte("x")))
		before := snapshot(t, c, base)
		s, err := concurrency.NewSemaphore(c, base, 3, testOpts(uniq(t, "s")))
		require.NoError(t, err)
		_, err = s.TryAcquire(ctx)
		requireConflict(t, err, base+"/config", "plain data")
		require.Equal(t, before, snapshot(t, c, base))
		require.ErrorIs(t, s.Destroy(ctx), concurrency.ErrKeyConflict)
		require.Equal(t, before, snapshot(t, c, base))
	})
	// An election's observers are refused too.
	t.Run("election leader of plain data", func(t *testing.T) {
		t.Parallel()
		ctx := testCtx(t)
		key := uniq(t, "k")
		require.NoError(t, c.KV.Put(ctx, key, []byte("x")))
		e, err := concurrency.NewElection(c, key, nil)
		require.NoError(t, err)
		_, _, err = e.Leader(ctx)
		requireConflict(t, err, key, "plain data")
	})
}

// TestHolderLosesOnOverwrite: a holder whose key is overwritten by a plain
// KV.Put (which keeps the key's session) loses its hold within one
// blocking round, though its session lives on; and neither the loss (which
// closes the holder's session, whatever its behavior) nor the release
// deletes or changes what was written.
func TestHolderLosesOnOverwrite(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	type overwrite struct {
		name     string
		key      func(h holder, base string) string // the key to overwrite
		flags    uint64
		behavior consul.SessionBehavior
		same     bool // put back the key's own value and flags
	}
	holderKey := func(h holder, _ string) string { return h.fenceKey(h.session()) }
	cases := map[string][]overwrite{
		"lock": {
			{"plain put", holderKey, 0, "", false},
			{"put with the marker", holderKey, concurrency.LockFlags, "", false},
			{"plain put, delete behavior", holderKey, 0, consul.SessionDelete, false},
			{"put of its own value and flags", holderKey, 0, "", true},
		},
		"election": {
			{"plain put", holderKey, 0, "", false},
			{"put of its own value and flags", holderKey, 0, "", true},
		},
		"semaphore": {
			// The semaphore's sessions have the delete behavior.
			{"plain put on the contender key", holderKey, 0, "", false},
			{"plain put on .lock", func(_ holder, base string) string { return base + "/.lock" }, 0, "", false},
			{"put of its own value and flags on the contender key", holderKey, 0, "", true},
		},
	}
	for _, kind := range kinds {
		for _, ow := range cases[kind.name] {
			t.Run(kind.name+" "+ow.name, func(t *testing.T) {
				t.Parallel()
				ctx := testCtx(t)
				base := uniq(t, "k")
				opts := testOpts(uniq(t, "s"))
				opts.SessionOptions.Behavior = ow.behavior
				h := on(t, kind, c, base, opts)
				held, err := h.acquire(ctx)
				require.NoError(t, err)
				sid := h.session()
				key := ow.key(h, base)
				time.Sleep(100 * time.Millisecond) // the watch is blocking
				value, flags := []byte("overwritten"), ow.flags
				if ow.same {
					pair := mustGet(t, c, key)
					value, flags = pair.Value, pair.Flags
				}
				written := time.Now()
				require.NoError(t, c.KV.Put(ctx, key, value, consul.Flags(flags)))
				// The holder may already have noticed and unlocked the key:
				// a session on it can only be the holder's.
				if pair := mustGet(t, c, key); pair.Session != "" {
					require.Equal(t, sid, pair.Session, "a plain put keeps the key's session")
				}
				waitDone(t, held, time.Second, "the overwrite went unnoticed")
				require.ErrorIs(t, context.Cause(held), concurrency.ErrLockLost)
				require.NotErrorIs(t, context.Cause(held), concurrency.ErrSessionLost)
				t.Logf("lost %s after the overwrite: %v", time.Since(written).Round(time.Millisecond), context.Cause(held))
				requireWritten := func(when string) {
					t.Helper()
					pair := mustGet(t, c, key)
					require.Equal(t, string(value), string(pair.Value), "%s: what was written changed", when)
					require.Equal(t, flags, pair.Flags, when)
				}
				// The loss closes the session the holder created: the
				// session's end must not take what was written along.
				require.Eventually(t, func() bool {
					info, _, err := c.Session.Get(ctx, sid)
					return err == nil && info == nil
				}, 5*time.Second, 20*time.Millisecond, "the lost holder's session was not closed")
				requireWritten("after the loss")
				require.NoError(t, h.release(ctx))
				requireWritten("after the release")
				require.Empty(t, mustGet(t, c, key).Session)
			})
		}
	}
}

// TestDestroy: Destroy deletes a primitive's keys when nobody holds or
// waits for them, and refuses with ErrInUse otherwise, changing nothing.
func TestDestroy(t *testing.T) {
	t.Parallel()
	c := newClient(t, testAgent(t))
	for _, kind := range []primitive{kindLock, kindElection} {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			base := uniq(t, "k")
			key := base + "/.lock"
			opts := testOpts(uniq(t, "s"))
			a := on(t, kind, c, base, opts)
			b := on(t, kind, c, base, opts)
			require.NoError(t, a.destroy(ctx), "a missing key")
			_, err := a.acquire(ctx)
			require.NoError(t, err)
			before := snapshot(t, c, base)
			require.ErrorIs(t, a.destroy(ctx), concurrency.ErrInUse, "the holder itself")
			require.ErrorIs(t, b.destroy(ctx), concurrency.ErrInUse, "a held key")
			require.Equal(t, before, snapshot(t, c, base))
			require.NoError(t, a.release(ctx))
			mustGet(t, c, key) // released, not deleted
			require.NoError(t, b.destroy(ctx), "a free key")
			pair, _, err := c.KV.Get(ctx, key)
			require.NoError(t, err)
			require.Nil(t, pair)
			// It can be used again.
			_, err = b.acquire(ctx)
			require.NoError(t, err)
			require.NoError(t, b.release(ctx))
			require.NoError(t, b.destroy(ctx))
		})
	}
	t.Run("semaphore", func(t *testing.T) {
		t.Parallel()
		ctx := testCtx(t)
		prefix := uniq(t, "sem")
		opts := testOpts(uniq(t, "s"))
		sems := make([]*concurrency.Semaphore, 3)
		for i := range sems {
			s, err := concurrency.NewSemaphore(c, prefix, 1, opts)
			require.NoError(t, err)
			sems[i] = s
		}
		a, b, d := sems[0], sems[1], sems[2]
		require.NoError(t, d.Destroy(ctx), "a missing prefix")
		_, err := a.Acquire(ctx)
		require.NoError(t, err)
		// b contends: its contender key waits under the prefix.
		errc := make(chan error, 1)
		go func() {
			_, err := b.Acquire(ctx)
			errc <- err
		}()
		require.Eventually(t, func() bool { return len(snapshot(t, c, prefix)) == 3 }, 5*time.Second, 10*time.Millisecond)
		before := snapshot(t, c, prefix)
		require.ErrorIs(t, d.Destroy(ctx), concurrency.ErrInUse, "holder and contender")
		require.Equal(t, before, snapshot(t, c, prefix))
		require.NoError(t, a.Release(ctx))
		require.NoError(t, <-errc)
		require.ErrorIs(t, d.Destroy(ctx), concurrency.ErrInUse, "a holder")
		require.NoError(t, b.Release(ctx))
		require.Equal(t, []string{prefix + "/.lock"}, keysOf(snapshot(t, c, prefix)))
		// A contender key left behind by a session of the release behavior
		// is deleted too.
		require.NoError(t, c.KV.Put(ctx, prefix+"/stale", nil, consul.Flags(concurrency.SemaphoreFlags)))
		require.NoError(t, d.Destroy(ctx))
		require.Empty(t, snapshot(t, c, prefix))
	})
}

func keysOf(m map[string]string) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}
