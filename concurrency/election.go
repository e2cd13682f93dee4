package concurrency

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"

	"github.com/goconsul/consul"
)

// Leader is the leader of an election: the session holding the election's
// key and the value it proclaimed.
type Leader struct {
	Session string
	Value   []byte
	// LockIndex counts the acquisitions of the key: each new term has a
	// higher one (until the key is destroyed).
	LockIndex uint64
	// ModifyIndex is the key's ModifyIndex.
	ModifyIndex uint64
}

// Election is leader election on one KV key (Consul's leader election
// recipe), built on Lock: the leader is the session holding the key, and
// the key's value says who it is (an address, a name). The key carries the
// marker ElectionFlags: an election never takes a lock's or a semaphore's
// key, or plain data, and they never take its key.
//
//	e, _ := concurrency.NewElection(client, "service/web/leader", nil)
//	term, err := e.Campaign(ctx, []byte("10.0.0.5:8080"))
//	if err != nil { ... }
//	defer e.Resign(context.Background())
//	<-term.Done() // leadership lost or resigned
//
// It makes Lock's promises (see Lock): a term's context ends no later than
// the session TTL after the last renewal Consul confirmed, whatever the
// agent answers in between, so two leaders never overlap; the key stays
// watched; a candidate keeps its session alive while it waits (and
// replaces it if it is lost anyway); and Campaign never returns a term on
// a session it cannot vouch for.
//
// Observers that do not run for election use Leader and Observe. An
// Election value campaigns at most once at a time; use one per candidate.
type Election struct {
	lock *Lock
	// proclaim serializes Proclaim: each writes on the last confirmed
	// write of the term.
	proclaim sync.Mutex
}

// NewElection returns an election on key; opts may be nil (its Value is
// replaced by Campaign's). Nothing is sent.
func NewElection(client *consul.Client, key string, opts *LockOptions) (*Election, error) {
	l, err := newLock(client, key, opts, kindElection)
	if err != nil {
		return nil, err
	}
	return &Election{lock: l}, nil
}

// Key returns the election's key.
func (e *Election) Key() string {
	if e.zero() {
		return ""
	}
	return e.lock.key
}

// zero reports whether e is nil or a zero value, not made by NewElection.
func (e *Election) zero() bool { return e == nil || e.lock.zero() }

// Session returns the ID of the session of the current term, or "" when
// not leader. Fence a leader's writes with Txn.CheckSession(e.Key(),
// e.Session()).
func (e *Election) Session() string {
	if e.zero() {
		return ""
	}
	return e.lock.Session()
}

// Index returns the fencing token of the current term (see Lock.Index), 0
// when not leader.
func (e *Election) Index() uint64 {
	if e.zero() {
		return 0
	}
	return e.lock.Index()
}

// Campaign runs for leader with value, waiting as long as ctx allows, as
// Lock.Lock does (GET /v1/kv/:key blocking while another candidate leads,
// PUT /v1/txn to take the key), and returns a context that ends when
// leadership is lost (context.Cause matches ErrLockLost) or given up with
// Resign. It never returns a nil context with a nil error. A key that is
// not an election's is refused with a *KeyConflictError; a second call
// while campaigning or leading returns ErrBusy.
func (e *Election) Campaign(ctx context.Context, value []byte) (context.Context, error) {
	if e.zero() {
		return nil, errZeroValue("Election", "NewElection")
	}
	return e.lock.acquireValue(ctx, true, e.lock, value, true)
}

// Proclaim changes the value of the current term without giving it up:
// PUT /v1/txn with a check that the key is as the term last wrote it
// (check-index) and held by the term's session, and a lock of it with the
// new value. It returns ErrLockNotHeld when not leader, or when the key
// changed since (someone else wrote it, or a new term began). When the
// answer is lost, it reads the key (GET /v1/kv/:key) and returns nil if
// the proclamation shows there. Concurrent calls run one after another.
func (e *Election) Proclaim(ctx context.Context, value []byte) error {
	if e.zero() {
		return fmt.Errorf("%w: nil or zero Election", ErrLockNotHeld)
	}
	e.proclaim.Lock()
	defer e.proclaim.Unlock()
	k := &e.lock.core
	k.mu.Lock()
	h := k.hold
	if h == nil || h.ctx.Err() != nil {
		k.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrLockNotHeld, k.name)
	}
	if value == nil {
		value = []byte{}
	}
	value = bytes.Clone(value)           // the caller may reuse its slice
	k.pending = append(k.pending, value) // the watch accepts it from now on
	k.mu.Unlock()
	key := e.lock.key
	for attempt := 0; ; attempt++ {
		k.mu.Lock()
		written := h.written
		k.mu.Unlock()
		// A write on the term's last confirmed one, by its session: never
		// into a later term, even on a shared session.
		results, _, err := e.lock.client.Txn.New().
			CheckIndex(key, written).
			CheckSession(key, h.sess.id).
			KV(consul.KVTxnOp{Verb: consul.KVLock, Key: key, Value: value, Flags: ElectionFlags, Session: h.sess.id}).
			Execute(ctx)
		switch {
		case err == nil:
			k.mu.Lock()
			if k.hold == h {
				// Proclamations are serialized: every value still pending
				// is this one or older, superseded by it.
				k.pending = nil
				if idx := txnIndex(results); idx > h.written {
					h.written, k.value = idx, value
				}
			}
			k.mu.Unlock()
			return nil
		case failedOp(err) >= 0:
			// The key changed since the last confirmed write: by an
			// earlier proclamation whose answer was lost (confirmed now,
			// try again), or by someone else.
			if attempt == 0 && e.confirm(ctx, h) {
				continue
			}
			e.drop(h, value)
			return fmt.Errorf("%w: %s: %w", ErrLockNotHeld, k.name, err)
		}
		// The write may have been applied: the watch keeps accepting it.
		// Look now, so as to say so.
		e.confirm(context.WithoutCancel(ctx), h)
		k.mu.Lock()
		done := k.hold == h && bytes.Equal(k.value, value) && !slices.ContainsFunc(k.pending, func(p []byte) bool { return bytes.Equal(p, value) })
		k.mu.Unlock()
		if done {
			return nil
		}
		var se *consul.StatusError
		if errors.As(err, &se) {
			// The agent answered, and the key does not show the value:
			// refused, not on its way. Should it still land, the term
			// ends, as for any write of someone else's.
			e.drop(h, value)
		}
		return fmt.Errorf("concurrency: %s: proclaim: %w", k.name, err)
	}
}

