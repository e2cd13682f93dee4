package consul

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// semaphoreLockKey is the key under a semaphore's prefix that records its
// limit and holders.
const semaphoreLockKey = ".lock"

// semaphoreState is the JSON of the .lock key, as in Consul's semaphore
// recipe: {"Limit": 3, "Holders": {"<session>": true}}.
type semaphoreState struct {
	Limit   int
	Holders map[string]bool
}

// Semaphore lets at most Limit sessions hold it at once (Consul's semaphore
// recipe), built only on the public KV, Txn and Session calls. Each
// contender acquires a key of its own under the prefix with its session,
// then adds its session to the holders listed in the prefix's ".lock" key
// with a check-and-set write that is refused unless the contender key is
// still held by the session (one transaction); holders whose session is
// gone are pruned by the next contender. All users of a prefix must use
// the same limit.
//
// It makes Lock's promises (see Lock): the context of a slot ends no later
// than the session TTL after the last renewal Consul confirmed, whatever
// the agent answers in between; a contender keeps its session alive while
// it waits (and replaces it if it is invalidated anyway); and Acquire
// never returns a slot on an invalid session.
//
// A Semaphore value holds at most one slot at a time; use one per
// contender. Its methods are safe for concurrent use.
type Semaphore struct {
	core   lockCore
	prefix string // ends with "/"
	limit  int
}

