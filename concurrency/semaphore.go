package concurrency

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/goconsul/consul"
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

// Semaphore lets at most limit sessions hold it at once (Consul's
// semaphore recipe), built only on the root package's public KV, Txn and
// Session calls. Each contender acquires a key of its own under the
// prefix (the prefix followed by its session ID) with its session, then
// adds its session to the holders listed in the prefix's ".lock" key with
// a check-and-set write that is refused unless the contender key is still
// held by the session (one transaction); holders whose contender key is
// gone are pruned by the next contender. All users of a prefix must use
// the same limit.
//
// Every key under the prefix carries the marker SemaphoreFlags: a prefix
// holding any other key (another primitive's, or plain data) is refused
// with a *KeyConflictError before anything is written.
//
// It makes Lock's promises (see Lock): the context of a slot ends no later
// than the session TTL after the last renewal Consul confirmed, whatever
// the agent answers in between, and within one blocking round when its
// contender key or the holders are overwritten; a contender keeps its
// session alive while it waits (and replaces it if it is lost anyway);
// and Acquire never returns a slot on a session it cannot vouch for.
//
// A Semaphore value holds at most one slot at a time; use one per
// contender. Its methods are safe for concurrent use.
type Semaphore struct {
	core
	prefix string // ends with "/"
	limit  int
}