// confirm reads the key from the leader and reports whether it shows a
// proclamation of the term h not confirmed before (which it confirms).
func (e *Election) confirm(ctx context.Context, h *hold) bool {
	ctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
	defer cancel()
	pair, _, err := e.lock.client.KV.Get(ctx, e.lock.key, fresh)
	if err != nil || pair == nil || pair.Session != h.sess.id || pair.Flags != ElectionFlags {
		return false
	}
	k := &e.lock.core
	k.mu.Lock()
	before := h.written
	k.mu.Unlock()
	older, ours := k.ownWrite(h, pair.ModifyIndex, pair.Value)
	return !older && ours && pair.ModifyIndex > before
}

// drop forgets a proclamation that was refused.
func (e *Election) drop(h *hold, value []byte) {
	k := &e.lock.core
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.hold != h {
		return
	}
	for i := len(k.pending) - 1; i >= 0; i-- {
		if bytes.Equal(k.pending[i], value) {
			k.pending = append(k.pending[:i:i], k.pending[i+1:]...)
			return
		}
	}
}

// Resign gives leadership up: the term's context ends, the key is
// released (so that another candidate takes over at once, without a
// lock-delay) and the session created for the term destroyed. It returns
// ErrLockNotHeld when not leader.
func (e *Election) Resign(ctx context.Context) error {
	if e.zero() {
		return fmt.Errorf("%w: nil or zero Election", ErrLockNotHeld)
	}
	return e.lock.Unlock(ctx)
}

// Destroy deletes the election's key when nobody leads, as Lock.Destroy
// does; otherwise it returns an error matching ErrInUse.
func (e *Election) Destroy(ctx context.Context) error {
	if e.zero() {
		return errZeroValue("Election", "NewElection")
	}
	return e.lock.Destroy(ctx)
}

// Leader reads the current leader: GET /v1/kv/:key. No leader (no key, or
// a key no session holds) returns (nil, meta, nil); a key that is not an
// election's is a *KeyConflictError. It supports blocking and consistency
// options.
func (e *Election) Leader(ctx context.Context, opts ...consul.Option) (*Leader, *consul.Meta, error) {
	if e.zero() {
		return nil, nil, errZeroValue("Election", "NewElection")
	}
	pair, meta, err := e.lock.client.KV.Get(ctx, e.lock.key, opts...)
	if err != nil {
		return nil, meta, err
	}
	if err := checkPair(pair, kindElection); err != nil {
		return nil, meta, err
	}
	if pair == nil || pair.Session == "" {
		return nil, meta, nil
	}
	return &Leader{Session: pair.Session, Value: pair.Value, LockIndex: pair.LockIndex, ModifyIndex: pair.ModifyIndex}, meta, nil
}

// Observe watches the leader with consul.Watch: it yields the current
// leader (nil when there is none) at once, then each change of leader or
// of its value, until ctx ends or the caller breaks. Errors are yielded as
// Watch does, and the watch goes on unless they are permanent.
func (e *Election) Observe(ctx context.Context, opts ...consul.WatchOption) iter.Seq2[*Leader, error] {
	same := func(a, b *Leader) bool {
		if a == nil || b == nil {
			return a == b
		}
		return a.Session == b.Session && a.LockIndex == b.LockIndex && bytes.Equal(a.Value, b.Value)
	}
	opts = append(opts[:len(opts):len(opts)], consul.WatchEqual(same))
	return func(yield func(*Leader, error) bool) {
		if e.zero() {
			yield(nil, errZeroValue("Election", "NewElection"))
			return
		}
		for u, err := range consul.Watch(ctx, e.Leader, opts...) {
			if !yield(u.Value, err) {
				return
			}
		}
	}
}