// NewSemaphore returns a semaphore of limit holders under prefix (e.g.
// "service/batch/slots"). opts may be nil; its LockDelay does not apply.
// Nothing is sent.
func NewSemaphore(client *Client, prefix string, limit int, opts *LockOptions) (*Semaphore, error) {
	prefix = strings.TrimSuffix(prefix, "/")
	if err := checkKey("prefix", prefix, false); err != nil {
		return nil, err
	}
	if limit < 1 {
		return nil, argError("limit", "%d is below 1", limit)
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	if opts == nil || opts.SessionName == "" {
		o.SessionName = "goconsul semaphore"
	}
	// Contender keys go away with their session.
	return &Semaphore{
		core:   lockCore{client: client, name: "semaphore " + prefix, behavior: SessionDelete, opts: o},
		prefix: prefix + "/",
		limit:  limit,
	}, nil
}

// Session returns the ID of the session holding the slot, or "" when this
// Semaphore holds none. Its contender key, the prefix followed by the
// session ID, is held by the session: use it to fence writes done under
// the semaphore with Txn.CheckSession.
func (s *Semaphore) Session() string { return s.core.session() }

// Acquire takes a slot, waiting as long as ctx allows: PUT
// /v1/kv/:prefix/:session?acquire=:session, GET /v1/kv/:prefix?recurse
// (blocking while every slot is taken) and a PUT /v1/txn that checks the
// contender key's session and writes the .lock key with check-and-set.
// Like Lock.Lock, it returns a context that ends when the slot is lost
// (context.Cause matches ErrLockLost) or released, and never a nil context
// with a nil error; the session is renewed from its creation on. A .lock
// key recording another limit is an error.
func (s *Semaphore) Acquire(ctx context.Context) (context.Context, error) {
	return s.acquire(ctx, true)
}

// TryAcquire makes one attempt and returns ErrLockHeld when every slot is
// taken.
func (s *Semaphore) TryAcquire(ctx context.Context) (context.Context, error) {
	return s.acquire(ctx, false)
}

func (s *Semaphore) acquire(ctx context.Context, wait bool) (context.Context, error) {
	return s.core.acquire(ctx, wait, func(opts *LockOptions) *lockRecipe {
		return &lockRecipe{
			attempt: func(ctx context.Context, sess *lockSession, wait bool) error {
				return s.attempt(ctx, sess, opts, wait)
			},
			check: func(ctx context.Context, sid string, index uint64, w time.Duration) (bool, uint64, error) {
				pairs, meta, err := s.core.client.KV.List(ctx, s.prefix, WaitIndex(index), WaitTime(w))
				if err != nil {
					return true, index, err
				}
				st, _, live, err := s.parse(pairs)
				if err != nil {
					return false, 0, err
				}
				return st.Holders[sid] && live[sid], meta.Index, nil
			},
			release: s.releaseSlot,
		}
	})
}

// parse reads a listing of the prefix: the .lock state and its pair (nil
// when missing), and the sessions of the live contender keys.
func (s *Semaphore) parse(pairs []*KVPair) (semaphoreState, *KVPair, map[string]bool, error) {
	var st semaphoreState
	var lockPair *KVPair
	live := make(map[string]bool, len(pairs))
	for _, p := range pairs {
		if p.Key == s.prefix+semaphoreLockKey {
			lockPair = p
			continue
		}
		if p.Session != "" {
			live[p.Session] = true
		}
	}
	if lockPair != nil && len(lockPair.Value) > 0 {
		if err := json.Unmarshal(lockPair.Value, &st); err != nil {
			return st, nil, nil, fmt.Errorf("consul: semaphore %s: bad %s key: %w", s.prefix, semaphoreLockKey, err)
		}
	}
	if st.Holders == nil {
		st.Holders = make(map[string]bool)
	}
	if lockPair != nil && st.Limit != 0 && st.Limit != s.limit {
		return st, nil, nil, &ArgumentError{Arg: "limit", Reason: fmt.Sprintf("semaphore %s has limit %d, not %d", s.prefix, st.Limit, s.limit)}
	}
	return st, lockPair, live, nil
}

// attempt takes a slot with sess: it acquires the contender key, waits
// for a free slot and writes the holders, in a transaction that checks the
// contender key is still held by the session.
func (s *Semaphore) attempt(ctx context.Context, sess *lockSession, opts *LockOptions, wait bool) error {
	for {
		if err := s.acquireContender(ctx, sess, opts); err != nil {
			return err
		}
		again, err := s.takeSlot(ctx, sess, opts, wait)
		if !again {
			return err
		}
	}
}

// acquireContender acquires the session's contender key.
func (s *Semaphore) acquireContender(ctx context.Context, sess *lockSession, opts *LockOptions) error {
	contender := s.prefix + sess.id
	bo := lockBackoff{max: opts.MaxBackoff}
	for {
		if err := sess.waitFresh(ctx); err != nil {
			return err
		}
		ok, err := s.core.client.KV.Acquire(ctx, contender, opts.Value, sess.id)
		if err == nil && ok {
			return nil
		}
		if err != nil && sess.invalidated(ctx, err) {
			return sess.reason()
		}
		if err == nil {
			err = fmt.Errorf("consul: semaphore %s: contender key %s refused", s.prefix, contender)
		}
		if err := bo.wait(ctx, err); err != nil {
			return err
		}
	}
}

// takeSlot waits for a free slot and adds the session to the holders. It
// returns again when the contender key must be acquired again.
func (s *Semaphore) takeSlot(ctx context.Context, sess *lockSession, opts *LockOptions, wait bool) (again bool, err error) {
	c := s.core.client
	sid := sess.id
	contender := s.prefix + sid
	bo := lockBackoff{max: opts.MaxBackoff}
	var index uint64
	for {
		var ropts []Option
		if index > 0 {
			ropts = []Option{WaitIndex(index), WaitTime(opts.WaitTime)}
		}
		pairs, meta, err := c.KV.List(ctx, s.prefix, ropts...)
		if err != nil {
			if err := bo.wait(ctx, err); err != nil {
				return false, err
			}
			index = 0
			continue
		}
		bo.reset()
		st, lockPair, live, err := s.parse(pairs)
		if err != nil {
			return false, err
		}
		if !live[sid] {
			// Our contender key is gone or unlocked: the session died, or
			// someone removed the key.
			if err := sess.checkAlive(ctx); err != nil {
				return false, err
			}
			return true, nil
		}
		// Prune the holders whose contender key is gone or unlocked.
		for h := range st.Holders {
			if !live[h] {
				delete(st.Holders, h)
			}
		}
		if st.Holders[sid] {
			// An earlier write went through though its answer was lost.
			return false, nil
		}
		if len(st.Holders) >= s.limit {
			if !wait {
				return false, ErrLockHeld
			}
			index = lockNextIndex(index, meta.Index)
			continue
		}
		st.Holders[sid] = true
		st.Limit = s.limit
		body, err := json.Marshal(st)
		if err != nil {
			return false, err
		}
		var cas uint64
		if lockPair != nil {
			cas = lockPair.ModifyIndex
		}
		if err := sess.waitFresh(ctx); err != nil {
			return false, err
		}
		// The slot is taken only if the session still holds its contender
		// key: never a slot on an invalid session.
		_, _, err = c.Txn.New().CheckSession(contender, sid).CAS(s.prefix+semaphoreLockKey, body, cas).Execute(ctx)
		var te *TxnError
		switch {
		case err == nil:
			return false, nil
		case errors.As(err, &te):
			// The session lost its key, or someone else changed the
			// holders: read them again at once.
		case sess.invalidated(ctx, err):
			return false, sess.reason()
		default:
			if err := bo.wait(ctx, err); err != nil {
				return false, err
			}
		}
		index = 0
	}
}

// releaseSlot removes sid from the holders and deletes its contender key.
func (s *Semaphore) releaseSlot(ctx context.Context, sid string) error {
	c := s.core.client
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		var pair *KVPair
		pair, _, err = c.KV.Get(ctx, s.prefix+semaphoreLockKey)
		if err != nil || pair == nil {
			break
		}
		var st semaphoreState
		if err = json.Unmarshal(pair.Value, &st); err != nil || !st.Holders[sid] {
			err = nil
			break
		}
		delete(st.Holders, sid)
		body, merr := json.Marshal(st)
		if merr != nil {
			err = merr
			break
		}
		var ok bool
		if ok, err = c.KV.PutCAS(ctx, s.prefix+semaphoreLockKey, body, pair.ModifyIndex); err != nil || ok {
			break
		}
	}
	if derr := c.KV.Delete(ctx, s.prefix+sid); err == nil {
		err = derr
	}
	return err
}

// Release gives the slot back: the context returned by Acquire ends, then
// the session is removed from the holders (PUT /v1/kv/:prefix/.lock?cas=),
// its contender key deleted and the session it created destroyed; its
// renewals stop. Releasing a semaphore not held returns ErrLockNotHeld;
// after a loss, call Release before acquiring again.
func (s *Semaphore) Release(ctx context.Context) error { return s.core.release(ctx) }
