package consul

import (
	"bytes"
	"context"
	"iter"
)

// ElectionLeader is the leader of an election: the session holding the
// election's key and the value it proclaimed.
type ElectionLeader struct {
	Session string
	Value   []byte
	// LockIndex counts the acquisitions of the key: each new term of a
	// leader has a higher one.
	LockIndex uint64
	// ModifyIndex is the key's ModifyIndex.
	ModifyIndex uint64
}

// Election is leader election on one KV key (Consul's leader election
// recipe), built on Lock: the leader is the session holding the key, and
// the key's value says who it is (an address, a name).
//
//	e, _ := consul.NewElection(client, "service/web/leader", nil)
//	term, err := e.Campaign(ctx, []byte("10.0.0.5:8080"))
//	if err != nil { ... }
//	defer e.Resign(context.Background())
//	<-term.Done() // leadership lost or resigned
//
// It makes Lock's promises (see Lock): a term's context ends no later than
// the session TTL after the last renewal Consul confirmed, whatever the
// agent answers in between, so two leaders never overlap; a candidate
// keeps its session alive while it waits (and replaces it if it is
// invalidated anyway); and Campaign never returns a term on an invalid
// session.
//
// Observers that do not run for election use Leader and Observe. An
// Election value campaigns at most once at a time; use one per candidate.
type Election struct {
	client *Client
	key    string
	lock   *Lock
}

// NewElection returns an election on key; opts may be nil (its Value is
// replaced by Campaign's). Nothing is sent.
func NewElection(client *Client, key string, opts *LockOptions) (*Election, error) {
	l, err := NewLock(client, key, opts)
	if err != nil {
		return nil, err
	}
	return &Election{client: client, key: key, lock: l}, nil
}

// Key returns the election's key.
func (e *Election) Key() string { return e.key }

// Campaign runs for leader with value, waiting as long as ctx allows, as
// Lock.Lock does (GET /v1/kv/:key blocking while another candidate leads,
// PUT /v1/kv/:key?acquire=:session), and returns a context that ends when
// leadership is lost (context.Cause matches ErrLockLost) or given up with
// Resign. It never returns a nil context with a nil error.
func (e *Election) Campaign(ctx context.Context, value []byte) (context.Context, error) {
	k := &e.lock.core
	k.mu.Lock()
	if !k.busy {
		k.opts.Value = value
	}
	k.mu.Unlock()
	return e.lock.Lock(ctx)
}

// Proclaim changes the value of the current leadership without giving it
// up: PUT /v1/kv/:key?acquire=session again. It returns ErrLockNotHeld
// when not leader.
func (e *Election) Proclaim(ctx context.Context, value []byte) error {
	k := &e.lock.core
	k.mu.Lock()
	h := k.hold
	k.mu.Unlock()
	if h == nil || h.ctx.Err() != nil {
		return ErrLockNotHeld
	}
	ok, err := e.client.KV.Acquire(ctx, e.key, value, h.sess.id)
	if err != nil {
		return err
	}
	if !ok {
		return ErrLockNotHeld
	}
	k.mu.Lock()
	k.opts.Value = value
	k.mu.Unlock()
	return nil
}

// Resign gives leadership up: the key is released (so that another
// candidate takes over at once, without a lock-delay) and the session
// created for the term destroyed. It returns ErrLockNotHeld when not
// leader.
func (e *Election) Resign(ctx context.Context) error { return e.lock.Unlock(ctx) }

// Leader reads the current leader: GET /v1/kv/:key. No leader (no key, or
// a key no session holds) returns (nil, meta, nil). It supports blocking
// and consistency options.
func (e *Election) Leader(ctx context.Context, opts ...Option) (*ElectionLeader, *Meta, error) {
	pair, meta, err := e.client.KV.Get(ctx, e.key, opts...)
	if err != nil || pair == nil || pair.Session == "" {
		return nil, meta, err
	}
	return &ElectionLeader{Session: pair.Session, Value: pair.Value, LockIndex: pair.LockIndex, ModifyIndex: pair.ModifyIndex}, meta, nil
}

// Observe watches the leader: it yields the current leader (nil when there
// is none) at once, then each change of leader or of its value, until ctx
// ends or the caller breaks. Errors are yielded as Watch does, and the
// watch goes on.
func (e *Election) Observe(ctx context.Context, opts ...WatchOption) iter.Seq2[*ElectionLeader, error] {
	same := func(a, b *ElectionLeader) bool {
		if a == nil || b == nil {
			return a == b
		}
		return a.Session == b.Session && a.LockIndex == b.LockIndex && bytes.Equal(a.Value, b.Value)
	}
	opts = append(opts[:len(opts):len(opts)], WatchEqual(same))
	return func(yield func(*ElectionLeader, error) bool) {
		for u, err := range Watch(ctx, e.Leader, opts...) {
			if !yield(u.Value, err) {
				return
			}
		}
	}
}