// NewSemaphore returns a semaphore of limit holders under prefix (e.g.
// "service/batch/slots"). opts may be nil; the sessions it creates have
// the delete behavior unless opts says otherwise, so that the contender
// keys go with them. Nothing is sent.
func NewSemaphore(client *consul.Client, prefix string, limit int, opts *LockOptions) (*Semaphore, error) {
	if client == nil {
		return nil, errNilClient()
	}
	prefix = strings.TrimSuffix(prefix, "/")
	if err := checkKey("prefix", prefix); err != nil {
		return nil, err
	}
	if limit < 1 {
		return nil, &consul.ArgumentError{Arg: "limit", Reason: fmt.Sprintf("%d is below 1", limit)}
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	s := &Semaphore{
		core:   core{client: client, kind: kindSemaphore, name: fmt.Sprintf("semaphore %q", prefix), opts: opts.withDefaults()},
		prefix: prefix + "/",
		limit:  limit,
	}
	s.value = bytes.Clone(s.opts.Value)
	return s, nil
}

// Prefix returns the semaphore's prefix, with its trailing '/'.
func (s *Semaphore) Prefix() string {
	if s == nil {
		return ""
	}
	return s.prefix
}

// zero reports whether s is nil or a zero value, not made by
// NewSemaphore: it has no client to send anything with.
func (s *Semaphore) zero() bool { return s == nil || s.client == nil }

// Key returns the contender key of the slot held, or "" when this
// Semaphore holds none. The slot's session holds it: fence writes done
// under the semaphore with Txn.CheckSession(s.Key(), s.Session()).
func (s *Semaphore) Key() string {
	if s.zero() {
		return ""
	}
	if sid := s.sessionID(); sid != "" {
		return s.prefix + sid
	}
	return ""
}

// Session returns the ID of the session holding the slot, or "" when this
// Semaphore holds none.
func (s *Semaphore) Session() string {
	if s.zero() {
		return ""
	}
	return s.sessionID()
}

// Index returns the fencing token of the slot held (the ModifyIndex of the
// write of the holders that took it; see Lock.Index), 0 when none is
// held.
func (s *Semaphore) Index() uint64 {
	if s.zero() {
		return 0
	}
	return s.index()
}

// Acquire takes a slot, waiting as long as ctx allows: GET
// /v1/kv/:prefix?recurse (blocking while every slot is taken), PUT
// /v1/txn to lock the contender key, and a PUT /v1/txn that checks the
// contender key's session and writes the .lock key with check-and-set.
// Like Lock.Lock, it returns a context that ends when the slot is lost
// (context.Cause matches ErrLockLost) or released, and never a nil context
// with a nil error; the session is renewed from its creation on. A .lock
// key recording another limit is a *consul.ArgumentError; a prefix
// holding keys that are not a semaphore's a *KeyConflictError; a second
// call while holding or acquiring ErrBusy.
func (s *Semaphore) Acquire(ctx context.Context) (context.Context, error) {
	if s.zero() {
		return nil, errZeroValue("Semaphore", "NewSemaphore")
	}
	return s.acquire(ctx, true, s)
}

// TryAcquire makes one attempt and returns ErrLockHeld when every slot is
// taken.
func (s *Semaphore) TryAcquire(ctx context.Context) (context.Context, error) {
	if s.zero() {
		return nil, errZeroValue("Semaphore", "NewSemaphore")
	}
	return s.acquire(ctx, false, s)
}

// Release gives the slot back: the context returned by Acquire ends, then
// the session is removed from the holders and its contender key deleted
// (one PUT /v1/txn with check-and-set), and the session it created is
// destroyed. Releasing a semaphore not held returns ErrLockNotHeld; after
// a loss, call Release before acquiring again.
func (s *Semaphore) Release(ctx context.Context) error {
	if s == nil {
		return fmt.Errorf("%w: nil Semaphore", ErrLockNotHeld)
	}
	return s.releaseHold(ctx, s)
}

// Destroy deletes the semaphore's keys (the .lock key and any contender
// key left without a session, all carrying its marker, directly under the
// prefix; empty keys without it are left alone) when nobody holds or
// waits for a slot:
// GET /v1/kv/:prefix?recurse and PUT /v1/txn with a delete-cas of each
// key. A contender key that a session holds, or a Semaphore value that
// holds or is acquiring, is an error matching ErrInUse; a prefix holding
// keys that are not a semaphore's a *KeyConflictError.
func (s *Semaphore) Destroy(ctx context.Context) error {
	if s.zero() {
		return errZeroValue("Semaphore", "NewSemaphore")
	}
	if s.isBusy() {
		return fmt.Errorf("%w: %s is held or being acquired by this value", ErrInUse, s.name)
	}
	c := s.client
	for attempt := 0; attempt < 10; attempt++ {
		pairs, _, err := c.KV.List(ctx, s.prefix, fresh)
		if err != nil {
			return fmt.Errorf("concurrency: destroy %s: %w", s.name, err)
		}
		if len(pairs) == 0 {
			return nil
		}
		ours := pairs[:0:0]
		for _, p := range pairs {
			if err := checkPair(p, s.kind); err != nil {
				return err
			}
			if name := strings.TrimPrefix(p.Key, s.prefix); p.Flags != s.kind.flags || name == "" || strings.Contains(name, "/") {
				// Empty keys without the marker (a folder's key, say),
				// and keys below the semaphore's own: not written by it.
				continue
			}
			if p.Session != "" {
				return fmt.Errorf("%w: %s: key %q is held by session %s", ErrInUse, s.name, p.Key, p.Session)
			}
			ours = append(ours, p)
		}
		pairs = ours
		changed := false
		for len(pairs) > 0 && !changed {
			n := min(len(pairs), consul.MaxTxnOps)
			txn := c.Txn.New()
			for _, p := range pairs[:n] {
				txn.DeleteCAS(p.Key, p.ModifyIndex)
			}
			_, _, err := txn.Execute(ctx)
			if failedOp(err) >= 0 {
				changed = true // read again
				break
			}
			if err != nil {
				return fmt.Errorf("concurrency: destroy %s: %w", s.name, err)
			}
			pairs = pairs[n:]
		}
		if !changed {
			return nil
		}
	}
	return fmt.Errorf("%w: %s kept changing", ErrInUse, s.name)
}

func (s *Semaphore) claimKey(sid string) string { return s.prefix + sid }

// listing is a read of the prefix.
type listing struct {
	state     semaphoreState
	lockPair  *consul.KVPair  // the .lock key, nil when missing
	live      map[string]bool // the sessions holding their contender key
	contender *consul.KVPair  // the contender key of the session asked about
}

// parse reads a listing of the prefix for session sid. When strict (to
// acquire), a key that is not a semaphore's is refused; otherwise (to
// watch a slot held) only the .lock key and sid's contender key are
// checked: a key someone put under the prefix since does not end the
// slot.
func (s *Semaphore) parse(pairs []*consul.KVPair, sid string, strict bool) (*listing, error) {
	l := &listing{live: make(map[string]bool, len(pairs))}
	for _, p := range pairs {
		name := strings.TrimPrefix(p.Key, s.prefix)
		if err := checkPair(p, s.kind); err != nil {
			if strict || name == semaphoreLockKey || name == sid {
				return nil, err
			}
			continue
		}
		switch {
		case name == semaphoreLockKey:
			l.lockPair = p
		case p.Session != "" && p.Session == name:
			l.live[name] = true
		}
		if name == sid {
			l.contender = p
		}
	}
	if l.lockPair != nil && len(l.lockPair.Value) > 0 {
		if err := json.Unmarshal(l.lockPair.Value, &l.state); err != nil {
			return nil, fmt.Errorf("concurrency: %s: bad %s key: %w", s.name, semaphoreLockKey, err)
		}
	}
	if l.state.Holders == nil {
		l.state.Holders = make(map[string]bool)
	}
	if l.state.Limit != 0 && l.state.Limit != s.limit {
		return nil, &consul.ArgumentError{Arg: "limit", Reason: fmt.Sprintf("%s has limit %d, not %d", s.name, l.state.Limit, s.limit)}
	}
	return l, nil
}

// attempt takes a slot with sess: it acquires the contender key, waits for
// a free slot and writes the holders, in a transaction that checks the
// contender key is still held by the session.
func (s *Semaphore) attempt(ctx context.Context, sess *Session, wait bool) (_ uint64, err error) {
	// The contender key is written first, then waited on: an attempt that
	// fails may leave it, and the holders, to clean up.
	defer func() {
		if err != nil {
			err = &mayHoldError{err}
		}
	}()
	c := s.client
	sid := sess.id
	contender := s.prefix + sid
	s.mu.Lock()
	value := s.value
	s.mu.Unlock()
	bo := s.opts.backoff()
	failures := 0
	for {
		var failed error // a failed request: back off, then read again
		for u, err := range consul.Watch(ctx, consul.Bind(c.KV.List, s.prefix, fresh), s.opts.watchOptions(c)...) {
			if err != nil {
				if consul.IsPermanent(err) {
					return 0, err
				}
				// Back off, then start again with a plain read: a fault
				// that hits only blocking reads must not starve us.
				failed = err
				break
			}
			l, err := s.parse(u.Value, sid, true)
			if err != nil {
				return 0, err
			}
			if !l.live[sid] {
				// Take the contender key first; the watch sees the write.
				_, _, err := c.Txn.New().
					KV(consul.KVTxnOp{Verb: consul.KVLock, Key: contender, Value: value, Flags: s.kind.flags, Session: sid}).
					Execute(ctx)
				if failedOp(err) >= 0 {
					// Refused: the session is gone, or a lock-delay runs.
					if err := sess.checkAlive(ctx); err != nil {
						return 0, err
					}
				}
				if err != nil {
					if ctx.Err() != nil {
						return 0, ctx.Err()
					}
					failed = err
					break
				}
				continue
			}
			// Prune the holders whose contender key is gone or released.
			st := l.state
			for h := range st.Holders {
				if !l.live[h] {
					delete(st.Holders, h)
				}
			}
			held := st.Holders[sid]
			if held && l.contender.ModifyIndex < l.lockPair.ModifyIndex {
				// An earlier write went through though its answer was
				// lost. (A contender key written after it is written
				// again below: the hold's index must be newer than it.)
				return l.lockPair.ModifyIndex, nil
			}
			if !held && len(st.Holders) >= s.limit {
				if !wait {
					return 0, fmt.Errorf("%w: %s: all %d slots are taken", ErrLockHeld, s.name, s.limit)
				}
				continue // wait for a change
			}
			st.Holders[sid] = true
			st.Limit = s.limit
			body, err := json.Marshal(st)
			if err != nil {
				return 0, err
			}
			var cas uint64
			if l.lockPair != nil {
				cas = l.lockPair.ModifyIndex
			}
			// The slot is taken only if the session still holds its
			// contender key: never a slot on an invalid session.
			results, _, err := c.Txn.New().
				CheckSession(contender, sid).
				KV(consul.KVTxnOp{Verb: consul.KVCAS, Key: s.prefix + semaphoreLockKey, Value: body, Flags: s.kind.flags, Index: cas}).
				Execute(ctx)
			switch {
			case err == nil:
				return txnIndex(results), nil
			case failedOp(err) >= 0:
				// The session lost its key, or someone else changed the
				// holders: read them again at once.
			case ctx.Err() != nil:
				return 0, ctx.Err()
			case consul.IsPermanent(err):
				return 0, err
			default:
				failed = err
			}
			break
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if failed == nil {
			failures = 0
			continue
		}
		failures++
		if err := sleep(ctx, bo.Delay(failures, failed)); err != nil {
			return 0, err
		}
	}
}

// watch follows the slot with blocking reads of the prefix.
func (s *Semaphore) watch(ctx context.Context, h *hold) error {
	sid := h.sess.id
	for u, err := range consul.Watch(ctx, consul.Bind(s.client.KV.List, s.prefix, fresh), s.opts.watchOptions(s.client)...) {
		if err != nil {
			if consul.IsPermanent(err) {
				return err
			}
			continue
		}
		l, err := s.parse(u.Value, sid, false)
		switch {
		case err != nil:
			return err
		case l.contender == nil:
			return fmt.Errorf("contender key %q was deleted", h.key)
		case !l.live[sid]:
			return fmt.Errorf("contender key %q is no longer held by session %s", h.key, sid)
		case l.contender.Flags != s.kind.flags || !s.valueOK(l.contender.Value) || l.contender.ModifyIndex > h.index:
			// The contender key is never written while the slot is held:
			// a write after the one that took the slot is someone else's,
			// whatever it wrote.
			return fmt.Errorf("contender key %q was overwritten at index %d", h.key, l.contender.ModifyIndex)
		case l.lockPair == nil:
			return fmt.Errorf("key %q was deleted", s.prefix+semaphoreLockKey)
		case !l.state.Holders[sid]:
			return fmt.Errorf("session %s was removed from the holders in %q", sid, s.prefix+semaphoreLockKey)
		}
	}
	return nil
}

// release removes sid from the holders and deletes its contender key, in
// one transaction; a contender key written after index (when not 0) is
// someone else's write, and is unlocked instead.
func (s *Semaphore) release(ctx context.Context, sid string, index uint64) error {
	c := s.client
	for attempt := 0; attempt < 20; attempt++ {
		pairs, _, err := c.KV.List(ctx, s.prefix, fresh)
		if err != nil {
			return fmt.Errorf("concurrency: release %s: %w", s.name, err)
		}
		var lockPair, contender *consul.KVPair
		for _, p := range pairs {
			switch strings.TrimPrefix(p.Key, s.prefix) {
			case semaphoreLockKey:
				lockPair = p
			case sid:
				contender = p
			}
		}
		txn := c.Txn.New()
		ops := 0
		var st semaphoreState
		if lockPair != nil && lockPair.Flags == s.kind.flags && json.Unmarshal(lockPair.Value, &st) == nil && st.Holders[sid] {
			delete(st.Holders, sid)
			body, err := json.Marshal(st)
			if err != nil {
				return err
			}
			txn.KV(consul.KVTxnOp{Verb: consul.KVCAS, Key: lockPair.Key, Value: body, Flags: s.kind.flags, Index: lockPair.ModifyIndex})
			ops++
		}
		// The contender key only if it is still ours: what someone else
		// wrote over it is not ours to delete. A plain put over it keeps
		// our session on it, and a session with the delete behavior would
		// take it along when it ends: unlock it, value and flags as they
		// are, so that it outlives the session.
		switch {
		case contender == nil:
		case contender.Flags == s.kind.flags && (contender.Session == "" || contender.Session == sid) && (index == 0 || contender.ModifyIndex <= index):
			txn.DeleteCAS(contender.Key, contender.ModifyIndex)
			ops++
		case contender.Session == sid:
			txn.CheckIndex(contender.Key, contender.ModifyIndex)
			txn.KV(consul.KVTxnOp{Verb: consul.KVUnlock, Key: contender.Key, Value: contender.Value, Flags: contender.Flags, Session: sid})
			ops++
		}
		if ops == 0 {
			return nil
		}
		_, _, err = txn.Execute(ctx)
		if failedOp(err) >= 0 {
			continue // changed since read
		}
		if err != nil {
			return fmt.Errorf("concurrency: release %s: %w", s.name, err)
		}
		return nil
	}
	return fmt.Errorf("concurrency: release %s: the keys kept changing", s.name)
}
